"""Activation-window geometry against hand-computed values and brute force."""
import numpy as np
import pytest

from probpose_ext.ops.windows import (activation_window, cropcoco_visibility,
                                      fixed_aspect_size,
                                      in_image, in_window, keypoint_domains,
                                      pad_to_contain,
                                      sq_distance_outside_window,
                                      sq_distance_to_window_boundary)


def _boundary_samples(win, n=4001):
    """Dense points on the boundary of ``win = [x0, y0, x1, y1]``."""
    x0, y0, x1, y1 = win
    t = np.linspace(0, 1, n)
    xs, ys = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
    return np.concatenate([
        np.stack([xs, np.full(n, y0)], 1),
        np.stack([xs, np.full(n, y1)], 1),
        np.stack([np.full(n, x0), ys], 1),
        np.stack([np.full(n, x1), ys], 1)
    ])


def test_activation_window_hand_values():
    # tall box 30x80 at (10, 20): w grows to 80 * 0.75 = 60, then * 1.25
    win = activation_window([10, 20, 30, 80], aspect_ratio=0.75, padding=1.25)
    np.testing.assert_allclose(win, [25 - 37.5, 60 - 50, 25 + 37.5, 60 + 50])
    # wide box 90x30: h grows to 90 / 0.75 = 120; no padding
    win = activation_window([0, 0, 90, 30], aspect_ratio=0.75, padding=1.0)
    np.testing.assert_allclose(win, [0, 15 - 60, 90, 15 + 60])
    np.testing.assert_allclose(
        fixed_aspect_size([[0, 0, 90, 30], [0, 0, 30, 80]]),
        [[90, 120], [60, 80]])
    # batched shapes are kept
    assert activation_window(np.zeros((2, 3, 4)) + 1).shape == (2, 3, 4)


@pytest.mark.parametrize('bad', [dict(aspect_ratio=0), dict(padding=-1),
                                 dict(padding=float('nan'))])
def test_activation_window_rejects_bad_args(bad):
    with pytest.raises(ValueError):
        activation_window([0, 0, 10, 10], **bad)


def test_activation_window_rejects_bad_shape():
    with pytest.raises(ValueError, match=r'\(\.\.\., 4\)'):
        activation_window([0, 0, 10])


def test_pad_to_contain_matches_bisection():
    rng = np.random.default_rng(0)
    boxes = np.concatenate(
        [rng.uniform(-50, 50, (20, 2)),
         rng.uniform(5, 100, (20, 2))], 1)
    pts = rng.uniform(-150, 250, (20, 17, 2))
    pad = pad_to_contain(pts, boxes, aspect_ratio=0.75)
    assert pad.shape == (20, 17)
    # brute force: smallest p on a fine bisection with in_window
    lo, hi = np.zeros((20, 17)), np.full((20, 17), 100.0)
    for _ in range(60):
        mid = (lo + hi) / 2
        inside = np.stack([
            in_window(pts[i], activation_window(boxes[i], 0.75, mid[i, k]))
            [k] for i in range(20) for k in range(17)
        ]).reshape(20, 17)
        hi = np.where(inside, mid, hi)
        lo = np.where(inside, lo, mid)
    np.testing.assert_allclose(pad, hi, rtol=1e-9, atol=1e-9)


def test_pad_to_contain_boundary_and_centre():
    box = np.array([0, 0, 30, 40.])  # already 3:4
    pts = np.array([[15, 20], [15 + 15 * 1.25, 20], [15, 20 - 20 * 2], [0, 0]])
    np.testing.assert_allclose(pad_to_contain(pts, box), [0, 1.25, 2, 1])
    # degenerate box: inf except at the centre
    pad = pad_to_contain([[5, 5], [6, 5]], [5, 5, 0, 0])
    assert pad[0] == 0 and np.isinf(pad[1])


def test_in_image_half_open():
    pts = np.array([[0, 0], [9.99, 4.99], [10, 2], [-0.01, 1], [3, 5]])
    np.testing.assert_array_equal(
        in_image(pts, [10, 5]), [True, True, False, False, False])


def test_edge_distance_matches_dense_boundary():
    rng = np.random.default_rng(1)
    win = np.array([-20.0, 10.0, 60.0, 70.0])
    pts = rng.uniform(-80, 130, (300, 2))
    got = sq_distance_to_window_boundary(pts, win, 'edge')
    samples = _boundary_samples(win)
    brute = ((pts[:, None] - samples[None])**2).sum(-1).min(1)
    # boundary sampled every 0.02 px: distance error < 0.01 px
    np.testing.assert_allclose(np.sqrt(got), np.sqrt(brute), atol=0.011)


def test_corner_distance_is_nearest_corner_inside():
    rng = np.random.default_rng(2)
    win = np.array([0.0, 0.0, 40.0, 100.0])
    pts = rng.uniform([0, 0], [40, 100], (200, 2))
    corners = np.array([[0, 0], [40, 0], [0, 100], [40, 100.]])
    brute = ((pts[:, None] - corners[None])**2).sum(-1).min(1)
    np.testing.assert_allclose(
        sq_distance_to_window_boundary(pts, win, 'corner'), brute)
    # the corner distance is never below the edge distance inside
    assert np.all(
        sq_distance_to_window_boundary(pts, win, 'corner') >=
        sq_distance_to_window_boundary(pts, win, 'edge'))


def test_boundary_distance_rejects_unknown_mode():
    with pytest.raises(ValueError, match='edge'):
        sq_distance_to_window_boundary([0, 0], [0, 0, 1, 1], 'centre')


def test_outside_distance_matches_dense_interior():
    rng = np.random.default_rng(3)
    win = np.array([5.0, -5.0, 25.0, 15.0])
    pts = rng.uniform(-20, 50, (200, 2))
    got = sq_distance_outside_window(pts, win)
    gx, gy = np.meshgrid(np.linspace(5, 25, 401), np.linspace(-5, 15, 401))
    grid = np.stack([gx.ravel(), gy.ravel()], 1)
    brute = np.array([((grid - p)**2).sum(1).min() for p in pts])
    np.testing.assert_allclose(np.sqrt(got), np.sqrt(brute), atol=0.036)
    inside = in_window(pts[None], win)[0]
    assert np.all(got[inside] == 0)


def test_keypoint_domains_by_construction():
    # image 100x100, bbox [40, 40, 30, 40] -> AW (padding 1.25, 3:4):
    # centre (55, 60), size 30x40 -> 37.5x50 -> x in [36.25, 73.75],
    # y in [35, 85]
    box = np.array([[40, 40, 30, 40.]])
    kpts = np.array([[[50, 50],   # A: in bbox
                      [38, 50],   # B: out of bbox, in AW
                      [10, 10],   # C: in image, out of AW
                      [60, 84],   # A: bbox edge is inclusive? y=84 > 80: B
                      [55, 60],   # v=0: -1
                      [-1, 60],   # E: out of image and AW
                      [20, 120],  # E
                      [40, 40]]], dtype=float)  # bbox corner: A
    vis = np.array([[2, 1, 2, 2, 0, 3, 3, 1]])
    codes = keypoint_domains(kpts, vis, box, [[100, 100]])
    np.testing.assert_array_equal(codes, [[0, 1, 2, 1, -1, 4, 4, 0]])
    # an image cut at y=82 puts (60, 84) out of the image but in the AW: D
    codes = keypoint_domains(kpts, vis, box, [[100, 82]])
    assert codes[0, 3] == 3
    # a padding of 1.0 moves B keypoints outside the bbox-sized AW to C
    codes = keypoint_domains(kpts, vis, box, [[100, 100]], padding=1.0)
    assert codes[0, 1] == 2


def test_cropcoco_visibility_follows_pad_to_contain_where_known():
    v = np.array([[0, 1, 2, 3, 3, 2, 1]])
    pad = np.array([[-1, 2.0, 1.0, 2.0, 1.1, np.nan, np.nan]])
    # padding 1.25: out iff pad > 1.25 (annotated); unknown pad keeps v
    np.testing.assert_array_equal(cropcoco_visibility(v, pad, 1.25),
                                  [[0, 3, 2, 3, 1, 2, 1]])
    # a wider window contains them all: every v=3 becomes 1
    np.testing.assert_array_equal(cropcoco_visibility(v, pad, 2.5),
                                  [[0, 1, 2, 1, 1, 2, 1]])
    # has_pad marks whole rows as known (ExCOCOeval's rule for NaN entries)
    np.testing.assert_array_equal(
        cropcoco_visibility(v, pad, 1.25, has_pad=np.array([[True]])),
        [[0, 3, 2, 3, 1, 2, 1]])
    np.testing.assert_array_equal(
        cropcoco_visibility(v, pad, 1.25, has_pad=np.array([[False]])), v)
