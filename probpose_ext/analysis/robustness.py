"""Tables, ratios and plots of the robustness study (docs/robustness.md).

The study (``tools/analysis_tools/robustness.py``) produces three kinds of
results, each a list of flat records (JSON-able dicts):

* the cross-source matrix: ``{'row', 'source', 'P1', 'P2'}`` - a lifter
  (``row``: lifter and its 2D training source) evaluated on a 2D source;
* corruption curves: ``{'model', 'data', 'corruption', 'severity',
  metric: value}`` (image level: a 2D model's AP on corrupted images;
  video and keypoint level: a lifter's MPJPE through corrupted inputs);
  severity 0 is the clean input.

PoseBench's summary of a model under corruption is the mean robustness
ratio (mRR): the mean over corruptions and severities 1..5 of the
corrupted score over the clean score (for AP: higher is better, 1 means no
loss). For errors (MPJPE) the analogous summary here is the mean increase
over the clean error (mm), with the ratio clean / corrupted alongside.
"""
import os
import os.path as osp
from collections import defaultdict
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np

__all__ = [
    'matrix_arrays', 'matrix_table', 'matrix_summary', 'plot_matrix', 'robustness_ratio',
    'corruption_summary', 'corruption_table', 'plot_corruption_curves'
]


def _unique(values: Iterable[str]) -> List[str]:
    seen: Dict[str, None] = {}
    for v in values:
        seen.setdefault(v, None)
    return list(seen)


def matrix_arrays(records: Sequence[Mapping], metric: str = 'P1'
                  ) -> Tuple[List[str], List[str], np.ndarray]:
    """The matrix of one metric.

    Args:
        records (Sequence[Mapping]): ``{'row', 'source', metric}``.
        metric (str): ``'P1'`` or ``'P2'``.

    Returns:
        tuple: Row names, column (source) names in first-seen order, and
        the values (R, C) with NaN where a cell is missing.
    """
    rows = _unique(r['row'] for r in records)
    cols = _unique(r['source'] for r in records)
    values = np.full((len(rows), len(cols)), np.nan)
    for r in records:
        values[rows.index(r['row']), cols.index(r['source'])] = r[metric]
    return rows, cols, values


def matrix_table(records: Sequence[Mapping], metric: str = 'P1',
                 train_sources: Optional[Mapping[str, str]] = None) -> str:
    """The matrix as markdown, the best (lowest) value of each column in
    bold.

    Args:
        records (Sequence[Mapping]): ``{'row', 'source', metric}``.
        metric (str): ``'P1'`` or ``'P2'`` (mm).
        train_sources (Mapping[str, str], optional): Row -> its training
            source; marks the cell where train and test sources agree with
            ``*``.

    Returns:
        str: The table.
    """
    rows, cols, values = matrix_arrays(records, metric)
    best = np.nanmin(values, axis=0) if len(rows) else []
    lines = [
        f'| lifter (2D train source) \\ 2D test source, {metric} mm | ' +
        ' | '.join(cols) + ' |', '|---' * (len(cols) + 1) + '|'
    ]
    for i, row in enumerate(rows):
        cells = []
        for j, col in enumerate(cols):
            v = values[i, j]
            if np.isnan(v):
                cells.append('-')
                continue
            text = f'{v:.1f}'
            if train_sources and train_sources.get(row) == col:
                text += '*'
            cells.append(f'**{text}**' if v == best[j] else text)
        lines.append(f'| {row} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def matrix_summary(records: Sequence[Mapping],
                   train_sources: Mapping[str, str],
                   metric: str = 'P1') -> str:
    """Per row: the error on its own training source, the mean and the
    worst over the other test sources (how well it transfers), as
    markdown.

    Args:
        records (Sequence[Mapping]): ``{'row', 'source', metric}``.
        train_sources (Mapping[str, str]): Row -> its training source.
        metric (str): ``'P1'`` or ``'P2'``.

    Returns:
        str: The table (``-`` where the row's source is not a column).
    """
    rows, cols, values = matrix_arrays(records, metric)
    lines = [f'| lifter | {metric} on its own source | mean on the other '
             f'sources | worst other source |', '|---|---|---|---|']
    for i, row in enumerate(rows):
        own = train_sources.get(row)
        others = [j for j, c in enumerate(cols) if c != own]
        own_text = f'{values[i, cols.index(own)]:.1f}' if own in cols \
            else '-'
        worst = max(others, key=lambda j: values[i, j])
        lines.append(f'| {row} | {own_text} | '
                     f'{np.nanmean(values[i, others]):.1f} | '
                     f'{values[i, worst]:.1f} ({cols[worst]}) |')
    return '\n'.join(lines)


def _savefig(fig, path: str) -> None:
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)


def plot_matrix(records: Sequence[Mapping], path: str,
                metrics: Sequence[str] = ('P1', 'P2')) -> None:
    """Heatmaps of the matrix (one panel per metric), values written in
    the cells.

    Args:
        records (Sequence[Mapping]): ``{'row', 'source', 'P1', 'P2'}``.
        path (str): Output PNG.
        metrics (Sequence[str]): Panels.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    rows, cols, _ = matrix_arrays(records, metrics[0])
    fig, axes = plt.subplots(
        1, len(metrics),
        figsize=(1.1 * len(cols) * len(metrics) + 3, 0.45 * len(rows) + 2),
        squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        _, _, values = matrix_arrays(records, metric)
        im = ax.imshow(values, cmap='viridis_r', aspect='auto')
        for i in range(len(rows)):
            for j in range(len(cols)):
                if not np.isnan(values[i, j]):
                    ax.text(j, i, f'{values[i, j]:.0f}', ha='center',
                            va='center', fontsize=7, color='white')
        ax.set_xticks(range(len(cols)), cols, rotation=35, ha='right',
                      fontsize=8)
        ax.set_yticks(range(len(rows)), rows if ax is axes[0][0] else
                      [''] * len(rows), fontsize=8)
        ax.set_xlabel('2D source at test')
        ax.set_title(f'{metric} (mm)')
        fig.colorbar(im, ax=ax, fraction=0.04)
    fig.tight_layout()
    _savefig(fig, path)
    plt.close(fig)


def robustness_ratio(clean: float, corrupted: Sequence[float],
                     higher_is_better: bool = True) -> float:
    """Mean robustness ratio: the mean of ``corrupted / clean`` (scores)
    or of ``clean / corrupted`` (errors); 1 means no loss.

    Args:
        clean (float): The clean score or error.
        corrupted (Sequence[float]): Scores or errors under corruption.
        higher_is_better (bool): Scores (AP) or errors (MPJPE).

    Returns:
        float: The ratio (NaN for a zero denominator).
    """
    values = np.asarray(corrupted, dtype=np.float64)
    with np.errstate(divide='ignore', invalid='ignore'):
        ratios = values / clean if higher_is_better else clean / values
    return float(np.mean(ratios)) if values.size else float('nan')


def _groups(records: Sequence[Mapping], keys: Sequence[str]
            ) -> Dict[Tuple, List[Mapping]]:
    groups: Dict[Tuple, List[Mapping]] = defaultdict(list)
    for r in records:
        groups[tuple(r[k] for k in keys)].append(r)
    return groups


def corruption_summary(records: Sequence[Mapping], metric: str,
                       by: Sequence[str] = ('model', ),
                       higher_is_better: bool = True) -> List[Dict]:
    """Per group (e.g. per model) and corruption: the clean value, the
    mean over severities >= 1, and the robustness ratio.

    Args:
        records (Sequence[Mapping]): Corruption records (with
            ``corruption``, ``severity``, the ``by`` keys and ``metric``);
            the clean value of a group is its records with severity 0.
        metric (str): The value's key.
        by (Sequence[str]): Grouping keys.
        higher_is_better (bool): Scores or errors.

    Returns:
        list[dict]: The ``by`` keys, ``corruption``, ``clean``, ``mean``,
        ``delta`` (mean - clean) and ``ratio``; one extra row per group with ``corruption='all'``
        (mean over all corruptions and severities: PoseBench's mRR).
    """
    out = []
    for group, items in _groups(records, by).items():
        clean = [r[metric] for r in items if r['severity'] == 0]
        if not clean:
            continue
        clean_value = float(np.mean(clean))
        corrupted = [r for r in items if r['severity'] > 0]
        names = _unique(r['corruption'] for r in corrupted)
        for name in names + ['all']:
            values = [
                r[metric] for r in corrupted
                if name == 'all' or r['corruption'] == name
            ]
            if not values:
                continue
            row = dict(zip(by, group))
            row.update(
                corruption=name,
                clean=clean_value,
                mean=float(np.mean(values)),
                delta=float(np.mean(values)) - clean_value,
                ratio=robustness_ratio(clean_value, values,
                                       higher_is_better))
            out.append(row)
    return out


def corruption_table(summary: Sequence[Mapping],
                     by: Sequence[str] = ('model', ),
                     value: str = 'mean',
                     digits: int = 3) -> str:
    """A summary (:func:`corruption_summary`) as markdown: one row per
    group, the clean value, one column per corruption (``value`` over
    severities 1..5) and the overall robustness ratio.

    Args:
        summary (Sequence[Mapping]): Output of :func:`corruption_summary`.
        by (Sequence[str]): Grouping keys (the first columns).
        value (str): ``'mean'`` or ``'ratio'``.
        digits (int): Decimals.

    Returns:
        str: The table.
    """
    groups = _groups(summary, by)
    names = [
        n for n in _unique(r['corruption'] for r in summary) if n != 'all'
    ]
    head = list(by) + ['clean'] + names + ['mean', 'mean - clean',
                                           'ratio (mRR)']
    lines = ['| ' + ' | '.join(head) + ' |', '|---' * len(head) + '|']
    for group, items in groups.items():
        cells = {r['corruption']: r for r in items}
        overall = cells.get('all')
        row = [str(g) for g in group]
        row.append(f'{items[0]["clean"]:.{digits}f}')
        row += [
            f'{cells[n][value]:.{digits}f}' if n in cells else '-'
            for n in names
        ]
        row += [
            f'{overall["mean"]:.{digits}f}',
            f'{overall["delta"]:+.{digits}f}', f'{overall["ratio"]:.3f}'
        ] if overall else ['-'] * 3
        lines.append('| ' + ' | '.join(row) + ' |')
    return '\n'.join(lines)


def plot_corruption_curves(records: Sequence[Mapping], metric: str,
                           path: str, line: str = 'model',
                           panel: str = 'corruption',
                           ylabel: Optional[str] = None) -> None:
    """Small multiples: one panel per corruption, ``metric`` against
    severity (0 = clean), one line per ``line`` key value (the mean of its
    records at that severity, e.g. over the 2D models under a lifter).

    Args:
        records (Sequence[Mapping]): Corruption records.
        metric (str): The value plotted.
        path (str): Output PNG.
        line (str): Key of the lines.
        panel (str): Key of the panels.
        ylabel (str, optional): Axis label (defaults to ``metric``).
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    clean = [r for r in records if r['severity'] == 0]
    panels = _unique(r[panel] for r in records if r['severity'] > 0)
    lines = _unique(r[line] for r in records)
    cols = min(5, max(1, len(panels)))
    nrows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(3.0 * cols, 2.6 * nrows),
                             squeeze=False, sharey=True)
    for ax, name in zip(axes.flat, panels):
        for key in lines:
            points = defaultdict(list)
            for r in clean:
                if r[line] == key:
                    points[0].append(r[metric])
            for r in records:
                if r[line] == key and r[panel] == name and r['severity']:
                    points[r['severity']].append(r[metric])
            xs = sorted(points)
            ax.plot(xs, [np.mean(points[x]) for x in xs], 'o-', ms=3,
                    label=key)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel('severity', fontsize=8)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(panels):]:
        ax.axis('off')
    axes[0][0].set_ylabel(ylabel or metric)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    _savefig(fig, path)
    plt.close(fig)
