"""Datasets and transforms. The generators of SynthPose and CropCOCO live in
:mod:`probpose_ext.datasets.synthpose` and
:mod:`probpose_ext.datasets.cropcoco` (imported on demand: they need no
registry)."""
from . import transforms  # noqa: F401  (registers the transforms)
from .cropcoco_dataset import CropCocoDataset
from .transforms import RandomCropOut, RandomFlipRawVis

__all__ = ['CropCocoDataset', 'RandomCropOut', 'RandomFlipRawVis']
