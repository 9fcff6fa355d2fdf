"""Skeleton action recognition under keypoint noise, in one command
(docs/action_recognition.md).

    python tools/analysis_tools/action_robustness.py [--quick] \\
        [--work-dir work_dirs/action_robustness] [--stages noise keypoint zoo] \\
        [--epochs N] [--xview] [--publish] [--out-dir docs/action_recognition]

Trains the 3D and 2D ST-GCN recognisers on SynthActions X-Sub once
(resumable; SynthActions is generated when missing), then reports their
top-1 / top-5 under Gaussian noise on the joints (the seed report's std
list, next to its NTU-60 numbers), the 2D model under the keypoint
corruptions of the robustness chain, and the 2D model on the keypoints of
each 2D zoo model on rendered validation clips. Writes
``action_robustness.md``, ``noise.png``, ``keypoint.png`` and
``results.json`` into ``--out-dir`` (default ``WORK_DIR/results``). Every
cell is cached: an interrupted run continues where it stopped; delete
``WORK_DIR/cells`` to recompute. ``--quick`` runs a one-minute version on
a tiny generated set (tests).
"""
import argparse
import dataclasses
import os.path as osp
import sys
from typing import List, Optional

try:
    import probpose_ext  # noqa: F401
except ImportError:  # running from a source checkout without installing
    sys.path.insert(
        0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from probpose_ext.apis.action_robustness import (  # noqa: E402
    STAGES, ActionStudySettings, publish_recognizers, quick_action_settings,
    run_action_study, write_action_results)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true',
                        help='the one-minute version (tests)')
    parser.add_argument('--work-dir', default=None)
    parser.add_argument('--data-root', default=None,
                        help='SynthActions (generated if missing)')
    parser.add_argument('--stages', nargs='+', default=list(STAGES),
                        choices=STAGES)
    parser.add_argument('--epochs', type=int, default=None,
                        help="training epochs (default: the configs')")
    parser.add_argument('--stds', type=float, nargs='+', default=None,
                        help='noise stds (default: the seed report\'s)')
    parser.add_argument('--xview', action='store_true',
                        help='also train and evaluate the cross-view '
                        'recognisers')
    parser.add_argument('--publish', action='store_true',
                        help='put the trained recognisers into the zoo '
                        '(configs/synthactions/metafile.yml)')
    parser.add_argument('--out-dir', default=None,
                        help='results folder (default WORK_DIR/results)')
    parser.add_argument('--no-progress', action='store_true')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    settings = quick_action_settings(
        args.work_dir or 'work_dirs/action_robustness_quick') \
        if args.quick else ActionStudySettings(
            work_dir=args.work_dir or 'work_dirs/action_robustness')
    changes = {k: v for k, v in dict(
        data_root=args.data_root, epochs=args.epochs,
        stds=tuple(args.stds) if args.stds else None,
        xview=args.xview or None).items()
        if v is not None}
    settings = dataclasses.replace(settings, **changes)
    if args.epochs is not None and args.epochs < 1:
        raise SystemExit('error: --epochs must be >= 1')
    results = run_action_study(settings, args.stages,
                               progress=not args.no_progress)
    out_dir = args.out_dir or osp.join(settings.work_dir, 'results')
    results['written'] = write_action_results(results, out_dir)
    if args.publish:
        if 'clean' not in args.stages:
            raise SystemExit('error: --publish needs the clean stage')
        for entry in publish_recognizers(results):
            print(f'published {entry["Name"]}: {entry["Weights"]}')
    for path in results['written']:
        print(f'wrote {path}')
    return results


if __name__ == '__main__':
    main()
