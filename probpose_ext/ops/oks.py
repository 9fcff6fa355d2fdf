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
refines it by one Newton step per axis.

All functions are pure PyTorch, vectorised over instances and keypoints, and
run on any device in float32 or float64.
"""
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

ArrayLike = Union[Tensor, np.ndarray, Sequence[float], float]

#: Ratio of the keypoint-annotated object area to its bounding-box area that
#: is assumed for a nominal instance (``area = 0.53 * bbox_w * bbox_h``).
NOMINAL_AREA_RATIO = 0.53


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
        Tensor: The expected OKS maps in shape (N, K, H, W).
    """
    if prob.dim() != 4:
        raise ValueError(
            f'prob must have shape (N, K, H, W), got {tuple(prob.shape)}')
    if not prob.is_floating_point():
        prob = prob.to(torch.get_default_dtype())
    n, k, h, w = prob.shape
    var = _float_tensor(variance, prob.dtype, prob.device)
    if var.dim() > 2:
        raise ValueError('variance must be broadcastable to (N, K) = '
                         f'{(n, k)}, got {tuple(var.shape)}')
    try:
        torch.broadcast_shapes(var.shape, (n, k))
    except RuntimeError:
        raise ValueError('variance must be broadcastable to (N, K) = '
                         f'{(n, k)}, got {tuple(var.shape)}') from None
    # kernels keep the (un-expanded) shape of the variance, matmul broadcasts
    gy = gaussian_oks_matrix(h, var)  # (..., H, H)
    gx = gaussian_oks_matrix(w, var)  # (..., W, W), symmetric
    return torch.matmul(torch.matmul(gy, prob), gx)


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


def argmax_newton_refine(score_map: Tensor) -> Tuple[Tensor, Tensor]:
    """Arg-max of score maps refined by one Newton step per axis.

    The integer arg-max ``(x, y)`` of each map is taken first; ties are
    broken by the first index in row-major order (smallest ``y``, then
    smallest ``x``). Then ``x`` and ``y`` are each moved by
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

    Returns:
        tuple:
        - keypoints (Tensor): Refined locations ``(x, y)`` in heatmap pixel
          coordinates in shape (N, K, 2), in the dtype of ``score_map``.
        - scores (Tensor): The map values at the integer arg-max in shape
          (N, K).
    """
    if score_map.dim() != 4:
        raise ValueError('score_map must have shape (N, K, H, W), got '
                         f'{tuple(score_map.shape)}')
    if not score_map.is_floating_point():
        score_map = score_map.to(torch.get_default_dtype())
    n, k, h, w = score_map.shape
    flat = score_map.reshape(n, k, h * w)
    # torch.max returns the first maximal index along the reduced dimension
    scores, idx = flat.max(dim=-1)  # (N, K)
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


def decode_expected_oks(prob: Tensor,
                        variance: ArrayLike) -> Tuple[Tensor, Tensor]:
    """Expected-OKS decoding of probability maps.

    Predicts, per instance and keypoint, the location maximising the expected
    OKS (:func:`expected_oks_map`), i.e. the Bayes decision for the OKS
    metric, refined to sub-pixel precision by one Newton step per axis
    (:func:`argmax_newton_refine`). A narrow kernel (small variance, e.g.
    face keypoints) favours the highest probability peak, a wide kernel
    (body keypoints) the mode with the largest mass around it.

    Note:
        - instance number: N
        - keypoint number: K
        - heatmap height: H
        - heatmap width: W

    Args:
        prob (Tensor): Probability maps in shape (N, K, H, W), each map
            non-negative and summing to 1.
        variance (Tensor | np.ndarray | Sequence[float] | float): OKS
            variances in heatmap pixels^2, broadcastable to (N, K), e.g. from
            :func:`oks_variance_nominal` (K, ) or
            :func:`oks_variance_instance` (N, K).

    Returns:
        tuple:
        - keypoints (Tensor): Locations ``(x, y)`` in heatmap pixel
          coordinates (pixel centres at integers) in shape (N, K, 2). Ties
          of the integer arg-max go to the first index in row-major order.
        - scores (Tensor): The maximum expected OKS (at the integer
          arg-max) in shape (N, K), clamped to [0, 1] against rounding.
    """
    eoks = expected_oks_map(prob, variance)
    keypoints, scores = argmax_newton_refine(eoks)
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
