"""The ProbPose heads are shaped like MMPose's: forward returns a tuple of
tensors (mode='tensor', FLOP counting), and the presence and visibility
losses come from config."""
import pytest
import torch
from mmengine.analysis import get_model_complexity_info
from mmengine.config import Config
from mmpose.registry import MODELS
from mmpose.utils import register_all_modules

from probpose_ext.codecs import ProbMap, ProbMapDH
from probpose_ext.models.heads.probmap_head import ProbMapOutputs
from probpose_ext.ops.bce import (balanced_bce_with_logits,
                                  weighted_bce_with_logits)
from tests.conftest import REPO
from tests.models._heads import K, build_head, encoded_samples, head_feats

INPUT, HEATMAP = (48, 64), (12, 16)
CODECS = dict(
    ProbMapHead=(dict(type='ProbMap', input_size=INPUT, heatmap_size=HEATMAP),
                 lambda: ProbMap(INPUT, HEATMAP), 1),
    ProbMapDHHead=(dict(type='ProbMapDH', input_size=INPUT,
                        heatmap_size=HEATMAP, wide_factor=1.25),
                   lambda: ProbMapDH(INPUT, HEATMAP, wide_factor=1.25), 2))


@pytest.mark.parametrize('head_type', list(CODECS))
def test_forward_returns_a_named_tuple_of_tensors(head_type):
    cfg, _, groups = CODECS[head_type]
    out = build_head(head_type, decoder=cfg).forward(head_feats())
    assert isinstance(out, tuple) and isinstance(out, ProbMapOutputs)
    assert all(isinstance(t, torch.Tensor) for t in out)
    prob, logits, presence, visibility, quality = out
    assert prob.shape == logits.shape == (2, groups * K, 16, 12)
    for t in (presence, visibility, quality):
        assert t.shape == (2, K)
    assert out.prob is prob and out.quality_logits is quality


@pytest.mark.parametrize('head_type', list(CODECS))
def test_presence_and_visibility_losses_come_from_config(head_type):
    cfg, codec, _ = CODECS[head_type]
    samples = encoded_samples(codec(), [-10, -10], [58, 74])
    feats = head_feats()
    default = build_head(head_type, decoder=cfg).loss(feats, samples)
    custom = build_head(
        head_type, decoder=cfg,
        loss_presence=dict(type='WeightedBCELoss', loss_weight=2.0),
        loss_visibility=dict(type='WeightedBCELoss', class_balanced=False))
    losses = custom.loss(feats, samples)
    assert losses['loss_presence'].item() == pytest.approx(
        2.0 * default['loss_presence'].item(), rel=1e-6)
    # the visibility loss is now the plain weighted BCE, not the balanced
    out = custom.forward(feats)
    labels = {k: torch.cat([s.gt_instance_labels[k] for s in samples])
              for k in ('visibility_labels', 'visibility_weights')}
    args = (out.visibility_logits, labels['visibility_labels'].float(),
            labels['visibility_weights'].float())
    assert losses['loss_visibility'].item() == pytest.approx(
        weighted_bce_with_logits(*args).item(), rel=1e-5)
    assert default['loss_visibility'].item() == pytest.approx(
        balanced_bce_with_logits(*args).item(), rel=1e-5)


@pytest.fixture(scope='module')
def estimator():
    register_all_modules()
    cfg = Config.fromfile(str(REPO / 'configs' / 'synthpose' /
                              'probpose_vit-tiny_synthpose-128x96.py'))
    torch.manual_seed(0)
    return MODELS.build(cfg.model).eval()


def test_estimator_tensor_mode_returns_the_heads_tuple(estimator):
    inputs = torch.randn(2, 3, 128, 96)
    with torch.no_grad():
        out = estimator(inputs, None, mode='tensor')
        direct = estimator.head.forward(estimator.extract_feat(inputs))
    assert isinstance(out, ProbMapOutputs)
    for a, b in zip(out, direct):
        torch.testing.assert_close(a, b)
    assert out.prob.shape[:2] == (2, 17)


def test_flop_counting_runs_on_the_estimator(estimator):
    # as MMPose's tools/analysis_tools/get_flops.py calls it: mode 'tensor'
    inputs = (torch.randn(1, 3, 128, 96), None)
    info = get_model_complexity_info(estimator, inputs=inputs,
                                     show_table=False, show_arch=False)
    # the backbone alone has convolutions on every pixel: far above 1 MFLOP
    assert info['flops'] > 1e6
    assert info['params'] == sum(p.numel() for p in estimator.parameters())
