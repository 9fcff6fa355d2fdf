"""Importing the authors' ``exococotools`` 1.0.0 (Ex-OKS reference).

Problem: ``exococotools/mask.py`` of release 1.0.0 (PyPI, July 2025) imports
its compiled extension as ``ExCocotools._mask``, the package's name before
it was renamed, so ``import exococotools.cocoeval`` fails with
``No module named 'ExCocotools'``. No upstream issue or fix exists as of
2026-11.

Workaround: register the installed ``exococotools`` package under the old
name in ``sys.modules`` before importing its submodules. Not applied on
import of ``probpose_ext``: only our parity tests and benchmarks use
``exococotools`` (a test-only dependency), through :func:`load`.
"""
import importlib
import importlib.util
import sys
from types import ModuleType
from typing import Tuple

ALIAS = 'ExCocotools'


def available() -> bool:
    """Whether ``exococotools`` is installed."""
    return importlib.util.find_spec('exococotools') is not None


def needed() -> bool:
    """The alias is needed when the package is installed but its old name
    is not importable."""
    return (available() and ALIAS not in sys.modules
            and importlib.util.find_spec(ALIAS) is None)


def apply() -> bool:
    """Install the alias if needed; return whether it is active."""
    if needed():
        sys.modules[ALIAS] = importlib.import_module('exococotools')
    return is_applied()


def is_applied() -> bool:
    return ALIAS in sys.modules


def load() -> Tuple[ModuleType, ModuleType]:
    """Import ``exococotools``' ``coco`` and ``cocoeval`` modules.

    Returns:
        tuple: ``(exococotools.coco, exococotools.cocoeval)``.

    Raises:
        ImportError: If ``exococotools`` is not installed.
    """
    if not available():
        raise ImportError('exococotools is not installed; '
                          'pip install exococotools==1.0.0')
    apply()
    return (importlib.import_module('exococotools.coco'),
            importlib.import_module('exococotools.cocoeval'))
