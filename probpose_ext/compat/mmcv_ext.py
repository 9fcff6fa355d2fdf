"""Stand-in for ``mmcv._ext`` when only mmcv-lite is installed.

Problem: ``mmpose.models`` imports ``mmcv.ops`` at import time (through its
EDPose head), and every ``mmcv.ops`` module calls
``mmcv.utils.ext_loader.load_ext('_ext', [...])``, which imports the compiled
``mmcv._ext`` that mmcv-lite does not ship: ``No module named 'mmcv._ext'``.
mmdet 3.3.0 requires mmcv < 2.2.0, for which no compiled CPU wheel fits
torch 2.14 (see ENVIRONMENT.md, problem 2).

Workaround: register a module ``mmcv._ext`` whose attributes are functions
raising a clear :class:`NotImplementedError`, so importing works and only a
call of a compiled op fails. Its ``__spec__`` has ``loader=None`` so that
``mmengine.utils.dl_utils.mmcv_full_available()`` still reports mmcv-lite.
Nothing is done when a real ``mmcv._ext`` exists or mmcv is absent.
"""
import importlib.machinery
import importlib.util
import sys
import types

MODULE_NAME = 'mmcv._ext'


class _MissingOpsModule(types.ModuleType):
    """Module whose every public attribute is a function that raises."""

    def __getattr__(self, name: str):
        if name.startswith('__'):
            raise AttributeError(name)

        def _unavailable(*args, **kwargs):
            raise NotImplementedError(
                f'mmcv.ops compiled operator `{name}` is not available: only '
                'mmcv-lite is installed (probpose_ext registered a stand-in '
                'for mmcv._ext so that mmpose.models can be imported). '
                'Install full mmcv with compiled ops to use this operator.')

        _unavailable.__name__ = name
        return _unavailable


def _real_ext_exists() -> bool:
    module = sys.modules.get(MODULE_NAME)
    if module is not None:
        return not isinstance(module, _MissingOpsModule)
    try:
        return importlib.util.find_spec(MODULE_NAME) is not None
    except (ImportError, ValueError):
        return False


def needed() -> bool:
    """mmcv is installed but its compiled extension is not."""
    if importlib.util.find_spec('mmcv') is None:
        return False
    return not _real_ext_exists()


def is_applied() -> bool:
    return isinstance(sys.modules.get(MODULE_NAME), _MissingOpsModule)


def apply() -> bool:
    """Register the stand-in module if needed. Returns whether it is active."""
    if is_applied():
        return True
    if not needed():
        return False
    module = _MissingOpsModule(MODULE_NAME)
    module.__spec__ = importlib.machinery.ModuleSpec(MODULE_NAME, None)
    module.__file__ = None
    sys.modules[MODULE_NAME] = module
    return True


def remove() -> None:
    """Undo :func:`apply` (for tests)."""
    if is_applied():
        del sys.modules[MODULE_NAME]
