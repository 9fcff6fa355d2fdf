from .gaussian_nll_loss import DepthGaussianNLLLoss
from .oks_risk_loss import OKSRiskLoss
from .weighted_bce_loss import WeightedBCELoss

__all__ = ['OKSRiskLoss', 'WeightedBCELoss', 'DepthGaussianNLLLoss']
