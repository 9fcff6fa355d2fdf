from .heads import ProbMapDHHead, ProbMapHead
from .losses import OKSRiskLoss
from .pose_estimators import ProbPoseEstimator

__all__ = ['OKSRiskLoss', 'ProbMapHead', 'ProbMapDHHead', 'ProbPoseEstimator']
