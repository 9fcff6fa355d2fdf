"""Tables and plots of the action-robustness study
(:mod:`probpose_ext.apis.action_robustness`)."""
from collections import defaultdict
from typing import Dict, Mapping, Optional, Sequence, Tuple

__all__ = ['models_table', 'noise_table', 'plot_noise', 'zoo_table']


def _fmt(value: Optional[float], digits: int = 3) -> str:
    return '-' if value is None else f'{value:.{digits}f}'


def models_table(models: Mapping[str, Mapping],
                 clean: Sequence[Mapping] = ()) -> str:
    """The trained recognisers: epochs, training minutes and clean
    validation accuracy.

    Args:
        models (Mapping): name -> dict with ``epochs``, ``minutes``.
        clean (Sequence[Mapping]): ``model``, ``top1``, ``top5``,
            ``mean1`` records.

    Returns:
        str: A markdown table.
    """
    acc = {r['model']: r for r in clean}
    lines = ['| recogniser | split | epochs | training minutes | top-1 | '
             'top-5 | mean class |', '|---|---|---|---|---|---|---|']
    for name, m in models.items():
        a = acc.get(name, {})
        split = 'X-View' if 'X-View' in name else 'X-Sub'
        lines.append(f'| {name.replace(" X-View", "")} | {split} | '
                     f'{m.get("epochs")} | {_fmt(m.get("minutes"), 1)} | '
                     f'{_fmt(a.get("top1"))} | {_fmt(a.get("top5"))} | '
                     f'{_fmt(a.get("mean1"))} |')
    return '\n'.join(lines)


def noise_table(records: Sequence[Mapping],
                seed: Sequence[Tuple[float, float]] = ()) -> str:
    """Top-1 per noise std (columns) and recogniser (rows), with the
    seed's NTU-60 row.

    Args:
        records (Sequence[Mapping]): ``model``, ``std``, ``top1``.
        seed (Sequence[tuple]): ``(std, top1)`` of the reference curve.

    Returns:
        str: A markdown table.
    """
    stds = sorted({r['std'] for r in records} | {s for s, _ in seed})
    rows: Dict[str, Dict[float, float]] = defaultdict(dict)
    for r in records:
        rows[f'{r["model"]}, SynthActions X-Sub'][r['std']] = r['top1']
    if seed:
        rows['SkateFormer, NTU-60 X-Sub (seed report)'] = dict(seed)
    head = ['top-1 at noise std'] + [f'{s:g}' for s in stds]
    lines = ['| ' + ' | '.join(head) + ' |', '|---' * len(head) + '|']
    for name, values in rows.items():
        lines.append('| ' + ' | '.join(
            [name] + [_fmt(values.get(s)) for s in stds]) + ' |')
    return '\n'.join(lines)


def plot_noise(records: Sequence[Mapping],
               seed: Sequence[Tuple[float, float]], path: str) -> None:
    """Top-1 against the noise std, one line per recogniser, and the
    seed's NTU-60 curve (dashed).

    Args:
        records (Sequence[Mapping]): ``model``, ``std``, ``top1``.
        seed (Sequence[tuple]): ``(std, top1)`` of the reference curve.
        path (str): Output PNG.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from .robustness import _savefig
    fig, ax = plt.subplots(figsize=(5.0, 3.4))
    for model in dict.fromkeys(r['model'] for r in records):
        pts = sorted((r['std'], r['top1']) for r in records
                     if r['model'] == model)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], 'o-',
                label=f'{model} (SynthActions X-Sub)')
    if seed:
        ax.plot([s for s, _ in seed], [a for _, a in seed], 's--',
                color='gray', label='SkateFormer (NTU-60 X-Sub, seed)')
    ax.set_xscale('symlog', linthresh=0.01)
    ax.set_xlabel('Gaussian noise std (normalised units; 3D: metres)')
    ax.set_ylabel('top-1 accuracy')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    _savefig(fig, path)
    plt.close(fig)


def zoo_table(records: Sequence[Mapping]) -> str:
    """Top-1 / top-5 of the 2D recognisers per 2D source, with the 2D
    model's AP on the rendered frames.

    Args:
        records (Sequence[Mapping]): ``model``, ``source``, ``top1``,
            ``top5``, optional ``AP``, ``clips``.

    Returns:
        str: A markdown table.
    """
    lines = ['| recogniser | 2D source | clips | 2D AP on the frames | '
             'top-1 | top-5 |', '|---|---|---|---|---|---|']
    for r in records:
        lines.append(f'| {r.get("model", "-")} | {r["source"]} | '
                     f'{r.get("clips", "-")} | {_fmt(r.get("AP"))} | '
                     f'{_fmt(r.get("top1"))} | {_fmt(r.get("top5"))} |')
    return '\n'.join(lines)
