"""Every 2D config of the project builds through MMPose's registries and
runs its test pipeline + model on the real COCO sample (the lifter configs,
configs/synthmotion and configs/h36m, run on the real Human3.6M sample in
test_lifter_configs.py; the action recognisers, configs/synthactions, in
test_action_configs.py)."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmpose.registry import DATASETS, MODELS
from mmpose.utils import register_all_modules

from tests.conftest import DATA, REPO

# every 2D config a user runs; configs/_base_ holds blocks other configs
# build on (MMPose's layout), not runnable configs; configs/deploy holds
# MMDeploy deploy configs (tests/compat/test_mmdeploy.py)
LIFTING = {'synthmotion', 'h36m', 'synthmotion_video', 'synthactions',
           'deploy'}
CONFIGS = sorted(p for p in (REPO / 'configs').rglob('*.py')
                 if '_base_' not in p.parts and not LIFTING & set(p.parts))
COCO = DATA / 'coco'


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.name)
def test_config_runs_on_real_coco_sample(path: Path):
    register_all_modules()
    cfg = Config.fromfile(str(path))
    assert 'probpose_ext' in cfg.custom_imports['imports']
    # the same runner under MMPose's tools and ours (ours only warn when a
    # config lacks these)
    hooks = {h['type'] for h in cfg.custom_hooks}
    assert {'PlainCheckpointHook', 'RngStateHook'} <= hooks
    assert cfg.default_hooks.checkpoint.type == 'SafeCheckpointHook'
    dataset_cfg = cfg.test_dataloader.dataset.copy()
    dataset_cfg.update(
        data_root=str(COCO), ann_file='test_coco.json',
        data_prefix=dict(img=''), bbox_file=None)
    dataset = DATASETS.build(dataset_cfg)
    anns = json.loads((COCO / 'test_coco.json').read_text())['annotations']
    # MMPose keeps the annotated people (num_keypoints > 0)
    assert len(dataset) == sum(a['num_keypoints'] > 0 for a in anns) == 12
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    batch = pseudo_collate([dataset[i] for i in range(3)])
    w, h = cfg.codec['input_size']
    assert batch['inputs'][0].shape == (3, h, w)
    with torch.no_grad():
        samples = model.test_step(batch)
    for sample in samples:
        kpts = sample.pred_instances.keypoints
        assert kpts.shape == (1, 17, 2) and np.isfinite(kpts).all()
        # predictions are mapped back into the image frame, near the input
        # window around the GT bbox (an untrained model's sub-pixel
        # refinement may step somewhat outside it; crop-frame coordinates,
        # within [0, 96) x [0, 128), would fail this)
        cx, cy = sample.metainfo['input_center']
        sw, sh = sample.metainfo['input_scale']
        assert sh / sw == pytest.approx(h / w)
        assert (np.abs(kpts[0, :, 0] - cx) <= sw).all()
        assert (np.abs(kpts[0, :, 1] - cy) <= sh).all()
