from .probpose_estimator import ProbPoseEstimator

__all__ = ['ProbPoseEstimator']
