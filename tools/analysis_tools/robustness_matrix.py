"""The cross-source matrix: train a lifter per 2D source, evaluate each on
every source, write the P1/P2 matrix (markdown, JSON, heatmap PNG).

    python tools/analysis_tools/robustness_matrix.py \\
        [--train gt noise5 heatmap tic tic+samples ...] \\
        [--eval gt noise2 noise5 heatmap probpose tic ...] \\
        [--lifter tcn1|tcn27|tagn27|ca27|CONFIG] [--epochs 12] \\
        [--sources-dir DIR] [--work-dir work_dirs/robustness] \\
        [--out-dir DIR]

A source NAME is the pair of files ``NAME_train.npy`` / ``NAME_test.npy``
(MMPose's detection format, (N, 17, 3), aligned with the SynthMotion-Video
annotation files) in ``--sources-dir``; ``NAME+samples`` trains on fresh
draws from ``NAME_train_dist.npz`` each epoch; ``gt`` is the annotation
files' own 2D. Without ``--sources-dir`` the sources of
``tools/analysis_tools/robustness.py`` are made first (cached: frames
rendered if missing, the 2D zoo run on them). Cells and lifters are cached
and resumable under ``--work-dir``. Default rows and columns: the study's
(docs/robustness.md).
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

try:
    import probpose_ext  # noqa: F401
except ImportError:  # running from a source checkout without installing
    sys.path.insert(
        0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from probpose_ext.apis.robustness import (MatrixRow,  # noqa: E402
                                          RobustnessSettings, eval_sources,
                                          run_matrix_only)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--train', nargs='+', default=None,
                        help='training sources (NAME or NAME+samples)')
    parser.add_argument('--eval', nargs='+', default=None,
                        help='test sources')
    parser.add_argument('--lifter', default='tcn1',
                        help='tcn1, tcn27, tagn27, ca27 or a config file')
    parser.add_argument('--epochs', type=int, default=None)
    parser.add_argument('--sources-dir', default=None)
    parser.add_argument('--work-dir', default='work_dirs/robustness')
    parser.add_argument('--frames-root', default=None)
    parser.add_argument('--out-dir', default=None,
                        help='default WORK_DIR/results')
    parser.add_argument('--no-progress', action='store_true')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    settings = RobustnessSettings(work_dir=args.work_dir)
    if args.frames_root:
        settings.frames_root = args.frames_root
    if args.epochs:
        settings.lifter_epochs = args.epochs
    if args.train:
        rows = tuple(
            MatrixRow(f'{args.lifter} {t.replace("+", " ")}', args.lifter,
                      t.split('+')[0], t.endswith('+samples'))
            for t in args.train)
    else:
        rows = settings.rows
    results = run_matrix_only(settings, rows,
                              args.eval or eval_sources(settings),
                              sources_dir=args.sources_dir,
                              progress=not args.no_progress,
                              out_dir=args.out_dir)
    for path in results['written']:
        print(f'  wrote {path}')
    return results


if __name__ == '__main__':
    main()
