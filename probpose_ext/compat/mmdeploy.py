"""MMDeploy 1.3.1 on the pinned stack (opt-in: import this module before
``mmdeploy.apis.torch2onnx``; docs/deploy.md#mmdeploy).

Problems:

1. ``import mmdeploy.codebase.mmpose`` imports mmdet, whose layers import
   ``mmcv._ext``, missing from mmcv-lite: ``No module named 'mmcv._ext'``.
   Importing ``probpose_ext`` first installs its stand-in
   (:mod:`.mmcv_ext`); this module does that.
2. With torch >= 2.9 ``torch.onnx.export`` (which MMDeploy calls without
   ``dynamo``) is the dynamo exporter, whose graph passes call MMDeploy's
   ``copy.deepcopy`` rewriter thousands of times; each call looks up its
   caller with ``inspect.stack()``, which reads the source lines of every
   frame of the deep tracing stack (``rewriter_utils.get_frame_func``).
   Seen 2026-12-07: exporting the 4M-parameter SynthPose heatmap model took
   109 s, 97 s of them in ``inspect.stack``. Upstream: MMDeploy's rewriter
   context (open-mmlab/mmdeploy pull request #1483 introduced
   ``get_frame_func``); the same pattern was fixed in PyTorch by walking
   ``sys._getframe`` (pytorch/pytorch pull requests #105940, #114700). No
   MMDeploy release after 1.3.1.

Workaround for 2: replace ``get_frame_func`` (in ``rewriter_utils`` and
where ``function_rewriter`` imported it) by the same lookup on
``sys._getframe``: the caller's function from its frame's globals, without
reading any source. Same result, the export then takes seconds.

Importing this module without MMDeploy installed raises an ImportError
that says what to install.
"""
import importlib
import sys
from typing import Callable

from ._shim import Shim

INSTALL_HINT = ('MMDeploy is not installed; install it without its '
                'dependencies: pip install --no-deps mmdeploy==1.3.1 '
                'aenum')
#: Modules holding a reference to ``get_frame_func``.
_HOLDERS = ('mmdeploy.core.rewriters.rewriter_utils',
            'mmdeploy.core.rewriters.function_rewriter')
_ORIGINAL = {}


def get_frame_func(top: int = 1) -> Callable:
    """The function of the frame ``top`` levels above this call (what
    MMDeploy's ``get_frame_func`` returns, through ``sys._getframe``)."""
    frame = sys._getframe(top)
    name = frame.f_code.co_name
    g_vars = frame.f_globals
    if name not in g_vars:
        raise AssertionError(f'Can not find function: {name} in global.')
    return g_vars[name]


def _modules():
    try:
        return [importlib.import_module(name) for name in _HOLDERS]
    except ImportError as e:
        raise ImportError(f'{INSTALL_HINT} ({e})') from e


def needed() -> bool:
    """Whether MMDeploy's lookup is the slow ``inspect.stack`` one."""
    return 'stack' in _modules()[0].get_frame_func.__code__.co_names


def _install() -> None:
    for module in _modules():
        _ORIGINAL[module.__name__] = module.get_frame_func
        module.get_frame_func = get_frame_func


def _uninstall() -> None:
    for module in _modules():
        module.get_frame_func = _ORIGINAL.pop(module.__name__)


SHIM = Shim(needed, _install, _uninstall)


def apply() -> bool:
    """Install the faster lookup if needed (idempotent); return whether it
    is active."""
    return SHIM.apply()


def is_applied() -> bool:
    return SHIM.is_applied()


import probpose_ext  # noqa: E402,F401  (mmcv._ext stand-in first)

apply()
