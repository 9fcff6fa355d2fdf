import numpy as np
from mmpose.registry import TRANSFORMS

from probpose_ext.datasets import RandomFlipRawVis
from probpose_ext.utils.metainfo import load_metainfo

FLIP = load_metainfo()['flip_indices']


def _results():
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 4, (1, 17))
    return dict(
        img=rng.integers(0, 255, (40, 30, 3)).astype(np.uint8),
        img_shape=(40, 30),
        bbox=np.array([[2., 3., 20., 30.]]),
        keypoints=rng.uniform(0, 29, (1, 17, 2)),
        keypoints_visible=np.minimum(raw, 1).astype(np.float32),
        keypoints_visibility_raw=raw,
        flip_indices=FLIP)


def test_flips_raw_visibility_like_mmpose_flips_the_rest():
    transform = TRANSFORMS.build(dict(type='RandomFlipRawVis', prob=1.0))
    assert isinstance(transform, RandomFlipRawVis)
    mmpose_flip = TRANSFORMS.build(dict(type='RandomFlip', prob=1.0))
    results = _results()
    raw = results['keypoints_visibility_raw'].copy()
    ours = transform(_results())
    theirs = mmpose_flip(_results())
    for key in ('img', 'bbox', 'keypoints', 'keypoints_visible'):
        np.testing.assert_array_equal(ours[key], theirs[key])
    # left and right swap: raw v follows its keypoint
    np.testing.assert_array_equal(ours['keypoints_visibility_raw'][0],
                                  raw[0, FLIP])
    np.testing.assert_array_equal(
        np.minimum(ours['keypoints_visibility_raw'], 1),
        ours['keypoints_visible'])
    # MMPose's flip alone leaves the raw field describing the wrong side
    assert not np.array_equal(theirs['keypoints_visibility_raw'],
                              ours['keypoints_visibility_raw'])


def test_no_flip_no_change():
    transform = RandomFlipRawVis(prob=0.0)
    results = transform(_results())
    np.testing.assert_array_equal(results['keypoints_visibility_raw'],
                                  _results()['keypoints_visibility_raw'])
