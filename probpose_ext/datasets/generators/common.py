"""What the data generators (SynthPose, CropCOCO) share: per-item random
generators, argument checks, image and JSON encoding, atomic output
directories and an interruptible worker pool with a progress bar.

* Determinism: every output item (image) draws from its own generator,
  :func:`item_rng` of a key such as ``(seed, split, index)``, so the output
  is byte-identical for identical arguments whatever the number of worker
  processes; sub-seeds come from :func:`child_seed`.
* Atomicity: a generator writes everything into the temporary sibling
  ``OUT_DIR.tmp-<pid>`` and renames it into place at the end
  (:func:`atomic_output_dir`), so an error, a Ctrl-C or a SIGKILL never
  leaves a partial ``OUT_DIR``; leftovers of killed runs are removed by the
  next run.
"""
import contextlib
import filecmp
import functools
import json
import multiprocessing
import os
import os.path as osp
import shutil
import signal
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Optional, Sequence, Union

import cv2
import numpy as np
from tqdm import tqdm

__all__ = [
    'item_rng', 'child_seed', 'check_seed', 'check_workers', 'num_workers',
    'check_params', 'resolve_out_dir', 'encode_image', 'write_bytes',
    'atomic_write', 'write_json', 'remove_path', 'cleanup_stale', 'check_output_dir',
    'atomic_output_dir', 'worker_map', 'progress_map'
]


# ---------------------------------------------------------------------------
# Random generators
# ---------------------------------------------------------------------------
def item_rng(*key: int) -> np.random.Generator:
    """The random generator of one output item, derived from its key.

    Args:
        *key (int): Non-negative integers, e.g. ``(seed, split_code,
            index)``; equal keys give equal streams, different keys
            independent ones (NumPy's ``SeedSequence``).

    Returns:
        np.random.Generator: A PCG64 generator.
    """
    return np.random.default_rng(np.random.SeedSequence([int(k) for k in key]))


def child_seed(rng: np.random.Generator) -> int:
    """Draw a seed for a sub-generator (e.g. of a texture) from ``rng``."""
    return int(rng.integers(0, 2**62))


# ---------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------
def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_seed(seed: Any) -> None:
    """Raise ``ValueError`` unless ``seed`` is a non-negative int."""
    if not _is_int(seed) or seed < 0:
        raise ValueError(f'seed must be a non-negative int, got {seed!r}')


def check_workers(workers: Any) -> None:
    """Raise ``ValueError`` unless ``workers`` is None or an int >= 1."""
    if workers is not None and (not _is_int(workers) or workers < 1):
        raise ValueError(f'workers must be None or an int >= 1, got '
                         f'{workers!r}')


def num_workers(workers: Optional[int]) -> int:
    """``workers``, or ``os.cpu_count()`` when it is None."""
    return (os.cpu_count() or 1) if workers is None else int(workers)


def check_params(params: Any, cls: type) -> Any:
    """Default, type-check and validate a generator's parameters.

    Args:
        params (Any): ``None`` for ``cls()``, or an instance of ``cls``.
        cls (type): The parameter dataclass (with a ``validate`` method).

    Returns:
        The validated parameters.
    """
    params = params or cls()
    if not isinstance(params, cls):
        raise TypeError(f'params must be a {cls.__name__}')
    params.validate()
    return params


def resolve_out_dir(out_dir: Union[str, os.PathLike], force: bool) -> Path:
    """Absolute output directory; raises ``FileExistsError`` if it exists
    and not ``force`` (see :func:`check_output_dir`)."""
    out_dir = Path(out_dir).expanduser().absolute()
    check_output_dir(out_dir, force)
    return out_dir


# ---------------------------------------------------------------------------
# Encoding and writing
# ---------------------------------------------------------------------------
def encode_image(img: np.ndarray,
                 suffix: str,
                 path: str,
                 jpeg_quality: int = 95,
                 png_compression: int = 3) -> bytes:
    """Encode an image in the format of a file name suffix.

    Args:
        img (np.ndarray): BGR image, shape (H, W, 3), uint8.
        suffix (str): File name suffix such as ``'.jpg'`` or ``'.png'``.
        path (str): The destination (for the error message).
        jpeg_quality (int): JPEG quality.
        png_compression (int): PNG compression level.

    Returns:
        bytes: The encoded file.
    """
    suffix = suffix.lower()
    if suffix in ('.jpg', '.jpeg'):
        flags = [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality]
    elif suffix == '.png':
        flags = [cv2.IMWRITE_PNG_COMPRESSION, png_compression]
    else:
        flags = []
    try:
        ok, buf = cv2.imencode(suffix, img, flags)
    except cv2.error:
        ok = False
    if not ok:
        raise ValueError(f'could not encode {path} as {suffix!r}')
    return buf.tobytes()


def write_bytes(path: Union[str, os.PathLike], data: bytes) -> None:
    """Write a file, creating its parent directories."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data)


def atomic_write(path: str,
                 save: Callable[[IO], None],
                 binary: bool = True,
                 keep_identical: bool = False) -> bool:
    """Write a file through a temporary sibling renamed into place, so a
    reader (or an interrupted run) never sees a partial file; folders are
    created.

    Args:
        path (str): The file.
        save (Callable): Writes the content into the open temporary file.
        binary (bool): Open it in binary mode (else text).
        keep_identical (bool): Leave an existing file with the same bytes
            untouched, modification time included (caches keyed on it stay
            valid).

    Returns:
        bool: Whether ``path`` was (re)written.
    """
    path = os.fspath(path)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = f'{path}.tmp-{os.getpid()}'
    try:
        with open(tmp, 'wb' if binary else 'w') as f:
            save(f)
        if keep_identical and osp.isfile(path) and filecmp.cmp(
                tmp, path, shallow=False):
            os.remove(tmp)
            return False
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    return True


def write_json(path: Path, obj: Any, indent: Optional[int] = None) -> None:
    """Write JSON (compact unless ``indent``) with a final newline."""
    text = (
        json.dumps(obj, separators=(',', ':'))
        if indent is None else json.dumps(obj, indent=indent))
    path.write_text(text + '\n', encoding='utf-8')


# ---------------------------------------------------------------------------
# Atomic output directories
# ---------------------------------------------------------------------------


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


@contextlib.contextmanager
def progress_map(func: Callable,
                 tasks: Sequence,
                 workers: int,
                 desc: str,
                 progress: bool = True) -> Iterator[Iterator]:
    """Yield the ordered results of ``func`` over ``tasks``, computed by
    :func:`worker_map` with ``min(workers, len(tasks))`` processes, with a
    tqdm progress bar (in images).

    Args:
        func (Callable): A picklable function of one task.
        tasks (Sequence): The tasks.
        workers (int): Maximum number of processes.
        desc (str): Progress bar label.
        progress (bool): Show the progress bar.

    Yields:
        Iterator: The results, in the order of ``tasks``.
    """
    with worker_map(max(1, min(workers, len(tasks)))) as imap, tqdm(
            total=len(tasks), desc=desc, unit='img',
            disable=not progress) as bar:

        def results() -> Iterator:
            for result in imap(func, tasks):
                yield result
                bar.update(1)

        yield results()
