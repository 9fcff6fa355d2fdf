# Copyright (c) probpose_ext contributors. All rights reserved.
"""ProbPose crop augmentation: black out the image outside a random
sub-rectangle of the instance's padded bbox context."""
from numbers import Number
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmpose.registry import TRANSFORMS

from ...utils.validation import strict_kwargs

#: Raw visibility values (CropCOCO convention, see DESIGN.md section 3).
V_UNANNOTATED, V_OCCLUDED, V_VISIBLE, V_OUTSIDE_AW = 0, 1, 2, 3


@TRANSFORMS.register_module()
@strict_kwargs
class RandomCropOut(BaseTransform):
    """Randomly cut the image around an instance so that some of its
    keypoints end up outside the visible image (ProbPose crop augmentation).

    With probability ``prob`` the transform takes the padded bbox context of
    the (first) instance, i.e. ``results['bbox']`` enlarged about its centre
    by ``padding`` (the region a top-down crop will see), and keeps a random
    sub-rectangle of it: per axis a keep ratio is drawn uniformly from
    ``keep_ratio`` (fraction of the context width / height) and the kept
    segment is placed uniformly at random inside the context, so the removed
    margin is split at random between the two ends of the axis (one end only
    when the segment touches the context border). The kept rectangle is then
    clipped to the image (to ``[0, W - 1] x [0, H - 1]``, the same clip
    MMPose's COCO loader applies to bboxes) and

    - every image pixel outside it is set to 0, so the later top-down crop
      sees an image edge there;
    - ``results['bbox']`` is clipped to it (``bbox_center`` / ``bbox_scale``
      are updated too when present, see the Note);
    - annotated keypoints outside it keep their coordinates and
      ``keypoints_visible`` (MMPose still trains their location) but their
      raw visibility becomes 1 (annotated, not visible); keypoints inside
      keep their raw visibility.

    Required Keys:

        - img
        - bbox
        - keypoints (optional)
        - keypoints_visible (optional)
        - keypoints_visibility_raw (optional)
        - raw_ann_info (optional)
        - bbox_center (optional)
        - bbox_scale (optional)

    Modified Keys:

        - img
        - bbox
        - bbox_center (optional)
        - bbox_scale (optional)

    Added Keys:

        - keypoints_visibility_raw (when keypoints are present)
        - crop_out_box

    Args:
        prob (float): Probability of applying the augmentation, in
            ``[0, 1]``. Defaults to 0.8.
        keep_ratio (float | Sequence[float]): ``(low, high)`` range of the
            kept fraction of the padded context, per axis, with
            ``0 < low <= high <= 1``. A single number ``r`` means ``(r, r)``.
            Defaults to ``(0.7, 0.9)``.
        padding (float): Enlargement factor (>= 1) of the bbox defining the
            context. Use the padding of the following ``GetBBoxCenterScale``.
            Defaults to 1.25.

    Note:
        - N: number of instances in ``results``
        - K: number of keypoints
        - H, W: image height and width

        Placement: in a top-down pipeline put the transform right after
        ``LoadImage`` and before ``GetBBoxCenterScale`` (it works in image
        space and only needs ``bbox``). If ``bbox_center`` and
        ``bbox_scale`` are already in ``results`` (e.g. loaders that provide
        them), the context is still computed from ``bbox`` and, after
        clipping, the centre is moved to the centre of the clipped bbox and
        the scale is multiplied per axis by ``clipped_wh / original_wh``, so
        whatever factor related ``bbox_scale`` to ``bbox`` is kept.

        Raw visibility ``results['keypoints_visibility_raw']`` (N, K) int64
        follows DESIGN.md: 0 not annotated, 1 annotated but occluded,
        2 visible, 3 annotated and outside the activation window. Its source,
        in order of preference: the field itself when already present (our
        datasets); ``results['raw_ann_info']['keypoints'][2::3]`` (MMPose's
        COCO-style loader stores the untouched annotation there: a dict in
        top-down mode, a list of dicts in bottom-up mode); otherwise it is
        derived from ``keypoints_visible`` as ``2`` where ``> 0`` and ``0``
        elsewhere, which *assumes* every annotated keypoint is visible,
        because MMPose's loader has collapsed v to {0, 1} there. The field
        is created even when the augmentation is not applied. Only values 1
        and 2 are changed (to 1) for keypoints outside the kept rectangle;
        0 (not annotated) and 3 (outside the activation window) are kept.
        ``keypoints_visible`` is never modified.

        Inside / outside uses closed intervals on continuous image
        coordinates with pixel centres at integers: pixel ``(i, j)`` and a
        keypoint ``(x, y)`` are kept iff ``x1 <= x <= x2`` and
        ``y1 <= y <= y2`` for the clipped kept box ``(x1, y1, x2, y2)``.

        Several instances (bottom-up data, N > 1): the image is shared, so a
        single kept rectangle is drawn from the *first* instance's context
        and applied to all instances (all bboxes clipped, all keypoints
        tested). Other instances may be cut away entirely; their bbox then
        degenerates to zero width or height. With N = 0 nothing is done.
        The same can happen to the single instance when
        ``keep_ratio[0] < 1 - 1 / padding``; with the defaults at least 75%
        of the bbox width and height always survive.

        ``results['crop_out_box']`` is the clipped kept rectangle (N, 4) in
        xyxy image coordinates (the same row for every instance), or None
        when the augmentation was not applied. ``area`` is left unchanged
        (it describes the person, not the visible part).
    """

    def __init__(self,
                 prob: float = 0.8,
                 keep_ratio: Union[float, Sequence[float]] = (0.7, 0.9),
                 padding: float = 1.25) -> None:
        super().__init__()
        if not isinstance(prob, Number) or isinstance(prob, bool) \
                or not 0.0 <= float(prob) <= 1.0:
            raise ValueError(
                f'`prob` must be a number in [0, 1], got {prob!r}')
        if isinstance(keep_ratio, Number) and not isinstance(keep_ratio, bool):
            keep_ratio = (keep_ratio, keep_ratio)
        try:
            low, high = (float(r) for r in keep_ratio)
        except (TypeError, ValueError):
            raise ValueError('`keep_ratio` must be a number or a pair '
                             f'(low, high), got {keep_ratio!r}') from None
        if not 0.0 < low <= high <= 1.0:
            raise ValueError('`keep_ratio` must satisfy 0 < low <= high <= 1,'
                             f' got {keep_ratio!r}')
        if not isinstance(padding, Number) or isinstance(padding, bool) \
                or not float(padding) >= 1.0:
            raise ValueError(f'`padding` must be a number >= 1, got '
                             f'{padding!r}')
        self.prob = float(prob)
        self.keep_ratio = (low, high)
        self.padding = float(padding)

    @cache_randomness
    def _draw(self) -> Optional[Tuple[np.ndarray, np.ndarray]]:
        """Draw the random parameters from ``numpy.random``'s global state.

        Returns:
            tuple | None: None when the augmentation is not applied, else
            ``(ratio, position)``:

            - ratio (np.ndarray): kept fraction of the context, shape (2,),
              order (w, h), each in ``keep_ratio``.
            - position (np.ndarray): where the kept segment sits in the
              removable margin, shape (2,), order (x, y), in ``[0, 1]``
              (0: flush with the left / top side of the context).
        """
        if np.random.rand() >= self.prob:
            return None
        ratio = np.random.uniform(*self.keep_ratio, size=2)
        position = np.random.uniform(0.0, 1.0, size=2)
        return ratio, position

    def _context(self, bbox: np.ndarray) -> np.ndarray:
        """Padded context of one bbox.

        Args:
            bbox (np.ndarray): xyxy box, shape (4,).

        Returns:
            np.ndarray: xyxy context, shape (4,), float64.
        """
        bbox = np.asarray(bbox, dtype=np.float64)
        center = (bbox[:2] + bbox[2:]) / 2
        half = (bbox[2:] - bbox[:2]) * self.padding / 2
        return np.concatenate([center - half, center + half])

    def kept_box(self, context: np.ndarray, ratio: np.ndarray,
                 position: np.ndarray,
                 img_shape: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray]:
        """Kept rectangle for given draws.

        Args:
            context (np.ndarray): xyxy padded context, shape (4,).
            ratio (np.ndarray): kept fraction (w, h), shape (2,).
            position (np.ndarray): position in the margin (x, y), shape (2,).
            img_shape (tuple[int, int]): image ``(H, W)``.

        Returns:
            tuple[np.ndarray, np.ndarray]: the kept rectangle before and after
            clipping to ``[0, W - 1] x [0, H - 1]``, each xyxy, shape (4,).
        """
        ctx_wh = context[2:] - context[:2]
        kept_wh = np.asarray(ratio, dtype=np.float64) * ctx_wh
        top_left = context[:2] + np.asarray(position) * (ctx_wh - kept_wh)
        box = np.concatenate([top_left, top_left + kept_wh])
        h, w = img_shape
        hi = np.array([w - 1, h - 1, w - 1, h - 1], dtype=np.float64)
        clipped = np.clip(box, 0.0, hi)
        return box, clipped

    @staticmethod
    def _raw_from_ann(raw_ann_info, num: int,
                      num_kpts: int) -> Optional[np.ndarray]:
        """Raw visibility from MMPose's ``raw_ann_info`` if it fits.

        Args:
            raw_ann_info (dict | list[dict] | None): raw COCO annotation(s).
            num (int): number of instances N.
            num_kpts (int): number of keypoints K.

        Returns:
            np.ndarray | None: raw v, shape (N, K), int64; None if the
            annotations are missing or do not match (N, K).
        """
        anns = [raw_ann_info] if isinstance(raw_ann_info, dict) \
            else raw_ann_info
        if not isinstance(anns, (list, tuple)) or len(anns) != num:
            return None
        rows = []
        for ann in anns:
            kpts = ann.get('keypoints') if isinstance(ann, dict) else None
            if kpts is None or len(kpts) != 3 * num_kpts:
                return None
            rows.append(np.rint(np.asarray(kpts, dtype=np.float64)[2::3]))
        return np.stack(rows).astype(np.int64).reshape(num, num_kpts)

    def _raw_visibility(self, results: Dict) -> Optional[np.ndarray]:
        """Current raw visibility (N, K) int64, or None without keypoints."""
        if results.get('keypoints_visibility_raw') is not None:
            return np.asarray(results['keypoints_visibility_raw']).astype(
                np.int64)
        vis = results.get('keypoints_visible')
        if vis is None:
            return None
        vis = np.asarray(vis)
        if vis.ndim == 3:  # (N, K, 2): visibility and its weight
            vis = vis[..., 0]
        raw = self._raw_from_ann(
            results.get('raw_ann_info'), vis.shape[0], vis.shape[1])
        if raw is None:
            raw = np.where(vis > 0, V_VISIBLE, V_UNANNOTATED).astype(np.int64)
        return raw

    def transform(self, results: Dict) -> Dict:
        """Apply the crop-out augmentation.

        Args:
            results (dict): Result dict with ``img`` (H, W[, C]) and ``bbox``
                (N, 4) xyxy, optionally ``keypoints`` (N, K, 2),
                ``keypoints_visible`` (N, K), ``keypoints_visibility_raw``
                (N, K), ``raw_ann_info``, ``bbox_center`` (N, 2) and
                ``bbox_scale`` (N, 2).

        Returns:
            dict: The result dict; ``crop_out_box`` is (N, 4) or None and
            ``keypoints_visibility_raw`` (N, K) int64 is present whenever
            keypoint visibilities are.
        """
        raw = self._raw_visibility(results)
        if raw is not None:
            results['keypoints_visibility_raw'] = raw
        results['crop_out_box'] = None

        bboxes = np.asarray(results['bbox'])
        if bboxes.ndim != 2 or bboxes.shape[0] == 0:
            return results
        draws = self._draw()
        if draws is None:
            return results
        ratio, position = draws

        img = results['img']
        img_shape = img.shape[:2]
        _, box = self.kept_box(
            self._context(bboxes[0]), ratio, position, img_shape)
        x1, y1, x2, y2 = box

        # black out all pixels whose centre lies outside the kept box
        c0, c1 = int(np.ceil(x1)), int(np.floor(x2)) + 1
        r0, r1 = int(np.ceil(y1)), int(np.floor(y2)) + 1
        out = img.copy()
        out[:r0] = 0
        out[r1:] = 0
        out[:, :c0] = 0
        out[:, c1:] = 0
        results['img'] = out

        # clip the bboxes to the kept box
        new_bboxes = np.clip(bboxes, box[[0, 1, 0, 1]],
                             box[[2, 3, 2, 3]]).astype(bboxes.dtype)
        results['bbox'] = new_bboxes
        if results.get('bbox_center') is not None \
                and results.get('bbox_scale') is not None:
            old_wh = (bboxes[:, 2:] - bboxes[:, :2]).astype(np.float64)
            new_wh = (new_bboxes[:, 2:] - new_bboxes[:, :2]).astype(np.float64)
            factor = np.divide(
                new_wh, old_wh, out=np.ones_like(new_wh), where=old_wh > 0)
            center = results['bbox_center']
            scale = results['bbox_scale']
            results['bbox_center'] = ((new_bboxes[:, :2] + new_bboxes[:, 2:]) /
                                      2).astype(np.asarray(center).dtype)
            results['bbox_scale'] = (np.asarray(scale) * factor).astype(
                np.asarray(scale).dtype)

        # keypoints outside the kept box: annotated, not visible
        if raw is not None and results.get('keypoints') is not None:
            kpts = np.asarray(results['keypoints'])[..., :2]
            with np.errstate(invalid='ignore'):
                inside = ((kpts[..., 0] >= x1) & (kpts[..., 0] <= x2)
                          & (kpts[..., 1] >= y1) & (kpts[..., 1] <= y2))
            hide = ~inside & ((raw == V_OCCLUDED) | (raw == V_VISIBLE))
            raw = raw.copy()
            raw[hide] = V_OCCLUDED
            results['keypoints_visibility_raw'] = raw

        results['crop_out_box'] = np.tile(
            box.astype(np.float32), (bboxes.shape[0], 1))
        return results

    def __repr__(self) -> str:
        """Print the parameters of the transform.

        Returns:
            str: Formatted string.
        """
        repr_str = self.__class__.__name__
        repr_str += f'(prob={self.prob}, '
        repr_str += f'keep_ratio={self.keep_ratio}, '
        repr_str += f'padding={self.padding})'
        return repr_str
