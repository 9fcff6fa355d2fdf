"""Rendered SynthActions clips: the frames' keypoints are the annotation's
joints (times the scale), rows and index agree."""
import json
import pickle

import numpy as np
import pytest

from probpose_ext.datasets.generators.synthactions import (
    SynthActionsParams, make_synthactions)
from probpose_ext.datasets.generators.synthactions_video import (
    COCO_FILE, INDEX_FILE, clip_motion, render_clips)


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp('sa')
    params = SynthActionsParams(subjects=2, reps=1,
                                actions=('wave', 'kick'),
                                xsub_train_subjects=(1, ),
                                min_frames=20, max_frames=24)
    make_synthactions(root / 'data', seed=3, params=params, workers=1,
                      progress=False)
    with open(root / 'data' / 'synthactions_2d.pkl', 'rb') as f:
        data = pickle.load(f)
    return root, params, data


def test_rendered_keypoints_are_the_annotation(tiny):
    root, params, data = tiny
    anns = {a['frame_dir']: a for a in data['annotations']}
    clips = [('C002P002R001A002', [0, 5, 9]), ('C001P001R001A001', [3, 4])]
    summary = render_clips(root / 'frames', clips, 3, params, scale=4,
                           workers=1, progress=False)
    assert summary['num_frames'] == 5
    assert summary['img_size'] == [480, 270]
    coco = json.load(open(root / 'frames' / COCO_FILE))
    index = json.load(open(root / 'frames' / INDEX_FILE))
    assert index['C001P001R001A001'] == dict(first_row=3, frames=[3, 4])
    assert [im['id'] for im in coco['images']] == [1, 2, 3, 4, 5]
    row = 0
    for name, frames in clips:
        for t in frames:
            kp = np.array(coco['annotations'][row]['keypoints']).reshape(
                17, 3)
            seen = kp[:, 2] > 0
            assert seen.sum() >= 10
            np.testing.assert_allclose(
                kp[seen, :2] * 4, anns[name]['keypoint'][0, t][seen],
                atol=2e-3)
            assert coco['images'][row]['file_name'] == \
                f'{name}/{name}_{t:06d}.jpg'
            assert (root / 'frames' / 'images' /
                    coco['images'][row]['file_name']).is_file()
            row += 1


def test_clip_motion_matches_the_3d_file(tiny):
    root, params, _ = tiny
    with open(root / 'data' / 'synthactions_3d.pkl', 'rb') as f:
        ann = pickle.load(f)['annotations'][0]
    motion, _, _, camera = clip_motion(3, ann['frame_dir'], params)
    from probpose_ext.datasets.generators.kinematics import select_joints
    cam = camera.world_to_camera(select_joints(motion.joints, 'h36m17'))
    np.testing.assert_allclose(cam, ann['keypoint'][0], atol=1e-5)


def test_bad_arguments(tiny, tmp_path):
    _, params, _ = tiny
    with pytest.raises(ValueError, match='scale'):
        render_clips(tmp_path / 'x', [('C001P001R001A001', [0])], 3, params,
                     scale=0)
    with pytest.raises(ValueError, match='no clips'):
        render_clips(tmp_path / 'y', [], 3, params)
