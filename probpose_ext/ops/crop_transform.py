"""Crop-to-image mapping of keypoint predictions.

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

The covariance maps (and the rest of the covariance algebra: general linear
maps, flips, blocks, ellipses) live in :mod:`.covariance`; their names stay
importable from here. The offset does not enter areas and covariances; a
negative factor (horizontal flip) flips the sign of the x-y covariances, as
it should.

The mapping functions accept NumPy arrays or torch tensors (the result has
the input's type, floating dtype and device); the affine builders return
float64 NumPy arrays.

Note:
    - N: number of instances (factors/offsets of shape (1, 2) broadcast)
    - K: number of keypoints
"""
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from ._arrays import (Array, ArrayLike, as_floating, as_pairs,
                      check_per_instance, like)
# Moved to .covariance; importable from here as before.
from .covariance import (covariance_blocks, covariance_ellipse,  # noqa: F401
                         ellipse_polygon, ellipse_radius, map_covariances,
                         map_full_covariances, select_full_covariance)


def _size(value: Sequence[float], name: str, minimum: float) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64).reshape(-1)
    if arr.shape != (2, ) or not (arr >= minimum).all():
        raise ValueError(f'{name} must be (w, h) with both >= {minimum:g}, '
                         f'got {tuple(np.asarray(value).reshape(-1))}')
    return arr


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
    center_a = as_pairs(center, 'center')
    scale_a = as_pairs(scale, 'scale')
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
    scale_a = as_pairs(scale, 'scale')
    center_a = as_pairs(center, 'center')
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
    points = as_floating(points)
    if points.ndim != 3 or points.shape[-1] != 2:
        raise ValueError(f'points must have shape (N, K, 2), got '
                         f'{tuple(points.shape)}')
    f, o = as_pairs(factor, 'factor'), as_pairs(offset, 'offset')
    check_per_instance(points.shape[0], factor=f, offset=o)
    return points * like(f[:, None], points) + like(o[:, None], points)


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
    boxes = as_floating(boxes)
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
    areas = as_floating(areas)
    if areas.ndim != 2:
        raise ValueError(f'areas must have shape (N, K), got '
                         f'{tuple(areas.shape)}')
    f = as_pairs(factor, 'factor')
    check_per_instance(areas.shape[0], factor=f)
    return areas * like(np.abs(f[:, :1] * f[:, 1:]), areas)
