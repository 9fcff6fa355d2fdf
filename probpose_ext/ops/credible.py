"""Credible regions of probability maps.

A probabilistic keypoint head outputs, per instance and keypoint, a
probability map ``P`` over heatmap pixels (non-negative, summing to 1). Pixel
centres sit at integer coordinates ``x in 0..W-1``, ``y in 0..H-1``; pixel
``(x, y)`` covers ``[x - 0.5, x + 0.5] x [y - 0.5, y + 0.5]``.

The level-``p`` credible region of a map is the smallest set of pixels
holding at least probability ``p``: pixels are sorted by probability in
descending order and the shortest prefix whose cumulative mass reaches ``p``
is kept (a highest-density region). Ties in probability are broken by the
row-major pixel index ``y * W + x`` (the lower index is taken first), so the
region is deterministic. Pixels of zero probability are never part of a
region: they cannot add mass, so ``p = 1`` gives exactly the support of a
(sparsemax) map, even when its sum is off 1 by rounding.

Because the map is discrete, the region usually holds *more* than ``p``
(the last pixel overshoots). If the ground truth is distributed as the map
itself, the probability that it falls in the region equals the mass of the
region, so the expected empirical coverage is ``>= p`` (equal to the mean
held mass returned by :func:`credible_region_stats`), not exactly ``p``.

All functions are pure PyTorch, vectorised over instances and keypoints, and
run on any device in float32 or float64.
"""
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from ._checks import check_level, check_maps
from .pixels import gt_pixel_index
from .crop_transform import heatmap_to_image_affine, map_boxes

ArrayLike = Union[Tensor, np.ndarray, Sequence[float]]


def credible_region_mask(prob: Tensor, p: float) -> Tensor:
    """Smallest set of pixels holding at least probability ``p`` per map.

    Pixels are sorted by probability in descending order (ties: lower
    row-major index ``y * W + x`` first, via a stable sort) and a pixel is
    kept iff its probability is positive and the mass of the pixels sorted
    before it is ``< p``. This is the shortest prefix whose cumulative mass
    reaches ``p``; removing its least probable pixel leaves less than ``p``.
    If a map holds less than ``p`` in total (all-zero maps, rounding with
    ``p`` close to 1), its region is its whole support. For ``p = 1`` the
    region is the support ``prob > 0``.

    The cumulative sums are computed in at least float32 (half-precision
    maps are promoted).

    Note:
        - instance number: N
        - keypoint number: K
        - heatmap height: H
        - heatmap width: W

    Args:
        prob (Tensor): Probability maps in shape (N, K, H, W), non-negative
            and summing to 1 over (H, W).
        p (float): Credible level in (0, 1].

    Returns:
        Tensor: Bool mask of the credible regions in shape (N, K, H, W).
    """
    check_maps(prob)
    p = check_level(p)
    n, k, h, w = prob.shape
    if n * k * h * w == 0:
        return torch.zeros(prob.shape, dtype=torch.bool, device=prob.device)
    vals, order, cum = sorted_masses(prob.reshape(n * k, h * w))
    size = region_sizes(vals, cum, [p])  # (N*K, 1)
    keep = torch.arange(h * w, device=prob.device) < size
    mask = torch.zeros_like(keep).scatter_(-1, order, keep)
    return mask.reshape(n, k, h, w)


def sorted_masses(flat: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    """Pixels of each map in the credible-region order (descending
    probability, ties by the lower index) and their cumulative mass.

    Args:
        flat (Tensor): Maps in shape (M, P) (P pixels each), non-negative.

    Returns:
        tuple: ``vals`` (M, P) sorted probabilities (at least float32),
        ``order`` (M, P) their pixel indices, ``cum`` (M, P) the inclusive
        cumulative sums of ``vals``.
    """
    dtype = torch.promote_types(flat.dtype, torch.float32)
    vals, order = torch.sort(flat.to(dtype), dim=-1, descending=True,
                             stable=True)
    return vals, order, vals.cumsum(dim=-1)


def region_sizes(vals: Tensor, cum: Tensor,
                 levels: Sequence[float]) -> Tensor:
    """Number of pixels of the level-``p`` credible region of each map.

    The region is the shortest prefix of the sorted pixels whose mass
    reaches ``p``, without zero-probability pixels: a sorted pixel is kept
    when it is positive and the mass before it is below ``p`` (all positive
    pixels for ``p >= 1``). Both conditions hold on a prefix, so the size
    is the shorter of the two prefixes, found by binary search.

    Args:
        vals (Tensor): Sorted probabilities (M, P) from
            :func:`sorted_masses`.
        cum (Tensor): Their cumulative sums (M, P).
        levels (Sequence[float]): Credible levels ``p`` in (0, 1], (L,).

    Returns:
        Tensor: Region sizes (M, L), int64.
    """
    m = vals.size(0)
    positive = (vals > 0).sum(dim=-1, keepdim=True)  # (M, 1)
    levels_t = torch.tensor([check_level(p) for p in levels],
                            dtype=cum.dtype, device=cum.device)
    before = torch.cat([cum.new_zeros(m, 1), cum[:, :-1]], dim=-1)
    size = torch.searchsorted(before.contiguous(),
                              levels_t.expand(m, -1).contiguous(),
                              side='left')
    size = torch.where(levels_t >= 1.0, positive, size)
    return torch.minimum(size, positive)


def credible_region_stats(prob: Tensor,
                          p: float) -> Tuple[Tensor, Tensor, Tensor]:
    """Area, bounding box and held mass of the level-``p`` credible regions.

    The box is the axis-aligned hull of the region's pixels with their pixel
    extents: ``[x0, y0, x1, y1] = [min x - 0.5, min y - 0.5, max x + 0.5,
    max y + 0.5]`` in heatmap pixel coordinates (a one-pixel region at
    ``(x, y)`` gives ``[x - 0.5, y - 0.5, x + 0.5, y + 0.5]``). Empty regions
    (all-zero maps) have area 0, mass 0 and a NaN box.

    Note:
        - instance number: N
        - keypoint number: K
        - heatmap height: H
        - heatmap width: W

    Args:
        prob (Tensor): Probability maps in shape (N, K, H, W).
        p (float): Credible level in (0, 1].

    Returns:
        tuple:
        - area (Tensor): Number of pixels of each region (heatmap pixels^2),
          float in shape (N, K).
        - boxes (Tensor): Bounding boxes ``[x0, y0, x1, y1]`` in shape
          (N, K, 4).
        - mass (Tensor): Probability held by each region (``>= p`` up to
          rounding, unless the map holds less) in shape (N, K).

        All with the floating dtype (at least float32) and the device of
        ``prob``.
    """
    mask = credible_region_mask(prob, p)
    dtype = torch.promote_types(prob.dtype, torch.float32)
    n, k, h, w = prob.shape
    area = mask.sum(dim=(-2, -1)).to(dtype)
    mass = (prob.to(dtype) * mask).sum(dim=(-2, -1))

    def _extent(occupied: Tensor, size: int) -> Tuple[Tensor, Tensor]:
        idx = torch.arange(size, device=prob.device, dtype=dtype)
        lo = torch.where(occupied, idx, idx.new_tensor(float(size))).amin(-1)
        hi = torch.where(occupied, idx, idx.new_tensor(-1.0)).amax(-1)
        return lo - 0.5, hi + 0.5

    if h * w == 0:
        boxes = torch.full((n, k, 4), float('nan'), dtype=dtype,
                           device=prob.device)
        return area, boxes, mass
    x0, x1 = _extent(mask.any(dim=-2), w)  # columns: (N, K, W)
    y0, y1 = _extent(mask.any(dim=-1), h)  # rows: (N, K, H)
    boxes = torch.stack([x0, y0, x1, y1], dim=-1)
    empty = (area == 0)[..., None]
    boxes = torch.where(empty, boxes.new_tensor(float('nan')), boxes)
    return area, boxes, mass


def region_contains(mask: Tensor, points: Tensor) -> Tensor:
    """Whether each point lies in its credible region.

    A point ``(x, y)`` in heatmap coordinates belongs to the pixel
    ``(floor(x + 0.5), floor(y + 0.5))`` (nearest pixel centre; a point on
    the boundary between two pixels goes to the higher index). Points whose
    pixel is outside the map, and non-finite points, are never contained.
    Averaging the result over ground-truth points gives the empirical
    coverage of the regions.

    Note:
        - instance number: N
        - keypoint number: K
        - heatmap height: H
        - heatmap width: W

    Args:
        mask (Tensor): Bool region masks in shape (N, K, H, W), e.g. from
            :func:`credible_region_mask`.
        points (Tensor): Points ``(x, y)`` in heatmap pixel coordinates in
            shape (N, K, 2).

    Returns:
        Tensor: Bool containment in shape (N, K).
    """
    check_maps(mask, 'mask')
    n, k, h, w = mask.shape
    points = torch.as_tensor(points, device=mask.device)
    if points.shape != (n, k, 2):
        raise ValueError(f'points must have shape {(n, k, 2)}, got '
                         f'{tuple(points.shape)}')
    if h * w == 0:
        return torch.zeros((n, k), dtype=torch.bool, device=mask.device)
    index, inside = gt_pixel_index(points, (h, w))
    hit = mask.reshape(n, k, h * w).bool().gather(-1, index[..., None])
    return hit[..., 0] & inside


def credible_boxes_to_image(boxes: Tensor,
                            center: ArrayLike,
                            scale: ArrayLike,
                            heatmap_size: Sequence[int],
                            input_size: Optional[Sequence[int]] = None
                            ) -> Tensor:
    """Map boxes from heatmap pixels to image pixels (top-down, UDP).

    The top-down input crop is the box of size ``scale = (s_w, s_h)``
    centred at ``center = (c_x, c_y)`` in the image. With the UDP
    convention (``TopdownAffine(use_udp=True)`` and
    :class:`~probpose_ext.codecs.ProbMap`), heatmap pixel centres ``0`` and
    ``W - 1`` map to the crop edges ``c_x - s_w / 2`` and ``c_x + s_w / 2``,
    i.e. the exact inverse of the UDP warp is the affine map

        x_img = x_hm * s_w / (W - 1) + c_x - s_w / 2

    (same for ``y`` with ``H``, ``s_h``, ``c_y``), applied to both box
    corners. It is independent of the input size.

    MMPose's ``TopdownPoseEstimator`` maps decoded keypoints back with
    ``x_in / w * s_w + c_x - s_w / 2`` (``w`` the input width) after the
    codec's ``x_in = x_hm * (w - 1) / (W - 1)``, which shrinks the crop by
    ``(w - 1) / w``. Pass ``input_size = (w, h)`` to reproduce that exactly
    (so the boxes are consistent with MMPose's predicted keypoints):

        x_img = x_hm * (w - 1) / ((W - 1) * w) * s_w + c_x - s_w / 2

    Rotation is not supported (test-time crops are not rotated). The maps
    are :func:`~probpose_ext.ops.crop_transform.heatmap_to_image_affine`
    and :func:`~probpose_ext.ops.crop_transform.map_boxes`.

    Note:
        - instance number: N
        - keypoint number: K
        - heatmap height: H
        - heatmap width: W

    Args:
        boxes (Tensor): Boxes ``[x0, y0, x1, y1]`` in heatmap pixel
            coordinates in shape (N, K, 4).
        center (Tensor | np.ndarray | Sequence): Crop centres in image
            pixels in shape (N, 2).
        scale (Tensor | np.ndarray | Sequence): Crop sizes ``(s_w, s_h)`` in
            image pixels in shape (N, 2).
        heatmap_size (Sequence[int]): Heatmap size ``(W, H)``, both >= 2.
        input_size (Sequence[int], optional): Model input size ``(w, h)``;
            if given, use MMPose's estimator back-mapping (see above).
            Defaults to None (exact UDP inverse).

    Returns:
        Tensor: Boxes ``[x0, y0, x1, y1]`` in image pixels in shape
        (N, K, 4), with the dtype and device of ``boxes``.
    """
    boxes = torch.as_tensor(boxes)
    if not boxes.is_floating_point():
        boxes = boxes.to(torch.get_default_dtype())
    factor, offset = heatmap_to_image_affine(center, scale, heatmap_size,
                                             input_size)
    return map_boxes(boxes, factor, offset)
