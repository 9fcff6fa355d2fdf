import warnings

import numpy as np
import pytest
from mmengine.structures import InstanceData
from mmpose.structures import PoseDataSample
from mmpose.visualization import PoseLocalVisualizer

from probpose_ext.compat import visualizer as vis_compat


def _draw():
    visualizer = PoseLocalVisualizer(
        radius=3, kpt_color=[(0, 0, 255), (0, 0, 255)])
    visualizer.set_dataset_meta(
        dict(num_keypoints=2, skeleton_links=[], dataset_name='t'))
    image = np.zeros((40, 40, 3), np.uint8)
    sample = PoseDataSample()
    sample.pred_instances = InstanceData(
        keypoints=np.array([[[10., 10.], [30., 20.]]]),
        keypoint_scores=np.ones((1, 2)),
        keypoints_visible=np.ones((1, 2)))
    return visualizer.add_datasample(
        'x', image, sample, draw_gt=False, draw_bbox=False, show=False)


def test_opencv_keypoints_drawn_without_deprecated_conversion():
    assert vis_compat.is_applied()
    with warnings.catch_warnings():
        warnings.simplefilter('error', DeprecationWarning)
        drawn = _draw()
    # the keypoint colour is written as given at each keypoint
    np.testing.assert_array_equal(drawn[10, 10], [0, 0, 255])
    np.testing.assert_array_equal(drawn[20, 30], [0, 0, 255])
    assert drawn[0, 0].sum() == 0


def test_without_the_shim_the_conversion_is_deprecated():
    vis_compat.remove()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('error', DeprecationWarning)
            with pytest.raises((DeprecationWarning, TypeError),
                               match='ndim > 0|0-dimensional'):
                _draw()
    finally:
        vis_compat.apply()
