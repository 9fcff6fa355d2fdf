"""Ex-mAP evaluation: :class:`ExCOCOeval` against xtcocotools' ``COCOeval``
and the authors' ``exococotools`` 1.0.0.

The data is a deterministic synthetic COCO keypoint set: people with
CropCOCO visibilities (some keypoints ``v=3``, placed outside their
activation window), and results that are noisy copies of the GTs plus false
positives, with the presence both in a ``presence`` list and in the
keypoints' third values (``exococotools`` reads the latter). The files are
written once to a temporary folder and loaded once (not timed); every timed
call builds a fresh evaluator, since evaluators keep state. The shared COCO
objects are only touched idempotently (ignore flags are recomputed by every
``_prepare``; ``exococotools`` re-derives the same visibilities each time).

Cases (each one full evaluation: matching, accumulation, summary):

* ``ours``: ``ExCOCOeval(extended=True).run(per_visibility=True)``, the
  Ex numbers of ``ExCocoMetric`` (all stats plus the AP per visibility);
* ``xtcocotools COCOeval``: plain OKS, ``evaluate/accumulate/summarize``;
* ``exococotools``: Ex-OKS with its per-visibility levels.
"""
import contextlib
import io
import json
import os.path as osp
import tempfile
from typing import Callable, Dict, List, Tuple

import numpy as np
from _harness import Case, Target
from xtcocotools.coco import COCO
from xtcocotools.cocoeval import COCOeval

from probpose_ext.compat import exococotools as exo_compat
from probpose_ext.evaluation.functional import ExCOCOeval
from probpose_ext.ops.windows import activation_window
from probpose_ext.utils.metainfo import load_metainfo

SIGMAS = np.asarray(load_metainfo()['sigmas'], dtype=np.float64)
K = len(SIGMAS)


def synthetic_coco(num_gt: int, seed: int = 0) -> Tuple[dict, List[dict]]:
    """A GT dict with at least ``num_gt`` people (1-4 per image) and its
    result list.

    Args:
        num_gt (int): Minimum number of GT instances.
        seed (int): Random seed.

    Returns:
        tuple: ``(gt, results)`` in COCO format.
    """
    rng = np.random.default_rng(seed)
    images, anns, results = [], [], []

    def result(img_id: int, xy: np.ndarray, presence: np.ndarray) -> dict:
        return dict(image_id=img_id, category_id=1,
                    score=round(float(rng.uniform(0.05, 1)), 3),
                    keypoints=np.column_stack([xy, presence]).ravel().tolist(),
                    presence=presence.tolist())

    while len(anns) < num_gt:
        img_id = len(images) + 1
        images.append(dict(id=img_id, file_name=f'{img_id:06d}.jpg',
                           width=640, height=480))
        for _ in range(int(rng.integers(1, 5))):
            w, h = rng.uniform(20, 250), rng.uniform(30, 300)
            x, y = rng.uniform(0, 640 - w), rng.uniform(0, 480 - h)
            xy = rng.uniform([x, y], [x + w, y + h], (K, 2))
            vis = rng.choice([0, 1, 2], K, p=[0.2, 0.3, 0.5])
            vis[0] = 2
            # ~15% of the keypoints out: beyond the window's left/right edge
            win = activation_window(np.array([x, y, w, h]))
            out = rng.random(K) < 0.15
            left = rng.random(K) < 0.5
            margin = rng.uniform(1, 60, K)
            xy[out, 0] = np.where(left, win[0] - margin, win[2] + margin)[out]
            vis[out] = 3
            anns.append(dict(
                id=len(anns) + 1, image_id=img_id, category_id=1,
                bbox=[round(v, 2) for v in (x, y, w, h)],
                area=round(float(w * h * rng.uniform(0.3, 0.8)), 2),
                iscrowd=0, num_keypoints=int((vis > 0).sum()),
                keypoints=np.column_stack([xy.round(2),
                                           vis]).ravel().tolist()))
            for _ in range(int(rng.integers(0, 3))):  # noisy copies
                noisy = xy + rng.normal(0, rng.uniform(1, 12), (K, 2))
                presence = np.clip(
                    np.where(vis == 3, 0.3, 0.7) + rng.normal(0, 0.3, K),
                    0.01, 1.0).round(3)
                results.append(result(img_id, noisy.round(2), presence))
        for _ in range(int(rng.integers(0, 3))):  # false positives
            xy = rng.uniform([0, 0], [640, 480], (K, 2)).round(2)
            presence = rng.uniform(0.01, 1, K).round(3)
            results.append(result(img_id, xy, presence))
    gt = dict(images=images, annotations=anns,
              categories=[dict(id=1, name='person')])
    return gt, results


def _load(gt_file: str, res_file: str, coco_cls=COCO):
    with contextlib.redirect_stdout(io.StringIO()):
        gt = coco_cls(gt_file)
        return gt, gt.loadRes(res_file)


def _silent(fn: Callable[[], object]) -> Callable[[], object]:
    def call():
        with contextlib.redirect_stdout(io.StringIO()):
            return fn()
    return call


def _check_parity(ours_gt, ours_dt, exo_cocoeval, exo_gt, exo_dt) -> None:
    """Ex-AP (overall and per visibility) of ``aw_distance='corner'`` must
    equal exococotools' on this data."""
    got = ExCOCOeval(ours_gt, ours_dt, SIGMAS, extended=True,
                     aw_distance='corner').run(per_visibility=True)
    ev = exo_cocoeval.COCOeval(exo_gt, exo_dt, 'keypoints', SIGMAS,
                               use_area=True, extended_oks=True,
                               confidence_thr=0.5, padding=1.25)
    _silent(lambda: (ev.evaluate(), ev.accumulate(), ev.summarize()))()
    want: Dict[str, float] = dict(zip(ev.stats_names, map(float, ev.stats)))
    for name in ['AP'] + [n for n in want if n.startswith('AP (v=')]:
        if abs(got['Ex_' + name] - want[name]) > 1e-12:
            raise AssertionError(f'Ex_{name}: ours {got["Ex_" + name]} != '
                                 f'exococotools {want[name]}')


def build(quick: bool) -> Tuple[List[Case], List[Target]]:
    num_gt = 300 if quick else 5000
    repeats, warmup = (2, 0) if quick else (5, 1)
    gt, results = synthetic_coco(num_gt)
    exo_coco, exo_cocoeval = exo_compat.load()
    with tempfile.TemporaryDirectory(prefix='bench_eval_') as tmp:
        gt_file = osp.join(tmp, 'gt.json')
        res_file = osp.join(tmp, 'res.json')
        with open(gt_file, 'w') as f:
            json.dump(gt, f)
        with open(res_file, 'w') as f:
            json.dump(results, f)
        # one pair of COCO objects per case (evaluators mark the GTs)
        ours_gt, ours_dt = _load(gt_file, res_file)
        xt_gt, xt_dt = _load(gt_file, res_file)
        exo_gt, exo_dt = _load(gt_file, res_file, exo_coco.COCO)
    _check_parity(ours_gt, ours_dt, exo_cocoeval, exo_gt, exo_dt)

    def ours():
        return ExCOCOeval(ours_gt, ours_dt, SIGMAS,
                          extended=True).run(per_visibility=True)

    def xtcocotools():
        ev = COCOeval(xt_gt, xt_dt, 'keypoints', SIGMAS, True)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
        return ev.stats

    def exococotools():
        ev = exo_cocoeval.COCOeval(exo_gt, exo_dt, 'keypoints', SIGMAS,
                                   use_area=True, extended_oks=True,
                                   confidence_thr=0.5, padding=1.25)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
        return ev.stats

    group = f'Ex-mAP eval ({len(gt["annotations"])} GT instances)'
    note = (f'{len(gt["images"])} images, {len(results)} results; ours: '
            'Ex-OKS stats + AP per visibility level, exococotools: the same '
            'with corner distances, xtcocotools: plain OKS stats')
    cases = [
        Case(group, 'ours', _silent(ours), repeats, warmup, note),
        Case(group, 'xtcocotools COCOeval', _silent(xtcocotools), repeats,
             warmup),
        # ~60x slower than ours: fewer calls
        Case(group, 'exococotools', _silent(exococotools), min(repeats, 3),
             0),
    ]
    targets = [
        Target(group, 'ours', 'xtcocotools COCOeval', 1.0,
               'Ex-mAP evaluation no slower than xtcocotools COCOeval'),
    ]
    return cases, targets
