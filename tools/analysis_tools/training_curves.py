"""Plot validation AP against training minutes for one or more training
runs (MMEngine text logs), next to earlier measurements.

Example:
    python tools/analysis_tools/training_curves.py \\
        --run heatmap=work_dirs/zoo/synthpose-heatmap/*/*.log \\
        --run probpose=work_dirs/zoo/synthpose-probpose/*/*.log \\
        --probes docs/recipe/probes.json --out docs/images/recipe.png

Writes the PNG and, with ``--json``, the points (epoch, minutes, metrics).
Training minutes come from the logged seconds per iteration, so
validation is excluded and resumed runs add up; ``--seconds-per-iter S``
counts iterations x S instead (a run that shared the cores).
"""
import argparse
import glob
import json
import sys
from pathlib import Path
from typing import List, Optional


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--run', action='append', default=[], metavar='LABEL=LOG',
        help='a run: label and its log file(s) (glob; consecutive logs of a '
        'resumed run are read in name order)')
    parser.add_argument('--probes', help='JSON list of earlier measurements '
                        "({'label', 'minutes', 'ap', 'date', 'machine'})")
    parser.add_argument('--metric', default='coco/AP')
    parser.add_argument(
        '--seconds-per-iter', type=float,
        help='count minutes as iterations x this (the speed measured on an '
        'idle machine) instead of the logged times, for runs that shared '
        'the cores with other jobs')
    parser.add_argument(
        '--idle-speed', action='store_true',
        help='like --seconds-per-iter, with each run\'s own 25th percentile '
        'of logged seconds per iteration')
    parser.add_argument('--out', required=True, help='PNG file')
    parser.add_argument('--json', help='also write the points here')
    args = parser.parse_args(argv)
    if not args.run and not args.probes:
        parser.error('nothing to plot: give --run and/or --probes')
    return args


def main(argv: Optional[List[str]] = None) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from probpose_ext.analysis.curves import (idle_seconds_per_iter,
                                              load_probes, plot_curves,
                                              read_curve)
    args = parse_args(argv)
    curves = {}
    for item in args.run:
        label, sep, pattern = item.partition('=')
        logs = sorted(glob.glob(pattern))
        if not sep or not logs:
            print(f'--run {item}: expected LABEL=LOG with an existing log')
            return 2
        text = '\n'.join(Path(p).read_text() for p in logs)
        curves[label] = read_curve(text)
        speed = args.seconds_per_iter or (
            idle_seconds_per_iter(text) if args.idle_speed else None)
        if speed:
            for point in curves[label]:
                point['minutes'] = point['iteration'] * speed / 60
        last = curves[label][-1] if curves[label] else None
        print(f'{label}: {len(curves[label])} validations' + (
            f', last {args.metric} {last[args.metric]:.3f} after '
            f'{last["minutes"]:.1f} min (epoch {last["epoch"]})'
            if last else ''))
    probes = load_probes(args.probes) if args.probes else None
    print(f'written {plot_curves(curves, args.out, probes, args.metric)}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(curves, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
