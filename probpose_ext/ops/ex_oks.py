"""Extended OKS (Ex-OKS): OKS that also scores in/out decisions.

Each keypoint of a ground truth (GT) and of a prediction is either *in*
(inside the activation window, AW) or *out*. With GT in/out ``p*`` and
predicted in/out ``p'`` the distance entering the OKS kernel is

=========  =========  =============================================
``p*``     ``p'``     distance
=========  =========  =============================================
in         in         ``|x' - x*|`` (the usual OKS)
out        in         from the prediction ``x'`` to the AW boundary
in         out        from the GT ``x*`` to the AW boundary
out        out        0
=========  =========  =============================================

and the similarity is ``exp(-d^2 / (2 s^2 (2 sigma_k)^2))`` averaged over
the GT's annotated keypoints, exactly as COCO's OKS (``s^2`` is the GT area,
or ``0.53 * bbox area`` without one). The AW distance is to the nearest
edge by default (the paper); ``aw_distance='corner'`` reproduces the
authors' ``exococotools`` (see
:func:`~probpose_ext.ops.windows.sq_distance_to_window_boundary`).

The arithmetic follows ``xtcocotools`` operation by operation, so that with
every keypoint in, Ex-OKS equals its OKS bit for bit.

Note:
    - D: number of predictions (detections)
    - G: number of ground-truth instances
    - K: number of keypoints
"""
from typing import Optional, Sequence, Union

import numpy as np

from .windows import (sq_distance_outside_window,
                      sq_distance_to_window_boundary)

ArrayLike = Union[np.ndarray, Sequence[float], float]

AW_DISTANCES = ('edge', 'corner')


def check_aw_distance(aw_distance: str) -> str:
    """Validate an ``aw_distance`` argument and return it."""
    if aw_distance not in AW_DISTANCES:
        raise ValueError(f'aw_distance must be one of {AW_DISTANCES}, got '
                         f'{aw_distance!r}')
    return aw_distance


def keypoint_similarity(sq_dist: np.ndarray, sigmas: ArrayLike,
                        areas: ArrayLike) -> np.ndarray:
    """Per-keypoint OKS ``exp(-d^2 / ((2 sigma)^2 * (area + eps) * 2))``.

    Args:
        sq_dist (np.ndarray): Squared distances in shape (D, G, K).
        sigmas (ArrayLike): COCO keypoint sigmas in shape (K,).
        areas (ArrayLike): GT areas (``s^2``) in shape (G,).

    Returns:
        np.ndarray: Similarities in shape (D, G, K).
    """
    kvars = (np.asarray(sigmas, dtype=np.float64) * 2)**2
    area = np.asarray(areas, dtype=np.float64)[None, :, None]
    return np.exp(-(sq_dist / kvars / (area + np.spacing(1)) / 2))


def ex_sq_distances(pred_xy: np.ndarray,
                    pred_in: np.ndarray,
                    gt_xy: np.ndarray,
                    gt_in: np.ndarray,
                    windows: np.ndarray,
                    aw_distance: str = 'edge') -> np.ndarray:
    """Ex-OKS squared distances of every prediction/GT keypoint pair.

    Args:
        pred_xy (np.ndarray): Predicted keypoints in shape (D, K, 2).
        pred_in (np.ndarray): Predicted "in" decisions in shape (D, K).
        gt_xy (np.ndarray): GT keypoints in shape (G, K, 2).
        gt_in (np.ndarray): GT "in" flags in shape (G, K).
        windows (np.ndarray): GT activation windows ``[x0, y0, x1, y1]`` in
            shape (G, 4).
        aw_distance (str): ``'edge'`` or ``'corner'``.

    Returns:
        np.ndarray: Squared distances in shape (D, G, K).
    """
    check_aw_distance(aw_distance)
    pred = np.asarray(pred_xy, dtype=np.float64)[:, None]  # D,1,K,2
    gt = np.asarray(gt_xy, dtype=np.float64)[None]  # 1,G,K,2
    win = np.asarray(windows, dtype=np.float64)[None, :, None]  # 1,G,1,4
    p_in = np.asarray(pred_in, dtype=bool)[:, None]  # D,1,K
    g_in = np.asarray(gt_in, dtype=bool)[None]  # 1,G,K
    d = pred - gt
    both_in = d[..., 0]**2 + d[..., 1]**2
    pred_to_aw = sq_distance_to_window_boundary(pred, win, aw_distance)
    gt_to_aw = sq_distance_to_window_boundary(gt, win, aw_distance)
    return np.where(g_in, np.where(p_in, both_in, gt_to_aw),
                    np.where(p_in, pred_to_aw, 0.0))


def plain_sq_distances(pred_xy: np.ndarray, gt_xy: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances of every pair, in shape (D, G, K)."""
    d = (np.asarray(pred_xy, dtype=np.float64)[:, None] -
         np.asarray(gt_xy, dtype=np.float64)[None])
    return d[..., 0]**2 + d[..., 1]**2


def masked_mean(sim: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of ``sim`` over the keypoints selected by ``mask``.

    Args:
        sim (np.ndarray): Per-keypoint similarities in shape (D, G, K).
        mask (np.ndarray): Keypoints to average per GT, shape (G, K).

    Returns:
        np.ndarray: Means in shape (D, G); NaN for a GT with an empty mask.
    """
    mask = np.asarray(mask, dtype=bool)
    count = mask.sum(axis=-1)
    total = np.where(mask[None], sim, 0.0).sum(axis=-1)
    with np.errstate(invalid='ignore', divide='ignore'):
        return total / count[None]


def fallback_similarity(pred_xy: np.ndarray, regions: np.ndarray,
                        sigmas: ArrayLike, areas: ArrayLike) -> np.ndarray:
    """COCO's similarity to a GT without (selected) keypoints.

    Such a GT is ignored, but predictions may still match it (and are then
    ignored too). COCO scores them by the distance of every predicted
    keypoint to a region around the GT: twice the bbox in ``xtcocotools``,
    the activation window in ``exococotools``' Ex-OKS.

    Args:
        pred_xy (np.ndarray): Predicted keypoints in shape (D, K, 2).
        regions (np.ndarray): Regions ``[x0, y0, x1, y1]`` in shape (G, 4).
        sigmas (ArrayLike): Keypoint sigmas in shape (K,).
        areas (ArrayLike): GT areas in shape (G,).

    Returns:
        np.ndarray: Similarities in shape (D, G).
    """
    pred = np.asarray(pred_xy, dtype=np.float64)[:, None]
    reg = np.asarray(regions, dtype=np.float64)[None, :, None]
    sim = keypoint_similarity(
        sq_distance_outside_window(pred, reg), sigmas, areas)
    return sim.mean(axis=-1)


def ex_oks_matrix(pred_xy: np.ndarray,
                  pred_in: np.ndarray,
                  gt_xy: np.ndarray,
                  gt_in: np.ndarray,
                  gt_mask: np.ndarray,
                  windows: np.ndarray,
                  sigmas: ArrayLike,
                  areas: ArrayLike,
                  aw_distance: str = 'edge',
                  fallback_regions: Optional[np.ndarray] = None) -> np.ndarray:
    """Ex-OKS between every prediction and every GT.

    Args:
        pred_xy (np.ndarray): Predicted keypoints in shape (D, K, 2).
        pred_in (np.ndarray): Predicted "in" decisions in shape (D, K).
        gt_xy (np.ndarray): GT keypoints in shape (G, K, 2).
        gt_in (np.ndarray): GT "in" flags in shape (G, K).
        gt_mask (np.ndarray): Keypoints that count (e.g. ``v > 0``), (G, K).
        windows (np.ndarray): GT activation windows in shape (G, 4).
        sigmas (ArrayLike): Keypoint sigmas in shape (K,).
        areas (ArrayLike): GT areas in shape (G,).
        aw_distance (str): ``'edge'`` or ``'corner'``.
        fallback_regions (np.ndarray, optional): Regions (G, 4) used by
            :func:`fallback_similarity` for GTs with an empty mask; defaults
            to ``windows``.

    Returns:
        np.ndarray: Ex-OKS in shape (D, G).
    """
    sim = keypoint_similarity(
        ex_sq_distances(pred_xy, pred_in, gt_xy, gt_in, windows,
                        aw_distance), sigmas, areas)
    out = masked_mean(sim, gt_mask)
    empty = ~np.asarray(gt_mask, dtype=bool).any(axis=-1)
    if empty.any():
        regions = windows if fallback_regions is None else fallback_regions
        out[:, empty] = fallback_similarity(pred_xy, regions[empty], sigmas,
                                            np.asarray(areas)[empty])
    return out


def ex_oks(pred_xy: ArrayLike,
           pred_in: ArrayLike,
           gt_xy: ArrayLike,
           gt_visibility: ArrayLike,
           window: ArrayLike,
           area: float,
           sigmas: ArrayLike,
           aw_distance: str = 'edge',
           gt_in: Optional[ArrayLike] = None) -> float:
    """Ex-OKS of one prediction against one GT instance.

    Args:
        pred_xy (ArrayLike): Predicted keypoints in shape (K, 2).
        pred_in (ArrayLike): Predicted "in" decisions (e.g.
            ``presence >= 0.5``) in shape (K,).
        gt_xy (ArrayLike): GT keypoints in shape (K, 2).
        gt_visibility (ArrayLike): CropCOCO visibility ``v`` in shape (K,):
            0 unannotated (not scored), 1/2 in, 3 out of the AW.
        window (ArrayLike): The GT's activation window ``[x0, y0, x1, y1]``.
        area (float): GT area ``s^2``.
        sigmas (ArrayLike): Keypoint sigmas in shape (K,).
        aw_distance (str): ``'edge'`` (default) or ``'corner'``.
        gt_in (ArrayLike, optional): GT "in" flags (K,) overriding
            ``gt_visibility != 3``.

    Returns:
        float: Ex-OKS in [0, 1]; NaN if no keypoint is annotated.
    """
    vis = np.asarray(gt_visibility)
    g_in = vis != 3 if gt_in is None else np.asarray(gt_in, dtype=bool)
    value = ex_oks_matrix(
        np.asarray(pred_xy, dtype=np.float64)[None],
        np.asarray(pred_in, dtype=bool)[None],
        np.asarray(gt_xy, dtype=np.float64)[None], g_in[None],
        (vis > 0)[None],
        np.asarray(window, dtype=np.float64)[None], sigmas, [area],
        aw_distance)
    return float(value[0, 0]) if (vis > 0).any() else float('nan')
