"""Ex-OKS against a scalar brute-force implementation and closed forms."""
import math

import numpy as np
import pytest

from probpose_ext.ops.ex_oks import (ex_oks, ex_oks_matrix,
                                     fallback_similarity, keypoint_similarity)
from probpose_ext.utils.metainfo import load_metainfo

SIGMAS = np.asarray(load_metainfo()['sigmas'], dtype=np.float64)


def _brute_boundary_sq(p, win, mode):
    """Squared distance to the window boundary, by hand, per mode."""
    x, y = p
    x0, y0, x1, y1 = win
    if mode == 'corner':
        return min(x - x0, x1 - x)**2 + min(y - y0, y1 - y)**2
    inside = x0 <= x <= x1 and y0 <= y <= y1
    if inside:
        return min(x - x0, x1 - x, y - y0, y1 - y)**2
    cx, cy = min(max(x, x0), x1), min(max(y, y0), y1)
    return (x - cx)**2 + (y - cy)**2


def _brute_ex_oks(pred, pred_in, gt, vis, win, area, mode):
    total, count = 0.0, 0
    for k in range(len(vis)):
        if vis[k] == 0:
            continue
        g_in = vis[k] != 3
        if g_in and pred_in[k]:
            d2 = (pred[k][0] - gt[k][0])**2 + (pred[k][1] - gt[k][1])**2
        elif g_in:
            d2 = _brute_boundary_sq(gt[k], win, mode)
        elif pred_in[k]:
            d2 = _brute_boundary_sq(pred[k], win, mode)
        else:
            d2 = 0.0
        total += math.exp(-d2 / (2 * area * (2 * SIGMAS[k])**2))
        count += 1
    return total / count


@pytest.mark.parametrize('mode', ['edge', 'corner'])
def test_ex_oks_matches_brute_force(mode):
    rng = np.random.default_rng(0)
    win = np.array([20.0, 10.0, 120.0, 150.0])
    for _ in range(50):
        gt = rng.uniform(-40, 180, (17, 2))
        pred = gt + rng.normal(0, 15, (17, 2))
        vis = rng.integers(0, 4, 17)
        vis[0] = 2  # at least one annotated keypoint
        pred_in = rng.random(17) < 0.6
        area = rng.uniform(500, 8000)
        got = ex_oks(pred, pred_in, gt, vis, win, area, SIGMAS, mode)
        want = _brute_ex_oks(pred, pred_in, gt, vis, win, area, mode)
        assert got == pytest.approx(want, rel=1e-12)


def test_four_cases_closed_form():
    win = [0.0, 0.0, 100.0, 200.0]
    area = 1000.0
    sig = SIGMAS[:4]
    gt = np.array([[50, 50], [50, 190], [30, 100], [-20, 300]], float)
    pred = np.array([[53, 54], [10, 5], [60, 100], [99, 150]], float)
    vis = np.array([2, 3, 1, 3])
    pred_in = np.array([True, True, False, False])
    d2 = np.array([
        25.0,  # both in: |(3, 4)|^2
        5.0**2,  # GT out, pred in: prediction (10, 5) is 5 from the top edge
        30.0**2,  # GT in, pred out: GT (30, 100) is 30 from the left edge
        0.0  # both out
    ])
    want = np.mean(np.exp(-d2 / (2 * area * (2 * sig)**2)))
    got = ex_oks(pred, pred_in, gt, vis, win, area, sig)
    assert got == pytest.approx(want, rel=1e-12)
    # corner distances: (10, 5) -> corner (0, 0) = 125; (30, 100) -> 30^2+100^2
    d2c = np.array([25.0, 125.0, 30.0**2 + 100.0**2, 0.0])
    want = np.mean(np.exp(-d2c / (2 * area * (2 * sig)**2)))
    got = ex_oks(pred, pred_in, gt, vis, win, area, sig, 'corner')
    assert got == pytest.approx(want, rel=1e-12)


def test_all_in_equals_oks_and_perfect_prediction_is_one():
    rng = np.random.default_rng(1)
    gt = rng.uniform(0, 100, (17, 2))
    pred = gt + rng.normal(0, 3, (17, 2))
    vis = np.full(17, 2)
    vis[[3, 5]] = 0
    win = [-1000, -1000, 1000, 1000]
    got = ex_oks(pred, np.ones(17, bool), gt, vis, win, 2500.0, SIGMAS)
    e = ((pred - gt)**2).sum(1) / (2 * 2500.0 * (2 * SIGMAS)**2)
    assert got == pytest.approx(np.exp(-e)[vis > 0].mean(), rel=1e-12)
    # GT used as prediction, with correct in/out decisions: exactly 1
    vis[:4] = 3
    assert ex_oks(gt, vis != 3, gt, vis, win, 2500.0, SIGMAS) == 1.0
    # gt_in overrides the visibility
    assert ex_oks(gt, np.ones(17, bool), gt, vis, win, 2500.0, SIGMAS,
                  gt_in=np.ones(17, bool)) == 1.0
    # nothing annotated: NaN
    assert math.isnan(
        ex_oks(gt, np.ones(17, bool), gt, np.zeros(17), win, 1.0, SIGMAS))


def test_matrix_equals_pairwise_and_fallback():
    rng = np.random.default_rng(2)
    D, G, K = 5, 4, 17
    gt = rng.uniform(0, 200, (G, K, 2))
    vis = rng.integers(0, 4, (G, K))
    vis[3] = 0  # a GT without annotated keypoints
    pred = rng.uniform(0, 200, (D, K, 2))
    pred_in = rng.random((D, K)) < 0.5
    wins = np.concatenate([gt.min(1) - 10, gt.max(1) + 10], 1)
    areas = rng.uniform(1000, 5000, G)
    regions = wins + np.array([-5, -5, 5, 5])
    mat = ex_oks_matrix(pred, pred_in, gt, vis != 3, vis > 0, wins, SIGMAS,
                        areas, 'edge', fallback_regions=regions)
    for d in range(D):
        for g in range(3):
            assert mat[d, g] == pytest.approx(
                ex_oks(pred[d], pred_in[d], gt[g], vis[g], wins[g], areas[g],
                       SIGMAS), rel=1e-12)
        # COCO's fallback: distance of each keypoint to the region, all K
        x0, y0, x1, y1 = regions[3]
        dx = np.maximum(0, x0 - pred[d, :, 0]) + np.maximum(
            0, pred[d, :, 0] - x1)
        dy = np.maximum(0, y0 - pred[d, :, 1]) + np.maximum(
            0, pred[d, :, 1] - y1)
        e = (dx**2 + dy**2) / (2 * SIGMAS)**2 / areas[3] / 2
        assert mat[d, 3] == pytest.approx(np.exp(-e).mean(), rel=1e-9)
    np.testing.assert_allclose(
        fallback_similarity(pred, regions[3:], SIGMAS, areas[3:])[:, 0],
        mat[:, 3])


def test_keypoint_similarity_operation_order_matches_cocoeval():
    """Same float operations as xtcocotools: bitwise-equal values."""
    rng = np.random.default_rng(3)
    d2 = rng.uniform(0, 500, (2, 3, 17))
    areas = rng.uniform(100, 1e4, 3)
    got = keypoint_similarity(d2, SIGMAS, areas)
    kvars = (SIGMAS * 2)**2
    for g in range(3):
        e = d2[:, g] / kvars / (areas[g] + np.spacing(1)) / 2
        np.testing.assert_array_equal(got[:, g], np.exp(-e))


def test_unknown_aw_distance():
    with pytest.raises(ValueError, match='aw_distance'):
        ex_oks(np.zeros((1, 2)), [True], np.zeros((1, 2)), [2],
               [0, 0, 1, 1], 1.0, SIGMAS[:1], 'nearest')
