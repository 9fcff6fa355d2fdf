"""TACMetric against brute-force numpy/scipy on random Gaussians, built
through MMPose's registry."""
import numpy as np
import pytest
from mmpose.registry import METRICS
from scipy.stats import chi2, multivariate_normal

import probpose_ext  # noqa: F401  (registers the metric)
from probpose_ext.ops.covariance import block_diagonal_covariance

K = 4


def _random_spd(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T + 0.5 * np.eye(d)


def _samples(rng, n=6, full=True):
    samples, truth = [], []
    for i in range(n):
        cov = _random_spd(rng, 2 * K) * 4.0
        pred = rng.uniform(20, 80, (1, K, 2))
        gt = pred + rng.multivariate_normal(np.zeros(2 * K), cov).reshape(
            1, K, 2)
        visible = np.ones((1, K))
        visible[0, i % K] = 0 if i % 3 == 0 else 1  # some absent joints
        pred_inst = dict(keypoints=pred)
        if full:
            pred_inst['keypoints_cov_full'] = cov[None]
        else:
            blocks = np.stack([cov[2 * j:2 * j + 2, 2 * j:2 * j + 2]
                               for j in range(K)])
            pred_inst['keypoints_cov'] = blocks[None]
            cov = block_diagonal_covariance(blocks[None])[0]
        samples.append(dict(img_id=i, pred_instances=pred_inst,
                            gt_instances=dict(keypoints=gt,
                                              keypoints_visible=visible)))
        truth.append((pred[0], cov, gt[0], visible[0] > 0))
    return samples, truth


def _brute(truth, levels=(0.68, 0.95)):
    errors, plain, nlls, d2s = [], [], [], []
    for pred, cov, gt, present in truth:
        idx = np.flatnonzero(present)
        coords = np.stack([2 * idx, 2 * idx + 1], 1).reshape(-1)
        c = cov[np.ix_(coords, coords)]
        r = (gt - pred)[idx].reshape(-1)
        nlls.append(-multivariate_normal(np.zeros(len(coords)), c).logpdf(r))
        for a, j in enumerate(idx):
            mine = [2 * a, 2 * a + 1]
            rest = [x for x in range(len(coords)) if x not in mine]
            cond = pred[j] + c[np.ix_(mine, rest)] @ np.linalg.inv(
                c[np.ix_(rest, rest)]) @ (r[rest])
            errors.append(np.linalg.norm(gt[j] - cond))
            plain.append(np.linalg.norm(gt[j] - pred[j]))
            m = c[np.ix_(mine, mine)]
            d2s.append(r[mine] @ np.linalg.inv(m) @ r[mine])
    d2s = np.array(d2s)
    cover = {level: np.mean(d2s <= chi2.ppf(level, 2)) for level in levels}
    return np.mean(errors), np.mean(plain), np.mean(nlls), cover


@pytest.mark.parametrize('full', [True, False])
def test_tac_nll_and_coverage_equal_brute_force(full):
    rng = np.random.default_rng(0)
    samples, truth = _samples(rng, full=full)
    metric = METRICS.build(dict(type='TACMetric'))
    metric.process([], samples)
    got = metric.compute_metrics(metric.results)
    tac, l2, nll, cover = _brute(truth)
    assert got['mean'] == pytest.approx(tac, rel=1e-6)
    assert got['l2'] == pytest.approx(l2, rel=1e-9)
    assert got['nll'] == pytest.approx(nll, rel=1e-6)
    assert got['coverage@68'] == pytest.approx(cover[0.68])
    assert got['coverage@95'] == pytest.approx(cover[0.95])
    if not full:
        # no cross-covariances: the conditional mean is the prediction
        assert got['mean'] == pytest.approx(got['l2'], rel=1e-9)
    assert {str(j) for j in range(K)} <= set(got)


def test_calibrated_gaussians_cover_their_levels():
    # GT drawn from the predicted Gaussians: coverage near the levels
    rng = np.random.default_rng(1)
    samples, _ = _samples(rng, n=400)
    metric = METRICS.build(dict(type='TACMetric'))
    metric.process([], samples)
    got = metric.compute_metrics(metric.results)
    n = sum(int(s['gt_instances']['keypoints_visible'].sum()) for s in samples)
    for level in (0.68, 0.95):
        sd = np.sqrt(level * (1 - level) / n)
        assert abs(got[f'coverage@{round(100 * level)}'] - level) < 4 * sd


def test_errors():
    with pytest.raises(ValueError, match='levels'):
        METRICS.build(dict(type='TACMetric', levels=(0.5, 1.0)))
    metric = METRICS.build(dict(type='TACMetric'))
    with pytest.raises(KeyError, match='keypoints_cov_full'):
        metric.process([], [dict(img_id=1, pred_instances=dict(
            keypoints=np.zeros((1, K, 2))), gt_instances={})])
    with pytest.raises(ValueError, match='no predictions'):
        metric.compute_metrics([])
