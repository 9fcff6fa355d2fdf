"""Verification step of tools/gpu_check.sh: each work dir trained the
expected number of iterations with finite losses, and its test-time dump
(``preds.pkl``) carries every ProbPose prediction field, finite and in range.

    python tools/_gpu_check_verify.py WORK_DIR [WORK_DIR ...] --iters N

Prints one line per work dir; exits 1 if any check fails.
"""
import argparse
import glob
import json
import math
import os.path as osp
import pickle
import sys
from typing import List

import numpy as np

#: per-keypoint fields of a ProbPose prediction (1, K) and their ranges
PROB_FIELDS = {
    'keypoint_scores': (0.0, 1.0),
    'keypoints_visible': (0.0, 1.0),
    'keypoint_presence': (0.0, 1.0),
    'keypoint_visibility': (0.0, 1.0),
    'keypoint_expected_oks': (0.0, 1.0),
    'keypoint_credible_area': (0.0, math.inf),
}


def training_problems(work_dir: str, iters: int) -> List[str]:
    """Problems with the training log of ``work_dir`` (MMEngine's
    ``*/vis_data/scalars.json``): the number of logged training iterations
    and non-finite losses."""
    logs = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                     'scalars.json')))
    if not logs:
        return [f'{work_dir}: no */vis_data/scalars.json']
    with open(logs[-1]) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    train = [r for r in rows if 'iter' in r and any(
        k.startswith('loss') for k in r)]
    problems = []
    if len(train) != iters:
        problems.append(f'{work_dir}: {len(train)} training iterations '
                        f'logged, expected {iters} (logger interval 1)')
    for row in train:
        bad = [k for k, v in row.items()
               if k.startswith('loss') and not math.isfinite(v)]
        if bad:
            problems.append(f'{work_dir}: iteration {row["iter"]}: '
                            f'non-finite {", ".join(bad)}')
    return problems


def prediction_problems(dump: str) -> List[str]:
    """Problems with the ProbPose fields of a ``tools/test.py --dump``."""
    if not osp.isfile(dump):
        return [f'{dump}: not found']
    with open(dump, 'rb') as f:
        samples = pickle.load(f)
    problems = []
    for i, sample in enumerate(samples):
        pred = sample['pred_instances']
        kpts = np.asarray(pred['keypoints'])
        n, k = kpts.shape[:2]
        if kpts.shape != (n, k, 2) or not np.isfinite(kpts).all():
            problems.append(f'{dump}[{i}]: keypoints {kpts.shape}, finite: '
                            f'{bool(np.isfinite(kpts).all())}')
        for name, (low, high) in PROB_FIELDS.items():
            if name not in pred:
                problems.append(f'{dump}[{i}]: no {name}')
                continue
            value = np.asarray(pred[name], dtype=np.float64)
            if value.shape != (n, k):
                problems.append(f'{dump}[{i}]: {name} has shape '
                                f'{value.shape}, expected {(n, k)}')
            elif not ((value >= low) & (value <= high)).all():
                problems.append(f'{dump}[{i}]: {name} outside [{low}, {high}]'
                                ' or not finite')
        box = np.asarray(pred.get('keypoint_credible_box', np.zeros(0)))
        if box.shape != (n, k, 4):
            problems.append(f'{dump}[{i}]: keypoint_credible_box has shape '
                            f'{box.shape}, expected {(n, k, 4)}')
    if not samples:
        problems.append(f'{dump}: no samples')
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('work_dirs', nargs='+')
    parser.add_argument('--iters', type=int, required=True)
    args = parser.parse_args(argv)
    failed = False
    for work_dir in args.work_dirs:
        problems = training_problems(work_dir, args.iters) + \
            prediction_problems(osp.join(work_dir, 'preds.pkl'))
        failed |= bool(problems)
        status = 'ok' if not problems else f'{len(problems)} problem(s)'
        print(f'- {work_dir}: {args.iters} iterations with finite losses, '
              f'every ProbPose field in preds.pkl: {status}')
        for problem in problems[:20]:
            print(f'  - {problem}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
