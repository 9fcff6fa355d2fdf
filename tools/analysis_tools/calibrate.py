"""Calibrate ProbPose probability maps: fit the sparsemax test temperature on
a held-out split, or report the calibration of a config on any split.

Fit (on a held-out split, NOT the test split):

    python tools/analysis_tools/calibrate.py CONFIG CHECKPOINT \\
        --ann-file data/heldout/annotations/person_keypoints_val.json \\
        [--data-prefix data/heldout/val/] [--work-dir DIR] \\
        [--levels 0.5 0.8 0.9 0.95] [--metric mace|ks|coverage]
        [--level 0.9] [--bins 10] \\
        [--seed 0] [--split test|val] [--device cpu] [--save-data] \\
        [--cfg-options k=v ...]

writes into DIR (default ``work_dirs/calibration/<config stem>``):
``calibration.json`` / ``.md`` (temperature before/after, KS and MACE of the
rank-mass calibration curve, credible-region coverage per level, presence
ECE/MCE/Brier and reliability bins), ``calibration_curve.png``,
``credible_coverage.png``, ``presence_reliability.png`` and
``<config stem>_calibrated.py``: the config with the fitted
``model.test_cfg.temperature``, used with the same checkpoint:

    python tools/test.py DIR/<config stem>_calibrated.py CHECKPOINT

Evaluate without fitting (e.g. the calibrated config on the test split):

    python tools/analysis_tools/calibrate.py DIR/<stem>_calibrated.py \\
        CHECKPOINT --ann-file TEST.json --data-prefix TEST_IMAGES/ \\
        --eval-only [--temperature T ...]

writes the same reports prefixed with ``eval_`` (at the config's test
temperature, or at each ``--temperature``). Maps are taken without flip test
(flip-averaged maps are not ``sparsemax(logits / T)``), on GT boxes.
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

from mmengine.config import DictAction  # noqa: E402

from probpose_ext.analysis.calibration import (  # noqa: E402
    DEFAULT_LEVELS, METRICS, run_calibration)
from probpose_ext.compat.checkpoint import (  # noqa: E402
    CheckpointLoadError, UntrustedCheckpointError)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[1:]))
    parser.add_argument('config', help='MMPose config of a ProbPose model')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--ann-file', help='COCO keypoint json of the split '
                        "(default: the config's test split); relative paths "
                        "are tried from here, then under the dataset's "
                        'data_root')
    parser.add_argument('--data-prefix', help='image directory of the split '
                        "(default: the config's)")
    parser.add_argument('--work-dir', help='output directory (default '
                        'work_dirs/calibration/<config stem>)')
    parser.add_argument('--levels', nargs='+', type=float,
                        default=list(DEFAULT_LEVELS),
                        help='credible levels (default 0.5 0.8 0.9 0.95)')
    parser.add_argument('--metric', default='mace', choices=METRICS,
                        help='what the fit minimises: the mean absolute CDF '
                        'error (default) or Kolmogorov-Smirnov distance of '
                        'the GT rank masses, or the coverage error of the '
                        '--level credible regions')
    parser.add_argument('--level', type=float, default=0.9,
                        help='credible level of --metric coverage (default '
                        '0.9)')
    parser.add_argument('--bins', type=int, default=10,
                        help='presence reliability bins (default 10)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the rank masses\' tie shares')
    parser.add_argument('--eval-only', action='store_true',
                        help='report the calibration without fitting')
    parser.add_argument('--temperature', nargs='+', type=float,
                        help="with --eval-only: temperatures to report "
                        "(default: the config's test temperature)")
    parser.add_argument('--split', default='test', choices=('test', 'val'),
                        help='dataloader config to take (default test)')
    parser.add_argument('--device', default='cpu', help='device (default '
                        'cpu)')
    parser.add_argument('--save-data', action='store_true',
                        help='also write the collected arrays '
                        '(calibration_data.npz)')
    parser.add_argument('--no-progress', action='store_true',
                        help='no progress bar')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default=None, help='override config settings '
                        '(key=value, as in MMPose)')
    args = parser.parse_args(argv)
    if args.temperature and not args.eval_only:
        parser.error('--temperature needs --eval-only (a fit finds it)')
    return args


def _summary(result: dict, eval_only: bool) -> str:
    """The lines printed at the end."""
    if eval_only:
        reports = result['reports']
    else:
        reports = {'before': result['before'], 'after': result['after']}
    lines = []
    for name, rep in reports.items():
        mis, cov = rep['miscalibration'], rep['coverage']
        coverage = ', '.join(f'{p:g}: {c:.3f}' for p, c in zip(
            cov['levels'], cov['coverage']))
        lines.append(f"{name}: T={rep['temperature']:.4g} KS "
                     f"{mis['ks']:.4f} MACE {mis['mace']:.4f} "
                     f'({mis["count"]} keypoints); coverage {coverage}')
    presence = result['presence']
    lines.append(f"presence: ECE {presence['ece']:.4f} MCE "
                 f"{presence['mce']:.4f} Brier {presence['brier']:.4f} "
                 f"({presence['count']} keypoints)")
    if not eval_only:
        lines.append(f"fitted temperature {result['temperature']!r} "
                     f"(was {result['initial_temperature']!r}); calibrated "
                     f"config: {result['calibrated_config']}")
    lines.append('wrote ' + ', '.join(sorted(result['files'].values())))
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> dict:
    """Entry point; returns what the JSON file holds."""
    args = parse_args(argv)
    work_dir = args.work_dir or osp.join(
        'work_dirs', 'calibration',
        osp.splitext(osp.basename(args.config))[0])
    temperatures = None
    if args.temperature:
        temperatures = {f'T={t:g}': t for t in args.temperature}
    try:
        result = run_calibration(
            args.config, args.checkpoint, work_dir, ann_file=args.ann_file,
            data_prefix=args.data_prefix, levels=args.levels,
            metric=args.metric, level=args.level, bins=args.bins, seed=args.seed,
            eval_only=args.eval_only, temperatures=temperatures,
            split=args.split, device=args.device,
            cfg_options=args.cfg_options, save_data=args.save_data,
            progress=not args.no_progress)
    except (FileNotFoundError, ValueError, KeyError, UntrustedCheckpointError,
            CheckpointLoadError) as e:
        sys.exit(f'calibrate: error: {e}')
    print(_summary(result, args.eval_only))
    return result


if __name__ == '__main__':
    main()
