"""The SynthMotion preview: one strip per video of a subject and camera,
first repetitions first, a skeleton every few frames."""
import numpy as np
import pytest

from probpose_ext.datasets.generators.synthmotion import (SynthMotionParams,
                                                          make_synthmotion)
from probpose_ext.datasets.h36m_npz import load_h36m_npz
from probpose_ext.visualization.motion import plot_motion_strips, video_rows


def test_strips_of_one_subject_and_camera(tmp_path):
    root = tmp_path / 'sm'
    make_synthmotion(root, workers=1, progress=False, params=SynthMotionParams(
        train_subjects=('S1', ), test_subjects=('S9', ),
        actions=('walk', 'wave'), reps=2, frames=40))
    ann = load_h36m_npz(root / 'annotation_body3d' / 'fps50' /
                        'synthmotion_test.npz')
    rows = video_rows(ann['imgname'], 'S9', '54138969')
    assert sorted(rows) == ['Walk_1', 'Walk_2', 'Wave_1', 'Wave_2']
    assert all(len(r) == 40 and np.all(np.diff(r) == 1)
               for r in rows.values())
    links = [(0, 1), (1, 2)]
    path = tmp_path / 'p.png'
    drawn = plot_motion_strips(ann['part'], ann['imgname'], links, str(path),
                               every=10, max_videos=3)
    assert drawn == 3 * 4                # 3 videos, frames 0, 10, 20, 30
    assert path.stat().st_size > 1000
    with pytest.raises(ValueError, match='no video'):
        plot_motion_strips(ann['part'], ann['imgname'], links, str(path),
                           subject='S1')
