"""COCO keypoint metric with Ex-OKS / Ex-mAP (out-of-image keypoints)."""
import io
from collections import OrderedDict, defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.fileio import dump, load
from mmengine.logging import MMLogger
from mmpose.evaluation.functional import transform_pred
from mmpose.evaluation.metrics import CocoMetric
from mmpose.registry import METRICS

from ..ops.ex_oks import check_aw_distance
from ..utils.coco_file import check_coco_keypoints, load_coco_keypoints
from ..utils.validation import check_finite, is_local_path, strict_kwargs
from .functional.ex_cocoeval import ExCOCOeval

#: Prediction fields read as presence, in order, by ``presence_key='auto'``:
#: ProbPose's presence probability, else the heatmap confidence (how the
#: paper evaluates heatmap baselines).
AUTO_PRESENCE_KEYS = ('keypoint_presence', 'keypoint_scores')


@METRICS.register_module()
@strict_kwargs
class ExCocoMetric(CocoMetric):
    """MMPose's ``CocoMetric`` plus Ex-OKS metrics (ProbPose, CVPR 2025).

    It takes the arguments of :class:`mmpose.evaluation.CocoMetric` and
    behaves the same way (result files, NMS, rescoring, ``format_only``,
    converters, multi-process collection), and reports, under the same
    prefix (``coco/``):

    * the ten standard OKS statistics with MMPose's names (``AP``, ...,
      ``AR (L)``). Keypoints with CropCOCO visibility ``v=3`` (outside the
      activation window) are not scored by plain OKS;
    * the same ten with Ex-OKS, named ``Ex_AP``, ``Ex_AP .5``, ``Ex_AP .75``,
      ``Ex_AP (M)``, ``Ex_AP (L)``, ``Ex_AR``, ...;
    * with ``per_visibility``, the AP of each visibility level in the GT:
      ``AP (v=1)``, ``AP (v=2)``, ``Ex_AP (v=1)``, ..., ``Ex_AP (v=3)``;
    * with ``oracle_thrs``, the best Ex-AP over those presence thresholds
      on *this* evaluation set, only under its own names
      ``Ex_AP@oracle_thr`` and ``oracle_thr``.

    Ex-OKS needs, per predicted keypoint, whether the model says it is in
    the activation window: ``presence >= presence_thr``. Presence is read
    from ``pred_instances[presence_key]``; ``'auto'`` takes ProbPose's
    ``keypoint_presence`` and falls back to ``keypoint_scores`` (the
    heatmap confidence of a baseline). It is written to the result file as
    a ``presence`` list per instance, next to MMPose's usual fields. Choose
    the threshold on a separate split with
    ``tools/analysis_tools/choose_presence_thr.py``.

    Args:
        presence_thr (float): Presence threshold. Defaults to 0.5.
        aw_distance (str): Distance to the activation window: ``'edge'``
            (the paper, default) or ``'corner'`` (the authors'
            ``exococotools``).
        padding (float): Activation window = GT bbox fixed to
            ``aspect_ratio`` and scaled by ``padding``. Defaults to 1.25.
        aspect_ratio (float): Model input ``w / h``. Defaults to 0.75.
        presence_key (str): ``'auto'`` or a ``pred_instances`` field.
        per_visibility (bool): Report per-visibility APs. Defaults to True.
        oracle_thrs (Sequence[float], optional): Thresholds for the oracle
            sweep. Defaults to None (no sweep).
        **kwargs: The arguments of :class:`mmpose.evaluation.CocoMetric`
            (``ann_file``, ``use_area``, ``iou_type`` (only
            ``'keypoints'``), ``score_mode``, ``keypoint_score_thr``,
            ``nms_mode``, ``nms_thr``, ``format_only``, ``pred_converter``,
            ``gt_converter``, ``outfile_prefix``, ``collect_device``,
            ``prefix``).
    """

    def __init__(self,
                 *args,
                 presence_thr: float = 0.5,
                 aw_distance: str = 'edge',
                 padding: float = 1.25,
                 aspect_ratio: float = 0.75,
                 presence_key: str = 'auto',
                 per_visibility: bool = True,
                 oracle_thrs: Optional[Sequence[float]] = None,
                 **kwargs) -> None:
        ann_file = kwargs.get('ann_file', args[0] if args else None)
        if ann_file and is_local_path(ann_file):
            load_coco_keypoints(ann_file)
        super().__init__(*args, **kwargs)
        if self.iou_type != 'keypoints':
            raise ValueError('ExCocoMetric supports iou_type="keypoints" '
                             f'only, got {self.iou_type!r}')
        if not 0.0 <= presence_thr <= 1.0:
            raise ValueError(
                f'presence_thr must be in [0, 1], got {presence_thr}')
        if not padding >= 1.0:
            raise ValueError(f'padding must be >= 1, got {padding}')
        if not aspect_ratio > 0:
            raise ValueError(f'aspect_ratio must be > 0, got {aspect_ratio}')
        if oracle_thrs is not None and not all(
                0.0 <= t <= 1.0 for t in oracle_thrs):
            raise ValueError(f'oracle_thrs must be in [0, 1], got '
                             f'{list(oracle_thrs)}')
        self.presence_thr = float(presence_thr)
        self.aw_distance = check_aw_distance(aw_distance)
        self.padding = float(padding)
        self.aspect_ratio = float(aspect_ratio)
        self.presence_key = presence_key
        self.per_visibility = bool(per_visibility)
        self.oracle_thrs = (None if oracle_thrs is None else
                            [float(t) for t in oracle_thrs])
        self._pending_presence: Dict[int, List[np.ndarray]] = {}

    # ------------------------------------------------------------------
    # Collecting presence with the predictions
    # ------------------------------------------------------------------
    def _presence_key(self, pred_instances: dict) -> str:
        keys = (AUTO_PRESENCE_KEYS
                if self.presence_key == 'auto' else (self.presence_key, ))
        for key in keys:
            if key in pred_instances:
                return key
        raise KeyError(
            f'ExCocoMetric(presence_key={self.presence_key!r}): none of '
            f'{list(keys)} is in pred_instances (fields: '
            f'{sorted(pred_instances.keys())})')

    def process(self, data_batch: Sequence[dict],
                data_samples: Sequence[dict]) -> None:
        """``CocoMetric.process`` plus each instance's presence (N, K).

        Raises:
            ValueError: NaN / Inf in ``pred_instances.keypoints``,
                ``keypoint_scores`` or the presence field (the message
                names the field and the image id), or a presence whose
                shape is not that of ``keypoint_scores``.
        """
        presences = []
        for sample in data_samples:
            pred = sample['pred_instances']
            key = self._presence_key(pred)
            where = f'ExCocoMetric: image id {sample.get("img_id")}'
            for field in ('keypoints', 'keypoint_scores'):
                check_finite(pred[field], f'pred_instances.{field}', where)
            presences.append(
                check_finite(pred[key], f'pred_instances.{key}', where))
        first = len(self.results)
        super().process(data_batch, data_samples)
        for (pred, _), presence in zip(self.results[first:], presences):
            if presence.shape != pred['keypoint_scores'].shape:
                raise ValueError(
                    'presence must have the shape of keypoint_scores '
                    f'{pred["keypoint_scores"].shape}, got {presence.shape}')
            pred['keypoint_presence'] = presence

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """``CocoMetric.compute_metrics`` with presence carried along.

        ``CocoMetric`` builds one instance dict per prediction, in the order
        of ``results`` and of the instances within each; the presence of
        each is queued here in the same order and attached to its instance
        in :meth:`_sort_and_unique_bboxes`, before NMS. The ``ann_file``,
        validated when the metric was built, is checked again for the
        dataset's number of keypoints.
        """
        if self.ann_file and getattr(self, 'coco', None) is not None:
            num_keypoints = (self.dataset_meta or {}).get('num_keypoints')
            check_coco_keypoints(self.coco.dataset, str(self.ann_file),
                                 num_keypoints)
        pending = defaultdict(list)
        for pred, _ in results:
            presence = pred['keypoint_presence']
            if self.pred_converter is not None:
                presence = transform_pred(
                    dict(
                        keypoints=presence[..., None],
                        keypoint_scores=presence),
                    self.pred_converter['num_keypoints'],
                    self.pred_converter['mapping'])['keypoint_scores']
            pending[pred['img_id']].extend(presence)
        self._pending_presence = pending
        try:
            return super().compute_metrics(results)
        finally:
            self._pending_presence = {}

    def _sort_and_unique_bboxes(self, kpts: Dict[int, list],
                                key: str = 'id') -> Dict[int, list]:
        for img_id, instances in kpts.items():
            presence = self._pending_presence.get(img_id, [])
            if len(presence) != len(instances):
                raise RuntimeError(
                    f'image {img_id}: {len(instances)} instances but '
                    f'{len(presence)} presence vectors (CocoMetric changed '
                    'how it builds instances?)')
            for instance, pres in zip(instances, presence):
                instance['keypoint_presence'] = pres
        return super()._sort_and_unique_bboxes(kpts, key)

    def results2json(self, keypoints: Dict[int, list],
                     outfile_prefix: str) -> str:
        """Write MMPose's COCO result file, with a ``presence`` list (K,)
        per instance."""
        num_keypoints = self.dataset_meta['num_keypoints']
        results = []
        for instances in keypoints.values():
            for inst in instances:
                res = dict(
                    image_id=inst['img_id'],
                    category_id=inst['category_id'],
                    keypoints=np.asarray(inst['keypoints']).reshape(
                        num_keypoints * 3).tolist(),
                    score=float(inst['score']),
                    presence=np.asarray(
                        inst['keypoint_presence']).reshape(-1).tolist())
                if 'bbox' in inst:
                    res['bbox'] = np.asarray(inst['bbox']).tolist()
                results.append(res)
        res_file = f'{outfile_prefix}.keypoints.json'
        dump(results, res_file, sort_keys=True, indent=4)
        return res_file

    def gt_to_coco_json(self, gt_dicts: Sequence[dict],
                        outfile_prefix: str) -> str:
        """``CocoMetric.gt_to_coco_json`` keeping each annotation's
        ``pad_to_contain`` (CropCOCO), which decides GT in/out."""
        path = super().gt_to_coco_json(gt_dicts, outfile_prefix)
        extra = {
            ann['id']: ann['pad_to_contain']
            for gt in gt_dicts for ann in gt['raw_ann_info']
            if ann is not None and 'pad_to_contain' in ann
        }
        if extra:
            coco_json = load(path)
            for ann in coco_json['annotations']:
                if ann['id'] in extra:
                    ann['pad_to_contain'] = extra[ann['id']]
            dump(coco_json, path, sort_keys=True, indent=4)
        return path

    # ------------------------------------------------------------------
    # Evaluation
    # ------------------------------------------------------------------
    def _evaluator(self, coco_det, extended: bool,
                   presence_thr: Optional[float] = None) -> ExCOCOeval:
        return ExCOCOeval(
            self.coco,
            coco_det,
            self.dataset_meta['sigmas'],
            self.use_area,
            extended=extended,
            presence_thr=(self.presence_thr
                          if presence_thr is None else presence_thr),
            padding=self.padding,
            aspect_ratio=self.aspect_ratio,
            aw_distance=self.aw_distance)

    @staticmethod
    def ex_ap_sweep(evaluator: ExCOCOeval,
                    thrs: Sequence[float]) -> List[Tuple[float, float]]:
        """Ex-AP at each presence threshold, with one evaluator whose
        cached arrays serve every threshold.

        Args:
            evaluator (ExCOCOeval): An extended evaluator (its
                ``presence_thr`` is changed).
            thrs (Sequence[float]): Presence thresholds.

        Returns:
            list[tuple[float, float]]: ``(threshold, Ex_AP)`` pairs.
        """
        sweep = []
        for thr in thrs:
            evaluator.presence_thr = thr
            sweep.append((thr, evaluator.run(per_visibility=False)['Ex_AP']))
        return sweep

    def _do_python_keypoint_eval(self, outfile_prefix: str) -> list:
        """Standard and Ex-OKS statistics as ``(name, value)`` pairs."""
        logger: MMLogger = MMLogger.get_current_instance()
        coco_det = self.coco.loadRes(f'{outfile_prefix}.keypoints.json')
        log = io.StringIO()
        stats = OrderedDict()
        stats.update(
            self._evaluator(coco_det, extended=False).run(
                self.per_visibility, log))
        extended = self._evaluator(coco_det, extended=True)
        stats.update(extended.run(self.per_visibility, log))
        if self.oracle_thrs:
            best_ap, best_thr = -1.0, None
            for thr, ap in self.ex_ap_sweep(extended, self.oracle_thrs):
                if ap > best_ap:
                    best_ap, best_thr = ap, thr
            stats['Ex_AP@oracle_thr'] = best_ap
            stats['oracle_thr'] = best_thr
        logger.info(
            f'Ex-OKS settings: presence_thr={self.presence_thr}, '
            f'padding={self.padding}, aspect_ratio={self.aspect_ratio}, '
            f'aw_distance={self.aw_distance!r}\n' + log.getvalue())
        return list(stats.items())
