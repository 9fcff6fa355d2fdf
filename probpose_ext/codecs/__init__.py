from .probmap import ProbMap

__all__ = ['ProbMap']
