"""The ProbPose heads are shaped like MMPose's: forward returns a tuple of
tensors (mode='tensor', FLOP counting), and the presence and visibility
losses come from config."""
import numpy as np
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


@pytest.mark.parametrize('head_type', list(CODECS))
def test_covariance_output_is_the_maps_moments_in_input_pixels(head_type):
    from probpose_ext.ops.map_moments import map_moments
    cfg, codec, groups = CODECS[head_type]
    head = build_head(head_type, decoder=cfg).eval()
    samples = encoded_samples(codec(), [-10, -10], [58, 74])
    preds, maps = head.predict(
        head_feats(), samples,
        test_cfg=dict(flip_test=False, output_covariance=True,
                      output_heatmaps=True))
    # input 48x64 over 12x16 heatmap pixels (UDP): (47 / 11, 63 / 15) per
    # heatmap pixel along x and y
    sx, sy = (INPUT[0] - 1) / (HEATMAP[0] - 1), (INPUT[1] - 1) / (
        HEATMAP[1] - 1)
    scale = torch.tensor([[sx * sx, sx * sy], [sx * sy, sy * sy]],
                         dtype=torch.float64)
    for pred, hm in zip(preds, maps):
        cov = torch.from_numpy(pred.keypoints_cov[0]).double()
        assert cov.shape == (K, 2, 2)
        _, expected = map_moments(hm.heatmaps.double())
        if groups == 2:
            # the DH head returns the expert maps; compare where it used them
            used = torch.from_numpy(pred.keypoint_from_expert[0])
            cov, expected = cov[used], expected[used]
        torch.testing.assert_close(cov, expected * scale, rtol=1e-4,
                                   atol=1e-6)


def test_covariance_with_flip_test_follows_the_mirror_image():
    # with flip test the prediction for the mirrored input is the mirror of
    # the prediction: swapping the (original, flipped) features must flip
    # the covariances (left/right swap, sign of the xy term)
    from probpose_ext.ops.covariance import flip_covariances
    from tests.models._heads import FLIP
    cfg, codec, _ = CODECS['ProbMapHead']
    head = build_head('ProbMapHead', decoder=cfg).eval()
    samples = encoded_samples(codec(), [-10, -10], [58, 74])
    (f,) = head_feats()
    g = torch.randn_like(f)
    test_cfg = dict(flip_test=True, output_covariance=True)
    a = head.predict(((f, ), (g, )), samples, test_cfg=test_cfg)
    b = head.predict(((g, ), (f, )), samples, test_cfg=test_cfg)
    for pa, pb in zip(a, b):
        np.testing.assert_allclose(
            pb.keypoints_cov, flip_covariances(pa.keypoints_cov, FLIP),
            rtol=1e-4, atol=1e-6)
