"""In/out classification accuracy versus threshold (ProbPose paper, Fig. 5).

Every annotated ground-truth keypoint of a top-down instance is either *in*
or *out* of the instance's activation window (AW, DESIGN.md section 3). A
model says "in" when its score reaches a threshold: ProbPose's presence
probability (``pred_instances.keypoint_presence``), or a heatmap baseline's
maximum heatmap confidence (``pred_instances.keypoint_scores``). This module
reads the predictions dumped by ``tools/test.py CONFIG CKPT --dump P.pkl``,
computes the accuracy and the balanced accuracy (mean of the in-recall and
the out-recall) of that decision over a grid of thresholds, summarises the
curves (fixed threshold 0.5, and the best threshold *on the evaluated set*,
which is an oracle number and is named as such) and compares models by
their error reduction ``1 - err_A / err_B``.

GT in/out labels (``label_source``):

* ``'visibility'``: CropCOCO visibility, ``v == 3`` means out of the AW,
  ``v in (1, 2)`` in; ``v == 0`` (not annotated) is skipped.
* ``'pad_to_contain'``: the annotation's ``pad_to_contain`` list (K floats,
  the smallest AW padding that contains the keypoint): out iff
  ``pad_to_contain > padding``. Keypoints with ``v == 0`` are still skipped;
  a missing (``None``/NaN) entry falls back to ``v``.
* ``'auto'`` (default): ``'pad_to_contain'`` for annotations that have the
  list (it overrides ``v``, as the authors' exococotools does), else
  ``'visibility'``.
* ``'geometry'``: from the GT coordinates, out iff the keypoint is outside
  ``activation_window(bbox, aspect_ratio, padding)``.

``padding`` and ``aspect_ratio`` only affect the ``pad_to_contain`` and
``geometry`` sources: ``v == 3`` was fixed by whoever wrote the annotations.

Note:
    - M: number of annotated GT keypoints over all instances
    - N: number of instances (data samples)
    - K: number of keypoints per instance
    - T: number of thresholds
"""
import math
import os
import os.path as osp
import warnings
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from ..ops.windows import activation_window, cropcoco_visibility, in_window
from ..utils.validation import load_json, load_pickle

LABEL_SOURCES = ('auto', 'visibility', 'pad_to_contain', 'geometry')

#: Score keys tried, in order, by ``score_key='auto'``.
AUTO_SCORE_KEYS = ('keypoint_presence', 'keypoint_scores')

Dump = Union[str, os.PathLike, Sequence[Mapping]]


# --------------------------------------------------------------------------
# Reading dumps
# --------------------------------------------------------------------------
def _to_numpy(value: Any) -> np.ndarray:
    """NumPy view of an array, a torch tensor (any device) or a list."""
    if hasattr(value, 'detach'):  # torch.Tensor, without importing torch
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _as_dict(value: Any) -> Mapping:
    """``InstanceData``/``PoseDataSample`` or dict -> mapping."""
    if hasattr(value, 'to_dict') and not isinstance(value, Mapping):
        value = value.to_dict()
    return value


def load_samples(dump: Dump) -> List[Mapping]:
    """Data samples of a ``tools/test.py --dump`` pickle (or a list of
    them), as mappings.

    Args:
        dump (str | PathLike | Sequence): Pickle path or samples.

    Returns:
        list[Mapping]: The samples.
    """
    if isinstance(dump, (str, os.PathLike)):
        samples = load_pickle(dump)
    else:
        samples = dump
    if not isinstance(samples, Sequence) or isinstance(samples, str):
        raise TypeError('a prediction dump must be a list of dicts (one per '
                        f'data sample), got {type(samples).__name__}')
    return [_as_dict(s) for s in samples]


def _load_ann_index(ann_file: Union[str, os.PathLike]) -> Dict[int, dict]:
    coco = load_json(ann_file)
    return {int(ann['id']): ann for ann in coco.get('annotations', [])}


def _bbox_iou_xyxy(a: np.ndarray, b: np.ndarray) -> float:
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(iw, 0.0) * max(ih, 0.0)
    union = ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) -
             inter)
    return float(inter / union) if union > 0 else float(np.allclose(a, b))


def _check_gt_box(sample: Mapping, ann: Mapping) -> None:
    """Raise when the sample's box is not the annotation's (detector boxes).

    MMPose clips GT boxes to the image, so the dumped box is compared with
    both the raw and the clipped annotation box.
    """
    gt = _as_dict(sample.get('gt_instances') or {})
    if 'bboxes' not in gt or 'bbox' not in ann:
        return
    box = _to_numpy(gt['bboxes']).astype(np.float64).reshape(-1)
    if box.size != 4:
        return
    x, y, w, h = (float(v) for v in ann['bbox'])
    raw = np.array([x, y, x + w, y + h])
    best = _bbox_iou_xyxy(box, raw)
    if 'ori_shape' in sample:
        img_h, img_w = (float(v) for v in _to_numpy(sample['ori_shape'])[:2])
        clipped = np.clip(raw, 0, [img_w - 1, img_h - 1, img_w, img_h])
        best = max(best, _bbox_iou_xyxy(box, clipped))
    if best < 0.5:
        raise ValueError(
            f'data sample with id {sample.get("id")} has box {box.tolist()} '
            f'but the annotation with that id has bbox {list(ann["bbox"])}: '
            'these look like predictions on detector boxes (bbox_file), '
            'which in/out accuracy does not support; dump predictions made '
            'on GT boxes.')


def _annotation(sample: Mapping, ann_index: Optional[Dict[int, dict]],
                index: int) -> Mapping:
    raw = sample.get('raw_ann_info')
    if isinstance(raw, Mapping) and 'keypoints' in raw:
        return raw
    if ann_index is None:
        raise ValueError(
            f'data sample {index} (id={sample.get("id")}) has no '
            '`raw_ann_info`; pass the COCO annotation file (ann_file / '
            '--ann-file) to match it by annotation id. Predictions on '
            'detector boxes are not supported.')
    ann_id = sample.get('id')
    ann_id = None if ann_id is None else _to_numpy(ann_id).reshape(-1)
    if ann_id is None or ann_id.size != 1 or int(ann_id[0]) not in ann_index:
        raise ValueError(
            f'data sample {index} has id {sample.get("id")!r}, which is not '
            'an annotation id of the annotation file: in/out accuracy needs '
            'predictions on GT boxes (top-down with GT bboxes); predictions '
            'on detector boxes (bbox_file) are not supported.')
    ann = ann_index[int(ann_id[0])]
    _check_gt_box(sample, ann)
    return ann


def _resolve_score_key(samples: Sequence[Mapping], score_key: str) -> str:
    if score_key != 'auto':
        return score_key
    first = _as_dict(samples[0].get('pred_instances') or {})
    for key in AUTO_SCORE_KEYS:
        if key in first:
            return key
    raise KeyError('pred_instances has none of '
                   f'{AUTO_SCORE_KEYS}; pass score_key explicitly '
                   f'(available: {sorted(first)})')


def _instance_scores(sample: Mapping, score_key: str,
                     index: int) -> np.ndarray:
    pred = _as_dict(sample.get('pred_instances') or {})
    if score_key not in pred:
        raise KeyError(f'data sample {index} has no pred_instances.'
                       f'{score_key} (available: {sorted(pred)})')
    scores = _to_numpy(pred[score_key]).astype(np.float64)
    if scores.ndim == 2 and scores.shape[0] != 1:
        raise ValueError(
            f'data sample {index} has {scores.shape[0]} predicted instances; '
            'in/out accuracy is defined for top-down predictions (one '
            'instance per data sample).')
    return scores.reshape(-1)


def _instance_aspect_ratio(sample: Mapping, aspect_ratio: Optional[float],
                           index: int) -> float:
    if aspect_ratio is not None:
        return float(aspect_ratio)
    if 'input_size' not in sample:
        raise ValueError(f'aspect_ratio=None but data sample {index} has no '
                         '`input_size` to read it from')
    w, h = (float(v) for v in _to_numpy(sample['input_size']).reshape(-1))
    return w / h


def gt_labels_out(keypoints: np.ndarray,
                  visibility: np.ndarray,
                  bboxes: np.ndarray,
                  pad: np.ndarray,
                  label_source: str = 'auto',
                  padding: float = 1.25,
                  aspect_ratio: Union[float, np.ndarray] = 0.75
                  ) -> Tuple[np.ndarray, np.ndarray]:
    """GT in/out labels of keypoints (see the module docstring).

    Args:
        keypoints (np.ndarray): GT keypoints in shape (N, K, 2).
        visibility (np.ndarray): Raw CropCOCO visibility ``v`` in shape
            (N, K).
        bboxes (np.ndarray): GT boxes ``[x, y, w, h]`` in shape (N, 4); only
            used by ``label_source='geometry'``.
        pad (np.ndarray): ``pad_to_contain`` values in shape (N, K), NaN
            where the annotation has none.
        label_source (str): One of :data:`LABEL_SOURCES`.
        padding (float): AW padding factor. Defaults to 1.25.
        aspect_ratio (float | np.ndarray): Model input ``w / h``, a scalar or
            one per instance in shape (N, ). Defaults to 0.75.

    Returns:
        tuple:
        - labels_out (np.ndarray): Bool (N, K), True for out of the AW.
        - annotated (np.ndarray): Bool (N, K), False where ``v == 0``.
    """
    if label_source not in LABEL_SOURCES:
        raise ValueError(f'label_source must be one of {LABEL_SOURCES}, '
                         f'got {label_source!r}')
    vis = np.asarray(visibility)
    annotated = vis > 0
    if label_source == 'geometry':
        ratios = np.broadcast_to(
            np.asarray(aspect_ratio, np.float64), vis.shape[:1])
        out = np.zeros(vis.shape, dtype=bool)
        for ratio in np.unique(ratios):  # normally a single value
            rows = ratios == ratio
            window = activation_window(bboxes[rows], float(ratio), padding)
            out[rows] = ~in_window(keypoints[rows], window)
        return out, annotated
    if label_source == 'visibility':
        return vis == 3, annotated
    return cropcoco_visibility(vis, pad, padding) == 3, annotated


def load_inout(dump_path_or_list: Dump,
               ann_file: Optional[Union[str, os.PathLike]] = None,
               score_key: str = 'auto',
               padding: float = 1.25,
               aspect_ratio: Optional[float] = 0.75,
               label_source: str = 'auto',
               return_meta: bool = False):
    """GT in/out labels and predicted in-scores of all annotated keypoints.

    Args:
        dump_path_or_list (str | PathLike | list[dict]): A pickle written by
            ``tools/test.py ... --dump`` (MMEngine ``DumpResults``: a list of
            ``PoseDataSample.to_dict()``, one per top-down instance), or
            that list. Arrays may be NumPy arrays or torch tensors.
        ann_file (str, optional): COCO keypoint json used for samples
            without ``raw_ann_info``, matched by annotation id (``id``).
        score_key (str): Field of ``pred_instances`` used as the score that
            a keypoint is in. ``'auto'``: ``keypoint_presence`` (ProbPose)
            when present, else ``keypoint_scores`` (heatmap maximum).
        padding (float): AW padding for ``pad_to_contain``/``geometry``
            labels. Defaults to 1.25.
        aspect_ratio (float, optional): Model input ``w / h`` for
            ``geometry`` labels; None reads it from each sample's
            ``input_size``. Defaults to 0.75.
        label_source (str): One of :data:`LABEL_SOURCES`. Defaults to
            ``'auto'``.
        return_meta (bool): Also return a dict with the resolved
            ``score_key``, ``num_instances`` and ``keys`` (M, 2) int array
            of (annotation id, keypoint index). Defaults to False.

    Returns:
        tuple:
        - labels_out (np.ndarray): Bool (M, ), True for GT out of the AW.
        - scores_in (np.ndarray): Float (M, ), the model's score for "in".
        - meta (dict): Only with ``return_meta=True``.
    """
    if label_source not in LABEL_SOURCES:
        raise ValueError(f'label_source must be one of {LABEL_SOURCES}, '
                         f'got {label_source!r}')
    samples = load_samples(dump_path_or_list)
    if not samples:
        raise ValueError('the prediction dump is empty')
    ann_index = None if ann_file is None else _load_ann_index(ann_file)
    key = _resolve_score_key(samples, score_key)

    kpts, vis, boxes, pads, scores, ids, ratios = [], [], [], [], [], [], []
    for i, sample in enumerate(samples):
        ann = _annotation(sample, ann_index, i)
        raw = np.asarray(ann['keypoints'], dtype=np.float64).reshape(-1, 3)
        score = _instance_scores(sample, key, i)
        if score.shape[0] != raw.shape[0]:
            raise ValueError(
                f'data sample {i}: {score.shape[0]} predicted scores but '
                f'{raw.shape[0]} annotated keypoints')
        if kpts and raw.shape[0] != kpts[0].shape[0]:
            raise ValueError('all instances must have the same number of '
                             f'keypoints; sample {i} has {raw.shape[0]}')
        pad = ann.get('pad_to_contain')
        pad = (np.full(raw.shape[0], np.nan) if pad is None else np.array(
            [np.nan if p is None else p for p in pad], dtype=np.float64))
        if pad.shape != (raw.shape[0], ):
            raise ValueError(f'data sample {i}: pad_to_contain has '
                             f'{pad.size} values for {raw.shape[0]} keypoints')
        if label_source == 'pad_to_contain' and ann.get(
                'pad_to_contain') is None:
            raise ValueError(f"label_source='pad_to_contain' but the "
                             f'annotation of data sample {i} has none')
        kpts.append(raw[:, :2])
        vis.append(raw[:, 2])
        boxes.append(np.asarray(ann.get('bbox', [np.nan] * 4), np.float64))
        pads.append(pad)
        scores.append(score)
        ids.append(int(ann.get('id', -1)))
        ratios.append(
            _instance_aspect_ratio(sample, aspect_ratio, i)
            if label_source == 'geometry' else np.nan)

    vis_arr = np.stack(vis)
    if label_source == 'geometry' and np.isnan(np.stack(boxes)).any():
        raise ValueError("label_source='geometry' needs a bbox in every "
                         'annotation')
    out, annotated = gt_labels_out(
        np.stack(kpts), vis_arr, np.stack(boxes), np.stack(pads),
        label_source, padding, np.asarray(ratios))
    if (label_source == 'auto' and not (vis_arr == 3).any()
            and np.isnan(np.stack(pads)).all()):
        warnings.warn(
            'no annotation has v=3 or pad_to_contain, so every keypoint is '
            "labelled 'in'; for plain COCO-style data use "
            "label_source='geometry' (--label-source geometry).")
    labels_out = out[annotated]
    scores_in = np.stack(scores)[annotated]
    if not np.isfinite(scores_in).all():
        raise ValueError(f'{int((~np.isfinite(scores_in)).sum())} '
                         f'non-finite values in pred_instances.{key}')
    if not return_meta:
        return labels_out, scores_in
    inst, kpt = np.nonzero(annotated)
    meta = dict(score_key=key, num_instances=len(samples),
                keys=np.stack([np.asarray(ids)[inst], kpt], axis=1))
    return labels_out, scores_in, meta


# --------------------------------------------------------------------------
# Curves and summary
# --------------------------------------------------------------------------
def default_thresholds(step: float = 0.01) -> np.ndarray:
    """Grid ``0, step, ..., 1`` (exact decimals when ``1 / step`` is whole).

    Args:
        step (float): Grid step in (0, 1]. Defaults to 0.01.

    Returns:
        np.ndarray: Thresholds in shape (T, ).
    """
    if not 0 < step <= 1:
        raise ValueError(f'step must be in (0, 1], got {step}')
    n = round(1 / step)
    if math.isclose(n * step, 1.0, rel_tol=1e-9):
        return np.arange(n + 1) / n  # i / n is the float nearest to i * step
    return np.append(np.arange(0.0, 1.0, step), 1.0)


def accuracy_curves(labels_out: np.ndarray,
                    scores_in: np.ndarray,
                    thresholds: Optional[np.ndarray] = None
                    ) -> Dict[str, np.ndarray]:
    """Accuracy and balanced accuracy of ``score >= thr`` meaning "in".

    Vectorised with sorted scores and ``searchsorted``: O((M + T) log M).
    The balanced accuracy is the mean of the in-recall and the out-recall
    over the classes that occur (so with a single class it is that class'
    recall, as in scikit-learn).

    Args:
        labels_out (np.ndarray): Bool (M, ), True for GT out.
        scores_in (np.ndarray): Scores (M, ) that the keypoint is in.
        thresholds (np.ndarray, optional): Thresholds (T, ). Defaults to
            :func:`default_thresholds` (0..1, step 0.01).

    Returns:
        dict:
        - thresholds (np.ndarray): (T, ).
        - acc (np.ndarray): Fraction of correct decisions, (T, ).
        - balanced_acc (np.ndarray): Mean class recall, (T, ).
        - recall_in, recall_out (np.ndarray): Per-class recall, (T, ), NaN
          for a class that does not occur.
        - n_in, n_out (int): Number of GT in and out keypoints.
    """
    out = np.asarray(labels_out).astype(bool).reshape(-1)
    scores = np.asarray(scores_in, dtype=np.float64).reshape(-1)
    if out.shape != scores.shape:
        raise ValueError(f'labels_out and scores_in differ in size: '
                         f'{out.size} vs {scores.size}')
    if out.size == 0:
        raise ValueError('no annotated keypoints')
    if np.isnan(scores).any():
        raise ValueError('scores_in contains NaN')
    thr = (default_thresholds() if thresholds is None else np.asarray(
        thresholds, dtype=np.float64).reshape(-1))
    in_sorted = np.sort(scores[~out])
    out_sorted = np.sort(scores[out])
    n_in, n_out = in_sorted.size, out_sorted.size
    # in keypoints predicted in: score >= thr; out predicted out: score < thr
    correct_in = n_in - np.searchsorted(in_sorted, thr, side='left')
    correct_out = np.searchsorted(out_sorted, thr, side='left')
    with np.errstate(invalid='ignore', divide='ignore'):
        recall_in = correct_in / n_in if n_in else np.full(thr.shape, np.nan)
        recall_out = (correct_out / n_out
                      if n_out else np.full(thr.shape, np.nan))
    recalls = np.stack([recall_in, recall_out])
    balanced = np.nanmean(recalls, axis=0)
    return dict(
        thresholds=thr,
        acc=(correct_in + correct_out) / out.size,
        balanced_acc=balanced,
        recall_in=recall_in,
        recall_out=recall_out,
        n_in=int(n_in),
        n_out=int(n_out))


def error_reduction(acc_a: float, acc_b: float) -> float:
    """Relative error reduction of A over B, ``1 - err_A / err_B``.

    Positive when A makes fewer errors (0.25: A makes 25% fewer errors).
    With ``err_B == 0`` it is 0 if ``err_A == 0`` too, else ``-inf``.

    Args:
        acc_a (float): Accuracy of model A.
        acc_b (float): Accuracy of model B.

    Returns:
        float: The error reduction.
    """
    err_a, err_b = 1.0 - float(acc_a), 1.0 - float(acc_b)
    if err_b <= 0:
        return 0.0 if err_a <= 0 else -math.inf
    return 1.0 - err_a / err_b


def _fmt_thr(thr: float) -> str:
    return f'{thr:g}'


def summarize_inout(curves_by_model: Mapping[str, Mapping],
                    thr: float = 0.5,
                    reference: Optional[str] = None) -> dict:
    """Summarise accuracy curves and compare models with the reference.

    Per model: the accuracy and balanced accuracy at the fixed threshold
    ``thr`` (must be on the grid), and the best values over the grid with
    their threshold (``best_acc``/``best_acc@thr``; the lowest threshold
    among ties). The best values are chosen on the evaluated set itself, an
    optimistic oracle, not a held-out result.

    The reference model A (the first one unless ``reference`` is given) is
    compared with every other model B by ``1 - err_A / err_B`` (positive:
    A makes fewer errors), for the accuracy and the balanced accuracy, at
    ``thr`` and at each model's own best threshold.

    Args:
        curves_by_model (Mapping[str, dict]): Model name -> the output of
            :func:`accuracy_curves`, in display order.
        thr (float): Fixed threshold. Defaults to 0.5.
        reference (str, optional): Name of model A. Defaults to the first.

    Returns:
        dict: ``{'thr', 'reference', 'models': {name: {...}},
        'error_reduction': {'A vs B': {...}}}`` with per-model keys ``n``,
        ``n_in``, ``n_out``, ``acc@<thr>``, ``balanced_acc@<thr>``,
        ``best_acc``, ``best_acc@thr``, ``best_balanced_acc``,
        ``best_balanced_acc@thr``, and per-comparison keys ``acc@<thr>``,
        ``balanced_acc@<thr>``, ``best_acc``, ``best_balanced_acc``.
    """
    if not curves_by_model:
        raise ValueError('no models to summarise')
    names = list(curves_by_model)
    reference = names[0] if reference is None else reference
    if reference not in curves_by_model:
        raise KeyError(f'reference {reference!r} is not one of {names}')
    at = _fmt_thr(thr)
    models = {}
    for name, curves in curves_by_model.items():
        grid = np.asarray(curves['thresholds'], dtype=np.float64)
        hit = np.flatnonzero(np.isclose(grid, thr, rtol=0, atol=1e-9))
        if hit.size == 0:
            raise ValueError(f'threshold {thr} is not on the grid of '
                             f'{name!r}')
        entry = dict(n=int(curves['n_in'] + curves['n_out']),
                     n_in=int(curves['n_in']), n_out=int(curves['n_out']))
        for kind in ('acc', 'balanced_acc'):
            values = np.asarray(curves[kind], dtype=np.float64)
            entry[f'{kind}@{at}'] = float(values[hit[0]])
            best = int(np.nanargmax(values))
            entry[f'best_{kind}'] = float(values[best])
            entry[f'best_{kind}@thr'] = float(grid[best])
        models[name] = entry

    comparisons = {}
    ref = models[reference]
    for name, entry in models.items():
        if name == reference:
            continue
        comparisons[f'{reference} vs {name}'] = {
            f'{kind}{suffix}': error_reduction(ref[f'{kind}{suffix}'],
                                               entry[f'{kind}{suffix}'])
            for kind, suffix in (('acc', f'@{at}'), ('balanced_acc', f'@{at}'),
                                 ('best_acc', ''), ('best_balanced_acc', ''))
        }
    return dict(thr=float(thr), reference=reference, models=models,
                error_reduction=comparisons)


# --------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------
def _pct(value: float) -> str:
    return '-' if value is None or np.isnan(value) else f'{100 * value:.2f}'


def inout_table(summary: Mapping) -> str:
    """Markdown tables of a :func:`summarize_inout` summary.

    Args:
        summary (Mapping): The output of :func:`summarize_inout`.

    Returns:
        str: One table of per-model accuracies (in %) and, with two or more
        models, one of error reductions (in %).
    """
    at = _fmt_thr(summary['thr'])
    lines = [
        f'| model | GT in / out | acc@{at} | bal. acc@{at} | '
        'best acc (thr)* | best bal. acc (thr)* |',
        '|---|---|---|---|---|---|',
    ]
    for name, m in summary['models'].items():
        lines.append(
            f"| {name} | {m['n_in']} / {m['n_out']} | {_pct(m[f'acc@{at}'])} "
            f"| {_pct(m[f'balanced_acc@{at}'])} "
            f"| {_pct(m['best_acc'])} ({m['best_acc@thr']:.2f}) "
            f"| {_pct(m['best_balanced_acc'])} "
            f"({m['best_balanced_acc@thr']:.2f}) |")
    lines.append('')
    lines.append('Accuracies in %. *best on this evaluation set (an oracle '
                 'threshold, not a held-out choice).')
    if summary['error_reduction']:
        lines += [
            '',
            f'| error reduction 1 - err_A / err_B (%) | acc@{at} | '
            f'bal. acc@{at} | best acc* | best bal. acc* |',
            '|---|---|---|---|---|',
        ]
        for pair, r in summary['error_reduction'].items():
            lines.append(
                f"| {pair} | {_pct(r[f'acc@{at}'])} "
                f"| {_pct(r[f'balanced_acc@{at}'])} "
                f"| {_pct(r['best_acc'])} | {_pct(r['best_balanced_acc'])} |")
        lines.append('')
        lines.append('Positive: the first model (A) makes fewer errors. '
                     '*each model at its own best threshold on this set.')
    return '\n'.join(lines) + '\n'


def plot_inout(curves_by_model: Mapping[str, Mapping],
               path: Union[str, os.PathLike],
               thr: float = 0.5) -> None:
    """Plot accuracy and balanced accuracy versus threshold.

    Two panels (unbalanced, balanced), one line per model, the best point
    of each curve marked and the fixed threshold drawn dashed. Uses the Agg
    canvas directly, so the global matplotlib backend is left alone.

    Args:
        curves_by_model (Mapping[str, dict]): Model name -> the output of
            :func:`accuracy_curves`.
        path (str | PathLike): Output image (format from the extension).
        thr (float): Fixed threshold drawn as a dashed line. Defaults to
            0.5.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.2), dpi=120)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2, sharey=True)
    for ax, kind, title in zip(axes, ('acc', 'balanced_acc'),
                               ('accuracy', 'balanced accuracy')):
        for i, (name, curves) in enumerate(curves_by_model.items()):
            color = f'C{i}'
            grid = np.asarray(curves['thresholds'], dtype=np.float64)
            values = 100 * np.asarray(curves[kind], dtype=np.float64)
            best = int(np.nanargmax(values))
            ax.plot(grid, values, color=color, lw=1.8, label=name)
            ax.plot(grid[best], values[best], 'o', color=color, ms=7,
                    clip_on=False, zorder=3,
                    label=f'best: {values[best]:.1f} @ {grid[best]:.2f}')
        ax.axvline(thr, color='0.5', ls='--', lw=1)
        ax.set_title(f'in/out {title}')
        ax.set_xlabel('threshold on the in-score')
        ax.set_xlim(0, 1)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc='lower center')
    axes[0].set_ylabel('%')
    fig.tight_layout()
    out_dir = osp.dirname(osp.abspath(os.fspath(path)))
    os.makedirs(out_dir, exist_ok=True)
    fig.savefig(os.fspath(path))
