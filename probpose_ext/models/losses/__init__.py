from .oks_risk_loss import OKSRiskLoss

__all__ = ['OKSRiskLoss']
