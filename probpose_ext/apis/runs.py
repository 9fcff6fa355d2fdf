"""Helpers of the tools that train and evaluate several runs (the demo,
the TIC comparison, the teacher pseudo-label study): resumable training in
a subprocess, results cached on disk by what they depend on, training
minutes from the logs.

A cached value is a JSON record ``{'key': ..., 'value': ...}``; it is
reused only while the key (the files it depends on, by path and
modification time, and the settings) is unchanged and the files it refers
to exist.
"""
import json
import os
import os.path as osp
import subprocess
import sys
from typing import Callable, List, Optional, Sequence, Tuple

from ..utils.atomic import atomic_write

__all__ = [
    'jsonable', 'write_json', 'file_key', 'cached', 'train_resumable',
    'trained_checkpoint',
    'run_logs', 'training_minutes', 'evaluate_cached', 'run_stamp',
    'CellRun'
]


class CellRun:
    """A study's work directory and its cell cache: ``path`` makes parent
    folders, ``cell`` caches one result in ``WORK_DIR/cells/<stage>/
    <name>.json`` (:func:`cached`). Subclasses add their settings, data
    paths and loaded models (``testers``).

    Args:
        work_dir (str): The work directory.
        progress (bool): Progress bars.
    """

    def __init__(self, work_dir: str, progress: bool = True) -> None:
        self.work = osp.abspath(work_dir)
        self.progress = progress
        self.testers: dict = {}

    def path(self, *parts: str) -> str:
        """``WORK_DIR/parts...``, its parent folder created."""
        p = osp.join(self.work, *parts)
        os.makedirs(osp.dirname(p), exist_ok=True)
        return p

    def cell(self, stage: str, name: str, key: dict,
             compute: Callable[[], dict],
             outputs: Sequence[str] = ()) -> dict:
        """``compute()``, or the value cached under ``key``."""
        safe = name.replace(' ', '_').replace('/', '-')
        value, _ = cached(self.path('cells', stage, f'{safe}.json'), key,
                          compute, outputs)
        return value


def run_stamp() -> dict:
    """When and where a study ran: ``date`` (UTC) and ``machine`` (CPU
    cores and architecture), for the headers of its tables."""
    import platform
    import time
    return dict(
        date=time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()),
        machine=f'{os.cpu_count()} CPU cores ({platform.machine()})')


def jsonable(value):
    """``value`` as it reads back from JSON (tuples as lists, keys as
    strings, NumPy scalars as numbers, non-finite floats as None)."""
    from ..utils.jsonable import to_jsonable
    return json.loads(json.dumps(to_jsonable(value), allow_nan=False))


def write_json(path: str, value) -> None:
    """Write :func:`jsonable` ``value`` atomically (indent 2)."""
    value = jsonable(value)
    atomic_write(path,
                 lambda f: json.dump(value, f, indent=2, allow_nan=False),
                 binary=False)


def file_key(path: str) -> dict:
    """A file's identity for the records: absolute path and mtime."""
    return dict(path=osp.abspath(path), mtime=osp.getmtime(path))


def cached(record: str, key: dict, compute: Callable[[], dict],
           outputs: Sequence[str] = ()) -> Tuple[dict, bool]:
    """``compute()``, or the value saved in ``record`` under the same key.

    Args:
        record (str): JSON file holding ``{'key': ..., 'value': ...}``.
        key (dict): What the value depends on (files by :func:`file_key`,
            settings).
        compute (Callable): Computes the value (JSON-able dict).
        outputs (Sequence[str]): Files the value refers to; the saved value
            is only reused while they exist.

    Returns:
        tuple[dict, bool]: The value as it reads back from JSON, and whether
        it was reused.
    """
    key = jsonable(key)
    if osp.isfile(record) and all(osp.exists(p) for p in outputs):
        with open(record) as f:
            saved = json.load(f)
        if saved.get('key') == key:
            return saved['value'], True
    value = jsonable(compute())
    write_json(record, dict(key=key, value=value))
    return value, False


def train_resumable(config: str,
                    work_dir: str,
                    cfg_options: Sequence[str] = (),
                    tag: str = 'train') -> None:
    """``tools/train.py CONFIG --work-dir WORK_DIR --resume`` in a
    subprocess (fresh registries and random states for each run): an
    interrupted run continues from its last checkpoint.

    Args:
        config (str): The config file.
        work_dir (str): The run's work directory.
        cfg_options (Sequence[str]): ``--cfg-options`` items
            (``key=value``).
        tag (str): Prefix of the progress line printed.
    """
    from .zoo import zoo_root
    cmd = [sys.executable, osp.join(zoo_root(), 'tools', 'train.py'), config,
           '--work-dir', work_dir, '--resume']
    if cfg_options:
        cmd += ['--cfg-options', *cfg_options]
    print(f'[{tag}] {" ".join(cmd)}', flush=True)
    subprocess.run(cmd, check=True)


def trained_checkpoint(config: str,
                       work_dir: str,
                       max_epochs: int,
                       cfg_options: Sequence[str] = (),
                       tag: str = 'train',
                       train: bool = True) -> Optional[str]:
    """The end-of-schedule checkpoint ``<work_dir>/epoch_<max_epochs>.pth``
    of a run, trained first (:func:`train_resumable`) when it is missing.

    Args:
        config (str): The config file.
        work_dir (str): The run's work directory.
        max_epochs (int): The schedule's length (with ``cfg_options``).
        cfg_options (Sequence[str]): ``--cfg-options`` items.
        tag (str): Prefix of the progress line printed.
        train (bool): Train a missing run; False returns None instead.

    Returns:
        str | None: The checkpoint, or None (not trained, ``train=False``).
    """
    checkpoint = osp.join(work_dir, f'epoch_{max_epochs}.pth')
    if not osp.isfile(checkpoint):
        if not train:
            return None
        train_resumable(config, work_dir, cfg_options, tag=tag)
    return checkpoint


def run_logs(work_dir: str) -> List[str]:
    """The text logs of a run's timestamped folders, in order."""
    found = []
    for entry in sorted(os.listdir(work_dir)):
        log = osp.join(work_dir, entry, f'{entry}.log')
        if osp.isfile(log):
            found.append(log)
    return found


def training_minutes(work_dir: str,
                     metric: str = 'coco/AP') -> Optional[float]:
    """Training minutes of a run up to its last validation, from its logs
    (validation time excluded; ``metric`` as
    :func:`~probpose_ext.analysis.curves.read_curve`'s)."""
    from ..analysis.curves import read_curve
    text = ''.join(open(p).read() for p in run_logs(work_dir))
    curve = read_curve(text, metric)
    return curve[-1]['minutes'] if curve else None


def evaluate_cached(config, checkpoint: str, out_dir: str,
                    settings: Optional[dict] = None,
                    dump: bool = True) -> Tuple[dict, Optional[str]]:
    """``tools/test.py`` metrics of ``checkpoint`` (and its raw predictions
    in ``out_dir/preds.pkl``), cached in ``out_dir/metrics.json`` under the
    checkpoint's and the config's identity.

    Args:
        config (str | mmengine.Config): The evaluation config (a Config is
            dumped to ``out_dir/eval_config.py``).
        checkpoint (str): The weights.
        out_dir (str): Where the config, record, logs and dump go.
        settings (dict, optional): Anything else the result depends on
            (e.g. the split), part of the key.
        dump (bool): Also dump the predictions (MMEngine ``DumpResults``).

    Returns:
        tuple[dict, str | None]: The metrics (floats) and the dump's path.
    """
    from .cli import test_main
    os.makedirs(out_dir, exist_ok=True)
    if isinstance(config, str):
        cfg_path = config
    else:
        cfg_path = osp.join(out_dir, 'eval_config.py')
        text = config.pretty_text
        if not osp.isfile(cfg_path) or open(cfg_path).read() != text:
            config.dump(cfg_path)
    dump_path = osp.join(out_dir, 'preds.pkl') if dump else None

    def compute() -> dict:
        argv = [cfg_path, checkpoint, '--work-dir', out_dir]
        if dump_path:
            argv += ['--dump', dump_path]
        metrics = test_main(argv)
        return {k: float(v) for k, v in metrics.items()}

    key = dict(checkpoint=file_key(checkpoint), config=file_key(cfg_path),
               settings=settings or {})
    metrics, _ = cached(
        osp.join(out_dir, 'metrics.json'), key, compute,
        outputs=[dump_path] if dump_path else [])
    return metrics, dump_path
