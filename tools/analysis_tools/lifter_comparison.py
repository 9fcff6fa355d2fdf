"""The SynthMotion lifters: train (resumable), evaluate on the test
subjects, tabulate, plot, and optionally publish the zoo lifters.

    python tools/analysis_tools/lifter_comparison.py \\
        [--work-dir work_dirs/synthmotion] [--out-dir docs/lifting] \\
        [--extra configs/synthmotion/pose-lift_tcn-27frm-tagn_...py ...] \\
        [--no-train] [--publish]

The zoo lifters (MMPose's TCN and the GraphMLP-style lifter, 1 and 27
frames, ground-truth 2D input) and any ``--extra`` configs are trained with
``tools/train.py --resume`` into ``<work-dir>/<config stem up to _1xb>``;
the last checkpoint (the end of the shared schedule) is evaluated with
MMPose's MPJPE metrics (P1, P2) on SynthMotion test. Writes ``table.md``,
``results.json`` and ``lifters.png`` into ``--out-dir``; ``--publish``
puts the four zoo lifters into ``configs/synthmotion/metafile.yml``.
"""
import argparse
import os
import os.path as osp
import platform
import sys
from datetime import datetime, timezone
from typing import List, Optional

try:
    import probpose_ext  # noqa: F401
except ImportError:  # running from a source checkout without installing
    sys.path.insert(
        0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmengine.config import Config  # noqa: E402

from probpose_ext.analysis.curves import read_curve  # noqa: E402
from probpose_ext.analysis.lifting import (depth_table,  # noqa: E402
                                           lifter_row, lifter_table,
                                           model_parameters, plot_lifters,
                                           same_frames_comparison,
                                           versus_text)
from probpose_ext.apis.runs import (evaluate_cached,  # noqa: E402
                                    run_logs, trained_checkpoint,
                                    training_minutes, write_json)
from probpose_ext.apis.zoo import publish  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: zoo name -> config
ZOO = {
    'synthmotion-tcn-1frm':
    'configs/synthmotion/pose-lift_tcn-1frm_1xb256-6e_synthmotion.py',
    'synthmotion-graphmlp-1frm':
    'configs/synthmotion/pose-lift_graphmlp-1frm_1xb256-6e_synthmotion.py',
    'synthmotion-tcn-27frm':
    'configs/synthmotion/pose-lift_tcn-27frm_1xb256-6e_synthmotion.py',
    'synthmotion-graphmlp-27frm':
    'configs/synthmotion/pose-lift_graphmlp-27frm_1xb256-6e_synthmotion.py',
}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/synthmotion')
    parser.add_argument('--out-dir', default='docs/lifting')
    parser.add_argument('--extra', nargs='*', default=[],
                        help='more lifter configs to compare (not published)')
    parser.add_argument('--no-train', action='store_true',
                        help='skip the configs without a finished run')
    parser.add_argument('--publish', action='store_true',
                        help='publish the four zoo lifters')
    return parser.parse_args(argv)


def run_dir(work_dir: str, config: str) -> str:
    """``<work_dir>/<config stem up to '_1xb'>``."""
    return osp.join(work_dir, osp.basename(config).split('_1xb')[0])


def _curve(work_dir: str) -> list:
    return read_curve(''.join(open(p).read() for p in run_logs(work_dir)),
                      'MPJPE')


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    os.chdir(ROOT)
    runs = [(name, config) for name, config in ZOO.items()]
    runs += [(run_dir('', c).strip('/'), c) for c in args.extra]
    rows, curves, checkpoints = [], {}, {}
    for name, config in runs:
        cfg = Config.fromfile(config)
        epochs = int(cfg.train_cfg.max_epochs)
        work = run_dir(args.work_dir, config)
        checkpoint = trained_checkpoint(config, work, epochs,
                                        tag='lifter_comparison',
                                        train=not args.no_train)
        if checkpoint is None:
            print(f'[lifter_comparison] {name}: not trained, skipped')
            continue
        print(f'[lifter_comparison] evaluating {name}: {checkpoint}',
              flush=True)
        metrics, _ = evaluate_cached(config, checkpoint,
                                     osp.join(work, 'test'), dump=False)
        row = lifter_row(name, cfg.model.backbone.type,
                         cfg.test_dataloader.dataset.seq_len,
                         model_parameters(cfg),
                         metrics, training_minutes(work, 'MPJPE'))
        row.update(config=config, epochs=epochs)
        rows.append(row)
        curves[name] = _curve(work)
        checkpoints[name] = checkpoint
    stamp = dict(date=datetime.now(timezone.utc).isoformat(timespec='seconds'),
                 machine=f'{os.cpu_count()} CPU cores '
                 f'({platform.machine()}), {platform.platform()}')
    # the zoo lifters only: an --extra TCN of the same frame count (e.g.
    # a depth-uncertainty variant) is not the baseline
    versus = same_frames_comparison([r for r in rows if r['name'] in ZOO])
    table = lifter_table(rows)
    lines = [f'SynthMotion test (S9, S11; ground-truth 2D input), '
             f'{stamp["date"]}, {stamp["machine"]}', '', table, '']
    lines += versus_text(versus)
    if any('depth' in r for r in rows):
        lines += ['', 'Depth uncertainty (non-root joints, root-relative '
                  'depth):', '', depth_table(rows)]
    os.makedirs(args.out_dir, exist_ok=True)
    with open(osp.join(args.out_dir, 'table.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    write_json(osp.join(args.out_dir, 'results.json'),
               dict(rows=rows, graphmlp_vs_tcn=versus, **stamp))
    plot_lifters(rows, curves, osp.join(args.out_dir, 'lifters.png'))
    print('\n'.join(lines))
    if args.publish:
        for row in rows:
            if row['name'] in ZOO:
                _publish(args, row, checkpoints[row['name']], stamp)
    return dict(rows=rows, versus=versus)


def _publish(args, row: dict, checkpoint: str, stamp: dict) -> None:
    results = [dict(
        Task='Body 3D Keypoint', Dataset='SynthMotion test',
        Metrics={'MPJPE (mm)': round(row['p1_mm'], 1),
                 'P-MPJPE (mm)': round(row['p2_mm'], 1)})]
    metadata = {
        'Training Data': 'SynthMotion train (S1 S5 S6 S7 S8)',
        'Input': f"ground-truth 2D, {row['frames']} frame(s)",
        'Parameters': row['params'],
        'Epochs': row['epochs'],
        'Batch Size': 256,
        'Training Minutes': round(row['minutes'], 1),
        'Training Resources': stamp['machine'],
        'Date': stamp['date'],
    }
    entry = publish(row['name'], row['config'],
                    run_dir(args.work_dir, row['config']), results,
                    metadata, collection='SynthMotion', checkpoint=checkpoint)
    print(f'[lifter_comparison] published {entry["Weights"]}')


if __name__ == '__main__':
    main()
