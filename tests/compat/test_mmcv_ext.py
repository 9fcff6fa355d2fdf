import importlib
import sys
import types

import pytest

from probpose_ext.compat import mmcv_ext
from tests.conftest import run_python


@pytest.mark.slow
def test_mmpose_models_import_needs_the_shim():
    """Without the stand-in, mmpose.models cannot be imported with mmcv-lite;
    importing probpose_ext first makes it work."""
    bare = run_python(['-c', 'import mmpose.models'], check=False)
    assert bare.returncode != 0
    assert "No module named 'mmcv._ext'" in bare.stderr
    shimmed = run_python(
        ['-c', 'import probpose_ext, mmpose.models; '
         'from mmpose.registry import MODELS; '
         "print(MODELS.get('HeatmapHead').__name__)"])
    assert shimmed.stdout.strip().splitlines()[-1] == 'HeatmapHead'


def test_mmcv_still_reported_as_lite_and_ops_fail_clearly():
    from mmengine.utils.dl_utils import mmcv_full_available
    assert mmcv_ext.is_applied()
    assert mmcv_full_available() is False
    ext = importlib.import_module('mmcv._ext')
    with pytest.raises(NotImplementedError, match='nms.*mmcv-lite'):
        ext.nms(None, None)
    with pytest.raises(AttributeError):
        ext.__wrapped__  # dunder lookups are not faked


def test_noop_when_real_extension_exists(monkeypatch):
    real = types.ModuleType('mmcv._ext')
    monkeypatch.setitem(sys.modules, 'mmcv._ext', real)
    assert mmcv_ext.needed() is False
    assert mmcv_ext.is_applied() is False
    assert mmcv_ext.apply() is False
    assert sys.modules['mmcv._ext'] is real
