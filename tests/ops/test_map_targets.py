"""Map targets of the TIC head: the discrete Gaussian against its formula
evaluated pixel by pixel and against its moments, the KL divergence against
a brute-force sum and its gradient ``P - T``."""
import math

import numpy as np
import pytest
import torch

from probpose_ext.ops.map_moments import map_moments
from probpose_ext.ops.map_targets import (discrete_gaussian_maps,
                                          map_kl_divergence)


def test_gaussian_maps_equal_the_formula_pixel_by_pixel():
    centres = torch.tensor([[[3.3, 4.6], [0.0, 0.0]], [[-2.0, 9.5], [7.0,
                                                                   1.2]]])
    size, sigma = (8, 10), 1.7
    maps = discrete_gaussian_maps(centres, size, sigma)
    assert maps.shape == (2, 2, 10, 8)
    for idx in np.ndindex(2, 2):
        cx, cy = centres[idx].tolist()
        brute = np.array([[
            math.exp(-((x - cx)**2 + (y - cy)**2) / (2 * sigma**2))
            for x in range(8)
        ] for y in range(10)])
        np.testing.assert_allclose(maps[idx].numpy(), brute / brute.sum(),
                                   rtol=1e-5, atol=1e-9)


def test_gaussian_maps_away_from_borders_have_the_centre_and_sigma():
    centres = torch.tensor([[20.3, 17.8], [25.0, 22.5]], dtype=torch.float64)
    for sigma in (0.8, 1.5, 3.0):
        maps = discrete_gaussian_maps(centres, (48, 40), sigma)
        mean, cov = map_moments(maps)
        assert torch.allclose(mean, centres, atol=1e-6)
        # a sampled Gaussian of sigma >= 0.8 px has variance sigma^2 up to
        # an aliasing term below 1e-4 (Poisson summation)
        expected = torch.eye(2, dtype=torch.float64) * sigma**2
        assert torch.allclose(cov, expected.expand_as(cov), atol=2e-4)


def test_gaussian_maps_far_outside_do_not_underflow():
    maps = discrete_gaussian_maps(torch.tensor([[500.0, -300.0]]), (6, 5), 1.)
    assert torch.isfinite(maps).all()
    assert maps.sum().item() == pytest.approx(1.0, abs=1e-6)
    # all mass on the pixel nearest to the centre, the corner (x=5, y=0)
    assert maps[0, 0, 5].item() == pytest.approx(1.0, abs=1e-6)


def test_gaussian_maps_reject_bad_arguments():
    with pytest.raises(ValueError, match='shape'):
        discrete_gaussian_maps(torch.zeros(3), (4, 4), 1.0)
    with pytest.raises(ValueError, match='sigma'):
        discrete_gaussian_maps(torch.zeros(1, 2), (4, 4), 0.0)
    with pytest.raises(ValueError, match='heatmap_size'):
        discrete_gaussian_maps(torch.zeros(1, 2), (0, 4), 1.0)


def test_kl_equals_brute_force_and_its_gradient_is_p_minus_t():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 2, 5, 4, generator=g, dtype=torch.float64,
                         requires_grad=True)
    target = torch.rand(3, 2, 5, 4, generator=g, dtype=torch.float64)
    target[0, 0, :2] = 0.0  # zero target pixels (0 log 0 = 0)
    target = target / target.sum((-2, -1), keepdim=True)
    log_p = torch.log_softmax(logits.flatten(-2), -1).view_as(logits)
    kl = map_kl_divergence(target, log_p)
    t, lp = target.numpy(), log_p.detach().numpy()
    brute = np.zeros((3, 2))
    for idx in np.ndindex(3, 2, 5, 4):
        if t[idx] > 0:
            brute[idx[:2]] += t[idx] * (math.log(t[idx]) - lp[idx])
    np.testing.assert_allclose(kl.detach().numpy(), brute, rtol=1e-12)
    assert (kl > 0).all()
    kl.sum().backward()
    p = log_p.exp().detach()
    assert torch.allclose(logits.grad, p - target, atol=1e-12)


def test_kl_is_zero_at_the_target():
    target = discrete_gaussian_maps(torch.tensor([[2.5, 3.0]]), (6, 7), 1.0)
    kl = map_kl_divergence(target, torch.log(target))
    assert kl.abs().max().item() < 1e-6
    with pytest.raises(ValueError, match='same shape'):
        map_kl_divergence(target, torch.log(target)[..., :3])
