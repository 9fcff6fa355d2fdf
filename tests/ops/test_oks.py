import math

import numpy as np
import pytest
import torch

from probpose_ext.ops.oks import (argmax_newton_refine, decode_expected_oks,
                                  expected_oks_map, first_near_max,
                                  gaussian_oks_matrix, newton_step_1d, oks,
                                  oks_variance_authors, oks_variance_instance,
                                  oks_variance_nominal, tie_tolerance)
from tests.ops._maps import F64, random_prob

NOSE, WRIST, ELBOW, HIP = 0.026, 0.062, 0.072, 0.107
HM_SIZE = (48, 64)  # (W, H) heatmap of a 192x256 (w x h) input window


def _gauss_prob(x0, y0, var, h=64, w=48):
    """Discretised normalised Gaussian on integer pixel centres."""
    ys = torch.arange(h, dtype=F64)[:, None]
    xs = torch.arange(w, dtype=F64)[None, :]
    p = torch.exp(-((xs - x0)**2 + (ys - y0)**2) / (2 * var))
    return p / p.sum()


def _brute_force_eoks(prob, var_nk):
    """Per-pixel double loop in numpy float64: sum over every pixel."""
    n, k, h, w = prob.shape
    out = np.zeros((n, k, h, w))
    for i in range(n):
        for j in range(k):
            v = var_nk[i, j]
            for y in range(h):
                for x in range(w):
                    total = 0.
                    for yy in range(h):
                        for xx in range(w):
                            d2 = (x - xx)**2 + (y - yy)**2
                            total += prob[i, j, yy, xx] * math.exp(-d2 /
                                                                   (2 * v))
                    out[i, j, y, x] = total
    return out


# ----------------------------------------------------------------------
# expected OKS map
# ----------------------------------------------------------------------
@pytest.mark.parametrize('per_instance', [False, True])
def test_expected_oks_map_matches_brute_force(per_instance):
    prob = random_prob(2, 3, 7, 5, seed=1)
    if per_instance:
        var = torch.tensor([[0.3, 1.7, 6.0], [2.5, 0.8, 40.0]], dtype=F64)
        var_nk = var.numpy()
    else:
        var = torch.tensor([0.5, 2.0, 9.0], dtype=F64)
        var_nk = np.broadcast_to(var.numpy(), (2, 3))
    expected = _brute_force_eoks(prob.numpy(), var_nk)
    got = expected_oks_map(prob, var)
    assert got.shape == (2, 3, 7, 5) and got.dtype == F64
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12, atol=1e-14)
    # float32 agrees to single precision; a numpy variance is accepted
    got32 = expected_oks_map(prob.float(), var.numpy())
    assert got32.dtype == torch.float32
    np.testing.assert_allclose(got32.numpy(), expected, rtol=1e-5, atol=1e-6)
    # values are expected OKS: within [0, 1]
    assert (got >= 0).all() and (got <= 1 + 1e-12).all()


def test_expected_oks_map_limits_and_shapes():
    prob = random_prob(2, 3, 6, 4, seed=2)
    # zero variance: the kernel is a delta, E[OKS] = P
    torch.testing.assert_close(expected_oks_map(prob, 0.), prob)
    # huge variance: kernel ~ 1 everywhere, E[OKS] ~ total mass = 1
    torch.testing.assert_close(expected_oks_map(prob, 1e12),
                               torch.ones_like(prob))
    # (N, 1) broadcasts over keypoints
    var_n1 = torch.tensor([[1.], [3.]], dtype=F64)
    torch.testing.assert_close(expected_oks_map(prob, var_n1),
                               expected_oks_map(prob, var_n1.expand(2, 3)))
    with pytest.raises(ValueError):
        expected_oks_map(prob, torch.ones(5))
    with pytest.raises(ValueError):
        expected_oks_map(prob[0], torch.ones(3))


def test_gaussian_oks_matrix():
    var = torch.tensor([[0.5, 2.0], [0., 8.]], dtype=F64)
    g = gaussian_oks_matrix(4, var)
    assert g.shape == (2, 2, 4, 4)
    assert g[0, 1, 0, 3].item() == pytest.approx(math.exp(-9 / 4.))
    assert g[1, 1, 2, 1].item() == pytest.approx(math.exp(-1 / 16.))
    torch.testing.assert_close(g[1, 0], torch.eye(4, dtype=F64))  # v = 0
    torch.testing.assert_close(g, g.transpose(-1, -2))
    assert torch.all(torch.diagonal(g, dim1=-2, dim2=-1) == 1)


# ----------------------------------------------------------------------
# decoding
# ----------------------------------------------------------------------
@pytest.mark.parametrize('x0,y0', [(20.3, 30.7), (10.5, 11.49), (23.0, 31.9),
                                   (7.25, 40.75), (2.4, 61.6), (1.6, 2.2),
                                   (45.3, 1.8)])
def test_decode_recovers_subpixel_gaussian(x0, y0):
    prob = _gauss_prob(x0, y0, var=1.0)[None, None]
    for dtype in (F64, torch.float32):
        kps, scores = decode_expected_oks(prob.to(dtype), [2.0])
        assert kps.shape == (1, 1, 2) and scores.shape == (1, 1)
        assert kps.dtype == dtype
        assert abs(kps[0, 0, 0].item() - x0) < 0.1
        assert abs(kps[0, 0, 1].item() - y0) < 0.1
        # E[OKS] of the peak ~ v / (v + var) = 2/3 away from the borders
        assert 0.6 < scores.item() < 0.7


@pytest.mark.parametrize('x,y', [(17, 40), (0, 0), (47, 63), (0, 30)])
def test_decode_delta(x, y):
    prob = torch.zeros(1, 2, 64, 48)
    prob[0, :, y, x] = 1.
    var = oks_variance_nominal([NOSE, HIP], HM_SIZE).float()
    kps, scores = decode_expected_oks(prob, var)
    assert kps.tolist() == [[[float(x), float(y)]] * 2]
    assert scores.tolist() == [[1.0, 1.0]]


def test_decode_bimodal_kernel_width_decides():
    # broad mode: mass 0.7 around (x=12, y=20); spike: mass 0.3 at (36, 50)
    prob = 0.7 * _gauss_prob(12., 20., var=9.)
    prob[50, 36] += 0.3
    prob = prob[None, None].expand(1, 3, 64, 48).contiguous()
    flat_argmax = prob[0, 0].flatten().argmax().item()
    assert divmod(flat_argmax, 48) == (50, 36)  # plain argmax: the spike

    var = torch.cat([
        oks_variance_nominal([HIP, NOSE], HM_SIZE),  # ~47.7 and ~2.8 px^2
        torch.tensor([0.05], dtype=F64),  # very narrow
    ])
    assert var[0] > 40 and var[1] < 3
    kps, scores = decode_expected_oks(prob, var)
    # wide (body) kernel: the heavier broad mode
    assert torch.allclose(kps[0, 0],
                          torch.tensor([12., 20.], dtype=F64),
                          atol=0.05)
    # narrow kernels: the spike (exactly: its neighbours are symmetric ~0)
    assert torch.allclose(kps[0, 1],
                          torch.tensor([36., 50.], dtype=F64),
                          atol=1e-3)
    assert torch.allclose(kps[0, 2],
                          torch.tensor([36., 50.], dtype=F64),
                          atol=1e-6)
    # scores: broad ~ 0.7 * v / (v + 9); spike ~ its mass 0.3
    v = var[0].item()
    assert scores[0, 0].item() == pytest.approx(0.7 * v / (v + 9), rel=1e-2)
    assert scores[0, 2].item() == pytest.approx(0.3, abs=1e-6)


def test_decode_batch_equals_items():
    prob = random_prob(4, 5, 16, 12, seed=3)
    var = torch.rand(
        4, 5, generator=torch.Generator().manual_seed(4), dtype=F64) * 10 + 0.2
    kps, scores = decode_expected_oks(prob, var)
    for n in range(4):
        kp_n, sc_n = decode_expected_oks(prob[n:n + 1], var[n:n + 1])
        torch.testing.assert_close(kps[n:n + 1], kp_n)
        torch.testing.assert_close(scores[n:n + 1], sc_n)
        for k in range(5):
            kp_nk, sc_nk = decode_expected_oks(prob[n:n + 1, k:k + 1],
                                               var[n, k].reshape(1))
            torch.testing.assert_close(kps[n, k], kp_nk[0, 0])
            torch.testing.assert_close(scores[n, k], sc_nk[0, 0])
    # (K,) variances equal their explicit (N, K) expansion
    kps_k, sc_k = decode_expected_oks(prob, var[0])
    kps_nk, sc_nk = decode_expected_oks(prob, var[0].expand(4, 5))
    torch.testing.assert_close(kps_k, kps_nk)
    torch.testing.assert_close(sc_k, sc_nk)


# ----------------------------------------------------------------------
# decoding on support windows == the dense computation
# ----------------------------------------------------------------------
def _dense_decode(prob, var):
    """The reference: arg-max + Newton step of the full expected-OKS map."""
    kps, scores = argmax_newton_refine(expected_oks_map(prob, var))
    return kps, scores.clamp(0., 1.)


def _sparse_maps(n, k, h, w, seed, max_box=None, dtype=F64, zero_frac=0.,
                 dense_frac=0.):
    """Random maps, each non-zero on random pixels of a random box.

    Boxes have random sizes up to ``max_box`` (default: the map) and random
    positions, so many touch the border; about half of the box pixels are
    zero. ``zero_frac`` of the maps are all zero and ``dense_frac`` have no
    zero at all.
    """
    gen = torch.Generator().manual_seed(seed)
    m = n * k
    bh = torch.randint(1, (max_box or h) + 1, (m, ), generator=gen).clamp(
        max=h)
    bw = torch.randint(1, (max_box or w) + 1, (m, ), generator=gen).clamp(
        max=w)
    y0 = (torch.rand(m, generator=gen) * (h - bh + 1)).long()
    x0 = (torch.rand(m, generator=gen) * (w - bw + 1)).long()
    ys = torch.arange(h)[None, :, None]
    xs = torch.arange(w)[None, None, :]
    inside = ((ys >= y0[:, None, None]) & (ys < (y0 + bh)[:, None, None])
              & (xs >= x0[:, None, None]) & (xs < (x0 + bw)[:, None, None]))
    values = torch.rand(m, h, w, generator=gen, dtype=F64)
    keep = inside & (torch.rand(m, h, w, generator=gen) < 0.5)
    # always one pixel of the box, so that only zero_frac maps are empty
    keep[torch.arange(m), y0, x0] = True
    p = torch.where(keep, values, torch.zeros_like(values))
    kind = torch.rand(m, generator=gen)
    p[kind < zero_frac] = 0.
    dense = (kind >= zero_frac) & (kind < zero_frac + dense_frac)
    p[dense] = values[dense] + 0.01
    mass = p.sum(dim=(-2, -1), keepdim=True)
    p = p / torch.where(mass > 0, mass, torch.ones_like(mass))
    return p.reshape(n, k, h, w).to(dtype)


def _assert_same_decoding(prob, var, atol=1e-9):
    kps, scores = decode_expected_oks(prob, var)
    ref_kps, ref_scores = _dense_decode(prob, var)
    assert kps.shape == ref_kps.shape and kps.dtype == ref_kps.dtype
    assert scores.shape == ref_scores.shape and scores.dtype == prob.dtype
    torch.testing.assert_close(kps, ref_kps, rtol=0, atol=atol)
    torch.testing.assert_close(scores, ref_scores, rtol=0, atol=atol)


@pytest.mark.parametrize('seed', range(6))
@pytest.mark.parametrize('shape', [(3, 5, 64, 48), (2, 4, 17, 13),
                                   (4, 3, 9, 30), (2, 2, 5, 3)])
def test_decode_sparse_equals_dense(seed, shape):
    n, k, h, w = shape
    gen = torch.Generator().manual_seed(100 + seed)
    var_k = torch.rand(k, generator=gen, dtype=F64) * 40 + 0.05
    var_nk = torch.rand(n, k, generator=gen, dtype=F64) * 40 + 0.05
    # small boxes (the window path), boxes of any size (groups and the
    # dense fallback), some all-zero and some dense maps
    for max_box in (3, 8, 20, None):
        prob = _sparse_maps(n, k, h, w, seed, max_box, zero_frac=0.05,
                            dense_frac=0.05)
        for var in (var_k, var_nk, var_k[:1], float(var_k[0])):
            _assert_same_decoding(prob, var)


@pytest.mark.parametrize('seed', range(3))
def test_decode_sparse_equals_dense_float32(seed):
    gen = torch.Generator().manual_seed(200 + seed)
    var = torch.rand(32, 17, generator=gen) * 50 + 0.3
    for max_box in (4, 12, None):
        prob = _sparse_maps(32, 17, 64, 48, seed, max_box, dtype=torch.float32,
                            zero_frac=0.02, dense_frac=0.02)
        kps, scores = decode_expected_oks(prob, var)
        ref_kps, ref_scores = _dense_decode(prob, var)
        assert kps.dtype == scores.dtype == torch.float32
        # the integer arg-max is the same (no near-ties in these maps): the
        # refined locations differ by rounding only
        torch.testing.assert_close(kps, ref_kps, rtol=0, atol=1e-4)
        torch.testing.assert_close(scores, ref_scores, rtol=1e-5, atol=1e-6)


def test_decode_sparsemax_maps_use_windows(monkeypatch):
    import importlib

    from probpose_ext.ops import sparsemax
    oks_module = importlib.import_module('probpose_ext.ops.oks')
    window_kernels = oks_module._window_kernels
    sizes = []

    def no_dense_map(*args, **kwargs):
        raise AssertionError('the dense expected-OKS map was computed')

    def recorded_kernels(size, var):
        sizes.append(size)
        return window_kernels(size, var)

    gen = torch.Generator().manual_seed(7)
    xs = torch.arange(48, dtype=F64)
    ys = torch.arange(64, dtype=F64)[:, None]
    cx = torch.rand(8, 17, 1, 1, generator=gen, dtype=F64) * 47
    cy = torch.rand(8, 17, 1, 1, generator=gen, dtype=F64) * 63
    logits = torch.exp(-((xs - cx)**2 + (ys - cy)**2) / 18.) + 0.05 * \
        torch.randn(8, 17, 64, 48, generator=gen, dtype=F64)
    prob = sparsemax((logits / 0.5).reshape(8, 17, -1)).reshape(8, 17, 64, 48)
    var = oks_variance_nominal(torch.linspace(0.025, 0.107, 17, dtype=F64),
                               HM_SIZE)
    for p in (prob, prob.float()):
        ref = _dense_decode(p, var.to(p.dtype))
        # sparsemax maps are decoded on 8 x 8 windows, never on full maps
        sizes.clear()
        with monkeypatch.context() as patch:
            patch.setattr(oks_module, 'expected_oks_map', no_dense_map)
            patch.setattr(oks_module, '_window_kernels', recorded_kernels)
            kps, scores = decode_expected_oks(p, var)
        assert sizes == [8]
        atol = 1e-9 if p.dtype == F64 else 1e-4
        torch.testing.assert_close(kps, ref[0], rtol=0, atol=atol)
        torch.testing.assert_close(scores, ref[1], rtol=0, atol=atol)


def test_decode_groups_and_dense_fallback():
    # one batch mixing every path: 1-pixel maps, boxes of 5, 12 and 30
    # pixels, a dense map, an all-zero map, a huge variance (dense)
    h, w = 64, 48
    prob = torch.zeros(2, 8, h, w, dtype=F64)
    gen = torch.Generator().manual_seed(3)

    def box(n, k, y, x, bh, bw):
        prob[n, k, y:y + bh, x:x + bw] = torch.rand(
            bh, bw, generator=gen, dtype=F64)

    box(0, 0, 40, 20, 1, 1)
    box(0, 1, 0, 0, 5, 4)  # top-left corner
    box(0, 2, 59, 43, 5, 5)  # bottom-right corner
    box(0, 3, 20, 10, 12, 7)
    box(0, 4, 10, 0, 30, 25)  # left border
    box(0, 5, 0, 0, h, w)  # dense
    box(0, 6, 30, 30, 2, 3)
    # (0, 7) stays all zero
    box(1, 0, 3, 40, 9, 8)
    box(1, 1, 33, 5, 17, 9)
    box(1, 2, 0, 47, 64, 1)  # the whole right column
    box(1, 3, 63, 0, 1, 48)  # the whole bottom row
    prob[1, 4, 5, 5] = 0.6  # two spikes far apart
    prob[1, 4, 50, 40] = 0.4
    box(1, 5, 12, 12, 3, 3)
    box(1, 6, 12, 12, 3, 3)
    box(1, 7, 40, 30, 6, 6)
    mass = prob.sum(dim=(-2, -1), keepdim=True)
    prob = prob / torch.where(mass > 0, mass, torch.ones_like(mass))
    var = torch.rand(2, 8, generator=gen, dtype=F64) * 30 + 0.5
    var[1, 6] = 1e15  # kernel too wide: dense
    var[1, 7] = 0.  # identity kernel: E[OKS] = P
    _assert_same_decoding(prob, var)
    _assert_same_decoding(prob.float(), var.float(), atol=1e-4)
    kps, scores = decode_expected_oks(prob, var)
    assert kps[0, 7].tolist() == [0., 0.] and scores[0, 7].item() == 0.
    # v = 0: the arg-max of P itself (and a step from its neighbours)
    flat = prob[1, 7].flatten().argmax().item()
    assert (kps[1, 7] - torch.tensor([flat % w, flat // w])).abs().max() <= .5


def test_decode_border_supports():
    # supports on every border and corner, for narrow and wide kernels
    h, w = 20, 16
    spots = [(0, 0), (0, 7), (0, 15), (9, 0), (9, 15), (19, 0), (19, 8),
             (19, 15), (1, 1), (18, 14)]
    prob = torch.zeros(1, len(spots), h, w, dtype=F64)
    for i, (y, x) in enumerate(spots):
        prob[0, i, y, x] = 0.7
        # a second pixel towards the inside
        prob[0, i, min(max(y + (1 if y < h // 2 else -1), 0), h - 1),
             min(max(x + (1 if x < w // 2 else -1), 0), w - 1)] += 0.3
    for var in (0.3, 2.0, 25.0):
        _assert_same_decoding(prob, var)
        kps, _ = decode_expected_oks(prob, var)
        # a maximum on the border takes no step across it
        for i, (y, x) in enumerate(spots):
            if y in (0, h - 1) and var < 1:
                assert kps[0, i, 1].item() == y
            if x in (0, w - 1) and var < 1:
                assert kps[0, i, 0].item() == x


@pytest.mark.parametrize('var', [0., 0.05, 0.2])
def test_decode_ties_first_in_row_major_order(var):
    # equal spikes: E[OKS] ties exactly (the kernel between them underflows
    # or rounds away); the first pixel in row-major order of the full map
    # wins, whatever the window (the step is tiny)
    cases = [
        [(20, 14), (20, 10)],  # same row: smaller x
        [(21, 10), (20, 14)],  # smaller y first, though larger x
        [(5, 40), (50, 2)],  # far apart (a large box)
        [(33, 7), (33, 30), (60, 1), (2, 46)],
        [(63, 47), (0, 0)],  # opposite corners
    ]
    prob = torch.zeros(1, len(cases), 64, 48, dtype=F64)
    for i, spikes in enumerate(cases):
        for y, x in spikes:
            prob[0, i, y, x] = 1. / len(spikes)
    for p in (prob, prob.float()):
        kps, scores = decode_expected_oks(p, var)
        ref_kps, ref_scores = _dense_decode(p, var)
        assert kps.tolist() == ref_kps.tolist()
        assert scores.tolist() == ref_scores.tolist()
        for i, spikes in enumerate(cases):
            y, x = min(spikes)
            assert kps[0, i].tolist() == pytest.approx([x, y], abs=1e-6)
            assert scores[0, i].item() == pytest.approx(1. / len(spikes))


def _first_near_max_loop(row, rtol):
    """The tie rule written out: first index within rtol of the maximum."""
    top = max(row)
    for i, value in enumerate(row):
        if value >= top - rtol * abs(top):
            return i


def test_first_near_max_rule():
    rtol = 1e-3
    rows = torch.tensor([
        [1., 1. + 0.5 * rtol, .9],  # the later one is larger, but tied
        [1., 1. + 3. * rtol, .9],  # a real difference: the larger one
        [.2, .5, .5],  # exact tie: the first
        [-3., -1. - 0.5 * rtol, -1.],  # negative values, relative
        [0., 0., 0.],  # all zero: the first
    ], dtype=F64)
    idx, value = first_near_max(rows, rtol)
    assert idx.tolist() == [0, 1, 1, 1, 0]
    torch.testing.assert_close(value, rows[torch.arange(5), idx])
    # infinite maxima: the first of them; NaN: index 0
    special = torch.tensor([[1., math.inf, math.inf], [1., math.nan, 2.]])
    assert first_near_max(special, rtol)[0].tolist() == [1, 0]
    # random rows with planted near-ties, against the loop
    gen = torch.Generator().manual_seed(0)
    rows = torch.rand(200, 12, generator=gen, dtype=F64)
    top = rows.amax(dim=-1, keepdim=True)
    plant = torch.rand(200, 12, generator=gen, dtype=F64) < 0.2
    jitter = (torch.rand(200, 12, generator=gen, dtype=F64) - 0.5) * 4 * rtol
    rows = torch.where(plant, top * (1 + jitter), rows)
    idx, _ = first_near_max(rows, rtol)
    assert idx.tolist() == [_first_near_max_loop(r, rtol)
                            for r in rows.tolist()]
    # rtol = 0 is the plain first arg-max
    assert first_near_max(rows, 0.)[0].tolist() == \
        [_first_near_max_loop(r, 0.) for r in rows.tolist()]


def test_tie_tolerance():
    assert tie_tolerance(torch.float32, 64, 48) == pytest.approx(
        4 * 112 * 2.0**-23)
    assert tie_tolerance(F64, 64, 48) == pytest.approx(4 * 112 * 2.0**-52)


@pytest.mark.parametrize('var', [0.3, 2., 12., 60.])
def test_decode_mirror_ties_first_pixel(var):
    # maps symmetric under a horizontal flip: E[OKS] at x and W - 1 - x are
    # equal in exact arithmetic, and the maximum is such a tied pair (W is
    # even). Which one rounding makes larger depends on the summation order;
    # the rule picks the left one on every path and in every dtype
    for shape, max_box in (((4, 17, 64, 48), 6), ((2, 8, 20, 16), None)):
        half = _sparse_maps(*shape, seed=int(var * 10), max_box=max_box,
                            zero_frac=0., dense_frac=0.1)
        prob = half + half.flip(-1)
        prob = prob / prob.sum(dim=(-2, -1), keepdim=True)
        w = shape[-1]
        for p in (prob, prob.float()):
            kps, scores = decode_expected_oks(p, var)
            ref_kps, ref_scores = _dense_decode(p, var)
            atol = 1e-9 if p.dtype == F64 else 1e-3
            torch.testing.assert_close(kps, ref_kps, rtol=0, atol=atol)
            # the left pixel of the pair (a step may reach the mirror axis)
            assert (kps[..., 0] <= (w - 1) / 2 + 1e-6).all()
            # the chosen pixel's expected OKS (exact, float64) is within the
            # dtype's tie tolerance of the maximum: the rule costs at most
            # that much expected OKS
            eoks = expected_oks_map(prob, var).flatten(2)
            pix = kps.double().round().long()
            chosen = eoks.gather(-1, (pix[..., 1] * w + pix[..., 0])[..., None])
            top = eoks.amax(dim=-1, keepdim=True)
            rtol = tie_tolerance(p.dtype, *shape[-2:])
            assert (chosen >= top * (1 - 2 * rtol)).all()


def test_decode_ties_survive_summation_noise():
    # integer-count maps: many exact ties. Perturbing the expected-OKS map
    # by relative noise of the size of float32 summation errors ((H + W)
    # eps) never changes the chosen pixel under the decoder's tolerance
    counts = (_sparse_maps(3, 17, 20, 16, seed=11, max_box=5) > 0).double()
    counts = counts / counts.sum(dim=(-2, -1), keepdim=True)
    var = torch.linspace(0.5, 9., 17, dtype=F64)
    eoks = expected_oks_map(counts, var)
    rtol = tie_tolerance(torch.float32, 20, 16)
    ref, _ = argmax_newton_refine(eoks, rtol)
    gen = torch.Generator().manual_seed(1)
    for _ in range(20):
        noise = (torch.rand(eoks.shape, generator=gen, dtype=F64) * 2 - 1)
        noisy = eoks * (1 + noise * 36 * torch.finfo(torch.float32).eps)
        kps, _ = argmax_newton_refine(noisy, rtol)
        # same integer pixel: the refined points differ by the noise only
        torch.testing.assert_close(kps, ref, rtol=0, atol=1e-3)


def test_decode_all_zero_dense_and_invalid_maps():
    prob = _sparse_maps(2, 3, 16, 12, seed=9, max_box=4)
    prob[0, 1] = 0.
    # all-zero maps: (0, 0) with score 0, as in the dense computation
    kps, scores = decode_expected_oks(prob, [1., 2., 3.])
    assert kps[0, 1].tolist() == [0., 0.] and scores[0, 1].item() == 0.
    _assert_same_decoding(prob, [1., 2., 3.])
    zeros = torch.zeros(2, 2, 16, 12)
    kps, scores = decode_expected_oks(zeros, 2.)
    assert kps.tolist() == [[[0., 0.]] * 2] * 2
    assert scores.tolist() == [[0., 0.]] * 2
    # dense maps: the dense computation
    _assert_same_decoding(random_prob(2, 3, 16, 12, seed=4, sparse=False),
                          [1., 2., 3.])
    # negative or non-finite values (not probability maps): the dense
    # computation, whatever it gives
    signed = prob.clone()
    signed[1, 2, 10, 10] = -0.5
    _assert_same_decoding(signed, [1., 2., 3.])
    for bad in (math.nan, math.inf):
        broken = prob.clone()
        broken[1, 0, 3, 3] = bad
        kps, scores = decode_expected_oks(broken, [1., 2., 3.])
        ref_kps, ref_scores = _dense_decode(broken, [1., 2., 3.])
        torch.testing.assert_close(kps, ref_kps, equal_nan=True)
        torch.testing.assert_close(scores, ref_scores, equal_nan=True)


def test_decode_odd_inputs():
    prob = _sparse_maps(3, 4, 20, 16, seed=11, max_box=5)
    var = torch.linspace(0.5, 9., 4, dtype=F64)
    # non-contiguous input
    wide = torch.cat([prob, prob], dim=1)[:, ::2]
    assert not wide.is_contiguous()
    _assert_same_decoding(wide, var)
    # integer maps are decoded in the default dtype
    counts = (prob > 0).int()
    kps, scores = decode_expected_oks(counts, var)
    assert kps.dtype == scores.dtype == torch.get_default_dtype()
    ref_kps, _ = _dense_decode(counts.float(), var.float())
    torch.testing.assert_close(kps, ref_kps, rtol=0, atol=1e-4)
    # 1-pixel-wide and 1-pixel-high maps, empty batches
    _assert_same_decoding(_sparse_maps(2, 3, 9, 1, seed=1), 2.)
    _assert_same_decoding(_sparse_maps(2, 3, 1, 9, seed=2), 2.)
    _assert_same_decoding(_sparse_maps(1, 1, 1, 1, seed=3), 2.)
    kps, scores = decode_expected_oks(torch.zeros(0, 17, 64, 48), var[:1])
    assert kps.shape == (0, 17, 2) and scores.shape == (0, 17)
    # bigger maps: more groups (boxes up to 64 and beyond)
    _assert_same_decoding(_sparse_maps(2, 6, 128, 96, seed=5, max_box=70),
                          torch.tensor([0.5, 3., 10., 40., 90., 200.],
                                       dtype=F64))
    # the same errors as expected_oks_map
    with pytest.raises(ValueError):
        decode_expected_oks(prob, torch.ones(5))
    with pytest.raises(ValueError):
        decode_expected_oks(prob[0], var)


# ----------------------------------------------------------------------
# arg-max + Newton refinement
# ----------------------------------------------------------------------
def _parabola_map(x0, y0, a, b, h=20, w=16, top=5.):
    ys = torch.arange(h, dtype=F64)[:, None]
    xs = torch.arange(w, dtype=F64)[None, :]
    return top - a * (xs - x0)**2 - b * (ys - y0)**2


def test_newton_exact_on_parabola():
    # central-difference Newton is exact for a parabola
    params = [(7.3, 9.8, 1., .5), (3.49, 14.5, .2, 3.), (8.0, 4.0, 2., 2.),
              (12.6, 1.51, .7, .01), (1.2, 17.45, 5., .3), (6.5, 8.5, 1., 1.)]
    maps = torch.stack([_parabola_map(*p)
                        for p in params]).reshape(2, 3, 20, 16)
    kps, scores = argmax_newton_refine(maps)
    expected = torch.tensor([p[:2] for p in params],
                            dtype=F64).reshape(2, 3, 2)
    # x0 = 6.5 is a tie between x = 6 and 7: the first (6) is refined to 6.5
    torch.testing.assert_close(kps, expected, rtol=0, atol=1e-9)
    # score: the map value at the integer arg-max (not the refined maximum)
    x_int = torch.tensor([7, 3, 8, 13, 1, 6])
    y_int = torch.tensor([10, 14, 4, 2, 17, 8])
    flat = maps.reshape(6, 20, 16)
    torch.testing.assert_close(scores.reshape(6), flat[torch.arange(6), y_int,
                                                       x_int])


def test_newton_border_and_ties_do_not_move():
    maps = torch.stack([
        _parabola_map(-0.3, 9.8, 1., 1.),  # x arg-max on the left border
        _parabola_map(15.4, 19.2, 1., 1.),  # x and y on right/bottom borders
        torch.full((20, 16), 0.25, dtype=F64),  # constant: no maximum
    ])[None]
    kps, _ = argmax_newton_refine(maps)
    torch.testing.assert_close(kps[0],
                               torch.tensor([[0., 9.8], [15., 19.], [0., 0.]],
                                            dtype=F64),
                               rtol=0,
                               atol=1e-9)
    # two equal isolated peaks: first in row-major order, no shift
    two = torch.zeros(1, 1, 10, 8)
    two[0, 0, 7, 2] = 1.
    two[0, 0, 3, 5] = 1.
    kps, scores = argmax_newton_refine(two)
    assert kps.tolist() == [[[5., 3.]]] and scores.tolist() == [[1.]]
    # a 1-pixel-wide map has no neighbours on that axis
    col = _parabola_map(0., 4.3, 1., 1., h=9, w=1)[None, None]
    kps, _ = argmax_newton_refine(col)
    assert kps[0, 0, 0].item() == 0.
    assert kps[0, 0, 1].item() == pytest.approx(4.3)


def test_newton_step_1d_clipping_and_no_max():
    f = lambda *v: torch.tensor(v, dtype=F64)  # noqa: E731
    # parabola samples -(x - 0.3)^2 at x = -1, 0, 1: exact step 0.3
    step = newton_step_1d(f(-1.69), f(-0.09), f(-0.49))
    assert step.item() == pytest.approx(0.3)
    # an extrapolated step beyond half a pixel is clipped
    assert newton_step_1d(f(0.), f(.5), f(.9)).item() == 0.5
    assert newton_step_1d(f(.9), f(.5), f(0.)).item() == -0.5
    assert newton_step_1d(f(0.), f(.5), f(.9), max_step=2.).item() == 2.
    # convex or flat (second difference >= 0): no step
    assert newton_step_1d(f(1.), f(0.), f(2.)).item() == 0.
    assert newton_step_1d(f(1.), f(1.), f(1.)).item() == 0.
    assert newton_step_1d(f(0.), f(1.), f(3.)).item() == 0.  # linear
    # masked out: no step, and no nan from the masked denominator
    step = newton_step_1d(f(0., 1.), f(1., 1.), f(.5, 1.),
                          torch.tensor([False, True]))
    assert step.tolist() == [0., 0.]


# ----------------------------------------------------------------------
# variances and OKS
# ----------------------------------------------------------------------
def test_oks_variance_instance():
    # area 1e4 px^2 in a 192x256 window -> 48x64 heatmap: area / 16;
    # area 5e3 px^2 in a 384x512 window: area / 64
    var = oks_variance_instance(
        np.array([NOSE, HIP]), torch.tensor([1e4, 5e3], dtype=F64),
        torch.tensor([[192., 256.], [384., 512.]], dtype=F64), HM_SIZE)
    assert var.shape == (2, 2) and var.dtype == F64
    expected = [[1.69, 28.6225], [0.21125, 3.5778125]]
    np.testing.assert_allclose(var.numpy(), expected, rtol=1e-12)
    # non-square scaling: W / w and H / h enter separately
    var = oks_variance_instance([0.5], [4.], [[2., 8.]], (4, 2))
    assert var.tolist() == [[4. * 1. * 2. * 0.25]]
    with pytest.raises(ValueError):
        oks_variance_instance([NOSE], [1e4], [192., 256.], HM_SIZE)


def test_oks_variance_nominal():
    var = oks_variance_nominal(torch.tensor([NOSE, HIP], dtype=F64), HM_SIZE)
    # bbox 38.4 x 51.2 heatmap px, area 0.53 * 1966.08 = 1042.0224
    np.testing.assert_allclose(var.numpy(), [2.8176285696, 47.7204578304],
                               rtol=1e-12)
    # padding 1: the whole heatmap is the bbox
    var = oks_variance_nominal([0.5], (10, 20), padding=1.)
    assert var.item() == pytest.approx(0.53 * 200.)


def test_oks_variance_authors():
    var = oks_variance_authors(
        torch.tensor([NOSE, WRIST, ELBOW, HIP], dtype=F64), HM_SIZE)
    # scale = 2 * sqrt(51.2 * 38.4) = 88.681001...; nose 0.2398 -> 0.55,
    # hip 4.0612 -> 3.0 (clipped), wrists / elbows unclipped
    np.testing.assert_allclose(var.numpy(),
                               [0.55, 1.36355907672, 1.83888924394, 3.0],
                               rtol=1e-10)
    assert var.dtype == F64


def test_oks_closed_form():
    area = torch.tensor([100., 400.], dtype=F64)
    sigmas = torch.tensor([NOSE, HIP], dtype=F64)
    gt = torch.tensor([[[3., 4.], [10., -2.]], [[0., 0.], [1., 1.]]],
                      dtype=F64)
    var = area[:, None] * (2 * sigmas)**2  # (N, K)
    # diagonal displacement (sqrt(var), sqrt(var)): d^2 = 2 var -> exp(-1)
    pred = gt + torch.sqrt(var)[..., None]
    got = oks(pred, gt, area, sigmas)
    torch.testing.assert_close(got, torch.full((2, 2), math.exp(-1),
                                               dtype=F64))
    assert oks(gt, gt, area, sigmas).tolist() == [[1., 1.], [1., 1.]]
    # d^2 = var -> exp(-1/2); numpy inputs are accepted
    pred = gt.clone()
    pred[..., 1] += torch.sqrt(var)
    torch.testing.assert_close(oks(pred, gt, area.numpy(), sigmas.numpy()),
                               torch.full((2, 2), math.exp(-0.5), dtype=F64))
    # zero area: 1 at d = 0, 0 elsewhere, never nan
    z = oks(pred, torch.cat([gt[:, :1], pred[:, 1:]], 1), [0., 0.], sigmas)
    assert z.tolist() == [[0., 1.], [0., 1.]]


# ----------------------------------------------------------------------
# devices
# ----------------------------------------------------------------------
@pytest.mark.cuda
def test_cuda_matches_cpu():
    prob = random_prob(3, 17, 64, 48, seed=5)
    var_k = oks_variance_nominal(torch.linspace(0.025, 0.107, 17, dtype=F64),
                                 HM_SIZE)
    var_nk = var_k * torch.tensor([[0.5], [1.], [2.]], dtype=F64)
    for var in (var_k, var_nk):
        eoks = expected_oks_map(prob, var)
        eoks_cuda = expected_oks_map(prob.cuda(), var.cuda())
        assert eoks_cuda.is_cuda
        torch.testing.assert_close(eoks_cuda.cpu(), eoks)
        kps, scores = decode_expected_oks(prob, var)
        kps_c, scores_c = decode_expected_oks(prob.cuda(), var.cuda())
        assert kps_c.is_cuda and scores_c.is_cuda
        torch.testing.assert_close(kps_c.cpu(), kps)
        torch.testing.assert_close(scores_c.cpu(), scores)
    # float32 on the GPU against the float64 decoding with the same kernels
    kps_k, _ = decode_expected_oks(prob, var_k)
    kps32, _ = decode_expected_oks(prob.float().cuda(), var_k.float().cuda())
    torch.testing.assert_close(kps32.cpu(), kps_k.float(), rtol=0, atol=1e-3)
    # sparse maps: the support-window path on the GPU
    for max_box in (4, 20, None):
        sparse = _sparse_maps(3, 17, 64, 48, seed=6, max_box=max_box,
                              zero_frac=0.05, dense_frac=0.05)
        for var in (var_k, var_nk):
            kps_c, scores_c = decode_expected_oks(sparse.cuda(), var.cuda())
            ref_kps, ref_scores = _dense_decode(sparse, var)
            torch.testing.assert_close(kps_c.cpu(), ref_kps)
            torch.testing.assert_close(scores_c.cpu(), ref_scores)
    var_i = oks_variance_instance(
        torch.tensor([NOSE, HIP]).cuda(),
        torch.tensor([1e4]).cuda(),
        torch.tensor([[192., 256.]]).cuda(), HM_SIZE)
    assert var_i.is_cuda
    assert oks(
        torch.zeros(1, 2, 2).cuda(),
        torch.ones(1, 2, 2).cuda(),
        torch.tensor([1e4]).cuda(), [NOSE, HIP]).is_cuda


# ----------------------------------------------------------------------
# expected OKS at given points; AP-matched decision kernel
# ----------------------------------------------------------------------
def test_expected_oks_at_matches_brute_force():
    from probpose_ext.ops.oks import expected_oks_at
    prob = random_prob(2, 3, 7, 5, seed=4)
    var = torch.tensor([[0.3, 1.7, 6.0], [2.5, 0.8, 40.0]], dtype=F64)
    points = torch.tensor([[[1.25, 3.5], [0.0, 0.0], [4.9, 6.2]],
                           [[-2.0, 9.0], [2.0, 3.0], [2.5, 3.5]]], dtype=F64)
    want = np.zeros((2, 3))
    p = prob.numpy()
    for i in range(2):
        for j in range(3):
            px, py = points[i, j].tolist()
            for y in range(7):
                for x in range(5):
                    d2 = (px - x)**2 + (py - y)**2
                    want[i, j] += p[i, j, y, x] * math.exp(
                        -d2 / (2 * var[i, j].item()))
    got = expected_oks_at(prob, points, var)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-15)
    # on integer pixels it is the expected-OKS map's value there
    grid = expected_oks_map(prob, var)
    assert got[1, 1].item() == pytest.approx(grid[1, 1, 3, 2].item(),
                                             rel=1e-12)
    with pytest.raises(ValueError, match='points must have shape'):
        expected_oks_at(prob, points[:, :2], var)


def test_ap_kernel_variance_ratio_matches_the_disc_mixture_moment():
    from probpose_ext.ops.oks import (COCO_OKS_THRESHOLDS,
                                      ap_kernel_variance_ratio)
    assert COCO_OKS_THRESHOLDS == (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8,
                                   0.85, 0.9, 0.95)
    # K(d) = mean_t 1{exp(-d^2 / 2v) > t} as a 2D density, integrated on a
    # fine grid: per-axis variance = E|d|^2 / 2
    v = 3.0
    step = 0.01
    axis = np.arange(-5.0, 5.0 + step / 2, step)
    xx, yy = np.meshgrid(axis, axis)
    d2 = xx**2 + yy**2
    kernel = np.mean([np.exp(-d2 / (2 * v)) > t
                      for t in COCO_OKS_THRESHOLDS], axis=0)
    moment = (kernel * d2).sum() / kernel.sum() / 2
    assert ap_kernel_variance_ratio() == pytest.approx(moment / v, rel=2e-3)
    assert ap_kernel_variance_ratio() == pytest.approx(0.2317, abs=1e-4)
    # one threshold t: a disc of radius^2 -2 v ln t, per-axis variance r^2/4
    assert ap_kernel_variance_ratio([0.5]) == pytest.approx(
        -2 * math.log(0.5) / 4)
    with pytest.raises(ValueError, match='thresholds'):
        ap_kernel_variance_ratio([0.5, 1.0])
