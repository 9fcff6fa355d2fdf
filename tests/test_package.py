"""Packaging: installing into an existing MMPose environment must not pull
the OpenMMLab stack; importing registers our components."""
import re
from importlib import metadata

import pytest
import torch

import probpose_ext
from probpose_ext.utils.env import _version_tuple, check_stack_versions

FORBIDDEN = {'torch', 'torchvision', 'mmcv', 'mmcv-lite', 'mmcv-full',
             'mmengine', 'mmpose', 'mmdet', 'mmpretrain', 'chumpy'}


def test_install_requires_never_pulls_the_stack():
    requires = metadata.requires('probpose_ext') or []
    names = {re.split(r'[ ;<>=!\[]', r, 1)[0].lower() for r in requires
             if 'extra ==' not in r}
    assert names == {'numpy', 'tqdm'}
    assert not names & FORBIDDEN
    assert metadata.version('probpose_ext') == probpose_ext.__version__


def test_stack_version_check():
    check_stack_versions()  # the installed stack is supported
    assert _version_tuple('1.3.2rc1') == (1, 3, 2)
    with pytest.raises(ImportError, match=r'mmpose>=9.0,<10.0.*found'):
        check_stack_versions({'mmpose': ('9.0', '10.0')})
    with pytest.raises(ImportError, match='not installed'):
        check_stack_versions({'no-such-package-xyz': ('0', '1')})


def test_all_shims_active_in_this_environment():
    from probpose_ext import compat
    status = compat.status()
    assert set(status) == {'mmcv_ext', 'checkpoint', 'dist', 'visualizer',
                           'mmpretrain_multimodal', 'inferencer_zoo'}
    # the pinned stack (mmcv-lite, torch 2.14, numpy 2.3) needs these; the
    # CPU-DDP shim only where CUDA is missing
    assert status['mmcv_ext'] and status['checkpoint'] and status['visualizer']
    assert status['dist'] == (not torch.cuda.is_available())
