"""CATCN: built from configs, output shapes, equal to MMPose's TCN with the
same weights at full confidence, zero-confidence frames ignored, strided
and dilated versions interchangeable."""
import pytest
import torch
from mmpose.registry import MODELS

import probpose_ext  # noqa: F401  (registration)
from probpose_ext.models.backbones.ca_tcn import CATCN

K = 17


def _build(**kwargs) -> CATCN:
    cfg = dict(type='CATCN', in_channels=3 * K, stem_channels=32,
               num_blocks=2, kernel_sizes=(3, 3, 3))
    cfg.update(kwargs)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def _randomise_bn(model: torch.nn.Module, seed: int = 0) -> None:
    """Non-trivial BN statistics so that eval outputs depend on them."""
    gen = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm1d):
            n = module.num_features
            module.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
            module.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
            module.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
            module.bias.data.copy_(torch.randn(n, generator=gen) * 0.1)


def _inputs(batch: int, frames: int, seed: int = 0) -> torch.Tensor:
    """(B, K*3, T) codec input: channel 3k + (x, y, confidence)."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, K, 3, frames, generator=gen) * 0.3
    x[:, :, 2] = torch.rand(batch, K, frames, generator=gen) * 0.9 + 0.1
    return x.reshape(batch, 3 * K, frames)


@pytest.mark.parametrize('use_stride_conv', [False, True])
def test_build_and_output_shapes(use_stride_conv):
    model = _build(use_stride_conv=use_stride_conv)
    model.eval()  # (MMPose's BaseBackbone.train returns None)
    assert isinstance(model, CATCN) and model.receptive_field == 27
    outs = model(_inputs(2, 27))
    assert [tuple(o.shape) for o in outs] == (
        [(2, 32, 3), (2, 32, 1)] if use_stride_conv else [(2, 32, 19),
                                                          (2, 32, 1)])
    if not use_stride_conv:
        # longer inputs: one output frame per receptive-field window
        assert outs[-1].shape == (2, 32, 1)
        assert model(_inputs(2, 31))[-1].shape == (2, 32, 5)
    # the head takes the centre frame
    head = MODELS.build(dict(type='TemporalRegressionHead', in_channels=32,
                             num_joints=K))
    assert head(outs).shape == (2, K, 3)


def test_config_errors():
    with pytest.raises(ValueError, match='multiple of 3'):
        _build(in_channels=34)
    with pytest.raises(ValueError, match='num_blocks'):
        _build(num_blocks=3)
    with pytest.raises(ValueError, match='odd'):
        _build(kernel_sizes=(3, 2, 3))
    with pytest.raises(TypeError):
        _build(stem_chanels=8)
    with pytest.raises(ValueError, match='expects'):
        _build()(torch.zeros(1, 34, 27))


@pytest.mark.parametrize('propagate_conf', [False, True])
def test_full_confidence_equals_mmpose_tcn(propagate_conf):
    ours = _build(propagate_conf=propagate_conf, dropout=0.0)
    _randomise_bn(ours)
    tcn = MODELS.build(dict(type='TCN', in_channels=2 * K, stem_channels=32,
                            num_blocks=2, kernel_sizes=(3, 3, 3),
                            dropout=0.0))
    # same layers in the same order, only the names differ
    ours_sd, tcn_sd = ours.state_dict(), tcn.state_dict()
    assert [v.shape for v in ours_sd.values()] \
        == [v.shape for v in tcn_sd.values()]
    tcn.load_state_dict(dict(zip(tcn_sd, ours_sd.values())))
    ours.eval(), tcn.eval()
    x = _inputs(3, 29, seed=1)
    joints = x.reshape(3, K, 3, 29).clone()
    joints[:, :, 2] = 1.0
    full = joints.reshape(3, 3 * K, 29)
    xy = joints[:, :, :2].reshape(3, 2 * K, 29)
    for a, b in zip(ours(full), tcn(xy)):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    # lower confidences change the output
    assert not torch.allclose(ours(x)[-1], tcn(xy)[-1], atol=1e-3)


@pytest.mark.parametrize('propagate_conf,use_stride_conv',
                         [(False, False), (True, False), (True, True)])
def test_zero_confidence_frame_is_ignored(propagate_conf, use_stride_conv):
    model = _build(propagate_conf=propagate_conf,
                   use_stride_conv=use_stride_conv)
    _randomise_bn(model)
    model.eval()
    x = _inputs(2, 27, seed=2)
    joints = x.reshape(2, K, 3, 27)
    joints[:, 5, 2, 13] = 0.0  # joint 5 at the centre frame
    joints[:, 9, 2, 3] = 0.0  # joint 9 at frame 3
    ref = model(x)[-1]
    changed = joints.clone()
    changed[:, 5, :2, 13] = torch.tensor([50.0, -80.0])
    changed[:, 9, :2, 3] = torch.tensor([-7.0, 3.0])
    torch.testing.assert_close(model(changed.reshape(2, 3 * K, 27))[-1],
                               ref, rtol=0, atol=1e-6)
    # a confident frame's coordinates do matter
    other = joints.clone()
    other[:, 6, :2, 13] += 1.0
    assert (model(other.reshape(2, 3 * K, 27))[-1] - ref).abs().max() > 1e-4


def test_strided_and_dilated_versions_share_weights():
    dilated = _build(propagate_conf=True)
    _randomise_bn(dilated)
    strided = _build(propagate_conf=True, use_stride_conv=True)
    strided.load_state_dict(dilated.state_dict())
    dilated.eval(), strided.eval()
    x = _inputs(2, 27, seed=3)
    torch.testing.assert_close(strided(x)[-1], dilated(x)[-1], rtol=1e-4,
                               atol=1e-5)


def test_gradients_flow_and_train_mode_runs():
    model = _build(propagate_conf=True)
    model.train()
    x = _inputs(4, 27, seed=4).requires_grad_(True)
    model(x)[-1].square().sum().backward()
    assert model.expand.conv.weight.grad.abs().sum() > 0
    grad = x.grad.reshape(4, K, 3, 27)
    assert torch.isfinite(grad).all() and grad[:, :, :2].abs().sum() > 0


def test_pose_lifter_with_the_confidence_codec():
    """The documented config: CATCN + TemporalRegressionHead in a
    PoseLifter, input from ``VideoPoseLifting(concat_vis=True)``."""
    codec = dict(type='VideoPoseLifting', num_keypoints=K, zero_center=True,
                 root_index=0, remove_root=False, concat_vis=True)
    lifter = MODELS.build(dict(
        type='PoseLifter',
        backbone=dict(type='CATCN', in_channels=3 * K, stem_channels=32,
                      num_blocks=2, kernel_sizes=(3, 3, 3), dropout=0.25,
                      use_stride_conv=True, propagate_conf=False),
        head=dict(type='TemporalRegressionHead', in_channels=32,
                  num_joints=K, loss=dict(type='MPJPELoss'),
                  decoder=codec)))
    lifter.eval()
    assert lifter(_inputs(2, 27), None, mode='tensor').shape == (2, K, 3)
