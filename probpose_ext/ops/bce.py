"""Weighted binary cross-entropy of per-keypoint logits (the presence and
visibility losses of ProbPose, DESIGN.md 4.4-4.5).

MMPose's ``BCELoss`` averages over all entries, weighted or not; here the
weights select the entries that count and the mean is taken over their
weight, so a batch with few annotated keypoints is not diluted by the
unannotated ones:

    weighted_mean(l, w) = sum(w * l) / max(sum(w), 1)

The class-balanced variant averages positives and negatives separately and
gives each half of the loss, so a rare class (e.g. occluded keypoints) is not
ignored.
"""
from torch import Tensor
from torch.nn import functional as F


def weighted_mean(values: Tensor, weights: Tensor) -> Tensor:
    """``sum(weights * values) / max(sum(weights), 1)``.

    The denominator is clamped to 1 rather than tested for zero: an empty
    selection gives 0 without copying the sum to the host (which would stall
    CUDA training at every step).

    Args:
        values (Tensor): Values of any shape.
        weights (Tensor): Non-negative weights broadcastable to ``values``.

    Returns:
        Tensor: The scalar weighted mean.
    """
    return (values * weights).sum() / weights.sum().clamp_min(1.0)


def weighted_bce_with_logits(logits: Tensor, labels: Tensor,
                             weights: Tensor) -> Tensor:
    """Binary cross-entropy with logits, averaged over the weighted entries
    (:func:`weighted_mean`).

    Args:
        logits (Tensor): Logits (N, K).
        labels (Tensor): Targets in [0, 1] (N, K).
        weights (Tensor): Entry weights (N, K), 0 for entries that do not
            count.

    Returns:
        Tensor: Scalar loss.
    """
    bce = F.binary_cross_entropy_with_logits(logits, labels, reduction='none')
    return weighted_mean(bce, weights)


def balanced_bce_with_logits(logits: Tensor, labels: Tensor,
                             weights: Tensor) -> Tensor:
    """Class-balanced binary cross-entropy over the weighted entries.

    ``0.5 * (weighted_mean(bce, w * y) + weighted_mean(bce, w * (1 - y)))``:
    positives and negatives each contribute half of the loss (within the
    batch); a class without entries contributes 0.

    Args:
        logits (Tensor): Logits (N, K).
        labels (Tensor): Targets in {0, 1} (N, K).
        weights (Tensor): Entry weights (N, K), 0 for entries that do not
            count.

    Returns:
        Tensor: Scalar loss.
    """
    bce = F.binary_cross_entropy_with_logits(logits, labels, reduction='none')
    pos, neg = weights * labels, weights * (1 - labels)
    return 0.5 * (weighted_mean(bce, pos) + weighted_mean(bce, neg))
