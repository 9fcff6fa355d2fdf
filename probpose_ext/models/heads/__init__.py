from .depth_uncertainty_head import DepthUncertaintyHead
from .probmap_dh_head import ProbMapDHHead
from .probmap_head import ProbMapHead
from .tic_head import TICHead

__all__ = ['ProbMapHead', 'ProbMapDHHead', 'TICHead', 'DepthUncertaintyHead']
