"""Atomic output directories and an interruptible worker pool for the data
generators (SynthPose, CropCOCO).

A generator writes everything into the temporary sibling
``OUT_DIR.tmp-<pid>`` and renames it into place at the end, so an error, a
Ctrl-C or a SIGKILL never leaves a partial ``OUT_DIR``; leftovers of killed
runs are removed by the next run.
"""
import contextlib
import functools
import multiprocessing
import os
import shutil
import signal
from pathlib import Path
from typing import Callable, Iterator

import cv2


def _pid_alive(pid: int) -> bool:
    if os.name != 'posix':
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_path(path: Path) -> None:
    """Remove a file, a symlink or a directory tree if it exists."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def cleanup_stale(out_dir: Path) -> None:
    """Remove temporary siblings left by crashed runs (dead pids or ours).

    ``OUT_DIR.old-<pid>`` leftovers are only removed when ``OUT_DIR``
    exists (otherwise they may be the only copy of the data).
    """
    if not out_dir.parent.is_dir():
        return
    for kind in ('tmp', 'old'):
        for path in out_dir.parent.glob(f'{out_dir.name}.{kind}-*'):
            suffix = path.name[len(out_dir.name) + len(kind) + 2:]
            if not suffix.isdigit():
                continue
            pid = int(suffix)
            if pid != os.getpid() and _pid_alive(pid):
                continue
            if kind == 'old' and not out_dir.exists():
                continue
            remove_path(path)


def check_output_dir(out_dir: Path, force: bool) -> None:
    """Raise ``FileExistsError`` if ``out_dir`` exists and not ``force``."""
    if (out_dir.exists() or out_dir.is_symlink()) and not force:
        raise FileExistsError(
            f'{out_dir} already exists; pass force=True (CLI: --force) to '
            'replace it')


@contextlib.contextmanager
def atomic_output_dir(out_dir: Path, force: bool = False) -> Iterator[Path]:
    """Yield a fresh temporary directory that replaces ``out_dir`` when the
    ``with`` block succeeds, and is removed when it raises.

    Args:
        out_dir (Path): Final output directory (absolute).
        force (bool): Replace an existing ``out_dir``.

    Yields:
        Path: The temporary directory ``OUT_DIR.tmp-<pid>`` to write into.
    """
    check_output_dir(out_dir, force)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    cleanup_stale(out_dir)
    tmp = out_dir.with_name(f'{out_dir.name}.tmp-{os.getpid()}')
    remove_path(tmp)
    try:
        tmp.mkdir()
        yield tmp
        if out_dir.exists() or out_dir.is_symlink():
            if not force:
                raise FileExistsError(
                    f'{out_dir} appeared during generation; pass force=True '
                    '(CLI: --force) to replace it')
            old = out_dir.with_name(f'{out_dir.name}.old-{os.getpid()}')
            remove_path(old)
            os.replace(out_dir, old)
            try:
                os.replace(tmp, out_dir)
            except BaseException:
                os.replace(old, out_dir)
                raise
            remove_path(old)
        else:
            os.replace(tmp, out_dir)
    except BaseException:
        remove_path(tmp)
        raise


def _worker_init() -> None:
    """Pool initializer: Ctrl-C is handled by the parent only (it terminates
    the pool and removes the temporary dir).

    OpenCV's thread count is set to 1 in the *parent* before forking (see
    :func:`worker_map`): calling ``cv2.setNumThreads`` in a forked child whose
    parent has already used OpenCV's thread pool deadlocks the child.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def worker_map(workers: int, chunksize: int = 8) -> Iterator[Callable]:
    """Yield an ordered ``imap(func, tasks)``: in-process for one worker,
    otherwise a process pool (fork where available) that is terminated on
    exit, also on errors and KeyboardInterrupt.

    Args:
        workers (int): Number of processes; ``<= 1`` maps in this process.
        chunksize (int): Tasks sent to a worker at once.
    """
    if workers <= 1:
        yield map
        return
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context('fork' if 'fork' in methods else None)
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # inherited by the workers: one thread each
    try:
        with ctx.Pool(workers, initializer=_worker_init) as pool:
            yield functools.partial(pool.imap, chunksize=chunksize)
    finally:
        cv2.setNumThreads(threads)
