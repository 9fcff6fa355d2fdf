"""Input checks shared by the datasets, metrics, hooks and tools.

Every function raises an error whose message names where the bad value came
from (the file, the record, the field), so a user's mistake never surfaces as
a bare traceback from deep inside numpy, xtcocotools or MMEngine:

* :func:`load_json`: a missing, unreadable, truncated or otherwise invalid
  JSON file, with the position of the first error;
* :func:`check_finite`: NaN / Inf in predictions or maps;
* :func:`check_files_exist`: missing files (e.g. the images of a data set),
  listing the first few and the count;
* :func:`check_kwargs` / :func:`strict_kwargs`: misspelt constructor
  arguments of registered classes, with the closest accepted names.
"""
import difflib
import functools
import inspect
import json
import os
import pickle
from typing import (Any, Callable, FrozenSet, Iterable, Mapping, Optional,
                    Sequence, TypeVar, Union)

import numpy as np

PathLike = Union[str, os.PathLike]
T = TypeVar('T', bound=type)

#: How many offending items a message lists before "...".
MAX_LISTED = 5


def listed(items: Sequence[Any], limit: int = MAX_LISTED) -> str:
    """Comma-separated ``repr``s of the first ``limit`` items (then "...").

    Args:
        items (Sequence): Values to show.
        limit (int): Number of values shown. Defaults to :data:`MAX_LISTED`.

    Returns:
        str: e.g. ``"'a.jpg', 'b.jpg', ..."``.
    """
    shown = ', '.join(repr(x) for x in list(items)[:limit])
    return shown + (', ...' if len(items) > limit else '')


def load_json(path: PathLike, what: str = 'annotation file') -> Any:
    """Read a JSON file, with errors that name the file.

    Python's ``json`` accepts the non-standard literals ``NaN`` and
    ``Infinity``; callers that need finite numbers check them (see
    :func:`probpose_ext.utils.coco_file.check_coco_keypoints`).

    Args:
        path (str | PathLike): Local file path.
        what (str): What the file is, for the messages. Defaults to
            ``'annotation file'``.

    Returns:
        Any: The parsed content.

    Raises:
        FileNotFoundError: ``"{path}: {what} not found"`` (also for a
            directory).
        ValueError: ``"{path}: invalid JSON at line L, column C (char P):
            {reason}"`` for a truncated or malformed file, or
            ``"{path}: not UTF-8 text ..."``.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{path}: {what} not found')
    try:
        with open(path, 'rb') as f:
            return json.loads(f.read().decode('utf-8'))
    except json.JSONDecodeError as e:
        # the parser ran out of input: at the end, or in a string (which
        # only ends at a quote)
        ends_early = (e.pos >= len(e.doc.rstrip())
                      or e.msg.startswith('Unterminated string'))
        hint = ' (the file ends early: truncated?)' if ends_early else ''
        raise ValueError(
            f'{path}: invalid JSON at line {e.lineno}, column {e.colno} '
            f'(char {e.pos}): {e.msg}{hint}') from None
    except UnicodeDecodeError as e:
        raise ValueError(f'{path}: not UTF-8 text (byte {e.start}: '
                         f'{e.reason}), so not a JSON {what}') from None


def load_pickle(path: PathLike, what: str = 'prediction dump') -> Any:
    """Read a pickle file (e.g. a ``tools/test.py --dump``), with errors
    that name the file.

    Unpickling runs code named in the file: load only files you made.

    Args:
        path (str | PathLike): Local file path.
        what (str): What the file is, for the messages. Defaults to
            ``'prediction dump'``.

    Returns:
        Any: The unpickled object.

    Raises:
        FileNotFoundError: ``"{path}: {what} not found"``.
        ValueError: ``"{path}: not a readable {what} (truncated or not a
            pickle?): {error}"``.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{path}: {what} not found')
    try:
        with open(path, 'rb') as f:
            return pickle.load(f)
    except (pickle.UnpicklingError, EOFError, ValueError, ImportError,
            AttributeError, IndexError, TypeError) as e:
        raise ValueError(f'{path}: not a readable {what} (truncated or not '
                         f'a pickle?): {type(e).__name__}: {e}') from None


def check_finite(values: Any, field: str, where: str) -> np.ndarray:
    """Raise if ``values`` holds NaN or Inf.

    Args:
        values (array-like | Tensor): Numbers of any shape.
        field (str): Name of the field, e.g. ``'pred_instances.keypoints'``.
        where (str): The record it belongs to, e.g. ``'ExCocoMetric: image
            id 785'``.

    Returns:
        np.ndarray: ``values`` as a float64 array (same shape).

    Raises:
        ValueError: ``"{where}: {field} has N NaN/Inf value(s) of M (first
            at index (i, j, ...))"``.
    """
    if hasattr(values, 'detach'):  # a torch tensor
        values = values.detach().cpu().numpy()
    array = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(array)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f'{where}: {field} has {int(bad.sum())} NaN/Inf value(s) of '
            f'{array.size} (first at index {first})')
    return array


def is_local_path(path: str) -> bool:
    """Whether ``path`` is a local file path (not ``s3://``, ``http://``
    or another MMEngine file-backend URI)."""
    return '://' not in str(path)


def check_files_exist(paths: Iterable[str], what: str, source: str,
                      hint: str = '') -> int:
    """Raise if some local files do not exist (remote URIs are skipped).

    Args:
        paths (Iterable[str]): File paths (duplicates are checked once).
        what (str): Plural noun for the files, e.g. ``'image files'``.
        source (str): Where the paths come from, e.g. the annotation file.
        hint (str): Appended to the message (what to check, how to skip).

    Returns:
        int: Number of distinct local paths checked.

    Raises:
        FileNotFoundError: ``"{source}: N of M {what} are missing, e.g.
            'a.jpg', 'b.jpg'{hint}"``.
    """
    local = [p for p in dict.fromkeys(map(str, paths)) if is_local_path(p)]
    missing = [p for p in local if not os.path.isfile(p)]
    if missing:
        raise FileNotFoundError(
            f'{source}: {len(missing)} of {len(local)} {what} are missing, '
            f'e.g. {listed(missing, 3)}{hint}')
    return len(local)


# ---------------------------------------------------------------------------
# Constructor arguments
# ---------------------------------------------------------------------------
_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD,
          inspect.Parameter.KEYWORD_ONLY)


@functools.lru_cache(maxsize=None)
def accepted_kwargs(cls: type) -> Optional[FrozenSet[str]]:
    """Keyword arguments that ``cls(...)`` accepts, following ``**kwargs``
    forwarded to the base classes' ``__init__`` along the MRO.

    Args:
        cls (type): A class.

    Returns:
        frozenset[str] | None: The names, or None when they cannot be known
        (an ``__init__`` in the chain takes ``**kwargs`` and the chain ends
        in ``object``, e.g. a mixin forwarding anything).
    """
    names, forwarded = set(), False
    for klass in cls.__mro__:
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        if inspect.unwrap(init) is object.__init__:  # takes no arguments
            return None if forwarded else frozenset(names - {'self'})
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):  # C-implemented, no signature
            return None
        names.update(p.name for p in params if p.kind in _NAMED)
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            names.discard('self')
            return frozenset(names)
        forwarded = True
    return None


def check_kwargs(cls: type,
                 kwargs: Mapping[str, Any],
                 accepted: Optional[Iterable[str]] = None) -> None:
    """Raise a clear ``TypeError`` for keyword arguments ``cls`` does not
    take (before Python's own error, which may name a base class).

    Args:
        cls (type): The class being constructed.
        kwargs (Mapping): The keyword arguments given.
        accepted (Iterable[str], optional): The accepted names. Defaults to
            :func:`accepted_kwargs` of ``cls`` (no check when unknown).

    Raises:
        TypeError: ``"{cls}: unexpected argument 'tempreature' (did you mean
            'temperature'?); accepted arguments: a, b, ..."``.
    """
    accepted = (accepted_kwargs(cls) if accepted is None else
                frozenset(accepted))
    if accepted is None:
        return
    unknown = [k for k in kwargs if k not in accepted]
    if not unknown:
        return
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, sorted(accepted), n=1)
        parts.append(f'{name!r}' +
                     (f' (did you mean {close[0]!r}?)' if close else ''))
    noun = 'argument' if len(unknown) == 1 else 'arguments'
    takes = (f'accepted arguments: {", ".join(sorted(accepted))}'
             if accepted else 'it takes no arguments')
    raise TypeError(
        f'{cls.__name__}: unexpected {noun} {", ".join(parts)}; {takes}')


def strict_kwargs(cls: T) -> T:
    """Class decorator: check keyword arguments with :func:`check_kwargs`
    before ``cls.__init__`` runs.

    Use it on registered classes whose ``__init__`` forwards ``**kwargs``
    to a base class or is inherited, where Python's message would name the
    base class (``CocoMetric.__init__() got an unexpected keyword argument
    ...``) or no argument at all (``Hook() takes no arguments``).

    Args:
        cls (type): The class to decorate.

    Returns:
        type: ``cls``, with a checking ``__init__``.
    """
    init: Callable = cls.__init__

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        check_kwargs(cls, kwargs)
        init(self, *args, **kwargs)

    cls.__init__ = __init__
    return cls

