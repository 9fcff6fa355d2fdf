"""Localisation of GT keypoints outside the image, on hand-made samples."""
import math

import numpy as np
import pytest

from probpose_ext.analysis.outside import (outside_image_keypoints,
                                           outside_image_summary)

SIGMAS = [0.1, 0.05, 0.2]


def _sample(ann_id, gt, pred, area, shape=(100, 80)):
    """A dumped top-down sample: GT (K, 3), prediction (K, 2), image
    (h, w)."""
    return dict(
        id=ann_id, ori_shape=shape,
        raw_ann_info=dict(id=ann_id, bbox=[0, 0, 10, 10], area=area,
                          keypoints=np.asarray(gt, float).ravel().tolist()),
        pred_instances=dict(keypoints=np.asarray([pred], np.float32)))


def _oks(d2, sigma, area):
    return math.exp(-d2 / (2 * area * (2 * sigma)**2))


def test_keypoints_outside_the_image_only():
    samples = [
        # image 100 high, 80 wide: x=-5 and y=100 are outside, the last
        # keypoint is outside but not annotated (v=0)
        _sample(7, [[-5, 10, 3], [40, 100, 1], [90, 5, 0]],
                [[-2, 14], [40, 95], [0, 0]], area=400),
        # every keypoint inside: contributes nothing
        _sample(8, [[1, 1, 2], [79, 99, 2], [10, 10, 1]],
                [[0, 0], [0, 0], [0, 0]], area=100),
        _sample(9, [[85, 50, 3], [10, 10, 2], [5, 5, 2]],
                [[85, 53], [0, 0], [0, 0]], area=0),  # 0.53 * bbox area
    ]
    per = outside_image_keypoints(samples, SIGMAS)
    np.testing.assert_array_equal(per['annotation'], [7, 7, 9])
    np.testing.assert_array_equal(per['keypoint'], [0, 1, 0])
    np.testing.assert_allclose(
        per['similarity'],
        [_oks(25, 0.1, 400), _oks(25, 0.05, 400), _oks(9, 0.1, 53)])
    np.testing.assert_allclose(per['distance'],
                               [5 / 20, 5 / 20, 3 / math.sqrt(53)])
    # (-2, 14) outside; (40, 95) inside; (85, 53) outside (x >= w)
    np.testing.assert_array_equal(per['predicted_outside'],
                                  [True, False, True])
    summary = outside_image_summary(samples, SIGMAS)
    assert summary['count'] == 3
    assert summary['mean_similarity'] == pytest.approx(
        per['similarity'].mean())
    assert summary['median_distance'] == pytest.approx(0.25)
    assert summary['predicted_outside'] == pytest.approx(2 / 3)


def test_no_keypoint_outside_and_errors():
    inside = [_sample(1, [[1, 1, 2], [2, 2, 2], [3, 3, 0]],
                      [[0, 0]] * 3, area=50)]
    assert outside_image_summary(inside, SIGMAS) == dict(
        count=0, mean_similarity=None, median_distance=None,
        predicted_outside=None)
    assert outside_image_keypoints(inside, SIGMAS)['similarity'].shape == (
        0, )
    with pytest.raises(ValueError, match='2 sigmas'):
        outside_image_keypoints(inside, SIGMAS[:2])


def test_coco_sigmas_by_default():
    gt = np.zeros((17, 3))
    gt[:, :2] = 10
    gt[3] = [-4, 10, 3]
    pred = np.full((17, 2), 10.0)
    pred[3] = [-4, 13]
    samples = [_sample(2, gt, pred, area=900)]
    summary = outside_image_summary(samples)
    assert summary['count'] == 1
    # COCO's sigma of keypoint 3 (left ear) is 0.035
    assert summary['mean_similarity'] == pytest.approx(_oks(9, 0.035, 900))
