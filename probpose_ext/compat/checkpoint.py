"""Checkpoint loading on torch >= 2.6, with a deliberate trust model.

Problem: torch >= 2.6 defaults ``torch.load(weights_only=True)`` and
mmengine 0.10.7's local loader does not pass ``weights_only``, so checkpoints
holding numpy arrays (``meta['dataset_meta']``) or ``HistoryBuffer`` objects
(``message_hub``) fail with ``UnpicklingError: Weights only load failed`` on
``tools/test.py CKPT``, ``--resume``, ``load_from`` and ``init_cfg``
(ENVIRONMENT.md problem 3; fixed upstream in open-mmlab/mmengine PR #1670,
unreleased).

Workaround and trust model: the local-file scheme of mmengine's
``CheckpointLoader`` is re-registered with :func:`load_local_checkpoint`:

* Every file is first loaded with ``weights_only=True``. Checkpoints written
  through this project's configs and tools contain only plain types (see
  :class:`probpose_ext.engine.PlainCheckpointHook`), so they always load
  this way.
* A file that needs full unpickling (arbitrary code can run while it loads)
  is loaded only when the user trusts it: ``PROBPOSE_TRUST_CHECKPOINTS=1``
  (all files) or a list of paths separated by ``os.pathsep``, the config key
  ``trust_checkpoints`` (read by ``tools/train.py`` / ``tools/test.py``), or
  :func:`trust_checkpoints` in Python. A warning names the file.
* Otherwise :class:`UntrustedCheckpointError` says which file, why, and how
  to opt in. Any other failure names the file and the reason.
"""
import inspect
import os
import os.path as osp
import pickle
import warnings
from typing import Iterable, Optional, Set, Union

import torch

from ._shim import Shim

ENV_VAR = 'PROBPOSE_TRUST_CHECKPOINTS'
_TRUE_WORDS = {'1', 'true', 'yes', 'all', '*'}

_trust_all = False
_trusted_paths: Set[str] = set()


class UntrustedCheckpointError(pickle.UnpicklingError):
    """A checkpoint needs full unpickling but the user has not trusted it."""


class CheckpointLoadError(RuntimeError):
    """A checkpoint file exists but cannot be read."""


def _norm(path: str) -> str:
    return osp.realpath(osp.expanduser(str(path)))


def trust_checkpoints(paths: Union[bool, str, Iterable[str], None]) -> None:
    """Opt in to full unpickling of checkpoint files.

    Args:
        paths (bool | str | list[str] | None): ``True`` trusts every file;
            a path or list of paths trusts those files; ``False``/``None``
            resets the opt-in done through this function.
    """
    global _trust_all
    if paths is None or paths is False:
        _trust_all = False
        _trusted_paths.clear()
    elif paths is True:
        _trust_all = True
    elif isinstance(paths, (str, os.PathLike)):
        _trusted_paths.add(_norm(paths))
    else:
        _trusted_paths.update(_norm(p) for p in paths)


def is_trusted(filename: str) -> bool:
    """Whether the user opted in to full unpickling of ``filename``."""
    if _trust_all or _norm(filename) in _trusted_paths:
        return True
    value = os.environ.get(ENV_VAR, '').strip()
    if not value:
        return False
    if value.lower() in _TRUE_WORDS:
        return True
    env_paths = {_norm(p) for p in value.split(os.pathsep) if p}
    return _norm(filename) in env_paths


def _opt_in_help(filename: str) -> str:
    return (f'If you trust this file, opt in with the environment variable '
            f'{ENV_VAR}={filename} (or {ENV_VAR}=1 for every file), the '
            f"config key trust_checkpoints=['{filename}'] with this "
            "project's tools, or probpose_ext.compat.checkpoint."
            'trust_checkpoints(path) in Python.')


def load_local_checkpoint(filename: str,
                          map_location: Optional[Union[str,
                                                       torch.device]] = None):
    """Load a local checkpoint, weights-only unless the file is trusted.

    Args:
        filename (str): Path of the checkpoint file.
        map_location (str | torch.device, optional): As in :func:`torch.load`.

    Returns:
        dict: The loaded checkpoint.

    Raises:
        FileNotFoundError: The file does not exist.
        UntrustedCheckpointError: The file needs full unpickling and the user
            has not opted in.
        CheckpointLoadError: The file cannot be read (truncated, not a
            checkpoint, ...).
    """
    filename = osp.expanduser(str(filename))
    if not osp.isfile(filename):
        raise FileNotFoundError(f'Checkpoint file {filename} can not be found.')
    try:
        return torch.load(
            filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        reason = str(err).strip().splitlines()
        reason = next((line for line in reason if 'Unsupported' in line
                       or 'global' in line.lower()), reason[0] if reason else
                      type(err).__name__)
        if not is_trusted(filename):
            raise UntrustedCheckpointError(
                f'Refusing to load checkpoint {filename} with full unpickling'
                f' (which can execute arbitrary code): it is not loadable '
                f'with weights_only=True ({reason.strip()}). '
                f'{_opt_in_help(filename)}') from None
        warnings.warn(
            f'Loading checkpoint {filename} with full unpickling '
            f'(weights_only=False) because you marked it as trusted; it is '
            f'not loadable weights-only ({reason.strip()}).',
            stacklevel=2)
        try:
            return torch.load(
                filename, map_location=map_location, weights_only=False)
        except Exception as err2:  # noqa: BLE001
            raise CheckpointLoadError(
                f'Cannot load checkpoint {filename}: '
                f'{type(err2).__name__}: {err2}') from err2
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        raise CheckpointLoadError(
            f'Cannot load checkpoint {filename}: {type(err).__name__}: {err}'
            ' (is it a truncated download or not a PyTorch checkpoint?)'
        ) from err


def needed() -> bool:
    """torch.load knows ``weights_only`` (torch >= 1.13): apply the trust
    model everywhere, so behaviour does not depend on the torch version."""
    return 'weights_only' in inspect.signature(torch.load).parameters


def _install() -> None:
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='', force=True)(
        load_local_checkpoint)


def _uninstall() -> None:
    from mmengine.runner.checkpoint import CheckpointLoader, load_from_local
    CheckpointLoader.register_scheme(prefixes='', force=True)(load_from_local)


_SHIM = Shim(needed, _install, _uninstall)
apply, remove, is_applied = _SHIM.apply, _SHIM.remove, _SHIM.is_applied
