"""Datasets and transforms. The SynthPose generator lives in
:mod:`probpose_ext.datasets.synthpose` (imported on demand: it needs no
registry)."""
from . import transforms  # noqa: F401  (registers the transforms)
from .cropcoco_dataset import CropCocoDataset
from .transforms import RandomCropOut, RandomFlipRawVis

__all__ = ['CropCocoDataset', 'RandomCropOut', 'RandomFlipRawVis']
