"""Generate the SynthPose synthetic data set in COCO keypoint format.

Example:
    python tools/dataset_converters/make_synthpose.py data/synthpose \\
        --num-train 3000 --num-val 500 --seed 0

The result can be used with MMPose's ``CocoDataset``
(``data_root=OUT_DIR``, ``ann_file='annotations/person_keypoints_val.json'``,
``data_prefix=dict(img='val/')``).
"""
import argparse
import importlib.util
import json
import sys
from pathlib import Path
from typing import Callable, List, Optional


def _import_make_synthpose() -> Callable:
    """Import the API, adding the repository root to ``sys.path`` only when
    ``probpose_ext`` is not importable (e.g. not installed)."""
    if importlib.util.find_spec('probpose_ext') is None:
        sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from probpose_ext.datasets.synthpose import make_synthpose
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
    parser.add_argument(
        '--workers',
        type=int,
        default=None,
        help='number of processes (default: all CPUs)')
    parser.add_argument(
        '--force', action='store_true', help='replace OUT_DIR if it exists')
    parser.add_argument(
        '--no-progress', action='store_true', help='hide the progress bar')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point; returns the exit code."""
    args = parse_args(argv)
    out_dir = Path(args.out_dir)
    if (out_dir.exists() or out_dir.is_symlink()) and not args.force:
        # fail before the (slow) import of the package
        print(
            f'error: {out_dir} already exists; pass --force to replace it',
            file=sys.stderr)
        return 1
    make_synthpose = _import_make_synthpose()
    try:
        summary = make_synthpose(
            args.out_dir,
            num_train=args.num_train,
            num_val=args.num_val,
            seed=args.seed,
            img_size=tuple(args.img_size),
            workers=args.workers,
            force=args.force,
            progress=not args.no_progress)
    except FileExistsError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    except (ValueError, TypeError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print('interrupted; nothing was written', file=sys.stderr)
        return 130
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
