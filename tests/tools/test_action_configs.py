"""Every action-recognition config (configs/synthactions) builds through
MMPose's registries, runs its train and test pipelines and its model on a
small generated SynthActions, and its training step lowers the loss."""
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmpose.registry import DATASETS, MODELS

from probpose_ext.datasets.generators.synthactions import (
    SynthActionsParams, make_synthactions)
from tests.conftest import REPO

CONFIGS = sorted((REPO / 'configs' / 'synthactions').glob('*.py'))


@pytest.fixture(scope='module')
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('synthactions')
    make_synthactions(root, seed=0, params=SynthActionsParams(
        subjects=2, reps=1, xsub_train_subjects=(1, ),
        min_frames=50, max_frames=60), workers=1, force=True,
        progress=False)
    return root


def test_every_config_is_tested():
    assert len(CONFIGS) == 6


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.name)
def test_action_config_runs(path, data):
    init_default_scope('mmpose')
    cfg = Config.fromfile(str(path))
    assert 'probpose_ext' in cfg.custom_imports['imports']
    hooks = {h['type'] for h in cfg.custom_hooks}
    assert {'PlainCheckpointHook', 'RngStateHook'} <= hooks
    assert cfg.default_hooks.checkpoint.save_best == 'acc/top1'
    datasets = {}
    for name in ('train_dataloader', 'test_dataloader'):
        dcfg = cfg[name].dataset.copy()
        dcfg.update(data_root=str(data) + '/')
        datasets[name] = DATASETS.build(dcfg)
    split = cfg.test_dataloader.dataset.split
    # 2 subjects x 12 actions x 3 cameras; X-Sub val: subject 2; X-View
    # val: camera 1
    assert len(datasets['test_dataloader']) == (
        36 if split == 'xsub_val' else 24)
    assert datasets['test_dataloader'].metainfo['num_classes'] == 12
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    train = pseudo_collate([datasets['train_dataloader'][i]
                            for i in range(8)])
    assert train['inputs'][0].shape[2] == 48  # clip_len frames
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    model.train()
    for _ in range(6):
        loss = model(torch.stack(train['inputs']), train['data_samples'],
                     mode='loss')['loss_cls']
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    model.eval()
    test = pseudo_collate([datasets['test_dataloader'][i]
                           for i in range(4)])
    with torch.no_grad():
        samples = model.test_step(test)
    for sample in samples:
        score = sample.pred_score.numpy()
        assert score.shape == (12, ) and np.isclose(score.sum(), 1.0)
