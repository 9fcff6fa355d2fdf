"""Ground-truth locations as pixels of a map.

Shared by calibration (:mod:`.calibration`), credible regions
(:mod:`.credible`) and presence reliability (:mod:`.reliability`); kept on
its own so that those modules import it without importing each other.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

__all__ = ['gt_pixel_index']


def gt_pixel_index(gt_xy: Tensor,
                   heatmap_hw: Tuple[int, int],
                   valid: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
    """Flat index of the pixel nearest to each GT location.

    Args:
        gt_xy (Tensor): GT locations ``(x, y)`` in heatmap pixels (pixel
            centres at integers), shape (N, K, 2), any real dtype.
        heatmap_hw (tuple[int, int]): Map size ``(H, W)``.
        valid (Tensor, optional): Which GT keypoints to use, bool or 0/1,
            shape (N, K). Default: all.

    Returns:
        tuple[Tensor, Tensor]: The flat index ``iy * W + ix`` of the nearest
        pixel, int64, shape (N, K) (0 where invalid); and the validity,
        bool, shape (N, K): ``valid`` and the location is finite and inside
        the map, i.e. ``-0.5 <= x < W - 0.5`` and ``-0.5 <= y < H - 0.5``.

    Note:
        N: number of instances; K: keypoints per instance; H, W: map
        height and width.
    """
    height, width = heatmap_hw
    if gt_xy.dim() != 3 or gt_xy.size(-1) != 2:
        raise ValueError(f'gt_xy must have shape (N, K, 2), got '
                         f'{tuple(gt_xy.shape)}')
    xy = gt_xy.to(torch.float64)
    finite = torch.isfinite(xy).all(dim=-1)
    pix = torch.floor(xy.nan_to_num(nan=-1.0, posinf=-1.0, neginf=-1.0) +
                      0.5).to(torch.int64)
    ix, iy = pix[..., 0], pix[..., 1]
    inside = finite & (ix >= 0) & (ix < width) & (iy >= 0) & (iy < height)
    if valid is not None:
        if valid.shape != inside.shape:
            raise ValueError(f'valid must have shape {tuple(inside.shape)}, '
                             f'got {tuple(valid.shape)}')
        inside = inside & valid.to(device=inside.device, dtype=torch.bool)
    index = torch.where(inside, iy * width + ix, torch.zeros_like(ix))
    return index, inside
