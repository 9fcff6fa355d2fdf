"""Tests of :mod:`probpose_ext.ops.reliability`: reliability diagram, ECE,
MCE and Brier against Python loops; credible-region coverage against a
per-map brute force, and statistically on maps the GT is drawn from."""
import math

import numpy as np
import pytest
import torch

from probpose_ext.ops.reliability import (binary_calibration_errors,
                                          credible_coverage,
                                          reliability_diagram)
from probpose_ext.ops.simplex import sparsemax

from tests.ops._brute_calibration import (brute_coverage, brute_diagram,
                                          brute_errors)
from tests.ops._maps import F64, random_prob


# ------------------------------------------------------------ binary events
def _random_binary(n, seed):
    rng = np.random.default_rng(seed)
    q = rng.random(n)
    # bin edges and the end points themselves
    q[:6] = [0.0, 1.0, 0.5, 0.25, 0.75, 0.1]
    y = (rng.random(n) < q**2).astype(np.float64)  # over-confident
    return q, y


@pytest.mark.parametrize('bins', [1, 4, 10])
def test_reliability_diagram_matches_loops(bins):
    q, y = _random_binary(300, seed=bins)
    valid = np.random.default_rng(1).random(q.shape) > 0.2
    diagram = reliability_diagram(q.reshape(30, 10), y.reshape(30, 10),
                                  valid.reshape(30, 10), bins=bins)
    count, conf, freq = brute_diagram(q[valid].tolist(), y[valid].tolist(),
                                       bins)
    assert diagram['count'].tolist() == count
    np.testing.assert_allclose(diagram['confidence'].numpy(), conf,
                               rtol=1e-12)
    np.testing.assert_allclose(diagram['frequency'].numpy(), freq,
                               rtol=1e-12)
    np.testing.assert_allclose(diagram['edges'].numpy(),
                               np.arange(bins + 1) / bins)


def test_empty_bins_are_nan_and_hand_example():
    q = torch.tensor([0.05, 0.15, 0.95, 1.0])
    y = torch.tensor([0, 1, 1, 0])
    diagram = reliability_diagram(q, y, bins=2)
    assert diagram['count'].tolist() == [2, 2]
    np.testing.assert_allclose(diagram['confidence'], [0.1, 0.975])
    np.testing.assert_allclose(diagram['frequency'], [0.5, 0.5])
    errors = binary_calibration_errors(q, y, bins=2)
    # |0.5 - 0.1| and |0.5 - 0.975|, each half of the entries
    assert errors['ece'] == pytest.approx(0.5 * 0.4 + 0.5 * 0.475)
    assert errors['mce'] == pytest.approx(0.475)
    assert errors['brier'] == pytest.approx(
        (0.05**2 + 0.85**2 + 0.05**2 + 1.0) / 4)
    five = reliability_diagram(q, y, bins=5)
    assert five['count'].tolist() == [2, 0, 0, 0, 2]
    assert torch.isnan(five['confidence'][1:4]).all()
    assert torch.isnan(five['frequency'][1:4]).all()


@pytest.mark.parametrize('bins', [3, 10, 15])
def test_calibration_errors_match_loops(bins):
    q, y = _random_binary(500, seed=10 + bins)
    got = binary_calibration_errors(torch.from_numpy(q), torch.from_numpy(y),
                                    bins=bins)
    ref = brute_errors(q.tolist(), y.tolist(), bins)
    assert got['count'] == ref['count'] == 500
    for key in ('ece', 'mce', 'brier'):
        assert got[key] == pytest.approx(ref[key], rel=1e-12), key


def test_calibrated_predictions_have_small_ece():
    """Labels drawn with the predicted probability: ECE is sampling noise
    (O(sqrt(B / n))); the same probabilities with labels drawn from q^2
    are off by E|q - q^2| per bin."""
    rng = np.random.default_rng(0)
    n, bins = 20000, 10
    q = rng.random(n)
    calibrated = binary_calibration_errors(q, rng.random(n) < q, bins=bins)
    assert calibrated['ece'] < 3 * math.sqrt(bins / n)
    skewed = binary_calibration_errors(q, rng.random(n) < q**2, bins=bins)
    # E[q - q^2] = 1/6 for q ~ U(0, 1)
    assert skewed['ece'] == pytest.approx(1 / 6, abs=0.02)
    # Brier of calibrated predictions: E[q (1 - q)] = 1/6
    assert calibrated['brier'] == pytest.approx(1 / 6, abs=0.01)


def test_no_entry_and_errors():
    q = np.array([0.2, 0.7])
    none = binary_calibration_errors(q, [1, 0], valid=[False, False])
    assert none['count'] == 0 and math.isnan(none['ece'])
    assert reliability_diagram(q, [1, 0], [0, 0])['count'].sum() == 0
    with pytest.raises(ValueError, match='prob must be finite and in'):
        binary_calibration_errors([0.2, 1.5], [1, 0])
    with pytest.raises(ValueError, match='prob must be finite and in'):
        binary_calibration_errors([0.2, math.nan], [1, 0])
    # invalid entries are not checked
    assert binary_calibration_errors([0.2, math.nan], [1, 0],
                                     valid=[1, 0])['count'] == 1
    with pytest.raises(ValueError, match='label must be 0 or 1'):
        binary_calibration_errors(q, [1, 0.5])
    with pytest.raises(ValueError, match='label must have the shape'):
        reliability_diagram(q, [1, 0, 1])
    with pytest.raises(ValueError, match='valid must have the shape'):
        reliability_diagram(q, [1, 0], [True])
    with pytest.raises(ValueError, match='bins must be a positive int'):
        reliability_diagram(q, [1, 0], bins=0)
    with pytest.raises(ValueError, match='bins must be a positive int'):
        binary_calibration_errors(q, [1, 0], bins=2.5)


# -------------------------------------------------------- credible coverage
@pytest.mark.parametrize('sparse', [True, False])
def test_coverage_matches_brute_force(sparse):
    n, k, h, w = 6, 3, 5, 4
    prob = random_prob(n, k, h, w, seed=3, sparse=sparse)
    gen = torch.Generator().manual_seed(4)
    gt = torch.rand(n, k, 2, generator=gen, dtype=F64) * torch.tensor(
        [w + 1.0, h + 1.0], dtype=F64) - 1.0  # some outside the map
    valid = torch.rand(n, k, generator=gen) > 0.2
    levels = (0.3, 0.5, 0.9, 1.0)
    got = credible_coverage(prob, gt, valid, levels=levels)
    chunked = credible_coverage(prob, gt, valid, levels=levels,
                                chunk_size=4)
    for i, p in enumerate(levels):
        cov, mass, area, count = brute_coverage(prob, gt, valid, p)
        assert got['count'] == chunked['count'] == count
        assert got['coverage'][i].item() == pytest.approx(cov, abs=1e-12)
        assert got['mass'][i].item() == pytest.approx(mass, rel=1e-12)
        assert got['area'][i].item() == pytest.approx(area, rel=1e-12)
        for key in ('coverage', 'mass', 'area'):
            assert chunked[key][i].item() == pytest.approx(
                got[key][i].item(), rel=1e-12)
    assert got['levels'].tolist() == list(levels)


def _blob_logits(n, k, h, w, gen):
    ys = torch.arange(h, dtype=F64)[:, None]
    xs = torch.arange(w, dtype=F64)[None, :]
    cx = torch.rand(n, k, 1, 1, generator=gen, dtype=F64) * (w - 1)
    cy = torch.rand(n, k, 1, 1, generator=gen, dtype=F64) * (h - 1)
    scale = 0.5 + 2 * torch.rand(n, k, 1, 1, generator=gen, dtype=F64)
    return -((xs - cx)**2 + (ys - cy)**2) * scale / 8


def _draw_from(prob, gen):
    n, k, h, w = prob.shape
    idx = torch.multinomial(prob.reshape(n * k, h * w), 1,
                            generator=gen).view(n, k)
    jitter = torch.rand(n, k, 2, generator=gen, dtype=F64) * 0.98 - 0.49
    return torch.stack([idx % w, idx // w], dim=-1).to(F64) + jitter


def test_coverage_of_gt_drawn_from_maps_equals_held_mass():
    """Each map is hit with probability equal to its region's mass: the
    coverage is a mean of independent Bernoulli(mass_i) variables, whose
    standard deviation is at most sqrt(mean mass (1 - mean mass) / m)."""
    gen = torch.Generator().manual_seed(0)
    n, k, h, w = 400, 17, 16, 12
    prob = sparsemax(_blob_logits(n, k, h, w, gen).flatten(-2), -1).view(
        n, k, h, w)
    gt = _draw_from(prob, gen)
    levels = (0.5, 0.8, 0.9, 0.95)
    result = credible_coverage(prob, gt, levels=levels)
    m = result['count']
    assert m == n * k
    for i, p in enumerate(levels):
        mass = result['mass'][i].item()
        assert mass >= p
        tol = 4 * math.sqrt(mass * (1 - mass) / m)
        assert abs(result['coverage'][i].item() - mass) < tol, p


def test_coverage_of_too_sharp_maps_is_below_level():
    """GT drawn from sparsemax(z / 2); the maps evaluated at T = 0.5 are
    too sharp and their regions miss the GT far more often than 1 - p."""
    gen = torch.Generator().manual_seed(1)
    n, k, h, w = 300, 17, 16, 12
    logits = _blob_logits(n, k, h, w, gen).flatten(-2)
    truth = sparsemax(logits / 2.0, -1).view(n, k, h, w)
    sharp = sparsemax(logits / 0.5, -1).view(n, k, h, w)
    gt = _draw_from(truth, gen)
    levels = (0.5, 0.8, 0.9)
    result = credible_coverage(sharp, gt, levels=levels)
    m = result['count']
    for i, p in enumerate(levels):
        tol = 4 * math.sqrt(p * (1 - p) / m)
        assert result['coverage'][i].item() < p - tol, p
    calibrated = credible_coverage(truth, gt, levels=levels)
    assert (calibrated['coverage'] > result['coverage']).all()


def test_coverage_validity_and_errors():
    prob = random_prob(2, 2, 3, 3, seed=0)
    gt = torch.ones(2, 2, 2, dtype=F64)
    bad = prob.clone()
    bad[0, 0] = math.nan
    result = credible_coverage(bad, gt, levels=[0.5])
    assert result['count'] == 3  # the NaN map is skipped
    nothing = credible_coverage(prob, gt, torch.zeros(2, 2), levels=[0.5])
    assert nothing['count'] == 0 and torch.isnan(nothing['coverage']).all()
    with pytest.raises(ValueError, match='credible level p must be in'):
        credible_coverage(prob, gt, levels=[0.0])
    with pytest.raises(ValueError, match='at least one credible level'):
        credible_coverage(prob, gt, levels=[])
    with pytest.raises(ValueError, match='gt_xy must have shape'):
        credible_coverage(prob, gt[:, :1], levels=[0.5])
    with pytest.raises(ValueError, match='chunk_size must be >= 1'):
        credible_coverage(prob, gt, chunk_size=0)
    with pytest.raises(ValueError, match='prob must be a floating tensor'):
        credible_coverage(prob[0], gt)
