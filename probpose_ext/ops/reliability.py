"""Reliability of predicted probabilities: binary events and credible regions.

**Binary events** (e.g. the presence probability ``q`` that a keypoint lies
inside the activation window, against the 0/1 label ``y``). A reliability
diagram splits the predictions into ``B`` equal-width bins on ``[0, 1]``
(edges ``e_b = b / B``; bin ``b`` holds ``e_b <= q < e_{b+1}``, the last bin
also ``q = 1``) and compares, per bin, the mean predicted probability
(*confidence*) with the observed frequency of ``y = 1``. With ``n_b``
predictions in bin ``b`` out of ``n``:

* ``ECE = sum_b n_b / n * |freq_b - conf_b|`` (expected calibration error),
* ``MCE = max_{b: n_b > 0} |freq_b - conf_b|`` (maximum calibration error),
* ``Brier = mean (q - y)^2`` (no binning).

**Credible regions** of probability maps (see
:mod:`probpose_ext.ops.credible`): the empirical coverage of the level-``p``
regions is the fraction of ground-truth (GT) keypoints inside them. If the
GT is distributed as the map itself, a region is hit with probability equal
to the mass it holds, so the expected coverage is the mean held mass
(``>= p``; more than ``p`` because the last pixel of a discrete region
overshoots). Coverage below ``p`` means too sharp (over-confident) maps.

All functions are pure PyTorch and compute in float64.
"""
import math
from typing import Dict, Optional, Sequence, Union

import numpy as np
import torch
from torch import Tensor

from ._checks import check_maps
from .pixels import gt_pixel_index
from ._checks import check_level
from .credible import region_sizes, sorted_masses

__all__ = [
    'reliability_diagram', 'binary_calibration_errors', 'credible_coverage'
]

ArrayLike = Union[Tensor, np.ndarray, Sequence[float]]

#: Credible levels reported by default.
DEFAULT_LEVELS = (0.5, 0.8, 0.9, 0.95)


def _binary_entries(prob: ArrayLike, label: ArrayLike,
                    valid: Optional[ArrayLike]) -> Dict[str, Tensor]:
    """The used (valid) predictions and labels, flattened, float64.

    Raises:
        ValueError: On mismatched shapes, probabilities outside [0, 1] or
            non-finite, or labels other than 0/1 (among the used entries).
    """
    q = torch.as_tensor(prob).detach().to(torch.float64)
    y = torch.as_tensor(label).detach().to(device=q.device,
                                           dtype=torch.float64)
    if y.shape != q.shape:
        raise ValueError(f'label must have the shape of prob {tuple(q.shape)}'
                         f', got {tuple(y.shape)}')
    if valid is None:
        keep = torch.ones_like(q, dtype=torch.bool)
    else:
        keep = torch.as_tensor(valid, device=q.device)
        if keep.shape != q.shape:
            raise ValueError(f'valid must have the shape of prob '
                             f'{tuple(q.shape)}, got {tuple(keep.shape)}')
        keep = keep.to(torch.bool)
    q, y = q[keep], y[keep]
    bad = ~torch.isfinite(q) | (q < 0) | (q > 1)
    if bool(bad.any()):
        raise ValueError('prob must be finite and in [0, 1], got '
                         f'{q[bad][:5].tolist()}')
    if not bool(((y == 0) | (y == 1)).all()):
        raise ValueError('label must be 0 or 1, got values '
                         f'{torch.unique(y)[:5].tolist()}')
    return dict(prob=q, label=y)


def _check_bins(bins: int) -> int:
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) \
            or bins < 1:
        raise ValueError(f'bins must be a positive int, got {bins!r}')
    return int(bins)


def _diagram(q: Tensor, y: Tensor, bins: int) -> Dict[str, Tensor]:
    """:func:`reliability_diagram` of checked, flattened entries (M,)."""
    edges = torch.linspace(0.0, 1.0, bins + 1, dtype=torch.float64,
                           device=q.device)
    index = torch.searchsorted(edges[1:-1], q, right=True)
    count = torch.zeros(bins, dtype=torch.int64, device=q.device)
    count.index_add_(0, index, torch.ones_like(index))
    sum_q = torch.zeros(bins, dtype=torch.float64, device=q.device)
    sum_y = torch.zeros_like(sum_q)
    sum_q.index_add_(0, index, q)
    sum_y.index_add_(0, index, y)
    n_b = count.to(torch.float64)
    empty = count == 0
    nan = torch.full_like(sum_q, math.nan)
    confidence = torch.where(empty, nan, sum_q / n_b.clamp_min(1))
    frequency = torch.where(empty, nan, sum_y / n_b.clamp_min(1))
    return dict(edges=edges, count=count, confidence=confidence,
                frequency=frequency)


def reliability_diagram(prob: ArrayLike,
                        label: ArrayLike,
                        valid: Optional[ArrayLike] = None,
                        bins: int = 10) -> Dict[str, Tensor]:
    """Per-bin confidence and observed frequency of binary predictions.

    Args:
        prob (Tensor | np.ndarray): Predicted probabilities of the event, in
            [0, 1], any shape S.
        label (Tensor | np.ndarray): Outcomes, 0 or 1, shape S.
        valid (Tensor | np.ndarray, optional): Which entries to use, bool or
            0/1, shape S. Default: all.
        bins (int): Number ``B`` of equal-width bins on [0, 1]. Default: 10.

    Returns:
        dict[str, Tensor]: ``'edges'`` (B + 1,) float64; ``'count'`` (B,)
        int64, predictions per bin; ``'confidence'`` (B,) float64, their
        mean probability; ``'frequency'`` (B,) float64, the fraction with
        label 1. Confidence and frequency are NaN for empty bins.

    Note:
        B: number of bins. Bin ``b`` holds ``edges[b] <= q < edges[b + 1]``
        (the last bin also ``q = 1``).
    """
    entries = _binary_entries(prob, label, valid)
    return _diagram(entries['prob'], entries['label'], _check_bins(bins))


def binary_calibration_errors(prob: ArrayLike,
                              label: ArrayLike,
                              valid: Optional[ArrayLike] = None,
                              bins: int = 10) -> Dict[str, float]:
    """Expected / maximum calibration error and Brier score.

    Args:
        prob (Tensor | np.ndarray): Predicted probabilities of the event, in
            [0, 1], any shape S.
        label (Tensor | np.ndarray): Outcomes, 0 or 1, shape S.
        valid (Tensor | np.ndarray, optional): Which entries to use, shape
            S. Default: all.
        bins (int): Number ``B`` of equal-width bins for ECE and MCE (see
            :func:`reliability_diagram`). Default: 10.

    Returns:
        dict[str, float]: ``'ece'``, ``'mce'``, ``'brier'`` (NaN when no
        entry is used) and ``'count'`` (int), the number ``n`` of entries
        used.

    Note:
        B: number of bins; n: number of entries used.
    """
    entries = _binary_entries(prob, label, valid)
    diagram = _diagram(entries['prob'], entries['label'], _check_bins(bins))
    num = int(diagram['count'].sum())
    if num == 0:
        return dict(ece=math.nan, mce=math.nan, brier=math.nan, count=0)
    filled = diagram['count'] > 0
    gap = (diagram['frequency'] - diagram['confidence'])[filled].abs()
    weight = diagram['count'][filled].to(torch.float64) / num
    brier = ((entries['prob'] - entries['label'])**2).mean()
    return dict(ece=float((weight * gap).sum()), mce=float(gap.max()),
                brier=float(brier), count=num)


def credible_coverage(prob: Tensor,
                      gt_xy: Tensor,
                      valid: Optional[Tensor] = None,
                      levels: Sequence[float] = DEFAULT_LEVELS,
                      chunk_size: Optional[int] = None
                      ) -> Dict[str, Union[Tensor, int]]:
    """Empirical coverage of credible regions by ground-truth keypoints.

    For each level ``p``, the level-``p`` region of every used map is
    :func:`~probpose_ext.ops.credible.credible_region_mask`; a GT keypoint
    is covered when its nearest pixel is in the region
    (:func:`~probpose_ext.ops.credible.region_contains`). A map is used
    when ``valid``, its GT lies inside the map
    (:func:`~probpose_ext.ops.calibration.gt_pixel_index`) and its total is
    positive and finite (as in :func:`~probpose_ext.ops.rank_mass`).

    Args:
        prob (Tensor): Probability maps, non-negative, summing to 1, shape
            (N, K, H, W).
        gt_xy (Tensor): GT locations ``(x, y)`` in heatmap pixels (pixel
            centres at integers), shape (N, K, 2).
        valid (Tensor, optional): Which GT keypoints to use, bool or 0/1,
            shape (N, K). Default: all.
        levels (Sequence[float]): Credible levels ``p`` in (0, 1], shape
            (L,). Default: ``(0.5, 0.8, 0.9, 0.95)``.
        chunk_size (int, optional): Maps per chunk, to bound memory (the
            region masks take ``N * K * H * W`` bytes per level at once
            otherwise). Default: all used maps at once.

    Returns:
        dict: ``'levels'`` (L,) float64; ``'coverage'`` (L,) float64, the
        fraction of used GT keypoints inside their region; ``'mass'`` (L,)
        float64, the mean probability held by the regions (the expected
        coverage if GT were drawn from the maps); ``'area'`` (L,) float64,
        the mean region area in heatmap pixels^2; ``'count'`` (int), the
        number of used maps. The averages are NaN when no map is used.

    Note:
        N: number of instances; K: keypoints per instance; H, W: map
        height and width; L: number of levels.
    """
    check_maps(prob, floating=True)
    num, num_kpt, height, width = prob.shape
    gt_xy = torch.as_tensor(gt_xy, device=prob.device)
    if tuple(gt_xy.shape) != (num, num_kpt, 2):
        raise ValueError(f'gt_xy must have shape {(num, num_kpt, 2)}, got '
                         f'{tuple(gt_xy.shape)}')
    levels_t = torch.tensor([check_level(p) for p in levels],
                            dtype=torch.float64, device=prob.device)
    if levels_t.numel() == 0:
        raise ValueError('levels must hold at least one credible level')
    if chunk_size is not None and int(chunk_size) < 1:
        raise ValueError(f'chunk_size must be >= 1, got {chunk_size}')
    index, ok = gt_pixel_index(gt_xy, (height, width),
                               None if valid is None else torch.as_tensor(
                                   valid, device=prob.device))
    total = prob.detach().to(torch.float64).sum(dim=(-2, -1))
    ok = ok & torch.isfinite(total) & (total > 0)
    maps = prob.detach()[ok].to(torch.float64).flatten(1)  # (M, H*W)
    gt_index = index[ok]  # (M, )
    used = maps.size(0)
    sums = torch.zeros(3, levels_t.numel(), dtype=torch.float64,
                       device=prob.device)  # covered, mass, area
    step = used if chunk_size is None else int(chunk_size)
    positions = torch.arange(height * width, device=prob.device)
    for start in range(0, used, max(step, 1)):
        # one sort per map serves every level: the level-p region is the
        # first region_sizes(...) sorted pixels
        vals, order, cum = sorted_masses(maps[start:start + step])
        size = region_sizes(vals, cum, levels_t.tolist())  # (M_c, L)
        rank = torch.empty_like(order).scatter_(
            -1, order, positions.expand_as(order))
        gt_rank = rank.gather(-1, gt_index[start:start + step, None])
        mass = torch.where(size > 0, cum.gather(-1, (size - 1).clamp_min(0)),
                           cum.new_zeros(()))
        sums[0] += (gt_rank < size).sum(dim=0)
        sums[1] += mass.sum(dim=0)
        sums[2] += size.sum(dim=0)
    means = sums / used if used else torch.full_like(sums, math.nan)
    return dict(levels=levels_t, coverage=means[0], mass=means[1],
                area=means[2], count=int(used))
