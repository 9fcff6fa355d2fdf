from .multiscale_sum import MultiScaleSumNeck

__all__ = ['MultiScaleSumNeck']
