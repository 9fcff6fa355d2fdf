"""Data transforms of probpose_ext, registered in MMPose's ``TRANSFORMS``."""
from .corruption import ImageCorruption
from .crop_out import RandomCropOut
from .flip import RandomFlipRawVis
from .keypoint_noise import KeypointGaussianNoise, TemporalGaussianNoise
from .keypoint_sampling import SampleKeypoints2D
from .lifting_weight import SoftLiftingTargetWeight
from .skeleton import (CorruptSkeleton, NormalizeSkeleton, PackSkeletonInputs,
                       SampleSkeletonFrames, SkeletonFeatures,
                       SkeletonGaussianNoise)

__all__ = [
    'ImageCorruption', 'KeypointGaussianNoise', 'RandomCropOut',
    'RandomFlipRawVis',
    'SampleKeypoints2D', 'SoftLiftingTargetWeight', 'TemporalGaussianNoise',
    'CorruptSkeleton', 'NormalizeSkeleton', 'PackSkeletonInputs',
    'SampleSkeletonFrames', 'SkeletonFeatures', 'SkeletonGaussianNoise'
]
