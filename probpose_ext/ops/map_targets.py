"""Distribution targets for soft-argmax maps (the map supervision of the
TIC head, DESIGN.md 4.8).

A soft-argmax head reads each keypoint as the expected position of a
softmax map. Trained on the expected position alone (integral regression)
the map may take any shape with the right mean, and from a random start the
position loss moves the mean slowly; Nibali et al. (DSNT, 2018) regularise
the map towards a small Gaussian at the ground truth. This module gives the
two parts of that regulariser:

* :func:`discrete_gaussian_maps`: the normalised discrete Gaussian

      T(p) = exp(-|p - c|^2 / (2 sigma^2)) / sum_q exp(-|q - c|^2 / (2 sigma^2))

  over the pixel centres ``p = (x, y)`` at integer coordinates (``x = 0 ..
  W - 1``, ``y = 0 .. H - 1``, the codecs' UDP grid, as in
  :mod:`.map_moments`), one map per centre ``c``. Near a border the map is
  truncated and renormalised, so its mean moves inwards; away from the
  borders its mean is ``c`` and its covariance ``sigma^2 I`` up to the
  discretisation (tested);
* :func:`map_kl_divergence`: ``KL(T || P) = sum_p T(p) (log T(p) - log
  P(p))`` with ``0 log 0 = 0``, from the log-probabilities of the predicted
  map (``log_softmax`` of the logits, so no ``log 0``). It is 0 exactly when
  ``P = T``; its gradient with respect to the logits is ``P - T``.

Note:
    - ``...``: any leading (batch) shape, e.g. (B, K)
    - heatmap size: [W, H]
"""
from typing import Sequence

import torch
from torch import Tensor

__all__ = ['discrete_gaussian_maps', 'map_kl_divergence']


def discrete_gaussian_maps(centres: Tensor, heatmap_size: Sequence[int],
                           sigma: float) -> Tensor:
    """Normalised discrete Gaussian maps centred at ``centres``.

    Args:
        centres (Tensor): Centres ``(x, y)`` in heatmap pixels, shape
            (..., 2). Any real values (a centre outside the map gives the
            truncated, renormalised Gaussian; each map is computed in log
            space, so far-away centres do not underflow to an all-zero map).
        heatmap_size (Sequence[int]): ``(W, H)``.
        sigma (float): Standard deviation in heatmap pixels, > 0.

    Returns:
        Tensor: Maps (..., H, W) in the dtype of ``centres`` (at least
        float32), each summing to 1.
    """
    if not isinstance(centres, Tensor) or centres.shape[-1:] != (2, ):
        raise ValueError('centres must be a tensor of shape (..., 2), got '
                         f'{getattr(centres, "shape", type(centres))}')
    w, h = (int(v) for v in heatmap_size)
    if w < 1 or h < 1:
        raise ValueError(f'heatmap_size must be >= 1, got {heatmap_size}')
    if not sigma > 0:
        raise ValueError(f'sigma must be > 0, got {sigma}')
    c = centres.to(torch.promote_types(centres.dtype, torch.float32))
    xs = torch.arange(w, dtype=c.dtype, device=c.device)
    ys = torch.arange(h, dtype=c.dtype, device=c.device)
    dx2 = (xs - c[..., 0:1]).pow(2)  # (..., W)
    dy2 = (ys - c[..., 1:2]).pow(2)  # (..., H)
    log_t = -(dy2[..., :, None] + dx2[..., None, :]) / (2.0 * sigma**2)
    shape = log_t.shape
    flat = torch.softmax(log_t.reshape(*shape[:-2], h * w), dim=-1)
    return flat.reshape(shape)


def map_kl_divergence(target: Tensor, log_prob: Tensor) -> Tensor:
    """``KL(target || P)`` of each map, with ``0 log 0 = 0``.

    Args:
        target (Tensor): Target maps (..., H, W), non-negative, each summing
            to 1.
        log_prob (Tensor): Log-probabilities of the predicted maps (...,
            H, W), e.g. ``log_softmax`` over the H*W pixels.

    Returns:
        Tensor: The divergences (...), >= 0 up to rounding.
    """
    if target.shape != log_prob.shape or target.dim() < 2:
        raise ValueError('target and log_prob must have the same shape '
                         f'(..., H, W), got {tuple(target.shape)} and '
                         f'{tuple(log_prob.shape)}')
    positive = target > 0
    log_t = torch.log(torch.where(positive, target, torch.ones_like(target)))
    terms = torch.where(positive, target * (log_t - log_prob),
                        torch.zeros_like(log_prob))
    return terms.sum(dim=(-2, -1))
