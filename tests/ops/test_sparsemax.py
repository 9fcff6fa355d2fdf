"""Tests of :func:`probpose_ext.ops.sparsemax` (module ``ops.simplex``): exactness against
an independent projection, closed forms, gradients, dtypes and devices."""
import entmax
import numpy as np
import pytest
import torch

from probpose_ext.ops import simplex as sparsemax_module
from probpose_ext.ops.simplex import sparsemax, sparsemax_maps

F64 = torch.float64
# Row lengths covering the sort path (< 128), the grouped Newton path, and
# rows that are not a multiple of the group size (padded).
LENGTHS = [1, 2, 7, 127, 128, 131, 1000, 3072]


def _project_bisection(z):
    """Independent reference: bisection on tau in numpy float64.

    ``f(t) = sum max(z - t, 0) - 1`` is decreasing with its root in
    ``[max(z) - 1, max(z)]``; 200 halvings reach float64 resolution.
    """
    z = np.asarray(z, dtype=np.float64)
    low = z.max(axis=-1, keepdims=True) - 1.0
    high = low + 1.0
    for _ in range(200):
        mid = 0.5 * (low + high)
        above = np.maximum(z - mid, 0.0).sum(axis=-1, keepdims=True) > 1.0
        low = np.where(above, mid, low)
        high = np.where(above, high, mid)
    return np.maximum(z - 0.5 * (low + high), 0.0)


def _random_logits(shape, scale=1.0, seed=0, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    return (scale * torch.randn(shape, generator=gen, dtype=F64)).to(dtype)


def _assert_simplex(p, dim, atol):
    assert (p >= 0).all()
    torch.testing.assert_close(
        p.double().sum(dim),
        torch.ones_like(p.sum(dim), dtype=F64),
        atol=atol,
        rtol=0)


@pytest.mark.parametrize('shape,dim', [((5, ), 0), ((4, 3072), -1),
                                       ((3, 17, 200), 1), ((2, 3, 4, 5), 0),
                                       ((2, 3, 4, 5), -2), ((6, 1), -1),
                                       ((6, 1), 0)])
def test_is_a_distribution(shape, dim):
    for scale in (0.01, 1.0, 30.0):
        p = sparsemax(_random_logits(shape, scale), dim)
        assert p.shape == shape and p.dtype == torch.float32
        _assert_simplex(p, dim, atol=1e-5)


@pytest.mark.parametrize('length', LENGTHS)
@pytest.mark.parametrize('scale', [1e-4, 0.05, 1.0, 40.0, 1e4])
def test_matches_bisection_projection(length, scale):
    z = _random_logits((6, length), scale, seed=length)
    expected = _project_bisection(z.double().numpy())
    # float64 is exact up to rounding; float32 up to float32 resolution.
    np.testing.assert_allclose(
        sparsemax(z.double()).numpy(), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        sparsemax(z).double().numpy(), expected, rtol=0, atol=2e-6)


@pytest.mark.parametrize('length', [5, 300, 3072])
def test_matches_bisection_with_ties(length):
    gen = torch.Generator().manual_seed(1)
    # Few distinct values, so many logits tie, also at the support edge.
    z = torch.randint(0, 5, (8, length), generator=gen).to(F64) * 0.25
    z[0] = 0.0
    z[1, :3] = 2.0
    p = sparsemax(z)
    np.testing.assert_allclose(
        p.numpy(), _project_bisection(z.numpy()), rtol=0, atol=1e-12)
    torch.testing.assert_close(p[0], torch.full_like(p[0], 1 / length))
    # Tied logits get tied probabilities.
    for row in range(z.size(0)):
        for value in z[row].unique():
            tied = p[row][z[row] == value]
            assert torch.equal(tied, tied[:1].expand_as(tied))


@pytest.mark.parametrize('length', [3, 200])
def test_kkt_conditions(length):
    """p is the projection iff z_i - p_i is one value tau on the support
    and z_i <= tau off it."""
    z = _random_logits((5, length), 0.3, seed=2, dtype=F64)
    p = sparsemax(z)
    for z_row, p_row in zip(z, p):
        support = p_row > 0
        taus = (z_row - p_row)[support]
        assert taus.numel() >= 1
        torch.testing.assert_close(
            taus, taus[:1].expand_as(taus), rtol=0, atol=1e-12)
        assert (z_row[~support] <= taus[0] + 1e-12).all()


def test_closed_forms():
    for length in (1, 4, 3072):
        z = torch.full((2, length), 3.7)
        torch.testing.assert_close(
            sparsemax(z), torch.full_like(z, 1 / length), rtol=0, atol=1e-7)
    z = torch.zeros(2, 500)
    z[0, 17] = 1.5
    z[1, 499] = 1.0  # a gap of exactly 1 still gives a one-hot
    expected = torch.zeros_like(z)
    expected[0, 17] = expected[1, 499] = 1.0
    assert torch.equal(sparsemax(z), expected)
    for a, b in [(0.3, 0.0), (-1.2, -1.9), (5.0, 5.25)]:
        p = sparsemax(torch.tensor([a, b], dtype=F64))
        torch.testing.assert_close(
            p, torch.tensor([(1 + a - b) / 2, (1 - a + b) / 2], dtype=F64))
    torch.testing.assert_close(
        sparsemax(torch.tensor([1.0, 0.5, -2.0])),
        torch.tensor([0.75, 0.25, 0.0]))


def _untied_logits(shape, seed, margin=1e-3):
    """float64 logits whose values are all at least ``margin`` away from
    their row's threshold, so that finite differences keep the support."""
    gen = torch.Generator().manual_seed(seed)
    while True:
        z = torch.randn(shape, generator=gen, dtype=F64) * 0.3
        p = sparsemax(z)
        tau = ((z - p) * (p > 0)).sum(-1, keepdim=True) / (p > 0).sum(
            -1, keepdim=True)
        if ((z - tau).abs() > margin).all():
            return z.requires_grad_()


@pytest.mark.parametrize('shape', [(3, 6), (2, 130)])
def test_gradcheck(shape):
    z = _untied_logits(shape, seed=shape[-1])
    assert torch.autograd.gradcheck(sparsemax, (z, ), eps=1e-6, atol=1e-7)
    zt = _untied_logits(shape, seed=7).detach().T.contiguous()
    zt.requires_grad_()
    assert torch.autograd.gradcheck(
        lambda x: sparsemax(x, dim=0), (zt, ), eps=1e-6, atol=1e-7)


def test_backward_closed_form():
    z = torch.tensor([[0.9, 0.6, -1.0, 0.5], [1.0, 1.0, 1.0, 1.0]],
                     requires_grad=True)
    grad = torch.tensor([[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]])
    sparsemax(z).backward(grad)
    # Row 0: support {0, 1, 3} (tau = 1/3), mean gradient 7/3.
    expected = torch.tensor([[1 - 7 / 3, 2 - 7 / 3, 0.0, 4 - 7 / 3],
                             [-1.5, -0.5, 0.5, 1.5]])
    torch.testing.assert_close(z.grad, expected)


@pytest.mark.parametrize('length,scale', [(10, 1.0), (300, 0.1),
                                          (3072, 1.0), (3072, 0.01)])
def test_agrees_with_entmax(length, scale):
    z = _random_logits((16, length), scale, seed=3)
    grad = _random_logits((16, length), 1.0, seed=4)
    ours = z.clone().requires_grad_()
    theirs = z.clone().requires_grad_()
    p_ours = sparsemax(ours)
    p_theirs = entmax.sparsemax(theirs, dim=-1)
    torch.testing.assert_close(p_ours, p_theirs, rtol=0, atol=1e-6)
    assert torch.equal(p_ours > 0, p_theirs > 0)
    p_ours.backward(grad)
    p_theirs.backward(grad)
    torch.testing.assert_close(ours.grad, theirs.grad, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('dtype,eps', [(torch.float16, 2**-10),
                                       (torch.bfloat16, 2**-7)])
@pytest.mark.parametrize('length', [50, 3072])
def test_half_precision(dtype, eps, length):
    z = _random_logits((4, length), 0.5, seed=5, dtype=dtype)
    z.requires_grad_()
    p = sparsemax(z)
    assert p.dtype == dtype
    reference = sparsemax(z.detach().float())
    # Computed in float32: the only error is the final rounding.
    torch.testing.assert_close(p.float(), reference, rtol=eps, atol=1e-7)
    # Each probability is rounded by at most eps / 2 relative, so the sum
    # is off by at most eps / 2.
    _assert_simplex(p.float(), -1, atol=eps)
    grad = _random_logits((4, length), 1.0, seed=6, dtype=dtype)
    p.backward(grad)
    assert z.grad.dtype == dtype
    z32 = z.detach().float().requires_grad_()
    sparsemax(z32).backward(grad.float())
    torch.testing.assert_close(z.grad.float(), z32.grad, rtol=eps, atol=eps)


def test_shift_invariance():
    z = _random_logits((3, 3072), 0.2, seed=8, dtype=F64)
    for shift in (100.0, -1e3, torch.tensor([[1.0], [2.0], [-5.0]])):
        torch.testing.assert_close(
            sparsemax(z + shift), sparsemax(z), rtol=0, atol=1e-12)
    # float32 logits on a grid where adding 64 is exact: identical results.
    z32 = torch.round(_random_logits((3, 3072), 0.2, seed=8) * 1024) / 1024
    assert torch.equal(sparsemax(z32 + 64.0), sparsemax(z32))
    assert torch.equal(sparsemax(z32[:, :50] - 64.0), sparsemax(z32[:, :50]))


@pytest.mark.parametrize('dim', [1, -1, 3, -3])
def test_dim_handling_4d(dim):
    z = _random_logits((2, 5, 3, 130), 0.5, seed=9, dtype=F64)
    p = sparsemax(z, dim)
    assert p.shape == z.shape and p.is_contiguous()
    _assert_simplex(p, dim, atol=1e-12)
    moved = sparsemax(z.movedim(dim, -1).reshape(-1, z.size(dim)))
    expected = moved.view(z.movedim(dim, -1).shape).movedim(-1, dim)
    torch.testing.assert_close(p, expected, rtol=0, atol=0)
    torch.testing.assert_close(
        p, entmax.sparsemax(z, dim=dim), rtol=0, atol=1e-12)
    # Gradients along a non-last dim match entmax as well.
    grad = _random_logits(z.shape, 1.0, seed=10, dtype=F64)
    ours = z.clone().requires_grad_()
    theirs = z.clone().requires_grad_()
    sparsemax(ours, dim).backward(grad)
    entmax.sparsemax(theirs, dim=dim).backward(grad)
    torch.testing.assert_close(ours.grad, theirs.grad, rtol=0, atol=1e-12)


def test_non_contiguous_input():
    base = _random_logits((3072, 4), 0.5, seed=17)
    for z in (base.T, base.T.reshape(8, 1536)[:, ::2]):
        assert not z.is_contiguous()
        p = sparsemax(z)
        assert p.is_contiguous()
        torch.testing.assert_close(p, sparsemax(z.contiguous()), rtol=0,
                                   atol=0)


def test_sort_path_and_fallback_match_newton_path(monkeypatch):
    """The CUDA algorithm (sort) and the fallback agree with the CPU
    grouped Newton path."""
    z = torch.cat([
        _random_logits((4, 1000), 0.01, seed=11),
        _random_logits((4, 1000), 5.0, seed=12)
    ])
    newton = sparsemax(z)
    monkeypatch.setattr(sparsemax_module, '_MIN_GROUPED', 10**9)
    sort = sparsemax(z)
    monkeypatch.setattr(sparsemax_module, '_MIN_GROUPED', 128)
    monkeypatch.setattr(sparsemax_module, '_MAX_ITER', 1)  # never converges
    fallback = sparsemax(z)
    torch.testing.assert_close(sort, newton, rtol=0, atol=1e-7)
    assert torch.equal(fallback, sort)


def test_special_inputs():
    masked = torch.tensor([[0.5, float('-inf'), 0.2, 0.3]] * 2)
    p = sparsemax(masked)
    assert p[:, 1].eq(0).all()
    torch.testing.assert_close(p[:, [0, 2, 3]],
                               sparsemax(masked[:, [0, 2, 3]]))
    long = _random_logits((3, 500), 1.0, seed=13)
    long[0, 3] = float('-inf')
    long[1, 3] = float('nan')
    p = sparsemax(long)
    assert p[0, 3] == 0 and torch.isfinite(p[[0, 2]]).all()
    assert torch.isnan(p[1]).all()
    assert torch.isnan(sparsemax(torch.tensor([float('nan'), 1.0]))).all()
    # Empty tensors, size-1 dims and 0-d tensors.
    for shape, dim in [((0, 4), -1), ((4, 0), -1), ((4, 0), 0), ((0, ), 0)]:
        z = torch.zeros(shape, requires_grad=True)
        out = sparsemax(z, dim)
        assert out.shape == shape
        out.sum().backward()
        assert z.grad.shape == shape
    z = torch.randn(3, 1, 2, requires_grad=True)
    assert torch.equal(sparsemax(z, 1), torch.ones(3, 1, 2))
    sparsemax(z, 1).mul(torch.randn(3, 1, 2)).sum().backward()
    assert torch.equal(z.grad, torch.zeros(3, 1, 2))
    assert sparsemax(torch.tensor(-2.5)).item() == 1.0


def test_invalid_inputs():
    for bad in (torch.arange(4), torch.ones(3, dtype=torch.bool),
                torch.ones(2, dtype=torch.complex64), [0.1, 0.2]):
        with pytest.raises(ValueError, match='floating-point'):
            sparsemax(bad)
    with pytest.raises(IndexError, match='out of range'):
        sparsemax(torch.randn(2, 3), dim=2)
    with pytest.raises(IndexError, match='out of range'):
        sparsemax(torch.randn(2, 3), dim=-3)


@pytest.mark.cuda
@pytest.mark.parametrize('dtype', [torch.float32, F64, torch.float16])
def test_cuda_matches_cpu(dtype):
    z = torch.cat([
        _random_logits((64, 3072), 1.0, seed=14, dtype=dtype),
        _random_logits((64, 3072), 0.01, seed=15, dtype=dtype)
    ])
    grad = _random_logits(z.shape, 1.0, seed=16, dtype=dtype)
    cpu = z.clone().requires_grad_()
    gpu = z.cuda().requires_grad_()
    p_cpu = sparsemax(cpu)
    p_gpu = sparsemax(gpu)
    assert p_gpu.device == gpu.device and p_gpu.dtype == dtype
    atol = {torch.float32: 1e-6, F64: 1e-12, torch.float16: 1e-3}[dtype]
    torch.testing.assert_close(p_gpu.cpu(), p_cpu, rtol=0, atol=atol)
    p_cpu.backward(grad)
    p_gpu.backward(grad.cuda())
    torch.testing.assert_close(
        gpu.grad.cpu(), cpu.grad, rtol=atol * 10, atol=atol * 10)
    p4 = sparsemax(z.cuda().view(2, 64, 48, 64), dim=1)
    torch.testing.assert_close(
        p4.cpu(), sparsemax(z.view(2, 64, 48, 64), dim=1), rtol=0,
        atol=atol)


def test_sparsemax_maps_normalises_each_map_at_the_temperature():
    """Each (H, W) map is the simplex projection of its logits / T: the
    row-wise bisection reference on the flattened maps."""
    gen = torch.Generator().manual_seed(3)
    logits = torch.randn(2, 3, 4, 5, generator=gen, dtype=torch.float64)
    prob = sparsemax_maps(logits, 0.7)
    assert prob.shape == logits.shape
    expected = _project_bisection((logits / 0.7).reshape(6, 20).numpy())
    np.testing.assert_allclose(prob.reshape(6, 20).numpy(), expected,
                               atol=1e-12)
    with pytest.raises(ValueError, match='temperature'):
        sparsemax_maps(logits, 0.0)
    with pytest.raises(ValueError, match=r'\(N, K, H, W\)'):
        sparsemax_maps(logits[0], 1.0)


def _brute_fenchel_young(z, q):
    """``max_{p in simplex} <z, p> - |p|^2 / 2`` (attained at the
    projection of z, found here by bisection on the threshold) plus
    ``|q|^2 / 2 - <z, q>``, in float64 numpy."""
    lo, hi = z.max() - 1.0, z.max()
    for _ in range(200):
        tau = 0.5 * (lo + hi)
        if np.maximum(z - tau, 0).sum() > 1:
            lo = tau
        else:
            hi = tau
    p = np.maximum(z - 0.5 * (lo + hi), 0)
    return z @ p - 0.5 * p @ p + 0.5 * q @ q - z @ q


def test_sparsemax_loss_against_brute_force_and_its_gradient():
    from probpose_ext.ops import oks_risk, sparsemax_loss
    gen = torch.Generator().manual_seed(3)
    z = torch.randn(6, 40, generator=gen, dtype=F64) * 2
    q = torch.rand(6, 40, generator=gen, dtype=F64) ** 4
    q = q / q.sum(-1, keepdim=True)
    loss = sparsemax_loss(z, q)
    want = [_brute_fenchel_young(a, b)
            for a, b in zip(z.numpy(), q.numpy())]
    np.testing.assert_allclose(loss.numpy(), want, rtol=1e-9, atol=1e-12)
    assert (loss >= 0).all()
    # zero at the target sparsemax reaches; shift invariant
    p = sparsemax(z)
    torch.testing.assert_close(sparsemax_loss(z, p), torch.zeros(6,
                                                                 dtype=F64))
    torch.testing.assert_close(sparsemax_loss(z + 3.7, q), loss)
    # gradient: sparsemax(z) - q, also on pixels outside the support
    zg = z.clone().requires_grad_()
    sparsemax_loss(zg, q).sum().backward()
    torch.testing.assert_close(zg.grad, p - q)
    outside = (p == 0) & (q > 0)
    assert outside.any() and (zg.grad[outside] < 0).all()
    # the OKS risk sends those pixels no gradient at all
    maps = torch.zeros(1, 1, 4, 10, dtype=F64)
    maps[0, 0, 0, 0] = 5.0  # support: one pixel
    logits = maps.clone().requires_grad_()
    prob = sparsemax(logits.reshape(1, 1, 40)).reshape(1, 1, 4, 10)
    oks_risk(prob, torch.tensor([[[8.0, 3.0]]], dtype=F64), 2.0).sum(
    ).backward()
    assert (logits.grad == 0).all()
    with pytest.raises(ValueError, match='shape'):
        sparsemax_loss(z, q[:, :5])
    # maps the caller already has give the same value and gradient
    zp = z.clone().requires_grad_()
    given = sparsemax_loss(zp, q, prob=sparsemax(z))
    torch.testing.assert_close(given, loss)
    given.sum().backward()
    torch.testing.assert_close(zp.grad, p - q)
    with pytest.raises(ValueError, match='prob must have the shape'):
        sparsemax_loss(z, q, prob=p[:, :5])


def test_export_takes_the_sort_threshold_and_matches_eager(monkeypatch):
    """torch.export (the graph the dynamo ONNX exporter converts) must not
    trace the grouped Newton path (data-dependent loops); the exported
    graph, run on new logits, equals eager sparsemax."""
    from probpose_ext.ops import simplex

    class Net(torch.nn.Module):

        def forward(self, x):
            return simplex.sparsemax(x, dim=-1)

    calls = []
    grouped = simplex._threshold_grouped

    def spy(*args, **kwargs):
        calls.append(simplex.exporting())
        return grouped(*args, **kwargs)

    monkeypatch.setattr(simplex, '_threshold_grouped', spy)
    torch.manual_seed(0)
    x = torch.randn(2, 17, 768) * 3
    simplex.sparsemax(x, dim=-1)
    assert calls == [False]  # eager CPU: the grouped path
    assert not simplex.exporting()
    program = torch.export.export(Net(), (x, ))
    assert calls == [False]  # not traced
    y = torch.randn(2, 17, 768) * 3
    out = program.module()(y)
    assert torch.allclose(out, simplex.sparsemax(y, dim=-1), atol=1e-6)
    assert torch.allclose(out.sum(-1), torch.ones(2, 17), atol=1e-5)


def test_topk_threshold_is_exact_below_k_and_flags_longer_supports():
    """The partial-sort threshold of exported graphs: equal to the
    bisection reference where every support is shorter than k, flagged
    where one may not be."""
    from probpose_ext.ops.simplex import _threshold_sort, _threshold_topk
    z = _random_logits((6, 3072), scale=0.05, seed=3, dtype=F64)
    z[:, 17] += 1.0  # peaked rows: supports of tens of pixels
    shifted = z - z.amax(-1, keepdim=True)
    support = (torch.from_numpy(_project_bisection(z.numpy())) > 0).sum(-1)
    k = int(support.max()) + 1
    tau, inexact = _threshold_topk(shifted, k)
    assert not bool(inexact)
    p = (shifted - tau).clamp(min=0)
    np.testing.assert_allclose(p.numpy(), _project_bisection(z.numpy()),
                               rtol=0, atol=1e-12)
    torch.testing.assert_close(tau, _threshold_sort(shifted))
    # k equal to the longest support: that row's condition still holds
    _, inexact = _threshold_topk(shifted, k - 1)
    assert bool(inexact)


@pytest.mark.parametrize('scale', [3.0, 0.001])
def test_exported_graph_takes_the_partial_sort_or_falls_back(scale):
    """torch.export traces the partial sort with a torch.cond fallback to
    the full sort; the graph equals eager sparsemax on peaked rows
    (supports < 512) and on flat rows (supports of thousands: the
    fallback)."""
    from probpose_ext.ops import simplex

    class Net(torch.nn.Module):

        def forward(self, x):
            return simplex.sparsemax(x, dim=-1)

    x = _random_logits((3, 2, 3072), scale=3.0, seed=1)
    program = torch.export.export(Net(), (x, ))
    targets = {str(n.target) for n in program.graph.nodes}
    assert any('cond' in t for t in targets), targets
    y = _random_logits((3, 2, 3072), scale=scale, seed=2)
    support = (simplex.sparsemax(y, dim=-1) > 0).sum(-1)
    assert (support.max() > 512) == (scale < 0.01)
    out = program.module()(y)
    np.testing.assert_allclose(out.numpy(), _project_bisection(y.numpy()),
                               rtol=0, atol=1e-6)
