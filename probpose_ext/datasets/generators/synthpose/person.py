"""A posed person of SynthPose: 3D joints from the body model, the weak
perspective view of the generator (or the perspective view of a pinhole
camera, :class:`Placement`), facing tests, and the 2D primitives (convex
polygons and a head description) drawn in painter's order."""
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from ..camera import PinholeCamera
from ..kinematics import (BODY_JOINTS, SIDES, Body, Pose, body_to_world,
                          face_offsets, rotation_x, rotation_y, rotation_z,
                          skeleton, unit_vector)
from .geometry import capsule, ellipse_ring
from .params import (PART_FOREARM, PART_HEAD, PART_NECK, PART_SHIN, PART_THIGH,
                     PART_TORSO, PART_UPPER_ARM, Look, SynthPoseParams, View)
from .sampling import sample_body, sample_look, sample_pose, sample_view

__all__ = ['Person', 'Placement', 'build_person', 'sample_person']


@dataclass
class Shape:
    """A convex polygon of one body part (local coordinates), or the head
    (``pts is None``)."""
    part: int
    region: str
    depth: float
    pts: Optional[np.ndarray]


@dataclass
class Head:
    """2D description of a head (local coordinates).

    ``up`` is the unit image direction of the head's up axis, ``hair_dir``
    the 3D direction (camera frame: x right, y up, z towards the camera)
    around which the hair grows.
    """
    centre: np.ndarray
    radius: float
    elong: float
    up: np.ndarray
    hair_dir: np.ndarray
    ears_back: List[np.ndarray]
    ears_front: List[np.ndarray]
    ear_radius: float
    eyes: List[np.ndarray]
    nose: Optional[np.ndarray]
    mouth: Optional[Tuple[np.ndarray, np.ndarray]]
    hair_threshold: float = -0.1


@dataclass
class Person:
    """A posed, projected person ready to be drawn.

    Attributes:
        joint_names (tuple[str]): Names of the rows of ``joints``.
        joints (np.ndarray): Local 2D joint positions, shape (J, 2).
        depth (np.ndarray): Joint depths (larger is nearer), shape (J, ).
        facing (np.ndarray): Whether the joint faces the camera (not hidden
            by the body's own volume), shape (J, ).
        shapes (list): Drawing primitives in painter's order.
        head (Head): The head.
        look (Look): Appearance.
        height (float): Standing height in pixels.
        offset (np.ndarray): Translation from local to image coordinates.
    """
    joint_names: Tuple[str, ...]
    joints: np.ndarray
    depth: np.ndarray
    facing: np.ndarray
    shapes: List[Shape]
    head: Head
    look: Look
    height: float
    local_extent: np.ndarray
    offset: np.ndarray = field(default_factory=lambda: np.zeros(2))

    def joint(self, name: str) -> np.ndarray:
        """Image position of the joint ``name``, shape (2, )."""
        return self.joints[self.joint_names.index(name)] + self.offset

    def keypoints(self) -> np.ndarray:
        """Image positions of all joints, shape (J, 2)."""
        return self.joints + self.offset

    def extent(self) -> np.ndarray:
        """Image box ``[x0, y0, x1, y1]`` of everything drawn."""
        return self.local_extent + np.tile(self.offset, 2)

    def translate(self, dx: float, dy: float) -> 'Person':
        """Move the person in the image (in place); returns self."""
        self.offset = self.offset + np.array([dx, dy], dtype=np.float64)
        return self


# Minimum z of the camera-frame outward normal for a point to face the camera.
_FACING_THRESHOLDS = {
    'nose': -0.2,
    'eye': 0.15,
    'ear': -0.6,
    'shoulder': -0.75,
    'hip': -0.75,
    'mouth': 0.2
}


@dataclass
class Placement:
    """Where a real pinhole camera sees the body: the arguments of
    :func:`~probpose_ext.datasets.generators.kinematics.body_to_world` and
    the camera.

    Args:
        camera (PinholeCamera): The camera (its image is the person's
            image).
        translation (Sequence[float] | np.ndarray): World position of the
            pelvis (metres, z-up), shape (3, ).
        heading (float): Heading in degrees (see ``body_to_world``).
        height_m (float): Standing height in metres (the world length of
            one body unit).
    """
    camera: PinholeCamera
    translation: Union[Sequence[float], np.ndarray]
    heading: float = 0.0
    height_m: float = 1.75


# the person's camera frame (x right, y up, z towards the camera) from
# OpenCV's (x right, y down, z forward)
_FLIP = np.diag([1.0, -1.0, -1.0])
# nearest camera depth (metres) a point of a placed person may have
_MIN_DEPTH = 1e-3


def _rotation_to_z(a: np.ndarray) -> np.ndarray:
    """The smallest rotation that turns the unit vector ``a`` (with
    ``a[2] > -1``) into +z, shape (3, 3) (Rodrigues' formula)."""
    v = np.array([a[1], -a[0], 0.0])  # a x z
    c = float(a[2])
    vx = np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])
    return np.eye(3) + vx + vx @ vx / (1.0 + c)


class _Perspective:
    """The perspective view of a :class:`Placement` in the conventions of
    :func:`build_person`.

    Args:
        placement (Placement): Camera and body placement.
        pelvis (np.ndarray): Body-frame pelvis, shape (3, ).
    """

    def __init__(self, placement: Placement, pelvis: np.ndarray) -> None:
        self.camera = placement.camera
        self.translation = np.asarray(
            placement.translation, dtype=np.float64).reshape(3)
        self.heading = float(placement.heading)
        self.height_m = float(placement.height_m)
        if not (self.height_m > 0 and np.isfinite(self.height_m)):
            raise ValueError('placement.height_m must be positive, got '
                             f'{placement.height_m!r}')
        # body direction -> OpenCV camera direction
        rot_bw = body_to_world(np.eye(3), np.zeros(3), self.heading, 1.0).T
        self.rot_bc = self.camera.R.T @ rot_bw
        self.focal = float(self.camera.f.mean())
        self.pelvis_z = float(self.camera_point(pelvis)[2])
        #: standing height in pixels at the pelvis' depth
        self.height = self.focal * self.height_m / self.pelvis_z

    def camera_point(self, p: np.ndarray) -> np.ndarray:
        """Camera (OpenCV) coordinates of a body-frame point, shape (3, )."""
        world = body_to_world(
            np.asarray(p, dtype=np.float64)[None], self.translation,
            self.heading, self.height_m)[0]
        x = self.camera.world_to_camera(world)
        if not x[2] > _MIN_DEPTH:
            raise ValueError('every point of a placed person must be in '
                             f'front of the camera (z > {_MIN_DEPTH} m), got '
                             f'z = {x[2]:.4g} m')
        return x

    def to_cam(self, p: np.ndarray) -> np.ndarray:
        """Pixel (u, v) and depth (pixels, larger is nearer, 0 at the
        pelvis) of a body-frame point, shape (3, )."""
        x = self.camera_point(p)
        u, v = self.camera.camera_to_pixel(x)
        return np.array(
            [u, v, (self.pelvis_z - x[2]) * self.focal / self.pelvis_z])

    def normal_z(self, n: np.ndarray, at: np.ndarray) -> float:
        """Cosine between a body-frame direction ``n`` at the body-frame
        point ``at`` and the ray from ``at`` to the camera."""
        x = self.camera_point(at)
        return float((self.rot_bc @ n) @ (-x / np.linalg.norm(x)))

    def scale(self, p: np.ndarray) -> float:
        """Pixels per body unit at the depth of a body-frame point."""
        return self.focal * self.height_m / float(self.camera_point(p)[2])

    def view_rotation(self, at: np.ndarray) -> np.ndarray:
        """Rotation from the body frame to the weak-perspective frame of
        the ray through ``at`` (x right, y up, z from ``at`` towards the
        camera), shape (3, 3)."""
        towards = _FLIP @ -unit_vector(self.camera_point(at))
        return _rotation_to_z(towards) @ _FLIP @ self.rot_bc


def build_person(pose: Pose,
                 body: Body,
                 view: Optional[View],
                 height: Optional[float],
                 look: Look,
                 placement: Optional[Placement] = None) -> Person:
    """Pose, project and tessellate a person.

    Without ``placement`` the person is projected with weak perspective
    (``view``, ``height``) around the origin (the pelvis projects to
    (0, 0)); use :meth:`Person.translate` to place it.

    With ``placement`` (``view`` and ``height`` must be None) every
    body-frame point p is projected exactly as the camera sees the placed
    body: ``camera.camera_to_pixel(camera.world_to_camera(body_to_world(p,
    translation, heading, height_m)))``, so :meth:`Person.keypoints` are
    image pixels (``offset`` is 0). Depths are ``(z_pelvis - z) * f /
    z_pelvis`` in pixels (z: camera depth, f: mean focal length; larger is
    nearer, 0 at the pelvis); ``height`` becomes ``f * height_m /
    z_pelvis``; limb, neck and head radii use the scale ``f * height_m /
    z`` at their own depth. Facing tests compare a normal with the ray
    from its point to the camera, and the head is shaded in the
    weak-perspective frame of the ray through its centre. Far from the
    camera this converges to the weak-perspective person.

    Args:
        pose (Pose): Joint angles.
        body (Body): Proportions.
        view (View, optional): Viewpoint (weak perspective).
        height (float, optional): Standing height in pixels (weak
            perspective).
        look (Look): Appearance.
        placement (Placement, optional): Camera and world placement of the
            body (perspective).

    Returns:
        Person: The person.
    """
    joints3d, frames = skeleton(pose, body)
    to_cam: Callable[[np.ndarray], np.ndarray]
    if placement is None:
        if view is None or height is None:
            raise ValueError('view and height are required without a '
                             'placement')
        cam = rotation_z(view.roll) @ rotation_x(view.pitch) @ rotation_y(
            view.yaw)

        def to_cam(p: np.ndarray) -> np.ndarray:
            q = cam @ p
            return np.array([q[0] * height, -q[1] * height, q[2] * height])

        def normal_z(n: np.ndarray, at: np.ndarray) -> float:
            return float((cam @ n)[2])

        def scale_at(p: np.ndarray) -> float:
            return height

        head_view = cam
    else:
        if view is not None or height is not None:
            raise ValueError('view and height must be None with a placement '
                             '(the camera sets them)')
        persp = _Perspective(placement, joints3d['pelvis'])
        height = persp.height
        to_cam, normal_z, scale_at = persp.to_cam, persp.normal_z, persp.scale
        head_view = persp.view_rotation(joints3d['head_centre'])

    cam_pts = {k: to_cam(joints3d[k]) for k in BODY_JOINTS}
    rot_head = frames['head']
    head_c = joints3d['head_centre']
    # face landmarks: position and how much their outward normal faces us
    face_cam = {}
    for k, off in face_offsets(body).items():
        face_cam[k] = (to_cam(joints3d[k]),
                       normal_z(rot_head @ unit_vector(off), joints3d[k]))

    names, xy, depth, facing = [], [], [], []
    for name, p in cam_pts.items():
        if name.endswith(('_hand', '_toe')):
            continue
        names.append(name)
        xy.append(p[:2])
        depth.append(p[2])
        ok = True
        for side, sgn in SIDES:
            if name in (f'{side}_shoulder', f'{side}_hip'):
                frame = frames['up'] if 'shoulder' in name else frames['low']
                kind = name.split('_')[1]
                ok = normal_z(frame @ np.array([sgn, 0.0, 0.0]),
                              joints3d[name]) > _FACING_THRESHOLDS[kind]
        facing.append(ok)
    for name, (p, nz) in face_cam.items():
        if name == 'mouth':
            continue
        names.append(name)
        xy.append(p[:2])
        depth.append(p[2])
        facing.append(nz > _FACING_THRESHOLDS[name.split('_')[-1]])

    def c2(name: str) -> np.ndarray:
        return cam_pts[name][:2]

    def mean_z(*keys: str) -> float:
        return float(np.mean([cam_pts[k][2] for k in keys]))

    regions = dict(
        sleeve='shirt' if look.long_sleeves else 'skin',
        leg='pants' if look.long_pants else 'skin')
    shapes: List[Shape] = []
    h = height
    # torso: convex hull of the projections of three elliptic sections
    sections = [
        ellipse_ring(
            joints3d['neck'] + frames['up'] @ np.array([0.0, -0.06, 0.0]),
            frames['up'], body.shoulder_half + 0.3 * body.arm_radius,
            body.chest_depth),
        ellipse_ring(joints3d['spine'], frames['mid'],
                     0.8 * body.shoulder_half, 0.85 * body.chest_depth),
        ellipse_ring(frames['low'] @ np.array([0.0, -0.02, 0.0]),
                     frames['low'], body.hip_half + 0.6 * body.thigh_radius,
                     body.hip_depth),
        np.stack([
            joints3d[f'{s}_shoulder'] +
            frames['up'] @ np.array([0.0, 0.4 * body.arm_radius, 0.0])
            for s, _ in SIDES
        ] + [
            joints3d['neck'] + frames['up'] @ np.array([sg * 0.04, 0.0, 0.0])
            for _, sg in SIDES
        ])
    ]
    hull3d = np.concatenate(sections)
    hull2d = np.stack([to_cam(p)[:2] for p in hull3d]).astype(np.float32)
    torso_depth = mean_z('neck', 'pelvis') - 0.035 * h
    shapes.append(
        Shape(PART_TORSO, 'shirt', torso_depth,
              cv2.convexHull(hull2d).reshape(-1, 2)))
    if normal_z(frames['up'] @ np.array([0.0, 0.0, 1.0]),
                joints3d['neck']) > 0.3:
        # neckline: a front/back cue on the shirt
        base = c2('neck')
        low3 = joints3d['neck'] + frames['up'] @ np.array([0.0, -0.035, 0.0])
        low = to_cam(low3)[:2]
        shapes.append(
            Shape(
                PART_TORSO, 'skin', torso_depth + 1e-3,
                capsule(base, low, 0.024 * scale_at(joints3d['neck']),
                        0.014 * scale_at(low3))))
    neck_top3 = head_c - rot_head @ np.array(
        [0.0, 0.6 * body.head_radius, 0.0])
    neck_top = to_cam(neck_top3)
    shapes.append(
        Shape(
            PART_NECK, 'skin', 0.5 * (cam_pts['neck'][2] + neck_top[2]),
            capsule(
                c2('neck'), neck_top[:2],
                body.neck_radius * scale_at(joints3d['neck']),
                body.neck_radius * scale_at(neck_top3))))
    limb_specs = []
    for side, _ in SIDES:
        limb_specs += [
            (PART_UPPER_ARM[side], 'shirt', f'{side}_shoulder',
             f'{side}_elbow', body.arm_radius, 0.9 * body.arm_radius),
            (PART_FOREARM[side], regions['sleeve'], f'{side}_elbow',
             f'{side}_wrist', body.forearm_radius, 0.8 * body.forearm_radius),
            (PART_FOREARM[side], 'skin', f'{side}_wrist', f'{side}_hand',
             0.85 * body.forearm_radius, 0.95 * body.forearm_radius),
            (PART_THIGH[side], 'pants', f'{side}_hip', f'{side}_knee',
             body.thigh_radius, 0.75 * body.thigh_radius),
            (PART_SHIN[side], regions['leg'], f'{side}_knee', f'{side}_ankle',
             body.shin_radius, 0.75 * body.shin_radius),
            (PART_SHIN[side], 'shoes', f'{side}_ankle', f'{side}_toe',
             0.7 * body.shin_radius, 0.75 * body.shin_radius),
        ]
    for part, region, a, b, r1, r2 in limb_specs:
        shapes.append(
            Shape(
                part, region, mean_z(a, b),
                capsule(
                    c2(a), c2(b), r1 * scale_at(joints3d[a]),
                    r2 * scale_at(joints3d[b]))))
    head_cam = to_cam(head_c)
    shapes.append(Shape(PART_HEAD, 'head', head_cam[2] + 0.02 * h, None))
    shapes.sort(key=lambda s: s.depth)

    # head description
    up3 = head_view @ rot_head @ np.array([0.0, 1.0, 0.0])
    up2 = np.array([up3[0], -up3[1]])
    up_norm = float(np.linalg.norm(up2))
    up2 = up2 / up_norm if up_norm > 1e-3 else np.array([0.0, -1.0])
    radius = body.head_radius * scale_at(head_c)
    ears_back, ears_front = [], []
    for side, _ in SIDES:
        p, nz = face_cam[f'{side}_ear']
        if nz > 0.3:
            ears_front.append(p[:2])
        elif nz > _FACING_THRESHOLDS['ear']:
            ears_back.append(p[:2])
    eyes = [
        face_cam[f'{s}_eye'][0][:2] for s, _ in SIDES
        if face_cam[f'{s}_eye'][1] > _FACING_THRESHOLDS['eye']
    ]
    nose = (
        face_cam['nose'][0][:2]
        if face_cam['nose'][1] > _FACING_THRESHOLDS['nose'] else None)
    mouth = None
    if face_cam['mouth'][1] > _FACING_THRESHOLDS['mouth']:
        m = face_cam['mouth'][0][:2]
        perp = np.array([-up2[1], up2[0]]) * 0.28 * radius * abs(
            face_cam['mouth'][1])
        mouth = (m - perp, m + perp)
    head = Head(
        centre=head_cam[:2],
        radius=radius,
        elong=1.0 + 0.12 * min(up_norm, 1.0),
        up=up2,
        hair_dir=head_view @ rot_head @ unit_vector([0.0, 0.55, -0.85]),
        ears_back=ears_back,
        ears_front=ears_front,
        ear_radius=0.22 * radius,
        eyes=eyes,
        nose=nose,
        mouth=mouth,
        hair_threshold=look.hair_threshold)

    pts = np.concatenate(
        [s.pts for s in shapes if s.pts is not None] +
        [head.centre[None] + 1.2 * radius * np.array([[-1, -1], [1, 1]])])
    extent = np.concatenate([pts.min(0), pts.max(0)]).astype(np.float64)
    return Person(
        joint_names=tuple(names),
        joints=np.asarray(xy, dtype=np.float64),
        depth=np.asarray(depth, dtype=np.float64),
        facing=np.asarray(facing, dtype=bool),
        shapes=shapes,
        head=head,
        look=look,
        height=float(height),
        local_extent=extent)


def sample_person(rng: np.random.Generator,
                  height: float,
                  params: Optional[SynthPoseParams] = None) -> Person:
    """Random person (pose, body, view, look) of a standing ``height``
    (pixels), centred at the origin."""
    params = params or SynthPoseParams()
    pose = sample_pose(rng, params)
    body = sample_body(rng, params)
    view = sample_view(rng, params)
    look = sample_look(rng)
    return build_person(pose, body, view, height, look)
