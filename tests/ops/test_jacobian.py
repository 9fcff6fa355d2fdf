"""Per-sample Jacobian (probpose_ext.ops.jacobian) against central finite
differences of a small MLP and the analytic Jacobian of a linear map.

Finite-difference tolerance: central differences with step ``h`` have
truncation error ``~h^2 |f'''| / 6`` and rounding error ``~eps |f| / h``;
with ``h = 1e-5`` in float64 both are ``<~1e-10`` for this smooth MLP of
unit-scale weights, so 1e-6 leaves a wide margin.
"""
import pytest
import torch

from probpose_ext.ops.jacobian import output_jacobian, tanh_mlp_jacobian

F64 = torch.float64


def _mlp(z_dim=4, d=6, seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(z_dim, 16), torch.nn.Tanh(),
                               torch.nn.Linear(16, 16), torch.nn.GELU(),
                               torch.nn.Linear(16, d)).to(F64)


def _central_differences(fn, z, h=1e-5):
    """(N, D, Z) by perturbing each input coordinate of each sample."""
    n, zdim = z.shape
    cols = []
    with torch.no_grad():
        for j in range(zdim):
            e = torch.zeros_like(z)
            e[:, j] = h
            cols.append((fn(z + e) - fn(z - e)) / (2 * h))
    return torch.stack(cols, -1)


def test_mlp_equals_finite_differences():
    net = _mlp()
    z = torch.randn(5,
                    4,
                    dtype=F64,
                    generator=torch.Generator().manual_seed(1))
    jac = output_jacobian(net, z)
    assert jac.shape == (5, 6, 4) and jac.dtype == F64
    torch.testing.assert_close(jac,
                               _central_differences(net, z),
                               rtol=0,
                               atol=1e-6)


def test_linear_map_exact():
    gen = torch.Generator().manual_seed(2)
    a = torch.randn(7, 3, dtype=F64, generator=gen)
    b = torch.randn(7, dtype=F64, generator=gen)
    z = torch.randn(4, 3, dtype=F64, generator=gen)
    jac = output_jacobian(lambda x: x @ a.T + b, z)
    torch.testing.assert_close(jac, a.expand(4, 7, 3), rtol=0, atol=1e-15)
    # per-sample linear map: row i of the output uses sample i's own z only
    jac2 = output_jacobian(lambda x: 2 * x[:, [2, 0]] - x[:, [1, 1]], z)
    expected = torch.tensor([[0., -1., 2.], [2., -1., 0.]], dtype=F64)
    torch.testing.assert_close(jac2, expected.expand(4, 2, 3), rtol=0, atol=0)


def test_detached_and_chunked():
    net = _mlp()
    z = torch.randn(6, 4, dtype=F64, requires_grad=True)
    jac = output_jacobian(net, z)
    assert not jac.requires_grad and jac.grad_fn is None
    assert all(p.grad is None for p in net.parameters())
    assert z.grad is None
    torch.testing.assert_close(output_jacobian(net, z, chunk_size=2),
                               jac,
                               rtol=0,
                               atol=1e-15)


def test_float32_matches_float64():
    net = _mlp()
    z = torch.randn(3, 4, dtype=F64)
    jac32 = output_jacobian(net.float(), z.float())
    assert jac32.dtype == torch.float32
    torch.testing.assert_close(jac32.double(),
                               output_jacobian(net.double(), z),
                               rtol=0,
                               atol=1e-5)


def test_rejects_bad_inputs():
    net = _mlp()
    with pytest.raises(ValueError, match=r'\(N, Z\)'):
        output_jacobian(net, torch.zeros(4, dtype=F64))
    with pytest.raises(ValueError, match=r'\(N, Z\)'):
        output_jacobian(net, torch.zeros(2, 4, dtype=torch.int64))
    with pytest.raises(TypeError):
        output_jacobian(net, [[0.0] * 4])
    with pytest.raises(ValueError, match=r'\(M, D\)'):
        output_jacobian(lambda x: net(x)[0], torch.zeros(2, 4, dtype=F64))


def test_tanh_mlp_closed_form_equals_differences_and_vmap():
    """Closed form of Linear-Tanh-Linear against central differences and
    output_jacobian (torch.func), in float64, batch of 7."""
    torch.manual_seed(3)
    net = torch.nn.Sequential(torch.nn.Linear(5, 9), torch.nn.Tanh(),
                              torch.nn.Linear(9, 4)).to(F64)
    z = torch.randn(7, 5, dtype=F64)
    jac = tanh_mlp_jacobian(z, net[0].weight, net[0].bias, net[2].weight)
    assert jac.shape == (7, 4, 5)
    torch.testing.assert_close(jac, _central_differences(net, z), rtol=0,
                               atol=1e-6)
    torch.testing.assert_close(jac, output_jacobian(net, z), rtol=0,
                               atol=1e-12)


def test_tanh_mlp_traces_for_export():
    """torch.export traces it (torch.func's transforms do not), and the
    exported graph equals eager on a new batch."""
    net = torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.Tanh(),
                              torch.nn.Linear(6, 2))

    class Jac(torch.nn.Module):

        def forward(self, z):
            return tanh_mlp_jacobian(z, net[0].weight, net[0].bias,
                                     net[2].weight)

    prog = torch.export.export(
        Jac(), (torch.randn(4, 3), ),
        dynamic_shapes=({0: torch.export.Dim('n', min=1, max=64)}, ))
    z = torch.randn(9, 3)
    torch.testing.assert_close(prog.module()(z), Jac()(z))


def test_tanh_mlp_rejects_bad_shapes():
    w1, b1, w2 = torch.zeros(6, 3), torch.zeros(6), torch.zeros(2, 6)
    with pytest.raises(ValueError, match='shapes'):
        tanh_mlp_jacobian(torch.zeros(4, 5), w1, b1, w2)
    with pytest.raises(ValueError, match='shapes'):
        tanh_mlp_jacobian(torch.zeros(4, 3), w1, torch.zeros(5), w2)
