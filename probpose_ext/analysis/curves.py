"""Validation AP against training minutes, from MMEngine's text logs: the
recipe comparison plot (``tools/analysis_tools/training_curves.py``)."""
import json
import re
from typing import Dict, List, Optional, Sequence

#: ``Epoch(train)  [E][ I/N] ... time: T`` lines of MMEngine's logger
_TRAIN = re.compile(r'Epoch\(train\)\s+\[(\d+)\]\[\s*(\d+)/(\d+)\].*?'
                    r'\stime: ([0-9.]+)')
#: the metrics line that closes a validation: ``Epoch(val) [E][N/N] ...``
_VAL = re.compile(r'Epoch\(val\)\s+\[(\d+)\]\[\s*(\d+)/(\d+)\]\s+(.*)$')
_METRIC = re.compile(r'([\w/-]+(?: \.\d+| \([A-Za-z=0-9]+\))?): '
                     r'(-?[0-9.]+(?:e-?\d+)?)')


def read_curve(log_text: str,
               metric: str = 'coco/AP') -> List[Dict[str, float]]:
    """Validation points of one MMEngine training log.

    Training minutes are counted from the logged iteration times (each
    ``Epoch(train)`` line reports the mean seconds per iteration since the
    previous line), so validation time is not counted and a resumed run
    continues where it stopped.

    Args:
        log_text (str): The text of one or more consecutive logs of a run.
        metric (str): A metric every validation of the run reports
            (``'coco/AP'`` for pose estimators, ``'MPJPE'`` for lifters);
            metrics lines without it (other evaluators' lines) are skipped.

    Returns:
        list[dict]: Per validation, ``epoch``, ``minutes``, ``iteration``
        (training iterations so far) and every metric of the line (e.g.
        ``coco/AP``), in order.
    """
    seconds, last_iter, epoch_len = 0.0, {}, None
    points = []
    for line in log_text.splitlines():
        train = _TRAIN.search(line)
        if train:
            epoch, it, epoch_len, t = (int(train[1]), int(train[2]),
                                       int(train[3]), float(train[4]))
            previous = last_iter.get(epoch - 1)
            if epoch not in last_iter and previous is not None and \
                    previous < epoch_len:
                # the unlogged end of the previous epoch
                seconds += (epoch_len - previous) * last_time
                last_iter[epoch - 1] = epoch_len
            start = last_iter.get(epoch, 0)
            seconds += (it - start) * t
            last_iter[epoch] = it
            last_time = t
            continue
        val = _VAL.search(line)
        if val and val[2] == val[3] and ':' in val[4]:
            epoch = int(val[1])
            metrics = {k: float(v) for k, v in _METRIC.findall(val[4])}
            if metric not in metrics:
                continue
            # iterations of the epoch after its last logged line
            if epoch_len is not None and epoch in last_iter:
                seconds += (epoch_len - last_iter[epoch]) * last_time
                last_iter[epoch] = epoch_len
            iteration = sum(last_iter.values())
            points.append(dict(epoch=epoch, minutes=seconds / 60,
                               iteration=iteration, **metrics))
    return points


def idle_seconds_per_iter(log_text: str, quantile: float = 0.25) -> float:
    """A quantile (default the 25th percentile) of the logged seconds per
    iteration: the speed of a run on its own when other jobs shared the
    cores for part of it (they only slow iterations down)."""
    import numpy as np
    times = [float(m[4]) for m in _TRAIN.finditer(log_text)]
    if not times:
        raise ValueError('no Epoch(train) line with a time in the log')
    return float(np.quantile(times, quantile))


def plot_curves(curves: Dict[str, List[Dict[str, float]]],
                out_file: str,
                probes: Optional[Sequence[dict]] = None,
                metric: str = 'coco/AP',
                title: str = 'SynthPose val AP against training minutes') \
        -> str:
    """Plot ``metric`` against training minutes.

    Args:
        curves (dict): label -> points of :func:`read_curve`.
        out_file (str): PNG path.
        probes (Sequence[dict], optional): Earlier measurements drawn as
            dashed curves: ``{'label', 'minutes': [...], 'ap': [...]}``.
        metric (str): Metric key. Defaults to ``'coco/AP'``.
        title (str): Plot title.

    Returns:
        str: ``out_file``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 5), dpi=100)
    for probe in probes or []:
        ax.plot(probe['minutes'], probe['ap'], '--o', ms=3, lw=1, alpha=0.6,
                label=probe['label'])
    for label, points in curves.items():
        xs = [p['minutes'] for p in points]
        ys = [p[metric] for p in points]
        ax.plot(xs, ys, '-o', lw=2.2, ms=5, label=label)
        if points:
            ax.annotate(f'{ys[-1]:.3f}', (xs[-1], ys[-1]),
                        textcoords='offset points', xytext=(4, 4))
    ax.set_xlabel('training minutes (2 CPU cores, validation excluded)')
    ax.set_ylabel(metric)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7, loc='lower right')
    fig.tight_layout()
    fig.savefig(out_file)
    plt.close(fig)
    return out_file


def load_probes(path: str) -> List[dict]:
    """Earlier measurements (a JSON list of ``{'label', 'minutes', 'ap'}``,
    with ``date`` and ``machine``)."""
    with open(path) as f:
        probes = json.load(f)
    for probe in probes:
        if len(probe['minutes']) != len(probe['ap']):
            raise ValueError(f"{path}: {probe['label']}: minutes and ap "
                             'differ in length')
    return probes
