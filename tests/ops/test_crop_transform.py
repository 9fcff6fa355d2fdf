"""Crop-to-image maps against MMPose's own back-mapping and hand-computed
values (the covariance maps and ellipses: tests/ops/test_covariance.py)."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData
from mmpose.models.pose_estimators import TopdownPoseEstimator
from mmpose.structures import PoseDataSample

from probpose_ext.ops.crop_transform import (crop_to_image_affine,
                                             heatmap_to_image_affine,
                                             map_areas, map_boxes, map_points)

RNG = np.random.default_rng(0)
CENTER = np.array([[321.5, 140.25], [50.0, 60.0]])
SCALE = np.array([[150.0, 200.0], [40.0, 53.3]])
INPUT = (192, 256)


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


def test_torch_inputs_keep_type_dtype_and_device():
    factor, offset = crop_to_image_affine(CENTER, SCALE, INPUT)
    boxes = torch.tensor(RNG.uniform(0, 100, (2, 3, 4)), dtype=torch.float32)
    out = map_boxes(boxes, torch.from_numpy(factor), offset)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    np.testing.assert_allclose(
        out.numpy(), map_boxes(boxes.double().numpy(), factor, offset),
        rtol=1e-6)
    # integer points are promoted to float
    assert map_points(np.ones((1, 1, 2), int), [[2, 2]],
                      [[0.5, 0.5]]).dtype == np.float64


def test_validation_errors_name_the_argument():
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
    with pytest.raises(ValueError, match='factor'):
        map_points(np.zeros((3, 1, 2)), np.ones((2, 2)), [[0, 0]])
