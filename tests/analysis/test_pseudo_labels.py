"""Teacher pseudo-labels: subject split with 3D withheld, dump reading in
file order, confidence weights, pseudo-labelled files and their grading."""
import pickle

import numpy as np
import pytest

from probpose_ext.analysis import pseudo_labels as pl
from probpose_ext.datasets.h36m_npz import load_h36m_npz, subjects_of
from tests.conftest import DATA

SAMPLE = DATA / 'h36m' / 'test_h36m_body3d.npz'


def test_split_withholds_the_heldout_3d(tmp_path):
    paths = pl.split_subjects(str(SAMPLE), ['S1', 'S5'], ['S8'],
                              str(tmp_path))
    ann = load_h36m_npz(SAMPLE)
    lab = load_h36m_npz(paths['labelled'])
    unl = load_h36m_npz(paths['unlabelled'])
    gt = load_h36m_npz(paths['heldout_gt'])
    assert subjects_of(lab['imgname']).tolist() == ['S1', 'S5']
    assert subjects_of(unl['imgname']).tolist() == ['S8']
    np.testing.assert_array_equal(lab['S'], ann['S'][:2])
    np.testing.assert_array_equal(gt['S'], ann['S'][3:])
    assert not unl['S'].any()                    # 3D and visibility gone
    np.testing.assert_array_equal(unl['part'], ann['part'][3:])  # 2D kept
    with pytest.raises(ValueError, match='both labelled and held back'):
        pl.split_subjects(str(SAMPLE), ['S1'], ['S1'], str(tmp_path))


def _dump(path, names, kpts, std):
    # what MMEngine's DumpResults writes for PoseLifter samples
    samples = [
        dict(target_img_path=np.array([n]),
             pred_instances=dict(keypoints=k[None], keypoint_depth_std=s[None]))
        for n, k, s in zip(names, kpts, std)
    ]
    with open(path, 'wb') as f:
        pickle.dump(samples, f)


def test_read_lifter_dump_orders_by_frame_and_centres_the_root(tmp_path):
    ann = load_h36m_npz(SAMPLE)
    names = ann['imgname']
    rng = np.random.default_rng(0)
    kpts = rng.normal(size=(4, 17, 3)) + [0, 0, 5]
    std = rng.uniform(0.01, 0.1, (4, 17))
    order = [2, 0, 3, 1]                          # the dataset's own order
    _dump(tmp_path / 'd.pkl', names[order], kpts[order], std[order])
    out = pl.read_lifter_dump(str(tmp_path / 'd.pkl'), names)
    np.testing.assert_allclose(out['keypoints'], kpts - kpts[:, :1])
    np.testing.assert_allclose(out['depth_std'], std)
    _dump(tmp_path / 'short.pkl', names[:3], kpts[:3], std[:3])
    with pytest.raises(ValueError, match='1 of 4 frames'):
        pl.read_lifter_dump(str(tmp_path / 'short.pkl'), names)


def test_confidence_weights_closed_form():
    std = np.array([[0.0, 0.01, 0.02, 0.04], [0.0, 0.02, 0.02, 0.08]])
    w = pl.confidence_weights(std)
    s0 = np.median(std[:, 1:])                   # 0.02 -> median joint 0.5
    np.testing.assert_allclose(w, s0**2 / (s0**2 + std**2) * (std > 0) +
                               (std == 0))
    assert w[0, 2] == pytest.approx(0.5)
    np.testing.assert_allclose(
        pl.confidence_weights(std, reference=0.04)[1, 3], 0.2)
    with pytest.raises(ValueError):
        pl.confidence_weights(-std)


def test_pseudo_annotations_and_quality(tmp_path):
    paths = pl.split_subjects(str(SAMPLE), ['S1'], ['S7', 'S8'],
                              str(tmp_path))
    unl = load_h36m_npz(paths['unlabelled'])
    gt = load_h36m_npz(paths['heldout_gt'])
    rel = gt['S'][..., :3] - gt['S'][:, :1, :3]
    shift = np.zeros_like(rel)
    shift[:, 1:, 2] = 0.01                        # 10 mm depth error
    weights = np.full(rel.shape[:2], 0.3)
    ann = pl.pseudo_annotations(unl, rel + shift, weights)
    np.testing.assert_allclose(ann['S'][..., :3], rel + shift, atol=1e-6)
    np.testing.assert_allclose(ann['S'][..., 3], 0.3, atol=1e-7)
    std = np.full(rel.shape[:2], 0.02)            # 10 mm within one sigma
    q = pl.pseudo_label_quality(rel + shift, std, gt)
    assert q['mpjpe_mm'] == pytest.approx(10 * 16 / 17, rel=1e-4)
    assert q['depth_mae_mm'] == pytest.approx(10, rel=1e-4)
    assert q['depth_cov68'] == 1.0
    with pytest.raises(ValueError, match='expected keypoints'):
        pl.pseudo_annotations(unl, rel[:1], weights)


def test_error_by_weight_ranks_errors():
    gt = dict(S=np.zeros((50, 17, 4)))
    rng = np.random.default_rng(1)
    weights = rng.uniform(0, 1, (50, 17))
    err = 0.1 * (1 - weights)                     # confident = accurate
    kpts = np.zeros((50, 17, 3))
    kpts[..., 0] = err
    kpts[:, 0] = 0
    curve = pl.error_by_weight(kpts, weights, gt, num_bins=5)
    assert np.all(np.diff(curve['weight']) > 0)
    assert np.all(np.diff(curve['error_mm']) < 0)


def test_student_annotations_concatenate_gt_and_pseudo(tmp_path):
    paths = pl.split_subjects(str(SAMPLE), ['S1', 'S5'], ['S7', 'S8'],
                              str(tmp_path))
    lab = load_h36m_npz(paths['labelled'])
    unl = load_h36m_npz(paths['unlabelled'])
    pseudo = pl.pseudo_annotations(unl, np.zeros((2, 17, 3)),
                                   np.full((2, 17), 0.25))
    both = pl.student_annotations(lab, pseudo)
    assert subjects_of(both['imgname']).tolist() == ['S1', 'S5', 'S7', 'S8']
    np.testing.assert_array_equal(both['S'][:2], lab['S'])
    np.testing.assert_allclose(both['S'][2:, :, 3], 0.25)
    with pytest.raises(ValueError, match='both labelled and pseudo'):
        pl.student_annotations(lab, lab)


def test_student_pipeline_needs_the_soft_weights():
    pl.check_student_pipeline([dict(type='GenerateTarget'),
                               dict(type='SoftLiftingTargetWeight')])
    with pytest.raises(ValueError, match='SoftLiftingTargetWeight'):
        pl.check_student_pipeline([dict(type='GenerateTarget')])


def test_study_rows_and_table():
    metrics = {'MPJPE': 0.05, 'P-MPJPE': 0.04, 'depth/NLL': -1.5,
               'depth/cov68': 0.7, 'depth/AUSE': 0.12}
    row = pl.study_row('teacher', metrics, 4.25)
    assert (row['p1_mm'], row['p2_mm']) == pytest.approx((50, 40))
    plain = pl.study_row('plain', {'MPJPE': 0.06, 'P-MPJPE': 0.05}, None)
    assert plain['depth_nll'] is None
    lines = pl.study_table([row, plain]).splitlines()
    assert lines[2] == ('| teacher | 50.0 | 40.0 | -1.500 | 0.700 | 0.120 '
                        '| 4.2 |')
    assert lines[3] == '| plain | 60.0 | 50.0 | - | - | - | - |'
