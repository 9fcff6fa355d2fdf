"""Share of annotated keypoints per area A-E (the ProbPose paper's Table 3).

Example:
    python tools/analysis_tools/domain_analysis.py \\
        data/coco/annotations/person_keypoints_val2017.json \\
        data/cropcoco/annotations/person_keypoints_val.json \\
        --names COCO CropCOCO --out-dir work_dirs/domains

Writes ``OUT_DIR/domains.md`` (markdown tables, also printed),
``OUT_DIR/domains.json`` (data set name -> counts, see
``probpose_ext.analysis.domain_counts``) and ``OUT_DIR/domains.png`` (bar
chart).
"""
import argparse
import importlib.util
import json
import sys
from pathlib import Path
from typing import List, Optional


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='Count annotated keypoints per area A-E (image / bbox / '
        'activation window) of COCO-style keypoint annotation files.')
    parser.add_argument(
        'ann_files', nargs='+', metavar='ANN_FILE',
        help='COCO-style keypoint annotation json file(s)')
    parser.add_argument(
        '--names', nargs='+', default=None,
        help='data set names, one per file (default: the file names)')
    parser.add_argument(
        '--aspect-ratio', type=float, default=0.75,
        help='model input width / height (default: 0.75)')
    parser.add_argument(
        '--padding', type=float, default=1.25,
        help='activation-window padding (default: 1.25)')
    parser.add_argument(
        '--out-dir', required=True, help='where to write the results')
    return parser.parse_args(argv)


def _names(args: argparse.Namespace) -> List[str]:
    """One unique name per annotation file."""
    if args.names is not None:
        names = list(args.names)
        if len(names) != len(args.ann_files):
            raise ValueError(f'got {len(names)} --names for '
                             f'{len(args.ann_files)} annotation files')
    else:
        names = [Path(f).stem for f in args.ann_files]
    if len(set(names)) != len(names):
        raise ValueError(f'data set names must be unique, got {names}; '
                         'pass --names')
    return names


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point; returns the exit code."""
    args = parse_args(argv)
    try:
        names = _names(args)
    except ValueError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    if importlib.util.find_spec('probpose_ext') is None:
        sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from probpose_ext.analysis import domain_counts, domain_table, \
        plot_domains

    try:
        results = {
            name: domain_counts(path, args.aspect_ratio, args.padding)
            for name, path in zip(names, args.ann_files)
        }
    except (FileNotFoundError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    text = ('# Keypoints per area\n\n' + domain_table(results) +
            '\n## By visibility\n\n' +
            domain_table(results, by_visibility=True, legend=False))
    (out_dir / 'domains.md').write_text(text)
    (out_dir / 'domains.json').write_text(json.dumps(results, indent=2))
    plot_domains(results, out_dir / 'domains.png')
    print(text, end='')
    return 0


if __name__ == '__main__':
    sys.exit(main())
