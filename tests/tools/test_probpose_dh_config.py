"""Both ProbPose-DH configs build through MMPose's registries, train one
iteration on the real COCO sample (both map groups updated) and predict
with the DH fields."""
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmpose.registry import MODELS
from mmpose.utils import register_all_modules

from probpose_ext.codecs import ProbMapDH
from probpose_ext.models.heads import ProbMapDHHead
from tests.conftest import REPO
from tests.tools._coco_sample import coco_sample_dataset

pytestmark = pytest.mark.slow

CONFIGS = [REPO / 'configs' / 'synthpose' /
           'probpose-dh_vit-tiny_synthpose-128x96.py',
           REPO / 'configs' / 'synthpose' /
           'probpose-dh_effnet-lite0_1xb32-24e_synthpose-128x96.py',
           REPO / 'configs' / 'probpose-dh_vit-s_coco.py']


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.name)
def test_dh_config_trains_one_iteration_and_predicts(path):
    register_all_modules()
    cfg = Config.fromfile(str(path))
    assert cfg.codec['type'] == 'ProbMapDH'
    assert cfg.codec['wide_factor'] == 1.25
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    assert isinstance(model.head, ProbMapDHHead)
    assert isinstance(model.head.decoder, ProbMapDH)

    train = coco_sample_dataset(cfg.train_dataloader.dataset)
    sample = train[0]['data_samples']
    for key in ('keypoint_labels_wide', 'oks_variance_wide',
                'keypoint_weights_wide'):
        assert key in sample.gt_instance_labels, key
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    before = model.head.final_layer.weight.detach().clone()
    log = model.train_step(pseudo_collate([train[i] for i in range(2)]),
                           optim)
    for key in ('loss_kpt', 'loss_kpt_wide', 'loss_presence',
                'loss_quality'):
        assert torch.isfinite(log[key]), key
    # OKS risk of near-uniform maps (initial weights) is close to 1
    assert 0.5 < log['loss_kpt'].item() < 1.05
    # (the wide map's risk enters times wide_loss_weight)
    wide_risk = log['loss_kpt_wide'].item() / model.head.wide_loss_weight
    assert 0.5 < wide_risk < 1.05
    k = cfg.model.head.out_channels
    change = (model.head.final_layer.weight.detach() - before).abs()
    assert change[:k].sum() > 0 and change[k:].sum() > 0

    model.eval()
    val = coco_sample_dataset(cfg.val_dataloader.dataset)
    with torch.no_grad():
        preds = model.test_step(pseudo_collate([val[i] for i in range(2)]))
    for pred in preds:
        inst = pred.pred_instances
        assert inst.keypoints.shape == (1, k, 2)
        assert np.isfinite(inst.keypoints).all()
        assert inst.keypoint_from_expert.shape == (1, k)
        assert inst.keypoint_from_expert.dtype == bool
        for key in ('keypoint_scores', 'keypoint_presence',
                    'keypoint_expected_oks'):
            value = np.asarray(inst[key])
            assert value.shape == (1, k) and (value >= 0).all() and \
                (value <= 1).all(), key
