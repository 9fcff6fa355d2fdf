"""The teacher pseudo-label tool end to end on a tiny SynthMotion: one
epoch each for the teacher, the student and the labelled-only baseline;
the files it writes hold what the study defines (withheld 3D, confidence
weights with median 0.5, ground truth then pseudo-labels), and a second
run reuses every stage."""
import json

import numpy as np
import pytest

from probpose_ext.datasets.generators.synthmotion import (SynthMotionParams,
                                                          make_synthmotion)
from probpose_ext.datasets.h36m_npz import load_h36m_npz, subjects_of
from tests.conftest import REPO, run_python

pytestmark = pytest.mark.slow

TOOL = REPO / 'tools' / 'analysis_tools' / 'pseudo_labels.py'


def _options(root):
    opts = ['train_cfg.max_epochs=1']
    for loader in ('train', 'val', 'test'):
        opts += [f'{loader}_dataloader.dataset.data_root={root}/',
                 f'{loader}_dataloader.num_workers=0',
                 f'{loader}_dataloader.persistent_workers=False']
    return opts


def test_pseudo_label_study_on_tiny_data(tmp_path):
    root = tmp_path / 'synthmotion'
    make_synthmotion(root, seed=0, workers=1, progress=False,
                     params=SynthMotionParams(
                         train_subjects=('S1', 'S5'), test_subjects=('S9', ),
                         actions=('walk', 'squat'), reps=1, frames=30))
    work, out = tmp_path / 'work', tmp_path / 'out'
    args = [TOOL, '--labelled', 'S1', '--heldout', 'S5', '--work-dir', work,
            '--out-dir', out, '--cfg-options', *_options(root)]
    run_python(args)

    data = work / 'data'
    unl = load_h36m_npz(data / 'unlabelled.npz')
    assert set(subjects_of(unl['imgname'])) == {'S5'} and not unl['S'].any()
    student = load_h36m_npz(data / 'student_confidence.npz')
    subj = subjects_of(student['imgname'])
    n_lab = int((subj == 'S1').sum())
    assert subj[:n_lab].tolist() == ['S1'] * n_lab
    assert set(subj[n_lab:]) == {'S5'}
    np.testing.assert_array_equal(student['S'][:n_lab, :, 3], 1)
    w = student['S'][n_lab:, :, 3]
    assert np.all((w > 0) & (w <= 1)) and np.all(w[:, 0] == 1)
    assert np.median(w[:, 1:]) == pytest.approx(0.5, abs=1e-3)

    res = json.loads((out / 'results.json').read_text())
    assert [r['name'].split(' ')[0] for r in res['rows']] == [
        'teacher', 'labelled-only', 'student']
    for row in res['rows']:
        assert 0 < row['p2_mm'] <= row['p1_mm'] + 1e-6
        assert 0 <= row['depth_cov68'] <= 1
    assert (out / 'pseudo_labels.png').stat().st_size > 0

    again = run_python(args)
    assert '[teacher]' not in again.stdout     # nothing retrained
    assert '[student]' not in again.stdout
