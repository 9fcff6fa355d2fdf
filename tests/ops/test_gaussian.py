"""TIC-TAC's Gaussian maths (probpose_ext.ops.gaussian, re-exported by
probpose_ext.ops.covariance) against independent computations: scipy's
multivariate normal, explicitly reduced vectors and matrices, a NumPy
conditional Gaussian with explicit inverses per joint, explicit loops,
autograd, and Monte Carlo with a tolerance from the sample size."""
import math

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal

from probpose_ext.ops import covariance as cov_ops
from probpose_ext.ops.gaussian import (beta_nll, cholesky_factor_from_raw,
                                       cov_from_cholesky_factor,
                                       diagonal_gaussian_nll, faithful_loss,
                                       gaussian_nll, hessian_trace_term,
                                       sample_poses, tac, tic_covariance)


def _spd(rng, n, d, ridge=0.5):
    a = rng.normal(size=(n, d, d))
    return a @ a.transpose(0, 2, 1) / d + ridge * np.eye(d)


def _data(seed=0, n=4, k=5):
    rng = np.random.default_rng(seed)
    d = 2 * k
    return rng, rng.normal(size=(n, d)), _spd(rng, n, d)


def _mask(rng, n, k):
    m = rng.random((n, k)) < 0.6
    m[:, 0] = True  # at least one present joint per sample
    m[0] = True  # one sample with all present
    return m


def _keep(m):
    return np.repeat(m, 2)  # (K,) keypoints -> (D,) coordinates


def test_reexported_from_covariance():
    assert cov_ops.gaussian_nll is gaussian_nll
    assert cov_ops.tac is tac
    for name in ('tic_covariance', 'beta_nll', 'faithful_loss',
                 'sample_poses', 'diagonal_gaussian_nll'):
        assert name in cov_ops.__all__


# ------------------------------------------------------------------- NLL
def test_nll_equals_scipy_logpdf():
    _, r, c = _data()
    got = gaussian_nll(torch.from_numpy(r), torch.from_numpy(c)).numpy()
    want = [-multivariate_normal.logpdf(r[i], cov=c[i]) for i in range(4)]
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_nll_numpy_in_numpy_out():
    _, r, c = _data(1)
    got = gaussian_nll(r, c)
    assert isinstance(got, np.ndarray) and got.shape == (4, )
    want = [-multivariate_normal.logpdf(r[i], cov=c[i]) for i in range(4)]
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_masked_nll_equals_reduced_nll():
    rng, r, c = _data(2, n=6, k=6)
    m = _mask(rng, 6, 6)
    # absent entries hold garbage, NaN included: they must not matter
    r[~np.repeat(m, 2, axis=1)] = np.nan
    for i in range(6):
        absent = ~_keep(m[i])
        c[i][absent, :] = np.nan
        c[i][:, absent] = np.nan
    assert (~m).any(1).sum() >= 3
    rt = torch.tensor(r, requires_grad=True)
    ct = torch.tensor(c, requires_grad=True)
    out = gaussian_nll(rt, ct, torch.from_numpy(m))
    out.sum().backward()  # NaN in absent entries: finite gradients
    assert torch.isfinite(rt.grad).all() and torch.isfinite(ct.grad).all()
    got = out.detach().numpy()
    for i in range(6):
        keep = _keep(m[i])
        want = -multivariate_normal.logpdf(
            r[i, keep], cov=c[i][np.ix_(keep, keep)])
        np.testing.assert_allclose(got[i], want, rtol=1e-10)


def test_nll_all_absent_is_zero():
    _, r, c = _data(3, n=2, k=3)
    m = torch.zeros(2, 3, dtype=torch.bool)
    out = gaussian_nll(torch.from_numpy(r), torch.from_numpy(c), m)
    assert torch.equal(out, torch.zeros(2, dtype=out.dtype))


def test_nll_float32_and_gradients():
    rng, r, c = _data(4, n=3, k=4)
    m = torch.from_numpy(_mask(rng, 3, 4))
    r32 = torch.tensor(r, dtype=torch.float32, requires_grad=True)
    c32 = torch.tensor(c, dtype=torch.float32, requires_grad=True)
    out = gaussian_nll(r32, c32, m)
    assert out.dtype == torch.float32
    ref = gaussian_nll(torch.from_numpy(r), torch.from_numpy(c), m)
    np.testing.assert_allclose(out.detach().numpy(), ref.numpy(), rtol=1e-4)
    out.sum().backward()
    assert torch.isfinite(r32.grad).all() and torch.isfinite(c32.grad).all()
    # absent coordinates get no gradient
    absent = ~m.repeat_interleave(2, dim=1)
    assert (r32.grad[absent] == 0).all()


def test_nll_gradient_matches_closed_form():
    # d/dr = Sigma^-1 r ; d/dSigma = 0.5 (Sigma^-1 - Sigma^-1 r r^T Sigma^-1)
    _, r, c = _data(5, n=2, k=3)
    rt = torch.tensor(r, requires_grad=True)
    ct = torch.tensor(c, requires_grad=True)
    gaussian_nll(rt, ct).sum().backward()
    for i in range(2):
        inv = np.linalg.inv(c[i])
        np.testing.assert_allclose(rt.grad[i].numpy(), inv @ r[i],
                                   rtol=1e-8)
        want = 0.5 * (inv - inv @ np.outer(r[i], r[i]) @ inv)
        g = ct.grad[i].numpy()
        np.testing.assert_allclose(0.5 * (g + g.T), want, atol=1e-8)


def test_nll_jitter_and_singular():
    _, r, _ = _data(6, n=1, k=2)
    sing = np.zeros((1, 4, 4))
    sing[0, :, :] = 1.0  # rank one: retried with escalating jitter
    out = gaussian_nll(torch.from_numpy(r), torch.from_numpy(sing))
    assert torch.isfinite(out).all()
    with pytest.raises(ValueError, match='positive definite'):
        gaussian_nll(torch.from_numpy(r), -torch.eye(4)[None].double())
    c = np.eye(4)[None] * 2.0
    got = gaussian_nll(torch.from_numpy(r), torch.from_numpy(c),
                       jitter=0.5).numpy()
    want = -multivariate_normal.logpdf(r[0], cov=2.5 * np.eye(4))
    np.testing.assert_allclose(got[0], want, rtol=1e-12)


@pytest.mark.parametrize('shapes, msg', [
    (((3, 4), (3, 4, 5)), 'cov must have shape'),
    (((3, 5), (3, 5, 5)), 'even number'),
    (((4, ), (4, 4)), r'residual must have shape \(N, D\)'),
    (((2, 4), (3, 4, 4)), 'cov must have shape'),
])
def test_nll_bad_shapes(shapes, msg):
    with pytest.raises(ValueError, match=msg):
        gaussian_nll(torch.zeros(shapes[0]), torch.zeros(shapes[1]))


def test_bad_mask_shape():
    with pytest.raises(ValueError, match='mask must have shape'):
        gaussian_nll(torch.zeros(2, 4), torch.eye(4).expand(2, 4, 4),
                     torch.ones(2, 3, dtype=torch.bool))


# ------------------------------------------------------------------- TAC
def _tac_brute(pred, cov, gt, mask):
    n, d = pred.shape
    k = d // 2
    out = np.full((n, k), np.nan)
    for i in range(n):
        present = np.flatnonzero(mask[i])
        for j in present:
            rest = [q for q in present if q != j]
            jj = [2 * j, 2 * j + 1]
            rr = [c for q in rest for c in (2 * q, 2 * q + 1)]
            mu = pred[i, jj].copy()
            if rr:
                s_jr = cov[i][np.ix_(jj, rr)]
                s_rr_inv = np.linalg.inv(cov[i][np.ix_(rr, rr)])
                mu = mu + s_jr @ s_rr_inv @ (gt[i, rr] - pred[i, rr])
            out[i, j] = np.linalg.norm(gt[i, jj] - mu)
    return out


def test_tac_equals_brute_force_conditional_gaussian():
    rng, pred, c = _data(7, n=5, k=6)
    gt = pred + rng.normal(size=pred.shape)
    want = _tac_brute(pred, c, gt, np.ones((5, 6), bool))
    got = tac(torch.from_numpy(pred), torch.from_numpy(c),
              torch.from_numpy(gt)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_tac_masked_equals_brute_force():
    rng, pred, c = _data(8, n=6, k=5)
    gt = pred + rng.normal(size=pred.shape)
    m = _mask(rng, 6, 5)
    m[1] = False
    m[1, 2] = True  # a lone joint: its plain error
    want = _tac_brute(pred, c, gt, m)
    gt_nan = gt.copy()
    gt_nan[~np.repeat(m, 2, axis=1)] = np.nan  # absent GT is unknown
    got = tac(pred, c, gt_nan, m)
    assert isinstance(got, np.ndarray)
    np.testing.assert_array_equal(np.isnan(got), ~m)
    np.testing.assert_allclose(got[m], want[m], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got[1, 2], np.linalg.norm(
        gt[1, 4:6] - pred[1, 4:6]), rtol=1e-12)


def test_tac_float32_and_identity_covariance():
    # independent joints: the conditional mean is the prediction
    rng, pred, _ = _data(9, n=3, k=4)
    gt = pred + rng.normal(size=pred.shape)
    eye = torch.eye(8).expand(3, 8, 8)
    got = tac(torch.tensor(pred, dtype=torch.float32), eye,
              torch.tensor(gt, dtype=torch.float32))
    assert got.dtype == torch.float32
    want = np.linalg.norm((gt - pred).reshape(3, 4, 2), axis=-1)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5)


def test_tac_gradients_finite():
    rng, pred, c = _data(15, n=3, k=4)
    gt = pred + rng.normal(size=pred.shape)
    m = torch.from_numpy(_mask(rng, 3, 4))
    pt = torch.tensor(pred, requires_grad=True)
    ct = torch.tensor(c, requires_grad=True)
    out = tac(pt, ct, torch.from_numpy(gt), m)
    out.nan_to_num(0.0).sum().backward()
    assert torch.isfinite(pt.grad).all() and torch.isfinite(ct.grad).all()


def test_nan_in_present_entry_raises():
    c = torch.eye(4, dtype=torch.float64)[None].clone()
    c[0, 1, 1] = float('nan')
    with pytest.raises(ValueError, match=r'samples \[0\]'):
        gaussian_nll(torch.zeros(1, 4, dtype=torch.float64), c)


def test_tac_bad_shapes():
    with pytest.raises(ValueError, match='gt must have shape'):
        tac(torch.zeros(2, 4), torch.eye(4).expand(2, 4, 4),
            torch.zeros(2, 6))


# ------------------------------------------------------------------- TIC
def test_tic_covariance_equals_loop():
    rng = np.random.default_rng(10)
    n, d, z = 3, 6, 4
    jac = rng.normal(size=(n, d, z))
    low = np.tril(rng.normal(size=(n, d, d)))
    hess = rng.normal(size=(n, d, z, z))
    hess = hess + hess.transpose(0, 1, 3, 2)
    e1, e2 = rng.random(n), rng.random(n)
    t = torch.from_numpy
    h_tilde = hessian_trace_term(t(hess)).numpy()
    got = tic_covariance(t(jac), t(e1), t(low), t(h_tilde), t(e2)).numpy()
    for i in range(n):
        want_h = np.empty((d, d))
        for a in range(d):
            for b in range(d):
                want_h[a, b] = np.trace(hess[i, a] @ hess[i, b])
        np.testing.assert_allclose(h_tilde[i], want_h, rtol=1e-10,
                                   atol=1e-10)
        want = (e1[i] * sum(np.outer(jac[i, :, q], jac[i, :, q])
                            for q in range(z)) + e2[i] * want_h +
                low[i] @ low[i].T)
        np.testing.assert_allclose(got[i], want, rtol=1e-10, atol=1e-10)
    # without the Hessian term, scalar eps1
    got2 = tic_covariance(t(jac), 0.5, t(low)).numpy()
    np.testing.assert_allclose(
        got2, 0.5 * jac @ jac.transpose(0, 2, 1) +
        low @ low.transpose(0, 2, 1), rtol=1e-10, atol=1e-12)


def test_tic_covariance_checks():
    jac, low = torch.zeros(2, 4, 3), torch.eye(4).expand(2, 4, 4)
    with pytest.raises(ValueError, match='eps1 must be >= 0'):
        tic_covariance(jac, torch.tensor([1.0, -1.0]), low)
    with pytest.raises(ValueError, match=r'eps1 must be a scalar or'):
        tic_covariance(jac, torch.ones(3), low)
    with pytest.raises(ValueError, match='l_factor must have shape'):
        tic_covariance(jac, 1.0, torch.eye(5).expand(2, 5, 5))
    with pytest.raises(ValueError, match='eps2 is required'):
        tic_covariance(jac, 1.0, low, hessian_term=low)
    with pytest.raises(ValueError, match='jacobian must have shape'):
        tic_covariance(torch.zeros(4, 3), 1.0, low)


def test_cholesky_factor_from_raw_is_valid():
    raw = torch.randn(3, 6, 6, generator=torch.Generator().manual_seed(0),
                      dtype=torch.float64) * 3
    low = cholesky_factor_from_raw(raw)
    assert torch.equal(low, torch.tril(low))
    assert (low.diagonal(dim1=-2, dim2=-1) > 0).all()
    cov = cov_from_cholesky_factor(raw)
    torch.testing.assert_close(cov, low @ low.transpose(-1, -2))
    assert (torch.linalg.eigvalsh(cov) > 0).all()


# --------------------------------------------------------------- baselines
def test_diagonal_nll_equals_full_nll_of_diagonal():
    rng, r, _ = _data(11, n=4, k=3)
    var = rng.random((4, 6)) + 0.1
    m = _mask(rng, 4, 3)
    t = torch.from_numpy
    got = diagonal_gaussian_nll(t(r), t(var), t(m)).numpy()
    for i in range(4):
        keep = _keep(m[i])
        want = -multivariate_normal.logpdf(r[i, keep],
                                           cov=np.diag(var[i, keep]))
        np.testing.assert_allclose(got[i], want, rtol=1e-10)


def test_beta_nll_values_and_gradients():
    rng, r, _ = _data(12, n=3, k=3)
    var = rng.random((3, 6)) + 0.1
    m = torch.from_numpy(_mask(rng, 3, 3))
    t = torch.from_numpy
    torch.testing.assert_close(beta_nll(t(r), t(var), 0.0, m),
                               diagonal_gaussian_nll(t(r), t(var), m))
    beta = 0.5
    rt = torch.tensor(r, requires_grad=True)
    vt = torch.tensor(var, requires_grad=True)
    out = beta_nll(rt, vt, beta, m)
    out.sum().backward()
    cm = m.repeat_interleave(2, dim=1).numpy()
    # value: var^beta-weighted per-dimension NLL
    per_dim = 0.5 * (np.log(var) + r**2 / var + math.log(2 * math.pi))
    np.testing.assert_allclose(out.detach().numpy(),
                               (var**beta * per_dim * cm).sum(1), rtol=1e-10)
    # mean gradient: var^beta times the NLL's r / var
    np.testing.assert_allclose(rt.grad.numpy(), cm * var**beta * r / var,
                               rtol=1e-10)
    # variance gradient: var^beta times the NLL's (not through the weight)
    np.testing.assert_allclose(
        vt.grad.numpy(), cm * var**beta * 0.5 * (1 / var - r**2 / var**2),
        rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize('diag', [False, True])
def test_faithful_gradients(diag):
    rng, r, c = _data(13, n=3, k=4)
    m = torch.from_numpy(_mask(rng, 3, 4))
    cov = (np.diagonal(c, axis1=1, axis2=2).copy() if diag else c)
    rt = torch.tensor(r, requires_grad=True)
    ct = torch.tensor(cov, requires_grad=True)
    out = faithful_loss(rt, ct, m)
    out.sum().backward()
    # the mean gets exactly the squared error's gradient ...
    r2 = torch.tensor(r, requires_grad=True)
    cm = m.repeat_interleave(2, dim=1)
    (0.5 * torch.where(cm, r2, 0.0).pow(2).sum()).backward()
    torch.testing.assert_close(rt.grad, r2.grad)
    # ... and the covariance the NLL's
    c2 = torch.tensor(cov, requires_grad=True)
    nll = (diagonal_gaussian_nll(torch.from_numpy(r), c2, m) if diag else
           gaussian_nll(torch.from_numpy(r), c2, m))
    nll.sum().backward()
    torch.testing.assert_close(ct.grad, c2.grad)
    # value: squared error plus NLL
    torch.testing.assert_close(
        out.detach(), nll.detach() + 0.5 * torch.where(
            cm, torch.from_numpy(r), 0.0).pow(2).sum(1))


# --------------------------------------------------------------- sampling
def test_sampling_reproduces_mean_and_covariance():
    rng, mean, c = _data(14, n=2, k=3)
    s = 20000
    gen = torch.Generator().manual_seed(0)
    x = sample_poses(torch.from_numpy(mean), torch.from_numpy(c), s,
                     generator=gen).numpy()
    assert x.shape == (s, 2, 6)
    for i in range(2):
        sd = np.sqrt(np.diag(c[i]))
        # mean: standard error sd / sqrt(S), 5 of them
        assert np.all(np.abs(x[:, i].mean(0) - mean[i]) < 5 * sd / s**0.5)
        # covariance: sd of the empirical covariance is
        # sqrt((S_aa S_bb + S_ab^2) / S), 5 of them
        emp = np.cov(x[:, i].T)
        tol = 5 * np.sqrt((np.outer(sd**2, sd**2) + c[i]**2) / s)
        assert np.all(np.abs(emp - c[i]) < tol)
    # same seed, same samples; float32 works
    x2 = sample_poses(torch.from_numpy(mean), torch.from_numpy(c), s,
                      generator=torch.Generator().manual_seed(0)).numpy()
    np.testing.assert_array_equal(x, x2)
    x32 = sample_poses(torch.tensor(mean, dtype=torch.float32),
                       torch.tensor(c, dtype=torch.float32), 3)
    assert x32.dtype == torch.float32 and x32.shape == (3, 2, 6)


def test_sampling_bad_arguments():
    with pytest.raises(ValueError, match='num_samples'):
        sample_poses(torch.zeros(1, 2), torch.eye(2)[None], 0)
    with pytest.raises(ValueError, match='cov must have shape'):
        sample_poses(torch.zeros(1, 2), torch.eye(4)[None], 5)


def test_gaussian_expected_oks_against_quadrature_and_monte_carlo():
    from probpose_ext.ops.gaussian import gaussian_expected_oks
    cov = torch.tensor([[[4.0, 1.5], [1.5, 2.0]], [[0.0, 0.0], [0.0, 0.0]],
                        [[9.0, -2.0], [-2.0, 1.0]]], dtype=torch.float64)
    v = torch.tensor([3.0, 5.0, 7.5], dtype=torch.float64)
    got = gaussian_expected_oks(cov, v)
    assert got[1].item() == 1.0
    # quadrature: sum of density x kernel on a fine grid (explicit inverse)
    step = 0.05
    xs = np.arange(-25, 25, step)
    gx, gy = np.meshgrid(xs, xs)
    pts = np.stack([gx.ravel(), gy.ravel()], -1)
    for n in (0, 2):
        dens = multivariate_normal(np.zeros(2), cov[n].numpy()).pdf(pts)
        kernel = np.exp(-(pts**2).sum(-1) / (2 * v[n].item()))
        quad = (dens * kernel).sum() * step * step
        assert got[n].item() == pytest.approx(quad, rel=1e-6)
    # Monte Carlo with the samples' own error bar
    g = torch.Generator().manual_seed(0)
    chol = torch.linalg.cholesky(cov[0])
    d = torch.randn(200_000, 2, generator=g, dtype=torch.float64) @ chol.T
    k = torch.exp(-(d**2).sum(-1) / (2 * v[0]))
    se = k.std() / math.sqrt(len(k))
    assert abs(k.mean() - got[0]) < 4 * se
    with pytest.raises(ValueError, match='2, 2'):
        gaussian_expected_oks(torch.zeros(3, 2), v)
