"""GraphMLPLifter: built from configs, shapes with MMPose's head and
PoseLifter, adjacency and graph convolution against direct computations,
parameter count against its closed form, a short fit of a fixed batch."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmpose.registry import MODELS

import probpose_ext  # noqa: F401  (registration)
from probpose_ext.datasets.generators.kinematics import load_h36m_metainfo
from probpose_ext.models.backbones.graph_mlp import (GraphConv,
                                                     GraphMLPLifter)

K = 17


def _build(**kwargs) -> GraphMLPLifter:
    model = MODELS.build(dict(type='GraphMLPLifter', **kwargs))
    model.init_weights()
    return model


def _expected_params(C, T, D, blocks, ratio=4, hidden=256, out=None, K=K):
    """Closed-form parameter count of the architecture."""
    linear = lambda i, o: i * o + o  # noqa: E731
    block = (2 * 2 * D  # two LayerNorms
             + linear(K, hidden) + linear(hidden, K)  # token MLP
             + linear(D, ratio * D) + linear(ratio * D, D)  # channel MLP
             + 2 * linear(D, D))  # two GCNs
    total = linear(C * T, D) + blocks * block + 2 * D
    if out is not None and out != D:
        total += linear(D, out)
    return total


def _count(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize('seq_len,in_channels,out_dims',
                         [(1, 2, None), (27, 2, None), (27, 3, 64)])
def test_build_shapes_and_parameter_count(seq_len, in_channels, out_dims):
    model = _build(seq_len=seq_len, in_channels=in_channels,
                   out_dims=out_dims)
    model.eval()
    out = out_dims or 128
    x = torch.randn(2, K * in_channels, seq_len)
    feats = model(x)
    assert isinstance(feats, tuple) and feats[-1].shape == (2, K * out, 1)
    head = MODELS.build(dict(type='TemporalRegressionHead',
                             in_channels=K * out, num_joints=K))
    assert head(feats).shape == (2, K, 3)
    assert _count(model) == _expected_params(in_channels, seq_len, 128, 3,
                                             out=out_dims)


def test_documented_parameter_counts():
    """The counts quoted in the docstring, against MMPose's 27-frame TCN."""
    assert _count(_build()) == 523315
    assert _count(_build(seq_len=27)) == 529971
    tcn = MODELS.build(dict(type='TCN', in_channels=2 * K,
                            stem_channels=1024, num_blocks=2,
                            kernel_sizes=(3, 3, 3)))
    assert _count(tcn) == 8503296


def test_default_skeleton_and_adjacency():
    model = _build(num_blocks=1)
    links = load_h36m_metainfo()['skeleton_links']
    assert model.skeleton_links == [tuple(link) for link in links]
    # brute force: neighbours (and self) over sqrt of the degree product
    neighbours = {i: {i} for i in range(K)}
    for i, j in links:
        neighbours[i].add(j)
        neighbours[j].add(i)
    adj = model.blocks[0].gcn_spatial.adjacency
    for i in range(K):
        for j in range(K):
            ref = (1.0 / math.sqrt(len(neighbours[i]) * len(neighbours[j]))
                   if j in neighbours[i] else 0.0)
            assert adj[i, j].item() == pytest.approx(ref, rel=1e-6, abs=0)
    # rows of the pelvis (3 neighbours + self) and of a leaf (head, 10)
    assert adj[0].gt(0).sum() == 4 and adj[10].gt(0).sum() == 2


def test_graph_conv_against_loops():
    gen = torch.Generator().manual_seed(0)
    adjacency = torch.rand(4, 4, generator=gen)
    conv = GraphConv(3, 2, adjacency)
    x = torch.randn(2, 4, 3, generator=gen)
    out = conv(x)
    w, b = conv.linear.weight, conv.linear.bias
    for n in range(2):
        for i in range(4):
            ref = sum(adjacency[i, j] * (w @ x[n, j] + b) for j in range(4))
            torch.testing.assert_close(out[n, i], ref, rtol=1e-5,
                                       atol=1e-6)


def test_custom_skeleton_and_errors():
    model = _build(num_joints=4, skeleton_links=[(0, 1), (1, 2), (2, 3)],
                   embed_dims=16, token_hidden=8, num_blocks=1)
    assert model(torch.randn(3, 8, 1))[-1].shape == (3, 64, 1)
    with pytest.raises(ValueError, match='expects'):
        model(torch.randn(3, 8, 2))
    with pytest.raises(ValueError, match='invalid skeleton link'):
        _build(num_joints=4, skeleton_links=[(0, 4)])
    with pytest.raises(ValueError):
        _build(seq_len=0)


def test_token_order_follows_the_codec():
    """Channel k*C + c of the input belongs to joint k: changing joint 3's
    input changes the output of joint 3 (and, through mixing, others), but
    with no blocks only joint 3's features change."""
    model = _build(num_blocks=0, embed_dims=8, seq_len=2)
    model.eval()
    x = torch.randn(1, 2 * K, 2)
    y = x.clone()
    y[0, 6:8] += 1.0  # joint 3, (x, y), both frames
    diff = (model(y)[-1] - model(x)[-1]).reshape(K, 8).abs().sum(1)
    assert diff[3] > 0 and diff[torch.arange(K) != 3].max() == 0


def test_pose_lifter_forward():
    lifter = MODELS.build(dict(
        type='PoseLifter',
        backbone=dict(type='GraphMLPLifter', seq_len=27, embed_dims=32,
                      num_blocks=1),
        head=dict(type='TemporalRegressionHead', in_channels=K * 32,
                  num_joints=K, loss=dict(type='MPJPELoss'),
                  decoder=dict(type='VideoPoseLifting', num_keypoints=K))))
    lifter.eval()
    out = lifter(torch.randn(2, 2 * K, 27), None, mode='tensor')
    assert out.shape == (2, K, 3)


def test_short_training_fits_a_fixed_batch():
    torch.manual_seed(0)
    model = _build(embed_dims=32, num_blocks=2, token_hidden=32)
    head = MODELS.build(dict(type='TemporalRegressionHead',
                             in_channels=K * 32, num_joints=K))
    x = torch.randn(16, 2 * K, 1)
    # a smooth target: a fixed random linear map of the 2D pose plus depth
    lift = torch.randn(2 * K, 3 * K) / math.sqrt(2 * K)
    target = (x[..., 0] @ lift).reshape(16, K, 3)
    params = list(model.parameters()) + list(head.parameters())
    optim = torch.optim.Adam(params, lr=1e-3)
    model.train(), head.train()
    losses = []
    for _ in range(100):
        loss = F.mse_loss(head(model(x)), target)
        optim.zero_grad()
        loss.backward()
        optim.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]
