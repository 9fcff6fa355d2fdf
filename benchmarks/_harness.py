"""Timing and peak-memory harness of ``benchmarks/run.py``.

A benchmark module (``benchmarks/bench_*.py``) defines
``build(quick: bool) -> (List[Case], List[Target])``. Cases of the same
``group`` are compared with each other: the first one of a group is ours,
the others are the named baselines. Everything runs in one process, one
case after the other, so the ratios compare like with like.
"""
import gc
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional


@dataclass
class Case:
    """One timed callable.

    Args:
        group (str): What is measured (e.g. ``'decode (64, 17, 64, 48)'``).
        name (str): Who does it (e.g. ``'ours'``, ``'scipy loop'``).
        fn (Callable): The work; called ``warmup + repeats`` times.
        repeats (int): Timed calls (the median is reported).
        warmup (int): Untimed calls first.
        note (str): Shown under the table.
    """
    group: str
    name: str
    fn: Callable[[], Any]
    repeats: int = 10
    warmup: int = 1
    note: str = ''


@dataclass
class Target:
    """A speed target: ``time(group/name) <= max_ratio * time(group/baseline)``.

    Args:
        group (str): Group of both cases.
        name (str): Our case.
        baseline (str): The reference case.
        max_ratio (float): Largest allowed time ratio ours / baseline
            (0.01 means "at least 100x faster").
        text (str): How the issue states it.
    """
    group: str
    name: str
    baseline: str
    max_ratio: float
    text: str = ''


@dataclass
class Result:
    group: str
    name: str
    median_s: float
    q1_s: float
    q3_s: float
    peak_mib: Optional[float]
    note: str = ''
    times: List[float] = field(default_factory=list)


def _rss_kib(field_name: str) -> Optional[int]:
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(field_name + ':'):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS counter (Linux >= 4.0)."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def peak_memory_mib(fn: Callable[[], Any]) -> Optional[float]:
    """Peak resident memory added by one call of ``fn``, in MiB (Linux; None
    elsewhere). Measures process RSS: CPU tensors and NumPy arrays alike."""
    gc.collect()
    if not _reset_peak_rss():
        return None
    before = _rss_kib('VmRSS')
    fn()
    peak = _rss_kib('VmHWM')
    if before is None or peak is None:
        return None
    return max(0.0, (peak - before) / 1024)


def _result(case: Case, times: List[float],
            peak: Optional[float]) -> Result:
    quartiles = (statistics.quantiles(times, n=4)
                 if len(times) > 1 else [times[0]] * 3)
    return Result(case.group, case.name, statistics.median(times),
                  quartiles[0], quartiles[2], peak, case.note, times)


def time_group(cases: List[Case],
               measure_memory: bool = True) -> List[Result]:
    """Median wall times (and peak memory) of the cases of one group.

    The timed calls are interleaved round-robin (one call of each case that
    still has repeats left, then again), so a change of machine load during
    the measurement affects every case alike instead of biasing the ratios.
    Warm-up calls and the peak-memory call come first, untimed.
    """
    peaks = []
    for case in cases:
        for _ in range(case.warmup):
            case.fn()
        peaks.append(peak_memory_mib(case.fn) if measure_memory else None)
    times: List[List[float]] = [[] for _ in cases]
    for round_ in range(max(c.repeats for c in cases)):
        for case, case_times in zip(cases, times):
            if round_ < case.repeats:
                start = time.perf_counter()
                case.fn()
                case_times.append(time.perf_counter() - start)
    return [_result(c, t, p) for c, t, p in zip(cases, times, peaks)]


def check_targets(results: List[Result],
                  targets: List[Target]) -> List[Dict]:
    """Evaluate each target on the measured medians."""
    by_key = {(r.group, r.name): r for r in results}
    rows = []
    for t in targets:
        ours = by_key.get((t.group, t.name))
        base = by_key.get((t.group, t.baseline))
        if ours is None or base is None:
            continue
        ratio = ours.median_s / base.median_s
        rows.append(
            dict(group=t.group, name=t.name, baseline=t.baseline,
                 ratio=ratio, max_ratio=t.max_ratio,
                 met=bool(ratio <= t.max_ratio), text=t.text))
    return rows


def _fmt_time(seconds: float) -> str:
    if seconds >= 1:
        return f'{seconds:.2f} s'
    if seconds >= 1e-3:
        return f'{seconds * 1e3:.1f} ms'
    return f'{seconds * 1e6:.0f} us'


def _fmt_ratio(ratio: float) -> str:
    return f'{ratio:.3g}x'


def markdown(results: List[Result], checks: List[Dict]) -> str:
    """Tables: per group, each case's median, quartiles, peak memory and its
    time ratio to the group's first case; then the targets."""
    lines = ['| group | implementation | median | IQR | peak memory | '
             'time / first |', '|---|---|---|---|---|---|']
    firsts: Dict[str, Result] = {}
    for r in results:
        first = firsts.setdefault(r.group, r)
        peak = '-' if r.peak_mib is None else f'{r.peak_mib:.1f} MiB'
        lines.append(
            f'| {r.group} | {r.name} | {_fmt_time(r.median_s)} | '
            f'{_fmt_time(r.q1_s)} - {_fmt_time(r.q3_s)} | {peak} | '
            f'{_fmt_ratio(r.median_s / first.median_s)} |')
    if checks:
        lines += ['', '| target | ours / baseline | limit | met |',
                  '|---|---|---|---|']
        for c in checks:
            lines.append(
                f"| {c['text'] or c['group']} ({c['name']} vs "
                f"{c['baseline']}) | {_fmt_ratio(c['ratio'])} | "
                f"<= {_fmt_ratio(c['max_ratio'])} | "
                f"{'yes' if c['met'] else '**no**'} |")
    notes = [f'* {r.group} / {r.name}: {r.note}' for r in results if r.note]
    if notes:
        lines += [''] + notes
    return '\n'.join(lines)
