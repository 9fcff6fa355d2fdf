"""Tables and plots of the lifter comparison on SynthMotion
(``tools/analysis_tools/lifter_comparison.py``): P1/P2 in millimetres,
parameters and training minutes per lifter, and the GraphMLP-style
lifter against MMPose's TCN at the same frame count."""
import os
import os.path as osp
from typing import Dict, List, Mapping, Optional, Sequence

__all__ = ['lifter_row', 'lifter_table', 'same_frames_comparison',
           'plot_lifters', 'cell', 'depth_table', 'model_parameters',
           'versus_text']


def lifter_row(name: str, backbone: str, frames: int, params: int,
               metrics: Mapping[str, float],
               minutes: Optional[float]) -> dict:
    """One row of the comparison.

    Args:
        name (str): Model name (zoo name or config stem).
        backbone (str): Backbone type.
        frames (int): Input frames.
        params (int): Number of parameters.
        metrics (Mapping[str, float]): ``tools/test.py`` metrics with
            MMPose's ``MPJPE`` and ``P-MPJPE`` (metres).
        minutes (float, optional): Training minutes.

    Returns:
        dict: ``name``, ``backbone``, ``frames``, ``params``, ``p1_mm``,
        ``p2_mm``, ``minutes`` and, for a lifter with depth sigmas
        (``DepthUncertaintyMetric``), ``depth``: its ``depth/*`` metrics
        without the prefix and its ``cov3d/*`` ones as ``cov3d_*``.
    """
    row = dict(name=name, backbone=backbone, frames=int(frames),
               params=int(params), p1_mm=1000 * float(metrics['MPJPE']),
               p2_mm=1000 * float(metrics['P-MPJPE']), minutes=minutes)
    depth = {k.split('/', 1)[1]: float(v) for k, v in metrics.items()
             if k.startswith('depth/')}
    depth.update({k.replace('/', '_'): float(v)
                  for k, v in metrics.items() if k.startswith('cov3d/')})
    if depth:
        row['depth'] = depth
    return row


def model_parameters(cfg) -> int:
    """Number of parameters of a config's model (built through MMPose's
    registry).

    Args:
        cfg (mmengine.Config): The config.

    Returns:
        int: The count.
    """
    from mmpose.registry import MODELS
    from mmpose.utils import register_all_modules
    register_all_modules()
    return sum(p.numel() for p in MODELS.build(cfg.model).parameters())


def versus_text(versus: Sequence[dict]) -> List[str]:
    """One line per frame count of :func:`same_frames_comparison`."""
    return [
        f"{v['frames']} frame(s): GraphMLP-style - TCN = "
        f"{v['p1_diff_mm']:+.1f} mm P1 ({v['p1_ratio']:.2f}x), "
        f"{v['p2_diff_mm']:+.1f} mm P2 ({v['p2_ratio']:.2f}x)"
        for v in versus
    ]


def same_frames_comparison(rows: Sequence[dict],
                           ours: str = 'GraphMLPLifter',
                           baseline: str = 'TCN') -> List[dict]:
    """The GraphMLP-style lifter against the TCN at each frame count both
    were trained with.

    Args:
        rows (Sequence[dict]): :func:`lifter_row` rows; the first row of a
            backbone and frame count is the one compared.
        ours (str): Backbone type compared.
        baseline (str): Backbone type compared against.

    Returns:
        list[dict]: Per frame count: ``frames``, ``p1_ours``,
        ``p1_baseline``, ``p1_diff_mm`` (ours - baseline, negative = ours
        better) and ``p1_ratio``, and the same for P2.
    """
    by: Dict[tuple, dict] = {}
    for r in rows:  # the first row of each backbone and frame count
        by.setdefault((r['backbone'], r['frames']), r)
    out = []
    for frames in sorted({r['frames'] for r in rows}):
        a, b = by.get((ours, frames)), by.get((baseline, frames))
        if a is None or b is None:
            continue
        item = dict(frames=frames)
        for key in ('p1', 'p2'):
            item[f'{key}_ours'] = a[f'{key}_mm']
            item[f'{key}_baseline'] = b[f'{key}_mm']
            item[f'{key}_diff_mm'] = a[f'{key}_mm'] - b[f'{key}_mm']
            item[f'{key}_ratio'] = a[f'{key}_mm'] / b[f'{key}_mm']
        out.append(item)
    return out


def cell(value: Optional[float], digits: int = 1) -> str:
    """A table cell: the value with ``digits`` decimals, ``-`` if None."""
    return '-' if value is None else f'{value:.{digits}f}'


def lifter_table(rows: Sequence[dict]) -> str:
    """Markdown table of :func:`lifter_row` rows."""
    lines = ['| model | backbone | frames | params (M) | P1 (mm) | P2 (mm) | '
             'training min |', '|---|---|---|---|---|---|---|']
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['backbone']} | {r['frames']} | "
            f"{r['params'] / 1e6:.2f} | {cell(r['p1_mm'])} | "
            f"{cell(r['p2_mm'])} | {cell(r.get('minutes'))} |")
    return '\n'.join(lines)


def depth_table(rows: Sequence[dict]) -> str:
    """Markdown table of the depth uncertainty of the rows that have it."""
    lines = ['| model | depth MAE (mm) | mean sigma (mm) | NLL | cov68 | '
             'cov95 | ENCE | AUSE | 3D NLL (xyz) |',
             '|---|---|---|---|---|---|---|---|---|']
    for r in rows:
        d = r.get('depth')
        if not d:
            continue
        lines.append(
            f"| {r['name']} | {cell(d.get('MAE_mm'))} | "
            f"{cell(d.get('mean_std_mm'))} | {cell(d.get('NLL'), 3)} | "
            f"{cell(d.get('cov68'), 3)} | {cell(d.get('cov95'), 3)} | "
            f"{cell(d.get('ENCE'), 3)} | {cell(d.get('AUSE'), 3)} | "
            f"{cell(d.get('cov3d_NLL'), 3)} |")
    return '\n'.join(lines)


def plot_lifters(rows: Sequence[dict],
                 curves: Mapping[str, List[Dict[str, float]]],
                 path: str) -> None:
    """Validation MPJPE against training minutes per lifter (left) and the
    final P1/P2 (right).

    Args:
        rows (Sequence[dict]): :func:`lifter_row` rows.
        curves (Mapping[str, list[dict]]): Name -> validation points
            (:func:`~probpose_ext.analysis.curves.read_curve` with
            ``'MPJPE'``).
        path (str): Output PNG.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name, points in curves.items():
        if points:
            axes[0].plot([p['minutes'] for p in points],
                         [1000 * p['MPJPE'] for p in points], 'o-',
                         label=name)
    axes[0].set_xlabel('training minutes (2 CPU cores)')
    axes[0].set_ylabel('MPJPE on SynthMotion test (mm)')
    axes[0].legend(fontsize=7)
    x = np.arange(len(rows))
    axes[1].bar(x - 0.2, [r['p1_mm'] for r in rows], 0.4, label='P1')
    axes[1].bar(x + 0.2, [r['p2_mm'] for r in rows], 0.4, label='P2')
    axes[1].set_xticks(x, [r['name'].replace('synthmotion-', '')
                           for r in rows], rotation=30, ha='right',
                       fontsize=7)
    axes[1].set_ylabel('mm')
    axes[1].legend()
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
