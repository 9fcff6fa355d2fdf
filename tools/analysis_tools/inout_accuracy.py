"""In/out classification accuracy vs threshold of one or more models.

The ProbPose paper's Fig. 5: for every annotated GT keypoint, is it inside
the instance's activation window, and does the model's score (ProbPose's
presence probability, a heatmap baseline's maximum heatmap value) say so
at threshold t? Reads dumps written by ``tools/test.py CONFIG CKPT --dump``
(top-down on GT boxes).

    python tools/analysis_tools/inout_accuracy.py \\
        --dump probpose.pkl heatmap.pkl --names ProbPose baseline \\
        [--ann-file ANN.json] [--score-key auto] \\
        [--label-source {auto,visibility,pad_to_contain,geometry}] \\
        [--padding 1.25] [--aspect-ratio 0.75] [--thr 0.5] \\
        [--thr-step 0.01] --out-dir DIR

Writes ``DIR/inout.png`` (accuracy and balanced accuracy vs threshold),
``DIR/inout.md`` (the printed table) and ``DIR/inout.json`` (summary and
curves). The first model is model A: the error reduction
``1 - err_A / err_B`` of A is reported against every other model B
(positive: A makes fewer errors), at ``--thr`` and at each model's own best
threshold. "Best" thresholds are chosen on the evaluated set itself.
"""
import argparse
import json
import os
import os.path as osp
import sys

import numpy as np

try:
    import probpose_ext  # noqa: F401
except ImportError:  # running from a source checkout without installing
    sys.path.insert(
        0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from probpose_ext.analysis.inout import (LABEL_SOURCES,  # noqa: E402
                                         accuracy_curves, default_thresholds,
                                         inout_table, load_inout, plot_inout,
                                         summarize_inout)
from probpose_ext.utils.coco_file import load_coco_keypoints  # noqa: E402
from probpose_ext.utils.jsonable import to_jsonable  # noqa: E402
from probpose_ext.utils.validation import load_pickle  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[1:]))
    parser.add_argument('--dump', nargs='+', required=True,
                        help='prediction pickles (tools/test.py --dump); the '
                        'first is model A')
    parser.add_argument('--names', nargs='+',
                        help='model names (default: the dump file stems)')
    parser.add_argument('--ann-file',
                        help='COCO json for samples without raw_ann_info, '
                        'matched by annotation id')
    parser.add_argument('--score-key', nargs='+', default=['auto'],
                        help="pred_instances field used as the in-score, one "
                        "for all or one per dump; 'auto' = keypoint_presence "
                        'if present else keypoint_scores')
    parser.add_argument('--label-source', default='auto',
                        choices=LABEL_SOURCES,
                        help='GT in/out labels (see probpose_ext.analysis.'
                        'inout); geometry = from coordinates and the bbox')
    parser.add_argument('--padding', type=float, default=1.25,
                        help='activation-window padding (pad_to_contain and '
                        'geometry labels)')
    parser.add_argument('--aspect-ratio', type=float, default=0.75,
                        help='model input w/h (geometry labels); 0 reads it '
                        'from each sample\'s input_size')
    parser.add_argument('--thr', type=float, default=0.5,
                        help='fixed threshold reported beside the best one')
    parser.add_argument('--thr-step', type=float, default=0.01,
                        help='threshold grid step over [0, 1]')
    parser.add_argument('--out-dir', required=True)
    args = parser.parse_args(argv)
    names = args.names or [
        osp.splitext(osp.basename(p))[0] for p in args.dump]
    if len(names) != len(args.dump):
        parser.error(f'{len(args.dump)} dumps but {len(names)} names')
    if len(set(names)) != len(names):
        parser.error(f'model names must be unique, got {names}')
    if len(args.score_key) not in (1, len(args.dump)):
        parser.error('--score-key takes one value or one per dump')
    args.names = names
    args.score_key = (args.score_key * len(args.dump)
                      if len(args.score_key) == 1 else args.score_key)
    return args


def _load_model(name, dump, score_key, args):
    """``load_inout`` of one dump; bad input exits with a message naming
    the file (and the model)."""
    try:
        samples = load_pickle(dump)
        return load_inout(
            samples, ann_file=args.ann_file, score_key=score_key,
            padding=args.padding, aspect_ratio=args.aspect_ratio or None,
            label_source=args.label_source, return_meta=True)
    except (FileNotFoundError, ValueError, KeyError, TypeError) as e:
        sys.exit(f'inout_accuracy: error: {name} ({dump}): '
                 f'{e.args[0] if isinstance(e, KeyError) else e}')


def main(argv=None) -> dict:
    args = parse_args(argv)
    thresholds = default_thresholds(args.thr_step)
    if not (abs(thresholds - args.thr) < 1e-9).any():
        thresholds = sorted({*thresholds.tolist(), args.thr})
    if args.ann_file:
        try:
            load_coco_keypoints(args.ann_file)
        except (FileNotFoundError, ValueError) as e:
            sys.exit(f'inout_accuracy: error: {e}')

    curves, sources, keys = {}, {}, {}
    for name, dump, score_key in zip(args.names, args.dump, args.score_key):
        labels_out, scores_in, meta = _load_model(name, dump, score_key, args)
        curves[name] = accuracy_curves(labels_out, scores_in, thresholds)
        sources[name] = dict(dump=osp.abspath(dump),
                             score_key=meta['score_key'],
                             num_instances=meta['num_instances'])
        order = np.lexsort(meta['keys'].T[::-1])  # dump order may differ
        keys[name] = (meta['keys'][order], labels_out[order])
        print(f'{name}: {meta["num_instances"]} instances, '
              f'{labels_out.size} annotated keypoints '
              f'({int(labels_out.sum())} out), score '
              f'pred_instances.{meta["score_key"]}')

    ref_keys, ref_labels = keys[args.names[0]]
    for name in args.names[1:]:
        other_keys, other_labels = keys[name]
        same = (other_keys.shape == ref_keys.shape
                and (other_keys == ref_keys).all()
                and (other_labels == ref_labels).all())
        if not same:
            print(f'WARNING: {name} is evaluated on other GT keypoints than '
                  f'{args.names[0]}; the comparison mixes evaluation sets.')

    summary = summarize_inout(curves, thr=args.thr)
    table = inout_table(summary)
    os.makedirs(args.out_dir, exist_ok=True)
    plot_inout(curves, osp.join(args.out_dir, 'inout.png'), thr=args.thr)
    with open(osp.join(args.out_dir, 'inout.md'), 'w') as f:
        f.write(table)
    result = dict(
        summary=summary,
        settings=dict(label_source=args.label_source, padding=args.padding,
                      aspect_ratio=args.aspect_ratio or 'input_size',
                      thr=args.thr, thr_step=args.thr_step,
                      ann_file=args.ann_file),
        models=sources,
        curves={name: {k: c[k] for k in ('thresholds', 'acc', 'balanced_acc')}
                for name, c in curves.items()})
    with open(osp.join(args.out_dir, 'inout.json'), 'w') as f:
        json.dump(to_jsonable(result), f, indent=1, allow_nan=False)
    print(table)
    print(f'wrote {args.out_dir}/inout.png, inout.md, inout.json')
    return result


if __name__ == '__main__':
    main()
