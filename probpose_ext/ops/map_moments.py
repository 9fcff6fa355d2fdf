"""Mean and 2x2 covariance of each keypoint's probability map (moment
matching), in heatmap, input or image pixels.

A ProbPose model outputs one probability map ``P`` (K maps of ``H x W``
pixels, each summing to 1) per keypoint. Moment matching summarises a map
by the Gaussian with the same first two moments, so that ProbPose models
feed the consumers of ``keypoints_cov`` (TAC, NLL, ellipses, lifting):

    mu = sum_p P(p) p,    C = sum_p P(p) (p - mu)(p - mu)^T

with ``p = (x, y)`` the pixel centres at integer coordinates (``x = 0 ..
W - 1``, ``y = 0 .. H - 1``, the codecs' UDP convention), so ``mu`` is in
heatmap pixels and ``C`` in heatmap pixels^2.

Quantisation term. The sum above puts each pixel's mass on its centre. If
the mass is instead spread uniformly over the pixel's unit cell, each
coordinate gains the variance of a uniform distribution on an interval of
length 1, ``1/12``, and the cells' axes are independent, so ``C`` gains
``I / 12`` (the mean does not change). ``pixel_variance=True`` adds it; the
default (False) keeps the discrete moments (a one-pixel map then has zero
covariance). A map that already holds the integral of a continuous density
over each cell (a binned density) has the continuous variance plus ``1/12``
in its discrete moments (Sheppard's correction), so do not add the term to
such maps.

TIC's Jacobian term (``J J^T``) is computed by :mod:`.jacobian`.

Units. Every map (expert or ProbPose-DH's wide map) is an affine, per-axis
image of the input crop; means map by the affine map and covariances by its
linear part only (``C' = A C A^T``, :func:`.covariance.transform_covariances`).
:func:`map_moments_to_input` uses :mod:`.double_map`'s window geometry,
:func:`map_moments_to_image` :func:`.crop_transform.heatmap_to_image_affine`,
and :func:`affine_moments` any per-axis affine (e.g. input to image with
:func:`.crop_transform.crop_to_image_affine`).

Note:
    - N: number of instances
    - K: number of keypoints
    - ``...``: any leading (batch) shape
    - heatmap size: [W, H]; input size: [w, h]
"""
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from ._arrays import Array, ArrayLike, as_floating, as_pairs, like
from .covariance import transform_covariances
from .crop_transform import heatmap_to_image_affine, map_points
from .double_map import heatmap_affine, heatmap_to_input

__all__ = [
    'map_moments', 'affine_moments', 'map_moments_to_input',
    'map_moments_to_image'
]

#: Variance of a uniform distribution on a unit interval (one pixel).
PIXEL_VARIANCE = 1.0 / 12.0


def map_moments(prob: ArrayLike,
                pixel_variance: bool = False) -> Tuple[Array, Array]:
    """Mean and covariance of each probability map, in heatmap pixels.

    The maps are normalised by their own sum first, so maps that sum to 1
    only up to rounding (or unnormalised non-negative maps) are handled; a
    map whose sum is not positive gives NaN moments. Entries must be
    non-negative (not checked: a negative entry gives meaningless moments).
    Computed from the marginals and one weighted cross sum, centred on the
    mean (no ``E[x^2] - mu^2`` cancellation), without loops over K.

    Note:
        - ``...``: any leading shape, e.g. (N, K)
        - H, W: map height and width

    Args:
        prob (ArrayLike): Probability maps in shape (..., H, W), e.g.
            (N, K, H, W) sparsemax maps. A tensor or a NumPy array.
        pixel_variance (bool): Add the quantisation variance ``1/12`` of a
            unit pixel to both variances (mass spread uniformly over each
            pixel's cell rather than on its centre). Defaults to False.

    Returns:
        tuple:
        - mean (np.ndarray | Tensor): ``(x, y)`` in heatmap pixels (pixel
          centres at integers), shape (..., 2).
        - cov (np.ndarray | Tensor): Covariances in heatmap pixels^2, shape
          (..., 2, 2), symmetric, ``[[var_x, cov_xy], [cov_xy, var_y]]``.

        Tensors keep their device; float32/float64 keep their dtype,
        float16/bfloat16 are computed and returned in float32, integers in
        float64; NumPy arrays give NumPy arrays of the same rule.
    """
    is_numpy = not isinstance(prob, Tensor)
    p = torch.as_tensor(as_floating(prob))
    if p.dim() < 2 or p.shape[-1] < 1 or p.shape[-2] < 1:
        raise ValueError('prob must have shape (..., H, W) with H, W >= 1, '
                         f'got {tuple(p.shape)}')
    if p.dtype in (torch.float16, torch.bfloat16):
        p = p.float()
    h, w = p.shape[-2:]
    xs = torch.arange(w, dtype=p.dtype, device=p.device)
    ys = torch.arange(h, dtype=p.dtype, device=p.device)
    total = p.sum(dim=(-2, -1))  # (...)
    total = torch.where(total > 0, total, torch.full_like(total, np.nan))
    px = p.sum(dim=-2) / total[..., None]  # (..., W)
    py = p.sum(dim=-1) / total[..., None]  # (..., H)
    mx = (px * xs).sum(-1)
    my = (py * ys).sum(-1)
    dx = xs - mx[..., None]  # (..., W)
    dy = ys - my[..., None]  # (..., H)
    vx = (px * dx * dx).sum(-1)
    vy = (py * dy * dy).sum(-1)
    cxy = ((p * dy[..., :, None]).sum(-2) * dx).sum(-1) / total
    if pixel_variance:
        vx = vx + PIXEL_VARIANCE
        vy = vy + PIXEL_VARIANCE
    mean = torch.stack([mx, my], -1)
    cov = torch.stack([torch.stack([vx, cxy], -1),
                       torch.stack([cxy, vy], -1)], -2)
    if is_numpy:
        return mean.numpy(), cov.numpy()
    return mean, cov


def _check_moments(mean: Array, cov: Array) -> None:
    if mean.ndim != 3 or mean.shape[-1] != 2:
        raise ValueError(f'mean must have shape (N, K, 2), got '
                         f'{tuple(mean.shape)}')
    if tuple(cov.shape) != tuple(mean.shape) + (2, ):
        raise ValueError(f'cov must have shape {tuple(mean.shape) + (2, )} '
                         f'(N, K, 2, 2) to match mean, got '
                         f'{tuple(cov.shape)}')


def affine_moments(mean: ArrayLike, cov: ArrayLike, factor: ArrayLike,
                   offset: ArrayLike) -> Tuple[Array, Array]:
    """Map means and covariances through per-instance, per-axis affine maps
    ``x -> f * x + o``: means by :func:`.crop_transform.map_points`,
    covariances by the linear part ``A = diag(f)`` with
    :func:`.covariance.transform_covariances` (``A C A^T``; the offset does
    not enter, a negative factor flips the sign of ``cov_xy``).

    Note:
        - N: number of instances
        - K: number of keypoints

    Args:
        mean (ArrayLike): Means ``(x, y)`` in shape (N, K, 2).
        cov (ArrayLike): Covariances in shape (N, K, 2, 2).
        factor (ArrayLike): Factors ``(f_x, f_y)``, (2,), (1, 2) or (N, 2).
        offset (ArrayLike): Offsets ``(o_x, o_y)``, (2,), (1, 2) or (N, 2).

    Returns:
        tuple: ``mean`` (N, K, 2) and ``cov`` (N, K, 2, 2) in target pixels
        (pixels^2), in the array type, dtype and device of each input.
    """
    mean, cov = as_floating(mean), as_floating(cov)
    _check_moments(mean, cov)
    f = as_pairs(factor, 'factor')
    linear = np.zeros(f.shape[:1] + (1, 2, 2))  # (N or 1, 1, 2, 2)
    linear[:, 0, 0, 0], linear[:, 0, 1, 1] = f[:, 0], f[:, 1]
    mean_out = map_points(mean, f, offset)
    return mean_out, transform_covariances(cov, like(linear, cov))


def map_moments_to_input(mean: ArrayLike,
                         cov: ArrayLike,
                         input_size: Sequence[int],
                         heatmap_size: Sequence[int],
                         factor: float = 1.0) -> Tuple[Array, Array]:
    """Map moments from a window's heatmap pixels to input pixels.

    The inverse of :func:`.double_map.input_to_heatmap`: means by
    :func:`.double_map.heatmap_to_input`, covariances by the linear part
    ``diag(1 / scale)`` of that map (``scale`` of
    :func:`.double_map.heatmap_affine`).

    Note:
        - N: number of instances
        - K: number of keypoints

    Args:
        mean (ArrayLike): Means in heatmap pixels, (N, K, 2).
        cov (ArrayLike): Covariances in heatmap pixels^2, (N, K, 2, 2).
        input_size (Sequence[int]): Input size ``(w, h)``.
        heatmap_size (Sequence[int]): Heatmap size ``(W, H)``.
        factor (float): Window factor: 1 for the expert (input) map, ``f``
            for ProbPose-DH's wide map. Defaults to 1.

    Returns:
        tuple: ``mean`` (N, K, 2) in input pixels and ``cov`` (N, K, 2, 2)
        in input pixels^2.
    """
    mean, cov = as_floating(mean), as_floating(cov)
    _check_moments(mean, cov)
    scale, _ = heatmap_affine(input_size, heatmap_size, factor)
    mean_in = heatmap_to_input(mean, input_size, heatmap_size, factor)
    linear = like(np.diag(1.0 / scale), cov)
    return like(mean_in, mean), transform_covariances(cov, linear)


def map_moments_to_image(
        mean: ArrayLike,
        cov: ArrayLike,
        center: ArrayLike,
        scale: ArrayLike,
        heatmap_size: Sequence[float],
        input_size: Optional[Sequence[float]] = None) -> Tuple[Array, Array]:
    """Map moments from (expert) heatmap pixels to image pixels.

    Uses the affine map of :func:`.crop_transform.heatmap_to_image_affine`
    (same arguments): the exact UDP inverse by default, or MMPose's
    estimator convention with ``input_size`` (consistent with the
    keypoints MMPose reports). For ProbPose-DH's wide map, map to input
    pixels with :func:`map_moments_to_input` (``factor=f``) and then with
    :func:`affine_moments` and :func:`.crop_transform.crop_to_image_affine`.

    Note:
        - N: number of instances
        - K: number of keypoints

    Args:
        mean (ArrayLike): Means in heatmap pixels, (N, K, 2).
        cov (ArrayLike): Covariances in heatmap pixels^2, (N, K, 2, 2).
        center (ArrayLike): Crop centres in image pixels, (2,) or (N, 2).
        scale (ArrayLike): Crop sizes ``(s_w, s_h)``, (2,) or (N, 2).
        heatmap_size (Sequence[float]): Heatmap size ``(W, H)``.
        input_size (Sequence[float], optional): Model input size ``(w, h)``
            for MMPose's estimator convention. Defaults to None.

    Returns:
        tuple: ``mean`` (N, K, 2) in image pixels and ``cov`` (N, K, 2, 2)
        in image pixels^2.
    """
    factor, offset = heatmap_to_image_affine(center, scale, heatmap_size,
                                             input_size)
    return affine_moments(mean, cov, factor, offset)
