"""MMAction2 1.2.0 on the pinned stack (opt-in: import this module).

Problem: the ``mmaction2==1.2.0`` wheel on PyPI lacks the package
``mmaction/models/localizers/drn`` that ``mmaction/models/localizers/
__init__.py`` imports (``from .drn.drn import DRN``), so ``import
mmaction.models`` fails with ``ModuleNotFoundError: No module named
'mmaction.models.localizers.drn'`` (upstream: open-mmlab/mmaction2 issue
#2714, open; no later release). MMAction2 also asks for the full mmcv; it
installs with ``pip install --no-deps mmaction2==1.2.0`` and its skeleton
models need only what the pinned stack has, plus :mod:`.mmcv_ext`'s
stand-in for ``mmcv._ext`` (so ``probpose_ext`` is imported first).

Workaround: where the installed mmaction lacks the folder, register two
placeholder modules ``mmaction.models.localizers.drn`` and ``...drn.drn``
whose ``DRN`` raises an ImportError naming the issue when built (DRN is a
temporal-grounding localiser, unrelated to skeletons), then import
``mmaction.models`` so that its registry (``mmaction.STGCN``,
``mmaction.GCNHead``, ...) is filled. Nothing happens where MMAction2 is
complete (a source install).

Use from a config::

    custom_imports = dict(
        imports=['probpose_ext', 'probpose_ext.compat.mmaction'],
        allow_failed_imports=False)
    model = dict(
        type='SkeletonRecognizer',
        backbone=dict(type='mmaction.STGCN',
                      graph_cfg=dict(layout='coco', mode='stgcn_spatial')),
        cls_head=dict(type='mmaction.GCNHead', num_classes=12,
                      in_channels=256,
                      loss_cls=dict(type='mmaction.CrossEntropyLoss')))

Importing this module without MMAction2 installed raises an ImportError
that says what to install.
"""
import importlib
import importlib.util
import os.path as osp
import sys
import types

from ._shim import Shim

#: The modules the 1.2.0 wheel lacks.
MISSING = ('mmaction.models.localizers.drn',
           'mmaction.models.localizers.drn.drn')
INSTALL_HINT = ('MMAction2 is not installed; install it without its '
                'dependencies (it asks for the full mmcv): pip install '
                '--no-deps mmaction2==1.2.0')


class DRN:
    """Placeholder for MMAction2's DRN localiser (missing from the 1.2.0
    wheel, open-mmlab/mmaction2#2714)."""

    def __init__(self, *args, **kwargs) -> None:
        raise ImportError('mmaction2 1.2.0 from PyPI lacks DRN '
                          '(open-mmlab/mmaction2#2714); install MMAction2 '
                          'from source to use it')


def _package_dir() -> str:
    spec = importlib.util.find_spec('mmaction')
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(INSTALL_HINT)
    return list(spec.submodule_search_locations)[0]


def needed() -> bool:
    """Whether the installed mmaction lacks the DRN package."""
    return not osp.isfile(
        osp.join(_package_dir(), 'models', 'localizers', 'drn', 'drn.py'))


def _install() -> None:
    package = types.ModuleType(MISSING[0])
    package.__path__ = []  # a package with nothing else in it
    module = types.ModuleType(MISSING[1])
    module.DRN = DRN
    package.drn = module
    sys.modules[MISSING[0]] = package
    sys.modules[MISSING[1]] = module


def _uninstall() -> None:
    for name in MISSING:
        sys.modules.pop(name, None)


SHIM = Shim(needed, _install, _uninstall)


def apply() -> bool:
    """Install the placeholders if needed (idempotent); return whether
    they are active."""
    return SHIM.apply()


def is_applied() -> bool:
    return SHIM.is_applied()


def import_mmaction() -> types.ModuleType:
    """Apply the workaround and import ``mmaction.models`` (filling the
    ``mmaction`` registries).

    Returns:
        module: ``mmaction.models``.

    Raises:
        ImportError: MMAction2 is not installed (with the install command).
    """
    import probpose_ext  # noqa: F401  (mmcv._ext stand-in first)
    apply()
    return importlib.import_module('mmaction.models')


import_mmaction()
