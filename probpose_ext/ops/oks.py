"""Object Keypoint Similarity (OKS) maths for probability-map decoding.

A probabilistic keypoint head outputs, per instance and keypoint, a
probability map ``P`` over heatmap pixels (non-negative, summing to 1). Pixel
centres sit at integer coordinates ``x in 0..W-1``, ``y in 0..H-1``.

The OKS of a keypoint prediction at distance ``d`` from the ground truth is
``exp(-d^2 / (2 s^2 k^2))`` with ``k = 2 * sigma`` (COCO per-keypoint sigma)
and ``s^2`` the object area. Written as ``exp(-d^2 / (2 v))``, the *OKS
variance* ``v = s^2 (2 sigma)^2`` fully describes the similarity kernel; the
helpers below express it in heatmap pixels^2.

The expected OKS of predicting location ``x`` under ``P`` is

    E[OKS](x) = sum_y P(y) * exp(-|x - y|^2 / (2 v)),

i.e. ``P`` convolved with an un-normalised (peak 1) Gaussian kernel. Since
the kernel is separable the convolution is computed exactly, without any
truncation, as ``Gy @ P @ Gx^T`` where ``G[i, j] = exp(-(i - j)^2 / (2 v))``;
values outside the map count as zero probability. The expected-OKS decoder
(the Bayes decision for the OKS metric) predicts the arg-max of that map and
refines it by one Newton step per axis. Sparsemax maps are zero outside a
small support, and the arg-max provably lies in the bounding box of that
support, so :func:`decode_expected_oks` evaluates the map only on a window
around it (exactly, see its docstring).

All functions are pure PyTorch, vectorised over instances and keypoints, and
run on any device in float32 or float64.
"""
import math
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from ._checks import check_maps
from ._precision import full_precision, upcast

ArrayLike = Union[Tensor, np.ndarray, Sequence[float], float]

#: Ratio of the keypoint-annotated object area to its bounding-box area that
#: is assumed for a nominal instance (``area = 0.53 * bbox_w * bbox_h``).
NOMINAL_AREA_RATIO = 0.53

#: Side of the smallest support window of :func:`decode_expected_oks`; maps
#: are grouped by the longer side of their window, in groups of sides up to
#: ``_WINDOW_SIDE * 2^i`` pixels.
_WINDOW_SIDE = 8

#: A group of maps whose common window would cover more than this fraction
#: of the map is decoded densely (the whole map is the window).
_DENSE_FRACTION = 0.5

#: Tie tolerance of the decoder's arg-max, in units of ``(H + W) * eps``
#: (see :func:`tie_tolerance`).
TIE_ULPS = 4


def _float_tensor(x: ArrayLike,
                  dtype: Optional[torch.dtype] = None,
                  device: Optional[Union[torch.device, str]] = None) -> Tensor:
    """Convert ``x`` to a floating tensor.

    Args:
        x (Tensor | np.ndarray | Sequence[float] | float): Input values.
        dtype (torch.dtype, optional): Target dtype. Defaults to the dtype of
            ``x`` if it is floating, else :func:`torch.get_default_dtype`.
        device (torch.device | str, optional): Target device. Defaults to the
            device of ``x`` (CPU for non-tensors).

    Returns:
        Tensor: ``x`` as a floating tensor.
    """
    t = torch.as_tensor(x, device=device)
    if dtype is not None:
        return t.to(dtype)
    if not t.is_floating_point():
        t = t.to(torch.get_default_dtype())
    return t


def _check_heatmap_size(heatmap_size: Sequence[int]) -> Tuple[float, float]:
    """Validate ``heatmap_size = (W, H)`` and return it as floats."""
    if len(heatmap_size) != 2:
        raise ValueError('heatmap_size must be (W, H), got '
                         f'{tuple(heatmap_size)}')
    w, h = (float(s) for s in heatmap_size)
    if w <= 0 or h <= 0:
        raise ValueError(f'heatmap_size must be positive, got {(w, h)}')
    return w, h


def oks_variance_instance(sigmas: ArrayLike, area: ArrayLike,
                          window_size: ArrayLike,
                          heatmap_size: Sequence[int]) -> Tensor:
    """OKS kernel variance of each instance, in heatmap pixels^2.

    The OKS variance in image pixels^2 is ``area * (2 sigma_k)^2``. The
    activation window (input crop) of ``window_w x window_h`` image pixels
    is mapped onto the ``W x H`` heatmap, so an area scales by
    ``(W / window_w) * (H / window_h)``:

        v[n, k] = area[n] * (2 sigmas[k])^2 * (W / window_w[n])
                  * (H / window_h[n])

    Note:
        - instance number: N
        - keypoint number: K
        - heatmap height: H
        - heatmap width: W

    Args:
        sigmas (Tensor | np.ndarray | Sequence[float]): Per-keypoint OKS
            sigmas (COCO convention, e.g. 0.026 for the nose) in shape (K, ).
        area (Tensor | np.ndarray | Sequence[float]): Object areas in image
            pixels^2 in shape (N, ).
        window_size (Tensor | np.ndarray | Sequence): Activation window
            ``(window_w, window_h)`` of each instance in image pixels, in
            shape (N, 2).
        heatmap_size (Sequence[int]): Heatmap size ``(W, H)``.

    Returns:
        Tensor: The OKS variances in heatmap pixels^2 in shape (N, K), with
        the dtype and device of ``area`` (float, default dtype if ``area``
        is an integer array).
    """
    w, h = _check_heatmap_size(heatmap_size)
    area_t = _float_tensor(area)
    window = _float_tensor(window_size, area_t.dtype, area_t.device)
    sigmas_t = _float_tensor(sigmas, area_t.dtype, area_t.device)
    if area_t.dim() != 1:
        raise ValueError(
            f'area must have shape (N,), got {tuple(area_t.shape)}')
    if window.shape != (area_t.shape[0], 2):
        raise ValueError('window_size must have shape (N, 2) = '
                         f'{(area_t.shape[0], 2)}, got {tuple(window.shape)}')
    if sigmas_t.dim() != 1:
        raise ValueError(
            f'sigmas must have shape (K,), got {tuple(sigmas_t.shape)}')
    scale = area_t * (w / window[:, 0]) * (h / window[:, 1])  # (N, )
    return scale[:, None] * (2 * sigmas_t)[None, :]**2


def oks_variance_nominal(sigmas: ArrayLike,
                         heatmap_size: Sequence[int],
                         padding: float = 1.25) -> Tensor:
    """OKS kernel variance of the nominal instance of the activation window.

    At decode time the true object area is unknown. The nominal instance is
    the one implied by the top-down crop: its bounding box is the heatmap
    (activation window) shrunk by ``padding``, and its area is
    ``0.53 * bbox area`` (:data:`NOMINAL_AREA_RATIO`). In heatmap pixels:

        v[k] = 0.53 * (W / padding) * (H / padding) * (2 sigmas[k])^2

    Note:
        - keypoint number: K
        - heatmap height: H
        - heatmap width: W

    Args:
        sigmas (Tensor | np.ndarray | Sequence[float]): Per-keypoint OKS
            sigmas in shape (K, ).
        heatmap_size (Sequence[int]): Heatmap size ``(W, H)``.
        padding (float): Ratio of the activation window to the bounding box
            (the bbox padding of the top-down pipeline). Defaults to 1.25.

    Returns:
        Tensor: The OKS variances in heatmap pixels^2 in shape (K, ), with
        the dtype and device of ``sigmas``.
    """
    w, h = _check_heatmap_size(heatmap_size)
    if padding <= 0:
        raise ValueError(f'padding must be positive, got {padding}')
    sigmas_t = _float_tensor(sigmas)
    area = NOMINAL_AREA_RATIO * (w / padding) * (h / padding)
    return area * (2 * sigmas_t)**2


def oks_variance_authors(sigmas: ArrayLike,
                         heatmap_size: Sequence[int]) -> Tensor:
    """OKS kernel variance used by the ProbPose authors' code (compat mode).

    One kernel for every instance, clipped to a fixed range:

        v[k] = clip((2 sigmas[k])^2 * sqrt(H / 1.25 * W / 1.25) * 2,
                    0.55, 3.0)

    Note:
        - keypoint number: K
        - heatmap height: H
        - heatmap width: W

    Args:
        sigmas (Tensor | np.ndarray | Sequence[float]): Per-keypoint OKS
            sigmas in shape (K, ).
        heatmap_size (Sequence[int]): Heatmap size ``(W, H)``.

    Returns:
        Tensor: The OKS variances in heatmap pixels^2 in shape (K, ), with
        the dtype and device of ``sigmas``.
    """
    w, h = _check_heatmap_size(heatmap_size)
    sigmas_t = _float_tensor(sigmas)
    scale = float(np.sqrt(h / 1.25 * w / 1.25)) * 2.0
    return ((2 * sigmas_t)**2 * scale).clamp(0.55, 3.0)


def gaussian_oks_matrix(size: int, variance: ArrayLike) -> Tensor:
    """1-D OKS kernel matrices for a batch of variances.

    ``G[..., i, j] = exp(-(i - j)^2 / (2 variance[...]))``: a symmetric
    Toeplitz matrix with ones on the diagonal (peak-1, un-normalised
    Gaussian). A zero variance gives the identity (the limit of the kernel);
    variances must not be negative.

    Args:
        size (int): Length L of the axis (H or W of the heatmap).
        variance (Tensor | np.ndarray | Sequence[float] | float): Kernel
            variances in pixels^2 of any shape (...).

    Returns:
        Tensor: The kernel matrices in shape (..., L, L), with the dtype and
        device of ``variance`` (float).
    """
    var = _float_tensor(variance)
    idx = torch.arange(size, device=var.device, dtype=var.dtype)
    sq_dist = (idx[:, None] - idx[None, :])**2  # (L, L)
    # clamping to the smallest normal number keeps v = 0 well defined:
    # 0 / tiny = 0 on the diagonal and d^2 / tiny = inf elsewhere
    var = var.clamp_min(torch.finfo(var.dtype).tiny)[..., None, None]
    return torch.exp(-sq_dist / (2 * var))


def _check_variance(variance: ArrayLike, n: int, k: int, dtype: torch.dtype,
                    device: torch.device) -> Tensor:
    """Convert OKS variances to a tensor broadcastable to (N, K).

    Args:
        variance (Tensor | np.ndarray | Sequence[float] | float): OKS
            variances, broadcastable to (N, K).
        n (int): Instance number N.
        k (int): Keypoint number K.
        dtype (torch.dtype): Target dtype.
        device (torch.device): Target device.

    Returns:
        Tensor: The variances, un-expanded (at most 2 dimensions).
    """
    var = _float_tensor(variance, dtype, device)
    if var.dim() > 2:
        raise ValueError('variance must be broadcastable to (N, K) = '
                         f'{(n, k)}, got {tuple(var.shape)}')
    try:
        torch.broadcast_shapes(var.shape, (n, k))
    except RuntimeError:
        raise ValueError('variance must be broadcastable to (N, K) = '
                         f'{(n, k)}, got {tuple(var.shape)}') from None
    return var


def _check_prob(prob: Tensor) -> Tensor:
    """Check that ``prob`` is (N, K, H, W) and make it floating, float32 at
    least (float16 / bfloat16 maps are computed in float32)."""
    check_maps(prob)
    if not prob.is_floating_point():
        prob = prob.to(torch.get_default_dtype())
    return upcast(prob)


@full_precision
def expected_oks_map(prob: Tensor, variance: ArrayLike) -> Tensor:
    """Expected OKS of predicting each heatmap pixel.

    ``E[n, k, y, x] = sum_{y', x'} P[n, k, y', x'] * exp(-((x - x')^2 +
    (y - y')^2) / (2 v[n, k]))``, computed exactly as ``Gy @ P @ Gx^T`` with
    batched matrix products (cost ``N*K*(H^2 W + H W^2)``); pixels outside
    the map carry no probability. If ``P`` sums to 1 over each map, the
    values are expected OKS scores in [0, 1].

    Note:
        - instance number: N
        - keypoint number: K
        - heatmap height: H
        - heatmap width: W

    Args:
        prob (Tensor): Probability maps in shape (N, K, H, W), floating.
        variance (Tensor | np.ndarray | Sequence[float] | float): OKS
            variances in heatmap pixels^2, broadcastable to (N, K), e.g.
            (K, ) for one kernel per keypoint or (N, K) per instance. Beware
            that a (N, ) tensor broadcasts against K, use (N, 1) instead.

    Returns:
        Tensor: The expected OKS maps in shape (N, K, H, W); float32 for
        float16 / bfloat16 maps (computed in float32, also under
        ``torch.autocast``).
    """
    prob = _check_prob(prob)
    n, k, h, w = prob.shape
    var = _check_variance(variance, n, k, prob.dtype, prob.device)
    # kernels keep the (un-expanded) shape of the variance, matmul broadcasts
    gy = gaussian_oks_matrix(h, var)  # (..., H, H)
    gx = gaussian_oks_matrix(w, var)  # (..., W, W), symmetric
    return torch.matmul(torch.matmul(gy, prob), gx)


#: The OKS thresholds of COCO's keypoint AP, 0.50:0.05:0.95.
COCO_OKS_THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))


def ap_kernel_variance_ratio(
        thresholds: Sequence[float] = COCO_OKS_THRESHOLDS) -> float:
    """Variance ratio ``s^2 / v`` of the Gaussian decision kernel matched to
    AP's OKS thresholds.

    A keypoint at distance ``d`` from the ground truth passes threshold
    ``t`` iff ``exp(-d^2 / (2 v)) > t``, i.e. ``d^2 < r_t^2 = -2 v ln t``.
    The location maximising the expected share of the thresholds passed
    maximises ``sum_y P(y) K(x - y)`` with ``K = mean_t 1{|d| < r_t}``, a
    mixture of discs. Expected-OKS decoding uses ``K = exp(-d^2 / (2 v))``
    instead, which is the same mixture over *all* ``t`` in (0, 1) and so
    weighs large radii (low thresholds) that AP (``t >= 0.5``) does not
    count. Matching the second moment of ``K`` as a 2D density (a disc of
    radius ``r`` has ``E|d|^2 = r^2 / 2`` and weight ``pi r^2``) to an
    isotropic Gaussian of per-axis variance ``s^2`` (``E|d|^2 = 2 s^2``)
    gives

        s^2 / v = sum_t (ln t)^2 / (2 sum_t (-ln t)),

    0.232 for COCO's thresholds. It is the ratio only: the instance-level AP
    thresholds the mean OKS of all keypoints, which this per-keypoint
    decision does not model.

    Args:
        thresholds (Sequence[float]): OKS thresholds in (0, 1). Defaults to
            COCO's.

    Returns:
        float: ``s^2 / v`` in (0, inf).
    """
    t = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    if t.size == 0 or not ((t > 0) & (t < 1)).all():
        raise ValueError(f'thresholds must be in (0, 1), got {thresholds}')
    log_t = np.log(t)
    return float((log_t**2).sum() / (2 * (-log_t).sum()))


@full_precision
def expected_oks_at(prob: Tensor, points: Tensor,
                    variance: ArrayLike) -> Tensor:
    """Expected OKS of predicting given (sub-pixel) locations.

    ``E[n, k] = sum_{y, x} P[n, k, y, x] * exp(-((px - x)^2 + (py - y)^2) /
    (2 v[n, k]))`` with ``(px, py) = points[n, k]``, computed separably.

    Note:
        - instance number: N
        - keypoint number: K
        - heatmap height: H
        - heatmap width: W

    Args:
        prob (Tensor): Probability maps in shape (N, K, H, W), floating.
        points (Tensor): Locations ``(x, y)`` in heatmap pixels (pixel
            centres at integers), shape (N, K, 2).
        variance (Tensor | np.ndarray | Sequence[float] | float): OKS
            variances in heatmap pixels^2, broadcastable to (N, K).

    Returns:
        Tensor: Expected OKS in shape (N, K).
    """
    prob = _check_prob(prob)
    n, k, h, w = prob.shape
    if tuple(points.shape) != (n, k, 2):
        raise ValueError(f'points must have shape {(n, k, 2)}, got '
                         f'{tuple(points.shape)}')
    var = _check_variance(variance, n, k, prob.dtype, prob.device)
    var = var.expand(n, k)[..., None]
    points = points.to(prob)
    xs = torch.arange(w, dtype=prob.dtype, device=prob.device)
    ys = torch.arange(h, dtype=prob.dtype, device=prob.device)
    gx = torch.exp(-(xs - points[..., :1])**2 / (2 * var))  # (N, K, W)
    gy = torch.exp(-(ys - points[..., 1:])**2 / (2 * var))  # (N, K, H)
    return torch.einsum('nkhw,nkh,nkw->nk', prob, gy, gx)


def newton_step_1d(f_prev: Tensor,
                   f_center: Tensor,
                   f_next: Tensor,
                   valid: Optional[Tensor] = None,
                   max_step: float = 0.5) -> Tensor:
    """One Newton step towards the maximum of a sampled 1-D function.

    From central differences at the sample ``x``:

        step = -(f(x+1) - f(x-1)) / (2 * (f(x+1) - 2 f(x) + f(x-1)))

    which is exact for a parabola. The step is applied only where the second
    difference is negative (a local maximum of the fitted parabola) and
    ``valid`` is true (e.g. both neighbours exist), and it is clipped to
    ``[-max_step, max_step]``; elsewhere it is 0. At a discrete maximum
    (``f(x) >= f(x -+ 1)``) the step always lies in [-0.5, 0.5].

    Args:
        f_prev (Tensor): Values ``f(x - 1)`` of any shape (...).
        f_center (Tensor): Values ``f(x)`` in shape (...).
        f_next (Tensor): Values ``f(x + 1)`` in shape (...).
        valid (Tensor, optional): Boolean mask in shape (...) of where a step
            is allowed. Defaults to everywhere.
        max_step (float): Clipping bound of the step. Defaults to 0.5.

    Returns:
        Tensor: The sub-pixel steps in shape (...).
    """
    second = f_next - 2 * f_center + f_prev
    ok = second < 0
    if valid is not None:
        ok = ok & valid
    # safe denominator so that masked-out entries stay finite
    denom = torch.where(ok, second, torch.full_like(second, -1.0))
    step = -(f_next - f_prev) / (2 * denom)
    step = step.clamp(-max_step, max_step)
    return torch.where(ok, step, torch.zeros_like(step))


def tie_tolerance(dtype: torch.dtype, h: int, w: int) -> float:
    """Relative tolerance within which two map values count as tied.

    Each expected-OKS value is a sum of ``H * W`` non-negative products,
    computed as two matrix products of lengths ``H`` and ``W``; its relative
    rounding error is below about ``(H + W) * eps``, and it depends on the
    summation order, which differs between CPUs, BLAS kernels, devices and
    between a window and the whole map. Values closer than
    ``TIE_ULPS * (H + W) * eps`` (relative to the maximum) are treated as
    equal, so that pixels that tie in exact arithmetic tie on every path.

    Args:
        dtype (torch.dtype): Floating dtype of the maps.
        h (int): Height H of the (whole) map.
        w (int): Width W of the (whole) map.

    Returns:
        float: The relative tolerance, e.g. 5.3e-5 for a 64x48 float32 map.
    """
    return TIE_ULPS * (h + w) * torch.finfo(dtype).eps


def first_near_max(values: Tensor, rtol: float) -> Tuple[Tensor, Tensor]:
    """The decoder's arg-max rule: the first index whose value is within
    ``rtol`` (relative) of the maximum.

    ``idx = min {i : values[..., i] >= m - rtol * |m|}`` with ``m`` the
    maximum along the last dimension. Unlike ``argmax``, the choice does not
    hinge on differences of a few rounding errors, so it is the same
    whatever the summation order that produced ``values`` (unless a value
    lies within rounding of the tolerance boundary itself). For an infinite
    maximum the first maximal index is taken; a NaN anywhere in a row
    selects index 0 of that row.

    Args:
        values (Tensor): Scores in shape (..., L), floating, ``L >= 1``.
        rtol (float): Relative tolerance, e.g. from :func:`tie_tolerance`.

    Returns:
        tuple:
        - index (Tensor): The chosen indices in shape (...), int64.
        - value (Tensor): The values at those indices in shape (...).
    """
    top = values.amax(dim=-1, keepdim=True)
    threshold = torch.where(torch.isfinite(top), top - rtol * top.abs(), top)
    near = values >= threshold
    index = near.view(torch.uint8).argmax(dim=-1)  # the first true entry
    return index, values.gather(-1, index.unsqueeze(-1)).squeeze(-1)


def argmax_newton_refine(
        score_map: Tensor,
        tie_rtol: Optional[float] = None) -> Tuple[Tensor, Tensor]:
    """Arg-max of score maps refined by one Newton step per axis.

    The integer arg-max ``(x, y)`` of each map is taken first, with the
    tie rule of :func:`first_near_max`: the first pixel in row-major order
    (smallest ``y``, then smallest ``x``) among those within ``tie_rtol``
    (relative) of the maximum. Then ``x`` and ``y`` are each moved by
    :func:`newton_step_1d` computed from the map row / column through the
    arg-max; no step is taken along an axis where the arg-max lies on the
    border (a neighbour is missing) or where the second difference is not
    negative.

    Note:
        - instance number: N
        - keypoint number: K
        - heatmap height: H
        - heatmap width: W

    Args:
        score_map (Tensor): Score maps in shape (N, K, H, W).
        tie_rtol (float, optional): Relative tie tolerance. Defaults to
            :func:`tie_tolerance` of the maps (the decoder's rule); 0 gives
            the plain first arg-max.

    Returns:
        tuple:
        - keypoints (Tensor): Refined locations ``(x, y)`` in heatmap pixel
          coordinates in shape (N, K, 2), in the dtype of ``score_map``.
        - scores (Tensor): The map values at the integer arg-max in shape
          (N, K).
    """
    check_maps(score_map, 'score_map')
    if not score_map.is_floating_point():
        score_map = score_map.to(torch.get_default_dtype())
    n, k, h, w = score_map.shape
    flat = score_map.reshape(n, k, h * w)
    if tie_rtol is None:
        tie_rtol = tie_tolerance(flat.dtype, h, w)
    idx, scores = first_near_max(flat, tie_rtol)  # (N, K)
    ys = torch.div(idx, w, rounding_mode='floor')
    xs = idx - ys * w

    def _at(yy: Tensor, xx: Tensor) -> Tensor:
        return flat.gather(-1, (yy * w + xx).unsqueeze(-1)).squeeze(-1)

    x_prev, x_next = (xs - 1).clamp_min(0), (xs + 1).clamp_max(w - 1)
    y_prev, y_next = (ys - 1).clamp_min(0), (ys + 1).clamp_max(h - 1)
    step_x = newton_step_1d(_at(ys, x_prev), scores, _at(ys, x_next),
                            (xs > 0) & (xs < w - 1))
    step_y = newton_step_1d(_at(y_prev, xs), scores, _at(y_next, xs),
                            (ys > 0) & (ys < h - 1))
    keypoints = torch.stack(
        [xs.to(flat.dtype) + step_x,
         ys.to(flat.dtype) + step_y], dim=-1)
    return keypoints, scores


def _extent(mask: Tensor, empty: Tensor) -> Tuple[Tensor, Tensor]:
    """First and last index of the true entries along the last dimension.

    Args:
        mask (Tensor): Boolean tensor in shape (M, L).
        empty (Tensor): Boolean tensor in shape (M, ), true exactly for the
            rows of ``mask`` without a true entry.

    Returns:
        tuple: First and last indices in shape (M, ), int64; both 0 for rows
        without a true entry.
    """
    as_uint8 = mask.view(torch.uint8)  # free reinterpretation of bool
    # argmax returns the first maximal index
    first = as_uint8.argmax(dim=-1)
    last = (mask.shape[-1] - 1) - as_uint8.flip(-1).argmax(dim=-1)
    return first, last.masked_fill(empty, 0)


def _grow(lo: Tensor, hi: Tensor, size: int) -> Tuple[Tensor, Tensor]:
    """Start and length of the range ``lo..hi`` grown by one on each side
    and clamped to ``0..size-1``."""
    start = (lo - 1).clamp_min(0)
    return start, (hi + 1).clamp_max(size - 1) - start + 1


def _rows(rows2d: Tensor, idx: Tensor, start: Tensor, count: int,
          h: int) -> Tensor:
    """Rows ``start..start+count-1`` of the maps ``idx``.

    Args:
        rows2d (Tensor): All maps as rows in shape (M * H, W).
        idx (Tensor): Map indices in shape (B, ).
        start (Tensor): First row per map in shape (B, ), at most
            ``H - count``.
        count (int): Number of rows.
        h (int): Map height H.

    Returns:
        Tensor: The rows in shape (B, count, W).
    """
    rows = (idx * h + start)[:, None] + torch.arange(count,
                                                     device=idx.device)
    return rows2d.index_select(0, rows.reshape(-1)).reshape(
        idx.shape[0], count, rows2d.shape[1])


def _window_kernels(size: int, var: Tensor) -> Tensor:
    """:func:`gaussian_oks_matrix` for windows, without its tiny entries.

    The kernel is evaluated once per distance and spread into the Toeplitz
    matrices. Entries below ``eps^2`` (``d^2 / (2 v) > -2 log(eps)``) are
    set to 0 instead of being computed: ``exp`` and matrix products are tens
    of times slower on CPU where values underflow or become denormal. The
    other entries are computed exactly as :func:`gaussian_oks_matrix` does
    (the same floating-point operations). The expected OKS changes by at
    most ``eps^2`` times the map's mass, far below rounding at any candidate
    maximum (at least the largest probability of the map).

    Args:
        size (int): Window side L.
        var (Tensor): Variances in shape (B, ).

    Returns:
        Tensor: Kernel matrices in shape (B, L, L).
    """
    idx = torch.arange(size, device=var.device)
    dist = idx.to(var.dtype)
    var = var.clamp_min(torch.finfo(var.dtype).tiny)[:, None]
    expo = dist**2 / (2 * var)  # (B, L): the kernel at distances 0..L-1
    cut = -2 * math.log(torch.finfo(var.dtype).eps)
    profile = torch.exp(-expo.clamp_max(cut)).masked_fill(expo > cut, 0.)
    # Toeplitz: entry (i, j) is the profile at |i - j|
    at = (idx[:, None] - idx[None, :]).abs().reshape(-1)
    return profile.index_select(1, at).reshape(-1, size, size)


def _decode_windows(slab: Tensor, var: Tensor, sy: Tensor, sx: Tensor,
                    win_w: int, tie_rtol: float) -> Tuple[Tensor, Tensor]:
    """Expected-OKS decoding of maps on windows.

    The window of each map holds the rows of ``slab`` and the ``win_w``
    columns from ``sx``; it must contain the map's whole support and its
    arg-max (see :func:`decode_expected_oks`), so the expected OKS on it is
    exact. The kernel only depends on pixel differences, so the kernel
    matrices of a window are those of a map of the window's size, wherever
    the window is.

    Note:
        - map number: B
        - heatmap width: W
        - window height and width: Hb, Wb

    Args:
        slab (Tensor): Rows ``sy..sy+Hb-1`` of each map in shape (B, Hb, W).
        var (Tensor): OKS variances in shape (B, ).
        sy (Tensor): First row of each window in the map in shape (B, ).
        sx (Tensor): First column of each window, at most ``W - win_w``, in
            shape (B, ).
        win_w (int): Window width Wb.
        tie_rtol (float): Tie tolerance of the whole map
            (:func:`tie_tolerance`).

    Returns:
        tuple:
        - keypoints (Tensor): Refined locations ``(x, y)`` in map pixels in
          shape (B, 2).
        - scores (Tensor): Expected OKS at the integer arg-max in shape
          (B, ).
    """
    b, win_h, w = slab.shape
    if win_w < w:
        cols = sx[:, None, None] + torch.arange(win_w, device=sx.device)
        windows = slab.gather(2, cols.expand(b, win_h, win_w))
    else:
        windows = slab
    gy = _window_kernels(win_h, var)  # (B, Hb, Hb)
    # (B, Wb, Wb), symmetric
    gx = gy if win_w == win_h else _window_kernels(win_w, var)
    eoks = torch.matmul(torch.matmul(gy, windows), gx).reshape(
        b, win_h * win_w)
    # argmax_newton_refine with both axes at once (the same arithmetic)
    j, scores = first_near_max(eoks, tie_rtol)
    ys = torch.div(j, win_w, rounding_mode='floor')
    pos = torch.stack([j - ys * win_w, ys], dim=-1)  # (B, 2): x, y
    valid = (pos > 0) & (pos < torch.tensor([win_w - 1, win_h - 1],
                                            device=j.device))
    strides = torch.tensor([1, win_w, -1, -win_w], device=j.device)
    # values at x - 1, y - 1, x + 1, y + 1 (clamped where not valid)
    near = eoks.gather(1, (j[:, None] - strides).clamp(0, win_h * win_w - 1))
    step = newton_step_1d(near[:, :2], scores[:, None], near[:, 2:], valid)
    offset = torch.stack([sx, sy], dim=-1)
    return (pos + offset).to(eoks.dtype) + step, scores


@full_precision
def decode_expected_oks(prob: Tensor,
                        variance: ArrayLike) -> Tuple[Tensor, Tensor]:
    """Expected-OKS decoding of probability maps.

    Predicts, per instance and keypoint, the location maximising the expected
    OKS (:func:`expected_oks_map`), i.e. the Bayes decision for the OKS
    metric, refined to sub-pixel precision by one Newton step per axis
    (:func:`argmax_newton_refine`). A narrow kernel (small variance, e.g.
    face keypoints) favours the highest probability peak, a wide kernel
    (body keypoints) the mode with the largest mass around it.

    The result is that of ``argmax_newton_refine(expected_oks_map(prob,
    variance))`` (the dense computation), but the expected OKS is evaluated
    only near the support of each map; sparsemax maps are exactly zero
    elsewhere.

    **Claim.** Let ``P >= 0`` have a non-empty support ``S`` with bounding box
    ``[xa, xb] x [ya, yb]`` and let ``v > 0``. Every maximiser over the grid
    of ``E(x, y) = sum_{(x', y') in S} P(x', y') g(x - x') g(y - y')``, with
    ``g(d) = exp(-d^2 / (2 v))``, lies in the bounding box.

    *Proof.* Let ``x < xa``. For every ``x'`` of the support,
    ``|x + 1 - x'| < |x - x'|`` (both points are left of ``x'``), so
    ``g(x + 1 - x') > g(x - x')``; all weights ``P(x', y') g(y - y')`` are
    positive, hence ``E(x + 1, y) > E(x, y)``. Moving right one pixel at a
    time, ``E(x, y) < E(xa, y)``. The same holds right of ``xb`` and, in
    ``y``, above ``ya`` and below ``yb``; the axes are independent (a move
    in ``x`` leaves the ``y`` factors unchanged). So every grid point
    outside the box is strictly beaten by its projection onto the box. For
    ``v = 0`` the kernel is the identity, ``E = P``, and the claim is
    immediate. QED.

    **Ties.** Which of two pixels with equal expected OKS in exact
    arithmetic comes out larger depends on the order of the floating-point
    sums, which differs between CPUs, devices and between a window and the
    whole map. The decoder therefore defines the rule: the integer arg-max
    is the first pixel in row-major order (smallest ``y``, then smallest
    ``x``) of the whole map among those within ``tie_tolerance(dtype, H,
    W) = 4 (H + W) eps`` (relative) of the maximum (:func:`first_near_max`),
    on every path. The tolerance is above the rounding error of the sums,
    so exact ties resolve the same way everywhere.

    Hence each map's arg-max is found on a window containing its support
    box grown by one pixel (clamped to the map), which also holds the
    neighbours of the Newton step. The proof's bound is quantitative: a
    pixel outside the box has ``E <= exp(-1 / (2 v)) max E`` (each support
    term shrinks by at least that factor from the pixel's projection onto
    the box), far below the tie tolerance for ``v <= 1 / (32 (H + W)
    eps)``, so no pixel outside the support box comes within the tolerance
    of the maximum: the chosen pixel is inside the box, not on the window's
    border (except on the map's border), and the step is the same. The
    window is a rectangle of the map, so row-major order within it is that
    of the map. On a window containing the support the expected OKS is
    exact, not truncated (all probability mass is inside), and the kernel
    matrices only depend on the window size and the variance. Finding the
    boxes costs two passes over the maps (row sums, and the minimum to
    check the input) plus the column sums of the rows holding support. The
    maps are grouped by the longer side of their grown box (up to 8, 16,
    32, ... pixels; windows are at least 8 x 8); each group is processed at
    once, with batched matrix products, on a common window, the size of
    the group's largest box. No Python loop runs over maps or keypoints,
    only over the few groups. Kernel entries below ``eps^2`` are dropped
    (they would underflow, which is slow on CPU); this changes the expected
    OKS by at most ``eps^2`` times the map's mass.

    The whole map is the window (the dense computation) for groups whose
    window would cover more than half of the map and for maps whose kernel
    is wider than ``v = 1 / (32 (H + W) eps)`` (e.g. 2.3e3 px^2 in float32
    for a 64 x 48 map; about 50 times the nominal hip kernel). If a map
    holds a negative or non-finite value (the claim does not apply), the
    whole batch takes the dense computation as is. An all-zero map decodes
    to ``(0, 0)`` with score 0, as in the dense computation. Results equal
    the dense computation's: the integer arg-max exactly (but for values
    within rounding of the tolerance boundary), refined locations and
    scores to rounding. (Scores carry gradients to the pixels of the
    windows only, not to the zero-probability pixels outside.)

    Note:
        - instance number: N
        - keypoint number: K
        - heatmap height: H
        - heatmap width: W

    Args:
        prob (Tensor): Probability maps in shape (N, K, H, W), each map
            non-negative and summing to 1. Integer maps are decoded in the
            default dtype, float16 / bfloat16 maps in float32 (also under
            ``torch.autocast``), whose dtype the results then have.
        variance (Tensor | np.ndarray | Sequence[float] | float): OKS
            variances in heatmap pixels^2, broadcastable to (N, K), e.g. from
            :func:`oks_variance_nominal` (K, ) or
            :func:`oks_variance_instance` (N, K).

    Returns:
        tuple:
        - keypoints (Tensor): Locations ``(x, y)`` in heatmap pixel
          coordinates (pixel centres at integers) in shape (N, K, 2). Ties
          of the integer arg-max (within the tie tolerance) go to the first
          index in row-major order.
        - scores (Tensor): The expected OKS at the integer arg-max (within
          the tie tolerance of the maximum) in shape (N, K), clamped to
          [0, 1] against rounding.
    """
    prob = _check_prob(prob)
    n, k, h, w = prob.shape
    var = _check_variance(variance, n, k, prob.dtype, prob.device)
    num = n * k
    if num == 0 or h * w == 0:
        return _decode_full(prob, var)
    maps = prob.contiguous().reshape(num, h, w)
    row_mass = maps.sum(dim=-1)  # (M, H)
    mass = row_mass.sum(dim=-1)  # (M, )
    # NaN or inf anywhere make the total NaN or inf
    if not bool((mass.sum() < math.inf) & (maps.amin() >= 0)):
        return _decode_full(prob, var)
    empty = mass == 0
    var_m = torch.broadcast_to(var, (n, k)).reshape(num)
    tie_rtol = tie_tolerance(prob.dtype, h, w)
    narrow = var_m <= 1 / (32 * (h + w) * torch.finfo(prob.dtype).eps)
    rows2d = maps.reshape(num * h, w)
    everyone = torch.arange(num, device=prob.device)

    # support boxes, grown by one pixel; a sum of non-negative numbers is > 0
    # iff one of them is. Windows are at least 8 x 8: smaller batched matrix
    # products take a slower path in PyTorch on CPU
    y0, hb = _grow(*_extent(row_mass > 0, empty), h)
    min_h, min_w = min(_WINDOW_SIDE, h), min(_WINDOW_SIDE, w)
    slab_h = max(int(hb.max()), min_h)
    sy = y0.clamp_max(h - slab_h)
    if slab_h <= max(min_h, h // 4):
        # only these rows can hold support: their column sums suffice
        slab = _rows(rows2d, everyone, sy, slab_h, h)
        col_mass = slab.sum(dim=-2)
    else:
        col_mass = maps.sum(dim=-2)
    x0, wb = _grow(*_extent(col_mass > 0, empty), w)
    max_w = int(wb.max())
    if slab_h == min_h and max_w <= min_w and bool(narrow.all()):
        # the common case: every box fits in the smallest window
        keypoints, scores = _decode_windows(slab, var_m, sy,
                                            x0.clamp_max(w - min_w), min_w,
                                            tie_rtol)
        return (keypoints.reshape(n, k, 2),
                scores.reshape(n, k).clamp(0.0, 1.0))

    # groups by the longer side of the box; the last group is dense: its
    # window is the whole map
    zeros = torch.zeros_like(y0)
    bounds = [_WINDOW_SIDE]
    while bounds[-1] < max(h, w):
        bounds.append(2 * bounds[-1])
    dense = len(bounds)
    group = torch.bucketize(torch.maximum(hb, wb),
                            torch.tensor(bounds, device=prob.device))
    group = group.masked_fill(~narrow, dense)
    win_h = torch.full((dense + 1, ), min_h, dtype=torch.long,
                       device=prob.device).scatter_reduce(
                           0, group, hb, 'amax')
    win_w = torch.full_like(win_h, min_w).scatter_reduce(0, group, wb, 'amax')
    counts = torch.bincount(group, minlength=dense + 1).tolist()
    win_h, win_w = win_h.tolist(), win_w.tolist()
    for g in range(dense):
        if counts[g] and win_h[g] * win_w[g] > _DENSE_FRACTION * h * w:
            group = group.masked_fill(group == g, dense)
            counts[dense] += counts[g]
            counts[g] = 0
    if counts[dense] == num:  # the whole map is the window of every map
        keypoints, scores = _decode_windows(maps, var_m, zeros, zeros, w,
                                            tie_rtol)
        return (keypoints.reshape(n, k, 2),
                scores.reshape(n, k).clamp(0.0, 1.0))

    keypoints = prob.new_empty(num, 2)
    scores = prob.new_empty(num)
    order = torch.argsort(group, stable=True)
    for g, idx in enumerate(torch.split(order, counts)):
        if not counts[g]:
            continue
        if g == dense:
            kp, sc = _decode_windows(maps[idx], var_m[idx], zeros[idx],
                                     zeros[idx], w, tie_rtol)
        else:
            sy_g = y0[idx].clamp_max(h - win_h[g])
            kp, sc = _decode_windows(
                _rows(rows2d, idx, sy_g, win_h[g], h), var_m[idx], sy_g,
                x0[idx].clamp_max(w - win_w[g]), win_w[g], tie_rtol)
        keypoints[idx] = kp
        scores[idx] = sc
    return keypoints.reshape(n, k, 2), scores.reshape(n, k).clamp(0.0, 1.0)


def _decode_full(prob: Tensor, var: Tensor) -> Tuple[Tensor, Tensor]:
    """Dense expected-OKS decoding: the full map, its arg-max and Newton
    step (the reference that :func:`decode_expected_oks` equals).

    Args:
        prob (Tensor): Probability maps in shape (N, K, H, W), floating.
        var (Tensor): OKS variances broadcastable to (N, K).

    Returns:
        tuple: Keypoints (N, K, 2) and scores (N, K), clamped to [0, 1].
    """
    keypoints, scores = argmax_newton_refine(expected_oks_map(prob, var))
    return keypoints, scores.clamp(0.0, 1.0)


def oks(pred: Tensor, gt: Tensor, area: ArrayLike,
        sigmas: ArrayLike) -> Tensor:
    """Per-keypoint Object Keypoint Similarity.

    ``oks[n, k] = exp(-d^2 / (2 area[n] (2 sigmas[k])^2))`` with ``d`` the
    Euclidean distance between ``pred[n, k]`` and ``gt[n, k]``. Any unit works
    as long as coordinates and ``sqrt(area)`` share it. Keypoint visibility
    is not taken into account. A zero area gives 1 for ``d = 0`` and 0
    otherwise.

    Note:
        - instance number: N
        - keypoint number: K

    Args:
        pred (Tensor): Predicted keypoints in shape (N, K, D), usually D = 2.
        gt (Tensor): Ground-truth keypoints in shape (N, K, D).
        area (Tensor | np.ndarray | Sequence[float]): Object areas in shape
            (N, ).
        sigmas (Tensor | np.ndarray | Sequence[float]): Per-keypoint OKS
            sigmas in shape (K, ).

    Returns:
        Tensor: The OKS values in [0, 1] in shape (N, K).
    """
    pred = _float_tensor(pred)
    gt = _float_tensor(gt, pred.dtype, pred.device)
    area_t = _float_tensor(area, pred.dtype, pred.device)
    sigmas_t = _float_tensor(sigmas, pred.dtype, pred.device)
    sq_dist = ((pred - gt)**2).sum(dim=-1)  # (N, K)
    var = area_t[..., None] * (2 * sigmas_t)**2  # (N, K)
    var = var.clamp_min(torch.finfo(var.dtype).tiny)
    return torch.exp(-sq_dist / (2 * var))
