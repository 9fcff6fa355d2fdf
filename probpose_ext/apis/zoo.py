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
            for key in ('Name', 'Config', 'Weights'):
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
