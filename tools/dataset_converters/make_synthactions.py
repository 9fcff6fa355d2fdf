"""Generate the SynthActions synthetic skeleton action recognition data set
in MMAction2's skeleton pkl layout (``synthactions_3d.pkl``: Human3.6M-17
camera-frame joints in metres; ``synthactions_2d.pkl``: COCO-17 pixels).

Example:
    python tools/dataset_converters/make_synthactions.py data/synthactions \\
        --seed 0 --subjects 16 --reps 3

The result loads with MMAction2's ``PoseDataset``
(``ann_file='data/synthactions/synthactions_2d.pkl'``,
``split='xsub_train'``); see ``docs/synthactions.md``.
"""
import argparse
import sys
from typing import Callable, List, Optional, Tuple

from _generator_cli import (EXIT_EXISTS, add_run_args, ensure_importable,
                            generate, refuse_existing, set_options)

#: ``SynthActionsParams`` fields set on the command line.
ACTIONS_FIELDS = ('subjects', 'reps', 'actions', 'xsub_train_subjects')


def _import_api() -> Tuple[Callable, type]:
    """Import the API (see :func:`_generator_cli.ensure_importable`)."""
    ensure_importable()
    from probpose_ext.datasets.generators.synthactions import (
        SynthActionsParams, make_synthactions)
    return make_synthactions, SynthActionsParams


def xsub_train_default(subjects: int) -> Tuple[int, ...]:
    """The xsub train subjects for ``subjects`` subjects: the first 10 of
    16 (the default), scaled and kept in [1, subjects - 1]."""
    num = min(max(1, round(subjects * 10 / 16)), max(1, subjects - 1))
    return tuple(range(1, num + 1))


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line (unset options keep the defaults of
    ``SynthActionsParams``)."""
    parser = argparse.ArgumentParser(
        description='Generate the SynthActions synthetic skeleton action '
        "recognition data set (MMAction2's skeleton pkl layout).")
    parser.add_argument('out_dir', help='output directory')
    parser.add_argument('--seed', type=int, default=0, help='base seed')
    parser.add_argument(
        '--subjects',
        type=int,
        default=None,
        help='number of subjects P001.. (default 16)')
    parser.add_argument(
        '--reps',
        type=int,
        default=None,
        help='sequences per action and subject (default 3)')
    parser.add_argument(
        '--actions', nargs='+', default=None, help='classes (default: all)')
    parser.add_argument(
        '--xsub-train-subjects',
        type=int,
        nargs='+',
        default=None,
        help='subject numbers of xsub_train (default: P001-P010 of 16, '
        'scaled with --subjects)')
    add_run_args(parser)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point; returns the exit code."""
    args = parse_args(argv)
    if refuse_existing(args.out_dir, args.force):
        return EXIT_EXISTS  # before the (slow) import of the package
    if args.subjects is not None and args.xsub_train_subjects is None:
        args.xsub_train_subjects = xsub_train_default(args.subjects)
    make_synthactions, params_cls = _import_api()
    code, _ = generate(
        args, make_synthactions,
        lambda: params_cls(**set_options(args, ACTIONS_FIELDS)))
    return code

if __name__ == '__main__':
    sys.exit(main())
