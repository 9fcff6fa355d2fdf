"""Registered adapter of :mod:`probpose_ext.ops.bce` (the presence and
visibility losses of :class:`~probpose_ext.models.heads.ProbMapHead`)."""
from mmpose.registry import MODELS
from torch import Tensor, nn

from ...ops.bce import balanced_bce_with_logits, weighted_bce_with_logits


@MODELS.register_module()
class WeightedBCELoss(nn.Module):
    """Binary cross-entropy with logits, averaged over the weighted entries
    (``sum(w * bce) / max(sum(w), 1)``), optionally class-balanced.

    Unlike MMPose's ``BCELoss``, whose mean runs over all entries, the
    weights here select the entries that count (e.g. annotated keypoints),
    and the logits are always raw (the sigmoid is part of the loss).

    Args:
        class_balanced (bool): Average positives and negatives separately,
            each giving half of the loss, so that a rare class is not
            ignored. Defaults to False.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.

    Example:
        >>> loss_presence = dict(type='WeightedBCELoss')
        >>> loss_visibility = dict(type='WeightedBCELoss',
        ...                        class_balanced=True)
    """

    def __init__(self,
                 class_balanced: bool = False,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.class_balanced = bool(class_balanced)
        self.loss_weight = float(loss_weight)

    def forward(self, logits: Tensor, labels: Tensor,
                weights: Tensor) -> Tensor:
        """Compute the loss (in float32 under autocast too).

        Args:
            logits (Tensor): Logits (N, K).
            labels (Tensor): Targets in [0, 1] ({0, 1} when class-balanced)
                (N, K).
            weights (Tensor): Entry weights (N, K).

        Returns:
            Tensor: Scalar loss times ``loss_weight``.
        """
        logits = logits.float()
        loss = balanced_bce_with_logits if self.class_balanced else \
            weighted_bce_with_logits
        return self.loss_weight * loss(logits, labels.to(logits),
                                       weights.to(logits))
