"""Covariance algebra of 2-D keypoints: mapping to image pixels, flipping,
block extraction and selection, and the ellipses drawn for them.

Two layouts are used, as in the data samples' fields:

========================  ===================  ============================
layout                    shape                field
========================  ===================  ============================
per keypoint              (..., K, 2, 2)       ``keypoints_cov``
joint (all coordinates)   (..., 2K, 2K)        ``keypoints_cov_full``
========================  ===================  ============================

Joint covariances order the 2K coordinates as ``(x_0, y_0, x_1, y_1, ...)``
(the row-major flattening of (K, 2) keypoints), so the 2x2 block ``(i, j)``
(rows ``2i, 2i+1``, columns ``2j, 2j+1``) is the cross-covariance of
keypoints ``i`` and ``j`` and the diagonal blocks are the per-keypoint
covariances (:func:`covariance_blocks`).

Linear maps. If every keypoint is mapped by the same affine map ``x -> A x
+ b`` (crop to image, heatmap to image), covariances map by its linear part
only: ``C' = A C A^T`` per keypoint and ``C'_ij = A C_ij A^T`` for every
block of a joint covariance, i.e. ``C' = (I_K kron A) C (I_K kron A)^T``
(:func:`transform_covariances`, :func:`transform_full_covariances`). The
per-axis maps of :mod:`.crop_transform` have ``A = diag(f_x, f_y)``
(:func:`map_covariances`, :func:`map_full_covariances`, which take the
factors ``f`` directly and leave a NaN entry where it is).

Flips follow MMPose's ``flip_keypoints``: the flipped keypoint ``k`` is the
original keypoint ``flip_indices[k]`` with its x coordinate mirrored
(``'horizontal'``; y for ``'vertical'``). The flipped covariances are the
permuted ones with the sign of the mirrored coordinate's rows and columns
changed: ``C'_k = S C_{flip[k]} S``, ``S = diag(-1, 1)``
(:func:`flip_covariances`, :func:`flip_full_covariances`). Flipping twice
with involutive ``flip_indices`` (as every dataset's) gives back ``C``.

Ellipses: :func:`covariance_ellipse` turns a 2x2 covariance into the
ellipse ``{x : (x - mu)^T C^-1 (x - mu) <= r^2}``: semi-axes
``r sqrt(lambda)`` along the eigenvectors, with ``r = n_sigma`` or, for a
probability-mass level ``p`` of a 2-D Gaussian (chi-square with 2 degrees
of freedom), ``r^2 = -2 ln(1 - p)`` (:func:`ellipse_radius`).

Blocks: :func:`covariance_blocks` reads the per-keypoint blocks of joint
covariances, :func:`block_diagonal_covariance` builds joint covariances of
independent keypoints from them, :func:`marginal_mahalanobis_sq` measures
a residual under each block (ellipse coverage).

Every function accepts NumPy arrays or torch tensors and returns the
covariance's array type, floating dtype and device (the ellipse functions
return float64 NumPy arrays).

TIC-TAC's Gaussian maths on the joint layout (:func:`gaussian_nll`,
:func:`tac`, :func:`tic_covariance`, the baseline losses and
:func:`sample_poses`) lives in :mod:`.gaussian` and is re-exported here,
so ``probpose_ext.ops.covariance.gaussian_nll`` and ``...covariance.tac``
are the names to use (see ``docs/tictac.md``).

Note:
    - N: number of instances
    - K: number of keypoints
    - ``...``: any leading (batch) shape
"""
import math
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from ._arrays import (Array, ArrayLike, as_floating, as_pairs,
                      check_per_instance, like)
from .gaussian import (beta_nll, cholesky_factor_from_raw,  # noqa: F401
                       cov_from_cholesky_factor, diagonal_gaussian_nll,
                       faithful_loss, gaussian_nll, hessian_trace_term,
                       sample_poses, tac, tic_covariance)

__all__ = [
    'map_covariances', 'map_full_covariances', 'transform_covariances',
    'transform_full_covariances', 'flip_covariances',
    'flip_full_covariances', 'covariance_blocks', 'select_full_covariance',
    'block_diagonal_covariance', 'marginal_mahalanobis_sq', 'ellipse_radius', 'covariance_ellipse', 'ellipse_polygon',
    # re-exported from .gaussian
    'gaussian_nll', 'tac', 'tic_covariance', 'hessian_trace_term',
    'diagonal_gaussian_nll', 'beta_nll', 'faithful_loss',
    'cholesky_factor_from_raw', 'cov_from_cholesky_factor', 'sample_poses'
]

#: The coordinate whose sign a flip changes: x, y, or both.
_FLIP_SIGNS = {
    'horizontal': (-1.0, 1.0),
    'vertical': (1.0, -1.0),
    'diagonal': (-1.0, -1.0),
}


# ----------------------------------------------------------------- checks
def _check_full(cov: Array, name: str = 'cov', batch: str = '...') -> int:
    """Raise unless ``cov`` has shape (batch, 2K, 2K); return K."""
    shape = tuple(cov.shape)
    ndim_ok = len(shape) == 3 if batch == 'N' else len(shape) >= 2
    if not ndim_ok or shape[-1] != shape[-2] or shape[-1] % 2:
        raise ValueError(f'{name} must have shape ({batch}, 2K, 2K), got '
                         f'{shape}')
    return shape[-1] // 2


def _check_blocks(cov: Array, name: str = 'cov') -> int:
    """Raise unless ``cov`` has shape (..., K, 2, 2); return K."""
    shape = tuple(cov.shape)
    if len(shape) < 3 or shape[-2:] != (2, 2):
        raise ValueError(f'{name} must have shape (..., K, 2, 2), got '
                         f'{shape}')
    return shape[-3]


def _linear_part(linear: ArrayLike, cov: Array) -> Array:
    """The 2x2 linear part of ``linear`` ((..., 2, 2) or an affine
    (..., 2, 3)) in the array type, dtype and device of ``cov``."""
    a = like(linear, cov)
    if a.ndim < 2 or a.shape[-2] != 2 or a.shape[-1] not in (2, 3):
        raise ValueError('linear must have shape (..., 2, 2) (or an affine '
                         f'(..., 2, 3)), got {tuple(a.shape)}')
    return a[..., :2]


def _flip_signs(direction: str) -> Tuple[float, float]:
    if direction not in _FLIP_SIGNS:
        raise ValueError(f'direction must be one of {sorted(_FLIP_SIGNS)}, '
                         f'got {direction!r}')
    return _FLIP_SIGNS[direction]


def _flip_order(flip_indices: Sequence[int], k: int) -> np.ndarray:
    idx = np.asarray(flip_indices, dtype=np.int64).reshape(-1)
    if idx.shape != (k, ) or not np.array_equal(np.sort(idx), np.arange(k)):
        raise ValueError(f'flip_indices must be a permutation of the {k} '
                         f'keypoints, got {list(np.asarray(flip_indices))}')
    return idx


def _index(idx: np.ndarray, x: Array) -> Array:
    """Integer index ``idx`` usable on ``x`` (a tensor on its device)."""
    return torch.as_tensor(idx, device=x.device) if isinstance(
        x, Tensor) else idx


# --------------------------------------------------- per-axis (crop) maps
def map_covariances(cov: ArrayLike, factor: ArrayLike) -> Array:
    """Transform per-keypoint 2x2 covariances: ``D C D``, ``D = diag(f)``.

    The per-axis case of :func:`transform_covariances`, computed entry by
    entry (a non-finite entry stays in its place).

    Note:
        - N: number of instances
        - K: number of keypoints

    Args:
        cov (ArrayLike): Covariances in shape (N, K, 2, 2) (source pixels^2).
        factor (ArrayLike): Per-axis factors ``(f_x, f_y)`` (target pixels
            per source pixel), (1, 2) or (N, 2).

    Returns:
        np.ndarray | Tensor: Covariances in target pixels^2, (N, K, 2, 2).
    """
    cov = as_floating(cov)
    if cov.ndim != 4 or tuple(cov.shape[-2:]) != (2, 2):
        raise ValueError(f'cov must have shape (N, K, 2, 2), got '
                         f'{tuple(cov.shape)}')
    f = as_pairs(factor, 'factor')
    check_per_instance(cov.shape[0], factor=f)
    d = like(f[:, None], cov)  # (N, 1, 2)
    return cov * d[..., :, None] * d[..., None, :]


def map_full_covariances(cov: ArrayLike, factor: ArrayLike) -> Array:
    """Transform joint covariances of all 2K coordinates: ``D C D`` with
    ``D = diag(f_x, f_y, f_x, f_y, ...)`` (coordinates ordered
    ``(x_0, y_0, x_1, y_1, ...)``).

    The per-axis case of :func:`transform_full_covariances`, computed entry
    by entry (a non-finite entry stays in its place).

    Note:
        - N: number of instances
        - K: number of keypoints

    Args:
        cov (ArrayLike): Covariances in shape (N, 2K, 2K).
        factor (ArrayLike): Per-axis factors, (1, 2) or (N, 2).

    Returns:
        np.ndarray | Tensor: Covariances in target pixels^2, (N, 2K, 2K).
    """
    cov = as_floating(cov)
    k = _check_full(cov, batch='N')
    f = as_pairs(factor, 'factor')
    check_per_instance(cov.shape[0], factor=f)
    d = like(np.tile(f, (1, k)), cov)  # (N, 2K)
    return cov * d[:, :, None] * d[:, None, :]


# ------------------------------------------------------ general linear maps
def transform_covariances(cov: ArrayLike, linear: ArrayLike) -> Array:
    """Covariances of linearly mapped 2-D points: ``A C A^T``.

    If ``x ~ (mu, C)`` then ``A x + b ~ (A mu + b, A C A^T)``: use the linear
    part ``A`` of the affine map that takes the keypoints to image pixels
    (e.g. the inverse of MMPose's ``get_warp_matrix`` for a rotated crop).

    Note:
        - ``...``: any leading shape, e.g. (N, K); ``cov`` and ``linear``
          broadcast against each other

    Args:
        cov (ArrayLike): Covariances in shape (..., 2, 2).
        linear (ArrayLike): Linear maps ``A`` in shape (..., 2, 2), or
            affine maps ``[A | b]`` in shape (..., 2, 3) (``b`` is ignored).

    Returns:
        np.ndarray | Tensor: ``A C A^T`` in shape (..., 2, 2) (the
        broadcast leading shape).
    """
    cov = as_floating(cov)
    if cov.ndim < 2 or tuple(cov.shape[-2:]) != (2, 2):
        raise ValueError(f'cov must have shape (..., 2, 2), got '
                         f'{tuple(cov.shape)}')
    a = _linear_part(linear, cov)
    return a @ cov @ a.swapaxes(-1, -2)


def transform_full_covariances(cov: ArrayLike, linear: ArrayLike) -> Array:
    """Joint covariances of 2K coordinates when every keypoint is mapped by
    the same linear map ``A``: each 2x2 block becomes ``A C_ij A^T``, i.e.
    ``C' = (I_K kron A) C (I_K kron A)^T``.

    Note:
        - K: number of keypoints
        - ``...``: any leading shape, e.g. (N,); ``cov`` (without its two
          last axes) and ``linear`` (without its two last axes) broadcast

    Args:
        cov (ArrayLike): Covariances in shape (..., 2K, 2K), coordinates
            ordered ``(x_0, y_0, x_1, y_1, ...)``.
        linear (ArrayLike): Linear maps ``A`` in shape (..., 2, 2), or
            affine maps in shape (..., 2, 3) (the offset is ignored).

    Returns:
        np.ndarray | Tensor: Mapped covariances in shape (..., 2K, 2K).
    """
    cov = as_floating(cov)
    k = _check_full(cov)
    a = _linear_part(linear, cov)
    blocks = cov.reshape(*cov.shape[:-2], k, 2, k, 2)
    einsum = torch.einsum if isinstance(cov, Tensor) else np.einsum
    out = einsum('...ac,...icjd,...bd->...iajb', a, blocks, a)
    return out.reshape(*out.shape[:-4], 2 * k, 2 * k)


# ------------------------------------------------------------------ flips
def flip_covariances(cov: ArrayLike,
                     flip_indices: Sequence[int],
                     direction: str = 'horizontal') -> Array:
    """Per-keypoint covariances of flipped keypoints.

    With MMPose's ``flip_keypoints`` convention (flipped keypoint ``k`` is
    the original keypoint ``flip_indices[k]``, mirrored), the result is
    ``S C[flip_indices[k]] S`` with ``S = diag(-1, 1)`` for a horizontal
    flip, ``diag(1, -1)`` for a vertical one and ``-I`` for a diagonal one
    (which, as MMPose's, swaps no keypoints). The mirror's offset (the image
    width) does not enter.

    Note:
        - K: number of keypoints
        - ``...``: any leading shape, e.g. (N,)

    Args:
        cov (ArrayLike): Covariances in shape (..., K, 2, 2).
        flip_indices (Sequence[int]): Index of each keypoint's mirror
            keypoint (the dataset's ``flip_indices``), a permutation of K.
        direction (str): ``'horizontal'``, ``'vertical'`` or
            ``'diagonal'``. Defaults to ``'horizontal'``.

    Returns:
        np.ndarray | Tensor: Flipped covariances in shape (..., K, 2, 2).
    """
    cov = as_floating(cov)
    k = _check_blocks(cov)
    signs = np.asarray(_flip_signs(direction))
    if direction != 'diagonal':
        cov = cov[..., _index(_flip_order(flip_indices, k), cov), :, :]
    return cov * like(np.outer(signs, signs), cov)


def flip_full_covariances(cov: ArrayLike,
                          flip_indices: Sequence[int],
                          direction: str = 'horizontal') -> Array:
    """Joint covariances of flipped keypoints: rows and columns permuted by
    keypoint (``flip_indices``, as :func:`flip_covariances`) and the sign of
    the mirrored coordinate's rows and columns changed, i.e.
    ``C' = P C P^T`` with ``P`` the signed permutation taking the 2K
    coordinates to the flipped ones.

    Note:
        - K: number of keypoints
        - ``...``: any leading shape, e.g. (N,)

    Args:
        cov (ArrayLike): Covariances in shape (..., 2K, 2K), coordinates
            ordered ``(x_0, y_0, x_1, y_1, ...)``.
        flip_indices (Sequence[int]): Index of each keypoint's mirror
            keypoint, a permutation of K.
        direction (str): ``'horizontal'``, ``'vertical'`` or
            ``'diagonal'``. Defaults to ``'horizontal'``.

    Returns:
        np.ndarray | Tensor: Flipped covariances in shape (..., 2K, 2K).
    """
    cov = as_floating(cov)
    k = _check_full(cov)
    signs = np.tile(_flip_signs(direction), k)
    if direction != 'diagonal':
        cov = select_full_covariance(cov, _flip_order(flip_indices, k))
    return cov * like(np.outer(signs, signs), cov)


# ------------------------------------------------------ blocks, selection
def covariance_blocks(cov: ArrayLike) -> Array:
    """Per-keypoint 2x2 blocks on the diagonal of joint covariances (the
    marginal covariance of each keypoint).

    Note:
        - K: number of keypoints
        - ``...``: any leading shape, e.g. (N,)

    Args:
        cov (ArrayLike): Covariances in shape (..., 2K, 2K), coordinates
            ordered ``(x_0, y_0, x_1, y_1, ...)``.

    Returns:
        np.ndarray | Tensor: Blocks in shape (..., K, 2, 2) (a new array).
    """
    if not isinstance(cov, Tensor):
        cov = np.asarray(cov)
    k = _check_full(cov)
    blocks = cov.reshape(*cov.shape[:-2], k, 2, k, 2)
    diag = blocks.diagonal(0, -4, -2)  # (..., 2, 2, K)
    if isinstance(diag, Tensor):
        return diag.movedim(-1, -3).clone()
    return np.moveaxis(diag, -1, -3).copy()


def block_diagonal_covariance(cov: ArrayLike) -> Array:
    """Joint covariances with the given per-keypoint blocks on the diagonal
    and zero cross-covariances (the inverse of :func:`covariance_blocks`
    for independent keypoints).

    Args:
        cov (ArrayLike): Per-keypoint covariances in shape (..., K, 2, 2).

    Returns:
        np.ndarray | Tensor: Joint covariances in shape (..., 2K, 2K),
        coordinates ordered ``(x_0, y_0, x_1, y_1, ...)``.
    """
    if not isinstance(cov, Tensor):
        cov = np.asarray(cov)
    k = _check_blocks(cov)
    eye = like(np.eye(k), cov)  # (K, K)
    # (..., K, 2, K, 2) with block (i, j) = [i == j] C_i
    full = cov[..., :, :, None, :] * eye[:, None, :, None]
    return full.reshape(*cov.shape[:-3], 2 * k, 2 * k)


def marginal_mahalanobis_sq(residual: ArrayLike, cov: ArrayLike) -> Array:
    """Squared Mahalanobis distance of each keypoint's residual under its
    2x2 covariance, ``r^T C^-1 r``, in closed form
    (``C^-1 = adj(C) / det C``); ``inf`` or NaN where ``C`` is singular.

    A keypoint lies inside the ellipse of probability mass ``p`` of a 2-D
    Gaussian when this is at most ``-2 ln(1 - p)``
    (:func:`ellipse_radius` squared).

    Args:
        residual (ArrayLike): ``x - mean`` in shape (..., K, 2).
        cov (ArrayLike): Covariances in shape (..., K, 2, 2).

    Returns:
        np.ndarray | Tensor: Distances in shape (..., K).
    """
    if not isinstance(cov, Tensor):
        cov = np.asarray(cov)
        residual = np.asarray(residual)
    _check_blocks(cov)
    if residual.shape != cov.shape[:-1]:
        raise ValueError(f'residual must have shape {tuple(cov.shape[:-1])} '
                         f'(that of cov without the last axis), got '
                         f'{tuple(residual.shape)}')
    a, b, c, d = cov[..., 0, 0], cov[..., 0, 1], cov[..., 1, 0], cov[..., 1,
                                                                     1]
    x, y = residual[..., 0], residual[..., 1]
    quad = d * x * x - (b + c) * x * y + a * y * y
    if isinstance(quad, Tensor):
        return quad / (a * d - b * c)
    with np.errstate(divide='ignore', invalid='ignore'):
        return quad / (a * d - b * c)


def select_full_covariance(cov: ArrayLike, indices: Sequence[int]) -> Array:
    """Keep the rows/columns of the selected keypoints of joint covariances
    (coordinates ``2 i`` and ``2 i + 1`` of keypoint ``i``), in the order
    of ``indices``.

    Note:
        - K: number of keypoints; K' the number kept
        - ``...``: any leading shape, e.g. (N,)

    Args:
        cov (ArrayLike): Covariances in shape (..., 2K, 2K).
        indices (Sequence[int]): Keypoint indices to keep, in output order.

    Returns:
        np.ndarray | Tensor: Covariances in shape (..., 2K', 2K').
    """
    if not isinstance(cov, Tensor):
        cov = np.asarray(cov)
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    coords = _index(np.stack([2 * idx, 2 * idx + 1], -1).reshape(-1), cov)
    return cov[..., coords, :][..., coords]


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
    # relative tolerance of float32 round-off: covariances that went through
    # float32 transforms and averages (e.g. TIC predictions mapped to the
    # image) are symmetric only to ~1e-8 relative
    tol = 1e-6 * scale
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
