"""ProbMapDHHead: built through MODELS; losses equal the OKS-risk losses of
both maps computed directly; predict picks the map the DH rule picks."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from probpose_ext.codecs import ProbMapDH
from probpose_ext.models.heads import ProbMapDHHead, ProbMapHead
from probpose_ext.ops import oks_risk_loss, sparsemax
from probpose_ext.ops.double_map import input_to_heatmap
from tests.models._heads import (FLIP, K, build_head, encoded_samples,
                                 head_feats)

INPUT, HEATMAP = (48, 64), (12, 16)
FACTOR = 1.25
CODEC = dict(type='ProbMapDH', input_size=INPUT, heatmap_size=HEATMAP,
             wide_factor=FACTOR)


def _head(**kwargs):
    return build_head('ProbMapDHHead', **{'decoder': CODEC, **kwargs})


def _feats(batch=2):
    return head_feats(batch)


def _samples(batch=2):
    return encoded_samples(ProbMapDH(INPUT, HEATMAP, wide_factor=FACTOR),
                           [-10, -12], [58, 76], batch)


def test_built_from_registry_with_two_map_groups():
    head = _head()
    assert isinstance(head, ProbMapDHHead) and isinstance(head, ProbMapHead)
    assert head.final_layer.out_channels == 2 * K
    out = head.forward(_feats())
    assert out.prob.shape == out.logits.shape == (2, 2 * K, 16, 12)
    torch.testing.assert_close(out.prob.sum(dim=(2, 3)),
                               torch.ones(2, 2 * K))
    # each map is its own sparsemax at the head's temperature
    expert, wide = head.split_maps(out.prob)
    logits_e, logits_w = head.split_maps(out.logits)
    for prob, logits in ((expert, logits_e), (wide, logits_w)):
        torch.testing.assert_close(
            prob, sparsemax(logits.flatten(2) / 0.5, -1).reshape(prob.shape))
    for key in ('presence_logits', 'visibility_logits', 'quality_logits'):
        assert getattr(out, key).shape == (2, K)


def test_bad_config():
    with pytest.raises(ValueError, match='ProbMapDH'):
        _head(decoder=dict(type='ProbMap', input_size=INPUT,
                           heatmap_size=HEATMAP))
    with pytest.raises(ValueError, match='ProbMapDH'):
        _head(decoder=None)
    with pytest.raises(ValueError, match='final_layer'):
        _head(final_layer=None)
    with pytest.raises(ValueError, match='wide_loss_weight'):
        _head(wide_loss_weight=-1)
    with pytest.raises(ValueError, match='2K'):
        ProbMapDHHead.split_maps(torch.zeros(1, 3, 4, 4))


def _labels(samples):
    return {k: torch.cat([s.gt_instance_labels[k] for s in samples])
            for k in samples[0].gt_instance_labels.keys()}


def test_loss_is_the_sum_of_both_oks_risks_and_the_branch_losses():
    head = _head(wide_loss_weight=0.7)
    feats, samples = _feats(), _samples()
    losses = head.loss(feats, samples)
    assert set(losses) == {
        'loss_kpt', 'loss_kpt_wide', 'loss_presence', 'loss_visibility',
        'loss_quality', 'acc_presence', 'oks_decoded', 'expert_ratio'}
    out = head.forward(feats)
    expert, wide = head.split_maps(out.prob)
    gt = _labels(samples)
    kpt = oks_risk_loss(expert, gt['keypoint_labels'], gt['oks_variance'],
                        gt['keypoint_weights'], 0.05)
    kpt_wide = oks_risk_loss(wide, gt['keypoint_labels_wide'],
                             gt['oks_variance_wide'],
                             gt['keypoint_weights_wide'], 0.05)
    assert losses['loss_kpt'].item() == pytest.approx(kpt.item(), rel=1e-5)
    assert losses['loss_kpt_wide'].item() == pytest.approx(
        0.7 * kpt_wide.item(), rel=1e-5)
    # the wide map trains on keypoints the expert map does not see
    assert (gt['keypoint_weights_wide'] > gt['keypoint_weights']).any()
    # presence: BCE against "inside the input window", annotated keypoints
    w = gt['presence_weights']
    bce = F.binary_cross_entropy_with_logits(
        out.presence_logits, gt['keypoints_in_window'], reduction='none')
    assert losses['loss_presence'].item() == pytest.approx(
        ((bce * w).sum() / w.sum()).item(), rel=1e-5)
    # quality: OKS of the DH decision (the codec's public decoding), in
    # expert heatmap pixels, over keypoints inside the wide window
    kpts, _ = head.decoder.batch_decode(torch.stack([expert, wide], 1))
    pred = input_to_heatmap(np.concatenate(kpts), INPUT, HEATMAP)
    d2 = ((pred - gt['keypoint_labels'].numpy())**2).sum(-1)
    target = np.exp(-d2 / (2 * gt['oks_variance'].numpy()))
    q = torch.sigmoid(out.quality_logits).detach().numpy()
    ww = gt['keypoint_weights_wide'].numpy()
    assert losses['loss_quality'].item() == pytest.approx(
        ((q - target)**2 * ww).sum() / ww.sum(), rel=1e-4)
    assert losses['oks_decoded'].item() == pytest.approx(
        (target * ww).sum() / ww.sum(), rel=1e-4)
    # both map groups get gradients from their own loss
    (losses['loss_kpt'] + losses['loss_kpt_wide']).backward()
    grad = head.final_layer.weight.grad
    assert grad[:K].abs().sum() > 0 and grad[K:].abs().sum() > 0


def test_dense_loss_of_each_map_towards_its_own_labels():
    from probpose_ext.ops import oks_target_map, sparsemax_loss
    head = _head(dense_loss_weight=0.5, wide_loss_weight=0.7)
    feats, samples = _feats(), _samples()
    losses = head.loss(feats, samples)
    logits_e, logits_w = head.split_maps(head.forward(feats).logits)
    gt = _labels(samples)

    def dense(logits, suffix):
        target = oks_target_map(gt['keypoint_labels' + suffix].float(),
                                gt['oks_variance' + suffix].float(),
                                HEATMAP)
        target = target / target.sum(dim=(-2, -1), keepdim=True)
        per_kpt = sparsemax_loss((logits / 0.5).flatten(2),
                                 target.flatten(2))
        w = gt['keypoint_weights' + suffix].float()
        return 0.5 * (per_kpt * w).sum() / w.sum()

    torch.testing.assert_close(losses['loss_dense'], dense(logits_e, ''))
    torch.testing.assert_close(losses['loss_dense_wide'],
                               0.7 * dense(logits_w, '_wide'))
    # each dense loss trains its own map group only
    losses['loss_dense_wide'].backward()
    grad = head.final_layer.weight.grad
    assert grad[:K].abs().sum() == 0 and grad[K:].abs().sum() > 0
    assert 'loss_dense' not in _head().loss(feats, samples)


def test_dense_target_sigma_is_scaled_to_the_wide_maps_pixels():
    from probpose_ext.ops import oks_target_map, sparsemax_loss
    head = _head(dense_loss_weight=1.0, wide_loss_weight=1.0,
                 dense_target_sigma=2.0)
    feats, samples = _feats(), _samples()
    losses = head.loss(feats, samples)
    _, logits_w = head.split_maps(head.forward(feats).logits)
    gt = _labels(samples)
    # the wide map's pixels are wide_factor times coarser
    sigma = 2.0 / head.decoder.wide_factor
    target = oks_target_map(gt['keypoint_labels_wide'].float(),
                            sigma**2, HEATMAP)
    target = target / target.sum(dim=(-2, -1), keepdim=True)
    per_kpt = sparsemax_loss((logits_w / 0.5).flatten(2), target.flatten(2))
    w = gt['keypoint_weights_wide'].float()
    torch.testing.assert_close(losses['loss_dense_wide'],
                               (per_kpt * w).sum() / w.sum())


def test_wide_loss_trains_only_the_wide_channels():
    head = _head()
    head.loss(_feats(), _samples())['loss_kpt_wide'].backward()
    grad = head.final_layer.weight.grad
    assert grad[:K].abs().sum() == 0 and grad[K:].abs().sum() > 0


def test_missing_wide_labels_is_a_clear_error():
    samples = _samples()
    for s in samples:
        del s.gt_instance_labels.keypoint_weights_wide
    with pytest.raises(KeyError, match='keypoint_weights_wide'):
        _head().loss(_feats(), samples)


def _peaked_logits(pixels, h, w):
    """Logits (1, N, H, W) that sparsemax at T=0.5 turns into one-hot maps
    at ``pixels`` [(x, y), ...]."""
    logits = torch.zeros(1, len(pixels), h, w)
    for j, (x, y) in enumerate(pixels):
        logits[0, j, y, x] = 10.0
    return logits


def _patch_forward(head, expert_px, wide_px):
    """Make the head's forward return maps peaked at the given pixels
    (the rest of ProbMapHead's forward is kept)."""
    w_hm, h_hm = HEATMAP
    logits = torch.cat([_peaked_logits(expert_px, h_hm, w_hm),
                        _peaked_logits(wide_px, h_hm, w_hm)], 1)
    real_forward = head.forward

    def forward(feats):
        batch_logits = logits.expand(feats[-1].shape[0], -1, -1, -1)
        return real_forward(feats)._replace(
            logits=batch_logits, prob=head.normalise(batch_logits))

    head.forward = forward


def test_predict_picks_the_map_of_the_rule():
    """Wide maps peaked at their centre (estimate inside the input window:
    the expert map is used) or at their corner (outside: the wide one);
    credible boxes and expected OKS from the chosen map."""
    head = _head()
    w_in, h_in = INPUT
    w_hm, h_hm = HEATMAP
    rng = np.random.default_rng(0)
    expert_px = [tuple(p) for p in rng.integers(0, [w_hm, h_hm], (K, 2))]
    wide_px = [(0, 0) if j % 2 else (6, 7) for j in range(K)]
    _patch_forward(head, expert_px, wide_px)
    preds, fields = head.predict(
        _feats(), _samples(),
        test_cfg=dict(credible_level=0.9, output_heatmaps=True))
    from_expert = np.arange(K) % 2 == 0
    sx, sy = (w_hm - 1) / (w_in - 1), (h_hm - 1) / (h_in - 1)
    # wide pixel (0, 0) is the wide window's corner
    corner = [-(FACTOR - 1) * (w_in - 1) / 2, -(FACTOR - 1) * (h_in - 1) / 2]
    wsx, wsy = sx / FACTOR, sy / FACTOR  # wide heatmap px per input px
    for pred in preds:
        np.testing.assert_array_equal(pred.keypoint_from_expert[0],
                                      from_expert)
        for j in range(K):
            if from_expert[j]:
                x, y = expert_px[j]
                want = [x / sx, y / sy]
                half = [0.5 / sx, 0.5 / sy]
            else:
                want, half = corner, [0.5 / wsx, 0.5 / wsy]
            np.testing.assert_allclose(pred.keypoints[0, j], want,
                                       rtol=1e-5, atol=1e-4)
            np.testing.assert_allclose(
                pred.keypoint_credible_box[0, j],
                [want[0] - half[0], want[1] - half[1], want[0] + half[0],
                 want[1] + half[1]], rtol=1e-5, atol=1e-4)
            assert pred.keypoint_credible_area[0, j] == pytest.approx(
                4 * half[0] * half[1], rel=1e-5)
        np.testing.assert_allclose(pred.keypoint_expected_oks, 1.0)
        assert pred.keypoint_presence.shape == (1, K)
    # output_heatmaps: the expert maps, (K, H, W)
    assert fields[0].heatmaps.shape == (K, h_hm, w_hm)
    assert fields[0].heatmaps[0, expert_px[0][1], expert_px[0][0]] == 1


def test_flip_test_flips_both_map_groups():
    head = _head()
    feats = _feats()
    out = head.forward(feats)
    preds, fields = head.predict(
        [feats, feats], _samples(),
        test_cfg=dict(flip_test=True, output_heatmaps=True))
    expert, wide = head.split_maps(out.prob)
    avg_e = 0.5 * (expert + expert.flip(-1)[:, FLIP])
    avg_w = 0.5 * (wide + wide.flip(-1)[:, FLIP])
    torch.testing.assert_close(fields[1].heatmaps, avg_e[1].detach())
    kpts, scores = head.decoder.batch_decode(
        torch.stack([avg_e, avg_w], 1).detach())
    for i in range(2):
        np.testing.assert_allclose(preds[i].keypoints, kpts[i], rtol=1e-5)
        np.testing.assert_allclose(preds[i].keypoint_expected_oks, scores[i],
                                   rtol=1e-5)
    presence = 0.5 * (torch.sigmoid(out.presence_logits) +
                      torch.sigmoid(out.presence_logits[:, FLIP]))
    np.testing.assert_allclose(preds[0].keypoint_presence[0],
                               presence[0].detach().numpy(), rtol=1e-6)


def test_test_time_temperature_applies_to_both_maps():
    head, feats = _head(temperature=0.5), _feats()
    preds = head.predict(feats, _samples(), test_cfg=dict(temperature=2.0))
    ref = _head(temperature=2.0)
    expert, wide = ref.split_maps(ref.forward(feats).prob)
    kpts, _ = ref.decoder.batch_decode(torch.stack([expert, wide], 1))
    for pred, k in zip(preds, kpts):
        np.testing.assert_allclose(pred.keypoints, k, rtol=1e-5)


def test_keypoint_score_options_use_the_dh_expected_oks():
    head, feats = _head(), _feats()
    preds = {
        score: head.predict(feats, _samples(),
                            test_cfg=dict(keypoint_score=score))
        for score in ('quality', 'expected_oks', 'geometric_mean')
    }
    for q, e, g in zip(*preds.values()):
        np.testing.assert_array_equal(e.keypoints, q.keypoints)
        # the expected OKS of the map the DH rule picked for each keypoint
        np.testing.assert_array_equal(e.keypoint_scores,
                                      q.keypoint_expected_oks)
        np.testing.assert_allclose(
            g.keypoint_scores,
            np.sqrt(q.keypoint_scores * q.keypoint_expected_oks), rtol=1e-6)
