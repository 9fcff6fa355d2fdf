import math

import numpy as np
import pytest
import torch
from mmpose.registry import MODELS

from probpose_ext.models import OKSRiskLoss
from probpose_ext.ops.oks_risk import (oks_risk, oks_risk_loss,
                                       oks_target_map, sobel_energy)

H, W = 9, 7


def _brute_target(gx, gy, var):
    t = np.zeros((H, W))
    for y in range(H):
        for x in range(W):
            t[y, x] = math.exp(-((x - gx)**2 + (y - gy)**2) / (2 * var))
    return t


def _brute_sobel_energy(p):
    sx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float)
    padded = np.pad(p, 1)
    energy = 0.0
    for y in range(H):
        for x in range(W):
            win = padded[y:y + 3, x:x + 3]
            # cross-correlation, as torch's conv2d
            energy += (win * sx).sum()**2 + (win * sx.T).sum()**2
    return energy


def test_target_map_matches_brute_force():
    kpts = torch.tensor([[[2.3, 4.1], [6.0, 0.0]]], dtype=torch.float64)
    var = torch.tensor([[1.7, 4.0]], dtype=torch.float64)
    t = oks_target_map(kpts, var, (W, H))
    assert t.shape == (1, 2, H, W)
    for k in range(2):
        np.testing.assert_allclose(
            t[0, k].numpy(), _brute_target(*kpts[0, k].tolist(),
                                           var[0, k].item()), rtol=1e-12)


def test_risk_hand_computed_cases():
    var = 2.5
    g = torch.tensor([[[3.0, 4.0]]], dtype=torch.float64)
    t = torch.from_numpy(_brute_target(3.0, 4.0, var))
    # uniform map: risk = 1 - mean(T)
    uniform = torch.full((1, 1, H, W), 1 / (H * W), dtype=torch.float64)
    assert oks_risk(uniform, g, var).item() == pytest.approx(
        1 - t.mean().item(), rel=1e-12)
    # delta at the ground truth: no risk; at distance d: 1 - exp(-d^2/2v)
    delta = torch.zeros(1, 1, H, W, dtype=torch.float64)
    delta[0, 0, 4, 3] = 1
    assert oks_risk(delta, g, var).item() == pytest.approx(0, abs=1e-15)
    far = torch.zeros_like(delta)
    far[0, 0, 1, 5] = 1  # d^2 = 2^2 + 3^2
    assert oks_risk(far, g, var).item() == pytest.approx(
        1 - math.exp(-13 / (2 * var)), rel=1e-12)
    # normalised target as the map: risk = 1 - sum T^2 / sum T
    normalised = (t / t.sum())[None, None]
    assert oks_risk(normalised, g, var).item() == pytest.approx(
        1 - (t**2).sum().item() / t.sum().item(), rel=1e-12)


def test_sobel_energy_closed_form_and_brute_force():
    # a unit delta away from the border: each Sobel kernel's squared entries
    # sum to 1 + 4 + 1 + 1 + 4 + 1 = 12, so the energy is 24
    delta = torch.zeros(1, 1, H, W, dtype=torch.float64)
    delta[0, 0, 4, 3] = 1
    assert sobel_energy(delta).item() == pytest.approx(24.0)
    rng = np.random.default_rng(0)
    p = rng.random((2, 3, H, W))
    energy = sobel_energy(torch.from_numpy(p))
    for n in range(2):
        for k in range(3):
            assert energy[n, k].item() == pytest.approx(
                _brute_sobel_energy(p[n, k]), rel=1e-12)


def test_loss_combines_terms_and_weights():
    rng = np.random.default_rng(1)
    p = torch.from_numpy(rng.random((2, 3, H, W)))
    p = p / p.sum(dim=(2, 3), keepdim=True)
    kpts = torch.from_numpy(rng.random((2, 3, 2)) * [W - 1, H - 1])
    var = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    alpha = 0.05
    per = oks_risk_loss(p, kpts, var, alpha=alpha, reduction='none')
    expected = (1 - alpha) * oks_risk(p, kpts, var) + alpha * sobel_energy(p)
    torch.testing.assert_close(per, expected)
    # v=0 / out-of-window keypoints carry weight 0: no loss, no gradient
    weights = torch.tensor([[1., 0., 1.], [0., 0., 1.]], dtype=torch.float64)
    p.requires_grad_(True)
    mean = oks_risk_loss(p, kpts, var, weights, alpha)
    assert mean.item() == pytest.approx(
        (per * weights).sum().item() / 3.0, rel=1e-12)
    mean.backward()
    assert (p.grad[weights == 0] == 0).all()
    assert (p.grad[weights == 1].abs().sum(dim=(-2, -1)) > 0).all()
    zero = oks_risk_loss(p, kpts, var, torch.zeros(2, 3), alpha)
    assert zero.item() == 0.0


def test_gradcheck():
    rng = np.random.default_rng(2)
    p = torch.from_numpy(rng.random((1, 2, 5, 4))).requires_grad_(True)
    kpts = torch.tensor([[[1.5, 2.0], [3.0, 0.5]]], dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda q: oks_risk_loss(q, kpts, 1.3, alpha=0.3), (p, ))


def test_registered_loss_from_config():
    loss = MODELS.build(dict(type='OKSRiskLoss', alpha=0.1, loss_weight=2.))
    assert isinstance(loss, OKSRiskLoss)
    p = torch.full((1, 1, H, W), 1 / (H * W))
    g = torch.tensor([[[3.0, 4.0]]])
    expected = 2 * oks_risk_loss(p, g, 2.0, alpha=0.1)
    assert loss(p, g, 2.0).item() == pytest.approx(expected.item())
    with pytest.raises(ValueError, match='alpha'):
        OKSRiskLoss(alpha=1.5)
    with pytest.raises(ValueError, match='reduction'):
        OKSRiskLoss(reduction='avg')
    with pytest.raises(ValueError, match='keypoints'):
        loss(p, torch.zeros(1, 2, 2), 2.0)


def _conv_sobel_energy(p):
    """Reference: the two 3x3 Sobel kernels with torch's conv2d (autograd
    through it), zero padding."""
    n, k, height, width = p.shape
    sx = torch.tensor([[-1., 0., 1.], [-2., 0., 2.], [-1., 0., 1.]],
                      dtype=p.dtype)
    kernels = torch.stack([sx, sx.t()])[:, None]
    grads = torch.nn.functional.conv2d(
        p.reshape(n * k, 1, height, width), kernels, padding=1)
    return grads.square().sum(dim=(1, 2, 3)).reshape(n, k)


@pytest.mark.parametrize('shape', [(1, 1, 1, 1), (2, 3, 1, 5), (2, 3, 4, 1),
                                   (1, 2, 2, 2), (2, 3, H, W),
                                   (2, 17, 32, 24)])
def test_sobel_energy_gradients_match_conv2d(shape):
    # the quadratic-form implementation against autograd through conv2d:
    # values, gradients and (create_graph) second derivatives
    gen = torch.Generator().manual_seed(3)
    p = torch.rand(shape, generator=gen, dtype=torch.float64)
    p.requires_grad_(True)
    g = torch.rand(shape[:2], generator=gen, dtype=torch.float64)
    v = torch.rand(shape, generator=gen, dtype=torch.float64)
    results = []
    for energy_fn in (sobel_energy, _conv_sobel_energy):
        energy = energy_fn(p)
        grad, = torch.autograd.grad(energy, p, g, create_graph=True)
        hvp, = torch.autograd.grad((grad * v).sum(), p)
        results.append((energy, grad, hvp))
    for ours, ref in zip(*results):
        torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
    assert torch.autograd.gradgradcheck(sobel_energy, (p[:1, :2, :5, :4], ))


def test_sobel_energy_float32_and_shape_check():
    gen = torch.Generator().manual_seed(4)
    p = torch.rand(4, 17, 32, 24, generator=gen)
    ref = _conv_sobel_energy(p.double())
    torch.testing.assert_close(sobel_energy(p), ref.float())
    # non-contiguous input (a transposed view) gives the same values
    torch.testing.assert_close(
        sobel_energy(p.transpose(-2, -1).contiguous().transpose(-2, -1)),
        sobel_energy(p))
    with pytest.raises(ValueError, match='N, K, H, W'):
        sobel_energy(p[0])
