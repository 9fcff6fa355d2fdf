"""ops.double_map: ProbPose-DH geometry against closed forms and the decoding
rule against a scalar loop."""
import numpy as np
import pytest
import torch

from probpose_ext.ops.double_map import (choose_double_map,
                                         heatmap_area_to_input,
                                         heatmap_boxes_to_input,
                                         heatmap_to_input, in_input_window,
                                         input_to_heatmap, wide_variance,
                                         wide_window)
from probpose_ext.ops.windows import in_window

INPUT, HEATMAP = (96, 128), (24, 32)


@pytest.mark.parametrize('factor', [1.0, 1.25, 2.0])
def test_wide_window_is_the_input_window_scaled_about_its_centre(factor):
    w, h = INPUT
    win = wide_window(INPUT, factor)
    centre = np.array([(w - 1) / 2, (h - 1) / 2])
    half = factor * np.array([w - 1, h - 1]) / 2
    np.testing.assert_allclose(win, np.r_[centre - half, centre + half])
    if factor == 1.0:
        np.testing.assert_array_equal(win, [0, 0, w - 1, h - 1])
    if factor == 1.25:  # the docstring's numbers for a 96x128 input
        np.testing.assert_allclose(win, [-11.875, -15.875, 106.875, 142.875])


@pytest.mark.parametrize('factor', [1.0, 1.25, 1.6])
def test_window_edges_map_to_the_heatmap_edges(factor):
    """UDP: the window's edges are the centres of heatmap pixels 0 and
    W - 1, and the map is affine."""
    x0, y0, x1, y1 = wide_window(INPUT, factor)
    corners = np.array([[x0, y0], [x1, y1], [(x0 + x1) / 2, (y0 + y1) / 2]])
    W, H = HEATMAP
    np.testing.assert_allclose(
        input_to_heatmap(corners, INPUT, HEATMAP, factor),
        [[0, 0], [W - 1, H - 1], [(W - 1) / 2, (H - 1) / 2]], atol=1e-12)


def test_wide_coordinates_are_expert_ones_shrunk_about_the_centre():
    """x_wide = C + (x_expert - C) / f with x_expert = x_in (W-1)/(w-1)."""
    rng = np.random.default_rng(0)
    pts = rng.uniform(-40, 160, (5, 17, 2))
    w, h = INPUT
    W, H = HEATMAP
    expert = pts * [(W - 1) / (w - 1), (H - 1) / (h - 1)]
    np.testing.assert_allclose(input_to_heatmap(pts, INPUT, HEATMAP), expert)
    centre = np.array([(W - 1) / 2, (H - 1) / 2])
    for f in (1.25, 3.0):
        np.testing.assert_allclose(
            input_to_heatmap(pts, INPUT, HEATMAP, f),
            centre + (expert - centre) / f)


def test_round_trip_numpy_and_torch():
    rng = np.random.default_rng(1)
    pts = rng.uniform(-50, 150, (3, 17, 2))
    for f in (1.0, 1.25):
        back = heatmap_to_input(input_to_heatmap(pts, INPUT, HEATMAP, f),
                                INPUT, HEATMAP, f)
        np.testing.assert_allclose(back, pts, rtol=1e-12)
        t = torch.as_tensor(pts, dtype=torch.float32)
        hm = input_to_heatmap(t, INPUT, HEATMAP, f)
        assert isinstance(hm, torch.Tensor) and hm.dtype == torch.float32
        np.testing.assert_allclose(
            hm.numpy(), input_to_heatmap(pts, INPUT, HEATMAP, f), rtol=1e-5)
        torch.testing.assert_close(heatmap_to_input(hm, INPUT, HEATMAP, f),
                                   t, rtol=1e-5, atol=1e-4)


def test_boxes_and_areas_map_like_their_corners():
    rng = np.random.default_rng(2)
    lo = rng.uniform(-2, 20, (4, 17, 2))
    boxes = np.concatenate([lo, lo + rng.uniform(0.5, 6, (4, 17, 2))], -1)
    for f in (1.0, 1.25):
        out = heatmap_boxes_to_input(boxes, INPUT, HEATMAP, f)
        np.testing.assert_allclose(
            out[..., :2], heatmap_to_input(boxes[..., :2], INPUT, HEATMAP, f))
        np.testing.assert_allclose(
            out[..., 2:], heatmap_to_input(boxes[..., 2:], INPUT, HEATMAP, f))
        area_hm = (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] -
                                                     boxes[..., 1])
        area_in = (out[..., 2] - out[..., 0]) * (out[..., 3] - out[..., 1])
        np.testing.assert_allclose(
            heatmap_area_to_input(area_hm, INPUT, HEATMAP, f), area_in)
    with pytest.raises(ValueError, match='boxes'):
        heatmap_boxes_to_input(np.zeros((2, 3)), INPUT, HEATMAP)


def test_wide_variance_keeps_the_oks_of_a_pair_of_points():
    """OKS is a property of two input points: the same in expert pixels
    with variance v and in wide pixels with v / f^2."""
    rng = np.random.default_rng(3)
    a, b = rng.uniform(0, 95, (2, 50, 2))
    v = rng.uniform(0.5, 4.0, 50)
    f = 1.25
    d_e = ((input_to_heatmap(a, INPUT, HEATMAP) -
            input_to_heatmap(b, INPUT, HEATMAP))**2).sum(-1)
    d_w = ((input_to_heatmap(a, INPUT, HEATMAP, f) -
            input_to_heatmap(b, INPUT, HEATMAP, f))**2).sum(-1)
    np.testing.assert_allclose(np.exp(-d_w / (2 * wide_variance(v, f))),
                               np.exp(-d_e / (2 * v)))
    torch.testing.assert_close(wide_variance(torch.tensor([2.0]), 2.0),
                               torch.tensor([0.5]))


def test_in_input_window_equals_windows_in_window():
    rng = np.random.default_rng(4)
    w, h = INPUT
    pts = rng.uniform(-5, 135, (6, 17, 2)).round(0)  # many on the edges
    pts[0, :4] = [[0, 0], [w - 1, h - 1], [-1e-6, 5], [5, h - 1 + 1e-4]]
    expected = in_window(pts, np.array([0, 0, w - 1, h - 1]))
    got = in_input_window(torch.as_tensor(pts), INPUT).numpy()
    np.testing.assert_array_equal(got, expected)
    assert got[0, :4].tolist() == [True, True, False, False]
    assert not in_input_window(torch.tensor([float('nan'), 1.0]), INPUT)


def _rule_loop(exp_k, exp_s, wide_k, wide_s, input_size):
    """Scalar reference of the DH rule."""
    w, h = input_size
    n, k = exp_s.shape
    kpts, scores = np.zeros((n, k, 2)), np.zeros((n, k))
    mask = np.zeros((n, k), bool)
    for i in range(n):
        for j in range(k):
            x, y = wide_k[i, j]
            if 0 <= x <= w - 1 and 0 <= y <= h - 1:
                kpts[i, j], scores[i, j], mask[i, j] = exp_k[i, j], \
                    exp_s[i, j], True
            else:
                kpts[i, j], scores[i, j] = wide_k[i, j], wide_s[i, j]
    return kpts, scores, mask


def test_rule_matches_a_scalar_loop():
    gen = torch.Generator().manual_seed(5)
    n, k = 8, 17
    wide_k = torch.rand(n, k, 2, generator=gen, dtype=torch.float64) * \
        torch.tensor([140.0, 180.0]) - torch.tensor([22.0, 26.0])
    wide_k[0, :4] = torch.tensor([[0.0, 0.0], [95.0, 127.0], [-0.5, 3.0],
                                  [95.0, 127.25]], dtype=torch.float64)
    exp_k = torch.rand(n, k, 2, generator=gen, dtype=torch.float64) * 100
    exp_s, wide_s = torch.rand(2, n, k, generator=gen, dtype=torch.float64)
    kpts, scores, mask = choose_double_map(exp_k, exp_s, wide_k, wide_s,
                                           INPUT)
    ref = _rule_loop(exp_k.numpy(), exp_s.numpy(), wide_k.numpy(),
                     wide_s.numpy(), INPUT)
    np.testing.assert_array_equal(kpts.numpy(), ref[0])
    np.testing.assert_array_equal(scores.numpy(), ref[1])
    np.testing.assert_array_equal(mask.numpy(), ref[2])
    assert 0 < mask.sum() < n * k  # both branches exercised
    assert mask[0, :4].tolist() == [True, True, False, False]


def test_rule_hand_cases():
    """Wide estimate inside -> expert (even when the expert estimate itself
    lies outside); outside -> wide; on the boundary -> expert."""
    w, h = INPUT
    wide = torch.tensor([[[50.0, 60.0], [-3.0, 60.0], [0.0, 60.0],
                          [w - 1.0, 0.0], [w - 0.99, 60.0]]])
    expert = torch.tensor([[[48.0, 61.0], [1.0, 60.0], [2.0, 59.0],
                            [-1.0, 2.0], [94.0, 60.0]]])
    exp_s = torch.tensor([[0.9, 0.8, 0.7, 0.6, 0.5]])
    wide_s = torch.tensor([[0.1, 0.2, 0.3, 0.4, 0.45]])
    kpts, scores, mask = choose_double_map(expert, exp_s, wide, wide_s,
                                           INPUT)
    assert mask.tolist() == [[True, False, True, True, False]]
    torch.testing.assert_close(
        kpts, torch.tensor([[[48.0, 61.0], [-3.0, 60.0], [2.0, 59.0],
                             [-1.0, 2.0], [w - 0.99, 60.0]]]))
    torch.testing.assert_close(scores,
                               torch.tensor([[0.9, 0.2, 0.7, 0.6, 0.45]]))


def test_bad_arguments():
    with pytest.raises(ValueError, match='factor'):
        wide_window(INPUT, 0.8)
    with pytest.raises(ValueError, match='factor'):
        input_to_heatmap(np.zeros((1, 2)), INPUT, HEATMAP, float('nan'))
    with pytest.raises(ValueError, match='input_size'):
        wide_window((1, 5), 1.25)
    with pytest.raises(ValueError, match='points'):
        input_to_heatmap(np.zeros((2, 3)), INPUT, HEATMAP)
    k = torch.zeros(1, 3, 2)
    with pytest.raises(ValueError, match='wide_keypoints'):
        choose_double_map(k, torch.zeros(1, 3), torch.zeros(1, 4, 2),
                          torch.zeros(1, 3), INPUT)
    with pytest.raises(ValueError, match='wide_scores'):
        choose_double_map(k, torch.zeros(1, 3), k, torch.zeros(3), INPUT)
