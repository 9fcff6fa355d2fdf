"""Random COCO keypoint GT/result files and reference evaluators for the
Ex-OKS parity tests."""
import contextlib
import io
import json
import os
import sys
import tarfile
from pathlib import Path

import numpy as np
from xtcocotools.coco import COCO
from xtcocotools.cocoeval import COCOeval

from probpose_ext.compat import exococotools as exo_compat
from probpose_ext.ops.windows import activation_window
from probpose_ext.utils.metainfo import load_metainfo

SIGMAS = np.asarray(load_metainfo()['sigmas'], dtype=np.float64)
K = len(SIGMAS)
#: The exococotools sdist, downloaded by ``make install`` (the package
#: installs no example files); ``PROBPOSE_EXO_SDIST`` names another copy
#: (tools/gpu_check.sh, where the interpreter is not the project's venv).
EXO_SDIST = Path(
    os.environ.get('PROBPOSE_EXO_SDIST', '')
    or Path(sys.prefix) / 'sdists' / 'exococotools-1.0.0.tar.gz')


def exo_example(name: str) -> dict:
    """``annotations/<name>`` from the exococotools 1.0.0 sdist."""
    if not EXO_SDIST.is_file():
        raise FileNotFoundError(
            f'{EXO_SDIST} is missing: `make install` downloads it')
    with tarfile.open(EXO_SDIST) as tar:
        member = tar.getmember(f'exococotools-1.0.0/annotations/{name}')
        return json.load(tar.extractfile(member))


def random_case(seed: int,
                num_images: int = 25,
                p_out: float = 0.2,
                all_in_image: bool = False):
    """A random GT dict and result list.

    Every image has at least one GT with annotated keypoints. Keypoints
    with ``v=3`` lie outside their activation window (0.75, 1.25).
    Predictions: 0-2 noisy copies of each GT (presence in the third value
    and in ``presence``) and some random false positives.
    """
    rng = np.random.default_rng(seed)
    images, anns, results = [], [], []
    for img_id in range(1, num_images + 1):
        images.append(dict(id=img_id, file_name=f'{img_id}.jpg', width=640,
                           height=480))
        for g in range(int(rng.integers(1, 5))):
            w, h = rng.uniform(30, 250), rng.uniform(40, 300)
            x, y = rng.uniform(0, 640 - w), rng.uniform(0, 480 - h)
            bbox = np.array([x, y, w, h])
            kpts = np.stack([rng.uniform(x, x + w, K),
                             rng.uniform(y, y + h, K)], 1)
            vis = rng.choice([0, 1, 2], K, p=[0.2, 0.3, 0.5])
            if g == 0:
                vis[0] = 2
            if not all_in_image:
                win = activation_window(bbox)
                out = rng.random(K) < p_out
                # place "out" keypoints beyond the window's left/right edge
                side = rng.random(K) < 0.5
                kpts[out, 0] = np.where(side[out],
                                        win[0] - rng.uniform(1, 60, out.sum()),
                                        win[2] + rng.uniform(1, 60, out.sum()))
                vis[out] = 3
            area = float(w * h * rng.uniform(0.3, 0.8))
            ann_id = len(anns) + 1
            anns.append(
                dict(id=ann_id, image_id=img_id, category_id=1,
                     bbox=bbox.round(2).tolist(), area=round(area, 2),
                     iscrowd=0, num_keypoints=int((vis > 0).sum()),
                     keypoints=np.concatenate(
                         [kpts.round(2), vis[:, None]], 1).ravel().tolist()))
            for _ in range(int(rng.integers(0, 3))):
                noisy = kpts + rng.normal(0, rng.uniform(1, 12), (K, 2))
                presence = np.clip(
                    np.where(vis == 3, 0.3, 0.7) + rng.normal(0, 0.3, K),
                    0.01, 1.0)
                results.append(_result(img_id, noisy, presence, rng))
        for _ in range(int(rng.integers(0, 2))):
            pts = rng.uniform([0, 0], [640, 480], (K, 2))
            results.append(
                _result(img_id, pts, rng.uniform(0.01, 1, K), rng))
    gt = dict(images=images, annotations=anns,
              categories=[dict(id=1, name='person')])
    return gt, results


def _result(img_id, kpts, presence, rng):
    return dict(
        image_id=img_id, category_id=1, score=float(rng.uniform(0.1, 1)),
        keypoints=np.concatenate([kpts, presence[:, None]],
                                 1).ravel().tolist(),
        presence=presence.tolist())


def write_case(tmp_path: Path, gt: dict, results: list, name='case'):
    gt_file = tmp_path / f'{name}_gt.json'
    res_file = tmp_path / f'{name}_res.json'
    gt_file.write_text(json.dumps(gt))
    res_file.write_text(json.dumps(results))
    return str(gt_file), str(res_file)


def load_coco(gt_file, res_file, module=None):
    """(GT, results) COCO objects of xtcocotools or ``module``."""
    coco_cls = COCO if module is None else module.COCO
    with contextlib.redirect_stdout(io.StringIO()):
        gt = coco_cls(gt_file)
        return gt, gt.loadRes(res_file)


def xtcocotools_stats(gt_file, res_file) -> np.ndarray:
    gt, dt = load_coco(gt_file, res_file)
    ev = COCOeval(gt, dt, 'keypoints', SIGMAS, True)
    with contextlib.redirect_stdout(io.StringIO()):
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats)


def exococotools_stats(gt_file, res_file, extended=True, thr=0.5,
                       padding=1.25) -> dict:
    """``{name: value}`` of exococotools 1.0.0 (presence = the keypoints'
    third values, its rule)."""
    coco_mod, cocoeval_mod = exo_compat.load()
    gt, dt = load_coco(gt_file, res_file, coco_mod)
    ev = cocoeval_mod.COCOeval(gt, dt, 'keypoints', SIGMAS, use_area=True,
                               extended_oks=extended, confidence_thr=thr,
                               padding=padding)
    with contextlib.redirect_stdout(io.StringIO()):
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return dict(zip(ev.stats_names, (float(v) for v in ev.stats)))
