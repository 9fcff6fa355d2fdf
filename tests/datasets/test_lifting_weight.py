"""SoftLiftingTargetWeight keeps the continuous 3D visibility of the
target frame as the per-joint target weight (MMPose's codec binarises
it)."""
import numpy as np
import pytest
from mmpose.registry import TRANSFORMS

import probpose_ext  # noqa: F401

CODEC = dict(type='VideoPoseLifting', num_keypoints=17, zero_center=True,
             root_index=0, remove_root=False)


def _results(visible):
    rng = np.random.default_rng(0)
    return dict(
        keypoints=rng.uniform(0, 1000, (27, 17, 2)).astype(np.float32),
        keypoints_visible=np.ones((27, 17), np.float32),
        lifting_target=rng.normal(size=(1, 17, 3)).astype(np.float32) +
        [0, 0, 5],
        lifting_target_visible=visible,
        camera_param=dict(w=1000, h=1000))


def test_weights_follow_the_visibility_column():
    visible = np.linspace(0, 1, 17, dtype=np.float32)[None]
    gen = TRANSFORMS.build(dict(type='GenerateTarget', encoder=CODEC))
    soft = TRANSFORMS.build(dict(type='SoftLiftingTargetWeight'))
    encoded = gen(_results(visible.copy()))
    # MMPose's codec: 1 above 0.5, 0 below
    np.testing.assert_array_equal(encoded['lifting_target_weight'],
                                  (visible > 0.5).astype(np.float32))
    out = soft(encoded)
    np.testing.assert_allclose(out['lifting_target_weight'], visible)
    # ground truth (visibility 1) is unchanged
    ones = soft(gen(_results(np.ones((1, 17), np.float32))))
    np.testing.assert_array_equal(ones['lifting_target_weight'],
                                  np.ones((1, 17)))


def test_refuses_misplaced_use():
    soft = TRANSFORMS.build(dict(type='SoftLiftingTargetWeight'))
    with pytest.raises(KeyError, match='after GenerateTarget'):
        soft(dict(lifting_target_visible=np.ones((1, 17))))
    codec = dict(CODEC, remove_root=True)
    gen = TRANSFORMS.build(dict(type='GenerateTarget', encoder=codec))
    with pytest.raises(ValueError, match='remove_root'):
        soft(gen(_results(np.ones((1, 17), np.float32))))
