from .probmap_dh_head import ProbMapDHHead
from .probmap_head import ProbMapHead

__all__ = ['ProbMapHead', 'ProbMapDHHead']
