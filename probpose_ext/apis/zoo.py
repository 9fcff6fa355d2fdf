"""The model zoo: models listed in ``configs/**/metafile.yml`` (MMPose's
model-index format) by name, with their config and weights.

A metafile entry::

    Models:
    - Name: synthpose-probpose
      Alias: [probpose-synthpose]          # optional
      Config: configs/synthpose/probpose_....py
      Weights: checkpoints/synthpose/synthpose-probpose.pth
      Results: [...]

``Config`` and ``Weights`` are paths relative to the zoo root: the
repository that holds ``configs/`` and ``checkpoints/`` (the parent of the
``probpose_ext`` package in a source checkout or an editable install), or
the directory named by the environment variable ``PROBPOSE_ZOO_ROOT``.
:func:`resolve` turns a name into absolute paths; ``tools/infer.py`` and
``MMPoseInferencer`` (through :mod:`probpose_ext.compat.inferencer_zoo`)
accept the names.
"""
import difflib
import glob
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

import yaml

from ..utils.atomic import atomic_write

#: Environment variable naming another zoo root.
ZOO_ENV = 'PROBPOSE_ZOO_ROOT'


def zoo_root() -> str:
    """The directory that ``Config`` and ``Weights`` paths are relative to."""
    root = os.environ.get(ZOO_ENV)
    if root:
        return osp.abspath(root)
    return osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def zoo_models(root: Optional[str] = None) -> Dict[str, dict]:
    """Every model of the zoo's metafiles, by lower-case name and alias.

    Args:
        root (str, optional): Zoo root. Defaults to :func:`zoo_root`.

    Entries without ``Weights`` (configs listed for MMPose's model index
    with no published checkpoint, e.g. ``configs/coco/metafile.yml``) are
    not zoo models and are skipped.

    Returns:
        dict: name -> the metafile entry, with ``Config`` and ``Weights``
        made absolute and ``Metafile`` added.
    """
    root = root or zoo_root()
    models: Dict[str, dict] = {}
    for metafile in sorted(glob.glob(osp.join(root, 'configs', '**',
                                               'metafile.yml'),
                                      recursive=True)):
        with open(metafile) as f:
            index = yaml.safe_load(f) or {}
        for entry in index.get('Models', []):
            entry = dict(entry)
            if not entry.get('Weights'):
                continue
            for key in ('Name', 'Config'):
                if not entry.get(key):
                    raise ValueError(f'{metafile}: a model has no {key}: '
                                     f'{entry}')
            entry['Config'] = osp.join(root, entry['Config'])
            entry['Weights'] = osp.join(root, entry['Weights'])
            entry['Metafile'] = metafile
            aliases = entry.get('Alias', [])
            aliases = [aliases] if isinstance(aliases, str) else aliases
            for name in [entry['Name'], *aliases]:
                models[name.lower()] = entry
    return models


def zoo_names(root: Optional[str] = None) -> List[str]:
    """The zoo's model names (without aliases), sorted."""
    return sorted({m['Name'] for m in zoo_models(root).values()})


def is_zoo_name(name: str, root: Optional[str] = None) -> bool:
    """Whether ``name`` (not an existing file) names a zoo model."""
    return not osp.isfile(name) and name.lower() in zoo_models(root)


def resolve(name: str, root: Optional[str] = None) -> Tuple[str, str]:
    """Config and weights of the zoo model ``name``.

    Args:
        name (str): A model name or alias from a metafile (any case).
        root (str, optional): Zoo root. Defaults to :func:`zoo_root`.

    Returns:
        tuple[str, str]: Absolute paths of the config and the weights.

    Raises:
        KeyError: If no model has that name (the message lists them).
        FileNotFoundError: If the entry's config or weights file is missing.
    """
    models = zoo_models(root)
    entry = models.get(name.lower())
    if entry is None:
        hints = difflib.get_close_matches(name.lower(), list(models), n=1)
        hint = hints[0] if hints else None
        raise KeyError(f'{name!r} is not a zoo model'
                       + (f' (did you mean {hint!r}?)' if hint else '')
                       + f'; the zoo has {", ".join(zoo_names(root)) or "none"}'
                       ' (configs/**/metafile.yml)')
    for key in ('Config', 'Weights'):
        if not osp.isfile(entry[key]):
            raise FileNotFoundError(
                f'{entry["Name"]}: {key} {entry[key]} not found (listed in '
                f'{entry["Metafile"]})')
    return entry['Config'], entry['Weights']


def resolve_model(config: str, checkpoint: Optional[str] = None,
                  root: Optional[str] = None) -> Tuple[str, str]:
    """``CONFIG [CHECKPOINT]`` of a command line, where CONFIG may be a zoo
    name (like MMPose's model aliases).

    Args:
        config (str): A config file or a zoo name.
        checkpoint (str, optional): Weights; with a zoo name they replace
            the zoo's.
        root (str, optional): Zoo root. Defaults to :func:`zoo_root`.

    Returns:
        tuple[str, str]: The config and the checkpoint.

    Raises:
        ValueError: If ``config`` is not a zoo name and ``checkpoint`` is
            None.
    """
    if is_zoo_name(config, root):
        zoo_config, weights = resolve(config, root)
        return zoo_config, checkpoint or weights
    if checkpoint is None:
        raise ValueError(f'{config} is neither a config file nor a zoo '
                         'model: give CONFIG CHECKPOINT or a zoo name')
    return config, checkpoint


def last_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint MMEngine's ``last_checkpoint`` file of a training run
    names (the one ``--resume`` continues from), or None without that
    file."""
    path = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return f.read().strip()


def best_checkpoint(work_dir: str) -> str:
    """The ``best_*.pth`` checkpoint of a training run (MMEngine's
    ``save_best``), else the last one.

    Raises:
        FileNotFoundError: If the run has neither.
    """
    best = sorted(glob.glob(osp.join(work_dir, 'best_*.pth')),
                  key=osp.getmtime)
    if best:
        return best[-1]
    last = last_checkpoint(work_dir)
    if last is None:
        raise FileNotFoundError(f'no checkpoint in {work_dir}')
    return last


def _copy_logs(work_dir: str, dest: str) -> None:
    """Copy the text logs and ``scalars.json`` of every run (timestamped
    folder) of ``work_dir`` into ``dest``."""
    import shutil
    os.makedirs(dest, exist_ok=True)
    runs = sorted(d for d in glob.glob(osp.join(work_dir, '2*'))
                  if osp.isdir(d))
    for run in runs:
        for path in glob.glob(osp.join(run, '*.log')):
            shutil.copy(path, dest)
        scalars = osp.join(run, 'vis_data', 'scalars.json')
        if osp.isfile(scalars):
            shutil.copy(scalars, osp.join(
                dest, f'{osp.basename(run)}_scalars.json'))


def publish(name: str,
            config: str,
            work_dir: str,
            results: List[dict],
            metadata: Optional[dict] = None,
            root: Optional[str] = None,
            collection: str = 'SynthPose',
            refit_dir: Optional[str] = None,
            checkpoint: Optional[str] = None) -> dict:
    """Put a trained model into the zoo.

    Writes ``checkpoints/<collection lower>/<name>.pth`` (the best
    checkpoint's ``state_dict`` and ``meta.dataset_meta`` only: weights-only
    loadable, no optimiser state), copies the run's text logs and
    ``scalars.json`` next to it (``<name>/``, replacing the logs of any
    earlier publication of ``name``) and adds or replaces the
    entry ``name`` of ``configs/<collection lower>/metafile.yml``.

    Args:
        name (str): Zoo name, e.g. ``'synthpose-probpose'``.
        config (str): The config, relative to the zoo root.
        work_dir (str): The training run's work directory.
        results (list[dict]): Model-index ``Results`` entries
            (``Task``, ``Dataset``, ``Metrics``).
        metadata (dict, optional): Model-index ``Metadata`` (e.g.
            training minutes, machine, date).
        root (str, optional): Zoo root. Defaults to :func:`zoo_root`.
        collection (str): Collection name. Defaults to ``'SynthPose'``.
        refit_dir (str, optional): Work directory of a branch refit of the
            run (:mod:`probpose_ext.apis.refit`): its best checkpoint is
            published instead, and its logs go to ``<name>/refit/``.
        checkpoint (str, optional): The checkpoint to publish (e.g. the
            last epoch, the one the results were measured on). Defaults to
            the best checkpoint of the run (or of the refit).

    Returns:
        dict: The metafile entry written.
    """
    import shutil

    import torch

    from ..engine.hooks.plain_checkpoint_hook import to_plain
    root = root or zoo_root()
    folder = collection.lower()
    source = checkpoint or best_checkpoint(refit_dir or work_dir)
    ckpt = torch.load(source, map_location='cpu', weights_only=True)
    weights_rel = osp.join('checkpoints', folder, f'{name}.pth')
    weights = osp.join(root, weights_rel)
    os.makedirs(osp.dirname(weights), exist_ok=True)
    meta = dict(dataset_meta=to_plain(ckpt['meta'].get('dataset_meta')),
                epoch=ckpt['meta'].get('epoch'),
                source=osp.basename(source))
    atomic_write(weights, lambda f: torch.save(
        dict(state_dict=ckpt['state_dict'], meta=meta), f))

    logs = osp.join(root, 'checkpoints', folder, name)
    # the logs of an earlier publication belong to other weights
    shutil.rmtree(logs, ignore_errors=True)
    os.makedirs(logs)
    _copy_logs(work_dir, logs)
    if refit_dir:
        _copy_logs(refit_dir, osp.join(logs, 'refit'))

    entry = {
        'Name': name,
        'In Collection': collection,
        'Config': config,
        'Weights': weights_rel,
        'Results': results,
    }
    if metadata:
        entry['Metadata'] = metadata
    metafile = osp.join(root, 'configs', folder, 'metafile.yml')
    index = {}
    if osp.isfile(metafile):
        with open(metafile) as f:
            index = yaml.safe_load(f) or {}
    index.setdefault('Collections', [{'Name': collection}])
    models = [m for m in index.get('Models', []) if m['Name'] != name]
    index['Models'] = sorted(models + [entry], key=lambda m: m['Name'])
    atomic_write(metafile,
                 lambda f: yaml.safe_dump(index, f, sort_keys=False),
                 binary=False)
    return entry
