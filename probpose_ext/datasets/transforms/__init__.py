"""Data transforms of probpose_ext, registered in MMPose's ``TRANSFORMS``."""
from .crop_out import RandomCropOut

__all__ = ['RandomCropOut']
