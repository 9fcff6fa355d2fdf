"""Data transforms of probpose_ext, registered in MMPose's ``TRANSFORMS``."""
from .crop_out import RandomCropOut
from .flip import RandomFlipRawVis

__all__ = ['RandomCropOut', 'RandomFlipRawVis']
