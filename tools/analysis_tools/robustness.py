"""The whole chain under stress, in one command (docs/robustness.md).

    python tools/analysis_tools/robustness.py [--quick] \\
        [--work-dir work_dirs/robustness] [--stages frames sources ...] \\
        [--out-dir docs/robustness]

Renders SynthMotion-Video if missing, runs the 2D zoo on its frames into
2D sources, trains a lifter per source (the cross-source matrix), and
runs the image-, video- and keypoint-level corruption benchmarks; writes
``matrix.md``, ``image.md``, ``video.md``, ``keypoint.md``, their PNGs and
``results.json`` into ``--out-dir`` (default ``WORK_DIR/results``).
Every cell is cached and lifters resume, so an interrupted run continues
where it stopped; delete ``WORK_DIR/cells`` to recompute. ``--quick``
runs a few-minute version on a tiny rendered set (into
``work_dirs/robustness_quick`` unless ``--work-dir`` is given).
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

from probpose_ext.apis.robustness import (STAGES,  # noqa: E402
                                          RobustnessSettings, quick_settings,
                                          run_chain)
from probpose_ext.apis.robustness_stages import video_rows  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true',
                        help='the few-minute version (tests)')
    parser.add_argument('--work-dir', default=None)
    parser.add_argument('--frames-root', default=None,
                        help='SynthMotion-Video (generated if missing)')
    parser.add_argument('--stages', nargs='+', default=list(STAGES),
                        choices=STAGES)
    parser.add_argument('--out-dir', default=None,
                        help='results folder (default WORK_DIR/results)')
    parser.add_argument('--lifter-epochs', type=int, default=None)
    parser.add_argument(
        '--detection-lifters', action='store_true',
        help='video/keypoint levels: also the TAGN and CA-Conv TCNs trained '
        'on the heatmap model\'s detections (real confidences)')
    parser.add_argument('--no-progress', action='store_true')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    if args.quick:
        settings = quick_settings(args.work_dir or
                                  'work_dirs/robustness_quick')
    else:
        settings = RobustnessSettings(
            work_dir=args.work_dir or 'work_dirs/robustness')
    if args.frames_root:
        settings.frames_root = args.frames_root
    if args.lifter_epochs:
        settings.lifter_epochs = args.lifter_epochs
    if args.detection_lifters:
        settings.video_lifters = video_rows(detection=True)
    results = run_chain(settings, args.stages,
                        progress=not args.no_progress, out_dir=args.out_dir)
    meta = results['meta']
    print(f'robustness: {meta["total_minutes"]} min '
          f'({", ".join(f"{k} {v}" for k, v in meta["minutes"].items())})')
    for path in results['written']:
        print(f'  wrote {path}')
    return results


if __name__ == '__main__':
    main()
