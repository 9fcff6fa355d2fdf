"""Tests of the pinhole cameras (``probpose_ext.datasets.generators.camera``)
against MMPose's ``SimpleCamera`` built from the same ``cameras.pkl``
fields."""
import pickle

import numpy as np
import pytest
from mmpose.utils.camera import SimpleCamera
from scipy.spatial.transform import Rotation

from probpose_ext.datasets.generators import kinematics as km
from probpose_ext.datasets.generators.camera import (H36M_CAMERA_IDS,
                                                     PinholeCamera,
                                                     h36m_like_rig, look_at)


def _random_camera(rng, distortion: bool) -> PinholeCamera:
    return PinholeCamera(
        R=Rotation.random(random_state=int(rng.integers(1 << 30))).as_matrix(),
        T=rng.normal(0, 3, 3),
        f=rng.uniform(800, 1500, 2),
        c=rng.uniform(400, 600, 2),
        w=1000,
        h=1002,
        k=rng.normal(0, 0.1, 3) if distortion else np.zeros(3),
        p=rng.normal(0, 0.005, 2) if distortion else np.zeros(2),
        name='camera1',
        id='54138969')


def _points_in_front(rng, cam: PinholeCamera, shape) -> np.ndarray:
    """World points with camera depth in [2, 6] and |x/z|, |y/z| < 0.5."""
    z = rng.uniform(2, 6, shape)
    xy = rng.uniform(-0.5, 0.5, shape + (2, )) * z[..., None]
    return cam.camera_to_world(np.concatenate([xy, z[..., None]], -1))


@pytest.mark.parametrize('distortion', [False, True])
def test_projection_matches_mmpose_simple_camera(distortion):
    rng = np.random.default_rng(0)
    for _ in range(5):
        cam = _random_camera(rng, distortion)
        mm = SimpleCamera(cam.to_dict())  # float32 inside
        points = _points_in_front(rng, cam, (4, 3, 17))  # (T, N, J)
        np.testing.assert_allclose(
            cam.world_to_camera(points),
            mm.world_to_camera(points),
            rtol=1e-5,
            atol=1e-5)
        np.testing.assert_allclose(
            cam.world_to_pixel(points),
            mm.world_to_pixel(points),
            rtol=1e-5,
            atol=1e-3)
        cam_pts = cam.world_to_camera(points)
        np.testing.assert_allclose(
            cam.camera_to_world(cam_pts),
            mm.camera_to_world(cam_pts),
            rtol=1e-5,
            atol=1e-5)
        flat = cam_pts.reshape(-1, 3)
        if not distortion:
            np.testing.assert_allclose(
                cam.pixel_to_camera(cam.camera_to_pixel(flat), flat[:, 2]),
                mm.pixel_to_camera(
                    np.concatenate([mm.camera_to_pixel(flat), flat[:, 2:]],
                                   1)),
                rtol=1e-4,
                atol=1e-4)


def test_round_trips():
    rng = np.random.default_rng(1)
    cam = _random_camera(rng, distortion=False)
    points = rng.normal(0, 2, (6, 2, 27, 3))
    np.testing.assert_allclose(
        cam.camera_to_world(cam.world_to_camera(points)), points, atol=1e-12)
    front = _points_in_front(rng, cam, (50, ))
    cam_pts = cam.world_to_camera(front)
    np.testing.assert_allclose(
        cam.pixel_to_camera(cam.world_to_pixel(front), cam_pts[:, 2]),
        cam_pts,
        atol=1e-10)
    # X_cam = R^T (X - T): the camera centre is the camera-frame origin
    np.testing.assert_allclose(cam.world_to_camera(cam.T[:, 0]), 0, atol=1e-12)
    # pixels = K X_cam / z without distortion
    homog = cam_pts @ cam.intrinsic_matrix.T
    np.testing.assert_allclose(
        cam.camera_to_pixel(cam_pts), homog[:, :2] / homog[:, 2:], rtol=1e-12)


def test_cameras_pkl_fields():
    cam = _random_camera(np.random.default_rng(2), distortion=True)
    param = cam.to_dict()
    shapes = {
        k: np.shape(v)
        for k, v in param.items() if isinstance(v, np.ndarray)
    }
    assert shapes == dict(
        R=(3, 3), T=(3, 1), c=(2, 1), f=(2, 1), k=(3, 1), p=(2, 1))
    assert (param['w'], param['h'], param['name'], param['id']) == \
        (1000, 1002, 'camera1', '54138969')
    # a cameras.pkl-like dict survives pickling and loads back
    table = pickle.loads(pickle.dumps({('S1', cam.id): param}))
    again = PinholeCamera.from_dict(table[('S1', cam.id)])
    for key, value in again.to_dict().items():
        np.testing.assert_array_equal(value, param[key])
    # missing distortion means none
    plain = PinholeCamera.from_dict(
        {k: param[k]
         for k in ('R', 'T', 'f', 'c', 'w', 'h')})
    assert not plain.k.any() and not plain.p.any()
    with pytest.raises(ValueError):
        PinholeCamera(
            R=np.diag([1.0, 1.0, -1.0]),
            T=np.zeros(3),
            f=(1.0, 1.0),
            c=(0.0, 0.0),
            w=10,
            h=10)


def test_look_at():
    position, target = np.array([4.0, -3.0, 1.5]), np.array([0.0, 0.0, 1.0])
    R = look_at(position, target)
    np.testing.assert_allclose(R.T @ R, np.eye(3), atol=1e-12)
    assert np.isclose(np.linalg.det(R), 1.0)
    cam = PinholeCamera(
        R=R, T=position, f=(1000, 1000), c=(500, 500), w=1000, h=1000)
    on_axis = cam.world_to_camera(target)
    np.testing.assert_allclose(on_axis[:2], 0, atol=1e-12)
    np.testing.assert_allclose(on_axis[2], np.linalg.norm(target - position))
    # higher in the world is higher (smaller v) in the image
    low, high = cam.world_to_pixel(np.array([target, target + [0, 0, 0.5]]))
    assert high[1] < low[1]
    with pytest.raises(ValueError):
        look_at((0, 0, 5), (0, 0, 0))


def test_h36m_like_rig_sees_a_standing_person():
    rig = h36m_like_rig()
    assert [(c.id, (c.w, c.h)) for c in rig] == list(H36M_CAMERA_IDS)
    assert [c.name for c in rig] == [f'camera{i}' for i in range(1, 5)]
    joints, _ = km.forward_kinematics(km.pose_to_angles(km.Pose()), km.Body())
    # pelvis at 0.95 m puts the soles near the floor for a 1.75 m person
    world = km.body_to_world(joints, (0.0, 0.0, 0.95), 30.0, 1.75)
    for cam in rig:
        assert 4.5 < np.linalg.norm(cam.T[:2, 0]) < 6.0
        np.testing.assert_allclose(
            cam.world_to_pixel(np.array([0.0, 0.0, 0.9])),
            cam.c[:, 0],
            atol=1e-9)
        pixels = cam.world_to_pixel(world)
        assert cam.in_image(pixels).all()
        assert (cam.world_to_camera(world)[:, 2] > 0).all()
        np.testing.assert_allclose(
            pixels,
            SimpleCamera(cam.to_dict()).world_to_pixel(world),
            atol=1e-3)
