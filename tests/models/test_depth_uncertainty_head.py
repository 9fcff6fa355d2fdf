"""DepthUncertaintyHead and DepthGaussianNLLLoss built through MMPose's
registry: shapes, the prediction contract, and training on a fixed batch
whose depth noise has a known standard deviation."""
import math

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData
from mmpose.registry import MODELS
from mmpose.structures import PoseDataSample

import probpose_ext  # noqa: F401  (registers the head and the loss)

C, K = 8, 4
SIGMA = 0.05  # metres, the depth noise of the training targets
CODEC = dict(type='VideoPoseLifting', num_keypoints=K, zero_center=True,
             root_index=0, remove_root=False)


def _head(mode='depth', **kwargs):
    cfg = dict(type='DepthUncertaintyHead', in_channels=C, num_joints=K,
               mode=mode, decoder=CODEC)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _samples(target, weight=None, root=None):
    out = []
    for i in range(target.shape[0]):
        d = PoseDataSample()
        d.gt_instance_labels = InstanceData(
            lifting_target_label=target[i:i + 1],
            lifting_target_weight=torch.ones(1, target.shape[1])
            if weight is None else weight[i:i + 1])
        if root is not None:
            d.set_metainfo(dict(target_root=root[i]))
        out.append(d)
    return out


def _train(form='nll', mode='depth', steps=100, lr=0.05, batch=512,
           fixed_sigma=None):
    """Train on features -> (initial prediction + noise of SIGMA).

    The targets' means are the untrained head's own prediction, so the
    NLL's optimum sigma is the noise's (about SIGMA; ``'proposal'``:
    sqrt(2) SIGMA); without noise in x, y (depth mode) their error stays
    near 0. Returns the loss history, the head and the features.
    """
    torch.manual_seed(0)
    feats = torch.randn(batch, C, 1)
    head = _head(mode, decoder=None, depth_loss=dict(
        type='DepthGaussianNLLLoss', form=form, fixed_sigma=fixed_sigma))
    with torch.no_grad():
        target = head((feats, ))[0].clone()
    if mode == 'depth':
        target[..., 2] += SIGMA * torch.randn(batch, K)
    else:
        target += SIGMA * torch.randn(batch, K, 3)
    samples = _samples(target)
    opt = torch.optim.Adam(head.parameters(), lr=lr)
    history = []
    for _ in range(steps):
        losses = head.loss((feats, ), samples)
        total = losses['loss_pose3d'] + losses['loss_depth']
        opt.zero_grad()
        total.backward()
        opt.step()
        history.append(total.item())
    return history, head, feats


def _learned_std(head, feats):
    with torch.no_grad():
        _, unc = head((feats, ))
    return float(head._std_and_cov(unc)[0].mean())


# ------------------------------------------------------------ build, shapes
@pytest.mark.parametrize('mode', ['depth', 'xyz'])
def test_forward_shapes(mode):
    head = _head(mode)
    head.init_weights()  # as the runner does; keeps the initial std
    coords, unc = head((torch.randn(3, C, 1), ))
    assert coords.shape == (3, K, 3)
    if mode == 'depth':
        assert unc.shape == (3, K)
        lo, hi = head.log_var_range
        assert bool(((unc >= lo) & (unc <= hi)).all())
        # initial std is init_std
        np.testing.assert_allclose(torch.exp(0.5 * unc).detach().numpy(),
                                   0.1, rtol=0.05)
    else:
        assert unc.shape == (3, K, 3, 3)
        assert torch.equal(unc, torch.tril(unc))
        np.testing.assert_allclose(
            unc.diagonal(dim1=-2, dim2=-1).detach().numpy(), 0.1, rtol=0.05)


def test_bad_configs_raise():
    with pytest.raises(ValueError, match='xyz'):
        _head('uvd')
    with pytest.raises(ValueError, match='log_var_range'):
        _head(log_var_range=(4, -12))
    with pytest.raises(ValueError, match='decodes with'):
        _head(decoder=dict(type='RegressionLabel', input_size=(4, 4)))
    with pytest.raises(ValueError, match='form'):
        MODELS.build(dict(type='DepthGaussianNLLLoss', form='laplace'))


@pytest.mark.parametrize('mode', ['depth', 'xyz'])
def test_loss_keys_and_root_excluded(mode):
    head = _head(mode)
    torch.manual_seed(1)
    feats = torch.randn(4, C, 1)
    target = torch.randn(4, K, 3) * 0.2
    target[:, 0] = 0.0  # zero-centred on the root
    losses = head.loss((feats, ), _samples(target))
    assert set(losses) == {'loss_pose3d', 'loss_depth', 'mpjpe'}
    assert all(bool(torch.isfinite(v)) for v in losses.values())
    # the root's depth does not enter loss_depth: changing its prediction's
    # uncertainty changes nothing
    coords, unc = head((feats, ))
    weight = torch.ones(4, K)
    weight[:, 0] = 0
    if mode == 'depth':
        want = head.depth_loss_module(coords[..., 2], unc, target[..., 2],
                                      weight)
    else:
        want = head.depth_loss_module(coords, unc, target, weight)
    assert losses['loss_depth'].item() == pytest.approx(want.item(),
                                                        rel=1e-6)


# ------------------------------------------------------------------ predict
@pytest.mark.parametrize('mode, remove_root', [('depth', False),
                                               ('xyz', False),
                                               ('depth', True),
                                               ('xyz', True)])
def test_predict_writes_the_contract(mode, remove_root):
    codec = dict(CODEC, remove_root=remove_root)
    k_net = K - 1 if remove_root else K
    head = _head(mode, num_joints=k_net, decoder=codec)
    feats = torch.randn(3, C, 1)
    root = np.random.default_rng(0).normal(size=(3, 1, 3)).astype(
        np.float32)
    samples = _samples(torch.zeros(3, k_net, 3), root=root)
    preds = head.predict((feats, ), samples)
    coords, unc = head((feats, ))
    assert len(preds) == 3
    for i, pred in enumerate(preds):
        assert pred.keypoints.shape == (1, K, 3)
        assert pred.keypoint_scores.shape == (1, K)
        assert pred.keypoint_depth_std.shape == (1, K)
        net = coords[i].detach().numpy()
        if remove_root:
            net = np.insert(net, 0, 0.0, axis=0)
        np.testing.assert_allclose(pred.keypoints[0], net + root[i],
                                   rtol=1e-5, atol=1e-6)
        std = pred.keypoint_depth_std[0]
        assert std[0] == 0.0  # the root
        if mode == 'depth':
            np.testing.assert_allclose(
                std[1:], np.exp(0.5 * unc[i].detach().numpy())[-(K - 1):],
                rtol=1e-5)
            assert 'keypoints_cov3d' not in pred
        else:
            cov = pred.keypoints_cov3d[0]
            assert cov.shape == (K, 3, 3)
            chol = unc[i].detach().numpy()[-(K - 1):]
            np.testing.assert_allclose(
                cov[1:], chol @ np.swapaxes(chol, -1, -2), rtol=1e-5,
                atol=1e-9)
            np.testing.assert_allclose(std, np.sqrt(cov[:, 2, 2]),
                                       rtol=1e-6)
            assert not cov[0].any()


def test_std_scale_scales_the_reported_std():
    torch.manual_seed(0)
    feats = torch.randn(2, C, 1)
    samples = _samples(torch.zeros(2, K, 3), root=np.zeros((2, 1, 3)))
    plain = _head()
    scaled = _head(std_scale=1 / math.sqrt(2))
    scaled.load_state_dict(plain.state_dict())
    a = plain.predict((feats, ), samples)[0].keypoint_depth_std
    b = scaled.predict((feats, ), samples)[0].keypoint_depth_std
    np.testing.assert_allclose(b, a / math.sqrt(2), rtol=1e-6)


# ----------------------------------------------------------------- training
def test_learned_sigma_approaches_the_noise():
    history, head, feats = _train('nll')
    assert all(math.isfinite(v) for v in history)
    assert np.mean(history[-10:]) < np.mean(history[:10])
    assert _learned_std(head, feats) == pytest.approx(SIGMA, rel=0.3)


def test_proposal_sigma_is_sqrt2_times_the_nll_sigma():
    _, nll_head, feats = _train('nll')
    _, prop_head, _ = _train('proposal')
    ratio = _learned_std(prop_head, feats) / _learned_std(nll_head, feats)
    assert ratio == pytest.approx(math.sqrt(2), rel=0.1)


def test_full_3d_gaussian_learns_the_noise():
    history, head, feats = _train('nll', mode='xyz', steps=60, lr=0.02)
    assert all(math.isfinite(v) for v in history)
    assert np.mean(history[-10:]) < np.mean(history[:10])
    with torch.no_grad():
        _, chol = head((feats, ))
    cov = (chol @ chol.transpose(-1, -2)).mean((0, 1))
    # every coordinate had noise SIGMA, independent
    np.testing.assert_allclose(cov.diagonal().sqrt().numpy(), SIGMA,
                               rtol=0.3)
    assert float(cov[0, 1].abs()) < 0.3 * SIGMA**2


def test_fixed_sigma_ignores_log_var():
    loss = MODELS.build(dict(type='DepthGaussianNLLLoss', fixed_sigma=0.1))
    pred = torch.randn(3, K, requires_grad=True)
    log_var = torch.randn(3, K, requires_grad=True)
    target = torch.randn(3, K)
    weight = torch.ones(3, K)
    value = loss(pred, log_var, target, weight)
    value.backward()
    assert log_var.grad is None or not log_var.grad.any()
    # = weighted MSE / (2 sigma^2) + const
    r2 = (target - pred.detach())**2
    want = (r2 / (2 * 0.01) + 0.5 * math.log(2 * math.pi * 0.01)).mean()
    assert value.item() == pytest.approx(want.item(), rel=1e-6)
    # in the head: the uncertainty branch gets no gradient
    history, head, _ = _train(steps=2, fixed_sigma=0.1, batch=16)
    assert head.uncertainty_conv.weight.grad is None or \
        not head.uncertainty_conv.weight.grad.any()
    assert head.conv.weight.grad is not None
    # and it predicts the sigma it assumed, whatever the untrained branch
    # says (0 at no joint: the head has no decoder, so no root here)
    with torch.no_grad():
        std, cov = head._std_and_cov(head((torch.randn(4, C, 1), ))[1])
    torch.testing.assert_close(std, torch.full((4, K), 0.1))
    assert cov is None


def test_loss_weights_select_joints():
    loss = MODELS.build(dict(type='DepthGaussianNLLLoss', loss_weight=2.0))
    pred, log_var, target = (torch.randn(2, K) for _ in range(3))
    weight = torch.zeros(2, K)
    weight[0, 1] = weight[1, 3] = 1.0
    got = loss(pred, log_var, target, weight)
    nll = 0.5 * (math.log(2 * math.pi) + log_var +
                 (target - pred)**2 * torch.exp(-log_var))
    assert float(got) == pytest.approx(
        float(2.0 * (nll[0, 1] + nll[1, 3]) / 2), rel=1e-6)
    plain = MODELS.build(dict(type='DepthGaussianNLLLoss',
                              use_target_weight=False))
    assert float(plain(pred, log_var, target)) == pytest.approx(
        float(nll.mean()), rel=1e-6)


# ------------------------------------------------- inside MMPose's PoseLifter
LIFTER = dict(
    type='PoseLifter',
    backbone=dict(type='TCN', in_channels=2 * 17, stem_channels=32,
                  num_blocks=1, kernel_sizes=(3, 3), dropout=0.25,
                  use_stride_conv=True),
    head=dict(type='DepthUncertaintyHead', in_channels=32, num_joints=17,
              loss=dict(type='MPJPELoss', use_target_weight=True),
              depth_loss=dict(type='DepthGaussianNLLLoss', form='nll'),
              depth_loss_weight=0.1,
              decoder=dict(type='VideoPoseLifting', num_keypoints=17,
                           zero_center=True, root_index=0,
                           remove_root=False)))


@pytest.mark.parametrize('mode', ['depth', 'xyz'])
def test_pose_lifter_with_tcn_trains_predicts_and_evaluates(mode):
    from mmpose.registry import METRICS
    cfg = dict(LIFTER, head=dict(LIFTER['head'], mode=mode))
    model = MODELS.build(cfg)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    inputs = torch.randn(2, 34, 9)  # (B, K * 2, T), receptive field 9
    samples = []
    for _ in range(2):
        pose = rng.normal(size=(1, 17, 3)).astype(np.float32) * 0.3
        d = PoseDataSample()
        d.gt_instance_labels = InstanceData(
            lifting_target_label=torch.from_numpy(pose - pose[:, :1]),
            lifting_target_weight=torch.ones(1, 17))
        d.gt_instances = InstanceData(
            lifting_target=pose,
            lifting_target_visible=np.ones((1, 17, 1), np.float32))
        d.set_metainfo(dict(target_root=pose[:, 0]))
        samples.append(d)
    losses = model.loss(inputs, samples)
    assert {'loss_pose3d', 'loss_depth', 'mpjpe'} <= set(losses)
    assert all(bool(torch.isfinite(v)) for v in losses.values())
    model.eval()
    with torch.no_grad():
        out = model.predict(inputs, samples)
    pred = out[0].pred_instances
    assert pred.keypoints.shape == (1, 17, 3)
    assert pred.keypoint_depth_std.shape == (1, 17)
    assert (pred.keypoints_cov3d.shape == (1, 17, 3, 3)) if mode == 'xyz' \
        else 'keypoints_cov3d' not in pred
    metric = METRICS.build(dict(type='DepthUncertaintyMetric'))
    metric.process([], [o.to_dict() for o in out])
    got = metric.compute_metrics(metric.results)
    assert math.isfinite(got['depth/NLL']) and ('cov3d/NLL' in got) == (
        mode == 'xyz')
