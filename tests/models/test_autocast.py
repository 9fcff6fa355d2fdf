"""Mixed precision: the heads train and predict under ``torch.autocast``
(bfloat16 on CPU here; the same code path serves float16 on CUDA) with
finite losses and gradients; sparsemax, the OKS-risk loss and the decoder
run in float32 inside."""
import numpy as np
import pytest
import torch

from probpose_ext.codecs import ProbMap, ProbMapDH
from probpose_ext.ops import (decode_expected_oks, expected_oks_map,
                              oks_risk_loss, sparsemax, sparsemax_maps)
from tests.models._heads import build_head, encoded_samples, head_feats
from tests.ops._maps import random_prob

INPUT, HEATMAP = (48, 64), (12, 16)
HEADS = {
    'ProbMapHead': (dict(type='ProbMap', input_size=INPUT,
                         heatmap_size=HEATMAP), ProbMap(INPUT, HEATMAP)),
    'ProbMapDHHead': (dict(type='ProbMapDH', input_size=INPUT,
                           heatmap_size=HEATMAP, wide_factor=1.25),
                      ProbMapDH(INPUT, HEATMAP, wide_factor=1.25)),
}
BF16 = dict(device_type='cpu', dtype=torch.bfloat16)


def _losses_and_grads(head, samples, autocast):
    head.zero_grad()
    with torch.autocast(**BF16, enabled=autocast):
        losses = head.loss(head_feats(), samples)
        total = sum(v for k, v in losses.items() if k.startswith('loss'))
    total.backward()
    grads = [p.grad.clone() for p in head.parameters() if p.grad is not None]
    return losses, grads


@pytest.mark.parametrize('head_type', sorted(HEADS))
def test_head_trains_under_bf16_autocast(head_type):
    cfg, codec = HEADS[head_type]
    head = build_head(head_type, decoder=cfg)
    samples = encoded_samples(codec, [-10, -10], [58, 74])
    with torch.autocast(**BF16):
        out = head.forward(head_feats())
    # the convolutions ran in bfloat16, the maps are float32 and normalised
    assert out.logits.dtype == torch.bfloat16
    assert out.prob.dtype == torch.float32
    torch.testing.assert_close(out.prob.sum(dim=(2, 3)),
                               torch.ones(out.prob.shape[:2]))
    ref, ref_grads = _losses_and_grads(head, samples, autocast=False)
    mixed, grads = _losses_and_grads(head, samples, autocast=True)
    assert set(mixed) == set(ref)
    for key, value in mixed.items():
        assert value.dtype == torch.float32, key
        assert torch.isfinite(value), key
        # bfloat16 features move the values a little, not more
        assert value.item() == pytest.approx(ref[key].item(), abs=0.03), key
    assert all(torch.isfinite(g).all() for g in grads)
    assert len(grads) == len(ref_grads)


@pytest.mark.parametrize('head_type', sorted(HEADS))
def test_head_predicts_under_bf16_autocast(head_type):
    cfg, codec = HEADS[head_type]
    head = build_head(head_type, decoder=cfg).eval()
    samples = encoded_samples(codec, [-10, -10], [58, 74])
    test_cfg = dict(credible_level=0.9)
    ref = head.predict(head_feats(), samples, test_cfg)
    with torch.autocast(**BF16):
        mixed = head.predict(head_feats(), samples, test_cfg)
    for a, b in zip(mixed, ref):
        assert set(a.keys()) == set(b.keys())
        for key in b.keys():
            value = np.asarray(a.get(key))
            assert value.dtype in (np.float32, np.bool_), key
            assert np.isfinite(value[~np.isnan(value)]).all(), key
        np.testing.assert_allclose(a.keypoint_presence, b.keypoint_presence,
                                   atol=0.02)


def test_ops_compute_in_float32_under_autocast():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 3, 16, 12, generator=gen)
    with torch.autocast(**BF16):
        # like softmax: reduced-precision inputs give float32 results
        prob = sparsemax_maps(logits.bfloat16(), 0.5)
        assert prob.dtype == torch.float32
        assert sparsemax(logits.bfloat16()).dtype == torch.float32
    torch.testing.assert_close(
        prob, sparsemax_maps(logits.bfloat16().float(), 0.5))
    # outside autocast the input's dtype is kept
    assert sparsemax(logits.bfloat16()).dtype == torch.bfloat16

    prob = random_prob(2, 3, 16, 12, seed=1, dtype=torch.float32)
    var = torch.tensor([1.5, 4., 9.])
    kpts = torch.rand(2, 3, 2, generator=gen) * 10
    ref_loss = oks_risk_loss(prob, kpts, var)
    ref_map = expected_oks_map(prob, var)
    ref_kps, ref_scores = decode_expected_oks(prob, var)
    with torch.autocast(**BF16):
        # matrix products inside would run in bfloat16 without the guard
        loss = oks_risk_loss(prob, kpts, var)
        eoks = expected_oks_map(prob, var)
        kps, scores = decode_expected_oks(prob, var)
    assert loss.dtype == eoks.dtype == kps.dtype == torch.float32
    torch.testing.assert_close(loss, ref_loss)
    torch.testing.assert_close(eoks, ref_map)
    torch.testing.assert_close(kps, ref_kps)
    torch.testing.assert_close(scores, ref_scores)
    # bfloat16 maps are decoded in float32, as their float32 copies
    kps16, _ = decode_expected_oks(prob.bfloat16(), var)
    assert kps16.dtype == torch.float32
    torch.testing.assert_close(
        kps16, decode_expected_oks(prob.bfloat16().float(), var)[0])
    loss16 = oks_risk_loss(prob.bfloat16(), kpts, var)
    assert loss16.dtype == torch.float32


@pytest.mark.cuda
@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
@pytest.mark.parametrize('head_type', sorted(HEADS))
def test_head_trains_and_predicts_under_cuda_autocast(head_type, dtype):
    cfg, codec = HEADS[head_type]
    head = build_head(head_type, decoder=cfg).cuda()
    samples = encoded_samples(codec, [-10, -10], [58, 74])
    for sample in samples:
        sample.gt_instance_labels = sample.gt_instance_labels.to('cuda')
    feats = tuple(f.cuda() for f in head_feats())
    with torch.autocast('cuda', dtype=dtype):
        losses = head.loss(feats, samples)
        total = sum(v for k, v in losses.items() if k.startswith('loss'))
    total.backward()
    assert all(torch.isfinite(v) for v in losses.values())
    assert all(torch.isfinite(p.grad).all() for p in head.parameters()
               if p.grad is not None)
    head.eval()
    with torch.autocast('cuda', dtype=dtype):
        preds = head.predict(feats, samples, dict(credible_level=0.9))
    assert np.isfinite(preds[0].keypoints).all()
    assert preds[0].keypoints.dtype == np.float32
