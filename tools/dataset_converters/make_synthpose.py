"""Generate the SynthPose synthetic data set in COCO keypoint format.

Example:
    python tools/dataset_converters/make_synthpose.py data/synthpose \\
        --num-train 3000 --num-val 500 --seed 0

The result can be used with MMPose's ``CocoDataset``
(``data_root=OUT_DIR``, ``ann_file='annotations/person_keypoints_val.json'``,
``data_prefix=dict(img='val/')``).
"""
import argparse
import json
import sys
from typing import Callable, List, Optional

from _generator_cli import (EXIT_EXISTS, add_run_args, ensure_importable,
                            refuse_existing, run_generator)


def _import_make_synthpose() -> Callable:
    """Import the API (see :func:`_generator_cli.ensure_importable`)."""
    ensure_importable()
    from probpose_ext.datasets.generators.synthpose import make_synthpose
    return make_synthpose


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='Generate the SynthPose synthetic 2D human pose data set '
        '(COCO keypoint format).')
    parser.add_argument('out_dir', help='output directory')
    parser.add_argument(
        '--num-train', type=int, default=3000, help='number of train images')
    parser.add_argument(
        '--num-val', type=int, default=500, help='number of val images')
    parser.add_argument('--seed', type=int, default=0, help='base seed')
    parser.add_argument(
        '--img-size',
        type=int,
        nargs=2,
        default=[256, 256],
        metavar=('W', 'H'),
        help='image size')
    add_run_args(parser)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point; returns the exit code."""
    args = parse_args(argv)
    if refuse_existing(args.out_dir, args.force):
        return EXIT_EXISTS  # before the (slow) import of the package
    make_synthpose = _import_make_synthpose()
    code, summary = run_generator(lambda: make_synthpose(
        args.out_dir,
        num_train=args.num_train,
        num_val=args.num_val,
        seed=args.seed,
        img_size=tuple(args.img_size),
        workers=args.workers,
        force=args.force,
        progress=not args.no_progress))
    if summary is not None:
        print(json.dumps(summary, indent=2))
    return code

if __name__ == '__main__':
    sys.exit(main())
