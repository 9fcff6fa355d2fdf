"""COCO keypoint evaluation with Ex-OKS and per-visibility APs.

:class:`ExCOCOeval` is ``xtcocotools``' ``COCOeval`` (the evaluator MMPose's
``CocoMetric`` uses) with its similarity replaced: matching, the 101-point
interpolated AP, AR and the area ranges follow xtcocotools exactly. What
changes:

* the keypoint similarity is computed vectorised, as plain OKS
  (``extended=False``) or as Ex-OKS (``extended=True``), with the
  arithmetic of :mod:`probpose_ext.ops.ex_oks`;
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

Speed: xtcocotools evaluates image by image in Python, with a loop over
thresholds x predictions x GTs for every area range. Here the GTs and
predictions of all evaluated images are gathered once into flat arrays
(kept across visibility levels, and across runs that change only Ex-OKS
settings such as ``presence_thr``); the similarities of every (prediction,
GT) pair are computed in one pass, the greedy matching runs once per
prediction rank for all images, IoU thresholds and area ranges together,
and :meth:`ExCOCOeval.accumulate` works on the resulting arrays. The
per-image records ``evalImgs`` are built only when read. The results are
those of xtcocotools' per-image code (``evaluateImg``, kept as the
reference, and ``accumulate``), which still runs for ``useCats=0``, for
NaN similarities and for ``accumulate(p)`` with custom parameters.

Note:
    - U: number of evaluation units, (category, image) pairs
    - D: number of predictions (of an image or, flat, of all units)
    - G: number of GT instances (of an image or, flat, of all units)
    - P: number of (prediction, GT) pairs of all units
    - A: number of area ranges
    - T: number of OKS thresholds
    - K: number of keypoints
"""
import contextlib
import copy
import datetime
import io
import time
from collections import OrderedDict, defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from xtcocotools.cocoeval import COCOeval

from ...ops.ex_oks import check_aw_distance, keypoint_similarity, masked_mean
from ...ops.windows import (activation_window, cropcoco_visibility,
                            sq_distance_outside_window,
                            sq_distance_to_window_boundary)

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


def _unit_of(anns: List[dict], img_pos: Dict, cat_pos: Dict,
             num_units: int) -> np.ndarray:
    """Unit index ``cat_pos * num_images + img_pos`` of each annotation;
    ``num_units`` for annotations outside the evaluated images/categories."""
    imgs = np.array([img_pos.get(a['image_id'], -1) for a in anns],
                    dtype=np.int64)
    cats = np.array([cat_pos.get(a['category_id'], -1) for a in anns],
                    dtype=np.int64)
    return np.where((imgs >= 0) & (cats >= 0), cats * len(img_pos) + imgs,
                    num_units)


def _keypoint_array(anns: List[dict], num_keypoints: int) -> np.ndarray:
    return np.array([a['keypoints'] for a in anns],
                    dtype=np.float64).reshape(len(anns), num_keypoints, 3)


class _Instances:
    """The GTs and predictions of the evaluated images as flat arrays.

    An evaluation *unit* is an (image, category) pair, ordered
    category-major as ``COCOeval.evalImgs``. Unit ``u`` owns the GTs
    ``g_ptr[u]:g_ptr[u + 1]`` (in ``COCOeval._gts`` order), the predictions
    ``d_ptr[u]:d_ptr[u + 1]`` (by decreasing score with a stable sort, at
    most ``maxDets[-1]``, as ``COCOeval.computeOks`` takes them) and the
    pairs ``p_ptr[u]:p_ptr[u + 1]``: its (D, G) similarity matrix, raveled.
    Loaded GTs of no unit come after the last unit's.

    Args:
        coco_gt (xtcocotools.coco.COCO): Ground truth.
        coco_dt (xtcocotools.coco.COCO): Results.
        params (xtcocotools.cocoeval.Params): Evaluation parameters.
        num_keypoints (int): K.
        presence_key (str): Result field holding the (K,) presence list.
    """

    def __init__(self, coco_gt, coco_dt, params, num_keypoints: int,
                 presence_key: str) -> None:
        p = params
        ann_filter = dict(imgIds=p.imgIds)
        if p.useCats:
            ann_filter['catIds'] = p.catIds
        gts = coco_gt.loadAnns(coco_gt.getAnnIds(**ann_filter))
        dts = coco_dt.loadAnns(coco_dt.getAnnIds(**ann_filter))
        self.img_ids, self.cat_ids = list(p.imgIds), list(p.catIds)
        num_units = len(self.img_ids) * len(self.cat_ids)
        self.num_units = num_units
        img_pos = {img: i for i, img in enumerate(self.img_ids)}
        cat_pos = {cat: i for i, cat in enumerate(self.cat_ids)}
        #: ``(imgId, catId)`` -> unit index.
        self.unit_index = {(img, cat): c * len(img_pos) + i
                           for cat, c in cat_pos.items()
                           for img, i in img_pos.items()}
        self._collect_gts(gts, _unit_of(gts, img_pos, cat_pos, num_units),
                          num_keypoints)
        self._collect_dts(dts, _unit_of(dts, img_pos, cat_pos, num_units),
                          num_keypoints, presence_key, p.maxDets[-1])
        self.has_any = (self.num_gt + self.num_dt_all) > 0
        self._pair_up()
        self._steps: Optional[List[Tuple[np.ndarray, ...]]] = None

    def _collect_gts(self, gts: List[dict], gt_unit: np.ndarray,
                     num_keypoints: int) -> None:
        """GT arrays, grouped by unit in loading order, and COCOeval's
        ``_gts``."""
        order = np.argsort(gt_unit, kind='stable')
        self.gts = [gts[i] for i in order]
        self.gt_unit = gt_unit[order]
        self.g_ptr = np.searchsorted(self.gt_unit,
                                     np.arange(self.num_units + 1))
        self.num_gt = np.diff(self.g_ptr)
        kpts = _keypoint_array(self.gts, num_keypoints)
        self.gt_xy = kpts[..., :2]
        self.gt_v = kpts[..., 2].astype(np.int64)
        self.gt_pad = np.full(self.gt_v.shape, np.nan)
        padded = [i for i, g in enumerate(self.gts) if 'pad_to_contain' in g]
        if padded:
            self.gt_pad[padded] = np.array(
                [self.gts[i]['pad_to_contain'] for i in padded],
                dtype=np.float64)
        self.gt_has_pad = np.zeros(len(self.gts), dtype=bool)
        self.gt_has_pad[padded] = True
        self.gt_bbox = np.array([g['bbox'] for g in self.gts],
                                dtype=np.float64).reshape(-1, 4)
        self.gt_area = np.array([g.get('area', np.nan) for g in self.gts],
                                dtype=np.float64)
        self.gt_has_area = np.array(['area' in g for g in self.gts],
                                    dtype=bool)
        self.gt_crowd = np.array([bool(g.get('iscrowd', 0)) for g in self.gts],
                                 dtype=bool)
        self.gt_ids = np.array([g['id'] for g in self.gts], dtype=np.int64)
        self.gts_by_key = defaultdict(list)
        for g in gts:
            self.gts_by_key[g['image_id'], g['category_id']].append(g)

    def _collect_dts(self, dts: List[dict], dt_unit: np.ndarray,
                     num_keypoints: int, presence_key: str,
                     max_det: int) -> None:
        """Prediction arrays and COCOeval's ``_dts``: predictions with a
        positive third value, grouped by unit, by decreasing score (stable
        sort), the first ``max_det`` of each unit."""
        dkpts = _keypoint_array(dts, num_keypoints)
        valid = (dkpts[..., 2] > 0).any(axis=1)
        presence = np.clip(dkpts[..., 2], 0, 1)
        given = [i for i, d in enumerate(dts)
                 if d.get(presence_key) is not None]
        if given:
            presence[given] = np.array([dts[i][presence_key] for i in given],
                                       dtype=np.float64)
        scores = np.array([d['score'] for d in dts], dtype=np.float64)
        units = np.arange(self.num_units + 1)
        cand = np.flatnonzero(valid & (dt_unit < self.num_units))
        cand = cand[np.lexsort((-scores[cand], dt_unit[cand]))]
        starts = np.searchsorted(dt_unit[cand], units)
        self.num_dt_all = np.diff(starts)
        rank = np.arange(cand.size) - starts[dt_unit[cand]]
        keep = rank < max_det
        cand, self.dt_rank = cand[keep], rank[keep]
        self.dts = [dts[i] for i in cand]
        self.dt_unit = dt_unit[cand]
        self.d_ptr = np.searchsorted(self.dt_unit, units)
        self.num_dt = np.diff(self.d_ptr)
        self.dt_xy = dkpts[cand, :, :2]
        self.dt_presence = presence[cand]
        self.dt_score = scores[cand]
        self.dt_area = np.array([d['area'] for d in self.dts],
                                dtype=np.float64)
        self.dt_ids = np.array([d['id'] for d in self.dts], dtype=np.int64)
        self.dts_by_key = defaultdict(list)
        for d, ok in zip(dts, valid.tolist()):
            if ok:
                self.dts_by_key[d['image_id'], d['category_id']].append(d)

    def _pair_up(self) -> None:
        """Every (prediction, GT) pair of each unit, prediction-major:
        ``pair_d`` (P,) and ``pair_g`` (P,) index the flat arrays."""
        num_pairs = self.num_gt * self.num_dt
        self.p_ptr = np.concatenate([[0], np.cumsum(num_pairs)])
        pair_unit = np.repeat(np.arange(self.num_units), num_pairs)
        local = np.arange(self.p_ptr[-1]) - self.p_ptr[pair_unit]
        gts_per_pair = self.num_gt[pair_unit]
        self.pair_d = self.d_ptr[pair_unit] + local // gts_per_pair
        self.pair_g = self.g_ptr[pair_unit] + local % gts_per_pair

    def unit_ious(self, ious: np.ndarray, unit: int):
        """The (D, G) block of unit ``unit`` in ``ious`` (P,), or ``[]``
        when it has no GT or no prediction (as ``COCOeval.computeOks``)."""
        start, stop = self.p_ptr[unit], self.p_ptr[unit + 1]
        if start == stop:
            return []
        return ious[start:stop].reshape(self.num_dt[unit], self.num_gt[unit])

    def steps(self) -> List[Tuple[np.ndarray, ...]]:
        """Index arrays of the matching, by prediction rank r (in order)
        and, within a rank, by number of GTs G: ``(gidx, pidx, didx)`` over
        the S units with G GTs and at least r + 1 predictions, where
        ``gidx`` (S, G) are their GTs, ``pidx`` (S, G) the pairs (r-th
        prediction, GT) and ``didx`` (S,) their r-th predictions."""
        if self._steps is None:
            self._steps = []
            rank = 0
            while True:
                act = np.flatnonzero((self.num_dt > rank) & (self.num_gt > 0))
                if not act.size:
                    break
                for size in np.unique(self.num_gt[act]).tolist():
                    units = act[self.num_gt[act] == size]
                    local = np.arange(size)
                    self._steps.append(
                        (self.g_ptr[units][:, None] + local,
                         (self.p_ptr[units] + rank * size)[:, None] + local,
                         self.d_ptr[units] + rank))
                rank += 1
        return self._steps


class _Similarities:
    """Per-keypoint similarities of every pair and the effective GT
    visibility, with the ignore flags and OKS of each level derived from
    them on demand.

    Args:
        inst (_Instances): The instances.
        vis (np.ndarray): Effective GT visibility in shape (G, K).
        sim (np.ndarray): Per-keypoint similarities in shape (P, K).
        regions (np.ndarray): Regions ``[x0, y0, x1, y1]`` (G, 4) of COCO's
            similarity to a GT without keypoints that count.
        areas (np.ndarray): GT areas ``s^2`` in shape (G,).
        sigmas (np.ndarray): Keypoint sigmas in shape (K,).
    """

    def __init__(self, inst: _Instances, vis: np.ndarray, sim: np.ndarray,
                 regions: np.ndarray, areas: np.ndarray,
                 sigmas: np.ndarray) -> None:
        self.inst, self.vis, self.sim = inst, vis, sim
        self.regions, self.areas, self.sigmas = regions, areas, sigmas
        self._masks: Dict[Optional[int], np.ndarray] = {}
        self._ious: Dict[Optional[int], np.ndarray] = {}
        self._fallback = np.full(len(inst.pair_g), np.nan)
        self._has_fallback = np.zeros(len(inst.pair_g), dtype=bool)

    def _fallback_of(self, pairs: np.ndarray) -> np.ndarray:
        """COCO's similarity (``ops.ex_oks.fallback_similarity``) of the
        pairs ``pairs`` (n,), computed once per pair: only pairs whose GT
        has no keypoint that counts at some level need it."""
        todo = pairs[~self._has_fallback[pairs]]
        if todo.size:
            inst, gts = self.inst, self.inst.pair_g[todo]
            outside = sq_distance_outside_window(
                inst.dt_xy[inst.pair_d[todo]], self.regions[gts][:, None])
            self._fallback[todo] = keypoint_similarity(
                outside[None], self.sigmas, self.areas[gts])[0].mean(axis=-1)
            self._has_fallback[todo] = True
        return self._fallback[pairs]

    def mask(self, level: Optional[int]) -> np.ndarray:
        """The GT keypoints (G, K) that count at ``level`` (None: all
        annotated ones)."""
        if level not in self._masks:
            self._masks[level] = (self.vis > 0
                                  if level is None else self.vis == level)
        return self._masks[level]

    def ignore(self, level: Optional[int]) -> np.ndarray:
        """GT ignore flags (G,): crowd or no keypoint that counts."""
        return self.inst.gt_crowd | ~self.mask(level).any(axis=-1)

    def ious(self, level: Optional[int]) -> np.ndarray:
        """(Ex-)OKS of every pair at ``level``, in shape (P,)."""
        if level not in self._ious:
            mask, pair_g = self.mask(level), self.inst.pair_g
            ious = masked_mean(self.sim[None], mask[pair_g])[0]
            empty = np.flatnonzero(~mask.any(axis=-1)[pair_g])
            ious[empty] = self._fallback_of(empty)
            self._ious[level] = ious
        return self._ious[level]


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
        self._fast: Optional[dict] = None
        self._eval_imgs = None
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
        self._inst_cache: Optional[Tuple[tuple, _Instances]] = None
        self._sim_cache: Optional[Tuple[tuple, _Similarities]] = None

    # ------------------------------------------------------------------
    # Per-image records, built when read
    # ------------------------------------------------------------------
    @property
    def evalImgs(self):
        """COCOeval's per-(category, area range, image) records; after a
        vectorised :meth:`evaluate` they are built on first access."""
        if self._eval_imgs is None and self._fast is not None:
            self._eval_imgs = self._build_eval_imgs()
        return self._eval_imgs

    @evalImgs.setter
    def evalImgs(self, value) -> None:
        self._eval_imgs = value
        self._fast = None

    # ------------------------------------------------------------------
    # GT and prediction arrays
    # ------------------------------------------------------------------
    def _effective_visibility(self, v: np.ndarray, pad: np.ndarray,
                              has_pad: np.ndarray) -> np.ndarray:
        """Effective visibility (N, K): plain OKS keeps {0, 1, 2}; Ex-OKS
        keeps {0, 1, 2, 3}, with ``pad_to_contain`` deciding 3 where given.

        Args:
            v (np.ndarray): Annotated visibility in shape (N, K).
            pad (np.ndarray): ``pad_to_contain`` in shape (N, K).
            has_pad (np.ndarray): Whether a row has ``pad_to_contain``, (N,).
        """
        if not self.extended:
            return np.where((v == 1) | (v == 2), v, 0)
        return cropcoco_visibility(v, pad, self.padding, has_pad[:, None])

    def _visibility(self, gt: dict) -> np.ndarray:
        """Effective visibility (K,) of one GT annotation."""
        v = np.asarray(gt['keypoints'], dtype=np.float64)[2::3].astype(
            np.int64)
        has_pad = 'pad_to_contain' in gt
        pad = (np.asarray(gt['pad_to_contain'], dtype=np.float64)
               if has_pad else np.full(v.shape, np.nan))
        return self._effective_visibility(v[None], pad[None],
                                          np.array([has_pad]))[0]

    def _instances(self) -> _Instances:
        """The flat GTs and predictions for the current parameters."""
        p = self.params
        key = (self.cocoGt, self.cocoDt, tuple(p.imgIds),
               tuple(p.catIds), p.useCats, p.maxDets[-1], self.presence_key,
               len(self.sigmas))
        if self._inst_cache is None or self._inst_cache[0] != key:
            inst = _Instances(self.cocoGt, self.cocoDt, p, len(self.sigmas),
                              self.presence_key)
            self._inst_cache = (key, inst)
        return self._inst_cache[1]

    def _similarities(self) -> _Similarities:
        """Similarities of every pair for the current settings, computed
        once for all visibility levels."""
        inst = self._instances()
        settings = (self.extended, self.presence_thr, self.padding,
                    self.aspect_ratio, self.aw_distance, self.use_area,
                    np.asarray(self.sigmas, dtype=np.float64).tobytes())
        if (self._sim_cache is None or self._sim_cache[0] != settings
                or self._sim_cache[1].inst is not inst):
            self._sim_cache = (settings, self._compute_similarities(inst))
        return self._sim_cache[1]

    def _compute_similarities(self, inst: _Instances) -> _Similarities:
        """Per-keypoint (Ex-)OKS of every pair, element for element the
        arithmetic of ``ops.ex_oks`` (so equal to its per-image matrices
        bit for bit)."""
        vis = self._effective_visibility(inst.gt_v, inst.gt_pad,
                                         inst.gt_has_pad)
        bbox = inst.gt_bbox
        if self.use_area:
            if not inst.gt_has_area.all():
                raise KeyError('use_area=True needs an "area" in every GT')
            areas = inst.gt_area
        else:
            areas = bbox[:, 3] * bbox[:, 2] * 0.53
        pair_d, pair_g = inst.pair_d, inst.pair_g
        pred_xy = inst.dt_xy[pair_d]  # P,K,2
        diff = pred_xy - inst.gt_xy[pair_g]
        sq = diff[..., 0]**2 + diff[..., 1]**2
        if self.extended:
            # the table of ops.ex_oks.ex_sq_distances, pair by pair
            windows = activation_window(bbox, self.aspect_ratio, self.padding)
            pred_in = (inst.dt_presence >= self.presence_thr)[pair_d]
            gt_in = (vis != 3)[pair_g]
            gt_to_aw = sq_distance_to_window_boundary(
                inst.gt_xy, windows[:, None], self.aw_distance)[pair_g]
            sq = np.where(gt_in, np.where(pred_in, sq, gt_to_aw), 0.0)
            # predicted in, GT out: from the prediction to the AW boundary
            pairs, kpts = np.nonzero(pred_in & ~gt_in)
            sq[pairs, kpts] = sq_distance_to_window_boundary(
                pred_xy[pairs, kpts], windows[pair_g[pairs]],
                self.aw_distance)
            regions = windows
        else:
            regions = _gt_region_2x(bbox)
        sim = keypoint_similarity(sq[None], self.sigmas, areas[pair_g])[0]
        return _Similarities(inst, vis, sim, regions, areas,
                             np.asarray(self.sigmas, dtype=np.float64))

    def _range_areas(self, inst: _Instances) -> np.ndarray:
        """GT areas compared with the area ranges (xtcocotools: ``area``
        when given and ``use_area``, else ``0.53 * bbox area``)."""
        box_area = inst.gt_bbox[:, 2] * inst.gt_bbox[:, 3] * 0.53
        if not self.use_area:
            return box_area
        return np.where(inst.gt_has_area, inst.gt_area, box_area)

    # ------------------------------------------------------------------
    # COCOeval hooks
    # ------------------------------------------------------------------
    def _prepare(self) -> None:
        """COCOeval's preparation for the current level: a GT is ignored
        when it is a crowd or has no keypoint that counts; predictions
        without a positive keypoint value are dropped."""
        inst = self._instances()
        ignore = self._similarities().ignore(self.level)
        for g, flag in zip(inst.gts, ignore.tolist()):
            g['ignore'] = flag
        self._gts, self._dts = inst.gts_by_key, inst.dts_by_key
        self.evalImgs = defaultdict(list)
        self.eval = {}

    def computeOks(self, imgId, catId):
        """(Ex-)OKS matrix (D, G) of an image for the current level."""
        inst = self._instances()
        unit = inst.unit_index.get((imgId, catId))
        if unit is None:
            return []
        ious = inst.unit_ious(self._similarities().ious(self.level), unit)
        return ious if isinstance(ious, list) else ious.copy()

    def evaluateImg(self, imgId, catId, aRng, maxDet):
        """xtcocotools' per-image evaluation (the reference the vectorised
        :meth:`evaluate` reproduces) plus the level rule."""
        result = super().evaluateImg(imgId, catId, aRng, maxDet)
        if (result is not None and self.level is not None
                and np.all(result['gtIgnore'])):
            result['dtIgnore'][:] = True
        return result

    @staticmethod
    def _params_key(p) -> tuple:
        return (tuple(p.imgIds), tuple(p.catIds),
                tuple(map(tuple, p.areaRng)), tuple(p.maxDets),
                np.asarray(p.iouThrs).tobytes(),
                np.asarray(p.recThrs).tobytes(), p.useCats)

    @staticmethod
    def _copy_params(p):
        """``copy.deepcopy(p)``, without deep-copying each of the
        (immutable) image and category ids."""
        ids = ('imgIds', 'catIds')
        copied = copy.copy(p)
        for name, value in vars(p).items():
            setattr(copied, name,
                    list(value) if name in ids else copy.deepcopy(value))
        return copied

    def evaluate(self) -> None:
        """Match every image's predictions to its GTs (xtcocotools'
        ``evaluate``, vectorised over images, thresholds and area
        ranges)."""
        tic = time.time()
        p = self.params
        if not p.useCats or p.useSegm is not None:
            super().evaluate()
            return
        p.imgIds = list(np.unique(p.imgIds))
        p.catIds = list(np.unique(p.catIds))
        p.maxDets = sorted(p.maxDets)
        self._prepare()
        inst = self._instances()
        sims = self._similarities()
        ious = sims.ious(self.level)
        if np.isnan(ious).any():
            # xtcocotools' loop treats NaN as a match in its own way
            super().evaluate()
            return
        print('Running per image evaluation...')
        print(f'Evaluate annotation type *{p.iouType}*')
        num_img = len(inst.img_ids)
        self.ious = {(img, cat): inst.unit_ious(ious, c * num_img + i)
                     for i, img in enumerate(inst.img_ids)
                     for c, cat in enumerate(inst.cat_ids)}
        self._fast = self._match(inst, sims.ignore(self.level), ious)
        self._eval_imgs = None
        self._paramsEval = self._copy_params(p)
        print('DONE (t={:0.2f}s).'.format(time.time() - tic))

    def _match(self, inst: _Instances, ignore: np.ndarray,
               ious: np.ndarray) -> dict:
        """xtcocotools' greedy matching of all units at once.

        At each prediction rank (predictions by decreasing score), every
        unit's prediction of that rank takes, per threshold and area range,
        among its GTs not matched yet (crowds always available) with OKS
        ``>=`` the threshold, the non-ignored one with the highest OKS (the
        last one on ties), or, without any, the ignored one with the
        highest OKS: xtcocotools' scan over GTs sorted ignored-last.

        Args:
            inst (_Instances): The instances.
            ignore (np.ndarray): GT ignore flags of the level, (G,).
            ious (np.ndarray): OKS of every pair, (P,).

        Returns:
            dict: ``dtm`` (D, A, T) matched GT ids or -1, ``gtm`` (G, A, T)
            matched prediction ids or -1, ``dt_ig`` (D, A, T) and ``gt_ig``
            (G, A) ignore flags, as in ``evaluateImg`` (transposed), plus
            the parameters they were computed with.
        """
        p = self.params
        thrs = np.minimum(np.asarray(p.iouThrs, dtype=np.float64), 1 - 1e-10)
        lo, hi = np.asarray(p.areaRng, dtype=np.float64).reshape(-1, 2).T
        num_gt, num_dt = inst.g_ptr[-1], len(inst.dts)
        areas = self._range_areas(inst)[:num_gt, None]
        gt_ig = ignore[:num_gt, None] | (areas < lo) | (areas > hi)  # G,A
        # (G|D, A, T): the reductions below run over contiguous rows
        shape = (len(lo), len(thrs))
        gtm = np.full((num_gt, ) + shape, -1, dtype=np.int64)
        dtm = np.full((num_dt, ) + shape, -1, dtype=np.int64)
        dt_ig = np.zeros((num_dt, ) + shape, dtype=bool)
        crowd = inst.gt_crowd[:, None, None]
        for gidx, pidx, didx in inst.steps():
            oks = ious[pidx][..., None, None]  # S,G,1,1
            ig = gt_ig[gidx][..., None]  # S,G,A,1
            cand = (gtm[gidx] < 0) | crowd[gidx]  # S,G,A,T
            cand &= oks >= thrs
            # non-ignored candidates first: the scan stops at ignored GTs
            cand &= ig != (cand & ~ig).any(axis=1, keepdims=True)
            val = np.where(cand, oks, -np.inf)
            cand &= val == val.max(axis=1, keepdims=True)
            # the last of the best (ties: the later GT wins)
            last = cand.shape[1] - 1 - cand[:, ::-1].argmax(axis=1)  # S,A,T
            s, a, t = np.nonzero(cand.any(axis=1))
            g, d = gidx[s, last[s, a, t]], didx[s]
            gtm[g, a, t] = inst.dt_ids[d]
            dtm[d, a, t] = inst.gt_ids[g]
            dt_ig[d, a, t] = gt_ig[g, a]
        # unmatched predictions outside the area range are ignored
        dt_area = inst.dt_area[:, None]
        dt_ig |= (dtm < 0) & ((dt_area < lo) | (dt_area > hi))[..., None]
        if self.level is not None:
            # all predictions of a unit whose GTs are all ignored
            regular = np.zeros((inst.num_units + 1, len(lo)), dtype=bool)
            g, a = np.nonzero(~gt_ig)
            regular[inst.gt_unit[g], a] = True
            dt_ig |= ~regular[inst.dt_unit][..., None]
        return dict(inst=inst, dtm=dtm, gtm=gtm, dt_ig=dt_ig, gt_ig=gt_ig,
                    area_rngs=list(p.areaRng), max_det=p.maxDets[-1],
                    params=self._params_key(p))

    def _build_eval_imgs(self) -> list:
        """``evalImgs`` as ``evaluateImg`` returns them, from the matching
        arrays (GTs sorted ignored-last with a stable sort)."""
        fast = self._fast
        inst = fast['inst']
        num_img = len(inst.img_ids)
        records = []
        for c, cat in enumerate(inst.cat_ids):
            for a, rng in enumerate(fast['area_rngs']):
                for i, img in enumerate(inst.img_ids):
                    u = c * num_img + i
                    if not inst.has_any[u]:
                        records.append(None)
                        continue
                    g0, g1 = inst.g_ptr[u], inst.g_ptr[u + 1]
                    d0, d1 = inst.d_ptr[u], inst.d_ptr[u + 1]
                    ig = fast['gt_ig'][g0:g1, a]
                    order = np.argsort(ig, kind='mergesort')
                    gts, dts = inst.gts[g0:g1], inst.dts[d0:d1]
                    records.append({
                        'image_id': img,
                        'category_id': cat,
                        'aRng': rng,
                        'maxDet': fast['max_det'],
                        'dtIds': [d['id'] for d in dts],
                        'gtIds': [gts[j]['id'] for j in order],
                        'dtMatches': fast['dtm'][d0:d1, a].T.copy(),
                        'gtMatches': fast['gtm'][g0:g1, a][order].T.copy(),
                        'dtScores': [d[self.score_key] for d in dts],
                        'gtIgnore': (ig[order].astype(np.int64)
                                     if g1 > g0 else np.array([])),
                        'dtIgnore': fast['dt_ig'][d0:d1, a].T.copy(),
                    })
        return records

    def accumulate(self, p=None) -> None:
        """xtcocotools' ``accumulate`` on the matching arrays (its own code
        runs, on ``evalImgs``, for custom parameters ``p``)."""
        fast = self._fast
        if (p is not None or fast is None
                or fast['params'] != self._params_key(self.params)):
            super().accumulate(p)
            return
        print('Accumulating evaluation results...')
        tic = time.time()
        p = self.params
        inst = fast['inst']
        T, R = len(p.iouThrs), len(p.recThrs)
        K, A, M = len(p.catIds), len(p.areaRng), len(p.maxDets)
        precision = -np.ones((T, R, K, A, M))
        recall = -np.ones((T, K, A, M))
        scores = -np.ones((T, R, K, A, M))
        num_img = len(inst.img_ids)
        for k in range(K):
            gts = slice(inst.g_ptr[k * num_img], inst.g_ptr[(k + 1) * num_img])
            dts = slice(inst.d_ptr[k * num_img], inst.d_ptr[(k + 1) * num_img])
            rank, dt_scores = inst.dt_rank[dts], inst.dt_score[dts]
            for a in range(A):
                npig = np.count_nonzero(~fast['gt_ig'][gts, a])
                if npig == 0:
                    continue
                for m, max_det in enumerate(p.maxDets):
                    keep = rank < max_det
                    kept_scores = dt_scores[keep]
                    order = np.argsort(-kept_scores, kind='mergesort')
                    dtm = fast['dtm'][dts, a][keep][order].T
                    dt_ig = fast['dt_ig'][dts, a][keep][order].T
                    q, ss, rc = self._precision_at_recalls(
                        dtm, dt_ig, npig, kept_scores[order], p.recThrs)
                    precision[:, :, k, a, m] = q
                    scores[:, :, k, a, m] = ss
                    recall[:, k, a, m] = rc
        self.eval = {
            'params': p,
            'counts': [T, R, K, A, M],
            'date': datetime.datetime.now().strftime('%Y-%m-%d %H:%M:%S'),
            'precision': precision,
            'recall': recall,
            'scores': scores,
        }
        print('DONE (t={:0.2f}s).'.format(time.time() - tic))

    @staticmethod
    def _precision_at_recalls(
            dtm: np.ndarray, dt_ig: np.ndarray, npig: int,
            sorted_scores: np.ndarray,
            rec_thrs: np.ndarray) -> Tuple[np.ndarray, ...]:
        """COCO's interpolated precision (T, R), the score at each recall
        threshold (T, R) and the final recall (T,) of predictions sorted by
        score.

        Args:
            dtm (np.ndarray): Matched GT ids or -1, in shape (T, D).
            dt_ig (np.ndarray): Ignore flags in shape (T, D).
            npig (int): Number of non-ignored GTs.
            sorted_scores (np.ndarray): Scores (D,), decreasing.
            rec_thrs (np.ndarray): Recall thresholds (R,).
        """
        tp = np.cumsum((dtm >= 0) & ~dt_ig, axis=1).astype(np.float64)
        fp = np.cumsum((dtm < 0) & ~dt_ig, axis=1).astype(np.float64)
        num_dt = tp.shape[1]
        rc = tp / npig
        pr = tp / (fp + tp + np.spacing(1))
        # precision envelope: the best precision at this recall or beyond
        pr = np.maximum.accumulate(pr[:, ::-1], axis=1)[:, ::-1]
        q = np.zeros((len(tp), len(rec_thrs)))
        ss = np.zeros_like(q)
        for t in range(len(tp)):
            inds = np.searchsorted(rc[t], rec_thrs, side='left')
            inds = inds[inds < num_dt]
            q[t, :inds.size] = pr[t, inds]
            ss[t, :inds.size] = sorted_scores[inds]
        final = rc[:, -1] if num_dt else np.zeros(len(tp))
        return q, ss, final

    # ------------------------------------------------------------------
    # Running
    # ------------------------------------------------------------------
    def visibility_levels(self) -> List[int]:
        """Visibility values of non-crowd GT keypoints in the evaluated
        images (after the ``pad_to_contain`` rule)."""
        inst = self._instances()
        vis = self._similarities().vis
        counted = (inst.gt_unit < inst.num_units) & ~inst.gt_crowd
        levels = set(np.unique(vis[counted]).tolist())
        # annotations of other categories in the evaluated images
        known = set(inst.gt_ids[inst.gt_unit < inst.num_units].tolist())
        img_ids = set(self.params.imgIds)
        for ann in self.cocoGt.loadAnns(
                self.cocoGt.getAnnIds(imgIds=self.params.imgIds)):
            if (ann['image_id'] in img_ids and not ann.get('iscrowd', 0)
                    and ann['id'] not in known):
                levels.update(int(v) for v in self._visibility(ann))
        return sorted(v for v in levels if v > 0)

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
