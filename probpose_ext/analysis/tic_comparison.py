"""The TIC-vs-baselines comparison (issue 16, DESIGN.md 4.8): one row per
covariance model on SynthPose val, as a markdown table, JSON and a plot.

Rows come from ``tools/test.py`` metrics of ``ExCocoMetric`` and
``TACMetric`` (``coco/AP``, ``tac/l2``, ``tac/mean``, ``tac/nll``,
``tac/coverage@68``, ``tac/coverage@95``). TAC is the error of each joint's
conditional mean given the GT of the other present joints, so ``TAC < L2``
means the cross-covariances carry information; for block-diagonal
covariances (diagonal baselines, moment-matched ProbPose maps) TAC equals
the plain error. A calibrated Gaussian covers 0.68 / 0.95 of the keypoints
with its 68% / 95% ellipses.

The orchestration (training the runs, evaluating them and the zoo ProbPose
models) is in ``tools/analysis_tools/tic_comparison.py``.
"""
import os.path as osp
from typing import Dict, List, Mapping, Optional, Sequence

from mmengine.config import Config

#: metric keys of a row, in table order, with their column titles
COLUMNS = (
    ('coco/AP', 'AP'),
    ('tac/l2', 'L2 (px)'),
    ('tac/mean', 'TAC (px)'),
    ('tac/nll', 'NLL / person'),
    ('tac/coverage@68', 'cov. 68%'),
    ('tac/coverage@95', 'cov. 95%'),
)
#: what each covariance option of the TIC head predicts
FORMS = {
    'tic': 'eps1 J J^T + L L^T (full)',
    'nll': 'L L^T (full)',
    'diagonal': 'diag (NLL)',
    'beta_nll': 'diag (Beta-NLL, 0.5)',
    'faithful': 'L L^T (Faithful)',
    'moments': 'per-keypoint 2x2 moments of the map',
}
#: the evaluator added for covariance metrics
TAC_METRIC = dict(type='TACMetric', levels=(0.68, 0.95))


def covariance_eval_config(config: Config,
                           data_root: Optional[str] = None) -> Config:
    """A copy of ``config`` whose test run reports covariance metrics.

    Sets ``model.test_cfg.output_covariance = True`` (ProbPose heads then
    write moment-matched ``keypoints_cov``; the TIC head ignores it) and
    appends :data:`TAC_METRIC` to ``test_evaluator`` unless one is there.

    Args:
        config (Config): A model config (not modified).
        data_root (str, optional): Another SynthPose-layout split to test
            on (e.g. ``'data/synthpose_crop/'``): the test dataset's
            ``data_root`` and every evaluator's ``ann_file`` (its val
            annotations) are pointed there.

    Returns:
        Config: The evaluation config.
    """
    cfg = Config(config.to_dict(), filename=config.filename)
    cfg.model.setdefault('test_cfg', {})
    cfg.model.test_cfg['output_covariance'] = True
    evaluators = cfg.test_evaluator
    if isinstance(evaluators, Mapping):
        evaluators = [evaluators]
    evaluators = [dict(e) for e in evaluators]
    if not any(e.get('type') == 'TACMetric' for e in evaluators):
        evaluators.append(dict(TAC_METRIC))
    if data_root is not None:
        cfg.test_dataloader.dataset.data_root = data_root
        ann = osp.join(data_root, 'annotations', 'person_keypoints_val.json')
        for e in evaluators:
            if 'ann_file' in e:
                e['ann_file'] = ann
    cfg.test_evaluator = evaluators
    return cfg


def comparison_row(name: str, form: str, metrics: Mapping[str, float],
                   minutes: Optional[float] = None) -> dict:
    """One row: ``name``, ``form`` (the covariance's form), the
    :data:`COLUMNS` metrics (``None`` where missing), ``tac_gain`` (``1 -
    TAC / L2``, the share of the plain error the other joints' GT explains)
    and the training ``minutes``.

    Args:
        name (str): Row label.
        form (str): Covariance form, e.g. a value of :data:`FORMS`.
        metrics (Mapping[str, float]): ``tools/test.py`` metrics.
        minutes (float, optional): Training minutes.

    Returns:
        dict: The row.
    """
    row = dict(name=name, form=form)
    for key, _ in COLUMNS:
        value = metrics.get(key)
        row[key] = None if value is None else float(value)
    l2, tac = row['tac/l2'], row['tac/mean']
    row['tac_gain'] = (1.0 - tac / l2) if l2 and tac is not None else None
    row['minutes'] = None if minutes is None else float(minutes)
    return row


def _cell(value: Optional[float], key: str) -> str:
    if value is None:
        return '-'
    if key in ('tac/nll', 'minutes'):
        return f'{value:.1f}'
    if key in ('tac/l2', 'tac/mean'):
        return f'{value:.2f}'
    return f'{value:.3f}'


def comparison_table(rows: Sequence[dict]) -> str:
    """The rows as a markdown table (AP, L2, TAC, TAC gain, NLL,
    coverages, training minutes).

    Args:
        rows (Sequence[dict]): Rows of :func:`comparison_row`.

    Returns:
        str: The table, one line per row after the header.
    """
    titles = ['model', 'covariance'] + [t for _, t in COLUMNS[:3]] + \
        ['TAC gain'] + [t for _, t in COLUMNS[3:]] + ['train min']
    keys = [k for k, _ in COLUMNS[:3]] + ['tac_gain'] + \
        [k for k, _ in COLUMNS[3:]] + ['minutes']
    lines = ['| ' + ' | '.join(titles) + ' |',
             '|' + '---|' * len(titles)]
    for row in rows:
        cells = [row['name'], row['form']]
        for key in keys:
            value = row.get(key)
            cells.append('-' if value is None else
                         (f'{100 * value:.1f}%' if key == 'tac_gain' else
                          _cell(value, key)))
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def plot_comparison(rows: Sequence[dict], path: str,
                    title: str = 'SynthPose val') -> None:
    """Two panels: plain error vs TAC per model (pixels), and the 68% /
    95% ellipse coverage against the calibrated values.

    Args:
        rows (Sequence[dict]): Rows of :func:`comparison_row`.
        path (str): Output PNG.
        title (str): Figure title.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np

    names = [r['name'] for r in rows]
    x = np.arange(len(rows))

    def values(key: str) -> np.ndarray:
        return np.array([np.nan if r.get(key) is None else r[key]
                         for r in rows])

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    ax = axes[0]
    ax.bar(x - 0.2, values('tac/l2'), 0.4, label='plain error (L2)')
    ax.bar(x + 0.2, values('tac/mean'), 0.4,
           label='TAC (given the other joints)')
    ax.set_ylabel('image pixels')
    ax.set_title('error of the mean vs TAC')
    ax.legend(fontsize=8)
    ax = axes[1]
    for key, level, offset in (('tac/coverage@68', 0.68, -0.2),
                               ('tac/coverage@95', 0.95, 0.2)):
        ax.bar(x + offset, values(key), 0.4, label=f'{int(level * 100)}% '
               'ellipse')
        ax.axhline(level, color='k', lw=0.8, ls='--')
    ax.set_ylim(0.5, 1.0)
    ax.set_ylabel('share of GT keypoints inside')
    ax.set_title('ellipse coverage (dashed: calibrated)')
    ax.legend(fontsize=8, loc='lower right')
    for ax in axes:
        ax.set_xticks(x)
        ax.set_xticklabels(names, rotation=25, ha='right', fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def rows_in_order(results: Dict[str, dict],
                  order: Sequence[str]) -> List[dict]:
    """The rows of ``results`` (name -> row) in ``order``, then the rest
    by name."""
    first = [results[n] for n in order if n in results]
    rest = [results[n] for n in sorted(results) if n not in order]
    return first + rest
