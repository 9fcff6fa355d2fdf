"""COCO keypoint evaluation with Ex-OKS and per-visibility APs.

:class:`ExCOCOeval` is ``xtcocotools``' ``COCOeval`` (the evaluator MMPose's
``CocoMetric`` uses) with its similarity replaced: matching, the 101-point
interpolated AP, AR and the area ranges are xtcocotools' own code. What
changes:

* the keypoint similarity is computed vectorised per image
  (:func:`probpose_ext.ops.ex_oks.ex_oks_matrix`), as plain OKS
  (``extended=False``) or as Ex-OKS (``extended=True``);
* CropCOCO visibility ``v=3`` (annotated, outside the activation window)
  is understood: plain OKS skips those keypoints (the model cannot localise
  them), Ex-OKS scores them as GT "out". When an annotation carries
  ``pad_to_contain`` (the padding each keypoint needs to be in the AW, as in
  the authors' CropCOCO files), GT "out" is ``pad_to_contain > padding``
  whatever ``v`` says, exactly as ``exococotools`` does;
* a prediction's keypoint is "in" when its presence is ``>= presence_thr``.
  Presence is read from the result's ``presence`` list, or, when absent,
  from the third value of each keypoint triplet (``exococotools``' rule);
* optional *visibility levels*: with ``level=v`` only keypoints with that
  ``v`` count, GTs without such keypoints are ignored and so are all
  predictions in an image whose GTs are all ignored (otherwise an image
  without, say, ``v=3`` keypoints would count its predictions as false
  positives).

With every keypoint in (``v`` in {0, 1, 2}) and ``extended=False`` the
result equals xtcocotools' ``COCOeval`` exactly; with
``aw_distance='corner'`` and the same threshold, Ex-AP equals
``exococotools`` 1.0.0 (tests check both). Two deliberate differences from
``exococotools`` remain on the overall (not per-visibility) numbers: crowd
GTs are ignored as in COCO, and predictions in images without any GT still
count as false positives.

Note:
    - D: number of predictions in an image
    - G: number of GT instances in an image
    - K: number of keypoints
"""
import contextlib
import io
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from xtcocotools.cocoeval import COCOeval

from ...ops.ex_oks import (check_aw_distance, ex_sq_distances,
                           fallback_similarity, keypoint_similarity,
                           masked_mean, plain_sq_distances)
from ...ops.windows import activation_window

#: Names of xtcocotools' ten keypoint summary statistics, in order (the
#: names MMPose's ``CocoMetric`` reports).
KEYPOINT_STATS = ('AP', 'AP .5', 'AP .75', 'AP (M)', 'AP (L)', 'AR',
                  'AR .5', 'AR .75', 'AR (M)', 'AR (L)')


def _gt_region_2x(bboxes: np.ndarray) -> np.ndarray:
    """COCO's region around a GT without keypoints: the bbox grown to
    three times its size about its top-left-anchored extent,
    ``[x - w, y - h, x + 2w, y + 2h]``."""
    x, y, w, h = bboxes.T
    return np.stack([x - w, y - h, x + 2 * w, y + 2 * h], axis=1)


class ExCOCOeval(COCOeval):
    """xtcocotools' ``COCOeval`` for body keypoints with Ex-OKS.

    Args:
        cocoGt (xtcocotools.coco.COCO): Ground truth.
        cocoDt (xtcocotools.coco.COCO): Results (``cocoGt.loadRes(...)``).
        sigmas (Sequence[float]): Per-keypoint sigmas (K,).
        use_area (bool): Use the GT ``area`` as ``s^2`` (else
            ``0.53 * bbox area``). Defaults to True.
        extended (bool): Ex-OKS (True) or plain OKS. Defaults to True.
        presence_thr (float): A predicted keypoint is in iff its presence is
            ``>=`` this. Defaults to 0.5.
        padding (float): Activation-window padding. Defaults to 1.25.
        aspect_ratio (float): Model input ``w / h`` that the GT bbox is
            fixed to. Defaults to 0.75.
        aw_distance (str): ``'edge'`` (the paper, default) or ``'corner'``
            (the authors' ``exococotools``).
        presence_key (str): Result field holding the (K,) presence list.
            Defaults to ``'presence'``.
    """

    def __init__(self,
                 cocoGt,
                 cocoDt,
                 sigmas: Sequence[float],
                 use_area: bool = True,
                 extended: bool = True,
                 presence_thr: float = 0.5,
                 padding: float = 1.25,
                 aspect_ratio: float = 0.75,
                 aw_distance: str = 'edge',
                 presence_key: str = 'presence') -> None:
        if not 0.0 <= presence_thr <= 1.0:
            raise ValueError(f'presence_thr must be in [0, 1], got '
                             f'{presence_thr}')
        if padding < 1.0:
            raise ValueError(f'padding must be >= 1, got {padding}')
        check_aw_distance(aw_distance)
        super().__init__(cocoGt, cocoDt, 'keypoints',
                         np.asarray(sigmas, dtype=np.float64), use_area)
        self.extended = bool(extended)
        self.presence_thr = float(presence_thr)
        self.padding = float(padding)
        self.aspect_ratio = float(aspect_ratio)
        self.aw_distance = aw_distance
        self.presence_key = presence_key
        #: Visibility level: None (all annotated keypoints) or a ``v``.
        self.level: Optional[int] = None
        self._cache: Dict[Tuple, Tuple] = {}
        self._cache_settings: Optional[Tuple] = None

    # ------------------------------------------------------------------
    # GT and prediction arrays
    # ------------------------------------------------------------------
    def _visibility(self, gt: dict) -> np.ndarray:
        """Effective visibility (K,) of a GT: plain OKS keeps {0, 1, 2};
        Ex-OKS keeps {0, 1, 2, 3} with ``pad_to_contain`` deciding 3."""
        v = np.asarray(gt['keypoints'], dtype=np.float64)[2::3].astype(
            np.int64)
        if not self.extended:
            return np.where((v == 1) | (v == 2), v, 0)
        if 'pad_to_contain' in gt:
            pad = np.asarray(gt['pad_to_contain'], dtype=np.float64)
            out = (pad > self.padding) & (v > 0)
            v = np.where(out, 3, np.where(v > 2, 1, v))
        return v

    def _gt_arrays(self, gts: List[dict]) -> Tuple[np.ndarray, ...]:
        kpts = np.array([g['keypoints'] for g in gts],
                        dtype=np.float64).reshape(len(gts), -1, 3)
        vis = np.stack([self._visibility(g) for g in gts])
        bboxes = np.array([g['bbox'] for g in gts], dtype=np.float64)
        if self.use_area:
            areas = np.array([g['area'] for g in gts], dtype=np.float64)
        else:
            areas = bboxes[:, 3] * bboxes[:, 2] * 0.53
        return kpts[..., :2], vis, bboxes, areas

    def _pred_in(self, dt: dict) -> np.ndarray:
        presence = dt.get(self.presence_key)
        if presence is None:
            presence = np.clip(np.asarray(dt['keypoints'])[2::3], 0, 1)
        return np.asarray(presence, dtype=np.float64) >= self.presence_thr

    def _sorted_dts(self, imgId, catId) -> List[dict]:
        """Predictions of an image by decreasing score, at most
        ``maxDets[-1]`` (as ``COCOeval.computeOks``)."""
        dts = self._dts[imgId, catId]
        order = np.argsort([-d[self.score_key] for d in dts], kind='mergesort')
        return [dts[i] for i in order[:self.params.maxDets[-1]]]

    def _similarities(self, imgId, catId) -> Optional[Tuple]:
        """Per-keypoint similarities (D, G, K), COCO's fallback (D, G) and
        the effective visibility (G, K) of an image, computed once for all
        levels."""
        key = (imgId, catId)
        if key in self._cache:
            return self._cache[key]
        gts, dts = self._gts[key], self._sorted_dts(imgId, catId)
        if not gts or not dts:
            self._cache[key] = None
            return None
        gt_xy, vis, bboxes, areas = self._gt_arrays(gts)
        pred_xy = np.array([d['keypoints'] for d in dts],
                           dtype=np.float64).reshape(len(dts), -1, 3)[..., :2]
        if self.extended:
            windows = activation_window(bboxes, self.aspect_ratio,
                                        self.padding)
            pred_in = np.stack([self._pred_in(d) for d in dts])
            sq = ex_sq_distances(pred_xy, pred_in, gt_xy, vis != 3, windows,
                                 self.aw_distance)
            regions = windows
        else:
            sq = plain_sq_distances(pred_xy, gt_xy)
            regions = _gt_region_2x(bboxes)
        sim = keypoint_similarity(sq, self.sigmas, areas)
        fallback = fallback_similarity(pred_xy, regions, self.sigmas, areas)
        self._cache[key] = (sim, fallback, vis)
        return self._cache[key]

    def _level_mask(self, vis: np.ndarray) -> np.ndarray:
        return vis > 0 if self.level is None else vis == self.level

    # ------------------------------------------------------------------
    # COCOeval hooks
    # ------------------------------------------------------------------
    def _prepare(self) -> None:
        """COCOeval's preparation, then the ignore flags of the level: a GT
        is ignored when it is a crowd or has no keypoint that counts."""
        super()._prepare()
        settings = (self.extended, self.presence_thr, self.padding,
                    self.aspect_ratio, self.aw_distance, self.presence_key,
                    self.use_area, tuple(self.params.maxDets))
        if settings != self._cache_settings:
            self._cache, self._cache_settings = {}, settings
        for gts in self._gts.values():
            for g in gts:
                counted = self._level_mask(self._visibility(g)).any()
                g['ignore'] = bool(g.get('iscrowd', 0)) or not counted

    def computeOks(self, imgId, catId):
        """(Ex-)OKS matrix (D, G) of an image for the current level."""
        cached = self._similarities(imgId, catId)
        if cached is None:
            return []
        sim, fallback, vis = cached
        mask = self._level_mask(vis)
        ious = masked_mean(sim, mask)
        empty = ~mask.any(axis=-1)
        ious[:, empty] = fallback[:, empty]
        return ious

    def evaluateImg(self, imgId, catId, aRng, maxDet):
        result = super().evaluateImg(imgId, catId, aRng, maxDet)
        if (result is not None and self.level is not None
                and np.all(result['gtIgnore'])):
            result['dtIgnore'][:] = True
        return result

    # ------------------------------------------------------------------
    # Running
    # ------------------------------------------------------------------
    def visibility_levels(self) -> List[int]:
        """Visibility values of non-crowd GT keypoints in the evaluated
        images (after the ``pad_to_contain`` rule)."""
        levels = set()
        img_ids = set(self.params.imgIds)
        for ann in self.cocoGt.loadAnns(
                self.cocoGt.getAnnIds(imgIds=self.params.imgIds)):
            if ann['image_id'] in img_ids and not ann.get('iscrowd', 0):
                levels.update(int(v) for v in self._visibility(ann) if v > 0)
        return sorted(levels)

    def run(self, per_visibility: bool = True,
            log: Optional[io.StringIO] = None) -> 'OrderedDict[str, float]':
        """Evaluate and return the summary statistics.

        Args:
            per_visibility (bool): Also compute the AP of each visibility
                level present in the GT. Defaults to True.
            log (io.StringIO, optional): Receives xtcocotools' printout
                (silenced otherwise).

        Returns:
            OrderedDict: ``KEYPOINT_STATS`` (prefixed ``Ex_`` when
            ``extended``) and ``AP (v=N)`` per visibility level.
        """
        prefix = 'Ex_' if self.extended else ''
        sink = log if log is not None else io.StringIO()
        with contextlib.redirect_stdout(sink):
            self.level = None
            self.evaluate()
            self.accumulate()
            self.summarize()
            stats = OrderedDict(
                (prefix + name, float(value))
                for name, value in zip(KEYPOINT_STATS, self.stats))
            if per_visibility:
                for v in self.visibility_levels():
                    stats[f'{prefix}AP (v={v})'] = self.level_ap(v)
        self.level = None
        return stats

    def level_ap(self, level: int) -> float:
        """AP over all areas of one visibility level (``-1`` when it has no
        GT), evaluating the 'all' area range only."""
        params = self.params
        saved = (params.areaRng, params.areaRngLbl)
        params.areaRng, params.areaRngLbl = [saved[0][0]], [saved[1][0]]
        self.level = level
        try:
            self.evaluate()
            self.accumulate()
        finally:
            params.areaRng, params.areaRngLbl = saved
            self.level = None
        precision = self.eval['precision'][..., 0, -1]
        valid = precision[precision > -1]
        return float(valid.mean()) if valid.size else -1.0
