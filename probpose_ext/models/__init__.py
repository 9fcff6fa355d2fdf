from .heads import ProbMapHead
from .losses import OKSRiskLoss

__all__ = ['OKSRiskLoss', 'ProbMapHead']
