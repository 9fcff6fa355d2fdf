"""Geometry and decoding rule of the double-heatmap variant (ProbPose-DH).

ProbPose-DH predicts two probability maps of the same size ``W x H`` per
keypoint: the *expert* map over the model input (the activation window) and
the *wide* map over a window ``factor`` times larger on each axis, with the
same centre, so a wide-map pixel covers ``factor`` times more input pixels.

Geometry (UDP, pixel centres at integers). The expert window is the input
crop, ``[0, w - 1] x [0, h - 1]`` in input pixels, and expert heatmap pixel
``x_hm`` is input pixel ``x_hm * (w - 1) / (W - 1)``. The wide window keeps
the centre ``c = (w - 1) / 2`` and scales the half-extent by ``f``:

    [c - f (w - 1) / 2, c + f (w - 1) / 2]
        = [-(f - 1)(w - 1) / 2, (w - 1) + (f - 1)(w - 1) / 2]

(same in ``y`` with ``h``), and its heatmap pixel centres ``0`` and
``W - 1`` sit on those edges. Both maps are therefore the affine maps

    x_hm = x_in * a + b,   a = (W - 1) / (f (w - 1)),
                           b = (f - 1) (W - 1) / (2 f)

with ``f = 1`` for the expert map (``b = 0``: plain UDP). Equivalently, a
wide-map coordinate is the expert one shrunk by ``f`` about the map centre,
``x_wide = C + (x_expert - C) / f`` with ``C = (W - 1) / 2``. An OKS
variance in wide-map pixels^2 is the expert one divided by ``f^2``.

Decoding rule: each map is decoded on its own (expected OKS) and mapped to
input pixels; the wide estimate is used unless it falls inside the expert
window (closed), where the finer expert map's estimate is used instead.

Note:
    - N: number of instances (any leading shape ``...`` is allowed where
      stated)
    - K: number of keypoints
    - input size: [w, h]; heatmap size: [W, H]; wide factor: f
"""
from typing import Sequence, Tuple, TypeVar

import numpy as np
import torch
from torch import Tensor

Points = TypeVar('Points', np.ndarray, Tensor)


def _check_size(name: str, size: Sequence[int]) -> Tuple[int, int]:
    if len(size) != 2 or min(size) < 2:
        raise ValueError(f'{name} must be (width, height) with both >= 2, '
                         f'got {tuple(size)}')
    return int(size[0]), int(size[1])


def check_factor(factor: float) -> float:
    """Validate the wide-window factor ``f`` (finite, ``>= 1``).

    Args:
        factor (float): Ratio of the wide window to the input window.

    Returns:
        float: ``factor`` as a float.
    """
    f = float(factor)
    if not np.isfinite(f) or f < 1:
        raise ValueError(f'factor must be a finite number >= 1, got {factor}')
    return f


def wide_window(input_size: Sequence[int], factor: float) -> np.ndarray:
    """The wide window in input pixels.

    ``[x0, y0, x1, y1] = [-(f-1)(w-1)/2, -(f-1)(h-1)/2, (w-1)(f+1)/2,
    (h-1)(f+1)/2]``: the input window ``[0, w-1] x [0, h-1]`` scaled by
    ``f`` about its centre. ``f = 1`` gives the input window itself.

    Args:
        input_size (Sequence[int]): Input size ``(w, h)``.
        factor (float): Wide factor ``f >= 1``.

    Returns:
        np.ndarray: ``[x0, y0, x1, y1]`` (float64) in shape (4, ).
    """
    w, h = _check_size('input_size', input_size)
    f = check_factor(factor)
    ext = np.array([w - 1, h - 1], dtype=np.float64)
    margin = (f - 1) * ext / 2
    return np.concatenate([-margin, ext + margin])


def heatmap_affine(input_size: Sequence[int],
                   heatmap_size: Sequence[int],
                   factor: float = 1.0) -> Tuple[np.ndarray, np.ndarray]:
    """Coefficients of the input-pixel -> heatmap-pixel map of a window.

    ``x_hm = x_in * scale + offset`` per axis, with ``scale = (W-1) /
    (f (w-1))`` and ``offset = (f-1)(W-1) / (2f)`` (module docstring).
    ``factor=1`` is the expert (input) window, ``factor=f`` the wide one.

    Args:
        input_size (Sequence[int]): Input size ``(w, h)``.
        heatmap_size (Sequence[int]): Heatmap size ``(W, H)``.
        factor (float): Window factor ``f >= 1``. Defaults to 1.

    Returns:
        tuple: ``scale`` and ``offset`` (float64), each in shape (2, )
        (``x`` then ``y``).
    """
    w, h = _check_size('input_size', input_size)
    hw, hh = _check_size('heatmap_size', heatmap_size)
    f = check_factor(factor)
    hm = np.array([hw - 1, hh - 1], dtype=np.float64)
    scale = hm / (f * np.array([w - 1, h - 1], dtype=np.float64))
    offset = (f - 1) * hm / (2 * f)
    return scale, offset


def _coefficients(points: Points, input_size: Sequence[int],
                  heatmap_size: Sequence[int], factor: float):
    scale, offset = heatmap_affine(input_size, heatmap_size, factor)
    if isinstance(points, Tensor):
        dtype = points.dtype if points.is_floating_point() else \
            torch.get_default_dtype()
        return (points.to(dtype),
                torch.as_tensor(scale, dtype=dtype, device=points.device),
                torch.as_tensor(offset, dtype=dtype, device=points.device))
    return np.asarray(points, dtype=np.float64), scale, offset


def _check_points(points, name: str = 'points') -> None:
    if points.ndim == 0 or points.shape[-1] != 2:
        raise ValueError(f'{name} must have shape (..., 2), got '
                         f'{tuple(points.shape)}')


def input_to_heatmap(points: Points,
                     input_size: Sequence[int],
                     heatmap_size: Sequence[int],
                     factor: float = 1.0) -> Points:
    """Map points from input pixels to a window's heatmap pixels.

    Args:
        points (np.ndarray | Tensor): Points ``(x, y)`` in input pixels in
            shape (..., 2); may lie outside the window.
        input_size (Sequence[int]): Input size ``(w, h)``.
        heatmap_size (Sequence[int]): Heatmap size ``(W, H)``.
        factor (float): 1 for the expert map, ``f`` for the wide map.

    Returns:
        np.ndarray | Tensor: Heatmap pixels in shape (..., 2): float64 for
        arrays, the (floating) dtype and device of a tensor.
    """
    pts, scale, offset = _coefficients(points, input_size, heatmap_size,
                                       factor)
    _check_points(pts)
    return pts * scale + offset


def heatmap_to_input(points: Points,
                     input_size: Sequence[int],
                     heatmap_size: Sequence[int],
                     factor: float = 1.0) -> Points:
    """Inverse of :func:`input_to_heatmap`: heatmap to input pixels.

    Args:
        points (np.ndarray | Tensor): Points in the window's heatmap pixels
            in shape (..., 2).
        input_size (Sequence[int]): Input size ``(w, h)``.
        heatmap_size (Sequence[int]): Heatmap size ``(W, H)``.
        factor (float): 1 for the expert map, ``f`` for the wide map.

    Returns:
        np.ndarray | Tensor: Input pixels in shape (..., 2).
    """
    pts, scale, offset = _coefficients(points, input_size, heatmap_size,
                                       factor)
    _check_points(pts)
    return (pts - offset) / scale


def heatmap_boxes_to_input(boxes: Points,
                           input_size: Sequence[int],
                           heatmap_size: Sequence[int],
                           factor: float = 1.0) -> Points:
    """Map boxes ``[x0, y0, x1, y1]`` from a window's heatmap pixels to
    input pixels (both corners by :func:`heatmap_to_input`; the map is
    increasing, so corners keep their order).

    Args:
        boxes (np.ndarray | Tensor): Boxes in shape (..., 4).
        input_size (Sequence[int]): Input size ``(w, h)``.
        heatmap_size (Sequence[int]): Heatmap size ``(W, H)``.
        factor (float): 1 for the expert map, ``f`` for the wide map.

    Returns:
        np.ndarray | Tensor: Boxes in input pixels in shape (..., 4).
    """
    if boxes.ndim == 0 or boxes.shape[-1] != 4:
        raise ValueError('boxes must have shape (..., 4), got '
                         f'{tuple(boxes.shape)}')
    corners = boxes.reshape(*boxes.shape[:-1], 2, 2)
    return heatmap_to_input(corners, input_size, heatmap_size,
                            factor).reshape(boxes.shape)


def heatmap_area_to_input(area: Points,
                          input_size: Sequence[int],
                          heatmap_size: Sequence[int],
                          factor: float = 1.0) -> Points:
    """Convert areas (or OKS variances) from a window's heatmap pixels^2 to
    input pixels^2: divide by ``scale_x * scale_y`` of
    :func:`heatmap_affine`.

    Args:
        area (np.ndarray | Tensor): Areas in heatmap pixels^2, any shape.
        input_size (Sequence[int]): Input size ``(w, h)``.
        heatmap_size (Sequence[int]): Heatmap size ``(W, H)``.
        factor (float): 1 for the expert map, ``f`` for the wide map.

    Returns:
        np.ndarray | Tensor: Areas in input pixels^2, same shape.
    """
    scale, _ = heatmap_affine(input_size, heatmap_size, factor)
    return area / float(scale[0] * scale[1])


def wide_variance(variance: Points, factor: float) -> Points:
    """OKS variance in wide-map pixels^2 from the expert-map one.

    A length in wide-map pixels is the expert-map length divided by ``f``,
    so a variance (a squared length) is divided by ``f^2``.

    Args:
        variance (np.ndarray | Tensor): Variances in expert-map pixels^2,
            any shape.
        factor (float): Wide factor ``f >= 1``.

    Returns:
        np.ndarray | Tensor: Variances in wide-map pixels^2, same shape.
    """
    return variance / check_factor(factor)**2


def in_input_window(points: Tensor, input_size: Sequence[int]) -> Tensor:
    """Whether points lie in the closed input (expert) window
    ``[0, w - 1] x [0, h - 1]``. NaN coordinates are outside.

    The torch counterpart of :func:`probpose_ext.ops.windows.in_window`
    with the window ``[0, 0, w - 1, h - 1]``, so that decoding stays on the
    device of the maps.

    Args:
        points (Tensor): Points in input pixels in shape (..., 2).
        input_size (Sequence[int]): Input size ``(w, h)``.

    Returns:
        Tensor: Booleans in shape (...).
    """
    w, h = _check_size('input_size', input_size)
    _check_points(points)
    x, y = points[..., 0], points[..., 1]
    return (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)


def choose_double_map(expert_keypoints: Tensor,
                      expert_scores: Tensor,
                      wide_keypoints: Tensor,
                      wide_scores: Tensor,
                      input_size: Sequence[int]
                      ) -> Tuple[Tensor, Tensor, Tensor]:
    """ProbPose-DH decoding rule, per keypoint.

    The wide map's estimate is used, except where it falls inside the
    closed expert window ``[0, w - 1] x [0, h - 1]`` (boundary included),
    where the expert map's estimate (and score) is used. The expert
    estimate's own location is not tested: inside the expert window the
    expert map is trusted as it is.

    Args:
        expert_keypoints (Tensor): Expert-map estimates in input pixels in
            shape (..., K, 2).
        expert_scores (Tensor): Their scores (e.g. expected OKS) in shape
            (..., K).
        wide_keypoints (Tensor): Wide-map estimates in input pixels in
            shape (..., K, 2).
        wide_scores (Tensor): Their scores in shape (..., K).
        input_size (Sequence[int]): Input size ``(w, h)``.

    Returns:
        tuple:
        - keypoints (Tensor): Chosen estimates in shape (..., K, 2).
        - scores (Tensor): Chosen scores in shape (..., K).
        - from_expert (Tensor): Boolean mask in shape (..., K), True where
          the expert map was used.
    """
    _check_points(expert_keypoints, 'expert_keypoints')
    if wide_keypoints.shape != expert_keypoints.shape:
        raise ValueError('wide_keypoints must have the shape of '
                         f'expert_keypoints {tuple(expert_keypoints.shape)}, '
                         f'got {tuple(wide_keypoints.shape)}')
    for name, scores in (('expert_scores', expert_scores),
                         ('wide_scores', wide_scores)):
        if scores.shape != expert_keypoints.shape[:-1]:
            raise ValueError(
                f'{name} must have shape {tuple(expert_keypoints.shape[:-1])}'
                f', got {tuple(scores.shape)}')
    from_expert = in_input_window(wide_keypoints, input_size)
    keypoints = torch.where(from_expert[..., None], expert_keypoints,
                            wide_keypoints)
    scores = torch.where(from_expert, expert_scores, wide_scores)
    return keypoints, scores, from_expert
