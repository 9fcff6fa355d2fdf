"""Datasets and transforms. The data generators (SynthPose, CropCOCO) and
the 3D body model and cameras they share live in
:mod:`probpose_ext.datasets.generators` (imported on demand: they need no
registry); :mod:`probpose_ext.datasets.synthpose` and
:mod:`probpose_ext.datasets.cropcoco` remain as aliases."""
from . import transforms  # noqa: F401  (registers the transforms)
from .cropcoco_dataset import CropCocoDataset
from .skeleton_action_dataset import SkeletonActionDataset
from .transforms import RandomCropOut, RandomFlipRawVis

__all__ = [
    'CropCocoDataset', 'RandomCropOut', 'RandomFlipRawVis',
    'SkeletonActionDataset'
]
