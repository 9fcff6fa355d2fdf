from .probmap import ProbMap
from .probmap_dh import ProbMapDH

__all__ = ['ProbMap', 'ProbMapDH']
