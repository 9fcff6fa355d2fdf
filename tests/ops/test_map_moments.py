"""Moment matching of probability maps (probpose_ext.ops.map_moments)
against independent computations: closed forms (sampled Gaussians, delta
and two-pixel maps), an explicit numpy loop over pixels, hand-computed
affine maps and weighted moments of transformed pixel centres.

Tolerance of the sampled-Gaussian checks. By Poisson summation, the moments
of a Gaussian density sampled on the integer grid differ from the
continuous ones by terms of order ``exp(-2 pi^2 k^T C k)`` for non-zero
integer ``k``, i.e. at most ``~exp(-2 pi^2 lambda_min)``; with ``sigma >=
1.5`` px (``lambda_min >= 2.25``) that is ``~1e-19``. Truncation at the map
edge (the mean >= 9 sigma from every edge) adds ``< exp(-40)``. So after
normalisation the discrete moments equal the continuous ones to rounding,
and 1e-9 is a loose float64 tolerance, not a discretisation allowance.
"""
import math

import numpy as np
import pytest
import torch

from probpose_ext.ops.map_moments import (PIXEL_VARIANCE, affine_moments,
                                          map_moments, map_moments_to_image,
                                          map_moments_to_input)
from tests.ops._maps import random_prob

F64 = torch.float64


def rotated_cov(sx, sy, angle):
    r = np.array([[math.cos(angle), -math.sin(angle)],
                  [math.sin(angle), math.cos(angle)]])
    return r @ np.diag([sx**2, sy**2]) @ r.T


def sampled_gaussian(mean, cov, w, h):
    """Gaussian density at the pixel centres (numpy, float64), shape
    (h, w), not normalised."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    d = np.stack([xs - mean[0], ys - mean[1]], -1)
    q = np.einsum('...i,ij,...j->...', d, np.linalg.inv(cov), d)
    return np.exp(-0.5 * q)


def brute_moments(p):
    """Mean and covariance of one (H, W) map by an explicit pixel loop."""
    h, w = p.shape
    total = 0.0
    m = np.zeros(2)
    for y in range(h):
        for x in range(w):
            total += p[y, x]
            m += p[y, x] * np.array([x, y], dtype=np.float64)
    m /= total
    c = np.zeros((2, 2))
    for y in range(h):
        for x in range(w):
            d = np.array([x, y], dtype=np.float64) - m
            c += p[y, x] * np.outer(d, d)
    return m, c / total


GAUSSIANS = [  # (mean, sigma_x, sigma_y, angle)
    ((31.3, 40.7), 3.0, 1.5, 0.6),
    ((28.0, 33.5), 2.2, 2.9, -1.1),
    ((35.6, 29.2), 1.5, 2.5, 2.3),
]


# ------------------------------------------------------- heatmap moments
@pytest.mark.parametrize('mean,sx,sy,angle', GAUSSIANS)
def test_sampled_gaussian_recovers_mean_and_cov(mean, sx, sy, angle):
    cov = rotated_cov(sx, sy, angle)
    p = sampled_gaussian(mean, cov, 64, 72)
    p /= p.sum()
    m, c = map_moments(torch.from_numpy(p)[None, None])
    np.testing.assert_allclose(m[0, 0].numpy(), mean, atol=1e-9)
    np.testing.assert_allclose(c[0, 0].numpy(), cov, atol=1e-9)
    _, c12 = map_moments(torch.from_numpy(p)[None, None], pixel_variance=True)
    np.testing.assert_allclose((c12 - c)[0, 0].numpy(),
                               np.eye(2) / 12.0,
                               rtol=0,
                               atol=1e-15)
    assert PIXEL_VARIANCE == 1.0 / 12.0


def test_binned_gaussian_includes_sheppard_term():
    """Cell-integrated (binned) maps: the discrete variance is the
    continuous one plus 1/12 (Sheppard), so ``pixel_variance=False`` on
    such maps already contains the quantisation term."""
    mx, my, sx, sy = 30.4, 25.8, 1.7, 2.6
    edges_x = torch.arange(65, dtype=F64) - 0.5
    edges_y = torch.arange(57, dtype=F64) - 0.5
    cx = torch.special.ndtr((edges_x - mx) / sx).diff()
    cy = torch.special.ndtr((edges_y - my) / sy).diff()
    p = cy[:, None] * cx[None, :]
    m, c = map_moments(p)
    np.testing.assert_allclose(m.numpy(), [mx, my], atol=1e-9)
    np.testing.assert_allclose(c.numpy(),
                               np.diag([sx**2 + 1 / 12, sy**2 + 1 / 12]),
                               atol=1e-9)


def test_delta_map():
    p = torch.zeros(2, 3, 7, 9, dtype=F64)
    pix = [[(0, 0), (8, 6), (3, 5)], [(4, 2), (1, 6), (8, 0)]]
    for n in range(2):
        for k in range(3):
            p[n, k, pix[n][k][1], pix[n][k][0]] = 1.0
    m, c = map_moments(p)
    np.testing.assert_array_equal(m.numpy(), np.array(pix, np.float64))
    np.testing.assert_array_equal(c.numpy(), np.zeros((2, 3, 2, 2)))
    _, c12 = map_moments(p, pixel_variance=True)
    np.testing.assert_allclose(c12.numpy(),
                               np.broadcast_to(np.eye(2) / 12, c.shape),
                               rtol=0,
                               atol=1e-16)


def test_two_pixel_map_closed_form():
    """Mass ``a`` at ``p1``, ``1 - a`` at ``p2``: mean ``a p1 + (1-a) p2``,
    covariance ``a (1 - a) d d^T`` with ``d = p1 - p2``."""
    a, p1, p2 = 0.3, np.array([2.0, 5.0]), np.array([7.0, 1.0])
    p = torch.zeros(6, 8, dtype=F64)
    p[5, 2], p[1, 7] = a, 1 - a
    m, c = map_moments(p)
    d = p1 - p2
    np.testing.assert_allclose(m.numpy(), a * p1 + (1 - a) * p2, atol=1e-14)
    np.testing.assert_allclose(c.numpy(),
                               a * (1 - a) * np.outer(d, d),
                               atol=1e-13)
    # here: var_x = 0.21 * 25, var_y = 0.21 * 16, cov_xy = -0.21 * 20
    np.testing.assert_allclose(c.numpy(), [[5.25, -4.2], [-4.2, 3.36]],
                               atol=1e-13)


@pytest.mark.parametrize('sparse', [True, False])
def test_vectorised_equals_pixel_loop(sparse):
    p = random_prob(3, 4, 9, 7, seed=3, sparse=sparse)
    m, c = map_moments(p)
    for n in range(3):
        for k in range(4):
            bm, bc = brute_moments(p[n, k].numpy())
            np.testing.assert_allclose(m[n, k].numpy(), bm, atol=1e-12)
            np.testing.assert_allclose(c[n, k].numpy(), bc, atol=1e-12)
    assert torch.equal(c, c.transpose(-1, -2))


def test_unnormalised_and_empty_maps():
    p = random_prob(2, 3, 8, 6, seed=5)
    m, c = map_moments(p)
    m2, c2 = map_moments(3.7 * p)
    torch.testing.assert_close(m2, m, rtol=0, atol=1e-12)
    torch.testing.assert_close(c2, c, rtol=0, atol=1e-12)
    p[1, 2] = 0
    m3, c3 = map_moments(p)
    assert torch.isnan(m3[1, 2]).all() and torch.isnan(c3[1, 2]).all()
    assert torch.isfinite(m3[:1]).all() and torch.isfinite(c3[0]).all()


def test_dtypes_devices_and_numpy():
    p64 = random_prob(2, 3, 8, 6, seed=7)
    m64, c64 = map_moments(p64)
    m32, c32 = map_moments(p64.float())
    assert m32.dtype == c32.dtype == torch.float32
    torch.testing.assert_close(m32.double(), m64, rtol=0, atol=1e-5)
    torch.testing.assert_close(c32.double(), c64, rtol=0, atol=1e-4)
    mh, ch = map_moments(p64.half())
    assert mh.dtype == ch.dtype == torch.float32
    mn, cn = map_moments(p64.numpy())
    assert isinstance(mn, np.ndarray) and mn.dtype == np.float64
    np.testing.assert_array_equal(cn, c64.numpy())
    if torch.cuda.is_available():
        mc, cc = map_moments(p64.cuda())
        assert mc.is_cuda
        torch.testing.assert_close(cc.cpu(), c64, rtol=0, atol=1e-12)


def test_map_moments_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r'\(\.\.\., H, W\)'):
        map_moments(torch.ones(5))
    with pytest.raises(ValueError, match=r'\(\.\.\., H, W\)'):
        map_moments(torch.ones(2, 0, 4))


# ------------------------------------------------------- to input/image
def test_image_mapping_hand_computed():
    """Heatmap (W, H) = (48, 64), crop centre (100, 200), size (94, 189):
    UDP factor ``s / (W - 1, H - 1) = (2, 3)``, offset ``c - s / 2 =
    (53, 105.5)``."""
    mean = np.array([[[10.0, 20.0], [0.0, 63.0]]])
    cov = np.array([[[[1.0, 0.5], [0.5, 2.0]], [[4.0, -1.0], [-1.0, 1.0]]]])
    m, c = map_moments_to_image(mean, cov, (100, 200), (94, 189), (48, 64))
    np.testing.assert_allclose(m, [[[73.0, 165.5], [53.0, 294.5]]], atol=1e-12)
    np.testing.assert_allclose(
        c, [[[[4.0, 3.0], [3.0, 18.0]], [[16.0, -6.0], [-6.0, 9.0]]]],
        atol=1e-12)
    # MMPose's estimator convention: x_in = x_hm (w-1)/(W-1), then
    # x_img = x_in s / w + c - s / 2, input (192, 256).
    m, c = map_moments_to_image(mean,
                                cov, (100, 200), (94, 189), (48, 64),
                                input_size=(192, 256))
    fx, fy = 191 / 47 * 94 / 192, 255 / 63 * 189 / 256
    np.testing.assert_allclose(m[0, 0],
                               [10 * fx + 100 - 47, 20 * fy + 200 - 94.5],
                               atol=1e-12)
    np.testing.assert_allclose(
        c[0, 0], [[fx * fx, 0.5 * fx * fy], [0.5 * fx * fy, 2 * fy * fy]],
        atol=1e-12)


def _weighted_moments(points, w):
    """Weighted mean and (biased) covariance of points (P, 2)."""
    m = np.average(points, axis=0, weights=w)
    c = np.cov(points.T, aweights=w, bias=True)
    return m, c


def test_mapped_moments_equal_moments_of_mapped_points():
    n, k, h, w = 2, 3, 8, 6
    p = random_prob(n, k, h, w, seed=11)
    center = np.array([[50.0, 60.0], [-20.0, 35.0]])
    scale = np.array([[40.0, 56.0], [25.0, 70.0]])
    m, c = map_moments(p)
    mi, ci = map_moments_to_image(m, c, center, scale, (w, h))
    ys, xs = np.mgrid[0:h, 0:w]
    grid = np.stack([xs.ravel(), ys.ravel()], -1).astype(np.float64)
    for i in range(n):
        f = scale[i] / (np.array([w, h]) - 1)  # UDP, hand-written
        o = center[i] - scale[i] / 2
        for j in range(k):
            bm, bc = _weighted_moments(grid * f + o, p[i, j].numpy().ravel())
            np.testing.assert_allclose(mi[i, j].numpy(), bm, atol=1e-10)
            np.testing.assert_allclose(ci[i, j].numpy(), bc, atol=1e-10)


@pytest.mark.parametrize('factor', [1.0, 1.25])
def test_input_mapping_equals_moments_of_mapped_points(factor):
    """Wide and expert maps: ``x_in = (x_hm - b) / a`` with ``a = (W-1) /
    (f (w-1))``, ``b = (f-1)(W-1) / (2f)`` (written out here)."""
    n, k, h, w, size = 1, 2, 8, 6, (24, 32)
    p = random_prob(n, k, h, w, seed=13)
    m, c = map_moments(p)
    mi, ci = map_moments_to_input(m, c, size, (w, h), factor)
    hm = np.array([w - 1, h - 1], np.float64)
    a = hm / (factor * (np.array(size, np.float64) - 1))
    b = (factor - 1) * hm / (2 * factor)
    ys, xs = np.mgrid[0:h, 0:w]
    grid = np.stack([xs.ravel(), ys.ravel()], -1).astype(np.float64)
    for j in range(k):
        bm, bc = _weighted_moments((grid - b) / a, p[0, j].numpy().ravel())
        np.testing.assert_allclose(mi[0, j].numpy(), bm, atol=1e-10)
        np.testing.assert_allclose(ci[0, j].numpy(), bc, atol=1e-10)
    assert mi.dtype == ci.dtype == F64


def test_affine_moments_flip_and_dtype():
    mean = torch.tensor([[[1.0, 2.0]]])
    cov = torch.tensor([[[[2.0, 0.7], [0.7, 1.0]]]])
    m, c = affine_moments(mean, cov, (-1.0, 1.0), (10.0, 0.0))
    torch.testing.assert_close(m, torch.tensor([[[9.0, 2.0]]]))
    torch.testing.assert_close(c, torch.tensor([[[[2.0, -0.7], [-0.7, 1.0]]]]))
    assert m.dtype == c.dtype == torch.float32


def test_mapping_rejects_bad_shapes():
    cov = np.zeros((2, 3, 2, 2))
    with pytest.raises(ValueError, match=r'mean must have shape \(N, K, 2\)'):
        affine_moments(np.zeros((3, 2)), cov, (1, 1), (0, 0))
    with pytest.raises(ValueError, match='cov must have shape'):
        affine_moments(np.zeros((2, 3, 2)), cov[:, :2], (1, 1), (0, 0))
    with pytest.raises(ValueError, match='factor'):
        affine_moments(np.zeros((2, 3, 2)), cov, np.ones((3, 2)), (0, 0))
    with pytest.raises(ValueError, match='heatmap_size'):
        map_moments_to_input(np.zeros((2, 3, 2)), cov, (24, 32), (1, 8))
