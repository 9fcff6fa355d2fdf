import copy
from collections import OrderedDict
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import HistoryBuffer
from mmpose.registry import HOOKS

from probpose_ext.engine import PlainCheckpointHook
from probpose_ext.engine.hooks import from_plain, to_plain


def _runner_checkpoint():
    buf = HistoryBuffer([1.5, 2.5, 4.0], [1, 2, 1], max_length=7)
    return {
        'meta': {
            'epoch': 3,
            'seed': np.int64(7),
            'dataset_meta': {
                'sigmas': np.array([.026, .025], np.float32),
                'flip_indices': [1, 0],
                'keypoint_colors': np.array([[255, 0, 0], [0, 255, 0]]),
            },
        },
        'state_dict': OrderedDict(w=torch.arange(4.)),
        'message_hub': {
            'log_scalars': OrderedDict({'train/loss': buf}),
            'runtime_info': OrderedDict(epoch=3, best_score=np.float64(.5)),
            'resumed_keys': OrderedDict({'train/loss': True}),
        },
    }


def test_built_from_config_through_mmpose_registry():
    hook = HOOKS.build(dict(type='PlainCheckpointHook'))
    assert isinstance(hook, PlainCheckpointHook)
    assert hook.priority == 'LOWEST'


@pytest.mark.slow
def test_saved_checkpoint_loads_weights_only_and_restores(tmp_path):
    ckpt = _runner_checkpoint()
    hook = PlainCheckpointHook()
    hook.before_save_checkpoint(None, ckpt)
    meta = ckpt['meta']['dataset_meta']
    assert meta['sigmas'] == [np.float32(.026).item(), np.float32(.025).item()]
    assert meta['keypoint_colors'] == [[255, 0, 0], [0, 255, 0]]
    assert type(ckpt['meta']['seed']) is int and ckpt['meta']['seed'] == 7
    path = tmp_path / 'c.pth'
    torch.save(ckpt, path)
    loaded = torch.load(path, weights_only=True)  # raises if not plain
    hook.after_load_checkpoint(None, loaded)
    buf = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer)
    logs, counts = buf.data
    np.testing.assert_array_equal(logs, [1.5, 2.5, 4.0])
    np.testing.assert_array_equal(counts, [1, 2, 1])
    assert buf.max_length == 7
    assert buf.mean() == (1.5 + 2.5 + 4.0) / (1 + 2 + 1)  # count-weighted
    assert loaded['message_hub']['runtime_info']['best_score'] == .5
    assert torch.equal(loaded['state_dict']['w'], torch.arange(4.))


def test_to_plain_keeps_plain_values_and_tensors():
    value = {'a': (1, 'x', None), 'b': [torch.ones(2)], 'c': 2.5}
    out = to_plain(value)
    assert out['a'] == (1, 'x', None) and out['c'] == 2.5
    assert out['b'][0] is value['b'][0]
    assert from_plain(to_plain([np.arange(3)])) == [[0, 1, 2]]


def _runner(resume, metainfo):
    """A runner as the hook sees it: the public ``cfg`` and ``train_loop``
    (a loop that must not be touched unless the run resumes)."""

    class Loop:
        @property
        def dataloader(self):
            if not resume:
                raise AssertionError('train loop read without a resume')
            return SimpleNamespace(dataset=SimpleNamespace(metainfo=metainfo))

    return SimpleNamespace(cfg=Config(dict(resume=resume)), train_loop=Loop())


@pytest.mark.parametrize('resume', [True, False])
def test_dataset_meta_gets_its_types_back_only_when_resuming(resume):
    ckpt = _runner_checkpoint()
    current = copy.deepcopy(ckpt['meta']['dataset_meta'])
    hook = PlainCheckpointHook()
    hook.before_save_checkpoint(None, ckpt)
    hook.after_load_checkpoint(_runner(resume, current), ckpt)
    meta = ckpt['meta']['dataset_meta']
    if resume:  # the training set's own meta, numpy arrays included
        assert meta is not current and isinstance(meta['sigmas'], np.ndarray)
        np.testing.assert_array_equal(meta['sigmas'], current['sigmas'])
        assert meta['sigmas'].dtype == np.float32
        np.testing.assert_array_equal(meta['keypoint_colors'],
                                      current['keypoint_colors'])
    else:  # load_from only: left plain, the train loop not read
        assert meta['sigmas'] == [np.float32(.026).item(),
                                  np.float32(.025).item()]


def test_dataset_meta_of_another_dataset_stays_plain():
    ckpt = _runner_checkpoint()
    other = copy.deepcopy(ckpt['meta']['dataset_meta'])
    other['flip_indices'] = [0, 1]
    hook = PlainCheckpointHook()
    hook.before_save_checkpoint(None, ckpt)
    hook.after_load_checkpoint(_runner(True, other), ckpt)
    assert ckpt['meta']['dataset_meta']['keypoint_colors'] == [[255, 0, 0],
                                                               [0, 255, 0]]
