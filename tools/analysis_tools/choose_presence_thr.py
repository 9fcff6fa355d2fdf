"""Choose the Ex-OKS presence threshold on a selection split.

The threshold turning presence into an in/out decision is part of Ex-OKS:
keep the default 0.5, or choose it here on a split that is NOT the
evaluation set, then fix it for the evaluation. (A sweep on the evaluation
set is an oracle number: ``ExCocoMetric(oracle_thrs=...)`` reports it as
``Ex_AP@oracle_thr``.)

    # 1. predictions on the selection split (its ann_file as test set)
    python tools/test.py CONFIG CKPT --dump work_dirs/sel.pkl \\
        --cfg-options test_dataloader.dataset.ann_file=SEL.json \\
                      test_evaluator.ann_file=data/coco/SEL.json
    # 2. choose
    python tools/analysis_tools/choose_presence_thr.py work_dirs/sel.pkl \\
        data/coco/SEL.json [--criterion ex_ap|balanced_acc] \\
        [--thrs 0.3 0.4 0.5 0.6] [--aw-distance edge|corner] \\
        [--padding 1.25] [--aspect-ratio 0.75] [--presence-key auto] \\
        [--metric-options score_mode=bbox nms_mode=none] [--out thr.json]
    # 3. evaluate the test split with the printed --cfg-options

Prints the criterion per threshold, the chosen threshold (ties: the one
closest to 0.5) and the ``--cfg-options`` that set it; ``--out`` writes the
result as JSON.
"""
import argparse
import json
import os
import os.path as osp
import sys
from typing import List, Optional

try:
    import probpose_ext  # noqa: F401
except ImportError:  # running from a source checkout without installing
    sys.path.insert(
        0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmengine.config import DictAction  # noqa: E402

from probpose_ext.analysis.presence_thr import (  # noqa: E402
    CRITERIA, FIXED_THR, choose_presence_thr, presence_thr_cfg_options,
    presence_thr_table)
from probpose_ext.utils.validation import load_pickle  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[1:]))
    parser.add_argument('dump', help='predictions on the selection split '
                        '(tools/test.py --dump)')
    parser.add_argument('ann_file', help='COCO keypoint json of the '
                        'selection split')
    parser.add_argument('--criterion', default='ex_ap', choices=CRITERIA,
                        help='ex_ap: Ex-AP of ExCocoMetric; balanced_acc: '
                        'balanced in/out accuracy of the presence (GT '
                        'boxes). Default: ex_ap')
    parser.add_argument('--thrs', nargs='+', type=float, default=None,
                        help='candidate thresholds (default 0.05 ... 0.95, '
                        'step 0.05)')
    parser.add_argument('--aw-distance', default='edge',
                        choices=('edge', 'corner'),
                        help='Ex-OKS distance to the activation window')
    parser.add_argument('--padding', type=float, default=1.25,
                        help='activation-window padding (default 1.25)')
    parser.add_argument('--aspect-ratio', type=float, default=0.75,
                        help='model input w/h (default 0.75)')
    parser.add_argument('--presence-key', default='auto',
                        help="pred_instances field read as presence; 'auto' "
                        '= keypoint_presence if present else keypoint_scores')
    parser.add_argument('--metric-options', nargs='+', action=DictAction,
                        default=None, help='further CocoMetric arguments '
                        '(key=value) as in the evaluation config, e.g. '
                        'score_mode=bbox nms_mode=none')
    parser.add_argument('--out', help='JSON file for the result')
    return parser.parse_args(argv)


def _report(result: dict, args: argparse.Namespace) -> str:
    name = 'Ex_AP' if result['criterion'] == 'ex_ap' else 'balanced acc.'
    thr, fixed = result['thr'], result[f'value@{FIXED_THR}']
    options = presence_thr_cfg_options(thr)
    return (
        f"{result['num_samples']} data samples from {args.dump}, presence "
        f"from pred_instances.{result['presence_key']}\n\n"
        f'{presence_thr_table(result)}\n'
        f'chosen presence_thr = {thr!r}: {name} {100 * result["value"]:.2f}'
        f' (at {FIXED_THR}: {100 * fixed:.2f}) on the selection split\n'
        'Evaluate the test split (not this one) with\n'
        f'  --cfg-options {options[0]}\n'
        'or, when test_evaluator is a list with the ExCocoMetric first,\n'
        f'  --cfg-options {options[1]}\n')


def main(argv: Optional[List[str]] = None) -> dict:
    """Entry point; returns the result of ``choose_presence_thr``."""
    args = parse_args(argv)
    from mmengine.logging import MMLogger

    # the metric's INFO lines ("Evaluating ...") would drown the table
    MMLogger.get_instance('choose_presence_thr', log_level='WARNING')
    try:
        result = choose_presence_thr(
            load_pickle(args.dump), args.ann_file, criterion=args.criterion,
            thresholds=args.thrs, aw_distance=args.aw_distance,
            padding=args.padding, aspect_ratio=args.aspect_ratio,
            presence_key=args.presence_key,
            metric_kwargs=args.metric_options)
    except (FileNotFoundError, ValueError, KeyError, TypeError) as e:
        sys.exit(f'choose_presence_thr: error: {e}')
    print(_report(result, args), end='')
    if args.out:
        record = dict(
            result,
            curve={repr(t): v for t, v in result['curve'].items()},
            cfg_options=presence_thr_cfg_options(result['thr']),
            dump=osp.abspath(args.dump),
            ann_file=osp.abspath(args.ann_file),
            metric_options=args.metric_options or {})
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(record, f, indent=2)
        print(f'wrote {args.out}')
    return result


if __name__ == '__main__':
    main()
