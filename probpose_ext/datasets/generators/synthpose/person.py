"""A posed person of SynthPose: 3D joints from the body model, the weak
perspective view of the generator, facing tests, and the 2D primitives
(convex polygons and a head description) drawn in painter's order."""
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import cv2
import numpy as np

from ..kinematics import (BODY_JOINTS, SIDES, Body, Pose, face_offsets,
                          rotation_x, rotation_y, rotation_z, skeleton,
                          unit_vector)
from .geometry import capsule, ellipse_ring
from .params import (PART_FOREARM, PART_HEAD, PART_NECK, PART_SHIN, PART_THIGH,
                     PART_TORSO, PART_UPPER_ARM, Look, SynthPoseParams, View)
from .sampling import sample_body, sample_look, sample_pose, sample_view

__all__ = ['Person', 'build_person', 'sample_person']


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


def build_person(pose: Pose, body: Body, view: View, height: float,
                 look: Look) -> Person:
    """Pose, project (weak perspective) and tessellate a person.

    The person is built around the origin (the pelvis projects to (0, 0));
    use :meth:`Person.translate` to place it.

    Args:
        pose (Pose): Joint angles.
        body (Body): Proportions.
        view (View): Viewpoint.
        height (float): Standing height in pixels.
        look (Look): Appearance.

    Returns:
        Person: The person.
    """
    joints3d, frames = skeleton(pose, body)
    cam = rotation_z(view.roll) @ rotation_x(view.pitch) @ rotation_y(view.yaw)

    def to_cam(p: np.ndarray) -> np.ndarray:
        q = cam @ p
        return np.array([q[0] * height, -q[1] * height, q[2] * height])

    def normal_z(n: np.ndarray) -> float:
        return float((cam @ n)[2])

    cam_pts = {k: to_cam(joints3d[k]) for k in BODY_JOINTS}
    rot_head = frames['head']
    head_c = joints3d['head_centre']
    # face landmarks: position and how much their outward normal faces us
    face_cam = {
        k: (to_cam(joints3d[k]), normal_z(rot_head @ unit_vector(off)))
        for k, off in face_offsets(body).items()
    }

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
                ok = normal_z(frame @ np.array([sgn, 0.0, 0.0])) > \
                    _FACING_THRESHOLDS[kind]
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
    if normal_z(frames['up'] @ np.array([0.0, 0.0, 1.0])) > 0.3:
        # neckline: a front/back cue on the shirt
        base = c2('neck')
        low = to_cam(joints3d['neck'] +
                     frames['up'] @ np.array([0.0, -0.035, 0.0]))[:2]
        shapes.append(
            Shape(PART_TORSO, 'skin', torso_depth + 1e-3,
                  capsule(base, low, 0.024 * h, 0.014 * h)))
    neck_top = to_cam(head_c -
                      rot_head @ np.array([0.0, 0.6 * body.head_radius, 0.0]))
    shapes.append(
        Shape(
            PART_NECK, 'skin', 0.5 * (cam_pts['neck'][2] + neck_top[2]),
            capsule(
                c2('neck'), neck_top[:2], body.neck_radius * h,
                body.neck_radius * h)))
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
            Shape(part, region, mean_z(a, b),
                  capsule(c2(a), c2(b), r1 * h, r2 * h)))
    head_cam = to_cam(head_c)
    shapes.append(Shape(PART_HEAD, 'head', head_cam[2] + 0.02 * h, None))
    shapes.sort(key=lambda s: s.depth)

    # head description
    up3 = cam @ rot_head @ np.array([0.0, 1.0, 0.0])
    up2 = np.array([up3[0], -up3[1]])
    up_norm = float(np.linalg.norm(up2))
    up2 = up2 / up_norm if up_norm > 1e-3 else np.array([0.0, -1.0])
    radius = body.head_radius * h
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
        hair_dir=cam @ rot_head @ unit_vector([0.0, 0.55, -0.85]),
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
