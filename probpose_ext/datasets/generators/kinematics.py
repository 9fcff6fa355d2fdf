"""The 3D human body model of the embedded data generators.

A kinematic skeleton with anatomical joint angles (:class:`Pose`), per
subject proportions (:class:`Body`), joint limits (:data:`POSE_LIMITS`),
forward kinematics vectorised over any leading axes such as (time, people)
(:func:`forward_kinematics`), and selectors of the COCO-17 and Human3.6M-17
joint sets whose names and order come from MMPose's dataset metainfo
(:func:`select_joints`). SynthPose poses it one person at a time
(:func:`skeleton`); sequence generators pose (T, N) arrays at once.

Conventions:

* Body frame: x points to the person's left, y up, z forward (out of the
  chest); the origin is the pelvis. Lengths are in units of the standing
  height (about 1.0 from the soles to the top of the head).
* Angles are in degrees. Positive flexion moves a shoulder / hip forward
  and bends an elbow forward / a knee backward; positive abduction moves a
  limb away from the mid-line; ``torso_lean`` > 0 leans forward,
  ``head_pitch`` > 0 looks down, ``head_yaw`` > 0 turns the head to the
  person's left.
* Rotations compose as matrices applied to column vectors: the upper torso
  is ``Rx(pelvis_tilt) Rz(bend) Rx(lean) Ry(twist)``, the middle torso the
  same with half the bend, lean and twist, the head ``R_up Ry(yaw)
  Rx(pitch) Rz(roll)``, an upper arm ``R_up Rz(s abd) Rx(-flex) Ry(s rot)``
  (s = +1 left, -1 right), a forearm ``R_ua Rx(-elbow_flex)``, a thigh
  ``Rx(pelvis_tilt) Rz(s abd) Rx(-flex) Ry(s rot)`` and a shin ``R_th
  Rx(knee_flex)``. Limb segments hang along -y of their frame.
* The sines and cosines come from the C library (``math``), not from
  NumPy's SIMD loops, so the joints are bit-identical on every x86-64 CPU
  (the SynthPose images depend on them bit by bit).

The module is about 750 lines, half of them docstrings; it is not split
because the joint names, the offsets, the rotation order and the joint sets
are one contract that every generator imports from one place.

Note:
    - ``...``: leading axes, e.g. (T, N) for T frames of N people
    - D: number of joint angles (:data:`ANGLE_NAMES`, 23)
    - B: number of body parameters (:data:`BODY_FIELDS`, 18)
    - J: number of model joints (:data:`JOINT_NAMES`, 27)
    - F: number of body frames (:data:`FRAME_NAMES`, 4)

Example:
    >>> import numpy as np
    >>> from probpose_ext.datasets.generators import kinematics as km
    >>> angles = np.tile(km.pose_to_angles(km.Pose()), (10, 2, 1))
    >>> joints, frames = km.forward_kinematics(angles, km.Body())
    >>> joints.shape, frames.shape
    ((10, 2, 27, 3), (10, 2, 4, 3, 3))
    >>> km.select_joints(joints, 'h36m17').shape
    (10, 2, 17, 3)
"""
import dataclasses
import functools
import math
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple, Union

import numpy as np

from ...utils.metainfo import COCO_METAINFO, load_metainfo

__all__ = [
    'Pose', 'Body', 'POSE_LIMITS', 'SIDES', 'ANGLE_NAMES', 'ANGLE_LIMITS',
    'BODY_FIELDS', 'BODY_JOINTS', 'FACE_JOINTS', 'EXTRA_JOINTS', 'JOINT_NAMES',
    'PARENTS', 'BONES', 'FRAME_NAMES', 'H36M_JOINTS', 'JOINT_SETS',
    'pose_to_angles', 'angles_to_pose', 'clip_angles', 'body_to_array',
    'array_to_body', 'rotation_x', 'rotation_y', 'rotation_z', 'unit_vector',
    'face_offsets', 'bone_lengths', 'segment_lengths', 'forward_kinematics',
    'skeleton', 'body_to_world', 'load_coco_metainfo', 'load_h36m_metainfo',
    'coco_keypoint_names', 'joint_set_names', 'joint_set_indices',
    'select_joints'
]

BodyLike = Union['Body', np.ndarray]

#: Sides of the paired joints and their mirror sign along the body's x.
SIDES: Tuple[Tuple[str, float], ...] = (('left', 1.0), ('right', -1.0))


# ---------------------------------------------------------------------------
# Joint angles, limits and body proportions
# ---------------------------------------------------------------------------
@dataclass
class Pose:
    """Joint angles (degrees) of the kinematic skeleton; the defaults are a
    relaxed standing rest pose. Per-side values are ``(left, right)``.

    Positive flexion moves a shoulder/hip forward and bends an elbow forward
    / a knee backward (the natural directions); positive abduction moves the
    limb away from the body's mid-line; ``torso_lean`` > 0 leans forward,
    ``head_pitch`` > 0 looks down and ``head_yaw`` > 0 turns the head to the
    person's left.
    """
    torso_lean: float = 0.0
    torso_bend: float = 0.0
    torso_twist: float = 0.0
    pelvis_tilt: float = 0.0
    head_yaw: float = 0.0
    head_pitch: float = 0.0
    head_roll: float = 0.0
    shoulder_flex: Tuple[float, float] = (0.0, 0.0)
    shoulder_abd: Tuple[float, float] = (10.0, 10.0)
    shoulder_rot: Tuple[float, float] = (0.0, 0.0)
    elbow_flex: Tuple[float, float] = (10.0, 10.0)
    hip_flex: Tuple[float, float] = (0.0, 0.0)
    hip_abd: Tuple[float, float] = (4.0, 4.0)
    hip_rot: Tuple[float, float] = (0.0, 0.0)
    knee_flex: Tuple[float, float] = (3.0, 3.0)


#: (low, high) joint limits of :class:`Pose` (degrees).
POSE_LIMITS: Dict[str, Tuple[float, float]] = dict(
    torso_lean=(-25.0, 50.0),
    torso_bend=(-25.0, 25.0),
    torso_twist=(-40.0, 40.0),
    pelvis_tilt=(-10.0, 30.0),
    head_yaw=(-75.0, 75.0),
    head_pitch=(-35.0, 40.0),
    head_roll=(-20.0, 20.0),
    shoulder_flex=(-50.0, 180.0),
    shoulder_abd=(-15.0, 175.0),
    shoulder_rot=(-70.0, 70.0),
    elbow_flex=(0.0, 150.0),
    hip_flex=(-30.0, 120.0),
    hip_abd=(-15.0, 50.0),
    hip_rot=(-30.0, 30.0),
    knee_flex=(0.0, 150.0),
)


@dataclass
class Body:
    """Body proportions in units of the standing height (about 1.0 from the
    soles to the top of the head).

    The lengths set the bones (:func:`bone_lengths`); the ``*_radius`` and
    ``*_depth`` fields give the limbs and the torso their volume when a
    person is drawn.
    """
    torso: float = 0.29
    neck: float = 0.055
    head_radius: float = 0.062
    shoulder_half: float = 0.115
    hip_half: float = 0.085
    upper_arm: float = 0.17
    forearm: float = 0.15
    hand: float = 0.065
    thigh: float = 0.245
    shin: float = 0.245
    foot: float = 0.1
    chest_depth: float = 0.075
    hip_depth: float = 0.07
    neck_radius: float = 0.03
    arm_radius: float = 0.036
    forearm_radius: float = 0.03
    thigh_radius: float = 0.062
    shin_radius: float = 0.044


def _expand_pose_fields() -> Tuple[str, ...]:
    names = []
    for f in dataclasses.fields(Pose):
        if isinstance(f.default, tuple):
            names += [f'{side}_{f.name}' for side, _ in SIDES]
        else:
            names.append(f.name)
    return tuple(names)


#: Names of the entries of a joint-angle vector, shape (D, ): the scalar
#: fields of :class:`Pose` in field order, each per-side field as
#: ``left_<field>``, ``right_<field>``.
ANGLE_NAMES: Tuple[str, ...] = _expand_pose_fields()

#: Joint limits of the angle vector (degrees), shape (D, 2): (low, high).
ANGLE_LIMITS: np.ndarray = np.array([
    POSE_LIMITS[n.split('_', 1)[1] if n.startswith(('left_', 'right_')) else n]
    for n in ANGLE_NAMES
],
                                    dtype=np.float64)
ANGLE_LIMITS.setflags(write=False)

#: Names of the entries of a body vector, shape (B, ): the fields of
#: :class:`Body`.
BODY_FIELDS: Tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Body))


def _vector(values: np.ndarray, names: Sequence[str],
            what: str) -> List[float]:
    """The entries of a 1D vector with one value per name."""
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (len(names), ):
        raise ValueError(f'{what} must have shape ({len(names)}, ), got '
                         f'{values.shape}')
    return values.tolist()


def pose_to_angles(pose: Pose) -> np.ndarray:
    """Joint-angle vector of a pose.

    Args:
        pose (Pose): The pose.

    Returns:
        np.ndarray: Angles in :data:`ANGLE_NAMES` order, shape (D, ).
    """
    values = []
    for f in dataclasses.fields(Pose):
        value = getattr(pose, f.name)
        values += list(value) if isinstance(f.default, tuple) else [value]
    return np.array(values, dtype=np.float64)


def angles_to_pose(angles: np.ndarray) -> Pose:
    """Inverse of :func:`pose_to_angles`.

    Args:
        angles (np.ndarray): Angles in :data:`ANGLE_NAMES` order, shape
            (D, ).

    Returns:
        Pose: The pose.
    """
    values = dict(zip(ANGLE_NAMES, _vector(angles, ANGLE_NAMES, 'angles')))
    kwargs = {}
    for f in dataclasses.fields(Pose):
        if isinstance(f.default, tuple):
            kwargs[f.name] = tuple(values[f'{s}_{f.name}'] for s, _ in SIDES)
        else:
            kwargs[f.name] = values[f.name]
    return Pose(**kwargs)


def clip_angles(angles: np.ndarray) -> np.ndarray:
    """Clip joint angles to :data:`ANGLE_LIMITS`.

    Args:
        angles (np.ndarray): Angles, shape (..., D).

    Returns:
        np.ndarray: Clipped copy, shape (..., D).
    """
    return np.clip(angles, ANGLE_LIMITS[:, 0], ANGLE_LIMITS[:, 1])


def body_to_array(body: BodyLike) -> np.ndarray:
    """Body vector of one or many subjects.

    Args:
        body (Body | np.ndarray): A :class:`Body`, or body vectors in
            :data:`BODY_FIELDS` order, shape (..., B).

    Returns:
        np.ndarray: Shape (B, ) for a :class:`Body`, else (..., B).
    """
    if isinstance(body, Body):
        return np.array([getattr(body, n) for n in BODY_FIELDS],
                        dtype=np.float64)
    array = np.asarray(body, dtype=np.float64)
    if array.ndim == 0 or array.shape[-1] != len(BODY_FIELDS):
        raise ValueError(f'body must be a Body or have shape (..., '
                         f'{len(BODY_FIELDS)}), got {array.shape}')
    return array


def array_to_body(array: np.ndarray) -> Body:
    """Inverse of :func:`body_to_array` for one subject.

    Args:
        array (np.ndarray): Body vector, shape (B, ).

    Returns:
        Body: The proportions.
    """
    return Body(**dict(zip(BODY_FIELDS, _vector(array, BODY_FIELDS, 'array'))))


# ---------------------------------------------------------------------------
# Rotations
# ---------------------------------------------------------------------------
def _cos_sin(deg: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Cosine and sine of angles in degrees, computed by the C library."""
    deg = np.asarray(deg, dtype=np.float64)
    rad = [math.radians(a) for a in deg.ravel().tolist()]
    cos = np.fromiter(map(math.cos, rad), np.float64, len(rad))
    sin = np.fromiter(map(math.sin, rad), np.float64, len(rad))
    return cos.reshape(deg.shape), sin.reshape(deg.shape)


def _rotation(deg: np.ndarray, axis: int) -> np.ndarray:
    cos, sin = _cos_sin(deg)
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    rot = np.zeros(cos.shape + (3, 3), dtype=np.float64)
    rot[..., axis, axis] = 1.0
    rot[..., i, i] = cos
    rot[..., j, j] = cos
    rot[..., i, j] = -sin
    rot[..., j, i] = sin
    return rot


def rotation_x(deg: Union[float, np.ndarray]) -> np.ndarray:
    """Rotation about x by ``deg`` degrees (right-handed).

    Args:
        deg (float | np.ndarray): Angles, shape (...).

    Returns:
        np.ndarray: Rotation matrices, shape (..., 3, 3).
    """
    return _rotation(deg, 0)


def rotation_y(deg: Union[float, np.ndarray]) -> np.ndarray:
    """Rotation about y by ``deg`` degrees; see :func:`rotation_x`."""
    return _rotation(deg, 1)


def rotation_z(deg: Union[float, np.ndarray]) -> np.ndarray:
    """Rotation about z by ``deg`` degrees; see :func:`rotation_x`."""
    return _rotation(deg, 2)


def unit_vector(v: Sequence[float]) -> np.ndarray:
    """``v`` divided by its Euclidean norm.

    Args:
        v (Sequence[float]): A vector, shape (C, ).

    Returns:
        np.ndarray: The unit vector, shape (C, ), float64.
    """
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


def _vec(x, y, z) -> np.ndarray:
    """Stack broadcast coordinates into points, shape (..., 3)."""
    return np.stack(
        np.broadcast_arrays(*(np.asarray(c, dtype=np.float64)
                              for c in (x, y, z))),
        axis=-1)


def _mv(rot: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Matrix-vector product over leading axes: (..., 3, 3) x (..., 3)."""
    return (rot @ v[..., None])[..., 0]


# ---------------------------------------------------------------------------
# The skeleton
# ---------------------------------------------------------------------------
def _side_names(*joints: str) -> Tuple[str, ...]:
    return tuple(f'{side}_{j}' for side, _ in SIDES for j in joints)


#: Joints of the kinematic chain, in the order SynthPose has always used:
#: the pelvis (origin), the top of the torso between the shoulders
#: (``neck``), the centre of the head, then per side the shoulder, elbow,
#: wrist, the tip of the hand, hip, knee, ankle and the tip of the foot.
BODY_JOINTS: Tuple[str, ...] = ('pelvis', 'neck', 'head_centre') + \
    _side_names('shoulder', 'elbow', 'wrist', 'hand', 'hip', 'knee',
                'ankle', 'toe')
#: Landmarks on the head sphere (moving with the head frame).
FACE_JOINTS: Tuple[str, ...] = ('nose', 'mouth', 'left_eye', 'left_ear',
                                'right_eye', 'right_ear')
#: Points for other joint sets: the middle of the spine (on the middle
#: torso frame) and the top of the head.
EXTRA_JOINTS: Tuple[str, ...] = ('spine', 'head_top')
#: Rows of the joints returned by :func:`forward_kinematics`, shape (J, ).
JOINT_NAMES: Tuple[str, ...] = BODY_JOINTS + FACE_JOINTS + EXTRA_JOINTS
#: Body frames returned by :func:`forward_kinematics`: lower torso
#: (pelvis), middle torso, upper torso (chest and shoulders), head.
FRAME_NAMES: Tuple[str, ...] = ('low', 'mid', 'up', 'head')


def _parents() -> Dict[str, str]:
    parents = dict(
        neck='pelvis',
        head_centre='neck',
        spine='pelvis',
        head_top='head_centre')
    parents.update({name: 'head_centre' for name in FACE_JOINTS})
    for side, _ in SIDES:
        chain = ('neck', 'shoulder', 'elbow', 'wrist', 'hand')
        chain = (chain[0], ) + tuple(f'{side}_{j}' for j in chain[1:])
        legs = ('pelvis', ) + tuple(f'{side}_{j}'
                                    for j in ('hip', 'knee', 'ankle', 'toe'))
        for seq in (chain, legs):
            parents.update(zip(seq[1:], seq[:-1]))
    return {name: parents[name] for name in JOINT_NAMES[1:]}


#: Parent of every joint but the pelvis.
PARENTS: Dict[str, str] = _parents()
#: Rigid (parent, child) segments, shape (J - 1, ) in :data:`JOINT_NAMES`
#: order of the child; their lengths are :func:`bone_lengths`.
BONES: Tuple[Tuple[str, str], ...] = tuple(
    (parent, child) for child, parent in PARENTS.items())

# limb segments hanging along -y of their frame: joint -> Body length field
_LIMB_LENGTHS = dict(
    elbow='upper_arm',
    wrist='forearm',
    hand='hand',
    knee='thigh',
    ankle='shin')
_DOWN = np.array([0.0, -1.0, 0.0])
# face landmarks: unit direction from the head centre (head frame) and the
# distance in head radii
_FACE_DIRECTIONS = dict(
    nose=([0.0, -0.18, 1.0], 1.1), mouth=([0.0, -0.5, 0.86], 1.0))
for _side, _sgn in SIDES:
    _FACE_DIRECTIONS[f'{_side}_eye'] = ([_sgn * 0.33, 0.12, 0.93], 1.0)
    _FACE_DIRECTIONS[f'{_side}_ear'] = ([_sgn * 0.97, 0.0, -0.22], 1.0)


def _lengths(body: BodyLike) -> Dict[str, np.ndarray]:
    array = body_to_array(body)
    return {name: array[..., i] for i, name in enumerate(BODY_FIELDS)}


def _face_offsets(radius: np.ndarray) -> Dict[str, np.ndarray]:
    radius = np.asarray(radius, dtype=np.float64)[..., None]
    return {
        name: unit_vector(direction) * scale * radius
        for name, (direction, scale) in _FACE_DIRECTIONS.items()
    }


def face_offsets(body: BodyLike) -> Dict[str, np.ndarray]:
    """Offsets of the face landmarks from the head centre, in the head
    frame.

    Args:
        body (Body | np.ndarray): Proportions, a :class:`Body` or shape
            (..., B).

    Returns:
        dict[str, np.ndarray]: :data:`FACE_JOINTS` -> offset, shape (3, )
        or (..., 3).
    """
    return _face_offsets(_lengths(body)['head_radius'])


def _offsets(lengths: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """Offsets of the joints that sit at a fixed point of their parent's
    frame (all but the limb segments), shape (..., 3) each."""
    off = dict(
        neck=_vec(0.0, lengths['torso'], 0.0),
        head_centre=_vec(0.0, lengths['neck'] + 0.9 * lengths['head_radius'],
                         0.012),
        spine=_vec(0.0, 0.5 * lengths['torso'], 0.0),
        head_top=_vec(0.0, lengths['head_radius'], 0.0))
    for side, sgn in SIDES:
        off[f'{side}_shoulder'] = _vec(sgn * lengths['shoulder_half'], -0.03,
                                       -0.01)
        off[f'{side}_hip'] = _vec(sgn * lengths['hip_half'], -0.03, 0.0)
        off[f'{side}_toe'] = _vec(0.0, -0.03, lengths['foot'])
    return off


def bone_lengths(body: BodyLike) -> np.ndarray:
    """Lengths of the rigid segments :data:`BONES` of a body.

    Forward kinematics only rotates segments, so these are the distances
    between the posed joints whatever the pose (:func:`segment_lengths`).

    Args:
        body (Body | np.ndarray): Proportions, a :class:`Body` or shape
            (..., B).

    Returns:
        np.ndarray: Lengths, shape (J - 1, ) or (..., J - 1).
    """
    lengths = _lengths(body)
    off = _offsets(lengths)
    off.update(_face_offsets(lengths['head_radius']))
    out = []
    for _, child in BONES:
        limb = _LIMB_LENGTHS.get(child.split('_', 1)[-1])
        if limb is not None:
            out.append(np.abs(lengths[limb]))
        else:
            out.append(np.linalg.norm(off[child], axis=-1))
    return np.stack(out, axis=-1)


def segment_lengths(joints: np.ndarray) -> np.ndarray:
    """Distances between the posed joints of every segment of
    :data:`BONES`.

    Args:
        joints (np.ndarray): Joints in :data:`JOINT_NAMES` order, shape
            (..., J, 3).

    Returns:
        np.ndarray: Lengths, shape (..., J - 1).
    """
    index = {name: i for i, name in enumerate(JOINT_NAMES)}
    parent = [index[p] for p, _ in BONES]
    child = [index[c] for _, c in BONES]
    return np.linalg.norm(
        joints[..., child, :] - joints[..., parent, :], axis=-1)


def forward_kinematics(angles: np.ndarray,
                       body: BodyLike) -> Tuple[np.ndarray, np.ndarray]:
    """Posed 3D joints and body frames, vectorised over leading axes.

    See the module docstring for the frames and the rotation order.

    Args:
        angles (np.ndarray): Joint angles in :data:`ANGLE_NAMES` order
            (degrees, not clipped here: see :func:`clip_angles`), shape
            (..., D), e.g. (T, N, D).
        body (Body | np.ndarray): Proportions: one :class:`Body` for
            everybody, or body vectors of shape (..., B) that broadcast
            against the leading axes of ``angles`` (e.g. (N, B) for one
            body per person of a (T, N, D) sequence).

    Returns:
        tuple:
        - joints (np.ndarray): Joints in :data:`JOINT_NAMES` order in the
          body frame, shape (..., J, 3).
        - frames (np.ndarray): Rotations (body frame <- segment frame) of
          :data:`FRAME_NAMES`, shape (..., F, 3, 3).
    """
    angles = np.asarray(angles, dtype=np.float64)
    if angles.ndim == 0 or angles.shape[-1] != len(ANGLE_NAMES):
        raise ValueError(f'angles must have shape (..., {len(ANGLE_NAMES)})'
                         f', got {angles.shape}')
    array = body_to_array(body)
    lead = np.broadcast_shapes(angles.shape[:-1], array.shape[:-1])
    angles = np.broadcast_to(angles, lead + angles.shape[-1:])
    lengths = _lengths(np.broadcast_to(array, lead + array.shape[-1:]))
    a = {name: angles[..., i] for i, name in enumerate(ANGLE_NAMES)}

    rot_low = rotation_x(a['pelvis_tilt'])
    rot_up = (
        rot_low @ rotation_z(a['torso_bend']) @ rotation_x(a['torso_lean'])
        @ rotation_y(a['torso_twist']))
    rot_mid = (
        rot_low @ rotation_z(a['torso_bend'] / 2) @ rotation_x(
            a['torso_lean'] / 2) @ rotation_y(a['torso_twist'] / 2))
    rot_head = (
        rot_up @ rotation_y(a['head_yaw']) @ rotation_x(a['head_pitch'])
        @ rotation_z(a['head_roll']))
    off = _offsets(lengths)

    def hang(start: np.ndarray, rot: np.ndarray, limb: str) -> np.ndarray:
        return start + _mv(rot, _DOWN) * lengths[limb][..., None]

    j = {'pelvis': np.zeros(lead + (3, ))}
    j['neck'] = _mv(rot_up, off['neck'])
    j['head_centre'] = j['neck'] + _mv(rot_head, off['head_centre'])
    for side, sgn in SIDES:
        s = side + '_'
        rot_ua = (
            rot_up @ rotation_z(sgn * a[s + 'shoulder_abd'])
            @ rotation_x(-a[s + 'shoulder_flex']) @ rotation_y(
                sgn * a[s + 'shoulder_rot']))
        rot_fa = rot_ua @ rotation_x(-a[s + 'elbow_flex'])
        rot_th = (
            rot_low @ rotation_z(sgn * a[s + 'hip_abd'])
            @ rotation_x(-a[s + 'hip_flex']) @ rotation_y(
                sgn * a[s + 'hip_rot']))
        rot_sh = rot_th @ rotation_x(a[s + 'knee_flex'])
        j[s + 'shoulder'] = j['neck'] + _mv(rot_up, off[s + 'shoulder'])
        j[s + 'elbow'] = hang(j[s + 'shoulder'], rot_ua, 'upper_arm')
        j[s + 'wrist'] = hang(j[s + 'elbow'], rot_fa, 'forearm')
        j[s + 'hand'] = hang(j[s + 'wrist'], rot_fa, 'hand')
        j[s + 'hip'] = _mv(rot_low, off[s + 'hip'])
        j[s + 'knee'] = hang(j[s + 'hip'], rot_th, 'thigh')
        j[s + 'ankle'] = hang(j[s + 'knee'], rot_sh, 'shin')
        j[s + 'toe'] = j[s + 'ankle'] + _mv(rot_sh, off[s + 'toe'])
    for name, offset in _face_offsets(lengths['head_radius']).items():
        j[name] = j['head_centre'] + _mv(rot_head, offset)
    j['spine'] = _mv(rot_mid, off['spine'])
    j['head_top'] = j['head_centre'] + _mv(rot_head, off['head_top'])
    joints = np.stack([j[name] for name in JOINT_NAMES], axis=-2)
    frames = np.stack([rot_low, rot_mid, rot_up, rot_head], axis=-3)
    return joints, frames


def skeleton(
        pose: Pose,
        body: Body) -> Tuple[Dict[str, np.ndarray], Dict[str, np.ndarray]]:
    """Forward kinematics of one person, by name.

    Args:
        pose (Pose): Joint angles (used as they are, not clipped).
        body (Body): Proportions.

    Returns:
        tuple:
        - joints (dict[str, np.ndarray]): :data:`JOINT_NAMES` -> point in
          the body frame, shape (3, ).
        - frames (dict[str, np.ndarray]): :data:`FRAME_NAMES` -> rotation,
          shape (3, 3).
    """
    joints, frames = forward_kinematics(pose_to_angles(pose), body)
    return dict(zip(JOINT_NAMES, joints)), dict(zip(FRAME_NAMES, frames))


# body frame (x left, y up, z forward) -> world frame (z up) at heading 0:
# the person faces the world's +y and has its left towards -x
_BODY_TO_WORLD = np.array([[-1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])


def body_to_world(joints: np.ndarray,
                  translation: Union[Sequence[float],
                                     np.ndarray] = (0.0, 0.0, 0.0),
                  heading: Union[float, np.ndarray] = 0.0,
                  height: Union[float, np.ndarray] = 1.0) -> np.ndarray:
    """Place body-frame joints in a z-up world (the Human3.6M convention,
    used by :mod:`~probpose_ext.datasets.generators.camera`).

    At ``heading`` 0 the person faces the world's +y with its left towards
    -x; ``heading`` turns it counter-clockwise seen from above (about +z).

    Args:
        joints (np.ndarray): Body-frame joints, shape (..., J, 3).
        translation (Sequence[float] | np.ndarray): World position of the
            body origin (the pelvis), shape (3, ) or (..., 3).
        heading (float | np.ndarray): Heading in degrees, shape () or
            (...).
        height (float | np.ndarray): World length of one body unit (the
            standing height, e.g. 1.75 for metres), shape () or (...).

    Returns:
        np.ndarray: World joints, shape (..., J, 3).
    """
    joints = np.asarray(joints, dtype=np.float64)
    rot = rotation_z(heading) @ _BODY_TO_WORLD
    height = np.asarray(height, dtype=np.float64)[..., None, None]
    shift = np.asarray(translation, dtype=np.float64)[..., None, :]
    return height * (joints @ np.swapaxes(rot, -1, -2)) + shift


# ---------------------------------------------------------------------------
# Joint sets of MMPose's data sets
# ---------------------------------------------------------------------------
#: MMPose's Human3.6M metainfo file, resolved inside the mmpose package.
H36M_METAINFO = dict(from_file='configs/_base_/datasets/h36m.py')

#: Human3.6M-17 joint (MMPose metainfo name) -> model joint. The H36M
#: ``root`` is the pelvis, ``thorax`` the base of the neck between the
#: shoulders (the model's ``neck``), ``neck_base`` (H36M's "Neck/Nose")
#: the nose and ``head`` the top of the head; the feet are the ankles.
H36M_JOINTS: Dict[str, str] = dict(
    root='pelvis',
    right_foot='right_ankle',
    left_foot='left_ankle',
    thorax='neck',
    neck_base='nose',
    head='head_top')
for _side, _ in SIDES:
    for _joint in ('hip', 'knee', 'shoulder', 'elbow', 'wrist'):
        H36M_JOINTS[f'{_side}_{_joint}'] = f'{_side}_{_joint}'
H36M_JOINTS['spine'] = 'spine'

#: Names accepted by :func:`select_joints`.
JOINT_SETS: Tuple[str, ...] = ('coco17', 'h36m17')


@functools.lru_cache(maxsize=1)
def load_coco_metainfo() -> dict:
    """MMPose's parsed COCO metainfo (imports mmpose lazily).

    Returns:
        dict: Output of ``parse_pose_metainfo`` for
        ``configs/_base_/datasets/coco.py`` (``keypoint_id2name``,
        ``skeleton_links``, ``flip_indices``, ``sigmas``, ...).
    """
    return load_metainfo(COCO_METAINFO)


@functools.lru_cache(maxsize=1)
def load_h36m_metainfo() -> dict:
    """MMPose's parsed Human3.6M metainfo (imports mmpose lazily).

    Returns:
        dict: Output of ``parse_pose_metainfo`` for
        ``configs/_base_/datasets/h36m.py``.
    """
    return load_metainfo(H36M_METAINFO)


def _keypoint_names(meta: dict) -> List[str]:
    id2name = meta['keypoint_id2name']
    return [id2name[i] for i in range(meta['num_keypoints'])]


def coco_keypoint_names() -> List[str]:
    """COCO keypoint names in id order, from MMPose's metainfo."""
    return _keypoint_names(load_coco_metainfo())


def joint_set_names(joint_set: str) -> List[str]:
    """Keypoint names of a joint set in id order, from MMPose's metainfo.

    Args:
        joint_set (str): One of :data:`JOINT_SETS`.

    Returns:
        list[str]: The 17 names.
    """
    loaders = dict(coco17=load_coco_metainfo, h36m17=load_h36m_metainfo)
    if joint_set not in loaders:
        raise ValueError(f'joint_set must be one of {JOINT_SETS}, got '
                         f'{joint_set!r}')
    return _keypoint_names(loaders[joint_set]())


def joint_set_indices(joint_set: str) -> np.ndarray:
    """Rows of :data:`JOINT_NAMES` that make a joint set.

    COCO-17 names are model joints; Human3.6M-17 names map through
    :data:`H36M_JOINTS`.

    Args:
        joint_set (str): One of :data:`JOINT_SETS`.

    Returns:
        np.ndarray: Indices in the joint set's id order, shape (17, ).
    """
    mapping = H36M_JOINTS if joint_set == 'h36m17' else {}
    names = [mapping.get(n, n) for n in joint_set_names(joint_set)]
    return np.array([JOINT_NAMES.index(n) for n in names], dtype=np.int64)


def select_joints(joints: np.ndarray, joint_set: str) -> np.ndarray:
    """The joints of a joint set, in the order of MMPose's metainfo.

    Args:
        joints (np.ndarray): Joints in :data:`JOINT_NAMES` order (body or
            world frame), shape (..., J, C).
        joint_set (str): One of :data:`JOINT_SETS`.

    Returns:
        np.ndarray: Shape (..., 17, C).
    """
    joints = np.asarray(joints)
    if joints.ndim < 2 or joints.shape[-2] != len(JOINT_NAMES):
        raise ValueError(f'joints must have shape (..., {len(JOINT_NAMES)}, '
                         f'C), got {joints.shape}')
    return joints[..., joint_set_indices(joint_set), :]
