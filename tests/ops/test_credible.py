import math

import numpy as np
import pytest
import torch

from probpose_ext.ops.credible import (credible_boxes_to_image,
                                       credible_region_mask,
                                       credible_region_stats, region_contains)
from probpose_ext.ops.simplex import sparsemax

from tests.ops._maps import F64, random_prob


def _brute_mask(prob, p):
    """Per-map Python reference: greedy by (prob desc, row-major index)."""
    n, k, h, w = prob.shape
    out = np.zeros((n, k, h, w), dtype=bool)
    arr = prob.double().numpy()
    for i in range(n):
        for j in range(k):
            flat = arr[i, j].reshape(-1)
            order = sorted(range(h * w), key=lambda t: (-flat[t], t))
            total = 0.0
            for t in order:
                if total >= p or flat[t] <= 0:
                    break
                out[i, j].reshape(-1)[t] = True
                total += flat[t]
    return out


# ------------------------------------------------------------------ mask
@pytest.mark.parametrize('p', [0.05, 0.3, 0.5, 0.9, 0.99])
@pytest.mark.parametrize('sparse', [True, False])
def test_mask_matches_brute_force(p, sparse):
    prob = random_prob(3, 4, 5, 6, seed=int(p * 100) + sparse, sparse=sparse)
    mask = credible_region_mask(prob, p)
    assert mask.dtype == torch.bool and mask.shape == prob.shape
    np.testing.assert_array_equal(mask.numpy(), _brute_mask(prob, p))
    # float32 gives the same regions on these (tie-free) maps
    mask32 = credible_region_mask(prob.float(), p)
    np.testing.assert_array_equal(mask32.numpy(), mask.numpy())


@pytest.mark.parametrize('p', [0.1, 0.5, 0.8, 0.95])
def test_mask_minimal_and_holds_p(p):
    prob = random_prob(6, 3, 7, 5, seed=7, sparse=False)
    mask = credible_region_mask(prob, p)
    mass = (prob * mask).sum(dim=(-2, -1))
    assert (mass >= p).all()
    # removing the least probable pixel of the region drops below p
    in_region = torch.where(mask, prob, torch.full_like(prob, math.inf))
    least = in_region.amin(dim=(-2, -1))
    assert (mass - least < p).all()
    # and no pixel outside is more probable than one inside
    out_max = torch.where(mask, torch.zeros_like(prob), prob).amax((-2, -1))
    assert (out_max <= least).all()


def test_ties_broken_by_row_major_index():
    prob = torch.full((1, 1, 2, 2), 0.25, dtype=F64)
    mask = credible_region_mask(prob, 0.5)
    assert mask[0, 0].tolist() == [[True, True], [False, False]]
    mask = credible_region_mask(prob, 0.6)
    assert mask[0, 0].tolist() == [[True, True], [True, False]]
    # a tie at the cut: 0.4 first, then one of the three 0.2 (lowest index)
    prob = torch.tensor([[[[0.2, 0.0, 0.2], [0.4, 0.2, 0.0]]]], dtype=F64)
    mask = credible_region_mask(prob, 0.55)
    assert mask[0, 0].tolist() == [[True, False, False], [True, False, False]]
    # the tie is reproducible and independent of the batch composition
    batch = torch.cat([prob, prob.flip(-1), prob], dim=0)
    mb = credible_region_mask(batch, 0.55)
    assert torch.equal(mb[0], mb[2]) and torch.equal(mb[0], mask[0])
    # flipped map [[0.2, 0, 0.2], [0, 0.2, 0.4]]: 0.4, then (x=0, y=0)
    assert mb[1, 0].tolist() == [[True, False, False], [False, False, True]]


def test_p_one_gives_support_of_sparse_map():
    gen = torch.Generator().manual_seed(3)
    logits = torch.randn(4, 5, 16, 12, generator=gen) * 3
    prob = sparsemax(logits.flatten(-2), dim=-1).view_as(logits)  # float32
    support = prob > 0
    assert (support.sum((-2, -1)) < 16 * 12).all()  # really sparse
    assert torch.equal(credible_region_mask(prob, 1.0), support)
    assert torch.equal(credible_region_mask(prob.double(), 1.0), support)
    # a map summing to slightly less than 1 still gives its support
    assert torch.equal(credible_region_mask(prob * (1 - 1e-5), 1.0), support)
    # zero pixels are never included, even when the map holds less than p
    mask = credible_region_mask(prob * 0.5, 0.9)
    assert torch.equal(mask, support)


def test_mask_input_validation():
    prob = random_prob(1, 1, 3, 3)
    for bad in (0.0, -0.1, 1.01):
        with pytest.raises(ValueError):
            credible_region_mask(prob, bad)
    with pytest.raises(ValueError):
        credible_region_mask(prob[0], 0.5)


# ------------------------------------------------------------------ stats
def test_stats_hand_computed():
    # 3 x 4 map (H=3, W=4)
    m = torch.tensor([[0.0, 0.1, 0.0, 0.0],
                      [0.0, 0.4, 0.3, 0.0],
                      [0.0, 0.0, 0.05, 0.15]], dtype=F64)
    prob = m[None, None].repeat(1, 3, 1, 1)
    for j, (p, area, box, mass) in enumerate([
            (0.4, 1, [0.5, 0.5, 1.5, 1.5], 0.4),
            (0.8, 3, [0.5, 0.5, 3.5, 2.5], 0.85),  # 0.4, 0.3, 0.15 at x=3
            (1.0, 5, [0.5, -0.5, 3.5, 2.5], 1.0),
    ]):
        a, b, s = credible_region_stats(prob, p)
        assert a.shape == (1, 3) and b.shape == (1, 3, 4) and s.shape == (1, 3)
        assert a[0, j].item() == area
        assert b[0, j].tolist() == box
        assert s[0, j].item() == pytest.approx(mass)


def test_stats_single_pixel_and_empty():
    prob = torch.zeros(2, 1, 4, 5)
    prob[0, 0, 3, 2] = 1.0  # pixel (x=2, y=3)
    area, boxes, mass = credible_region_stats(prob, 0.9)
    assert area.tolist() == [[1.0], [0.0]]
    assert boxes[0, 0].tolist() == [1.5, 2.5, 2.5, 3.5]
    assert torch.isnan(boxes[1, 0]).all()
    assert mass.tolist() == [[1.0], [0.0]]
    assert boxes.dtype == torch.float32


def test_stats_against_brute_force():
    prob = random_prob(4, 3, 6, 7, seed=11, sparse=True)
    area, boxes, mass = credible_region_stats(prob, 0.7)
    ref = _brute_mask(prob, 0.7)
    for i in range(4):
        for j in range(3):
            ys, xs = np.nonzero(ref[i, j])
            assert area[i, j].item() == len(xs)
            assert boxes[i, j].tolist() == [xs.min() - 0.5, ys.min() - 0.5,
                                            xs.max() + 0.5, ys.max() + 0.5]
            assert mass[i, j].item() == pytest.approx(
                prob[i, j].numpy()[ref[i, j]].sum())


# ------------------------------------------------------------- contains
def test_region_contains_rounding_and_outside():
    mask = torch.zeros(1, 6, 3, 4, dtype=torch.bool)
    mask[:, :, 1, 2] = True  # pixel (x=2, y=1)
    points = torch.tensor([[[2.0, 1.0],     # centre
                            [2.49, 0.51],   # still rounds to (2, 1)
                            [2.5, 1.0],     # boundary -> pixel (3, 1)
                            [1.4, 1.0],     # pixel (1, 1)
                            [-0.6, 1.0],    # outside the map
                            [math.nan, 1.0]]])
    assert region_contains(mask, points).tolist() == [
        [True, True, False, False, False, False]]
    # points just outside the map never wrap around to another pixel
    full = torch.ones(1, 4, 3, 4, dtype=torch.bool)
    pts = torch.tensor([[[3.4, 0.0], [3.5, 0.0], [0.0, 2.5], [0.0, -0.51]]])
    assert region_contains(full, pts).tolist() == [[True, False, False,
                                                    False]]
    with pytest.raises(ValueError):
        region_contains(mask, points[:, :3])


def test_coverage_of_gt_drawn_from_maps():
    """GT drawn from the maps themselves falls in the p-region with
    probability equal to the region's mass (>= p): the empirical coverage
    matches the mean held mass within binomial tolerance, hence is >= p up
    to sampling noise."""
    p = 0.9
    gen = torch.Generator().manual_seed(0)
    n, k, h, w = 500, 17, 16, 12
    ys = torch.arange(h, dtype=F64)[:, None]
    xs = torch.arange(w, dtype=F64)[None, :]
    cx = torch.rand(n, k, 1, 1, generator=gen, dtype=F64) * (w - 1)
    cy = torch.rand(n, k, 1, 1, generator=gen, dtype=F64) * (h - 1)
    var = 0.5 + 4 * torch.rand(n, k, 1, 1, generator=gen, dtype=F64)
    logits = -((xs - cx)**2 + (ys - cy)**2) / (2 * var)
    prob = torch.softmax(logits.flatten(-2), -1).view(n, k, h, w)
    # GT: a pixel drawn from the map, jittered inside that pixel
    idx = torch.multinomial(prob.reshape(n * k, h * w), 1, generator=gen)
    idx = idx.view(n, k)
    jitter = torch.rand(n, k, 2, generator=gen, dtype=F64) * 0.98 - 0.49
    gt = torch.stack([idx % w, idx // w], dim=-1).to(F64) + jitter
    mask = credible_region_mask(prob, p)
    _, _, mass = credible_region_stats(prob, p)
    covered = region_contains(mask, gt).to(F64)
    m = n * k
    expected = mass.mean().item()
    assert expected >= p
    tol = 4 * math.sqrt(expected * (1 - expected) / m)
    assert abs(covered.mean().item() - expected) < tol
    assert covered.mean().item() > p - tol


# ---------------------------------------------------------- to image
def test_boxes_to_image_hand_computed():
    # heatmap (W, H) = (5, 9), crop 40 x 80 centred at (100, 200):
    # 10 image pixels per heatmap pixel, heatmap (0, 0) at (80, 160)
    boxes = torch.tensor([[[0.5, 1.5, 2.5, 3.5], [-0.5, -0.5, 4.5, 8.5]]])
    out = credible_boxes_to_image(boxes, [[100.0, 200.0]], [[40.0, 80.0]],
                                  (5, 9))
    assert out.shape == (1, 2, 4)
    torch.testing.assert_close(out, torch.tensor(
        [[[85.0, 175.0, 105.0, 195.0], [75.0, 155.0, 125.0, 245.0]]]))
    # MMPose estimator convention with input (w, h) = (5, 9): the codec
    # maps x_hm -> x_hm * 4 / 4 and the estimator x_in / 5 * 40 + 80
    out = credible_boxes_to_image(boxes[:, :1], [[100.0, 200.0]],
                                  [[40.0, 80.0]], (5, 9), input_size=(5, 9))
    torch.testing.assert_close(out, torch.tensor(
        [[[0.5 * 8 + 80, 1.5 * 80 / 9 + 160, 2.5 * 8 + 80,
           3.5 * 80 / 9 + 160]]]))


def test_boxes_to_image_inverts_udp_warp():
    from mmpose.structures.bbox import get_udp_warp_matrix
    center = np.array([[321.5, 140.25], [50.0, 60.0]])
    scale = np.array([[150.0, 200.0], [40.0, 53.3]])
    input_size, heatmap_size = (192, 256), (48, 64)
    rng = np.random.default_rng(0)
    img_pts = center[:, None] + (rng.random((2, 3, 2)) - 0.5) * scale[:, None]
    hm_pts = np.zeros_like(img_pts)
    for i in range(2):
        warp = get_udp_warp_matrix(center[i], scale[i], 0.0, input_size)
        inp = img_pts[i] @ warp[:, :2].T + warp[:, 2]
        hm_pts[i] = inp * (np.array(heatmap_size) - 1) / (
            np.array(input_size) - 1)
    boxes = torch.from_numpy(np.concatenate([hm_pts, hm_pts + 1.0], -1))
    out = credible_boxes_to_image(boxes, center, scale, heatmap_size)
    np.testing.assert_allclose(out[..., :2].numpy(), img_pts, atol=1e-6)
    # MMPose's estimator back-mapping of ProbMap-decoded keypoints
    kpt_in = hm_pts * (np.array(input_size) - 1) / (
        np.array(heatmap_size) - 1)
    kpt_img = (kpt_in / np.array(input_size) * scale[:, None] +
               center[:, None] - 0.5 * scale[:, None])
    out = credible_boxes_to_image(boxes, torch.from_numpy(center),
                                  torch.from_numpy(scale), heatmap_size,
                                  input_size=input_size)
    np.testing.assert_allclose(out[..., :2].numpy(), kpt_img, atol=1e-6)
    assert out.dtype == F64


def test_boxes_to_image_validation():
    boxes = torch.zeros(1, 2, 4)
    with pytest.raises(ValueError):
        credible_boxes_to_image(boxes[0], [[0, 0]], [[1, 1]], (4, 4))
    with pytest.raises(ValueError):
        credible_boxes_to_image(boxes, [[0, 0]], [[1, 1]], (1, 4))
