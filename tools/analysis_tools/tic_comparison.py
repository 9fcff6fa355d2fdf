"""TIC vs its baselines on SynthPose val: train (resumable), evaluate,
tabulate, plot, and optionally publish ``synthpose-tic`` to the zoo.

    python tools/analysis_tools/tic_comparison.py \\
        [--work-dir work_dirs/tic] \\
        [--covariances tic nll diagonal beta_nll faithful] \\
        [--probpose synthpose-probpose synthpose-probpose-dh] \\
        [--out-dir docs/tic_comparison] [--no-train] [--publish]

Each covariance option of the TIC config
(``configs/synthpose/tic_effnet-lite0_1xb32-6e_synthpose-128x96.py``,
``model.head.covariance``) is trained with the same schedule into
``<work-dir>/<covariance>`` (``tools/train.py --resume``: an interrupted
run continues, a finished one is not retrained), and its last checkpoint
(the end of the schedule) is evaluated on SynthPose val with ``ExCocoMetric`` and ``TACMetric``. The
zoo ProbPose models are evaluated with moment-matched covariances
(``model.test_cfg.output_covariance=True``). Evaluations are cached next
to the checkpoints (keyed by checkpoint and config path and time). Writes
``table.md``, ``results.json`` and ``comparison.png`` into ``--out-dir``.
``--publish`` puts the ``tic`` run into the zoo as ``synthpose-tic``.
"""
import argparse
import json
import os
import os.path as osp
import platform
import sys
import time
from datetime import datetime, timezone
from typing import List, Optional

try:
    import probpose_ext  # noqa: F401
except ImportError:  # running from a source checkout without installing
    sys.path.insert(
        0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmengine.config import Config  # noqa: E402

from probpose_ext.analysis.tic_comparison import (  # noqa: E402
    FORMS, comparison_row, comparison_table, covariance_eval_config,
    plot_comparison, rows_in_order)
from probpose_ext.apis.runs import (evaluate_cached,  # noqa: E402
                                    trained_checkpoint, training_minutes)
from probpose_ext.apis.zoo import publish, resolve  # noqa: E402
from probpose_ext.models.heads.tic_head import COVARIANCES  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = 'configs/synthpose/tic_effnet-lite0_1xb32-6e_synthpose-128x96.py'


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=CONFIG)
    parser.add_argument('--work-dir', default='work_dirs/tic')
    parser.add_argument('--covariances', nargs='+', default=list(COVARIANCES),
                        choices=list(COVARIANCES))
    parser.add_argument('--probpose', nargs='*',
                        default=['synthpose-probpose', 'synthpose-probpose-dh'],
                        help='zoo ProbPose models evaluated with '
                        'moment-matched covariances')
    parser.add_argument('--out-dir', default='docs/tic_comparison')
    parser.add_argument('--crop-root', default='data/synthpose_crop/',
                        help='SynthPose-Crop (for the published Ex-AP)')
    parser.add_argument('--no-train', action='store_true',
                        help='skip the covariances without a checkpoint '
                        'instead of training them')
    parser.add_argument('--publish', action='store_true',
                        help='publish the tic run as synthpose-tic')
    return parser.parse_args(argv)


def _run_dir(args, covariance: str) -> str:
    return osp.join(args.work_dir, covariance)


def evaluate(config: Config, checkpoint: str, out_dir: str,
             data_root: Optional[str] = None) -> dict:
    """``tools/test.py`` metrics of ``checkpoint`` with covariance metrics
    (on ``data_root``'s val split if given) and its dump
    ``out_dir/preds.pkl``, cached in ``out_dir``."""
    metrics, _ = evaluate_cached(
        covariance_eval_config(config, data_root), checkpoint, out_dir,
        settings=dict(data_root=data_root))
    return metrics


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    os.chdir(ROOT)
    base = Config.fromfile(args.config)
    max_epochs = int(base.train_cfg.max_epochs)
    results, tic_metrics = {}, None
    for covariance in args.covariances:
        work_dir = _run_dir(args, covariance)
        # the end of the schedule, the same for every option (a best-AP
        # checkpoint would pick different epochs)
        checkpoint = trained_checkpoint(
            args.config, work_dir, max_epochs,
            [f'model.head.covariance={covariance}'], tag='tic_comparison',
            train=not args.no_train)
        if checkpoint is None:
            print(f'[tic_comparison] {covariance}: not trained, skipped')
            continue
        cfg = Config.fromfile(args.config)
        cfg.merge_from_dict({'model.head.covariance': covariance})
        print(f'[tic_comparison] evaluating {covariance}: {checkpoint}',
              flush=True)
        metrics = evaluate(cfg, checkpoint, osp.join(work_dir, 'eval'))
        row = comparison_row(f'TIC head, {covariance}', FORMS[covariance],
                             metrics, training_minutes(work_dir))
        row.update(covariance=covariance, checkpoint=checkpoint,
                   epoch=max_epochs)
        results[covariance] = row
        if covariance == 'tic':
            tic_metrics = metrics
    for name in args.probpose:
        config, weights = resolve(name)
        print(f'[tic_comparison] evaluating {name} (moments)', flush=True)
        metrics = evaluate(Config.fromfile(config), weights,
                           osp.join(args.work_dir, name))
        row = comparison_row(f'{name} (moments)', FORMS['moments'], metrics)
        row.update(checkpoint=weights)
        results[name] = row
    rows = rows_in_order(results, list(args.covariances) + args.probpose)
    os.makedirs(args.out_dir, exist_ok=True)
    table = comparison_table(rows)
    stamp = dict(date=datetime.now(timezone.utc).isoformat(timespec='seconds'),
                 machine=f'{os.cpu_count()} CPU cores '
                 f'({platform.machine()}), {platform.platform()}')
    with open(osp.join(args.out_dir, 'table.md'), 'w') as f:
        f.write(f'SynthPose val, {stamp["date"]}, {stamp["machine"]}\n\n')
        f.write(table + '\n')
    with open(osp.join(args.out_dir, 'results.json'), 'w') as f:
        json.dump(dict(rows=rows, **stamp), f, indent=1)
    plot_comparison(rows, osp.join(args.out_dir, 'comparison.png'))
    print(table)
    if args.publish and tic_metrics is not None:
        _publish(args, results['tic'], tic_metrics, stamp)
    return results


def _publish(args, row: dict, metrics: dict, stamp: dict) -> None:
    """Publish the ``tic`` run (its SynthPose val ``metrics``) as
    ``synthpose-tic``."""
    cfg = Config.fromfile(args.config)
    print('[tic_comparison] evaluating tic on SynthPose-Crop val', flush=True)
    crop = evaluate(cfg, row['checkpoint'],
                    osp.join(_run_dir(args, 'tic'), 'eval_crop'),
                    data_root=args.crop_root)
    results = [dict(
        Task='Body 2D Keypoint', Dataset='SynthPose val',
        Metrics={'AP': round(metrics['coco/AP'], 4),
                 'AP50': round(metrics['coco/AP .5'], 4),
                 'AP75': round(metrics['coco/AP .75'], 4),
                 'TAC (px)': round(metrics['tac/mean'], 3),
                 'L2 (px)': round(metrics['tac/l2'], 3),
                 'NLL': round(metrics['tac/nll'], 2),
                 'Coverage 68%': round(metrics['tac/coverage@68'], 4),
                 'Coverage 95%': round(metrics['tac/coverage@95'], 4)}),
        dict(Task='Body 2D Keypoint', Dataset='SynthPose-Crop val',
             Metrics={'AP': round(crop['coco/AP'], 4),
                      'Ex-AP': round(crop['coco/Ex_AP'], 4),
                      'In/out balanced accuracy':
                      round(crop['presence/balanced_acc'], 4),
                      'TAC (px)': round(crop['tac/mean'], 3),
                      'Coverage 68%': round(crop['tac/coverage@68'], 4),
                      'Coverage 95%': round(crop['tac/coverage@95'], 4)})]
    metadata = {
        'Training Data': 'SynthPose train',
        'Initialised From': 'synthpose-heatmap',
        'Epochs': int(cfg.train_cfg.max_epochs),
        'Batch Size': 32,
        'Training Minutes': round(row['minutes'], 1),
        'Training Resources': stamp['machine'],
        'Date': stamp['date'],
        # ExCocoMetric's default (not chosen on a held-out split)
        'Presence Threshold': 0.5,
    }
    entry = publish('synthpose-tic', args.config, _run_dir(args, 'tic'),
                    results, metadata)
    print(f'[tic_comparison] published {entry["Weights"]}')
    picture = osp.join(args.out_dir, 'tic_synthpose_crop.png')
    tic_picture(osp.join(_run_dir(args, 'tic'), 'eval_crop', 'preds.pkl'),
                picture)
    print(f'[tic_comparison] wrote {picture}')


def tic_picture(dump: str, path: str, num: int = 8, cell: int = 256,
                presence_thr: float = 0.5) -> None:
    """SynthPose-Crop val images (those with keypoints cut by the image
    border first) with the TIC model's keypoints and their 90% covariance
    ellipses (keypoints with presence below ``presence_thr`` hidden)."""
    import cv2
    from mmpose.registry import VISUALIZERS

    from probpose_ext.analysis.inout import load_samples
    from probpose_ext.utils.metainfo import load_metainfo
    from probpose_ext.visualization import cut_first_grid
    vis = VISUALIZERS.build(dict(
        type='ProbPoseLocalVisualizer', name=f'tic_{time.time_ns()}',
        presence_thr=presence_thr, radius=3, line_width=2, show_cov=True,
        cov_level=0.9))
    vis.set_dataset_meta(load_metainfo())
    grid, _ = cut_first_grid(vis, load_samples(dump), num, cell)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    if not cv2.imwrite(path, grid[..., ::-1].copy()):
        raise OSError(f'could not write {path}')


if __name__ == '__main__':
    main()
