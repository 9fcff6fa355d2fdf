"""The main job on the embedded data (``make demo``).

1. Generates SynthPose into ``data/synthpose`` and SynthPose-Crop (the
   CropCOCO generator applied to SynthPose val) into
   ``data/synthpose_crop`` if they are missing.
2. Trains each demo model with ``tools/train.py`` (resuming an interrupted
   or finished run in its work directory, so re-running is cheap).
3. Evaluates the best checkpoint with ``tools/test.py`` and ``ExCocoMetric``
   on SynthPose val and on SynthPose-Crop val (COCO AP and Ex-AP; presence
   threshold 0.5), then the in/out accuracy of ProbPose's presence vs the
   baseline's heatmap confidence on SynthPose-Crop. Prints a table (also
   written to ``work_dirs/demo/summary.md`` and ``summary.json``, with the
   in/out plot ``inout.png``).
4. Calibrates ProbPose: generates a held-out SynthPose split
   (``data/synthpose_heldout``, 200 images drawn with seed ``--seed + 1``,
   so disjoint from train and val), fits the sparsemax test temperature on
   it (``tools/analysis_tools/calibrate.py``'s job, into
   ``work_dirs/demo/calibration``) and reports the miscalibration and the
   credible-region coverage on SynthPose val before and after (reused on a
   re-run while the checkpoint and the splits are unchanged).

    python tools/demo.py [--data-root data/synthpose]
        [--crop-root data/synthpose_crop] [--work-dir work_dirs/demo]
        [--num-train 3000] [--num-val 500] [--models heatmap] [--retrain]
        [--heldout-root data/synthpose_heldout] [--num-heldout 200]
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
    parser.add_argument('--crop-root', default='data/synthpose_crop')
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
    parser.add_argument(
        '--heldout-root', default='data/synthpose_heldout',
        help='held-out SynthPose split the calibration is fitted on')
    parser.add_argument('--num-heldout', type=int, default=200,
                        help='images of the held-out split (0: no '
                        'calibration step)')
    parser.add_argument('--heldout-seed', type=int, default=None,
                        help='seed of the held-out split (default --seed + '
                        '1; must differ from --seed)')
    args = parser.parse_args(argv)
    if args.heldout_seed is None:
        args.heldout_seed = args.seed + 1
    if args.heldout_seed == args.seed:
        parser.error('--heldout-seed must differ from --seed: the held-out '
                     'split would repeat SynthPose val')
    return args


def ensure_data(data_root: str, crop_root: str, num_train: int,
                num_val: int, seed: int) -> None:
    """Generate SynthPose and SynthPose-Crop unless complete copies are
    already there."""
    from probpose_ext.datasets.cropcoco import make_cropcoco
    from probpose_ext.datasets.synthpose import make_synthpose
    ann = osp.join(data_root, 'annotations', 'person_keypoints_val.json')
    if osp.isfile(ann):
        print(f'SynthPose found at {data_root}')
    else:
        print(f'Generating SynthPose ({num_train} train + {num_val} val '
              f'images) into {data_root} ...')
        start = time.time()
        make_synthpose(data_root, num_train=num_train, num_val=num_val,
                       seed=seed)
        print(f'SynthPose generated in {time.time() - start:.0f} s')
    if osp.isfile(osp.join(crop_root, 'annotations',
                           'person_keypoints_val.json')):
        print(f'SynthPose-Crop found at {crop_root}')
        return
    print(f'Generating SynthPose-Crop from SynthPose val into {crop_root} '
          '...')
    summary = make_cropcoco(
        osp.join(data_root, 'val'), ann, crop_root, split='val', seed=seed)
    areas = ', '.join(f'{k} {v:.1f}%'
                      for k, v in summary['areas_percent'].items())
    print(f"SynthPose-Crop: {summary['num_images']} images, keypoints by "
          f'area: {areas}')


def ensure_heldout(root: str, num: int, seed: int) -> None:
    """Generate the held-out SynthPose split (its ``val`` part only, drawn
    with ``seed``: every image's generator is seeded by (seed, split,
    index), so a seed other than the demo's gives images disjoint from
    train and val) unless it is there."""
    from probpose_ext.datasets.synthpose import make_synthpose
    if osp.isfile(_ann_file(root)):
        print(f'SynthPose held-out split found at {root}')
        return
    print(f'Generating a held-out SynthPose split ({num} images, seed '
          f'{seed}) into {root} ...')
    make_synthpose(root, num_train=0, num_val=num, seed=seed)


def _ann_file(root: str) -> str:
    return osp.join(root, 'annotations', 'person_keypoints_val.json')


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


def _evaluator_key(cfg, split: str) -> str:
    """Config key of the COCO metric: the evaluator or the first of a list."""
    evaluator = cfg[f'{split}_evaluator']
    return (f'{split}_evaluator.0'
            if isinstance(evaluator, (list, tuple)) else f'{split}_evaluator')


def _test_on(cfg, config, checkpoint, work_dir, root, tag, data_opts):
    """``tools/test.py`` on the val split under ``root``; returns metrics
    and the path of the dumped predictions."""
    from probpose_ext.apis import test_main
    ann_file = f'{root}/annotations/person_keypoints_val.json'
    dump = osp.join(work_dir, f'preds_{tag}.pkl')
    metrics = test_main([
        config, checkpoint, '--work-dir', work_dir, '--out',
        osp.join(work_dir, f'test_metrics_{tag}.json'), '--dump', dump,
        '--cfg-options', *data_opts, f'test_dataloader.dataset.data_root={root}',
        f'{_evaluator_key(cfg, "test")}.ann_file={ann_file}'
    ])
    return {k: float(v) for k, v in metrics.items()}, dump


def run_model(name: str, args) -> dict:
    """Train (or resume) one demo model and evaluate it on SynthPose val
    and SynthPose-Crop val."""
    from mmengine.config import Config

    from probpose_ext.apis import train_main
    config, description = MODELS[name]
    config = osp.join(REPO, config)
    work_dir = osp.join(args.work_dir, name)
    if args.retrain and osp.isdir(work_dir):
        shutil.rmtree(work_dir)
    cfg = Config.fromfile(config)
    data_opts = [
        f'{split}_dataloader.dataset.data_root={args.data_root}'
        for split in ('train', 'val')
    ]
    data_opts.append(
        f'{_evaluator_key(cfg, "val")}.ann_file={args.data_root}/'
        'annotations/person_keypoints_val.json')
    data_opts += list(args.cfg_options)
    train_time = _timed_training(
        work_dir, lambda: train_main([config, '--work-dir', work_dir,
                                      '--resume', '--cfg-options',
                                      *data_opts]))
    checkpoint = _best_checkpoint(work_dir)
    metrics, _ = _test_on(cfg, config, checkpoint, work_dir, args.data_root,
                          'synthpose', data_opts)
    crop_metrics, crop_dump = _test_on(cfg, config, checkpoint, work_dir,
                                       args.crop_root, 'synthpose_crop',
                                       data_opts)
    return dict(
        model=name, description=description, config=osp.relpath(config, REPO),
        checkpoint=checkpoint, train_seconds=round(train_time, 1),
        metrics=metrics, crop_metrics=crop_metrics, crop_dump=crop_dump)


def inout_analysis(results, work_dir: str) -> dict:
    """In/out accuracy of each model on SynthPose-Crop (presence for
    ProbPose, heatmap confidence for the baseline), the first model being
    compared with the others. Writes ``inout.{png,md,json}``."""
    from probpose_ext.analysis.inout import (accuracy_curves, inout_table,
                                             load_inout, plot_inout,
                                             summarize_inout)
    curves = {}
    for r in sorted(results, key=lambda r: r['model'] != 'probpose'):
        labels, scores = load_inout(r['crop_dump'])
        curves[r['model']] = accuracy_curves(labels, scores)
    summary = summarize_inout(curves)
    plot_inout(curves, osp.join(work_dir, 'inout.png'))
    table = inout_table(summary)
    with open(osp.join(work_dir, 'inout.md'), 'w') as f:
        f.write(table + '\n')
    with open(osp.join(work_dir, 'inout.json'), 'w') as f:
        json.dump(summary, f, indent=2, default=float)
    return dict(summary=summary, table=table)


def _options_dict(items) -> dict:
    """``key=value`` strings (as ``--cfg-options``) as a dict."""
    from mmengine.config import DictAction
    if not items:
        return {}
    parser = argparse.ArgumentParser()
    parser.add_argument('--options', nargs='+', action=DictAction)
    return parser.parse_args(['--options', *items]).options


def _calibration_rows(report: dict) -> dict:
    """The demo's numbers of an ``evaluate_calibration`` report."""
    cov = report['coverage']
    return dict(
        temperature=report['temperature'],
        ks=report['miscalibration']['ks'],
        mace=report['miscalibration']['mace'],
        keypoints=report['miscalibration']['count'],
        outside_support=report['outside_support'],
        coverage={f'{p:g}': c for p, c in zip(cov['levels'],
                                              cov['coverage'])})


def calibrate_probpose(result: dict, args) -> dict:
    """Fit ProbPose's test temperature on the held-out split and report
    before/after on SynthPose val; reuses an earlier result for the same
    checkpoint and splits. Writes ``calibration/`` in the work dir."""
    from probpose_ext.analysis.calibration import (collect_calibration_data,
                                                   run_calibration)
    work = osp.join(args.work_dir, 'calibration')
    record = osp.join(work, 'demo_calibration.json')
    checkpoint = osp.abspath(result['checkpoint'])
    key = dict(checkpoint=checkpoint, mtime=osp.getmtime(checkpoint),
               heldout=osp.abspath(_ann_file(args.heldout_root)),
               val=osp.abspath(_ann_file(args.data_root)))
    if osp.isfile(record):
        with open(record) as f:
            saved = json.load(f)
        if saved.get('key') == key:
            print(f'Calibration found at {work}')
            return saved['summary']
    config = osp.join(REPO, MODELS['probpose'][0])
    options = _options_dict(args.cfg_options)
    start = time.time()
    fit = run_calibration(
        config, checkpoint, work, ann_file=_ann_file(args.heldout_root),
        data_prefix=osp.join(args.heldout_root, 'val'),
        cfg_options=options)
    val_data = collect_calibration_data(
        config, checkpoint, ann_file=_ann_file(args.data_root),
        data_prefix=osp.join(args.data_root, 'val'), cfg_options=options)
    val = run_calibration(
        config, checkpoint, work, ann_file=_ann_file(args.data_root),
        data_prefix=osp.join(args.data_root, 'val'), eval_only=True,
        temperatures=dict(before=fit['initial_temperature'],
                          after=fit['temperature']),
        data=val_data, cfg_options=options)
    summary = dict(
        metric='mace',
        temperature_before=fit['initial_temperature'],
        temperature_after=fit['temperature'],
        heldout=dict(images=args.num_heldout, seed=args.heldout_seed,
                     instances=fit['inputs']['instances'],
                     before=_calibration_rows(fit['before']),
                     after=_calibration_rows(fit['after'])),
        val=dict(instances=val['inputs']['instances'],
                 before=_calibration_rows(val['reports']['before']),
                 after=_calibration_rows(val['reports']['after'])),
        presence_val={k: val['presence'][k]
                      for k in ('ece', 'mce', 'brier', 'count',
                                'positive')},
        calibrated_config=fit['calibrated_config'],
        seconds=round(time.time() - start, 1))
    tmp = f'{record}.tmp-{os.getpid()}'
    with open(tmp, 'w') as f:
        json.dump(dict(key=key, summary=summary), f, indent=2)
    os.replace(tmp, record)
    return summary


def calibration_table(summary: dict) -> str:
    """Markdown section of the calibration step."""
    levels = list(summary['val']['before']['coverage'])
    lines = [
        'Calibration of ProbPose\'s probability maps: sparsemax test '
        f"temperature fitted on a held-out SynthPose split "
        f"({summary['heldout']['images']} images, "
        f"{summary['heldout']['instances']} people, seed "
        f"{summary['heldout']['seed']}) by minimising the MACE of the GT "
        'rank mass; maps without flip test. Coverage: fraction of GT '
        'keypoints inside the credible region of that level.', '',
        '| split | T | KS | MACE | ' + ' | '.join(
            f'coverage {float(p):.0%}' for p in levels) +
        ' | GT outside support |',
        '|---|---|---|---|' + '---|' * len(levels) + '---|'
    ]
    for split, name in (('heldout', 'held-out'), ('val', 'SynthPose val')):
        for when in ('before', 'after'):
            row = summary[split][when]
            lines.append(
                f"| {name}, {when} | {row['temperature']:.3f} | "
                f"{row['ks']:.3f} | {row['mace']:.3f} | " + ' | '.join(
                    f"{row['coverage'][p]:.3f}" for p in levels) +
                f" | {100 * row['outside_support']:.1f}% |")
    presence = summary['presence_val']
    lines += ['', f"Presence on SynthPose val ({presence['count']} annotated "
              f"keypoints, {100 * presence['positive']:.1f}% inside the "
              f"window): ECE {presence['ece']:.3f}, Brier "
              f"{presence['brier']:.3f}. Calibrated config: "
              f"`{summary['calibrated_config']}`."]
    return '\n'.join(lines)


def _fmt(metrics: dict, key: str) -> str:
    return f'{metrics[key]:.3f}' if key in metrics else '-'


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.work_dir, exist_ok=True)
    ensure_data(args.data_root, args.crop_root, args.num_train,
                args.num_val, args.seed)
    calibrate = 'probpose' in args.models and args.num_heldout > 0
    if calibrate:
        ensure_heldout(args.heldout_root, args.num_heldout,
                       args.heldout_seed)
    results = [run_model(name, args) for name in args.models]
    inout = inout_analysis(results, args.work_dir)
    calibration = None
    if calibrate:
        calibration = calibrate_probpose(
            next(r for r in results if r['model'] == 'probpose'), args)

    lines = [
        '| model | SynthPose val AP | Ex-AP | SynthPose-Crop val AP | '
        'Ex-AP | Ex-AP (v=3) | in/out acc (Crop) | balanced | '
        'wall time (train) |',
        '|---|---|---|---|---|---|---|---|---|',
    ]
    for r in results:
        m, c = r['metrics'], r['crop_metrics']
        io = inout['summary']['models'][r['model']]
        lines.append(
            f"| {r['description']} | {_fmt(m, 'coco/AP')} | "
            f"{_fmt(m, 'coco/Ex_AP')} | {_fmt(c, 'coco/AP')} | "
            f"{_fmt(c, 'coco/Ex_AP')} | {_fmt(c, 'coco/Ex_AP (v=3)')} | "
            f"{io['acc@0.5']:.3f} | {io['balanced_acc@0.5']:.3f} | "
            f"{r['train_seconds'] / 60:.1f} min |")
    table = '\n'.join(lines)
    calibration_md = ('' if calibration is None else
                      '\n' + calibration_table(calibration) + '\n')
    with open(osp.join(args.work_dir, 'summary.md'), 'w') as f:
        f.write(table + '\n\nIn/out classification on SynthPose-Crop val '
                '(presence vs heatmap confidence):\n\n' + inout['table'] +
                calibration_md + '\n')
    with open(osp.join(args.work_dir, 'summary.json'), 'w') as f:
        json.dump(dict(models=results, inout=inout['summary'],
                       calibration=calibration), f, indent=2, default=float)
    print('\n' + table + '\n\n' + inout['table'] + calibration_md)
    for r in results:
        m, c = r['metrics'], r['crop_metrics']
        print(f"SynthPose val AP ({r['model']}): {m['coco/AP']:.3f}, "
              f"Ex-AP: {m['coco/Ex_AP']:.3f}")
        print(f"SynthPose-Crop val AP ({r['model']}): {c['coco/AP']:.3f}, "
              f"Ex-AP: {c['coco/Ex_AP']:.3f}")
        if 'presence/acc' in m:
            print(f"SynthPose val presence accuracy ({r['model']}): "
                  f"{m['presence/acc']:.3f}")
    if calibration is not None:
        before, after = (calibration['val'][k] for k in ('before', 'after'))
        print(f"Calibration (probpose): temperature "
              f"{calibration['temperature_before']:.3f} -> "
              f"{calibration['temperature_after']:.3f} (held-out split); "
              f"SynthPose val MACE {before['mace']:.3f} -> "
              f"{after['mace']:.3f}, 90% coverage "
              f"{before['coverage']['0.9']:.3f} -> "
              f"{after['coverage']['0.9']:.3f}")
    return results


if __name__ == '__main__':
    main()
