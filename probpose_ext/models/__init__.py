from .losses import OKSRiskLoss

__all__ = ['OKSRiskLoss']
