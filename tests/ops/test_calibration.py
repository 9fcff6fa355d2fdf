"""Tests of :mod:`probpose_ext.ops.calibration`: rank mass against a
brute-force loop, uniformity under a calibrated model, exact distances,
and temperature recovery on synthetic data."""
import math

import numpy as np
import pytest
import torch

from probpose_ext.ops.calibration import (calibration_curve, fit_temperature,
                                          gt_pixel_index, miscalibration,
                                          rank_mass)
from probpose_ext.ops.simplex import sparsemax
from tests.ops._brute_calibration import brute_rank_mass

F64 = torch.float64


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _sparsemax_maps(logits, temperature):
    """sparsemax over the H*W pixels of each map."""
    return sparsemax(logits.flatten(-2) / temperature).view_as(logits)


def _synthetic_logits(n, k, h, w, seed):
    """Smooth blob logits with noise, of a scale where T matters."""
    gen = _gen(seed)
    ys = torch.arange(h, dtype=F64)[:, None]
    xs = torch.arange(w, dtype=F64)[None, :]
    centre = torch.rand(n, k, 2, generator=gen, dtype=F64)
    centre = centre * torch.tensor([w - 1.0, h - 1.0], dtype=F64)
    sigma = 1 + 2 * torch.rand(n, k, 1, 1, generator=gen, dtype=F64)
    amp = 1 + 2 * torch.rand(n, k, 1, 1, generator=gen, dtype=F64)
    d2 = ((xs - centre[..., 0, None, None])**2 +
          (ys - centre[..., 1, None, None])**2)
    noise = 0.3 * torch.randn(n, k, h, w, generator=gen, dtype=F64)
    return -amp * d2 / (2 * sigma**2) + noise


def _draw_gt(prob, seed):
    """GT pixel centres drawn from the maps themselves, shape (N, K, 2)."""
    n, k, h, w = prob.shape
    idx = torch.multinomial(prob.reshape(-1, h * w), 1, generator=_gen(seed))
    idx = idx.view(n, k)
    return torch.stack([idx % w, idx // w], dim=-1).to(F64)


# --------------------------------------------------------------- rank_mass


@pytest.mark.parametrize('ties', ['random', 'mid', 'exclude'])
def test_rank_mass_matches_brute_force(ties):
    gen = _gen(0)
    prob = torch.rand(3, 4, 5, 6, generator=gen, dtype=F64)
    # Quantise so that ties occur, and zero some pixels (sparsemax-like).
    prob = torch.floor(prob * 4) / 4
    prob[0, 0] = 0.3  # constant map: everything tied
    prob = prob / prob.sum(dim=(-2, -1), keepdim=True)
    gt = torch.rand(3, 4, 2, generator=gen, dtype=F64)
    gt = gt * torch.tensor([7.0, 6.0], dtype=F64) - 0.6  # some outside
    gt[1, 2] = torch.tensor([-0.5, 4.49], dtype=F64)  # inside, on the edge
    gt[2, 3] = torch.tensor([5.5, 0.0], dtype=F64)  # x rounds to 6 = W
    mass, valid = rank_mass(prob, gt, ties=ties, generator=_gen(7))
    if ties == 'random':
        u = torch.rand(3, 4, generator=_gen(7), dtype=F64).numpy()
    else:
        u = np.full((3, 4), 0.5 if ties == 'mid' else 0.0)
    # the GT pixel (nearest centre) must lie inside the 6 x 5 map
    pix = torch.floor(gt + 0.5)
    inside = ((pix[..., 0] >= 0) & (pix[..., 0] < 6) & (pix[..., 1] >= 0)
              & (pix[..., 1] < 5))
    assert torch.equal(valid, inside)
    assert bool(valid[1, 2]) and not bool(valid[2, 3])
    assert 0 < int(valid.sum()) < 12
    ref = brute_rank_mass(prob, gt, np.ones((3, 4), bool), u)
    np.testing.assert_allclose(mass[valid].numpy(), ref, rtol=0, atol=1e-12)


def test_rank_mass_hand_example_and_float32():
    # Probabilities 0.4, 0.3, 0.2, 0.1, 0 on a 1x5 map.
    prob = torch.tensor([0.4, 0.3, 0.2, 0.1, 0.0]).view(1, 1, 1, 5)
    expected = [0.0, 0.4, 0.7, 0.9, 1.0]
    for x, exp in enumerate(expected):
        gt = torch.tensor([[[float(x), 0.2]]])
        mass, valid = rank_mass(prob, gt, ties='exclude')
        assert mass.dtype == torch.float32 and bool(valid.all())
        assert mass.item() == pytest.approx(exp, abs=1e-6)
        # The GT pixel is its only tie: a share u of its own mass.
        mass_r, _ = rank_mass(prob, gt, generator=_gen(1))
        u = torch.rand(1, 1, generator=_gen(1)).item()
        assert mass_r.item() == pytest.approx(exp + u * prob[..., x].item(),
                                              abs=1e-6)


def test_rank_mass_unnormalised_maps_relative_to_total():
    prob = torch.tensor([4.0, 3.0, 2.0, 1.0], dtype=F64).view(1, 1, 2, 2)
    gt = torch.tensor([[[0.0, 1.0]]], dtype=F64)  # value 2
    mass, _ = rank_mass(prob, gt, ties='exclude')
    assert mass.item() == pytest.approx(0.7)


def test_rank_mass_invalid_entries():
    prob = torch.full((2, 3, 4, 4), 1 / 16, dtype=F64)
    prob[1, 0] = 0.0  # all-zero map: no total, invalid
    gt = torch.full((2, 3, 2), 1.0, dtype=F64)
    gt[0, 0] = torch.tensor([4.0, 1.0])  # right of the map
    gt[0, 1] = torch.tensor([math.nan, 1.0])
    user_valid = torch.ones(2, 3, dtype=torch.bool)
    user_valid[1, 2] = False
    mass, valid = rank_mass(prob, gt, valid=user_valid, generator=_gen(0))
    expected = torch.tensor([[False, False, True], [False, True, False]])
    assert torch.equal(valid, expected)
    assert torch.isnan(mass[~valid]).all()
    assert torch.isfinite(mass[valid]).all()


def test_rank_mass_all_equal_maps():
    # Constant maps: every pixel tied, so S = u exactly.
    prob = torch.full((50, 2, 3, 3), 1 / 9, dtype=F64)
    gt = torch.rand(50, 2, 2, generator=_gen(0), dtype=F64) * 2
    mass, valid = rank_mass(prob, gt, generator=_gen(4))
    u = torch.rand(50, 2, generator=_gen(4), dtype=F64)
    assert bool(valid.all())
    torch.testing.assert_close(mass, u, rtol=0, atol=1e-12)
    assert torch.equal(
        rank_mass(prob, gt, ties='exclude')[0], torch.zeros(50, 2, dtype=F64))
    torch.testing.assert_close(
        rank_mass(prob, gt, ties='mid')[0], torch.full((50, 2), 0.5,
                                                       dtype=F64))


def test_tie_randomisation_makes_discrete_maps_uniform():
    # Two-level maps drawn from themselves: strict masses take only two
    # values, randomised masses are exactly U(0, 1).
    n = 4000
    prob = torch.zeros(n, 1, 2, 4, dtype=F64)
    prob[..., 0, :] = 0.2  # 4 pixels of 0.2 ...
    prob[..., 1, :2] = 0.1  # ... and 2 of 0.1, 2 of 0
    gt = _draw_gt(prob, seed=3)
    strict, _ = rank_mass(prob, gt, ties='exclude')
    assert set(strict.flatten().tolist()) <= {0.0, 0.8}
    assert miscalibration(strict)['ks'] > 0.3
    rand, _ = rank_mass(prob, gt, generator=_gen(5))
    assert miscalibration(rand)['ks'] < 1.63 / math.sqrt(n)  # 1% level


def test_rank_mass_shape_errors():
    with pytest.raises(ValueError):
        rank_mass(torch.rand(2, 3, 4), torch.zeros(2, 3, 2))
    with pytest.raises(ValueError):
        rank_mass(torch.rand(2, 3, 4, 4), torch.zeros(2, 3, 3))
    with pytest.raises(ValueError):
        rank_mass(torch.rand(1, 1, 2, 2), torch.zeros(1, 1, 2), ties='x')


def test_gt_pixel_index_rounding():
    gt = torch.tensor([[[0.49, 0.5], [2.5, 1.49], [-0.51, 0.0], [3.49, 2.49]]],
                      dtype=F64)
    index, valid = gt_pixel_index(gt, (3, 4))
    assert valid.tolist() == [[True, True, False, True]]
    assert index[valid].tolist() == [1 * 4 + 0, 1 * 4 + 3, 2 * 4 + 3]


# -------------------------------------------------- uniformity, distances


@pytest.mark.parametrize('temperature', [0.5, 1.0, 2.0])
def test_calibrated_model_gives_uniform_masses(temperature):
    logits = _synthetic_logits(1000, 3, 12, 12, seed=int(temperature * 10))
    prob = _sparsemax_maps(logits, temperature)
    gt = _draw_gt(prob, seed=11)
    mass, valid = rank_mass(prob, gt, generator=_gen(12))
    assert bool(valid.all())
    n = mass.numel()
    calibrated = miscalibration(mass)
    assert calibrated['count'] == n
    assert calibrated['ks'] < 1.63 / math.sqrt(n)
    # The same GT under too sharp / too flat maps is far from uniform.
    sharp, _ = rank_mass(_sparsemax_maps(logits, temperature / 2),
                         gt,
                         generator=_gen(12))
    flat, _ = rank_mass(_sparsemax_maps(logits, temperature * 2),
                        gt,
                        generator=_gen(12))
    assert miscalibration(sharp)['ks'] > 0.08
    assert miscalibration(flat)['ks'] > 0.08
    # Too sharp: GT in low-probability pixels, the CDF is below the
    # identity; too flat: above it.
    edges, cdf_sharp = calibration_curve(sharp, bins=4)
    _, cdf_flat = calibration_curve(flat, bins=4)
    assert (cdf_sharp[1:-1] < edges[1:-1]).all()
    assert (cdf_flat[1:-1] > edges[1:-1]).all()


def _ref_distances(values):
    """KS and mean |F_n(t) - t| by dense evaluation on a fine grid."""
    values = np.sort(np.asarray(values, dtype=np.float64))
    t = np.linspace(0, 1, 400001)
    cdf = np.searchsorted(values, t, side='right') / len(values)
    err = np.abs(cdf - t)
    # The supremum can be approached from the left of a jump.
    left = np.searchsorted(values, values, side='left') / len(values)
    right = np.searchsorted(values, values, side='right') / len(values)
    ks = max(err.max(),
             np.abs(left - values).max(),
             np.abs(right - values).max())
    return ks, float(((err[1:] + err[:-1]) / 2 * np.diff(t)).sum())


def test_miscalibration_exact_values():
    # Single mass at 0.5: F = 0 then 1; KS 0.5, integral 2 * 0.125.
    out = miscalibration(torch.tensor([0.5]))
    assert out == {'ks': 0.5, 'mace': pytest.approx(0.25), 'count': 1}
    # Masses all 0: F = 1 on [0, 1]; integral of 1 - t is 0.5.
    out = miscalibration(torch.zeros(7))
    assert out['ks'] == pytest.approx(1.0)
    assert out['mace'] == pytest.approx(0.5)
    values = torch.rand(37, generator=_gen(0), dtype=F64)**2
    out = miscalibration(values)
    ks, mace = _ref_distances(values.numpy())
    assert out['ks'] == pytest.approx(ks, abs=1e-9)
    assert out['mace'] == pytest.approx(mace, abs=1e-6)
    # Quantiles (i - 1/2)/n: the most uniform sample, KS = 1/(2n).
    n = 10
    mid = (torch.arange(n, dtype=F64) + 0.5) / n
    out = miscalibration(mid)
    assert out['ks'] == pytest.approx(1 / (2 * n))
    assert out['mace'] == pytest.approx(1 / (4 * n))


def test_miscalibration_ignores_nan_and_masked():
    values = torch.tensor([[0.1, math.nan], [0.7, 0.3]], dtype=F64)
    valid = torch.tensor([[True, True], [False, True]])
    out = miscalibration(values, valid)
    ref = miscalibration(torch.tensor([0.1, 0.3], dtype=F64))
    assert out == ref and out['count'] == 2
    empty = miscalibration(torch.full((3, ), math.nan))
    assert empty['count'] == 0 and math.isnan(empty['ks'])


def test_calibration_curve_values():
    masses = torch.tensor([0.0, 0.1, 0.25, 0.6, 1.0, math.nan], dtype=F64)
    edges, cdf = calibration_curve(masses, bins=4)
    torch.testing.assert_close(edges,
                               torch.tensor([0, .25, .5, .75, 1.], dtype=F64))
    torch.testing.assert_close(cdf,
                               torch.tensor([1, 3, 3, 4, 5], dtype=F64) / 5)
    edges, cdf = calibration_curve(masses, bins=[0.05, 0.6])
    torch.testing.assert_close(cdf, torch.tensor([0.2, 0.8], dtype=F64))
    _, cdf = calibration_curve(torch.tensor([math.nan]), bins=2)
    assert torch.isnan(cdf).all()
    with pytest.raises(ValueError):
        calibration_curve(masses, bins=[0.5, 0.2])


# -------------------------------------------------------- fit_temperature


@pytest.mark.parametrize('true_t', [0.5, 1.0, 2.0])
def test_fit_temperature_recovers_known_temperature(true_t):
    logits = _synthetic_logits(1000, 2, 12, 12, seed=int(true_t * 10))
    gt = _draw_gt(_sparsemax_maps(logits, true_t), seed=21)
    # Some keypoints outside the map must be ignored, not counted.
    gt[:50, 0] = torch.tensor([-3.0, 40.0], dtype=F64)
    out = fit_temperature(logits, gt, generator=_gen(22), tol=1e-2)
    assert out['temperature'] == pytest.approx(true_t, rel=0.1)
    assert out['after']['count'] == 2000 - 50
    assert out['after']['mace'] <= out['before']['mace']
    assert out['after']['ks'] < 1.63 / math.sqrt(1950)
    if true_t != 1.0:
        assert out['before']['ks'] > 0.08
    # The fitted point beats every grid point.
    assert out['after']['mace'] <= out['grid_scores'].min().item() + 1e-12
    assert out['grid'].shape == out['grid_scores'].shape == (25, )


def test_fit_temperature_options_agree():
    logits = _synthetic_logits(300, 2, 10, 10, seed=5)
    gt = _draw_gt(_sparsemax_maps(logits, 0.7), seed=6)
    base = fit_temperature(logits, gt, generator=_gen(1), tol=1e-2)
    # Chunking and float32 do not change the answer materially.
    chunked = fit_temperature(logits,
                              gt,
                              generator=_gen(1),
                              tol=1e-2,
                              chunk_size=97)
    assert chunked['temperature'] == pytest.approx(base['temperature'],
                                                   rel=1e-9)
    single = fit_temperature(logits.float(),
                             gt.float(),
                             generator=_gen(1),
                             tol=1e-2)
    assert single['temperature'] == pytest.approx(base['temperature'],
                                                  rel=0.05)
    # The KS metric and an explicit grid also land near 0.7.
    ks = fit_temperature(logits,
                         gt,
                         generator=_gen(1),
                         metric='ks',
                         temperatures=[0.25, 0.5, 1.0, 2.0, 4.0],
                         tol=1e-2)
    assert ks['temperature'] == pytest.approx(0.7, rel=0.15)
    assert ks['grid'].tolist() == [0.25, 0.5, 1.0, 2.0, 4.0]
    # "before" is evaluated at initial_temperature.
    at_true = fit_temperature(logits,
                              gt,
                              generator=_gen(1),
                              tol=1e-2,
                              initial_temperature=0.7)
    assert at_true['before']['ks'] < 0.1


def test_fit_temperature_errors():
    logits = torch.zeros(1, 1, 4, 4)
    with pytest.raises(ValueError):  # the only GT is outside the map
        fit_temperature(logits, torch.tensor([[[9.0, 9.0]]]))
    with pytest.raises(ValueError):
        fit_temperature(logits, torch.zeros(1, 1, 2), metric='nll')
    with pytest.raises(ValueError):
        fit_temperature(logits, torch.zeros(1, 1, 2), bounds=(2.0, 1.0))
    with pytest.raises(ValueError):
        fit_temperature(logits, torch.zeros(1, 1, 2), temperatures=[0.0])


def test_fit_temperature_masked_logits():
    # -inf logits are probability 0 and allowed; NaN maps are dropped.
    logits = _synthetic_logits(200, 2, 8, 8, seed=9)
    gt = _draw_gt(_sparsemax_maps(logits, 1.0), seed=10)
    logits[:, :, 0, :] = -math.inf
    gt[:, :, 1] = gt[:, :, 1].clamp(min=1.0)
    logits[0, 0, 3, 3] = math.nan
    out = fit_temperature(logits, gt, generator=_gen(0), tol=1e-2)
    assert out['after']['count'] == 399
    assert math.isfinite(out['temperature'])
    assert out['temperature'] == pytest.approx(1.0, rel=0.25)


def _brute_coverage(logits, gt, temperature, level):
    """Share of GT pixels inside the ``level`` credible region, building
    each region explicitly: pixels by decreasing probability until the mass
    reaches ``level`` (maps without ties at the GT's boundary)."""
    prob = _sparsemax_maps(logits, temperature).numpy()
    n, k, h, w = prob.shape
    inside = []
    for i in range(n):
        for j in range(k):
            x, y = (int(round(v)) for v in gt[i, j].tolist())
            flat = prob[i, j].reshape(-1)
            order = np.argsort(-flat, kind='stable')
            need = np.searchsorted(np.cumsum(flat[order]), level) + 1
            region = set(order[:need].tolist())
            inside.append(y * w + x in region)
    return float(np.mean(inside))


def test_fit_temperature_coverage_objective_against_explicit_regions():
    # maps made too sharp: the 90% regions of T = 1 cover too little
    logits = _synthetic_logits(300, 2, 10, 10, seed=3)
    gt = _draw_gt(_sparsemax_maps(logits, 3.0), seed=4)
    out = fit_temperature(logits, gt, generator=_gen(0), metric='coverage',
                          level=0.9, tol=1e-3)
    t = out['temperature']
    assert _brute_coverage(logits, gt, 1.0, 0.9) < 0.8
    got = _brute_coverage(logits, gt, t, 0.9)
    # the fit covers 90% within the resolution of 600 keypoints, and no
    # temperature of a dense brute-force sweep does better
    sweep = [abs(_brute_coverage(logits, gt, s, 0.9) - 0.9)
             for s in np.geomspace(0.5, 8.0, 41)]
    assert abs(got - 0.9) <= min(sweep) + 1.0 / 600
    assert abs(got - 0.9) < 0.01
    assert out['after']['coverage'] == pytest.approx(got, abs=1.0 / 600)
    # at the level's temperature the distribution need not be uniform,
    # but the level's own CDF point is what is asked for
    assert out['before']['coverage'] < out['after']['coverage']
    with pytest.raises(ValueError, match='level'):
        fit_temperature(logits, gt, metric='coverage', level=1.0)
