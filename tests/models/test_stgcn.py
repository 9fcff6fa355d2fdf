"""STGCN: built from configs, output shapes over layouts and strides,
person-permutation equivariance, the graph convolution against a loop over
nodes, gradients, and a tiny network learning a separable toy task."""
import pytest
import torch
from mmengine.model import BaseModule
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS

import probpose_ext  # noqa: F401  (registration)
from probpose_ext.models.backbones.stgcn import STGCN, GraphConv
from probpose_ext.ops.skeleton_graph import adjacency

SMALL = dict(base_channels=8, num_stages=4, inflate_stages=(3, ),
             down_stages=(2, 4), temporal_kernel=3)


def _build(**kwargs) -> STGCN:
    init_default_scope('mmpose')
    return MODELS.build(dict(type='STGCN', **kwargs))


def _randomise_bn(model: torch.nn.Module, seed: int = 0) -> None:
    """Non-trivial BN statistics so that eval outputs depend on them."""
    gen = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            n = module.num_features
            module.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
            module.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
            module.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
            module.bias.data.copy_(torch.randn(n, generator=gen) * 0.1)


def test_default_build_and_parameter_count():
    model = _build()
    model.init_weights()  # init_cfg None: PyTorch's default initialisation
    assert isinstance(model, STGCN) and isinstance(model, BaseModule)
    assert model.A.shape == (3, 17, 17) and model.out_channels == 256
    assert 'A' in dict(model.named_buffers())
    assert [u.gcn.out_channels for u in model.units] == \
        [64] * 4 + [128] * 3 + [256] * 3
    assert model.units[0].residual is None
    n_params = sum(p.numel() for p in model.parameters())
    assert 3.0e6 < n_params < 3.2e6  # ST-GCN's ~3.1M


@pytest.mark.parametrize('layout,joints', [('coco', 17), ('h36m', 17),
                                           ('nturgb+d', 25)])
@pytest.mark.parametrize('frames,down_stages,out_frames', [
    (16, (2, 4), 4), (15, (2, 4), 4), (12, (), 12), (9, (1, ), 5)])
def test_output_shapes(layout, joints, frames, down_stages, out_frames):
    cfg = dict(SMALL, down_stages=down_stages)
    model = _build(graph_cfg=dict(layout=layout), in_channels=2, **cfg)
    x = torch.randn(2, 3, frames, joints, 2)
    out = model(x)
    assert out.shape == (2, 3, 16, out_frames, joints)
    assert model.out_channels == 16


@pytest.mark.parametrize('strategy,max_hop,K', [('uniform', 1, 1),
                                                ('distance', 2, 3),
                                                ('spatial', 2, 3)])
def test_strategies(strategy, max_hop, K):
    model = _build(graph_cfg=dict(layout='h36m', strategy=strategy,
                                  max_hop=max_hop), **SMALL)
    assert model.A.shape == (K, 17, 17)
    assert model.units[0].gcn.importance.shape == (K, 17, 17)
    assert model(torch.randn(1, 1, 8, 17, 3)).shape == (1, 1, 16, 2, 17)


def test_small_config():
    model = _build(base_channels=32, num_stages=6, inflate_stages=(3, 5),
                   down_stages=(3, 5))
    assert [u.gcn.out_channels for u in model.units] == \
        [32, 32, 64, 64, 128, 128]
    out = model(torch.randn(2, 1, 48, 17, 3))
    assert out.shape == (2, 1, 128, 12, 17)


def test_config_errors():
    with pytest.raises(ValueError, match='coco'):
        _build(graph_cfg=dict(layout='openpose'))
    with pytest.raises(ValueError, match='graph_cfg'):
        _build(graph_cfg=dict(layout='coco', mode='x'))
    with pytest.raises(ValueError, match='inflate_stages'):
        _build(num_stages=4, inflate_stages=(5, ))
    with pytest.raises(ValueError, match='odd'):
        _build(temporal_kernel=4)
    model = _build(**SMALL)
    with pytest.raises(ValueError, match='expects'):
        model(torch.randn(1, 1, 8, 25, 3))
    with pytest.raises(ValueError, match='expects'):
        model(torch.randn(1, 8, 17, 3))


@pytest.mark.parametrize('training', [False, True])
def test_person_permutation_equivariance(training):
    torch.manual_seed(0)
    model = _build(**SMALL)
    _randomise_bn(model)
    model.train(training)
    x = torch.randn(2, 3, 8, 17, 3)
    perm = torch.tensor([2, 0, 1])
    with torch.no_grad():
        out = model(x)
        out_perm = model(x[:, perm])
    torch.testing.assert_close(out_perm, out[:, perm], rtol=1e-5,
                               atol=1e-5)


@pytest.mark.parametrize('layout', ['coco', 'nturgb+d'])
def test_graph_conv_identity_weights_is_adjacency_product(layout):
    adj = torch.from_numpy(adjacency(layout, 'spatial'))
    K, V, _ = adj.shape
    C = 4
    gcn = GraphConv(C, C, K, V, edge_importance=True)
    with torch.no_grad():
        weight = torch.zeros(K * C, C, 1, 1)
        for k in range(K):
            weight[k * C:(k + 1) * C, :, 0, 0] = torch.eye(C)
        gcn.conv.weight.copy_(weight)
        gcn.conv.bias.zero_()
        gcn.importance.copy_(torch.rand(K, V, V) + 0.5)
    x = torch.randn(2, C, 5, V, dtype=torch.float32)
    with torch.no_grad():
        out = gcn(x, adj)
    mask = gcn.importance.detach()
    want = torch.zeros_like(out)
    for w in range(V):
        for v in range(V):
            for k in range(K):
                want[..., w] += x[..., v] * adj[k, v, w] * mask[k, v, w]
    torch.testing.assert_close(out, want, rtol=1e-5, atol=1e-6)


def test_gradients_reach_all_parameters():
    torch.manual_seed(0)
    model = _build(dropout=0.1, **SMALL)
    model.train()
    x = torch.randn(2, 2, 16, 17, 3, requires_grad=True)
    out = model(x)
    (out**2).mean().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    for name, param in model.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name


def _toy_batch(gen: torch.Generator, n: int, frames: int = 16):
    """Class 0: static joints; class 1: the same joints oscillating."""
    labels = torch.arange(n) % 2
    base = torch.randn(n, 1, 1, 17, 3, generator=gen)
    phase = torch.rand(n, 1, 1, 17, 1, generator=gen) * 6.28
    t = torch.arange(frames, dtype=torch.float32).view(1, 1, frames, 1, 1)
    wave = 0.5 * torch.sin(0.8 * t + phase)
    x = base + labels.view(n, 1, 1, 1, 1) * wave
    return x.expand(n, 1, frames, 17, 3).contiguous(), labels


def test_tiny_stgcn_learns_toy_task():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    model = _build(base_channels=8, num_stages=2, inflate_stages=(),
                   down_stages=(2, ), temporal_kernel=3)
    classifier = torch.nn.Linear(model.out_channels, 2)
    params = list(model.parameters()) + list(classifier.parameters())
    optim = torch.optim.Adam(params, lr=1e-2)
    x, labels = _toy_batch(gen, 32)

    def logits() -> torch.Tensor:
        return classifier(model(x).mean(dim=(1, 3, 4)))

    model.train()
    for _ in range(60):
        optim.zero_grad()
        loss = torch.nn.functional.cross_entropy(logits(), labels)
        loss.backward()
        optim.step()
    model.eval()
    with torch.no_grad():
        acc = (logits().argmax(1) == labels).float().mean().item()
    assert acc == 1.0
