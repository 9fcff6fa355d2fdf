"""Crop-to-image maps and covariance ellipses against MMPose's own
back-mapping, explicit matrix products and Monte Carlo."""
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData
from mmpose.models.pose_estimators import TopdownPoseEstimator
from mmpose.structures import PoseDataSample

from probpose_ext.ops.crop_transform import (
    covariance_blocks, covariance_ellipse, crop_to_image_affine, ellipse_polygon, ellipse_radius,
    heatmap_to_image_affine, map_areas, map_boxes, map_covariances,
    map_full_covariances, map_points, select_full_covariance)

RNG = np.random.default_rng(0)
CENTER = np.array([[321.5, 140.25], [50.0, 60.0]])
SCALE = np.array([[150.0, 200.0], [40.0, 53.3]])
INPUT = (192, 256)


def _random_cov(shape, rng):
    a = rng.normal(size=shape + (2, 2))
    return a @ np.swapaxes(a, -1, -2) + 0.1 * np.eye(2)


def test_points_match_mmpose_estimator_back_mapping():
    kpts_in = RNG.uniform(-20, 220, (2, 17, 2)).astype(np.float32)
    samples = []
    for i in range(2):
        sample = PoseDataSample(metainfo=dict(
            input_center=CENTER[i], input_scale=SCALE[i], input_size=INPUT))
        sample.gt_instances = InstanceData(bboxes=np.zeros((1, 4)),
                                           bbox_scores=np.ones(1))
        samples.append(sample)
    preds = [InstanceData(keypoints=kpts_in[i:i + 1].copy(),
                          keypoint_scores=np.ones((1, 17))) for i in range(2)]
    # MMPose's own code path (the method does not use the model's layers)
    TopdownPoseEstimator.add_pred_to_datasample(
        SimpleNamespace(test_cfg={}), preds, None, samples)
    factor, offset = crop_to_image_affine(CENTER, SCALE, INPUT)
    ours = map_points(kpts_in, factor, offset)
    assert ours.dtype == np.float32
    for i in range(2):
        np.testing.assert_allclose(ours[i], samples[i].pred_instances
                                   .keypoints[0], rtol=1e-6, atol=1e-4)
    # single instance, (2,)-shaped metainfo as MMPose stores it
    f1, o1 = crop_to_image_affine(CENTER[1], SCALE[1], INPUT)
    assert f1.shape == o1.shape == (1, 2)
    np.testing.assert_allclose(map_points(kpts_in[1:], f1, o1)[0], ours[1])


def test_hand_computed_values():
    # input 96x128 (w, h), crop 192x256 centred at (200, 300): 2 image px
    # per input px, input (0, 0) at (104, 172)
    factor, offset = crop_to_image_affine([200, 300], [192, 256], (96, 128))
    np.testing.assert_array_equal(factor, [[2.0, 2.0]])
    np.testing.assert_array_equal(offset, [[104.0, 172.0]])
    boxes = np.array([[[1.0, 2.0, 5.0, 10.0]]])
    np.testing.assert_array_equal(map_boxes(boxes, factor, offset),
                                  [[[106.0, 176.0, 114.0, 192.0]]])
    np.testing.assert_array_equal(map_areas(np.array([[3.0]]), factor),
                                  [[12.0]])
    cov = np.array([[[[4.0, 1.0], [1.0, 9.0]]]])
    np.testing.assert_array_equal(map_covariances(cov, [[2.0, -3.0]]),
                                  [[[[16.0, -6.0], [-6.0, 81.0]]]])
    # heatmap -> image, exact UDP inverse: (W - 1) = 4 heatmap px over 40
    f, o = heatmap_to_image_affine([[100, 200]], [[40, 80]], (5, 9))
    np.testing.assert_allclose(f, [[10.0, 10.0]])
    np.testing.assert_allclose(o, [[80.0, 160.0]])
    # ... and composed with MMPose's estimator mapping
    f, o = heatmap_to_image_affine([[100, 200]], [[40, 80]], (5, 9),
                                   input_size=(5, 9))
    np.testing.assert_allclose(f, [[4 / 4 * 40 / 5, 8 / 8 * 80 / 9]])
    np.testing.assert_allclose(o, [[80.0, 160.0]])


@pytest.mark.parametrize('flip', [False, True])
def test_boxes_keep_containment_and_areas_scale(flip):
    factor, offset = crop_to_image_affine(CENTER, SCALE, INPUT)
    if flip:
        factor = factor * np.array([-1.0, 1.0])
    lo = RNG.uniform(0, 150, (2, 40, 2))
    boxes = np.concatenate([lo, lo + RNG.uniform(1, 50, (2, 40, 2))], -1)
    pts = RNG.uniform(0, 200, (2, 40, 2))
    inside = ((pts >= boxes[..., :2]) & (pts <= boxes[..., 2:])).all(-1)
    assert 0 < inside.sum() < inside.size
    out_boxes = map_boxes(boxes, factor, offset)
    out_pts = map_points(pts, factor, offset)
    assert (out_boxes[..., :2] <= out_boxes[..., 2:]).all()
    inside_img = ((out_pts >= out_boxes[..., :2] - 1e-9) &
                  (out_pts <= out_boxes[..., 2:] + 1e-9)).all(-1)
    np.testing.assert_array_equal(inside_img, inside)
    # the mapped box is the hull of the mapped corners
    corners = map_points(boxes.reshape(2, 80, 2), factor, offset)
    corners = corners.reshape(2, 40, 2, 2)
    np.testing.assert_allclose(out_boxes[..., :2], corners.min(-2))
    np.testing.assert_allclose(out_boxes[..., 2:], corners.max(-2))
    # areas scale as the box areas
    area = np.prod(boxes[..., 2:] - boxes[..., :2], -1)
    out_area = np.prod(out_boxes[..., 2:] - out_boxes[..., :2], -1)
    np.testing.assert_allclose(map_areas(area, factor), out_area)
    # NaN boxes stay NaN
    boxes[0, 0] = np.nan
    assert np.isnan(map_boxes(boxes, factor, offset)[0, 0]).all()


def test_covariances_against_explicit_products():
    factor = np.array([[1.5, -0.5], [0.25, 4.0]])
    cov = _random_cov((2, 5), RNG)
    out = map_covariances(cov, factor)
    for i in range(2):
        d = np.diag(factor[i])
        for k in range(5):
            np.testing.assert_allclose(out[i, k], d @ cov[i, k] @ d)
    # the full 2K x 2K transform agrees on the diagonal blocks and is D C D
    a = RNG.normal(size=(2, 10, 10))
    full = a @ np.swapaxes(a, 1, 2)
    out_full = map_full_covariances(full, factor)
    for i in range(2):
        d = np.diag(np.tile(factor[i], 5))
        np.testing.assert_allclose(out_full[i], d @ full[i] @ d)
    blocks = np.stack([full[:, 2 * k:2 * k + 2, 2 * k:2 * k + 2]
                       for k in range(5)], 1)
    out_blocks = np.stack([out_full[:, 2 * k:2 * k + 2, 2 * k:2 * k + 2]
                           for k in range(5)], 1)
    np.testing.assert_allclose(map_covariances(blocks, factor), out_blocks)
    np.testing.assert_array_equal(covariance_blocks(full), blocks)
    np.testing.assert_array_equal(
        covariance_blocks(torch.from_numpy(full)).numpy(), blocks)
    # selecting keypoints (3, 1) keeps the matching coordinate rows/cols
    sel = select_full_covariance(full, [3, 1])
    coords = [6, 7, 2, 3]
    np.testing.assert_array_equal(sel, full[:, coords][:, :, coords])
    sel_t = select_full_covariance(torch.from_numpy(full), [3, 1])
    np.testing.assert_array_equal(sel_t.numpy(), sel)


def test_torch_inputs_keep_type_dtype_and_device():
    factor, offset = crop_to_image_affine(CENTER, SCALE, INPUT)
    boxes = torch.tensor(RNG.uniform(0, 100, (2, 3, 4)), dtype=torch.float32)
    out = map_boxes(boxes, torch.from_numpy(factor), offset)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    np.testing.assert_allclose(
        out.numpy(), map_boxes(boxes.double().numpy(), factor, offset),
        rtol=1e-6)
    cov = torch.from_numpy(_random_cov((2, 3), RNG))
    out = map_covariances(cov, factor)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float64
    # integer points are promoted to float
    assert map_points(np.ones((1, 1, 2), int), [[2, 2]],
                      [[0.5, 0.5]]).dtype == np.float64


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
    with pytest.raises(ValueError, match='input_size'):
        crop_to_image_affine([0, 0], [1, 1], (0, 10))
    with pytest.raises(ValueError, match='center'):
        crop_to_image_affine([0, 0, 0], [1, 1], (10, 10))
    with pytest.raises(ValueError, match='heatmap_size'):
        heatmap_to_image_affine([0, 0], [1, 1], (1, 10))
    with pytest.raises(ValueError, match='points'):
        map_points(np.zeros((3, 2)), [[1, 1]], [[0, 0]])
    with pytest.raises(ValueError, match='boxes'):
        map_boxes(np.zeros((1, 3, 2)), [[1, 1]], [[0, 0]])
    with pytest.raises(ValueError, match='areas'):
        map_areas(np.zeros(3), [[1, 1]])
    with pytest.raises(ValueError, match='cov'):
        map_covariances(np.zeros((1, 3, 2)), [[1, 1]])
    with pytest.raises(ValueError, match='cov'):
        map_full_covariances(np.zeros((1, 3, 3)), [[1, 1]])
    with pytest.raises(ValueError, match='factor'):
        map_points(np.zeros((3, 1, 2)), np.ones((2, 2)), [[0, 0]])
    with pytest.raises(ValueError, match='cov'):
        covariance_blocks(np.zeros((1, 3, 3)))
    with pytest.raises(ValueError, match='num_points'):
        ellipse_polygon([0, 0], [1, 1], 0.0, num_points=2)
