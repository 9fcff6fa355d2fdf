"""mmpretrain's VisionTransformer next to a transformers that cannot serve
mmpretrain's multimodal models (transformers 5.x moved the names they
import).

The tests put a stand-in ``transformers`` 5.0.0 on the path: the real
package's layout (modules and dist-info, found by mmpretrain's version
check) without the names 5.x removed from ``transformers.modeling_utils``.
"""
import importlib.util
import sys
import textwrap

import pytest

from probpose_ext.compat import mmpretrain_multimodal
from tests.conftest import run_python

BUILD_VIT = textwrap.dedent('''
    import warnings
    warnings.simplefilter('always')
    {prelude}
    import mmpretrain.models
    from mmpose.registry import MODELS
    vit = MODELS.build(dict(type='mmpretrain.VisionTransformer',
                            arch='small', img_size=(32, 32), patch_size=16))
    print('built', type(vit).__name__)
''')


#: A module of the stand-in: like transformers' lazy modules, any public
#: name resolves, except those in ``_REMOVED``, to an empty class (one per
#: name, all subclasses of the module's ``PreTrainedModel``, which
#: mmpretrain's Hugging Face registration checks).
_LAZY_MODULE = """
_REMOVED = {removed!r}
_CLASSES = {{}}


class _Lazy(type):
    # class attributes (config_class, from_pretrained, ...) resolve too
    def __getattr__(cls, name):
        if name.startswith('__'):
            raise AttributeError(name)
        return cls


def __getattr__(name):
    if name.startswith('__') or name in _REMOVED:
        raise AttributeError(name)
    if name not in _CLASSES:
        base = () if name == 'PreTrainedModel' else (
            __getattr__('PreTrainedModel'), )
        _CLASSES[name] = _Lazy(name, base, {{}})
    return _CLASSES[name]
"""

#: The names transformers 5 no longer has in ``modeling_utils``.
REMOVED = ('apply_chunking_to_forward', 'find_pruneable_heads_and_indices',
           'prune_linear_layer')


def _fake_transformers(root, complete):
    """A ``transformers`` 5.0.0 package with the modules mmpretrain imports
    from; ``complete`` keeps the names that 5.x removed."""
    pkg = root / 'transformers'
    modules = ('__init__', 'activations', 'modeling_outputs',
               'modeling_utils', 'utils/__init__', 'models/__init__',
               'models/auto/__init__', 'models/auto/auto_factory',
               'models/bert/__init__', 'models/bert/configuration_bert',
               'models/opt/__init__', 'models/opt/configuration_opt')
    for name in modules:
        path = pkg / f'{name}.py'
        path.parent.mkdir(parents=True, exist_ok=True)
        removed = () if complete or name != 'modeling_utils' else REMOVED
        text = _LAZY_MODULE.format(removed=removed)
        if name == '__init__':
            text = "__version__ = '5.0.0'\n" + text
        path.write_text(text)
    meta = root / 'transformers-5.0.0.dist-info'
    meta.mkdir()
    (meta / 'METADATA').write_text(
        'Metadata-Version: 2.1\nName: transformers\nVersion: 5.0.0\n')
    # mmpretrain also asks for pycocotools (its distribution only)
    if importlib.util.find_spec('pycocotools') is None:
        coco = root / 'pycocotools-2.0.0.dist-info'
        coco.mkdir()
        (coco / 'METADATA').write_text(
            'Metadata-Version: 2.1\nName: pycocotools\nVersion: 2.0.0\n')
    return root


def _run(tmp_path, prelude, complete=False):
    site = _fake_transformers(tmp_path / 'site', complete)
    return run_python(['-c', BUILD_VIT.format(prelude=prelude)],
                      check=False,
                      PYTHONPATH=site,
                      PYTHONWARNINGS='default')


@pytest.mark.slow
def test_vit_builds_with_one_warning(tmp_path):
    proc = _run(tmp_path, 'import probpose_ext')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == 'built VisionTransformer'
    warned = [line for line in proc.stderr.splitlines()
              if 'multimodal models' in line]
    assert len(warned) == 1
    assert 'transformers 5.0.0' in warned[0]
    assert 'transformers.modeling_utils.apply_chunking_to_forward' in \
        warned[0]


@pytest.mark.slow
def test_without_the_shim_mmpretrain_fails(tmp_path):
    # the problem itself: the same environment, the shim taken away
    proc = _run(tmp_path, 'import probpose_ext\n'
                'from probpose_ext.compat import mmpretrain_multimodal\n'
                'mmpretrain_multimodal.remove()')
    assert proc.returncode != 0
    assert 'NoneType takes no arguments' in proc.stderr


@pytest.mark.slow
def test_a_transformers_that_serves_them_is_left_alone(tmp_path):
    # every name present: mmpretrain imports its multimodal models as
    # usual (they then fail on the stand-in's empty classes, but no
    # warning and no switch-off comes from us)
    proc = _run(tmp_path,
                'import probpose_ext\n'
                'from probpose_ext.compat import mmpretrain_multimodal as m\n'
                'assert m.missing_name() is None, m.missing_name()\n'
                'import mmpretrain.utils.dependency as d\n'
                'assert d.WITH_MULTIMODAL',
                complete=True)
    assert 'multimodal models' not in proc.stderr
    assert 'AssertionError' not in proc.stderr


def test_lazy_and_inactive_here():
    # here transformers is absent: the hook is installed but switched
    # nothing off, and importing probpose_ext imported no transformers
    assert mmpretrain_multimodal.is_applied() or \
        mmpretrain_multimodal.TARGET in sys.modules
    assert mmpretrain_multimodal.skipped() is None
    if importlib.util.find_spec('transformers') is None:
        assert 'transformers' not in sys.modules
