"""Registered adapter of :func:`probpose_ext.ops.oks_risk.oks_risk_loss`."""
from typing import Optional, Union

from mmpose.registry import MODELS
from torch import Tensor, nn

from ...ops.oks_risk import oks_risk_loss


@MODELS.register_module()
class OKSRiskLoss(nn.Module):
    """ProbPose's OKS expected-risk loss with Sobel smoothness (DESIGN 4.3).

    ``loss = (1 - alpha) * (1 - E_P[OKS]) + alpha * Sobel energy of P`` per
    keypoint, weighted (0 for unannotated keypoints and for keypoints
    outside the activation window, which train only the presence head).
    Named to avoid MMPose's own ``OKSLoss``.

    Args:
        alpha (float): Weight of the smoothness term. Defaults to 0.05.
        reduction (str): ``'mean'`` (weighted mean), ``'sum'`` or
            ``'none'``. Defaults to ``'mean'``.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.

    Example:
        >>> loss = dict(type='OKSRiskLoss', alpha=0.05, loss_weight=1.0)
    """

    def __init__(self,
                 alpha: float = 0.05,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f'alpha must be in [0, 1], got {alpha}')
        if reduction not in ('mean', 'sum', 'none'):
            raise ValueError("reduction must be 'mean', 'sum' or 'none', "
                             f'got {reduction!r}')
        self.alpha = alpha
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self,
                prob: Tensor,
                keypoints: Tensor,
                variance: Union[Tensor, float],
                weights: Optional[Tensor] = None) -> Tensor:
        """Compute the loss.

        Args:
            prob (Tensor): Probability maps (N, K, H, W).
            keypoints (Tensor): Ground truth in heatmap pixels (N, K, 2).
            variance (Tensor | float): OKS variances (heatmap pixels^2),
                broadcastable to (N, K).
            weights (Tensor, optional): Per-keypoint weights (N, K).

        Returns:
            Tensor: The weighted loss.
        """
        return self.loss_weight * oks_risk_loss(
            prob, keypoints, variance, weights, self.alpha, self.reduction)
