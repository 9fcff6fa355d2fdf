"""Choosing the Ex-OKS presence threshold on a selection split.

Ex-OKS turns each predicted keypoint's presence probability into an in/out
decision, ``presence >= presence_thr``. That threshold is part of the
metric: it must be fixed in advance (0.5, the default of
:class:`~probpose_ext.evaluation.ExCocoMetric`) or chosen on a split that is
*not* the evaluation set. A sweep on the evaluation set itself is an oracle
number and is only reported under its own name (``Ex_AP@oracle_thr``, see
``ExCocoMetric(oracle_thrs=...)``).

:func:`choose_presence_thr` reads the predictions of a model on a
*selection* split (``tools/test.py CONFIG CKPT --dump sel.pkl`` with the
selection split as test set: MMEngine ``DumpResults``, one data-sample dict
per instance, exactly what a metric's ``process`` receives), evaluates a
criterion at each threshold of a grid and returns the best threshold:

* ``'ex_ap'``: Ex-AP of :class:`~probpose_ext.evaluation.ExCocoMetric` on
  the selection split (COCO evaluation, result building, NMS and rescoring
  are the metric's own);
* ``'balanced_acc'``: balanced in/out accuracy of the presence against the
  GT activation window (:func:`~probpose_ext.analysis.inout.load_inout` and
  :func:`~probpose_ext.analysis.inout.accuracy_curves`).

Ties go to the threshold closest to 0.5 (then to the lower one), so a flat
curve keeps the default. The chosen value is then passed to the evaluation
of the test split, e.g. ``--cfg-options test_evaluator.presence_thr=0.35``
(:func:`presence_thr_cfg_options`).

Note:
    - N: number of data samples (instances) in the dump
    - T: number of thresholds
"""
import contextlib
import io
import os
import warnings
from typing import List, Mapping, Optional, Sequence, Union

import numpy as np

from ..evaluation.ex_coco_metric import AUTO_PRESENCE_KEYS, ExCocoMetric
from .inout import Dump, accuracy_curves, load_inout, load_samples

#: Criteria :func:`choose_presence_thr` can maximise.
CRITERIA = ('ex_ap', 'balanced_acc')

#: The fixed threshold reported beside the chosen one (ExCocoMetric's
#: default) and preferred among ties.
FIXED_THR = 0.5

#: Default grid 0.05, 0.10, ..., 0.95 (exact decimals: ``i / 20``).
DEFAULT_THRESHOLDS = tuple(i / 20 for i in range(1, 20))

#: ExCocoMetric arguments set by :func:`choose_presence_thr` itself, which
#: ``metric_kwargs`` may not override.
_RESERVED_METRIC_ARGS = ('ann_file', 'presence_thr', 'oracle_thrs',
                         'per_visibility', 'aw_distance', 'padding',
                         'aspect_ratio', 'presence_key', 'format_only',
                         'outfile_prefix')


# --------------------------------------------------------------------------
# Picking a threshold
# --------------------------------------------------------------------------
def check_thresholds(thresholds: Optional[Sequence[float]]) -> np.ndarray:
    """Validate a threshold grid: sorted, without duplicates.

    Args:
        thresholds (Sequence[float], optional): Thresholds in [0, 1]. None
            gives :data:`DEFAULT_THRESHOLDS`.

    Returns:
        np.ndarray: Sorted unique thresholds in shape (T, ).
    """
    grid = np.asarray(
        DEFAULT_THRESHOLDS if thresholds is None else list(thresholds),
        dtype=np.float64).reshape(-1)
    if grid.size == 0:
        raise ValueError('no thresholds given')
    if not (np.isfinite(grid).all() and (grid >= 0).all() and
            (grid <= 1).all()):
        raise ValueError(f'thresholds must be in [0, 1], got {grid.tolist()}')
    return np.unique(grid)


def pick_threshold(thresholds: Sequence[float],
                   values: Sequence[float],
                   prefer: float = FIXED_THR,
                   atol: float = 1e-12) -> int:
    """Index of the threshold with the highest value.

    Values within ``atol`` of the maximum tie; among ties the threshold
    closest to ``prefer`` wins (distances compared to 1e-9), then the lower
    one. NaN values never win.

    Args:
        thresholds (Sequence[float]): Thresholds (T, ).
        values (Sequence[float]): Criterion value at each threshold (T, ).
        prefer (float): Tie-breaking target. Defaults to 0.5.
        atol (float): Absolute tolerance of a tie. Defaults to 1e-12.

    Returns:
        int: Index into ``thresholds``.
    """
    thr = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    val = np.asarray(values, dtype=np.float64).reshape(-1)
    if thr.shape != val.shape or thr.size == 0:
        raise ValueError(f'need as many values as thresholds (> 0), got '
                         f'{val.size} values for {thr.size} thresholds')
    if np.isnan(val).all():
        raise ValueError('every criterion value is NaN')
    ties = np.flatnonzero(val >= np.nanmax(val) - atol)
    # distances rounded so that 0.7 and 0.9 are equally far from 0.8
    distance = np.round(np.abs(thr[ties] - prefer), 9)
    # lexsort: the last key is the primary one
    order = np.lexsort((thr[ties], distance))
    return int(ties[order[0]])


def presence_thr_cfg_options(thr: float,
                             evaluator: str = 'test_evaluator'
                             ) -> List[str]:
    """``--cfg-options`` items setting ``presence_thr`` of an evaluator.

    Args:
        thr (float): The threshold.
        evaluator (str): Config key of the evaluator. Defaults to
            ``'test_evaluator'``.

    Returns:
        list[str]: The form for a single evaluator (a dict), then the form
        for a list of evaluators whose first one is the ExCocoMetric.
    """
    value = repr(float(thr))
    return [f'{evaluator}.presence_thr={value}',
            f'{evaluator}.0.presence_thr={value}']


# --------------------------------------------------------------------------
# Criteria
# --------------------------------------------------------------------------
class _ExApSweepMetric(ExCocoMetric):
    """ExCocoMetric whose evaluation is the Ex-AP at every ``oracle_thrs``.

    ``ExCocoMetric`` keeps only the best value of its oracle sweep; here the
    whole sweep is kept, and nothing else is evaluated (the standard OKS
    statistics do not depend on the threshold). Each value is the Ex-AP of
    the metric's own evaluator (:meth:`ExCocoMetric.ex_ap_sweep`) with that
    ``presence_thr``, on the result file the metric itself wrote, i.e. what
    ``ExCocoMetric(presence_thr=thr)`` reports as ``Ex_AP``.
    """

    def _do_python_keypoint_eval(self, outfile_prefix: str) -> list:
        with contextlib.redirect_stdout(io.StringIO()):  # xtcocotools chat
            coco_det = self.coco.loadRes(f'{outfile_prefix}.keypoints.json')
        sweep = self.ex_ap_sweep(self._evaluator(coco_det, extended=True),
                                 self.oracle_thrs)
        return [(f'Ex_AP@{thr!r}', ap) for thr, ap in sweep]


def _resolve_presence_key(samples: Sequence[Mapping],
                          presence_key: str) -> str:
    """The ``pred_instances`` field read as presence (``'auto'`` resolved
    on the first sample, as ExCocoMetric and ``load_inout`` do)."""
    if presence_key != 'auto':
        return presence_key
    pred = samples[0].get('pred_instances') or {}
    for key in AUTO_PRESENCE_KEYS:
        if key in pred:
            return key
    raise KeyError(f'pred_instances has none of {list(AUTO_PRESENCE_KEYS)} '
                   f'(fields: {sorted(pred)}); pass presence_key')


def _dataset_meta(metric: ExCocoMetric, metainfo: Optional[dict]) -> dict:
    """Keypoint metainfo plus ``CLASSES`` from the GT categories."""
    from ..utils.metainfo import load_metainfo
    if metainfo is None:
        meta = load_metainfo()
    elif 'sigmas' in metainfo and 'num_keypoints' in metainfo:
        meta = dict(metainfo)  # already parsed
    else:
        meta = load_metainfo(metainfo)
    meta.setdefault('CLASSES',
                    metric.coco.loadCats(metric.coco.getCatIds()))
    return meta


def _check_image_ids(samples: Sequence[Mapping], metric: ExCocoMetric,
                     ann_file: str) -> None:
    """Clear errors before xtcocotools' assertion on unknown images."""
    try:
        img_ids = {int(np.asarray(s['img_id']).reshape(-1)[0])
                   for s in samples}
    except KeyError as e:
        raise ValueError('every data sample needs an `img_id`') from e
    gt_ids = set(metric.coco.getImgIds())
    missing = sorted(img_ids - gt_ids)
    if missing:
        raise ValueError(
            f'{len(missing)} image ids of the dump are not in {ann_file} '
            f'(e.g. {missing[:5]}): the dump was made on another split')
    if len(img_ids) < len(gt_ids):
        warnings.warn(
            f'the dump covers {len(img_ids)} of the {len(gt_ids)} images of '
            f'{ann_file}; the GT of the others counts as missed')


def ex_ap_curve(samples: Sequence[Mapping],
                ann_file: str,
                thresholds: Sequence[float],
                aw_distance: str = 'edge',
                padding: float = 1.25,
                aspect_ratio: float = 0.75,
                presence_key: str = 'auto',
                metainfo: Optional[dict] = None,
                metric_kwargs: Optional[dict] = None) -> np.ndarray:
    """Ex-AP of :class:`ExCocoMetric` at each presence threshold.

    Args:
        samples (Sequence[dict]): Dumped data samples (what
            ``ExCocoMetric.process`` receives).
        ann_file (str): COCO keypoint json of the samples' split.
        thresholds (Sequence[float]): Thresholds (T, ) in [0, 1].
        aw_distance (str): ``'edge'`` or ``'corner'``. Defaults to
            ``'edge'``.
        padding (float): Activation-window padding. Defaults to 1.25.
        aspect_ratio (float): Model input ``w / h``. Defaults to 0.75.
        presence_key (str): ``'auto'`` or a ``pred_instances`` field.
        metainfo (dict, optional): Keypoint metainfo (parsed, or a spec for
            :func:`probpose_ext.utils.metainfo.load_metainfo`). Defaults to
            COCO.
        metric_kwargs (dict, optional): Further ``CocoMetric`` arguments,
            e.g. ``score_mode``, ``nms_mode``, ``use_area``; use those of
            the evaluation config.

    Returns:
        np.ndarray: Ex-AP at each threshold, shape (T, ).
    """
    from mmengine.logging import MMLogger
    metric_kwargs = dict(metric_kwargs or {})
    reserved = sorted(set(metric_kwargs) & set(_RESERVED_METRIC_ARGS))
    if reserved:
        raise ValueError(f'metric_kwargs may not set {reserved}: they are '
                         'arguments of choose_presence_thr')
    thresholds = [float(t) for t in thresholds]
    MMLogger.get_current_instance()  # before stdout is redirected below
    with contextlib.redirect_stdout(io.StringIO()):  # COCO() chat
        metric = _ExApSweepMetric(
            ann_file=ann_file,
            oracle_thrs=thresholds,
            per_visibility=False,
            aw_distance=aw_distance,
            padding=padding,
            aspect_ratio=aspect_ratio,
            presence_key=presence_key,
            **metric_kwargs)
    _check_image_ids(samples, metric, ann_file)
    metric.dataset_meta = _dataset_meta(metric, metainfo)
    metric.process([], samples)
    metrics = metric.evaluate(len(samples))
    return np.array(
        [metrics[f'{metric.prefix}/Ex_AP@{thr!r}'] for thr in thresholds])


def balanced_acc_curve(samples: Sequence[Mapping],
                       ann_file: Optional[str],
                       thresholds: Sequence[float],
                       padding: float = 1.25,
                       presence_key: str = 'auto') -> np.ndarray:
    """Balanced in/out accuracy of ``presence >= thr`` at each threshold.

    GT in/out is that of Ex-OKS: ``pad_to_contain > padding`` where the
    annotation has it, else CropCOCO ``v == 3``
    (``load_inout(label_source='auto')``).

    Args:
        samples (Sequence[dict]): Dumped data samples, one per GT
            annotation (top-down on GT boxes).
        ann_file (str, optional): COCO json matched by annotation id for
            samples without ``raw_ann_info``.
        thresholds (Sequence[float]): Thresholds (T, ).
        padding (float): Activation-window padding. Defaults to 1.25.
        presence_key (str): ``'auto'`` or a ``pred_instances`` field.

    Returns:
        np.ndarray: Balanced accuracy at each threshold, shape (T, ).
    """
    labels_out, scores_in = load_inout(
        samples, ann_file=ann_file, score_key=presence_key, padding=padding,
        label_source='auto')
    curves = accuracy_curves(labels_out, scores_in,
                             np.asarray(thresholds, dtype=np.float64))
    if curves['n_in'] == 0 or curves['n_out'] == 0:
        raise ValueError(
            f"the selection split has {curves['n_in']} GT-in and "
            f"{curves['n_out']} GT-out keypoints: the balanced accuracy "
            'needs both to choose a threshold')
    return curves['balanced_acc']


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------
def choose_presence_thr(dump: Dump,
                        ann_file: Union[str, os.PathLike],
                        criterion: str = 'ex_ap',
                        thresholds: Optional[Sequence[float]] = None,
                        aw_distance: str = 'edge',
                        padding: float = 1.25,
                        aspect_ratio: float = 0.75,
                        presence_key: str = 'auto',
                        metainfo: Optional[dict] = None,
                        metric_kwargs: Optional[dict] = None) -> dict:
    """Choose the Ex-OKS presence threshold on a selection split.

    The dump and ``ann_file`` must be a split that is *not* the evaluation
    set; the chosen threshold is then fixed for evaluation. The criterion
    is evaluated at every threshold (plus 0.5, for comparison) and the best
    threshold is kept; ties go to the one closest to 0.5
    (:func:`pick_threshold`).

    Args:
        dump (str | PathLike | list[dict]): Predictions on the selection
            split: a pickle written by ``tools/test.py ... --dump`` or its
            list of data-sample dicts.
        ann_file (str | PathLike): COCO keypoint json of that split.
        criterion (str): ``'ex_ap'`` (Ex-AP of :class:`ExCocoMetric`) or
            ``'balanced_acc'`` (balanced in/out accuracy of the presence,
            needs predictions on GT boxes). Defaults to ``'ex_ap'``.
        thresholds (Sequence[float], optional): Candidate thresholds in
            [0, 1]. Defaults to 0.05, 0.10, ..., 0.95.
        aw_distance (str): Ex-OKS distance to the activation window,
            ``'edge'`` or ``'corner'`` (``'ex_ap'`` only). Defaults to
            ``'edge'``.
        padding (float): Activation-window padding. Defaults to 1.25.
        aspect_ratio (float): Model input ``w / h`` (``'ex_ap'`` only).
            Defaults to 0.75.
        presence_key (str): ``pred_instances`` field read as presence;
            ``'auto'``: ``keypoint_presence`` if present, else
            ``keypoint_scores``. Defaults to ``'auto'``.
        metainfo (dict, optional): Keypoint metainfo (``'ex_ap'`` only);
            defaults to COCO, with ``CLASSES`` from the GT categories.
        metric_kwargs (dict, optional): Further ``CocoMetric`` arguments
            for ``'ex_ap'`` (``score_mode``, ``nms_mode``, ``use_area``,
            ...): use those of the evaluation config.

    Returns:
        dict:
        - thr (float): The chosen threshold.
        - criterion (str): The criterion.
        - value (float): The criterion at ``thr``.
        - curve (dict[float, float]): Threshold -> value, for the
          candidate thresholds.
        - value@0.5 (float): The criterion at the fixed threshold 0.5.
        - presence_key (str): The ``pred_instances`` field used.
        - num_samples (int): Number of data samples in the dump.
        - settings (dict): ``aw_distance``, ``padding``, ``aspect_ratio``.
    """
    if criterion not in CRITERIA:
        raise ValueError(f'criterion must be one of {CRITERIA}, got '
                         f'{criterion!r}')
    grid = check_thresholds(thresholds)
    if isinstance(dump, (str, os.PathLike)) and not os.path.isfile(dump):
        raise FileNotFoundError(f'{os.fspath(dump)}: prediction dump not '
                                'found')
    if not os.path.isfile(ann_file):
        raise FileNotFoundError(f'{os.fspath(ann_file)}: annotation file '
                                'not found')
    ann_file = os.fspath(ann_file)
    samples = load_samples(dump)
    if not samples:
        raise ValueError('the prediction dump is empty')
    key = _resolve_presence_key(samples, presence_key)

    evaluated = np.union1d(grid, [FIXED_THR])
    if criterion == 'ex_ap':
        values = ex_ap_curve(samples, ann_file, evaluated, aw_distance,
                             padding, aspect_ratio, key, metainfo,
                             metric_kwargs)
    else:
        values = balanced_acc_curve(samples, ann_file, evaluated, padding,
                                    key)
    on_grid = np.isin(evaluated, grid)
    grid_values = values[on_grid]
    best = pick_threshold(grid, grid_values)
    return {
        'thr': float(grid[best]),
        'criterion': criterion,
        'value': float(grid_values[best]),
        'curve': {float(t): float(v) for t, v in zip(grid, grid_values)},
        f'value@{FIXED_THR}': float(values[evaluated == FIXED_THR][0]),
        'presence_key': key,
        'num_samples': len(samples),
        'settings': dict(aw_distance=aw_distance, padding=float(padding),
                         aspect_ratio=float(aspect_ratio)),
    }


def presence_thr_table(result: Mapping) -> str:
    """Markdown table of a :func:`choose_presence_thr` result.

    Args:
        result (Mapping): The output of :func:`choose_presence_thr`.

    Returns:
        str: One row per threshold, the chosen one and 0.5 marked.
    """
    name = 'Ex_AP' if result['criterion'] == 'ex_ap' else 'balanced acc.'
    lines = [f'| presence_thr | {name} |', '|---|---|']
    for thr, value in result['curve'].items():
        marks = [m for m, hit in (('chosen', thr == result['thr']),
                                  ('fixed', thr == FIXED_THR)) if hit]
        mark = f" ({', '.join(marks)})" if marks else ''
        lines.append(f'| {thr:.2f}{mark} | {100 * value:.2f} |')
    if FIXED_THR not in result['curve']:
        lines.append(f'| {FIXED_THR:.2f} (fixed) | '
                     f"{100 * result[f'value@{FIXED_THR}']:.2f} |")
    return '\n'.join(lines) + '\n'
