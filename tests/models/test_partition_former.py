"""SkeletonPartitionFormer: partition attention against a per-token loop,
shapes, registry build, learning a toy set."""
import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS

import probpose_ext  # noqa: F401
from probpose_ext.models.backbones.partition_former import \
    PartitionAttention
from probpose_ext.ops.skeleton_partitions import partition_masks
from tests.models._skeleton_toy import fit_predict


def test_attention_equals_loop_over_partitions():
    torch.manual_seed(0)
    attn = PartitionAttention(dims=16, num_heads=8).eval()
    masks = torch.from_numpy(partition_masks('coco', 4, 2))
    x = torch.randn(2, 4 * 17, 16)
    out = attn(x, masks)
    # brute force: head h of type h // 2 softmaxes over its partition only
    qkv = attn.qkv(x).view(2, 68, 3, 8, 2)
    heads = torch.zeros(2, 68, 8, 2)
    for b in range(2):
        for h in range(8):
            m = masks[h // 2]
            for i in range(68):
                js = torch.nonzero(m[i]).ravel()
                q = qkv[b, i, 0, h]
                k = qkv[b, js, 1, h]
                v = qkv[b, js, 2, h]
                w = torch.softmax(k @ q / np.sqrt(2), dim=0)
                heads[b, i, h] = w @ v
    expect = attn.proj(heads.reshape(2, 68, 16))
    assert torch.allclose(out, expect, atol=1e-5)


def test_shapes_and_registry():
    init_default_scope('mmpose')
    model = MODELS.build(dict(type='SkeletonPartitionFormer', layout='h36m',
                              in_channels=3, embed_dims=32, depth=2,
                              num_heads=4, temporal_stride=4, window=3))
    out = model(torch.randn(2, 1, 48, 17, 3))
    assert out.shape == (2, 1, 32, 12, 17)
    # persons are independent
    x = torch.randn(1, 2, 16, 17, 3)
    model.eval()
    a = model(x)
    b = model(x.flip(1))
    assert torch.allclose(a, b.flip(1), atol=1e-5)
    with pytest.raises(ValueError, match='expects'):
        model(torch.randn(2, 1, 48, 25, 3))
    with pytest.raises(ValueError, match='multiple of 4'):
        PartitionAttention(dims=12, num_heads=6)


def test_recognizer_with_partition_former_learns_toy_set():
    init_default_scope('mmpose')
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='SkeletonRecognizer',
        backbone=dict(type='SkeletonPartitionFormer', layout='coco',
                      in_channels=3, embed_dims=16, depth=1, num_heads=4),
        cls_head=dict(type='SkeletonClsHead', num_classes=2,
                      in_channels=16)))
    x = torch.randn(16, 1, 1, 16, 17, 3) * 0.3
    x[8:, ..., 1] += torch.linspace(-1, 1, 16)[None, None, None, :, None]
    labels = [0] * 8 + [1] * 8
    assert fit_predict(model, x, labels, steps=40, lr=3e-3) == labels
