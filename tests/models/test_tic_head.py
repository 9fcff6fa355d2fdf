"""TICHead: shapes, positive-definite covariances for every
parameterisation, the loss against the Gaussian NLL by hand, the Jacobian
against finite differences, input-pixel covariances, flip test and a short
training run."""
import numpy as np
import pytest
import torch
from torch import nn

from probpose_ext.codecs import ProbMap
from probpose_ext.models.heads.tic_head import COVARIANCES, TICHead, TICOutputs
from probpose_ext.ops.covariance import (flip_full_covariances, gaussian_nll,
                                         transform_full_covariances)
from probpose_ext.ops.map_moments import map_moments
from tests.models._heads import FLIP, K, build_head, encoded_samples, \
    head_feats

INPUT, HEATMAP = (48, 64), (12, 16)
CODEC = dict(type='ProbMap', input_size=INPUT, heatmap_size=HEATMAP)
D = 2 * K


def _head(covariance='tic', **kwargs):
    head = build_head('TICHead', decoder=CODEC, covariance=covariance,
                      bottleneck_channels=6, refine_channels=5,
                      aux_channels=16, **kwargs)
    # a non-zero refinement (zero at init) so that J and eps1 J J^T matter
    torch.manual_seed(2)
    nn.init.normal_(head.refine[-1].weight, std=0.5)
    nn.init.normal_(head.aux[-1].weight, std=0.05)
    return head


def _samples(batch=2):
    return encoded_samples(ProbMap(INPUT, HEATMAP), [-10, -10], [58, 74],
                           batch)


@pytest.mark.parametrize('covariance', COVARIANCES)
def test_forward_shapes_and_positive_definite(covariance):
    head = _head(covariance)
    assert isinstance(head, TICHead) and head.covariance == covariance
    out = head.forward(head_feats())
    assert isinstance(out, TICOutputs)
    assert out.prob.shape == (2, K, 16, 12)
    assert torch.allclose(out.prob.sum((-2, -1)), torch.ones(2, K))
    assert out.means.shape == (2, D) and out.cov.shape == (2, D, D)
    assert out.presence_logits.shape == (2, K)
    assert out.z.shape == (2, 6) and out.jacobian.shape == (2, D, 6)
    assert out.eps1.shape == (2, ) and (out.eps1 >= 0).all()
    cov = out.cov.detach().double()
    assert torch.allclose(cov, cov.transpose(-1, -2), atol=1e-6)
    assert (torch.linalg.eigvalsh(cov) > 0).all()
    if covariance in ('diagonal', 'beta_nll'):
        assert torch.equal(cov, torch.diag_embed(cov.diagonal(0, -2, -1)))
    losses = head.loss(head_feats(), _samples())
    for key in ('loss_nll', 'loss_mean', 'loss_map', 'loss_presence'):
        assert torch.isfinite(losses[key]), key


def test_tic_covariance_adds_eps1_jjt_to_nll():
    tic, nll = _head('tic'), _head('nll')
    a, b = tic.forward(head_feats()), nll.forward(head_feats())
    assert torch.allclose(a.means, b.means)
    jjt = a.jacobian @ a.jacobian.transpose(-1, -2)
    assert jjt.abs().max() > 1e-3
    assert torch.allclose(a.cov, b.cov + a.eps1[:, None, None] * jjt,
                          atol=1e-5)


def test_nll_loss_equals_gaussian_nll_of_masked_residual():
    head = _head('nll', mean_loss_weight=0.5)
    samples = _samples()
    losses = head.loss(head_feats(), samples)
    out = head.forward(head_feats())
    gt = torch.cat([s.gt_instance_labels.keypoint_labels for s in samples])
    weights = torch.cat(
        [s.gt_instance_labels.keypoint_weights for s in samples])
    present = weights > 0
    assert 0 < present.sum() < present.numel()  # some absent joints
    residual = (out.means - gt.reshape(2, D).float()).double()
    # drop the absent joints explicitly, sample by sample
    expected = []
    for n in range(2):
        keep = present[n].repeat_interleave(2)
        expected.append(
            gaussian_nll(residual[n:n + 1, keep],
                         out.cov[n:n + 1][:, keep][:, :, keep].double()))
    assert losses['loss_nll'].item() == pytest.approx(
        torch.cat(expected).mean().item(), rel=1e-5)
    err = (out.means.reshape(2, K, 2) - gt).norm(dim=-1)[present].mean()
    assert losses['loss_mean'].item() == pytest.approx(0.5 * err.item(),
                                                       rel=1e-5)


def test_map_loss_is_the_kl_to_the_gaussian_over_present_joints():
    head = _head('nll', map_loss_weight=2.0, map_sigma=1.5)
    samples = _samples()
    # an absent joint's label may be anything, NaN included
    for s in samples:
        labels = s.gt_instance_labels.keypoint_labels.clone()
        labels[s.gt_instance_labels.keypoint_weights == 0] = float('nan')
        s.gt_instance_labels.keypoint_labels = labels
    losses = head.loss(head_feats(), samples)
    out = head.forward(head_feats())
    gt = torch.cat([s.gt_instance_labels.keypoint_labels for s in samples])
    present = torch.cat(
        [s.gt_instance_labels.keypoint_weights for s in samples]) > 0
    w, h = HEATMAP
    xs, ys = torch.meshgrid(torch.arange(w, dtype=torch.float64),
                            torch.arange(h, dtype=torch.float64),
                            indexing='xy')
    kls = []
    for n, k in zip(*torch.nonzero(present, as_tuple=True)):
        cx, cy = gt[n, k].double()
        t = torch.exp(-((xs - cx)**2 + (ys - cy)**2) / (2 * 1.5**2))
        t = t / t.sum()
        p = out.prob[n, k].double()
        kls.append((t * (t.log() - p.log())).sum())
    assert losses['loss_map'].item() == pytest.approx(
        2.0 * torch.stack(kls).mean().item(), rel=1e-4)
    assert torch.isfinite(losses['loss_nll'])
    no_map = _head('nll', map_loss_weight=0.0).loss(head_feats(), _samples())
    assert 'loss_map' not in no_map


def test_jacobian_equals_finite_differences():
    head = _head('tic').double()
    feats = tuple(f.double() for f in head_feats())
    out = head.forward(feats)
    # the means are the soft-argmax plus the refinement of z
    m0 = map_moments(out.prob)[0].reshape(2, D)
    z = out.z.detach()
    with torch.no_grad():
        assert torch.allclose(out.means, m0 + head.refine(z))
        h = 1e-6
        fd = torch.empty(2, D, z.shape[1], dtype=torch.float64)
        for i in range(z.shape[1]):
            dz = torch.zeros_like(z)
            dz[:, i] = h
            fd[:, :, i] = ((m0 + head.refine(z + dz)) -
                           (m0 + head.refine(z - dz))) / (2 * h)
    assert out.jacobian.abs().max() > 1e-3
    assert torch.allclose(out.jacobian, fd, atol=1e-8)
    assert not out.jacobian.requires_grad


def test_predict_covariances_in_input_pixels():
    head = _head('tic').eval()
    out = head.forward(head_feats())
    preds = head.predict(head_feats(), _samples(), {})
    fx, fy = (INPUT[0] - 1) / (HEATMAP[0] - 1), (INPUT[1] - 1) / (
        HEATMAP[1] - 1)
    f = torch.tensor([fx, fy] * K, dtype=torch.float64)
    for n, pred in enumerate(preds):
        cov = out.cov[n].detach().double()
        expected = (cov * f[:, None] * f[None, :]).numpy()
        assert pred.keypoints_cov_full.shape == (1, D, D)
        np.testing.assert_allclose(pred.keypoints_cov_full[0], expected,
                                   rtol=1e-5, atol=1e-6)
        blocks = pred.keypoints_cov
        assert blocks.shape == (1, K, 2, 2)
        for k in range(K):
            np.testing.assert_allclose(blocks[0, k],
                                       expected[2 * k:2 * k + 2,
                                                2 * k:2 * k + 2],
                                       rtol=1e-5, atol=1e-6)
        means = out.means[n].detach().double().reshape(K, 2).numpy()
        np.testing.assert_allclose(pred.keypoints[0],
                                   means * np.array([fx, fy]), rtol=1e-5,
                                   atol=1e-4)
        presence = torch.sigmoid(out.presence_logits[n]).detach().numpy()
        for key in ('keypoint_presence', 'keypoints_visible'):
            np.testing.assert_allclose(pred[key][0], presence, rtol=1e-6)
        # keypoint_scores: presence x the Gaussian expected OKS of each 2x2
        # heatmap-pixel block for the nominal OKS variance, by hand
        var = head.decoder.decode_variance().double().numpy()
        for k in range(K):
            blk = cov[2 * k:2 * k + 2, 2 * k:2 * k + 2].numpy()
            eoks = np.linalg.det(np.eye(2) + blk / var[k])**-0.5
            assert pred.keypoint_scores[0, k] == pytest.approx(
                presence[k] * eoks, rel=1e-5)
        assert 0 < pred.keypoint_scores.min() < pred.keypoint_scores.max() \
            < 1
    by_presence = head.predict(head_feats(), _samples(),
                               dict(keypoint_score='presence'))
    np.testing.assert_allclose(
        by_presence[0].keypoint_scores[0],
        torch.sigmoid(out.presence_logits[0]).detach().numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match='keypoint_score'):
        head.predict(head_feats(), _samples(), dict(keypoint_score='x'))
    # a general check of the same scaling through the ops function
    scaled = transform_full_covariances(
        out.cov.detach(), torch.diag(torch.tensor([fx, fy])))
    np.testing.assert_allclose(preds[0].keypoints_cov_full[0],
                               scaled[0].numpy(), rtol=1e-5, atol=1e-6)


def test_flip_test_swapping_passes_mirrors_prediction():
    head = _head('tic').eval()
    samples = _samples()
    torch.manual_seed(3)
    fa, fb = (torch.randn(2, 8, 8, 6), ), (torch.randn(2, 8, 8, 6), )
    cfg = dict(flip_test=True)
    pa = head.predict((fa, fb), samples, cfg)
    pb = head.predict((fb, fa), samples, cfg)
    w = INPUT[0]
    for a, b in zip(pa, pb):
        mirrored = a.keypoints[0][FLIP].copy()
        mirrored[:, 0] = (w - 1) - mirrored[:, 0]
        np.testing.assert_allclose(b.keypoints[0], mirrored, atol=1e-4)
        np.testing.assert_allclose(
            b.keypoints_cov_full[0],
            flip_full_covariances(a.keypoints_cov_full[0], FLIP),
            rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(b.keypoint_presence[0],
                                   a.keypoint_presence[0][FLIP], rtol=1e-6)
    # and the average of the two passes itself
    single_a = head.predict(fa, samples, {})
    assert not np.allclose(pa[0].keypoints, single_a[0].keypoints)


@pytest.mark.parametrize('covariance', COVARIANCES)
def test_training_lowers_the_loss(covariance):
    head = build_head('TICHead', decoder=CODEC, covariance=covariance,
                      bottleneck_channels=8, aux_channels=32)
    samples = _samples(4)
    feats = head_feats(4)
    optim = torch.optim.Adam(head.parameters(), lr=1e-2)
    totals = []
    for _ in range(20):
        losses = head.loss(feats, samples)
        total = sum(v for k, v in losses.items() if k.startswith('loss'))
        totals.append(total.item())
        optim.zero_grad()
        total.backward()
        optim.step()
    assert np.isfinite(totals).all()
    assert totals[-1] < totals[0] - 1.0, totals


def test_loss_under_autocast_matches_float32():
    head = _head('tic')
    samples = _samples()
    ref = head.loss(head_feats(), samples)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        low = head.loss(head_feats(), samples)
    for key in ('loss_nll', 'loss_mean'):
        assert low[key].dtype == torch.float32
        assert low[key].item() == pytest.approx(ref[key].item(), rel=0.05)
