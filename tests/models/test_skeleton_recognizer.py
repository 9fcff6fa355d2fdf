"""SkeletonRecognizer + SkeletonClsHead built from configs."""
import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS

import probpose_ext  # noqa: F401
from tests.models._skeleton_toy import fit_predict, label_samples


def _cfg(num_classes=3, layout='h36m', channels=16):
    return dict(
        type='SkeletonRecognizer',
        backbone=dict(type='STGCN', graph_cfg=dict(layout=layout),
                      in_channels=3, base_channels=channels, num_stages=3,
                      inflate_stages=(3, ), down_stages=(3, )),
        cls_head=dict(type='SkeletonClsHead', num_classes=num_classes,
                      in_channels=2 * channels))


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmpose')


def test_shapes_and_clip_average():
    torch.manual_seed(0)
    model = MODELS.build(_cfg()).eval()
    x = torch.randn(4, 2, 1, 12, 17, 3)
    logits = model(x, mode='tensor')
    assert logits.shape == (4, 2, 3)
    preds = model(list(x), label_samples([0, 1, 2, 0]), mode='predict')
    expect = logits.softmax(-1).mean(1)
    for p, e in zip(preds, expect):
        assert torch.allclose(p.pred_score, e, atol=1e-6)
        assert p.pred_label.item() == int(e.argmax())
        assert p.pred_score.sum().item() == pytest.approx(1.0, abs=1e-5)


def test_loss_is_cross_entropy_over_clips():
    torch.manual_seed(0)
    model = MODELS.build(_cfg()).eval()
    x = torch.randn(3, 2, 1, 12, 17, 3)
    labels = [2, 0, 1]
    out = model(x, label_samples(labels), mode='loss')
    logits = model(x, mode='tensor')
    brute = np.mean([
        -torch.log_softmax(logits[i, c], -1)[labels[i]].item()
        for i in range(3) for c in range(2)
    ])
    assert out['loss_cls'].item() == pytest.approx(brute, rel=1e-5)
    assert 0.0 <= out['acc_top1'].item() <= 1.0
    with pytest.raises(ValueError, match='mode'):
        model(x, mode='bad')
    with pytest.raises(ValueError, match='num_clips'):
        model(x[0], mode='tensor')


def test_learns_separable_toy_set_in_seconds():
    """Class 0: still skeletons; class 1: joints oscillating in x; class
    2: the whole body moving up. 30 steps of Adam separate them."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    t = np.linspace(0, 2 * np.pi, 16)

    def make(label, n):
        base = rng.normal(0, 0.3, (n, 1, 1, 1, 17, 3))
        x = np.repeat(base, 16, axis=3)
        if label == 1:
            x[..., 0] += 0.5 * np.sin(3 * t)[None, None, None, :, None]
        if label == 2:
            x[..., 2] += 0.3 * t[None, None, None, :, None]
        return x

    xs = np.concatenate([make(k, 16) for k in range(3)])
    ys = np.repeat(np.arange(3), 16)
    x = torch.tensor(xs, dtype=torch.float32)
    model = MODELS.build(_cfg())
    test = torch.tensor(np.concatenate([make(k, 8) for k in range(3)]),
                        dtype=torch.float32)
    pred = fit_predict(model, x, ys, steps=30, lr=3e-3, test=test)
    assert np.mean(np.array(pred) == np.repeat(np.arange(3), 8)) >= 0.95


def test_head_rejects_wrong_channels():
    head = MODELS.build(dict(type='SkeletonClsHead', num_classes=4,
                             in_channels=8))
    assert head(torch.zeros(2, 1, 8, 5, 17)).shape == (2, 4)
    with pytest.raises(ValueError, match='features must be'):
        head(torch.zeros(2, 1, 7, 5, 17))
    with pytest.raises(ValueError, match='label_smoothing'):
        MODELS.build(dict(_cfg(), label_smoothing=1.0))
