"""Data transforms of probpose_ext, registered in MMPose's ``TRANSFORMS``."""
from .crop_out import RandomCropOut
from .flip import RandomFlipRawVis
from .keypoint_noise import KeypointGaussianNoise, TemporalGaussianNoise
from .lifting_weight import SoftLiftingTargetWeight

__all__ = [
    'KeypointGaussianNoise', 'RandomCropOut', 'RandomFlipRawVis',
    'SoftLiftingTargetWeight', 'TemporalGaussianNoise'
]
