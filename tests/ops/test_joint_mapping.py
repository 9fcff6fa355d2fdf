"""COCO-17 -> Human3.6M-17 map: names, the body model's known poses,
equivariance, scores and covariances against brute force."""
import numpy as np
import pytest

from probpose_ext.datasets.generators import kinematics as km
from probpose_ext.datasets.generators.motion import (ACTIONS, sample_motion,
                                                     subject_body)
from probpose_ext.ops.joint_mapping import (COCO17_NAMES,
                                            COCO_TO_H36M_WEIGHTS,
                                            H36M17_NAMES, coco_to_h36m,
                                            map_covariance, map_keypoints,
                                            map_scores)

DIRECT = ('right_hip', 'right_knee', 'right_foot', 'left_hip', 'left_knee',
          'left_foot', 'neck_base', 'left_shoulder', 'left_elbow',
          'left_wrist', 'right_shoulder', 'right_elbow', 'right_wrist')


@pytest.fixture(scope='module')
def motions():
    """World joints (metres) of every action for two subjects."""
    rng = np.random.default_rng(3)
    joints = []
    for action in ACTIONS:
        for _ in range(2):
            body, height = subject_body(rng)
            joints.append(
                sample_motion(action, 60, 25, body, height, rng).joints)
    return np.concatenate(joints)  # (T, J, 3)


def test_names_follow_mmpose_metainfo():
    assert list(COCO17_NAMES) == km.joint_set_names('coco17')
    assert list(H36M17_NAMES) == km.joint_set_names('h36m17')


def test_rows_are_affine_and_direct_joints_are_copies():
    np.testing.assert_allclose(COCO_TO_H36M_WEIGHTS.sum(1), 1.0, atol=1e-12)
    for name in DIRECT:
        row = COCO_TO_H36M_WEIGHTS[H36M17_NAMES.index(name)]
        assert np.count_nonzero(row) == 1 and row.max() == 1.0


def test_known_poses_of_the_body_model(motions):
    coco = km.select_joints(motions, 'coco17')
    truth = km.select_joints(motions, 'h36m17')
    mapped = map_keypoints(coco)
    err = np.linalg.norm(mapped - truth, axis=-1).mean(0) * 1000  # mm
    for name in DIRECT:
        assert err[H36M17_NAMES.index(name)] < 1e-9
    for name in ('root', 'spine', 'thorax', 'head'):
        assert err[H36M17_NAMES.index(name)] < 25.0, (name, err)

    # the common hand-made map is worse for root and head
    def mid(n):
        return (coco[:, COCO17_NAMES.index(f'left_{n}')] +
                coco[:, COCO17_NAMES.index(f'right_{n}')]) / 2

    naive = dict(root=mid('hip'), head=mid('ear'))
    for name, guess in naive.items():
        naive_err = np.linalg.norm(
            guess - truth[:, H36M17_NAMES.index(name)], axis=-1).mean() * 1000
        assert err[H36M17_NAMES.index(name)] < naive_err - 10.0


def test_commutes_with_similarity_transforms():
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(5, 17, 2)) * 50
    a = np.radians(33.0)
    rot = 1.7 * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    shift = np.array([120.0, -40.0])
    np.testing.assert_allclose(
        map_keypoints(pts @ rot.T + shift),
        map_keypoints(pts) @ rot.T + shift,
        atol=1e-9)


def test_scores_are_the_weakest_source_brute_force():
    rng = np.random.default_rng(1)
    scores = rng.uniform(size=(4, 17))
    out = map_scores(scores)
    for n in range(4):
        for d in range(17):
            src = [
                scores[n, s] for s in range(17)
                if COCO_TO_H36M_WEIGHTS[d, s] != 0
            ]
            assert out[n, d] == min(src)
    kpts, sc = coco_to_h36m(rng.normal(size=(4, 17, 2)), scores)
    assert kpts.shape == (4, 17, 2) and np.array_equal(sc, out)


def test_covariance_maps_like_samples():
    rng = np.random.default_rng(2)
    half = rng.normal(size=(17, 2, 2))
    blocks = half @ np.swapaxes(half, -1, -2) + 0.1 * np.eye(2)
    # brute force: the block-diagonal 34x34 matrix through explicit loops
    full = np.zeros((34, 34))
    for k in range(17):
        full[2 * k:2 * k + 2, 2 * k:2 * k + 2] = blocks[k]
    expect = np.zeros((34, 34))
    for d in range(17):
        for e in range(17):
            for s in range(17):
                expect[2 * d:2 * d + 2, 2 * e:2 * e + 2] += (
                    COCO_TO_H36M_WEIGHTS[d, s] * COCO_TO_H36M_WEIGHTS[e, s] *
                    blocks[s])
    np.testing.assert_allclose(map_covariance(blocks), expect, atol=1e-12)
    np.testing.assert_allclose(map_covariance(full), expect, atol=1e-12)
    np.testing.assert_allclose(
        map_covariance(np.stack([blocks, blocks]))[1], expect, atol=1e-12)
    # the covariance of mapped samples converges to it
    chol = np.linalg.cholesky(full)
    samples = (chol @ rng.normal(size=(34, 200000))).T.reshape(-1, 17, 2)
    mapped = map_keypoints(samples).reshape(-1, 34)
    emp = np.cov(mapped.T)
    scale = np.sqrt(np.outer(np.diag(expect), np.diag(expect)))
    assert np.abs(emp - expect).max() / scale.max() < 0.02


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match='keypoints'):
        map_keypoints(np.zeros((3, 16, 2)))
    with pytest.raises(ValueError, match='scores'):
        map_scores(np.zeros((3, 16)))
    with pytest.raises(ValueError, match='cov'):
        map_covariance(np.zeros((3, 30, 30)))
