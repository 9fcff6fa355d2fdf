"""The main job on the embedded data (``make demo``).

1. Generates SynthPose into ``data/synthpose`` if it is missing.
2. Trains each demo model with ``tools/train.py`` (resuming an interrupted
   or finished run in its work directory, so re-running is cheap).
3. Evaluates the best checkpoint with ``tools/test.py`` and prints a table
   of COCO AP and wall times (also written to ``work_dirs/demo/summary.md``
   and ``summary.json``).

    python tools/demo.py [--data-root data/synthpose] [--work-dir work_dirs/demo]
        [--num-train 3000] [--num-val 500] [--models heatmap] [--retrain]
"""
import argparse
import json
import os
import os.path as osp
import shutil
import sys
import time

try:
    import probpose_ext  # noqa: F401
except ImportError:  # running from a source checkout without installing
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

#: Demo models: name -> (config, description).
MODELS = {
    'heatmap': ('configs/synthpose/td-hm_vit-tiny_synthpose-128x96.py',
                'heatmap baseline (ViT-tiny + HeatmapHead)'),
    'probpose': ('configs/synthpose/probpose_vit-tiny_synthpose-128x96.py',
                 'ProbPose (ViT-tiny + ProbMapHead)'),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-root', default='data/synthpose')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--num-train', type=int, default=3000)
    parser.add_argument('--num-val', type=int, default=500)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--models', nargs='+', default=list(MODELS), choices=list(MODELS))
    parser.add_argument(
        '--retrain', action='store_true',
        help='discard earlier demo runs instead of resuming them')
    parser.add_argument(
        '--cfg-options', nargs='+', default=[],
        help='extra key=value overrides passed to every model')
    return parser.parse_args(argv)


def ensure_data(data_root: str, num_train: int, num_val: int,
                seed: int) -> None:
    """Generate SynthPose unless a complete copy is already there."""
    from probpose_ext.datasets.synthpose import make_synthpose
    ann = osp.join(data_root, 'annotations', 'person_keypoints_val.json')
    if osp.isfile(ann):
        print(f'SynthPose found at {data_root}')
        return
    print(f'Generating SynthPose ({num_train} train + {num_val} val images) '
          f'into {data_root} ...')
    start = time.time()
    make_synthpose(data_root, num_train=num_train, num_val=num_val, seed=seed)
    print(f'SynthPose generated in {time.time() - start:.0f} s')


def _best_checkpoint(work_dir: str) -> str:
    best = sorted(f for f in os.listdir(work_dir) if f.startswith('best_'))
    if best:
        return osp.join(work_dir, best[-1])
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def _last_checkpoint(work_dir: str):
    path = osp.join(work_dir, 'last_checkpoint')
    return open(path).read().strip() if osp.isfile(path) else None


def _timed_training(work_dir: str, train) -> float:
    """Run ``train`` and return the total training wall time of the run in
    ``work_dir``: time spent now is added to earlier sessions' only if it
    produced a new checkpoint (a resumed finished run adds nothing)."""
    record = osp.join(work_dir, 'train_seconds.json')
    total = json.load(open(record))['seconds'] if osp.isfile(record) else 0.
    before = _last_checkpoint(work_dir)
    start = time.time()
    train()
    if _last_checkpoint(work_dir) != before:
        total += time.time() - start
        with open(record, 'w') as f:
            json.dump({'seconds': total}, f)
    return total


def run_model(name: str, args) -> dict:
    """Train (or resume) and evaluate one demo model."""
    from mmengine.config import Config

    from probpose_ext.apis import test_main, train_main
    config, description = MODELS[name]
    config = osp.join(REPO, config)
    work_dir = osp.join(args.work_dir, name)
    if args.retrain and osp.isdir(work_dir):
        shutil.rmtree(work_dir)
    data_opts = [
        f'{split}_dataloader.dataset.data_root={args.data_root}'
        for split in ('train', 'val', 'test')
    ]
    ann_file = f'{args.data_root}/annotations/person_keypoints_val.json'
    cfg = Config.fromfile(config)
    for split in ('val', 'test'):
        # the COCO metric is the evaluator itself or the first of a list
        evaluator = cfg[f'{split}_evaluator']
        key = '.0' if isinstance(evaluator, (list, tuple)) else ''
        data_opts.append(f'{split}_evaluator{key}.ann_file={ann_file}')
    data_opts += list(args.cfg_options)
    train_time = _timed_training(
        work_dir, lambda: train_main([config, '--work-dir', work_dir,
                                      '--resume', '--cfg-options',
                                      *data_opts]))
    checkpoint = _best_checkpoint(work_dir)
    out = osp.join(work_dir, 'test_metrics.json')
    metrics = test_main([config, checkpoint, '--work-dir', work_dir,
                         '--out', out, '--cfg-options', *data_opts])
    return dict(
        model=name, description=description, config=osp.relpath(config, REPO),
        checkpoint=checkpoint, train_seconds=round(train_time, 1),
        metrics={k: float(v) for k, v in metrics.items()})


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.work_dir, exist_ok=True)
    ensure_data(args.data_root, args.num_train, args.num_val, args.seed)
    results = [run_model(name, args) for name in args.models]

    lines = [
        '| model | SynthPose val AP | AP .5 | AR | presence acc | '
        'wall time (train) |',
        '|---|---|---|---|---|---|',
    ]
    for r in results:
        m = r['metrics']
        presence = (f"{m['presence/acc']:.3f}" if 'presence/acc' in m else
                    '-')
        lines.append(
            f"| {r['description']} | {m['coco/AP']:.3f} | "
            f"{m['coco/AP .5']:.3f} | {m['coco/AR']:.3f} | {presence} | "
            f"{r['train_seconds'] / 60:.1f} min |")
    table = '\n'.join(lines)
    with open(osp.join(args.work_dir, 'summary.md'), 'w') as f:
        f.write(table + '\n')
    with open(osp.join(args.work_dir, 'summary.json'), 'w') as f:
        json.dump(results, f, indent=2)
    print('\n' + table)
    for r in results:
        print(f"SynthPose val AP ({r['model']}): {r['metrics']['coco/AP']:.3f}")
        if 'presence/acc' in r['metrics']:
            print(f"SynthPose val presence accuracy ({r['model']}): "
                  f"{r['metrics']['presence/acc']:.3f}")
    return results


if __name__ == '__main__':
    main()
