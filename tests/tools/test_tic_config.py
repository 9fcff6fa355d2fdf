"""The TIC config builds through MMPose's registries, trains one iteration
on the real COCO sample (the map, refinement, auxiliary and presence layers updated)
and predicts joint covariances in image pixels."""
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmpose.registry import MODELS
from mmpose.utils import register_all_modules

from probpose_ext.models.heads import TICHead
from tests.conftest import REPO
from tests.tools._coco_sample import coco_sample_dataset

pytestmark = pytest.mark.slow

CONFIG = REPO / 'configs' / 'synthpose' / \
    'tic_effnet-lite0_1xb32-6e_synthpose-128x96.py'


def test_tic_config_trains_one_iteration_and_predicts():
    register_all_modules()
    cfg = Config.fromfile(str(CONFIG))
    assert cfg.model.head.covariance == 'tic'
    assert any(m['type'] == 'TACMetric' for m in cfg.val_evaluator)
    assert any(m['type'] == 'TACMetric' for m in cfg.test_evaluator)
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    assert isinstance(model.head, TICHead)

    train = coco_sample_dataset(cfg.train_dataloader.dataset)
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    head = model.head
    # (the bottleneck's own weights get gradient from the second step on:
    # the refinement's last layer starts at zero)
    params = dict(final=head.final_layer.weight, refine=head.refine[-1]
                  .weight, aux=head.aux[-1].weight,
                  presence=head.presence_branch.weight)
    before = {k: v.detach().clone() for k, v in params.items()}
    log = model.train_step(pseudo_collate([train[i] for i in range(2)]),
                           optim)
    for key in ('loss_nll', 'loss_mean', 'loss_map', 'loss_presence'):
        assert torch.isfinite(log[key]), key
    for key, value in params.items():
        assert (value.detach() - before[key]).abs().sum() > 0, key

    model.eval()
    val = coco_sample_dataset(cfg.val_dataloader.dataset)
    with torch.no_grad():
        preds = model.test_step(pseudo_collate([val[i] for i in range(2)]))
    k = cfg.model.head.out_channels
    for pred in preds:
        inst = pred.pred_instances
        assert inst.keypoints.shape == (1, k, 2)
        assert np.isfinite(inst.keypoints).all()
        full = np.asarray(inst.keypoints_cov_full)
        assert full.shape == (1, 2 * k, 2 * k)
        np.testing.assert_allclose(full, full.transpose(0, 2, 1),
                                   rtol=1e-5, atol=1e-4)
        assert (np.linalg.eigvalsh(full.astype(np.float64)) > 0).all()
        blocks = np.asarray(inst.keypoints_cov)
        assert blocks.shape == (1, k, 2, 2)
        np.testing.assert_allclose(blocks[0, 0], full[0, :2, :2],
                                   rtol=1e-6)
        for key in ('keypoint_scores', 'keypoint_presence'):
            value = np.asarray(inst[key])
            assert value.shape == (1, k) and (value >= 0).all() and \
                (value <= 1).all(), key


def test_tic_config_starts_from_the_heatmap_zoo_weights():
    """load_from fills every layer the TIC model shares with the zoo
    heatmap model (backbone, neck, deconvolutions, final layer), in the
    same shapes; only the TIC layers start from their own init."""
    register_all_modules()
    cfg = Config.fromfile(str(CONFIG))
    ckpt = REPO / cfg.load_from
    if not ckpt.is_file():
        pytest.skip(f'{cfg.load_from} not in this checkout')
    state = torch.load(str(ckpt), map_location='cpu')
    state = state.get('state_dict', state)
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    own = model.state_dict()
    shared = [k for k in own if k in state]
    assert all(own[k].shape == state[k].shape for k in shared)
    new = {k.split('.')[1] for k in own if k not in state}
    assert new == {'bottleneck', 'refine', 'aux', 'presence_branch'}
    assert any(k.startswith('head.final_layer') for k in shared)
    assert any(k.startswith('backbone.') for k in shared)
