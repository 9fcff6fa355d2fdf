"""Crop-to-image mapping of keypoint predictions, and covariance ellipses.

A top-down model predicts in the coordinates of its input crop (or of its
heatmap). Without rotation, going back to image pixels is a per-axis affine
map ``x_img = x * f_x + o_x``, ``y_img = y * f_y + o_y`` with one factor
``f = (f_x, f_y)`` and offset ``o = (o_x, o_y)`` per instance. This module
builds those maps with MMPose's conventions and applies them to every kind of
spatial prediction so that all of them stay consistent with the keypoints:

========================  ==================  ==============================
quantity                  shape               mapped as
========================  ==================  ==============================
points                    (N, K, 2)           ``p * f + o``
boxes ``[x0, y0, x1, y1]`` (N, K, 4)           both corners, re-sorted if a
                                              factor is negative (a flip)
areas                     (N, K)              ``a * |f_x f_y|``
covariances               (N, K, 2, 2)        ``D C D``, ``D = diag(f)``
full covariances          (N, 2K, 2K)         ``D C D``, ``D = diag(f_x,
                                              f_y, f_x, f_y, ...)``
========================  ==================  ==============================

Full covariances order the 2K coordinates as ``(x_0, y_0, x_1, y_1, ...)``
(the row-major flattening of (K, 2) keypoints). The offset does not enter
areas and covariances; a negative factor (horizontal flip) flips the sign
of the x-y covariances, as it should.

:func:`covariance_ellipse` turns a 2x2 covariance into the ellipse
``{x : (x - mu)^T C^-1 (x - mu) <= r^2}``: semi-axes ``r sqrt(lambda)``
along the eigenvectors, with ``r = n_sigma`` or, for a probability-mass
level ``p`` of a 2-D Gaussian (chi-square with 2 degrees of freedom),
``r^2 = -2 ln(1 - p)``.

The mapping functions accept NumPy arrays or torch tensors (the result has
the input's type, floating dtype and device); the affine builders return
float64 NumPy arrays.

Note:
    - N: number of instances (factors/offsets of shape (1, 2) broadcast)
    - K: number of keypoints
"""
import math
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

Array = Union[np.ndarray, Tensor]
ArrayLike = Union[np.ndarray, Tensor, Sequence[float],
                  Sequence[Sequence[float]]]


# ----------------------------------------------------------------- helpers
def _pairs(value: ArrayLike, name: str) -> np.ndarray:
    """``value`` as a float64 (N, 2) array (a single pair gives N = 1)."""
    if isinstance(value, Tensor):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0 or arr.shape[-1] != 2:
        raise ValueError(f'{name} must have shape (2,) or (N, 2), got '
                         f'{arr.shape}')
    return arr.reshape(-1, 2)


def _size(value: Sequence[float], name: str, minimum: float) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64).reshape(-1)
    if arr.shape != (2, ) or not (arr >= minimum).all():
        raise ValueError(f'{name} must be (w, h) with both >= {minimum:g}, '
                         f'got {tuple(np.asarray(value).reshape(-1))}')
    return arr


def _floating(x: ArrayLike) -> Array:
    """``x`` as a floating array/tensor (integers become float64)."""
    if isinstance(x, Tensor):
        return x if x.is_floating_point() else x.to(torch.float64)
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


def _like(value: np.ndarray, x: Array) -> Array:
    """``value`` as the array type, dtype and device of ``x``."""
    if isinstance(x, Tensor):
        return torch.as_tensor(value, dtype=x.dtype, device=x.device)
    return value.astype(x.dtype, copy=False)


def _check_affine(factor: np.ndarray, offset: Optional[np.ndarray],
                  n: int) -> None:
    for name, arr in (('factor', factor), ('offset', offset)):
        if arr is not None and arr.shape[0] not in (1, n):
            raise ValueError(f'{name} must have shape (1, 2) or ({n}, 2) for '
                             f'{n} instances, got {arr.shape}')


# --------------------------------------------------------- affine builders
def crop_to_image_affine(center: ArrayLike, scale: ArrayLike,
                         input_size: Sequence[float]
                         ) -> Tuple[np.ndarray, np.ndarray]:
    """Per-axis affine map from model-input pixels to image pixels.

    MMPose's ``TopdownPoseEstimator.add_pred_to_datasample`` maps decoded
    keypoints from the input crop of size ``input_size = (w, h)`` (the box
    of size ``scale = (s_w, s_h)`` centred at ``center = (c_x, c_y)``) with

        x_img = x_in / w * s_w + c_x - s_w / 2

    (same for ``y``), i.e. ``factor = s / (w, h)`` and ``offset = c - s / 2``.
    Use this map for every spatial prediction in input pixels so that it
    stays consistent with MMPose's keypoints.

    Note:
        - N: number of instances

    Args:
        center (ArrayLike): Crop centres ``(c_x, c_y)`` in image pixels, in
            shape (2,) or (N, 2) (``input_center`` of the data sample).
        scale (ArrayLike): Crop sizes ``(s_w, s_h)`` in image pixels, in
            shape (2,) or (N, 2) (``input_scale``).
        input_size (Sequence[float]): Model input size ``(w, h)``.

    Returns:
        tuple:
        - factor (np.ndarray): Image pixels per input pixel, (N, 2) float64.
        - offset (np.ndarray): Image position of input pixel ``(0, 0)``,
          (N, 2) float64.
    """
    center_a = _pairs(center, 'center')
    scale_a = _pairs(scale, 'scale')
    size = _size(input_size, 'input_size', 1)
    center_a, scale_a = np.broadcast_arrays(center_a, scale_a)
    return scale_a / size, center_a - 0.5 * scale_a


def heatmap_to_image_affine(center: ArrayLike,
                            scale: ArrayLike,
                            heatmap_size: Sequence[float],
                            input_size: Optional[Sequence[float]] = None
                            ) -> Tuple[np.ndarray, np.ndarray]:
    """Per-axis affine map from heatmap pixels to image pixels (UDP).

    With the UDP convention (``TopdownAffine(use_udp=True)`` and the
    ``ProbMap`` codec) heatmap pixel centres ``0`` and ``W - 1`` map to the
    crop edges ``c_x - s_w / 2`` and ``c_x + s_w / 2``: the exact inverse of
    the UDP warp is ``x_img = x_hm * s_w / (W - 1) + c_x - s_w / 2``,
    independent of the input size.

    MMPose's estimator instead maps the codec's ``x_in = x_hm * (w - 1) /
    (W - 1)`` with :func:`crop_to_image_affine`, which shrinks the crop by
    ``(w - 1) / w``; pass ``input_size = (w, h)`` to compose exactly that
    (consistent with MMPose's predicted keypoints).

    Note:
        - N: number of instances

    Args:
        center (ArrayLike): Crop centres in image pixels, (2,) or (N, 2).
        scale (ArrayLike): Crop sizes ``(s_w, s_h)``, (2,) or (N, 2).
        heatmap_size (Sequence[float]): Heatmap size ``(W, H)``, both >= 2.
        input_size (Sequence[float], optional): Model input size ``(w, h)``,
            both >= 2, for MMPose's estimator convention. Defaults to None
            (exact UDP inverse).

    Returns:
        tuple: ``factor`` and ``offset``, (N, 2) float64 each.
    """
    heatmap = _size(heatmap_size, 'heatmap_size', 2)
    scale_a = _pairs(scale, 'scale')
    center_a = _pairs(center, 'center')
    if input_size is None:
        center_a, scale_a = np.broadcast_arrays(center_a, scale_a)
        return scale_a / (heatmap - 1.0), center_a - 0.5 * scale_a
    inp = _size(input_size, 'input_size', 2)
    factor, offset = crop_to_image_affine(center_a, scale_a, inp)
    return factor * (inp - 1.0) / (heatmap - 1.0), offset


# ----------------------------------------------------------------- mapping
def map_points(points: ArrayLike, factor: ArrayLike,
               offset: ArrayLike) -> Array:
    """Apply per-instance affine maps to points.

    Note:
        - N: number of instances
        - K: number of points per instance

    Args:
        points (ArrayLike): Points ``(x, y)`` in shape (N, K, 2).
        factor (ArrayLike): Per-axis factors ``(f_x, f_y)``, (1, 2) or (N, 2).
        offset (ArrayLike): Per-axis offsets ``(o_x, o_y)``, (1, 2) or (N, 2).

    Returns:
        np.ndarray | Tensor: ``points * f + o`` in shape (N, K, 2).
    """
    points = _floating(points)
    if points.ndim != 3 or points.shape[-1] != 2:
        raise ValueError(f'points must have shape (N, K, 2), got '
                         f'{tuple(points.shape)}')
    f, o = _pairs(factor, 'factor'), _pairs(offset, 'offset')
    _check_affine(f, o, points.shape[0])
    return points * _like(f[:, None], points) + _like(o[:, None], points)


def map_boxes(boxes: ArrayLike, factor: ArrayLike, offset: ArrayLike) -> Array:
    """Apply per-instance affine maps to axis-aligned boxes.

    Both corners are mapped; with a negative factor (a flip) the corners are
    re-sorted so that ``x0 <= x1`` and ``y0 <= y1`` still hold. NaN boxes
    stay NaN.

    Note:
        - N: number of instances
        - K: number of boxes per instance (e.g. keypoints)

    Args:
        boxes (ArrayLike): Boxes ``[x0, y0, x1, y1]`` in shape (N, K, 4).
        factor (ArrayLike): Per-axis factors, (1, 2) or (N, 2).
        offset (ArrayLike): Per-axis offsets, (1, 2) or (N, 2).

    Returns:
        np.ndarray | Tensor: Mapped boxes in shape (N, K, 4).
    """
    boxes = _floating(boxes)
    if boxes.ndim != 3 or boxes.shape[-1] != 4:
        raise ValueError(f'boxes must have shape (N, K, 4), got '
                         f'{tuple(boxes.shape)}')
    n, k = boxes.shape[:2]
    corners = map_points(boxes.reshape(n, 2 * k, 2), factor, offset)
    corners = corners.reshape(n, k, 2, 2)
    lo, hi = corners[..., 0, :], corners[..., 1, :]
    if isinstance(corners, Tensor):
        return torch.cat([torch.minimum(lo, hi), torch.maximum(lo, hi)], -1)
    return np.concatenate([np.minimum(lo, hi), np.maximum(lo, hi)], -1)


def map_areas(areas: ArrayLike, factor: ArrayLike) -> Array:
    """Scale areas by the Jacobian ``|f_x f_y|`` of per-instance maps.

    Note:
        - N: number of instances
        - K: number of areas per instance

    Args:
        areas (ArrayLike): Areas in shape (N, K) (squared source pixels).
        factor (ArrayLike): Per-axis factors, (1, 2) or (N, 2).

    Returns:
        np.ndarray | Tensor: Areas in squared target pixels, (N, K).
    """
    areas = _floating(areas)
    if areas.ndim != 2:
        raise ValueError(f'areas must have shape (N, K), got '
                         f'{tuple(areas.shape)}')
    f = _pairs(factor, 'factor')
    _check_affine(f, None, areas.shape[0])
    return areas * _like(np.abs(f[:, :1] * f[:, 1:]), areas)


def map_covariances(cov: ArrayLike, factor: ArrayLike) -> Array:
    """Transform per-keypoint 2x2 covariances: ``D C D``, ``D = diag(f)``.

    Note:
        - N: number of instances
        - K: number of keypoints

    Args:
        cov (ArrayLike): Covariances in shape (N, K, 2, 2) (source pixels^2).
        factor (ArrayLike): Per-axis factors, (1, 2) or (N, 2).

    Returns:
        np.ndarray | Tensor: Covariances in target pixels^2, (N, K, 2, 2).
    """
    cov = _floating(cov)
    if cov.ndim != 4 or tuple(cov.shape[-2:]) != (2, 2):
        raise ValueError(f'cov must have shape (N, K, 2, 2), got '
                         f'{tuple(cov.shape)}')
    f = _pairs(factor, 'factor')
    _check_affine(f, None, cov.shape[0])
    d = _like(f[:, None], cov)  # (N, 1, 2)
    return cov * d[..., :, None] * d[..., None, :]


def map_full_covariances(cov: ArrayLike, factor: ArrayLike) -> Array:
    """Transform joint covariances of all 2K coordinates: ``D C D`` with
    ``D = diag(f_x, f_y, f_x, f_y, ...)`` (coordinates ordered
    ``(x_0, y_0, x_1, y_1, ...)``).

    Note:
        - N: number of instances
        - K: number of keypoints

    Args:
        cov (ArrayLike): Covariances in shape (N, 2K, 2K).
        factor (ArrayLike): Per-axis factors, (1, 2) or (N, 2).

    Returns:
        np.ndarray | Tensor: Covariances in target pixels^2, (N, 2K, 2K).
    """
    cov = _floating(cov)
    if cov.ndim != 3 or cov.shape[1] != cov.shape[2] or cov.shape[1] % 2:
        raise ValueError(f'cov must have shape (N, 2K, 2K), got '
                         f'{tuple(cov.shape)}')
    f = _pairs(factor, 'factor')
    _check_affine(f, None, cov.shape[0])
    d = _like(np.tile(f, (1, cov.shape[1] // 2)), cov)  # (N, 2K)
    return cov * d[:, :, None] * d[:, None, :]


def select_full_covariance(cov: ArrayLike, indices: Sequence[int]) -> Array:
    """Keep the rows/columns of the selected keypoints of (N, 2K, 2K)
    covariances (coordinates ``2 i`` and ``2 i + 1`` of keypoint ``i``).

    Note:
        - N: number of instances
        - K: number of keypoints; K' the number kept

    Args:
        cov (ArrayLike): Covariances in shape (N, 2K, 2K).
        indices (Sequence[int]): Keypoint indices to keep, in output order.

    Returns:
        np.ndarray | Tensor: Covariances in shape (N, 2K', 2K').
    """
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    coords = np.stack([2 * idx, 2 * idx + 1], -1).reshape(-1)
    if isinstance(cov, Tensor):
        coords_t = torch.as_tensor(coords, device=cov.device)
        return cov[:, coords_t][:, :, coords_t]
    cov = np.asarray(cov)
    return cov[:, coords][:, :, coords]


def covariance_blocks(cov: ArrayLike) -> Array:
    """Per-keypoint 2x2 blocks on the diagonal of (N, 2K, 2K) covariances
    (the marginal covariance of each keypoint).

    Note:
        - N: number of instances
        - K: number of keypoints

    Args:
        cov (ArrayLike): Covariances in shape (N, 2K, 2K), coordinates
            ordered ``(x_0, y_0, x_1, y_1, ...)``.

    Returns:
        np.ndarray | Tensor: Blocks in shape (N, K, 2, 2).
    """
    if not isinstance(cov, Tensor):
        cov = np.asarray(cov)
    if cov.ndim != 3 or cov.shape[1] != cov.shape[2] or cov.shape[1] % 2:
        raise ValueError(f'cov must have shape (N, 2K, 2K), got '
                         f'{tuple(cov.shape)}')
    n, k = cov.shape[0], cov.shape[1] // 2
    blocks = cov.reshape(n, k, 2, k, 2)
    idx = np.arange(k)
    if isinstance(cov, Tensor):
        idx = torch.as_tensor(idx, device=cov.device)
    return blocks[:, idx, :, idx, :].swapaxes(0, 1)  # (K, N, 2, 2) first


# ---------------------------------------------------------------- ellipses
def ellipse_radius(level: Optional[float] = None,
                   n_sigma: Optional[float] = None) -> float:
    """Mahalanobis radius ``r`` of a 2-D Gaussian's ellipse.

    Give exactly one of ``level`` (the probability mass inside: ``r^2 =
    -2 ln(1 - p)``, the chi-square quantile with 2 degrees of freedom) or
    ``n_sigma`` (``r = n``; mass ``1 - exp(-n^2 / 2)``).

    Args:
        level (float, optional): Probability mass in (0, 1).
        n_sigma (float, optional): Radius in standard deviations, > 0.

    Returns:
        float: The radius ``r``.
    """
    if (level is None) == (n_sigma is None):
        raise ValueError('give exactly one of level and n_sigma, got '
                         f'level={level}, n_sigma={n_sigma}')
    if level is not None:
        level = float(level)
        if not 0.0 < level < 1.0:
            raise ValueError(f'level must be in (0, 1), got {level}')
        return math.sqrt(-2.0 * math.log1p(-level))
    n_sigma = float(n_sigma)
    if not n_sigma > 0:
        raise ValueError(f'n_sigma must be > 0, got {n_sigma}')
    return n_sigma


def covariance_ellipse(cov: ArrayLike,
                       level: Optional[float] = None,
                       n_sigma: Optional[float] = None
                       ) -> Tuple[np.ndarray, np.ndarray]:
    """Semi-axes and orientation of covariance ellipses.

    For ``C = [[a, b], [b, c]]`` the eigenvalues are ``(a + c) / 2 +- sqrt(
    ((a - c) / 2)^2 + b^2)`` and the major axis makes the angle ``theta =
    atan2(2 b, a - c) / 2`` with the +x axis (towards +y; clockwise on screen
    in image coordinates). The ellipse ``(x - mu)^T C^-1 (x - mu) <= r^2``
    has semi-axes ``r sqrt(lambda_1) >= r sqrt(lambda_2)`` (radius ``r`` from
    :func:`ellipse_radius`). Non-finite covariances give NaN ellipses.

    Note:
        - ``...``: any leading shape, e.g. (N, K)

    Args:
        cov (ArrayLike): Symmetric positive semi-definite covariances in
            shape (..., 2, 2).
        level (float, optional): Probability mass inside the ellipse.
        n_sigma (float, optional): Radius in standard deviations.

    Returns:
        tuple:
        - semi_axes (np.ndarray): ``(major, minor)`` in shape (..., 2),
          float64, in the units of ``cov``'s square root.
        - angle (np.ndarray): Angle of the major axis in radians, in
          ``(-pi/2, pi/2]``, shape (...).
    """
    r = ellipse_radius(level, n_sigma)
    if isinstance(cov, Tensor):
        cov = cov.detach().cpu().numpy()
    cov = np.asarray(cov, dtype=np.float64)
    if cov.ndim < 2 or cov.shape[-2:] != (2, 2):
        raise ValueError(f'cov must have shape (..., 2, 2), got {cov.shape}')
    a, b, c = cov[..., 0, 0], cov[..., 0, 1], cov[..., 1, 1]
    finite = np.isfinite(cov).all(axis=(-2, -1))
    scale = np.maximum(np.abs(a) + np.abs(c), np.finfo(np.float64).tiny)
    tol = 1e-9 * scale
    bad = finite & ((np.abs(b - cov[..., 1, 0]) > tol) |
                    (a < -tol) | (c < -tol) | (a * c - b * b < -tol * scale))
    if bad.any():
        raise ValueError('cov must be symmetric positive semi-definite; '
                         f'{int(bad.sum())} of {bad.size} matrices are not')
    mean = 0.5 * (a + c)
    half = np.hypot(0.5 * (a - c), b)
    lam = np.stack([mean + half, np.maximum(mean - half, 0.0)], -1)
    semi_axes = r * np.sqrt(lam)
    angle = 0.5 * np.arctan2(2.0 * b, a - c)
    angle = np.where(angle <= -0.5 * np.pi, angle + np.pi, angle)
    return semi_axes, angle


def ellipse_polygon(center: ArrayLike,
                    semi_axes: ArrayLike,
                    angle: ArrayLike,
                    num_points: int = 64) -> np.ndarray:
    """Points on ellipses, for drawing.

    Point ``j`` is ``center + R(angle) [A cos t_j, B sin t_j]`` with
    ``t_j = 2 pi j / num_points`` and ``(A, B)`` the semi-axes.

    Note:
        - ``...``: any leading shape, e.g. (N, K)

    Args:
        center (ArrayLike): Centres in shape (..., 2).
        semi_axes (ArrayLike): Semi-axes ``(A, B)`` in shape (..., 2).
        angle (ArrayLike): Angle of the ``A`` axis from +x, radians, (...).
        num_points (int): Number of points per ellipse, >= 3.

    Returns:
        np.ndarray: Points in shape (..., num_points, 2), float64.
    """
    if num_points < 3:
        raise ValueError(f'num_points must be >= 3, got {num_points}')
    center = np.asarray(center, dtype=np.float64)
    semi_axes = np.asarray(semi_axes, dtype=np.float64)
    angle = np.asarray(angle, dtype=np.float64)
    t = 2.0 * np.pi * np.arange(num_points) / num_points
    u = semi_axes[..., None, 0] * np.cos(t)  # (..., P)
    v = semi_axes[..., None, 1] * np.sin(t)
    cos, sin = np.cos(angle)[..., None], np.sin(angle)[..., None]
    return np.stack([center[..., None, 0] + cos * u - sin * v,
                     center[..., None, 1] + sin * u + cos * v], -1)
