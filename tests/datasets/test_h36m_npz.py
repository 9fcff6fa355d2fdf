"""Human3.6M annotation files: name parsing as MMPose's dataset does it,
subject selection and atomic writing on the real sample."""
import numpy as np
import pytest
from mmpose.datasets.datasets.body3d import Human36mDataset

from probpose_ext.datasets.h36m_npz import (load_h36m_npz, parse_imgname,
                                            save_h36m_npz, select_subjects,
                                            subjects_of)
from tests.conftest import DATA

SAMPLE = DATA / 'h36m' / 'test_h36m_body3d.npz'


def test_parse_imgname_agrees_with_mmpose():
    ann = load_h36m_npz(SAMPLE)
    for name in ann['imgname']:
        ours = parse_imgname(name)
        subj, action, camera = Human36mDataset._parse_h36m_imgname(name)
        assert (ours['subject'], ours['action'], ours['camera']) == (
            subj, action, camera)
    assert parse_imgname('S9_Walk_2.60457274_000123.jpg') == dict(
        subject='S9', action='Walk_2', camera='60457274', frame='000123')
    with pytest.raises(ValueError, match='not a Human3.6M image name'):
        parse_imgname('frame0001.jpg')


def test_select_subjects_keeps_rows_in_order(tmp_path):
    ann = load_h36m_npz(SAMPLE)
    assert subjects_of(ann['imgname']).tolist() == ['S1', 'S5', 'S7', 'S8']
    sel = select_subjects(ann, ['S8', 'S1'])
    assert subjects_of(sel['imgname']).tolist() == ['S1', 'S8']
    np.testing.assert_array_equal(sel['S'], ann['S'][[0, 3]])
    np.testing.assert_array_equal(sel['part'], ann['part'][[0, 3]])
    with pytest.raises(ValueError, match=r"\['S2'\]"):
        select_subjects(ann, ['S2'])

    path = tmp_path / 'sub' / 'out.npz'
    save_h36m_npz(path, sel)
    back = load_h36m_npz(path)
    assert sorted(back) == sorted(ann)
    for key in ann:
        np.testing.assert_array_equal(back[key], sel[key])
    assert [p.name for p in path.parent.iterdir()] == ['out.npz']


def test_load_refuses_incomplete_files(tmp_path):
    ann = load_h36m_npz(SAMPLE)
    path = tmp_path / 'bad.npz'
    np.savez(path, imgname=ann['imgname'], part=ann['part'])
    with pytest.raises(KeyError, match='missing'):
        load_h36m_npz(path)
    short = dict(ann, S=ann['S'][:2])
    np.savez(path, **short)
    with pytest.raises(ValueError, match='different lengths'):
        load_h36m_npz(path)
