from .backbones import EfficientNetLite
from .heads import ProbMapDHHead, ProbMapHead, TICHead
from .losses import OKSRiskLoss, WeightedBCELoss
from .necks import MultiScaleSumNeck
from .pose_estimators import ProbPoseEstimator
from .recognizers import SkeletonRecognizer

__all__ = [
    'EfficientNetLite', 'MultiScaleSumNeck', 'OKSRiskLoss', 'ProbMapHead',
    'ProbMapDHHead', 'ProbPoseEstimator', 'TICHead', 'WeightedBCELoss',
    'SkeletonRecognizer'
]
