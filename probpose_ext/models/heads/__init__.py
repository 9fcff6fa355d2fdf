from .probmap_head import ProbMapHead

__all__ = ['ProbMapHead']
