"""Speed and memory of probpose_ext against the baselines users would
otherwise use: all timings in one process run, peak memory in a child
process (see :func:`_measure_memory`).

    python benchmarks/run.py [--only decode sparsemax eval head lifter recognizer
        deploy] [--quick]
        [--threads 1] [--out work_dirs/bench]

Prints a table of medians, quartiles, peak memory and time ratios per group
(the first row of a group is ours, the others the named baselines), checks
the speed targets and writes ``results.md`` / ``results.json`` to ``--out``.
Each ``benchmarks/bench_<name>.py`` defines ``build(quick) -> (cases,
targets)``.
"""
import argparse
import datetime
import importlib
import json
import os
import os.path as osp
import platform
import subprocess
import sys
import tempfile

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)
try:
    import probpose_ext  # noqa: F401
except ImportError:  # running from a source checkout without installing
    sys.path.insert(0, osp.dirname(HERE))

from _harness import (check_targets, markdown, peak_memory_mib,  # noqa: E402
                      time_group)

BENCHMARKS = ('decode', 'sparsemax', 'eval', 'head', 'lifter', 'recognizer',
              'deploy')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--only', nargs='+', choices=BENCHMARKS,
                        default=list(BENCHMARKS))
    parser.add_argument('--quick', action='store_true',
                        help='small sizes and few repeats (a smoke run)')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch intra-op threads (default 1: the '
                        'baselines are single-threaded)')
    parser.add_argument('--no-memory', action='store_true',
                        help='skip the peak-memory measurement')
    parser.add_argument('--out', default='work_dirs/bench')
    parser.add_argument('--memory-only', metavar='JSON',
                        help=argparse.SUPPRESS)  # the memory child process
    return parser.parse_args(argv)


def machine() -> dict:
    import torch
    return dict(
        date=datetime.date.today().isoformat(), python=platform.python_version(),
        torch=torch.__version__, cpu=platform.processor() or platform.machine(),
        cpu_count=os.cpu_count(), torch_threads=torch.get_num_threads(),
        cuda=torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)


def _measure_memory(args) -> dict:
    """Peak memory of every case, measured in a child process with glibc's
    mmap threshold fixed at 64 KiB.

    Peak memory is read from the process's peak RSS. By default glibc
    raises its mmap threshold after large blocks are freed, so later large
    arrays come from the heap, stay resident when freed and hide the next
    case's peak; with a fixed threshold every large array is mapped and
    unmapped, and each case's peak is its own. That setting slows
    allocation-heavy code down, hence a separate process: the timings are
    taken with the default allocator.

    Returns:
        dict: ``'group/name'`` -> MiB (None where unsupported).
    """
    with tempfile.TemporaryDirectory() as tmp:
        out = osp.join(tmp, 'memory.json')
        cmd = [sys.executable, osp.abspath(__file__), '--memory-only', out,
               '--threads', str(args.threads), '--only', *args.only]
        if args.quick:
            cmd.append('--quick')
        env = dict(os.environ, MALLOC_MMAP_THRESHOLD_='65536')
        subprocess.run(cmd, env=env, check=True)
        with open(out) as f:
            return json.load(f)


def _cases(args):
    """Yield ``(benchmark, group, cases, targets)``."""
    for name in args.only:
        module = importlib.import_module(f'bench_{name}')
        cases, targets = module.build(args.quick)
        groups = {}
        for case in cases:
            groups.setdefault(case.group, []).append(case)
        for group, group_cases in groups.items():
            yield name, group, group_cases, targets


def main(argv=None):
    args = parse_args(argv)
    import torch
    torch.set_num_threads(args.threads)
    if args.memory_only:
        peaks = {}
        for name, group, cases, _ in _cases(args):
            print(f'[{name}] {group}: peak memory ...', flush=True)
            for case in cases:
                for _ in range(case.warmup):
                    case.fn()
                peaks[f'{group}/{case.name}'] = peak_memory_mib(case.fn)
        with open(args.memory_only, 'w') as f:
            json.dump(peaks, f)
        return 0
    peaks = {} if args.no_memory else _measure_memory(args)
    results, checks = [], []
    for name, group, cases, targets in _cases(args):
        names = ', '.join(c.name for c in cases)
        print(f'[{name}] {group}: {names} ...', flush=True)
        group_results = time_group(cases, measure_memory=False)
        for r in group_results:
            r.peak_mib = peaks.get(f'{group}/{r.name}')
        results += group_results
        checks += check_targets(group_results, targets)
    info = machine()
    table = markdown(results, checks)
    header = (f"Measured {info['date']} on {info['cpu_count']} CPU cores "
              f"({info['cpu']}), torch {info['torch']} with "
              f"{info['torch_threads']} thread(s)"
              + (f", GPU {info['cuda']}" if info['cuda'] else '') + '.')
    print('\n' + header + '\n\n' + table)
    os.makedirs(args.out, exist_ok=True)
    with open(osp.join(args.out, 'results.md'), 'w') as f:
        f.write(header + '\n\n' + table + '\n')
    with open(osp.join(args.out, 'results.json'), 'w') as f:
        json.dump(dict(machine=info, quick=args.quick,
                       results=[vars(r) for r in results], targets=checks),
                  f, indent=2)
    return 0 if all(c['met'] for c in checks) else 1


if __name__ == '__main__':
    sys.exit(main())
