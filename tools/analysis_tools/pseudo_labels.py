"""Teacher pseudo-labels for lifting: a teacher trained on labelled
SynthMotion subjects labels the held-back subjects (their 3D withheld)
with depth means and sigmas; a student trains on both, each pseudo-label
joint weighted by the teacher's confidence; teacher, student and the
student's architecture trained on the labelled subjects only are compared
on the test subjects.

    python tools/analysis_tools/pseudo_labels.py \\
        [--teacher-config configs/synthmotion/depth-unc_tcn-27frm_...py] \\
        [--student-config configs/synthmotion/depth-unc_tcn-1frm_...py] \\
        [--labelled S1 S5 S6] [--heldout S7 S8] \\
        [--work-dir work_dirs/pseudo_labels] [--out-dir docs/pseudo_labels]

Every stage is resumable: the split files, the three trainings
(``tools/train.py --resume`` into ``<work-dir>/{teacher,student,
labelled_only}``), the teacher's predictions and the evaluations are reused
when present. Writes ``table.md``, ``results.json`` and
``pseudo_labels.png`` into ``--out-dir``.
"""
import argparse
import copy
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

import numpy as np  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402

from probpose_ext.analysis import pseudo_labels as pl  # noqa: E402
from probpose_ext.apis.runs import (cached, evaluate_cached,  # noqa: E402
                                    file_key, trained_checkpoint,
                                    training_minutes, write_json)
from probpose_ext.datasets.h36m_npz import (load_h36m_npz,  # noqa: E402
                                            save_h36m_npz)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TEACHER = ('configs/synthmotion/'
           'depth-unc_tcn-27frm_1xb256-6e_synthmotion.py')
STUDENT = ('configs/synthmotion/'
           'depth-unc_tcn-1frm_1xb256-6e_synthmotion.py')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--teacher-config', default=TEACHER)
    parser.add_argument('--student-config', default=STUDENT)
    parser.add_argument('--labelled', nargs='+', default=['S1', 'S5', 'S6'])
    parser.add_argument('--heldout', nargs='+', default=['S7', 'S8'])
    parser.add_argument('--work-dir', default='work_dirs/pseudo_labels')
    parser.add_argument('--out-dir', default='docs/pseudo_labels')
    parser.add_argument('--weighting', choices=['confidence', 'uniform'],
                        default='confidence',
                        help='pseudo-label joint weights: the teacher '
                        'confidence s0^2 / (s0^2 + sigma^2), or all 1')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='key=value overrides for all three trainings '
                        '(e.g. train_cfg.max_epochs=2 for a quick run)')
    return parser.parse_args(argv)


def _dataset_file(cfg: Config, which: str) -> str:
    ds = cfg[f'{which}_dataloader']['dataset']
    return osp.join(ds['data_root'], ds['ann_file'])


def _config(path: str, options: List[str]) -> Config:
    cfg = Config.fromfile(path)
    if options:
        # typed as tools/train.py's --cfg-options parses them
        cfg.merge_from_dict({
            key: DictAction._parse_iterable(value)
            for key, value in (o.split('=', 1) for o in options)
        })
    return cfg


def _predict_config(cfg: Config, ann_file: str) -> Config:
    """The teacher's config predicting every frame of ``ann_file``, with
    no metric (its 3D is withheld), only the dump."""
    cfg = copy.deepcopy(cfg)
    ds = cfg.test_dataloader.dataset
    ds.ann_file = osp.abspath(ann_file)
    ds.pad_video_seq = True
    cfg.test_evaluator = []
    return cfg


def _plot(rows: List[dict], curve: dict, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    names = [r['name'].replace(' (', '\n(').replace(', ', ',\n')
             for r in rows]
    x = np.arange(len(rows))
    axes[0].bar(x - 0.2, [r['p1_mm'] for r in rows], 0.4, label='P1')
    axes[0].bar(x + 0.2, [r['p2_mm'] for r in rows], 0.4, label='P2')
    axes[0].set_xticks(x, names, fontsize=8)
    axes[0].set_ylabel('error on the test subjects (mm)')
    axes[0].legend()
    axes[1].plot(curve['weight'], curve['error_mm'], 'o-')
    axes[1].set_xlabel('pseudo-label weight (decile mean)')
    axes[1].set_ylabel('pseudo-label joint error (mm)')
    axes[1].set_title('teacher confidence vs pseudo-label error',
                      fontsize=9)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    os.chdir(ROOT)
    work = args.work_dir
    teacher_cfg = _config(args.teacher_config, args.cfg_options)
    student_cfg = _config(args.student_config, args.cfg_options)

    # 1. the split
    train_file = _dataset_file(teacher_cfg, 'train')
    split_dir = osp.join(work, 'data')
    files, _ = cached(
        osp.join(split_dir, 'split.json'),
        dict(train=file_key(train_file), labelled=args.labelled,
             heldout=args.heldout),
        lambda: pl.split_subjects(train_file, args.labelled, args.heldout,
                                  split_dir))
    files = {k: osp.abspath(v) for k, v in files.items()}

    # 2. the teacher, on the labelled subjects
    epochs = int(teacher_cfg.train_cfg.max_epochs)
    ann = f'train_dataloader.dataset.ann_file={files["labelled"]}'
    teacher_ckpt = trained_checkpoint(
        args.teacher_config, osp.join(work, 'teacher'), epochs,
        [*args.cfg_options, ann], tag='teacher')

    # 3. its pseudo-labels of the held-back subjects
    _, dump = evaluate_cached(
        _predict_config(teacher_cfg, files['unlabelled']), teacher_ckpt,
        osp.join(work, 'teacher', 'pseudo'))
    unlabelled = load_h36m_npz(files['unlabelled'])
    pred = pl.read_lifter_dump(dump, unlabelled['imgname'])
    if 'depth_std' not in pred:
        raise ValueError(f'{args.teacher_config} predicts no depth sigmas '
                         '(use a DepthUncertaintyHead config)')
    weights = (pl.confidence_weights(pred['depth_std'])
               if args.weighting == 'confidence' else np.ones_like(
                   pred['depth_std']))
    pseudo = pl.pseudo_annotations(unlabelled, pred['keypoints'], weights)
    student_file = osp.abspath(
        osp.join(split_dir, f'student_{args.weighting}.npz'))
    save_h36m_npz(student_file, pl.student_annotations(
        load_h36m_npz(files['labelled']), pseudo))
    gt = load_h36m_npz(files['heldout_gt'])
    quality = pl.pseudo_label_quality(pred['keypoints'], pred['depth_std'],
                                      gt)
    curve = pl.error_by_weight(pred['keypoints'], weights, gt)

    # 4. the student on both, and the labelled-only baseline
    epochs_s = int(student_cfg.train_cfg.max_epochs)
    pl.check_student_pipeline(student_cfg.train_dataloader.dataset.pipeline)
    ann = f'train_dataloader.dataset.ann_file={student_file}'
    student_ckpt = trained_checkpoint(
        args.student_config, osp.join(work, f'student_{args.weighting}'),
        epochs_s, [*args.cfg_options, ann], tag='student')
    ann = f'train_dataloader.dataset.ann_file={files["labelled"]}'
    labelled_ckpt = trained_checkpoint(
        args.student_config, osp.join(work, 'labelled_only'), epochs_s,
        [*args.cfg_options, ann], tag='labelled-only')

    # 5. all three on the test subjects
    rows = []
    for name, cfg_, ckpt, run in (
            ('teacher (labelled)', teacher_cfg, teacher_ckpt, 'teacher'),
            ('labelled-only', student_cfg, labelled_ckpt, 'labelled_only'),
            (f'student (labelled + pseudo, {args.weighting})', student_cfg,
             student_ckpt, f'student_{args.weighting}')):
        metrics, _ = evaluate_cached(cfg_, ckpt, osp.join(work, run, 'test'),
                                     dump=False)
        rows.append(pl.study_row(name, metrics, training_minutes(
            osp.join(work, run), 'MPJPE')))
    stamp = dict(date=datetime.now(timezone.utc).isoformat(timespec='seconds'),
                 machine=f'{os.cpu_count()} CPU cores '
                 f'({platform.machine()}), {platform.platform()}')
    table = pl.study_table(rows)
    os.makedirs(args.out_dir, exist_ok=True)
    with open(osp.join(args.out_dir, 'table.md'), 'w') as f:
        f.write(f'SynthMotion test subjects, {stamp["date"]}, '
                f'{stamp["machine"]}\n\nlabelled: {" ".join(args.labelled)}'
                f'; held back (pseudo-labelled): {" ".join(args.heldout)}; '
                f'teacher {args.teacher_config}; student '
                f'{args.student_config}\n\n{table}\n\npseudo-labels vs the '
                f'withheld 3D: ' + ', '.join(
                    f'{k} {v:.3f}' for k, v in quality.items()) + '\n')
    write_json(osp.join(args.out_dir, 'results.json'),
               dict(rows=rows, pseudo_labels=quality, curve=curve,
                    labelled=args.labelled, heldout=args.heldout,
                    weighting=args.weighting, **stamp))
    _plot(rows, curve, osp.join(args.out_dir, 'pseudo_labels.png'))
    print(table)
    return dict(rows=rows, pseudo_labels=quality)


if __name__ == '__main__':
    main()
