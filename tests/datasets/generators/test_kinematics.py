"""Tests of the public body model
(``probpose_ext.datasets.generators.kinematics``), checked against
independent computations: a per-joint forward kinematics written with
SciPy rotations, rigid segment lengths, per-item calls and MMPose's dataset
metainfo."""
import warnings

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from probpose_ext.datasets.generators import kinematics as km

T, N = 5, 3


def _random_angles(rng, shape):
    low, high = km.ANGLE_LIMITS[:, 0], km.ANGLE_LIMITS[:, 1]
    return rng.uniform(low, high, shape + (len(km.ANGLE_NAMES), ))


def _random_bodies(rng, num):
    base = km.body_to_array(km.Body())
    return base * rng.uniform(0.85, 1.15, (num, len(base)))


def _rot(seq, *deg):
    """Intrinsic rotation sequence, e.g. ``'ZXY'`` = Rz @ Rx @ Ry."""
    return Rotation.from_euler(seq, deg, degrees=True)


def _brute_force(angles, body):
    """Per-joint forward kinematics from the model's written description
    (module docstring), composing SciPy rotations instead of matrices."""
    a = dict(zip(km.ANGLE_NAMES, angles))
    b = dict(zip(km.BODY_FIELDS, body))
    low = _rot('X', a['pelvis_tilt'])
    up = low * _rot('ZXY', a['torso_bend'], a['torso_lean'], a['torso_twist'])
    mid = low * _rot('ZXY', a['torso_bend'] / 2, a['torso_lean'] / 2,
                     a['torso_twist'] / 2)
    head = up * _rot('YXZ', a['head_yaw'], a['head_pitch'], a['head_roll'])
    r = b['head_radius']
    # joint -> (parent, frame rotation, offset in that frame)
    spec = {
        'neck': ('pelvis', up, [0, b['torso'], 0]),
        'head_centre': ('neck', head, [0, b['neck'] + 0.9 * r, 0.012]),
        'spine': ('pelvis', mid, [0, b['torso'] / 2, 0]),
        'head_top': ('head_centre', head, [0, r, 0]),
    }
    for name, direction, scale in (('nose', [0, -0.18, 1], 1.1), ('mouth', [
            0, -0.5, 0.86
    ], 1.0), ('left_eye', [0.33, 0.12,
                           0.93], 1.0), ('right_eye', [-0.33, 0.12, 0.93],
                                         1.0), ('left_ear', [0.97, 0,
                                                             -0.22], 1.0),
                                   ('right_ear', [-0.97, 0, -0.22], 1.0)):
        d = np.asarray(direction, float)
        spec[name] = ('head_centre', head, d / np.sqrt(d @ d) * scale * r)
    for side, s in (('left', 1.0), ('right', -1.0)):
        g = {
            k: a[f'{side}_{k}']
            for k in ('shoulder_abd', 'shoulder_flex', 'shoulder_rot',
                      'elbow_flex', 'hip_abd', 'hip_flex', 'hip_rot',
                      'knee_flex')
        }
        ua = up * _rot('ZXY', s * g['shoulder_abd'], -g['shoulder_flex'],
                       s * g['shoulder_rot'])
        fa = ua * _rot('X', -g['elbow_flex'])
        th = low * _rot('ZXY', s * g['hip_abd'], -g['hip_flex'],
                        s * g['hip_rot'])
        sh = th * _rot('X', g['knee_flex'])
        spec.update({
            f'{side}_shoulder':
            ('neck', up, [s * b['shoulder_half'], -0.03, -0.01]),
            f'{side}_elbow': (f'{side}_shoulder', ua, [0, -b['upper_arm'], 0]),
            f'{side}_wrist': (f'{side}_elbow', fa, [0, -b['forearm'], 0]),
            f'{side}_hand': (f'{side}_wrist', fa, [0, -b['hand'], 0]),
            f'{side}_hip': ('pelvis', low, [s * b['hip_half'], -0.03, 0]),
            f'{side}_knee': (f'{side}_hip', th, [0, -b['thigh'], 0]),
            f'{side}_ankle': (f'{side}_knee', sh, [0, -b['shin'], 0]),
            f'{side}_toe': (f'{side}_ankle', sh, [0, -0.03, b['foot']]),
        })
    pos = {'pelvis': np.zeros(3)}
    while len(pos) < len(km.JOINT_NAMES):
        for name, (parent, rot, offset) in spec.items():
            if name not in pos and parent in pos:
                pos[name] = pos[parent] + rot.apply(np.asarray(offset, float))
    frames = [rot.as_matrix() for rot in (low, mid, up, head)]
    return np.stack([pos[n] for n in km.JOINT_NAMES]), np.stack(frames)


def test_forward_kinematics_matches_a_per_joint_loop():
    rng = np.random.default_rng(0)
    angles = _random_angles(rng, (40, ))
    bodies = _random_bodies(rng, 40)
    joints, frames = km.forward_kinematics(angles, bodies)
    for i in range(40):
        want_joints, want_frames = _brute_force(angles[i], bodies[i])
        np.testing.assert_allclose(joints[i], want_joints, atol=1e-12)
        np.testing.assert_allclose(frames[i], want_frames, atol=1e-12)


def test_forward_kinematics_keeps_bone_lengths():
    rng = np.random.default_rng(1)
    bodies = _random_bodies(rng, N)
    joints, frames = km.forward_kinematics(_random_angles(rng, (T, N)), bodies)
    assert joints.shape == (T, N, len(km.JOINT_NAMES), 3)
    assert frames.shape == (T, N, len(km.FRAME_NAMES), 3, 3)
    measured = km.segment_lengths(joints)
    np.testing.assert_allclose(
        measured,
        np.broadcast_to(km.bone_lengths(bodies), measured.shape),
        rtol=1e-12)
    # limb segments are the Body lengths themselves
    bones = {child: i for i, (_, child) in enumerate(km.BONES)}
    b = dict(zip(km.BODY_FIELDS, bodies.T))
    for child, field in (('left_elbow', 'upper_arm'),
                         ('right_wrist', 'forearm'), ('left_knee', 'thigh'),
                         ('right_ankle', 'shin'), ('neck', 'torso')):
        np.testing.assert_allclose(measured[..., bones[child]],
                                   np.broadcast_to(b[field], (T, N)))
    # frames are rotations
    eye = np.broadcast_to(np.eye(3), frames.shape)
    np.testing.assert_allclose(
        frames @ np.swapaxes(frames, -1, -2), eye, atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(frames), 1.0)


def test_vectorised_equals_per_item_calls():
    rng = np.random.default_rng(2)
    angles = _random_angles(rng, (T, N))
    bodies = _random_bodies(rng, N)
    joints, frames = km.forward_kinematics(angles, bodies)
    for t in range(T):
        for n in range(N):
            pose = km.angles_to_pose(angles[t, n])
            body = km.array_to_body(bodies[n])
            one_j, one_f = km.skeleton(pose, body)
            assert list(one_j) == list(km.JOINT_NAMES)
            np.testing.assert_allclose(
                joints[t, n], np.stack(list(one_j.values())), atol=1e-13)
            np.testing.assert_allclose(
                frames[t, n], np.stack(list(one_f.values())), atol=1e-13)
    # one Body for everybody broadcasts like a (B, ) vector
    same, _ = km.forward_kinematics(angles, km.Body())
    alike, _ = km.forward_kinematics(angles, km.body_to_array(km.Body()))
    np.testing.assert_array_equal(same, alike)


def test_rest_pose_is_symmetric_and_upright():
    joints, _ = km.skeleton(km.Pose(), km.Body())
    for name in km.JOINT_NAMES:
        if name.startswith('left_'):
            left, right = joints[name], joints['right_' + name[5:]]
            assert left[0] > 0
            np.testing.assert_allclose(left * [-1, 1, 1], right, atol=1e-15)
    ys = {name: p[1] for name, p in joints.items()}
    assert max(ys, key=ys.get) == 'head_top'
    assert ys['left_toe'] < ys['left_ankle'] < ys['left_knee'] < 0
    assert joints['nose'][2] > joints['head_centre'][2]  # faces +z
    height = ys['head_top'] - ys['left_ankle']
    assert 0.95 < height < 1.0  # about one unit from soles to the top


def test_angles_pose_and_body_conversions():
    rng = np.random.default_rng(3)
    angles = _random_angles(rng, ())
    np.testing.assert_array_equal(
        km.pose_to_angles(km.angles_to_pose(angles)), angles)
    pose = km.angles_to_pose(angles)
    assert pose.shoulder_abd == (
        angles[km.ANGLE_NAMES.index('left_shoulder_abd')],
        angles[km.ANGLE_NAMES.index('right_shoulder_abd')])
    assert len(km.ANGLE_NAMES) == 23 and len(km.BODY_FIELDS) == 18
    for name, (low, high) in zip(km.ANGLE_NAMES, km.ANGLE_LIMITS):
        field = name.split('_', 1)[1] if name.startswith(
            ('left_', 'right_')) else name
        assert (low, high) == km.POSE_LIMITS[field]
    wild = np.full((2, len(km.ANGLE_NAMES)), 1e3)
    np.testing.assert_array_equal(
        km.clip_angles(wild), np.broadcast_to(km.ANGLE_LIMITS[:, 1], (2, 23)))
    body = km.Body(torso=0.3)
    assert km.array_to_body(km.body_to_array(body)) == body
    with pytest.raises(ValueError):
        km.forward_kinematics(np.zeros((3, 22)), body)
    with pytest.raises(ValueError):
        km.body_to_array(np.zeros(5))


def test_rotations_match_scipy():
    deg = np.random.default_rng(4).uniform(-180, 180, (3, 2))
    for fn, axis in ((km.rotation_x, 'x'), (km.rotation_y, 'y'),
                     (km.rotation_z, 'z')):
        want = Rotation.from_euler(axis, deg.reshape(-1, 1), degrees=True)
        np.testing.assert_allclose(
            fn(deg), want.as_matrix().reshape(3, 2, 3, 3), atol=1e-15)


def _metainfo_names(name):
    """Names and flip indices parsed by MMPose from its own config file."""
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    with warnings.catch_warnings():  # the file is found in mmpose's .mim
        warnings.simplefilter('ignore', UserWarning)
        meta = parse_pose_metainfo(
            dict(from_file=f'configs/_base_/datasets/{name}.py'))
    names = [meta['keypoint_id2name'][i] for i in range(meta['num_keypoints'])]
    return names, meta['flip_indices']


def _swap(name):
    for a, b in (('left_', 'right_'), ('right_', 'left_')):
        if name.startswith(a):
            return b + name[len(a):]
    return name


@pytest.mark.parametrize('joint_set', ['coco17', 'h36m17'])
def test_joint_sets_follow_the_metainfo(joint_set):
    names, flip = _metainfo_names(joint_set[:-2])
    assert km.joint_set_names(joint_set) == names
    idx = km.joint_set_indices(joint_set)
    model = [km.JOINT_NAMES[i] for i in idx]
    if joint_set == 'coco17':
        assert model == names  # COCO names are model joints
    else:
        assert model == [km.H36M_JOINTS[n] for n in names]
        for n, m in zip(names, model):  # sides are kept
            assert n.split('_')[0] == m.split('_')[0] or not n.startswith(
                ('left_', 'right_'))
    # mirror pairs of the metainfo are mirror joints of the model
    assert [_swap(m) for m in model] == [model[j] for j in flip]
    joints, _ = km.forward_kinematics(
        _random_angles(np.random.default_rng(5), (T, N)), km.Body())
    picked = km.select_joints(joints, joint_set)
    assert picked.shape == (T, N, 17, 3)
    np.testing.assert_array_equal(picked, joints[..., idx, :])


def test_h36m_joints_sit_where_h36m_puts_them():
    joints, _ = km.skeleton(km.Pose(), km.Body())
    names = km.joint_set_names('h36m17')
    picked = dict(
        zip(names, km.select_joints(np.stack(list(joints.values())),
                                    'h36m17')))
    np.testing.assert_array_equal(picked['root'], 0.0)
    heights = {n: p[1] for n, p in picked.items()}
    assert max(heights, key=heights.get) == 'head'
    assert (heights['root'] < heights['spine'] < heights['thorax'] <
            heights['neck_base'] < heights['head'])
    assert abs(picked['thorax'][0]) < 1e-12  # between the shoulders
    assert heights['left_foot'] == min(heights.values())


def test_body_to_world():
    joints, _ = km.forward_kinematics(km.pose_to_angles(km.Pose()), km.Body())
    idx = {n: i for i, n in enumerate(km.JOINT_NAMES)}
    world = km.body_to_world(joints, (1.0, 2.0, 0.9), 0.0, 1.75)
    np.testing.assert_allclose(world[idx['pelvis']], [1.0, 2.0, 0.9])
    # z up, facing +y, left towards -x, lengths scaled by the height
    assert world[idx['head_top'], 2] > world[idx['pelvis'], 2]
    assert world[idx['nose'], 1] > world[idx['head_centre'], 1]
    assert world[idx['left_hip'], 0] < 1.0 < world[idx['right_hip'], 0]
    np.testing.assert_allclose(
        km.segment_lengths(world), 1.75 * km.segment_lengths(joints))
    # heading 90 turns the person to face -x; vectorised over (T, )
    turned = km.body_to_world(
        np.stack([joints, joints]), np.zeros((2, 3)), np.array([0.0, 90.0]))
    forward = turned[:, idx['nose']] - turned[:, idx['head_centre']]
    assert forward[0, 1] > 0 and forward[1, 0] < 0
    np.testing.assert_allclose(
        forward[1, :2], [-forward[0, 1], forward[0, 0]], atol=1e-15)
