"""Depth-uncertainty maths (probpose_ext.ops.depth_uncertainty) against
scipy.stats, closed forms, brute-force grids and loops, and Monte Carlo
draws from the predicted Gaussians."""
import math

import numpy as np
import pytest
import torch
from scipy import stats

from probpose_ext.ops.depth_uncertainty import (
    ause, chi2_3dof_quantile, ence, gaussian_nll_1d, interval_coverage,
    normal_interval_z, sparsification, tril_from_params, trivariate_coverage,
    trivariate_gaussian_nll)

RNG = np.random.default_rng(0)


# ------------------------------------------------------------ 1-D losses
def test_nll_equals_scipy_norm_logpdf():
    mu = RNG.normal(size=(5, 7))
    sigma = RNG.uniform(0.01, 2.0, size=(5, 7))
    y = RNG.normal(size=(5, 7))
    got = gaussian_nll_1d(mu, 2 * np.log(sigma), y)
    assert isinstance(got, np.ndarray)
    np.testing.assert_allclose(got, -stats.norm(mu, sigma).logpdf(y),
                               rtol=1e-10, atol=1e-12)
    # tensors in, tensors out (float32 as given)
    t = gaussian_nll_1d(torch.tensor(mu, dtype=torch.float32),
                        torch.tensor(2 * np.log(sigma), dtype=torch.float32),
                        torch.tensor(y, dtype=torch.float32))
    assert t.dtype == torch.float32
    np.testing.assert_allclose(t.numpy(), got, rtol=1e-4, atol=1e-4)


def test_proposal_form_equals_eq1():
    mu, sigma, y = 0.3, 0.7, -0.4
    got = gaussian_nll_1d(mu, 2 * math.log(sigma), y, form='proposal')
    assert float(got) == pytest.approx(
        math.log(sigma) + (y - mu)**2 / sigma**2, rel=1e-12)
    with pytest.raises(ValueError, match='form'):
        gaussian_nll_1d(mu, 0.0, y, form='laplace')


@pytest.mark.parametrize('form, factor', [('nll', 1.0),
                                          ('proposal', math.sqrt(2.0))])
def test_optimum_sigma_by_grid_and_derivative(form, factor):
    r = 0.37
    # brute-force grid minimum over sigma
    sigmas = np.linspace(0.05, 2.0, 200001)
    losses = gaussian_nll_1d(0.0, 2 * np.log(sigmas), r, form=form)
    best = sigmas[np.argmin(losses)]
    assert best == pytest.approx(factor * r, abs=2e-5)
    # the derivative w.r.t. sigma vanishes there (autograd)
    s = torch.tensor(factor * r, dtype=torch.float64, requires_grad=True)
    gaussian_nll_1d(torch.zeros((), dtype=torch.float64), 2 * s.log(),
                    torch.tensor(r, dtype=torch.float64), form).backward()
    assert abs(float(s.grad)) < 1e-12
    # ... and not at the other form's optimum
    other = math.sqrt(2.0) * r if form == 'nll' else r
    s2 = torch.tensor(other, dtype=torch.float64, requires_grad=True)
    gaussian_nll_1d(torch.zeros((), dtype=torch.float64), 2 * s2.log(),
                    torch.tensor(r, dtype=torch.float64), form).backward()
    assert abs(float(s2.grad)) > 0.1


# --------------------------------------------------------- 3-D Gaussians
def test_tril_from_params_is_lower_with_positive_diagonal():
    params = torch.randn(4, 5, 6, dtype=torch.float64) * 3
    chol = tril_from_params(params, min_diag=1e-3)
    assert chol.shape == (4, 5, 3, 3)
    assert torch.equal(chol, torch.tril(chol))
    assert bool((chol.diagonal(dim1=-2, dim2=-1) >= 1e-3).all())
    # diagonal = softplus + floor; below-diagonal entries = multiplier
    # times the column's diagonal, in the order (1, 0), (2, 0), (2, 1)
    diag = np.log1p(np.exp(params[..., :3].numpy())) + 1e-3
    np.testing.assert_allclose(chol.diagonal(dim1=-2, dim2=-1).numpy(), diag,
                               rtol=1e-12)
    for p, (i, j) in zip((3, 4, 5), ((1, 0), (2, 0), (2, 1))):
        np.testing.assert_allclose(chol[..., i, j].numpy(),
                                   params[..., p].numpy() * diag[..., j],
                                   rtol=1e-12)
    # Sigma = (I + M) diag(d^2) (I + M)^T
    m = np.zeros((3, 3))
    m[1, 0], m[2, 0], m[2, 1] = params[0, 0, 3:].numpy()
    sigma = (np.eye(3) + m) @ np.diag(diag[0, 0]**2) @ (np.eye(3) + m).T
    np.testing.assert_allclose((chol[0, 0] @ chol[0, 0].T).numpy(), sigma,
                               rtol=1e-12)
    with pytest.raises(ValueError, match='6'):
        tril_from_params(torch.zeros(2, 5))


def test_trivariate_nll_equals_scipy():
    params = torch.from_numpy(RNG.normal(size=(3, 4, 6)))
    chol = tril_from_params(params).numpy()
    mean = RNG.normal(size=(3, 4, 3))
    target = mean + RNG.normal(size=(3, 4, 3))
    junk = chol + np.triu(RNG.normal(size=(3, 4, 3, 3)), 1)  # upper ignored
    got = trivariate_gaussian_nll(mean, junk, target)
    assert got.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            cov = chol[i, j] @ chol[i, j].T
            want = -stats.multivariate_normal(mean[i, j], cov).logpdf(
                target[i, j])
            assert got[i, j] == pytest.approx(want, rel=1e-9)
            # proposal form: 0.5 log det + Mahalanobis^2
            r = target[i, j] - mean[i, j]
            prop = 0.5 * np.linalg.slogdet(cov)[1] + r @ np.linalg.solve(
                cov, r)
            assert float(trivariate_gaussian_nll(
                mean[i, j], chol[i, j], target[i, j], 'proposal')) == \
                pytest.approx(prop, rel=1e-9)


def test_trivariate_nll_of_diagonal_is_sum_of_1d():
    sigma = torch.tensor([0.2, 0.5, 1.5], dtype=torch.float64)
    mean = torch.zeros(3, dtype=torch.float64)
    y = torch.tensor([0.1, -0.3, 2.0], dtype=torch.float64)
    got = trivariate_gaussian_nll(mean, torch.diag(sigma), y)
    want = gaussian_nll_1d(mean, 2 * sigma.log(), y).sum()
    assert float(got) == pytest.approx(float(want), rel=1e-12)


# --------------------------------------------------------------- coverage
def test_interval_z_and_coverage_against_scipy():
    for p in (0.5, 0.68, 0.95, 0.99):
        assert normal_interval_z(p) == pytest.approx(
            stats.norm.ppf(0.5 * (1 + p)), rel=1e-9)
    err = RNG.normal(size=1000) * 2.0
    sigma = RNG.uniform(0.5, 3.0, size=1000)
    got = interval_coverage(err, sigma, (0.68, 0.95))
    for g, p in zip(got, (0.68, 0.95)):
        lo, hi = stats.norm.interval(p, loc=0.0, scale=sigma)
        assert g == pytest.approx(np.mean((err >= lo) & (err <= hi)))


def test_coverage_of_samples_from_the_predicted_gaussian():
    n = 200000
    sigma = RNG.uniform(0.01, 0.2, size=n)
    err = RNG.normal(size=n) * sigma
    cover = interval_coverage(err, sigma, (0.68, 0.95))
    # binomial standard error ~1e-3; 5 of them
    np.testing.assert_allclose(cover, [0.68, 0.95], atol=5e-3)
    # over-stated sigmas cover more, under-stated less
    assert (interval_coverage(err, 2 * sigma) > cover).all()
    assert (interval_coverage(err, 0.5 * sigma) < cover).all()


def test_chi2_quantile_and_trivariate_coverage():
    for p in (0.1, 0.68, 0.95, 0.999):
        assert chi2_3dof_quantile(p) == pytest.approx(stats.chi2.ppf(p, 3),
                                                      rel=1e-9)
    n = 100000
    a = RNG.normal(size=(n, 3, 3)) * 0.1
    cov = a @ np.swapaxes(a, -1, -2) + 1e-3 * np.eye(3)
    res = np.einsum('nij,nj->ni', np.linalg.cholesky(cov),
                    RNG.normal(size=(n, 3)))
    cover = trivariate_coverage(res, cov, (0.68, 0.95))
    np.testing.assert_allclose(cover, [0.68, 0.95], atol=7e-3)
    # brute force on a few: Mahalanobis with an explicit inverse
    d2 = np.array([r @ np.linalg.inv(c) @ r for r, c in zip(res[:500],
                                                            cov[:500])])
    assert trivariate_coverage(res[:500], cov[:500], (0.68, ))[0] == \
        pytest.approx(np.mean(d2 <= stats.chi2.ppf(0.68, 3)))


# ------------------------------------------------------------------- ENCE
def _ence_loop(err, sigma, num_bins):
    order = sorted(range(len(sigma)), key=lambda i: sigma[i])
    n, total = len(order), 0.0
    # equal-count bins: sizes differ by at most one, larger ones first
    sizes = [n // num_bins + (b < n % num_bins) for b in range(num_bins)]
    edges = np.concatenate([[0], np.cumsum(sizes)])
    for b in range(num_bins):
        idx = order[edges[b]:edges[b + 1]]
        rmv = math.sqrt(sum(sigma[i]**2 for i in idx) / len(idx))
        rmse = math.sqrt(sum(err[i]**2 for i in idx) / len(idx))
        total += abs(rmv - rmse) / rmv
    return total / num_bins


@pytest.mark.parametrize('n, bins', [(1000, 10), (997, 7), (5, 10)])
def test_ence_equals_brute_force_loop(n, bins):
    sigma = RNG.uniform(0.1, 1.0, size=n)
    err = RNG.normal(size=n) * sigma * RNG.uniform(0.5, 2.0, size=n)
    want = _ence_loop(list(err), list(sigma), min(bins, n))
    assert ence(err, sigma, bins) == pytest.approx(want, rel=1e-10)


def test_ence_small_when_calibrated_large_when_not():
    n = 100000
    sigma = RNG.uniform(0.01, 0.2, size=n)
    err = RNG.normal(size=n) * sigma
    assert ence(err, sigma) < 0.03
    # twice too large: RMV = 2 RMSE in every bin, ENCE ~ 0.5
    assert ence(err, 2 * sigma) == pytest.approx(0.5, abs=0.02)


# --------------------------------------------------------- sparsification
def _curve_loop(err, score, fractions):
    a = np.abs(err)
    order = sorted(range(len(a)), key=lambda i: -score[i])
    full = a.mean()
    out = []
    for f in fractions:
        keep = order[int(math.floor(f * len(a) + 1e-9)):]
        out.append(a[keep].mean() / full if keep else 0.0)
    return np.array(out)


def test_sparsification_curves_equal_loop():
    err = RNG.normal(size=103)
    sigma = RNG.uniform(size=103)
    fr = np.linspace(0, 1, 11)
    model, oracle = sparsification(err, sigma, fr)
    np.testing.assert_allclose(model, _curve_loop(err, sigma, fr),
                               rtol=1e-12)
    np.testing.assert_allclose(oracle, _curve_loop(err, np.abs(err), fr),
                               rtol=1e-12)
    assert model[0] == pytest.approx(1.0) and model[-1] == 0.0
    assert (np.diff(oracle) <= 1e-12).all()  # the oracle only decreases
    assert (model >= oracle - 1e-12).all()


def test_ause_zero_for_monotone_sigma_positive_for_random():
    err = RNG.normal(size=2000) * 0.05
    assert ause(err, 3.0 * np.abs(err)**2 + 0.01) == pytest.approx(
        0.0, abs=1e-12)
    assert ause(err, np.exp(np.abs(err))) == pytest.approx(0.0, abs=1e-12)
    random = ause(err, RNG.uniform(size=2000))
    assert random > 0.1
    # area by an explicit trapezoid of the loop curves
    sigma = RNG.uniform(size=2000)
    fr = np.linspace(0, 1, 21)
    gap = _curve_loop(err, sigma, fr) - _curve_loop(err, np.abs(err), fr)
    want = sum(0.5 * (gap[i] + gap[i + 1]) * 0.05 for i in range(20))
    assert ause(err, sigma, 20) == pytest.approx(want, rel=1e-10)
    # an informative but noisy sigma is in between
    noisy = np.abs(err) * np.exp(0.5 * RNG.normal(size=2000))
    assert 0.0 < ause(err, noisy) < random


def test_metric_inputs_are_checked():
    with pytest.raises(ValueError, match='same number'):
        ence(np.zeros(3), np.ones(4))
    with pytest.raises(ValueError, match='levels'):
        interval_coverage(np.zeros(3), np.ones(3), (0.5, 1.0))
    with pytest.raises(ValueError, match='finite'):
        ause(np.array([0.0, np.nan]), np.ones(2))
    assert np.isnan(interval_coverage(np.zeros(0), np.zeros(0))).all()
    assert math.isnan(ence(np.zeros(0), np.zeros(0)))
