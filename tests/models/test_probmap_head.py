"""ProbMapHead in MMPose's head-test style, with values."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmpose.structures import PoseDataSample
from mmengine.structures import InstanceData

from probpose_ext.codecs import ProbMap
from probpose_ext.models import ProbMapHead
from probpose_ext.ops import sparsemax
from tests.models._heads import FLIP, build_head, encoded_samples, head_feats

INPUT, HEATMAP = (48, 64), (12, 16)
CODEC = dict(type='ProbMap', input_size=INPUT, heatmap_size=HEATMAP)


def _head(**kwargs):
    return build_head('ProbMapHead', **{'decoder': CODEC, **kwargs})


def _feats(batch=2):
    return head_feats(batch)


def _samples(batch=2):
    return encoded_samples(ProbMap(INPUT, HEATMAP), [-10, -10], [58, 74],
                           batch)


def test_forward_shapes_and_normalised_maps():
    head = _head()
    assert isinstance(head, ProbMapHead)
    out = head.forward(_feats())
    assert out.prob.shape == (2, 17, 16, 12)
    torch.testing.assert_close(out.prob.sum(dim=(2, 3)),
                               torch.ones(2, 17))
    assert (out.prob >= 0).all()
    for key in ('presence_logits', 'visibility_logits', 'quality_logits'):
        assert getattr(out, key).shape == (2, 17)


def test_temperature_sharpens_the_maps():
    sharp = _head(temperature=0.05).forward(_feats()).prob
    soft = _head(temperature=5.0).forward(_feats()).prob
    assert (sharp > 0).sum() < (soft > 0).sum()


def test_predict_fields_and_flip_tta():
    head = _head()
    feats = _feats()
    preds = head.predict(feats, _samples(), test_cfg=dict(flip_test=False))
    assert len(preds) == 2
    out = head.forward(feats)
    for i, pred in enumerate(preds):
        assert pred.keypoints.shape == (1, 17, 2)
        for key in ('keypoint_scores', 'keypoints_visible',
                    'keypoint_presence', 'keypoint_visibility',
                    'keypoint_expected_oks'):
            assert pred[key].shape == (1, 17), key
        np.testing.assert_allclose(
            pred.keypoints_visible[0],
            torch.sigmoid(out.presence_logits[i]).detach().numpy(),
            rtol=1e-6)
        np.testing.assert_allclose(
            pred.keypoint_scores[0],
            torch.sigmoid(out.quality_logits[i]).detach().numpy(),
            rtol=1e-6)
    # flip TTA: the flipped branch outputs are swapped back left/right and
    # the maps mirrored; with identical features for both passes the result
    # is the average of the two
    preds_flip, fields = head.predict(
        [feats, feats], _samples(),
        test_cfg=dict(flip_test=True, output_heatmaps=True))
    mirrored = out.prob.flip(-1)[:, FLIP]
    avg = 0.5 * (out.prob + mirrored)
    torch.testing.assert_close(fields[0].heatmaps, avg[0].detach())
    presence = 0.5 * (torch.sigmoid(out.presence_logits) +
                      torch.sigmoid(out.presence_logits[:, FLIP]))
    np.testing.assert_allclose(preds_flip[1].keypoint_presence[0],
                               presence[1].detach().numpy(), rtol=1e-6)
    codec = ProbMap(INPUT, HEATMAP)
    kpts, _ = codec.decode(avg[0].detach())
    np.testing.assert_allclose(preds_flip[0].keypoints, kpts, rtol=1e-5)


def test_keypoint_score_option():
    head = _head()
    feats = _feats()
    quality = head.predict(feats, _samples(), test_cfg=dict(flip_test=False))
    eoks = head.predict(feats, _samples(),
                        test_cfg=dict(flip_test=False,
                                      keypoint_score='expected_oks'))
    for q, e in zip(quality, eoks):
        # the same keypoints; scores are the expected OKS at them, a copy
        np.testing.assert_array_equal(q.keypoints, e.keypoints)
        np.testing.assert_array_equal(e.keypoint_scores,
                                      e.keypoint_expected_oks)
        assert e.keypoint_scores is not e.keypoint_expected_oks
        assert not np.allclose(q.keypoint_scores, e.keypoint_scores)
    geo = head.predict(feats, _samples(),
                       test_cfg=dict(flip_test=False,
                                     keypoint_score='geometric_mean'))
    for q, e, g in zip(quality, eoks, geo):
        np.testing.assert_array_equal(g.keypoints, q.keypoints)
        # sqrt(quality * expected OKS), recomputed from the other two calls
        np.testing.assert_allclose(
            g.keypoint_scores,
            np.sqrt(q.keypoint_scores * e.keypoint_expected_oks), rtol=1e-6)
        assert g.keypoint_scores.shape == q.keypoint_scores.shape
    with pytest.raises(ValueError, match='keypoint_score'):
        head.predict(feats, _samples(),
                     test_cfg=dict(keypoint_score='presence'))


def test_forward_returns_the_logits_before_the_temperature():
    head = _head(temperature=0.7)
    out = head.forward(_feats())
    b, k, h, w = out.logits.shape
    expected = sparsemax(out.logits.reshape(b, k, h * w) / 0.7,
                         dim=-1).reshape(b, k, h, w)
    torch.testing.assert_close(out.prob, expected)


def test_test_time_temperature_replaces_the_training_one():
    """``test_cfg.temperature`` (what calibration writes) gives the maps of
    a head trained at that temperature from the same logits."""
    head, feats = _head(temperature=0.5), _feats()
    maps = {}
    for cfg in (dict(temperature=2.0), dict()):
        _, fields = head.predict(feats, _samples(),
                                 test_cfg=dict(output_heatmaps=True, **cfg))
        maps[cfg.get('temperature', 0.5)] = torch.stack(
            [f.heatmaps for f in fields])
    for temperature, prob in maps.items():
        torch.testing.assert_close(
            prob, _head(temperature=temperature).forward(feats).prob)
    assert (maps[2.0] > 0).sum() > (maps[0.5] > 0).sum()
    with pytest.raises(ValueError, match='temperature'):
        head.predict(feats, _samples(), test_cfg=dict(temperature=0.0))


def test_credible_fields_in_input_pixels():
    """Credible box/area: brute force on the predicted maps (sort pixels,
    smallest prefix with mass >= p), mapped by UDP to input pixels."""
    head, feats = _head(temperature=2.0), _feats()
    preds, fields = head.predict(
        feats, _samples(),
        test_cfg=dict(credible_level=0.8, output_heatmaps=True))
    assert 'keypoint_credible_box' not in head.predict(feats, _samples())[0]
    w_in, h_in = INPUT
    w_hm, h_hm = HEATMAP
    sx, sy = (w_hm - 1) / (w_in - 1), (h_hm - 1) / (h_in - 1)
    for pred, field in zip(preds, fields):
        assert pred.keypoint_credible_box.shape == (1, 17, 4)
        for k in range(17):
            flat = field.heatmaps[k].double().flatten().numpy()
            order = np.argsort(-flat, kind='stable')
            n = int(np.searchsorted(np.cumsum(flat[order]), 0.8 - 1e-12)) + 1
            ys, xs = np.divmod(order[:n], w_hm)
            np.testing.assert_allclose(pred.keypoint_credible_area[0, k],
                                       n / (sx * sy), rtol=1e-5)
            box = [(xs.min() - 0.5) / sx, (ys.min() - 0.5) / sy,
                   (xs.max() + 0.5) / sx, (ys.max() + 0.5) / sy]
            np.testing.assert_allclose(pred.keypoint_credible_box[0, k], box,
                                       rtol=1e-5)


def test_loss_keys_values_and_weights():
    head = _head()
    feats = _feats()
    samples = _samples()
    losses = head.loss(feats, samples)
    assert set(losses) == {'loss_kpt', 'loss_presence', 'loss_visibility',
                           'loss_quality', 'acc_presence', 'oks_decoded'}
    for key, value in losses.items():
        assert torch.isfinite(value), key
    out = head.forward(feats)
    labels = {k: torch.cat([s.gt_instance_labels[k] for s in samples])
              for k in samples[0].gt_instance_labels.keys()}
    # presence: BCE over annotated keypoints, in or out of the window
    w = labels['presence_weights']
    bce = F.binary_cross_entropy_with_logits(
        out.presence_logits, labels['keypoints_in_window'],
        reduction='none')
    assert losses['loss_presence'].item() == pytest.approx(
        ((bce * w).sum() / w.sum()).item(), rel=1e-5)
    # the map loss ignores unannotated and out-of-window keypoints
    assert (labels['keypoint_weights'] <= labels['presence_weights']).all()
    assert labels['keypoint_weights'].sum() < labels['presence_weights'].sum()
    losses['loss_kpt'].backward()
    grad = head.final_layer.weight.grad
    assert grad is not None and grad.abs().sum() > 0


def test_dense_loss_is_the_sparsemax_loss_towards_the_oks_target():
    from probpose_ext.ops import oks_target_map, sparsemax_loss
    head = _head(dense_loss_weight=0.5)
    samples = _samples()
    losses = head.loss(_feats(), samples)
    out = head.forward(_feats())
    gt = head._gather_labels(samples)
    target = oks_target_map(gt['keypoint_labels'].float(),
                            gt['oks_variance'].float(), (12, 16))
    target = target / target.sum(dim=(-2, -1), keepdim=True)
    per_kpt = sparsemax_loss((out.logits / head.temperature).flatten(2),
                             target.flatten(2))
    weights = gt['keypoint_weights'].float()
    want = 0.5 * (per_kpt * weights).sum() / weights.sum()
    torch.testing.assert_close(losses['loss_dense'], want)
    # the rest is unchanged; off by default
    plain = _head().loss(_feats(), samples)
    assert 'loss_dense' not in plain
    torch.testing.assert_close(plain['loss_kpt'], losses['loss_kpt'])
    with pytest.raises(ValueError, match='dense_loss_weight'):
        _head(dense_loss_weight=-1.0)


def _gaussian_target(keypoints, sigma, size):
    """Normalised isotropic Gaussians on the pixel grid, pixel by pixel;
    ``sigma`` a scalar or one per instance and keypoint (N, K)."""
    w, h = size
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    sigma = np.broadcast_to(np.asarray(sigma, np.float64), keypoints.shape[:2])
    out = np.zeros(keypoints.shape[:2] + (h, w))
    for n in range(keypoints.shape[0]):
        for k in range(keypoints.shape[1]):
            x, y = keypoints[n, k]
            g = np.exp(-((xs - x)**2 + (ys - y)**2) / (2 * sigma[n, k]**2))
            out[n, k] = g / g.sum()
    return torch.as_tensor(out, dtype=torch.float32)


def test_dense_target_sigma_replaces_the_oks_kernel_by_a_gaussian():
    from probpose_ext.ops import sparsemax_loss
    head = _head(dense_loss_weight=2.0, dense_target_sigma=1.5)
    samples = _samples()
    losses = head.loss(_feats(), samples)
    out = head.forward(_feats())
    gt = head._gather_labels(samples)
    target = _gaussian_target(gt['keypoint_labels'].double().numpy(), 1.5,
                              HEATMAP)
    per_kpt = sparsemax_loss((out.logits / head.temperature).flatten(2),
                             target.flatten(2))
    weights = gt['keypoint_weights'].float()
    want = 2.0 * (per_kpt * weights).sum() / weights.sum()
    torch.testing.assert_close(losses['loss_dense'], want)
    # a different target than the (wider) OKS kernel's
    oks = _head(dense_loss_weight=2.0).loss(_feats(), samples)
    assert not torch.allclose(oks['loss_dense'], losses['loss_dense'])
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match='dense_target_sigma'):
            _head(dense_loss_weight=1.0, dense_target_sigma=bad)


def test_dense_target_min_oks_takes_the_narrower_target_per_keypoint():
    from probpose_ext.ops import sparsemax_loss
    samples = _samples()
    gt = _head()._gather_labels(samples)
    oks_std = gt['oks_variance'].double().sqrt().numpy()
    # a Gaussian wider than some keypoints' OKS kernels, narrower than others
    sigma = float(np.median(oks_std))
    assert (oks_std < sigma).any() and (oks_std > sigma).any()
    head = _head(dense_loss_weight=2.0, dense_target_sigma=sigma,
                 dense_target_min_oks=True)
    losses = head.loss(_feats(), samples)
    out = head.forward(_feats())
    target = _gaussian_target(gt['keypoint_labels'].double().numpy(),
                              np.minimum(oks_std, sigma), HEATMAP)
    per_kpt = sparsemax_loss((out.logits / head.temperature).flatten(2),
                             target.flatten(2))
    weights = gt['keypoint_weights'].float()
    want = 2.0 * (per_kpt * weights).sum() / weights.sum()
    torch.testing.assert_close(losses['loss_dense'], want)
    fixed = _head(dense_loss_weight=2.0, dense_target_sigma=sigma)
    assert not torch.allclose(fixed.loss(_feats(), samples)['loss_dense'],
                              want)
    with pytest.raises(ValueError, match='dense_target_min_oks'):
        _head(dense_loss_weight=1.0, dense_target_min_oks=True)


def test_presence_branch_is_detached_from_the_backbone():
    head = _head()
    x = torch.randn(2, 8, 8, 6, requires_grad=True)
    head.forward((x, )).presence_logits.sum().backward()
    assert x.grad is None
    head = _head(detach_branches=False)
    head.forward((x, )).presence_logits.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_errors():
    with pytest.raises(ValueError, match='temperature'):
        _head(temperature=0)
    with pytest.raises(ValueError, match='ProbMap'):
        _head(decoder=dict(type='UDPHeatmap', input_size=INPUT,
                           heatmap_size=HEATMAP, sigma=2))
    sample = PoseDataSample(metainfo=dict(flip_indices=FLIP))
    sample.gt_instance_labels = InstanceData(
        keypoint_labels=torch.zeros(1, 17, 2))
    with pytest.raises(KeyError, match='GenerateTarget'):
        _head().loss(_feats(1), [sample])


def _reference_forward(head, x):
    """ProbMapHead.forward written with the full branch modules (each pools
    its own input) and autograd's own pooling."""
    logits = head.final_layer(head.conv_layers(head.deconv_layers(x)))
    b, k, h, w = logits.shape
    prob = sparsemax(logits.reshape(b, k, h * w) / head.temperature,
                     dim=-1).reshape(b, k, h, w)
    branch_in = x.detach() if head.detach_branches else x
    return dict(prob=prob,
                presence_logits=head.presence_branch(branch_in),
                visibility_logits=head.visibility_branch(branch_in),
                quality_logits=head.quality_branch(x))


@pytest.mark.parametrize('grid', [None, (4, 3)])
@pytest.mark.parametrize('detach', [True, False])
def test_forward_pools_once_like_the_branch_modules(detach, grid):
    # forward pools once for the three branches and returns the pooling's
    # gradient as a broadcast view: same outputs and same gradients into the
    # features and the parameters as the straightforward forward
    head = _head(detach_branches=detach, branch_grid=grid)
    gen = torch.Generator().manual_seed(5)
    weights = {key: torch.randn(2, 17, 16, 12, generator=gen)
               if key == 'prob' else torch.randn(2, 17, generator=gen)
               for key in ('prob', 'presence_logits', 'visibility_logits',
                           'quality_logits')}
    outputs, grads = [], []
    for forward in (head.forward, lambda f: _reference_forward(head, f[0])):
        head.zero_grad()
        x = _feats()[0].requires_grad_(True)
        out = forward((x, ))
        out = out._asdict() if hasattr(out, '_asdict') else out
        sum((out[key] * w).sum() for key, w in weights.items()).backward()
        outputs.append(out)
        grads.append([x.grad] + [p.grad.clone() for p in head.parameters()])
    for key, value in outputs[1].items():
        torch.testing.assert_close(outputs[0][key], value, rtol=0, atol=0)
    for ours_grad, ref_grad in zip(*grads):
        torch.testing.assert_close(ours_grad, ref_grad)


def test_grid_branches_pool_a_grid_of_reduced_features():
    head = _head(branch_grid=(4, 3), branch_grid_channels=5)
    x = _feats()[0]  # (2, C, 8, 6): 2x2 cells
    out = head.forward((x, ))
    for key, branch in (('presence_logits', head.presence_branch),
                        ('visibility_logits', head.visibility_branch)):
        conv = branch[0]
        y = torch.einsum('oc,bchw->bohw', conv.weight[:, :, 0, 0], x)
        y = (y + conv.bias[None, :, None, None]).clamp_min(0)
        b, c, h, w = y.shape
        cells = y.reshape(b, c, 4, h // 4, 3, w // 3).mean(dim=(3, 5))
        z = cells.reshape(b, -1)
        for layer in branch[4:]:
            z = layer(z)
        torch.testing.assert_close(getattr(out, key), z)
    # the quality branch keeps the global average
    assert isinstance(head.quality_branch[0], torch.nn.AdaptiveAvgPool2d)


def test_grid_branches_see_position_the_global_average_does_not():
    x = _feats()[0]
    moved = torch.roll(x, shifts=(3, 2), dims=(2, 3))
    plain = _head()
    torch.testing.assert_close(plain.forward((x, )).presence_logits,
                               plain.forward((moved, )).presence_logits)
    grid = _head(branch_grid=(4, 3))
    assert not torch.allclose(grid.forward((x, )).presence_logits,
                              grid.forward((moved, )).presence_logits)


def test_grid_branches_are_detached_and_checked():
    head = _head(branch_grid=(2, 2))
    x = torch.randn(2, 8, 8, 6, requires_grad=True)
    head.forward((x, )).presence_logits.sum().backward()
    assert x.grad is None
    for bad in ((0, 2), (2, ), (2, 2, 2)):
        with pytest.raises(ValueError, match='branch_grid'):
            _head(branch_grid=bad)
    with pytest.raises(ValueError, match='branch_grid'):
        _head(branch_grid=(2, 2), branch_grid_channels=0)
