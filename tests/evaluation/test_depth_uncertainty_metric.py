"""DepthUncertaintyMetric built through MMPose's registry, on synthetic
data samples whose root-relative depth errors are drawn from the predicted
Gaussians (calibrated), from narrower ones, and against brute-force
numpy / scipy values."""
import math

import numpy as np
import pytest
from mmpose.evaluation.functional import keypoint_mpjpe
from mmpose.registry import METRICS
from scipy import stats

import probpose_ext  # noqa: F401  (registers the metric)

K = 5


def _samples(rng, n, std_factor=1.0, with_cov=False, hidden=0.0):
    """Data samples (MMPose's layout: T = 1 pose each) whose root-relative
    errors are drawn from N(0, sigma^2) (3-D: N(0, Sigma)); the reported
    std is ``std_factor`` times the true one. The root has no error."""
    samples, truth = [], []
    for i in range(n):
        gt = rng.normal(size=(1, K, 3)) * 0.3 + np.array([0, 0, 5.0])
        sigma = rng.uniform(0.01, 0.1, size=(1, K))
        if with_cov:
            a = rng.normal(size=(1, K, 3, 3)) * 0.05
            cov = a @ np.swapaxes(a, -1, -2) + 1e-4 * np.eye(3)
            cov[..., 2, 2] = np.maximum(cov[..., 2, 2], 1e-4)
            err = np.einsum('tkij,tkj->tki', np.linalg.cholesky(cov),
                            rng.normal(size=(1, K, 3)))
            sigma = np.sqrt(cov[..., 2, 2])
        else:
            err = np.zeros((1, K, 3))
            err[..., 2] = rng.normal(size=(1, K)) * sigma
            err[..., :2] = rng.normal(size=(1, K, 2)) * 0.02
        err[:, 0] = 0.0
        pred = gt + err
        pred += rng.normal(size=(1, 1, 3))  # a shared offset: root-relative
        visible = (rng.uniform(size=(1, K)) >= hidden).astype(np.float32)
        pred_inst = dict(keypoints=pred.astype(np.float32),
                         keypoint_depth_std=(std_factor * sigma).astype(
                             np.float32))
        if with_cov:
            pred_inst['keypoints_cov3d'] = (std_factor**2 * cov).astype(
                np.float32)
        samples.append(
            dict(pred_instances=pred_inst,
                 gt_instances=dict(lifting_target=gt,
                                   lifting_target_visible=visible[..., None]),
                 target_img_path=[f'S1_act.{i}.jpg']))
        truth.append((pred, gt, visible > 0, std_factor * sigma,
                       std_factor**2 * cov if with_cov else None))
    return samples, truth


def _evaluate(samples, **cfg):
    metric = METRICS.build(dict(type='DepthUncertaintyMetric', **cfg))
    metric.process([], samples)
    return metric.compute_metrics(metric.results)


def test_keys_and_values_against_brute_force():
    rng = np.random.default_rng(0)
    samples, truth = _samples(rng, 40, std_factor=1.3, with_cov=True,
                              hidden=0.2)
    got = _evaluate(samples)
    errs, sigmas, nll3, d2 = [], [], [], []
    for pred, gt, vis, sigma, cov in truth:
        if not vis[0, 0]:
            continue
        for j in range(1, K):
            if not vis[0, j]:
                continue
            r = (pred[0, j] - pred[0, 0]) - (gt[0, j] - gt[0, 0])
            errs.append(r[2])
            sigmas.append(sigma[0, j])
            nll3.append(-stats.multivariate_normal(np.zeros(3),
                                                   cov[0, j]).logpdf(r))
            d2.append(r @ np.linalg.inv(cov[0, j]) @ r)
    errs, sigmas, d2 = map(np.array, (errs, sigmas, d2))
    nll = -stats.norm(0, sigmas).logpdf(errs).mean()
    assert got['depth/NLL'] == pytest.approx(nll, rel=1e-4)
    assert got['depth/NLL_mm'] == pytest.approx(nll + math.log(1000),
                                                rel=1e-4)
    for p in (0.68, 0.95):
        lo, hi = stats.norm.interval(p, scale=sigmas)
        assert got[f'depth/cov{round(100 * p)}'] == pytest.approx(
            np.mean((errs >= lo) & (errs <= hi)))
        assert got[f'cov3d/cov{round(100 * p)}'] == pytest.approx(
            np.mean(d2 <= stats.chi2.ppf(p, 3)))
    assert got['cov3d/NLL'] == pytest.approx(np.mean(nll3), rel=1e-4)
    assert got['depth/MAE_mm'] == pytest.approx(
        1000 * np.abs(errs).mean(), rel=1e-4)
    pred = np.concatenate([t[0] for t in truth])
    gt = np.concatenate([t[1] for t in truth])
    mask = np.concatenate([t[2] for t in truth])
    assert got['pose/MPJPE_mm'] == pytest.approx(
        1000 * keypoint_mpjpe(pred, gt, mask), rel=1e-4)
    assert got['pose/P-MPJPE_mm'] == pytest.approx(
        1000 * keypoint_mpjpe(pred, gt, mask, 'procrustes'), rel=1e-4)
    assert {'depth/ENCE', 'depth/AUSE', 'depth/RMSE_mm',
            'depth/mean_std_mm'} <= set(got)


def test_calibrated_vs_too_wide():
    good = _evaluate(_samples(np.random.default_rng(1), 5000)[0])
    wide = _evaluate(_samples(np.random.default_rng(1), 5000,
                              std_factor=2.0)[0])
    # 20000 joints: binomial standard error ~3e-3
    assert good['depth/cov68'] == pytest.approx(0.68, abs=0.015)
    assert good['depth/cov95'] == pytest.approx(0.95, abs=0.01)
    assert good['depth/ENCE'] < 0.05
    assert wide['depth/cov68'] > good['depth/cov68'] + 0.1
    assert wide['depth/cov95'] > good['depth/cov95']
    assert wide['depth/ENCE'] > good['depth/ENCE'] + 0.3  # ~0.5
    # the errors are the same, only the std differs: same MAE and ranking
    assert wide['depth/MAE_mm'] == pytest.approx(good['depth/MAE_mm'])
    assert wide['depth/AUSE'] == pytest.approx(good['depth/AUSE'], abs=1e-9)
    # the std ranks the errors (sigma varies 10x): better than a random
    # std of the same range
    samples, _ = _samples(np.random.default_rng(1), 5000)
    rng = np.random.default_rng(5)
    for sample in samples:
        sample['pred_instances']['keypoint_depth_std'] = rng.uniform(
            0.01, 0.1, (1, K)).astype(np.float32)
    random = _evaluate(samples)
    assert 0 < good['depth/AUSE'] < random['depth/AUSE'] - 0.1
    assert 'cov3d/NLL' not in good


def test_calibrated_full_covariance_coverage():
    got = _evaluate(_samples(np.random.default_rng(2), 3000,
                             with_cov=True)[0])
    assert got['cov3d/cov68'] == pytest.approx(0.68, abs=0.02)
    assert got['cov3d/cov95'] == pytest.approx(0.95, abs=0.01)
    assert got['depth/cov68'] == pytest.approx(0.68, abs=0.02)


def test_bad_inputs_raise():
    samples, _ = _samples(np.random.default_rng(3), 2)
    del samples[0]['pred_instances']['keypoint_depth_std']
    with pytest.raises(KeyError, match='keypoint_depth_std'):
        _evaluate(samples)
    samples, _ = _samples(np.random.default_rng(3), 2)
    samples[0]['pred_instances']['keypoint_depth_std'][0, 2] = np.nan
    with pytest.raises(ValueError, match='NaN'):
        _evaluate(samples)
    with pytest.raises(ValueError, match='levels'):
        METRICS.build(dict(type='DepthUncertaintyMetric', levels=(1.2, )))
    with pytest.raises(TypeError):
        METRICS.build(dict(type='DepthUncertaintyMetric', num_bin=3))
