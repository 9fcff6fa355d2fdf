from .depth_uncertainty_head import DepthUncertaintyHead
from .probmap_dh_head import ProbMapDHHead
from .probmap_head import ProbMapHead
from .skeleton_cls_head import SkeletonClsHead
from .tic_head import TICHead

__all__ = [
    'ProbMapHead', 'ProbMapDHHead', 'TICHead', 'DepthUncertaintyHead',
    'SkeletonClsHead'
]
