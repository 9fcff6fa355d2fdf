"""Covariance algebra (probpose_ext.ops.covariance) against independent
computations: explicit per-block loops and Kronecker products, hand-written
matrices, MMPose's own ``flip_keypoints`` applied to samples, empirical
covariances of transformed samples, eigendecompositions and Monte Carlo.

The sample checks use that an empirical covariance is a quadratic form of
the samples: for a linear map ``L``, ``cov(L x) = L cov(x) L^T`` holds for
the empirical covariance exactly (up to rounding), so mapping the samples
and mapping their covariance must agree to ~1e-12 whatever the sample
size; one Monte Carlo check against the true covariance is kept loose.
"""
import math

import numpy as np
import pytest
import torch
from mmpose.structures.keypoint import flip_keypoints

from probpose_ext.ops import covariance as cov_ops
from probpose_ext.ops import crop_transform
from probpose_ext.ops.covariance import (
    covariance_blocks, covariance_ellipse, ellipse_polygon, ellipse_radius,
    flip_covariances, flip_full_covariances, map_covariances,
    map_full_covariances, select_full_covariance, transform_covariances,
    transform_full_covariances)
from probpose_ext.utils.metainfo import load_metainfo

RNG = np.random.default_rng(0)
COCO_FLIP = load_metainfo()['flip_indices']  # 17 keypoints, L/R pairs


def _random_cov(shape, rng):
    a = rng.normal(size=shape + (2, 2))
    return a @ np.swapaxes(a, -1, -2) + 0.1 * np.eye(2)


def _random_full(shape, k, rng):
    a = rng.normal(size=shape + (2 * k, 2 * k))
    return a @ np.swapaxes(a, -1, -2) + 0.1 * np.eye(2 * k)


def _empirical_cov(x):
    """Covariance of samples (S, D) -> (D, D), by the definition."""
    d = x - x.mean(0)
    return d.T @ d / (len(x) - 1)


def _rotation(theta, scale=1.0):
    c, s = math.cos(theta), math.sin(theta)
    return scale * np.array([[c, -s], [s, c]])


# ------------------------------------------------------------ moved maps
def test_per_axis_maps_against_explicit_products():
    factor = np.array([[1.5, -0.5], [0.25, 4.0]])
    cov = _random_cov((2, 5), RNG)
    out = map_covariances(cov, factor)
    for i in range(2):
        d = np.diag(factor[i])
        for k in range(5):
            np.testing.assert_allclose(out[i, k], d @ cov[i, k] @ d)
    # the full 2K x 2K transform is D C D and agrees on the diagonal blocks
    full = _random_full((2, ), 5, RNG)
    out_full = map_full_covariances(full, factor)
    for i in range(2):
        d = np.diag(np.tile(factor[i], 5))
        np.testing.assert_allclose(out_full[i], d @ full[i] @ d)
    np.testing.assert_allclose(covariance_blocks(out_full),
                               map_covariances(covariance_blocks(full),
                                               factor))
    # tensors in, tensors out (same values)
    out_t = map_covariances(torch.from_numpy(cov), torch.from_numpy(factor))
    assert isinstance(out_t, torch.Tensor) and out_t.dtype == torch.float64
    np.testing.assert_array_equal(out_t.numpy(), out)
    # hand-computed: f = (2, -3) flips the sign of the x-y term
    np.testing.assert_array_equal(
        map_covariances(np.array([[[[4.0, 1.0], [1.0, 9.0]]]]),
                        [[2.0, -3.0]]),
        [[[[16.0, -6.0], [-6.0, 81.0]]]])


def test_per_axis_maps_keep_non_finite_entries_in_place():
    cov = np.array([[[[4.0, np.nan], [np.nan, 9.0]]]])
    out = map_covariances(cov, [[2.0, 3.0]])
    np.testing.assert_array_equal(np.isnan(out), np.isnan(cov))
    np.testing.assert_array_equal(out[0, 0].diagonal(), [16.0, 81.0])


def test_names_stay_importable_from_crop_transform():
    for name in ('map_covariances', 'map_full_covariances',
                 'select_full_covariance', 'covariance_blocks',
                 'covariance_ellipse', 'ellipse_radius', 'ellipse_polygon'):
        assert getattr(crop_transform, name) is getattr(cov_ops, name)


# ---------------------------------------------------- general linear maps
def test_transform_matches_empirical_covariance_of_mapped_samples():
    linear = np.array([[1.3, -0.4], [0.7, 2.1]])
    offset = np.array([5.0, -2.0])
    true = np.array([[3.0, 1.2], [1.2, 2.0]])
    x = RNG.multivariate_normal([10.0, 20.0], true, size=4000)
    y = x @ linear.T + offset
    emp_x, emp_y = _empirical_cov(x), _empirical_cov(y)
    # exact for the empirical covariance (a quadratic form of the samples)
    np.testing.assert_allclose(transform_covariances(emp_x, linear), emp_y,
                               rtol=1e-12, atol=1e-12)
    # and, with sampling error, for the true one (4000 samples: ~2-3 %)
    np.testing.assert_allclose(transform_covariances(true, linear), emp_y,
                               rtol=0.1, atol=0.3)
    # an affine (2, 3) matrix [A | b]: the offset does not enter
    affine = np.concatenate([linear, offset[:, None]], 1)
    np.testing.assert_allclose(transform_covariances(true, affine),
                               transform_covariances(true, linear))


def test_rotation_keeps_the_eigenvalues_and_turns_the_ellipse():
    cov = np.array([[30.0, 12.0], [12.0, 8.0]])
    theta, scale = 0.4, 2.5
    out = transform_covariances(cov, _rotation(theta, scale))
    np.testing.assert_allclose(np.linalg.eigvalsh(out),
                               scale**2 * np.linalg.eigvalsh(cov))
    (semi, angle), (semi2, angle2) = (covariance_ellipse(cov, n_sigma=1),
                                      covariance_ellipse(out, n_sigma=1))
    np.testing.assert_allclose(semi2, scale * semi)
    assert angle2 == pytest.approx(angle + theta)


def test_diagonal_linear_part_is_the_per_axis_map():
    factor = np.array([[1.5, -0.5], [0.25, 4.0]])
    diag = np.stack([np.diag(f) for f in factor])[:, None]  # (N, 1, 2, 2)
    cov = _random_cov((2, 5), RNG)
    np.testing.assert_allclose(transform_covariances(cov, diag),
                               map_covariances(cov, factor), rtol=1e-12)
    full = _random_full((2, ), 5, RNG)
    np.testing.assert_allclose(
        transform_full_covariances(full, diag[:, 0]),
        map_full_covariances(full, factor), rtol=1e-12)


def test_full_transform_against_block_loop_and_kronecker():
    k = 4
    full = _random_full((3, ), k, RNG)
    linear = RNG.normal(size=(3, 2, 2))  # one map per instance
    out = transform_full_covariances(full, linear)
    assert out.shape == (3, 2 * k, 2 * k)
    for n in range(3):
        a = linear[n]
        for i in range(k):
            for j in range(k):
                np.testing.assert_allclose(
                    out[n, 2 * i:2 * i + 2, 2 * j:2 * j + 2],
                    a @ full[n, 2 * i:2 * i + 2, 2 * j:2 * j + 2] @ a.T,
                    rtol=1e-10, atol=1e-12)
        big = np.kron(np.eye(k), a)
        np.testing.assert_allclose(out[n], big @ full[n] @ big.T,
                                   rtol=1e-10, atol=1e-12)
    # one map broadcasts over the instances; no batch axis at all works too
    np.testing.assert_allclose(
        transform_full_covariances(full, linear[0]),
        np.stack([transform_full_covariances(c, linear[0]) for c in full]))


def test_full_transform_matches_mapped_joint_samples():
    k = 3
    true = _random_full((), k, RNG)
    linear = _rotation(-0.7, 1.8) @ np.diag([1.0, 0.5])
    x = RNG.multivariate_normal(np.zeros(2 * k), true, size=500)
    y = (x.reshape(-1, k, 2) @ linear.T).reshape(-1, 2 * k)
    np.testing.assert_allclose(
        transform_full_covariances(_empirical_cov(x), linear),
        _empirical_cov(y), rtol=1e-10, atol=1e-10)


def test_transforms_on_tensors_keep_dtype_and_match_numpy():
    full = _random_full((2, ), 3, RNG)
    linear = RNG.normal(size=(2, 2))
    ref = transform_full_covariances(full, linear)
    out = transform_full_covariances(
        torch.tensor(full, dtype=torch.float32), linear)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-4, atol=1e-4)
    out2 = transform_covariances(torch.from_numpy(covariance_blocks(full)),
                                 torch.from_numpy(linear))
    assert out2.dtype == torch.float64
    np.testing.assert_allclose(out2.numpy(), covariance_blocks(ref),
                               rtol=1e-12)


# ------------------------------------------------------------------ flips
def _flip_samples(x, k, direction):
    """Flip samples (S, 2K) with MMPose's flip_keypoints -> (S, 2K)."""
    kpts = x.reshape(-1, k, 2).copy()
    flipped, _ = flip_keypoints(kpts, np.ones(kpts.shape[:-1]),
                                image_size=(640, 480),
                                flip_indices=COCO_FLIP, direction=direction)
    return flipped.reshape(-1, 2 * k)


@pytest.mark.parametrize('direction', ['horizontal', 'vertical', 'diagonal'])
def test_flipped_covariance_is_covariance_of_flipped_samples(direction):
    k = len(COCO_FLIP)
    true = _random_full((), k, RNG)
    x = RNG.multivariate_normal(RNG.uniform(0, 400, 2 * k), true, size=300)
    emp, emp_flipped = _empirical_cov(x), _empirical_cov(
        _flip_samples(x, k, direction))
    np.testing.assert_allclose(
        flip_full_covariances(emp, COCO_FLIP, direction), emp_flipped,
        rtol=1e-10, atol=1e-10)
    # the per-keypoint version is the same on the diagonal blocks
    np.testing.assert_allclose(
        flip_covariances(covariance_blocks(emp), COCO_FLIP, direction),
        covariance_blocks(emp_flipped), rtol=1e-10, atol=1e-10)


def test_flip_by_hand():
    # two keypoints that are each other's mirror: rows/cols (x0, y0, x1, y1)
    cov = np.array([[1.0, 2.0, 3.0, 4.0],
                    [2.0, 5.0, 6.0, 7.0],
                    [3.0, 6.0, 8.0, 9.0],
                    [4.0, 7.0, 9.0, 10.0]])
    expected = np.array([[8.0, -9.0, 3.0, -6.0],
                         [-9.0, 10.0, -4.0, 7.0],
                         [3.0, -4.0, 1.0, -2.0],
                         [-6.0, 7.0, -2.0, 5.0]])
    np.testing.assert_array_equal(flip_full_covariances(cov, [1, 0]),
                                  expected)
    np.testing.assert_array_equal(
        flip_covariances(covariance_blocks(cov), [1, 0]),
        [[[8.0, -9.0], [-9.0, 10.0]], [[1.0, -2.0], [-2.0, 5.0]]])
    # a diagonal flip (x and y) swaps nothing and changes no sign
    np.testing.assert_array_equal(
        flip_full_covariances(cov, [1, 0], 'diagonal'), cov)


def test_flip_twice_is_the_identity_with_batch_axes():
    full = _random_full((2, 3), len(COCO_FLIP), RNG)
    once = flip_full_covariances(full, COCO_FLIP)
    assert not np.allclose(once, full)
    np.testing.assert_array_equal(flip_full_covariances(once, COCO_FLIP),
                                  full)
    blocks = torch.from_numpy(covariance_blocks(full)).float()
    once_t = flip_covariances(blocks, COCO_FLIP)
    assert once_t.dtype == torch.float32 and once_t.shape == blocks.shape
    assert torch.equal(flip_covariances(once_t, COCO_FLIP), blocks)
    # tensors give what arrays give
    np.testing.assert_array_equal(
        flip_full_covariances(torch.from_numpy(full), COCO_FLIP).numpy(),
        once)


# ------------------------------------------------------- blocks, selection
@pytest.mark.parametrize('batch', [(), (2, ), (2, 3)])
def test_blocks_against_a_loop(batch):
    k = 5
    full = _random_full(batch, k, RNG)
    blocks = covariance_blocks(full)
    assert blocks.shape == batch + (k, 2, 2)
    for i in range(k):
        np.testing.assert_array_equal(
            blocks[..., i, :, :], full[..., 2 * i:2 * i + 2, 2 * i:2 * i + 2])
    blocks_t = covariance_blocks(torch.from_numpy(full))
    np.testing.assert_array_equal(blocks_t.numpy(), blocks)
    # a new array, not a view into the covariance
    blocks[...] = 0.0
    blocks_t.zero_()
    assert (full.diagonal(0, -2, -1) > 0).all()


def test_select_full_covariance_keeps_the_keypoints_rows_and_columns():
    full = _random_full((2, ), 5, RNG)
    sel = select_full_covariance(full, [3, 1])
    coords = [6, 7, 2, 3]
    np.testing.assert_array_equal(sel, full[:, coords][:, :, coords])
    sel_t = select_full_covariance(torch.from_numpy(full), [3, 1])
    np.testing.assert_array_equal(sel_t.numpy(), sel)
    # any batch shape, or none
    np.testing.assert_array_equal(select_full_covariance(full[0], [3, 1]),
                                  sel[0])


# ---------------------------------------------------------------- ellipses
def test_ellipse_matches_eigendecomposition():
    cov = _random_cov((4, 3), RNG)
    semi, angle = covariance_ellipse(cov, n_sigma=2.0)
    lam, vec = np.linalg.eigh(cov)  # ascending
    np.testing.assert_allclose(semi, 2.0 * np.sqrt(lam[..., ::-1]))
    major = vec[..., :, 1]  # eigenvector of the larger eigenvalue
    direction = np.stack([np.cos(angle), np.sin(angle)], -1)
    np.testing.assert_allclose(np.abs((major * direction).sum(-1)), 1.0,
                               atol=1e-9)
    assert ((angle > -np.pi / 2) & (angle <= np.pi / 2)).all()
    # polygon points lie on the Mahalanobis circle of radius r
    center = RNG.normal(size=(4, 3, 2)) * 10
    poly = ellipse_polygon(center, semi, angle, num_points=16)
    assert poly.shape == (4, 3, 16, 2)
    diff = poly - center[..., None, :]
    maha = np.einsum('nkpi,nkij,nkpj->nkp', diff, np.linalg.inv(cov), diff)
    np.testing.assert_allclose(maha, 4.0)


def test_axis_aligned_and_degenerate_ellipses():
    semi, angle = covariance_ellipse(np.diag([1.0, 9.0]), n_sigma=1)
    np.testing.assert_allclose(semi, [3.0, 1.0])
    assert angle == pytest.approx(np.pi / 2)  # major axis along y
    semi, angle = covariance_ellipse(np.diag([4.0, 0.0]), n_sigma=1)
    np.testing.assert_allclose(semi, [2.0, 0.0])
    assert angle == 0.0
    semi, angle = covariance_ellipse(np.full((2, 2), np.nan), n_sigma=1)
    assert np.isnan(semi).all() and np.isnan(angle)


@pytest.mark.parametrize('level', [0.5, 0.9])
def test_ellipse_holds_its_probability_mass(level):
    rng = np.random.default_rng(int(level * 10))
    cov = np.array([[30.0, 12.0], [12.0, 8.0]])
    semi, angle = covariance_ellipse(cov, level=level)
    n = 20000
    x = rng.multivariate_normal([0.0, 0.0], cov, size=n)
    # inside the ellipse in its own frame: (u / A)^2 + (v / B)^2 <= 1
    c, s = np.cos(angle), np.sin(angle)
    u = c * x[:, 0] + s * x[:, 1]
    v = -s * x[:, 0] + c * x[:, 1]
    frac = ((u / semi[0])**2 + (v / semi[1])**2 <= 1).mean()
    assert abs(frac - level) < 4 * math.sqrt(level * (1 - level) / n)


def test_radius_closed_forms():
    assert ellipse_radius(n_sigma=1.5) == 1.5
    # mass inside n sigma is 1 - exp(-n^2 / 2)
    assert ellipse_radius(level=1 - math.exp(-0.5)) == pytest.approx(1.0)
    assert ellipse_radius(level=0.95) == pytest.approx(2.447746830680816)


# ------------------------------------------------------------- validation
def test_validation_errors_name_the_argument():
    with pytest.raises(ValueError, match='exactly one'):
        ellipse_radius()
    with pytest.raises(ValueError, match='exactly one'):
        ellipse_radius(level=0.5, n_sigma=1)
    with pytest.raises(ValueError, match='level'):
        ellipse_radius(level=1.0)
    with pytest.raises(ValueError, match='n_sigma'):
        ellipse_radius(n_sigma=0)
    with pytest.raises(ValueError, match='positive semi-definite'):
        covariance_ellipse(np.array([[1.0, 0.0], [0.0, -1.0]]), n_sigma=1)
    with pytest.raises(ValueError, match='positive semi-definite'):
        covariance_ellipse(np.array([[1.0, 0.5], [0.0, 1.0]]), n_sigma=1)
    with pytest.raises(ValueError, match='num_points'):
        ellipse_polygon([0, 0], [1, 1], 0.0, num_points=2)
    with pytest.raises(ValueError, match=r'cov must have shape \(N, K, 2'):
        map_covariances(np.zeros((1, 3, 2)), [[1, 1]])
    with pytest.raises(ValueError, match=r'cov must have shape \(N, 2K'):
        map_full_covariances(np.zeros((1, 3, 3)), [[1, 1]])
    with pytest.raises(ValueError, match=r'factor must have shape \(1, 2\) '
                       r'or \(2, 2\)'):
        map_covariances(np.zeros((2, 1, 2, 2)), np.ones((3, 2)))
    with pytest.raises(ValueError, match=r'cov must have shape \(\.\.\., 2K'):
        covariance_blocks(np.zeros((1, 3, 3)))
    with pytest.raises(ValueError, match=r'cov must have shape \(\.\.\., 2K'):
        flip_full_covariances(np.zeros((4, 6)), [0, 1, 2, 3])
    with pytest.raises(ValueError, match=r'cov must have shape \(\.\.\., K'):
        flip_covariances(np.zeros((4, 2)), [0, 1])
    with pytest.raises(ValueError, match='flip_indices must be a '
                       'permutation of the 2 keypoints'):
        flip_covariances(np.zeros((2, 2, 2)), [0, 0])
    with pytest.raises(ValueError, match='flip_indices'):
        flip_full_covariances(np.zeros((4, 4)), [1, 0, 2])
    with pytest.raises(ValueError, match='direction must be one of'):
        flip_covariances(np.zeros((2, 2, 2)), [1, 0], 'sideways')
    with pytest.raises(ValueError, match='linear must have shape'):
        transform_covariances(np.eye(2), np.eye(3))
    with pytest.raises(ValueError,
                       match=r'cov must have shape \(\.\.\., 2, 2'):
        transform_covariances(np.eye(3), np.eye(2))


def test_ellipse_tolerates_float32_round_off_only():
    # covariances that went through float32 transforms and averages are
    # symmetric to about 1e-8 relative (TIC predictions in the image)
    cov = np.array([[4.0, 1.0 + 3e-7], [1.0, 3.0]])
    axes, _ = covariance_ellipse(cov, n_sigma=1.0)
    lam = np.linalg.eigvalsh(np.array([[4.0, 1.0], [1.0, 3.0]]))[::-1]
    np.testing.assert_allclose(axes, np.sqrt(lam), rtol=1e-6)
    for bad in ([[4.0, 1.001], [1.0, 3.0]], [[1.0, 2.0], [2.0, 1.0]],
                [[-1.0, 0.0], [0.0, 1.0]]):
        with pytest.raises(ValueError, match='positive semi-definite'):
            covariance_ellipse(np.array(bad), n_sigma=1.0)
