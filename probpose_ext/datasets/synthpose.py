"""SynthPose: an embedded generator of a small synthetic 2D human-pose data
set in exact COCO keypoint format.

No real data set can be downloaded in some environments, so this module
renders simple but structured images of people (a kinematic 3D skeleton with
the 17 COCO keypoints, projected with weak perspective and drawn with
painter's order) over cluttered backgrounds, with occluders, several people
per image and border truncation, and writes them in the layout expected by
MMPose's ``CocoDataset``::

    OUT_DIR/train/000000000001.jpg ...
    OUT_DIR/val/000000000001.jpg ...
    OUT_DIR/annotations/person_keypoints_train.json
    OUT_DIR/annotations/person_keypoints_val.json

Annotation conventions (COCO):

* ``bbox`` is the tight ``[x, y, w, h]`` box of the person's *visible*
  silhouette pixels, ``area`` the number of those pixels.
* ``v=0``: not labelled (the keypoint falls outside the image; its x and y
  are 0). ``v=1``: inside the image but hidden, i.e. covered by an occluder,
  by another person or by one of the person's own body parts, or facing away
  from the camera (e.g. the eyes of a person seen from behind). ``v=2``:
  visible. Visibility is decided with a per-pixel label buffer that is
  drawn with exactly the same geometry and painter's order as the image.
* Every person that is drawn is annotated: people that would end up with
  fewer than ``min_keypoints`` labelled keypoints or fewer than ``min_area``
  visible pixels are removed from the scene *before* the final image is
  rendered, so there are no unlabelled people in the images.

Everything that is COCO-specific (keypoint names and order, skeleton) is
read from MMPose's COCO metainfo; the kinematic model only knows the body
joints by name. The output is byte-identical for identical arguments, and
independent of the number of worker processes: every image has its own
random generator derived from ``(seed, split, index)``.

Example:
    >>> from probpose_ext.datasets.synthpose import make_synthpose
    >>> summary = make_synthpose('data/synthpose', num_train=3000,
    ...                          num_val=500, seed=0)
"""
import colorsys
import dataclasses
import functools
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from tqdm import tqdm

from ..utils.atomic import atomic_output_dir, check_output_dir, worker_map

__all__ = [
    'GENERATOR_VERSION', 'SynthPoseParams', 'Pose', 'Body', 'View', 'Texture',
    'Look', 'Person', 'Occluder', 'Scene', 'load_coco_metainfo',
    'coco_keypoint_names', 'image_rng', 'sample_pose', 'sample_body',
    'sample_view', 'sample_look', 'build_person', 'sample_person',
    'make_occluder', 'sample_scene', 'render_scene', 'annotate_scene',
    'render_image', 'make_synthpose'
]

GENERATOR_VERSION = '1.0.0'
COCO_METAINFO_FILE = 'configs/_base_/datasets/coco.py'
SPLITS = ('train', 'val')
_SPLIT_CODES = {'train': 0, 'val': 1}

# Body part ids of the label buffer. A label is ``(person_index + 1) << 4 |
# part`` (uint16), occluders use OCCLUDER_LABEL and the background 0.
PART_HEAD = 1
PART_NECK = 2
PART_TORSO = 3
PART_UPPER_ARM = {'left': 4, 'right': 6}
PART_FOREARM = {'left': 5, 'right': 7}
PART_THIGH = {'left': 8, 'right': 10}
PART_SHIN = {'left': 9, 'right': 11}
OCCLUDER_LABEL = 0xFFF0
_PART_BITS = 4
_MAX_PERSONS = (OCCLUDER_LABEL >> _PART_BITS) - 1

_SIDES = (('left', 1.0), ('right', -1.0))
_FACE_JOINTS = ('nose', 'eye', 'ear')


def _side_joint_parts() -> Dict[str, Tuple[int, ...]]:
    """Body parts whose pixels make each joint count as visible."""
    parts = {'nose': (PART_HEAD, )}
    for side, _ in _SIDES:
        ua, fa = PART_UPPER_ARM[side], PART_FOREARM[side]
        th, sh = PART_THIGH[side], PART_SHIN[side]
        parts.update({
            f'{side}_eye': (PART_HEAD, ),
            f'{side}_ear': (PART_HEAD, ),
            f'{side}_shoulder': (PART_TORSO, ua),
            f'{side}_elbow': (ua, fa),
            f'{side}_wrist': (fa, ),
            f'{side}_hip': (PART_TORSO, th),
            f'{side}_knee': (th, sh),
            f'{side}_ankle': (sh, ),
        })
    return parts


#: joint name -> part ids of the person adjacent to the joint.
JOINT_PARTS: Dict[str, Tuple[int, ...]] = _side_joint_parts()


# ---------------------------------------------------------------------------
# Parameters and small value types
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SynthPoseParams:
    """All the knobs that set the difficulty of the generated data.

    Fractions of the image refer to the image height; angles are in degrees.
    The defaults give a moderate difficulty: about 1.5 people per image,
    ~67 % of the keypoints visible, ~30 % hidden and ~3 % outside the image.
    ``dataclasses.asdict(params)`` is stored in the
    ``info`` block of every annotation file.

    Args:
        person_count_probs (tuple[float]): Probabilities of 1, 2, 3, ...
            people per image (normalised).
        single_height (tuple[float, float]): Range of a lone person's
            standing height as a fraction of the image height.
        multi_height (tuple[float, float]): Same when there are several.
        p_truncated (float): Probability that a person is placed across an
            image border.
        truncation (tuple[float, float]): Range of the fraction of the
            person's extent that lies outside the image when truncated.
        p_close (float): Probability that a further person is placed right
            next to (touching / overlapping) the previous one.
        max_overlap_iou (float): Maximum IoU between the extents of two
            people.
        yaw_range (tuple[float, float]): Range of the body yaw; 0 faces the
            camera, 180 shows the back.
        pitch_std (float): Std of the camera pitch.
        roll_std (float): Std of the camera roll.
        p_inplane (float): Probability of an extra in-plane rotation.
        max_inplane (float): Maximum extra in-plane rotation.
        pose_range_scale (float): Scales every joint angle's deviation from
            the rest pose (0 gives the rest pose, 1 the full ranges).
        p_free_arm (float): Probability that an arm takes a free pose within
            the joint limits instead of a relaxed one.
        p_free_leg (float): Same for a leg.
        p_crouch (float): Probability of a crouching / sitting pose.
        limb_width (tuple[float, float]): Range of the limb width factor.
        num_bg_shapes (tuple[int, int]): Range of the number of background
            shapes.
        num_bg_bars (tuple[int, int]): Range of the number of limb-like
            bars (jointed capsules) in the background.
        p_occluder (float): Probability that a person gets an occluder.
        occluder_size (tuple[float, float]): Range of an occluder's size as
            a fraction of the person's height.
        brightness (float): Max absolute brightness shift.
        contrast (tuple[float, float]): Range of the contrast factor.
        noise_std (tuple[float, float]): Range of the std of the Gaussian
            pixel noise.
        p_blur (float): Probability of a Gaussian blur.
        blur_sigma (tuple[float, float]): Range of the blur sigma.
        jpeg_quality (int): JPEG quality of the written images.
        min_keypoints (int): People with fewer labelled keypoints are not
            drawn.
        min_area (int): People with fewer visible pixels are not drawn.
        face_self_occlusion_v (int): Visibility (1 or 0) given to face
            keypoints hidden by the person's own head (e.g. the eyes of a
            person seen from behind). 1 follows the rule "hidden but inside
            the image"; 0 makes the task easier.
    """
    person_count_probs: Tuple[float, ...] = (0.6, 0.3, 0.1)
    single_height: Tuple[float, float] = (0.45, 0.92)
    multi_height: Tuple[float, float] = (0.35, 0.75)
    p_truncated: float = 0.12
    truncation: Tuple[float, float] = (0.1, 0.4)
    p_close: float = 0.35
    max_overlap_iou: float = 0.3
    yaw_range: Tuple[float, float] = (0.0, 360.0)
    pitch_std: float = 8.0
    roll_std: float = 4.0
    p_inplane: float = 0.06
    max_inplane: float = 60.0
    pose_range_scale: float = 1.0
    p_free_arm: float = 0.4
    p_free_leg: float = 0.2
    p_crouch: float = 0.1
    limb_width: Tuple[float, float] = (0.8, 1.3)
    num_bg_shapes: Tuple[int, int] = (8, 24)
    num_bg_bars: Tuple[int, int] = (1, 4)
    p_occluder: float = 0.3
    occluder_size: Tuple[float, float] = (0.15, 0.4)
    brightness: float = 15.0
    contrast: Tuple[float, float] = (0.85, 1.15)
    noise_std: Tuple[float, float] = (0.0, 6.0)
    p_blur: float = 0.3
    blur_sigma: Tuple[float, float] = (0.4, 1.1)
    jpeg_quality: int = 90
    min_keypoints: int = 3
    min_area: int = 150
    face_self_occlusion_v: int = 1

    def validate(self) -> None:
        """Raise ``ValueError`` if a parameter is out of its domain."""
        probs = self.person_count_probs
        if (len(probs) == 0 or any(p < 0 for p in probs) or sum(probs) <= 0
                or len(probs) > _MAX_PERSONS):
            raise ValueError('person_count_probs must be non-negative with a '
                             f'positive sum, got {probs}')
        for name in ('p_truncated', 'p_close', 'p_inplane', 'p_free_arm',
                     'p_free_leg', 'p_crouch', 'p_occluder', 'p_blur'):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f'{name} must be in [0, 1], got {value}')
        for name in ('single_height', 'multi_height', 'truncation',
                     'yaw_range', 'limb_width', 'num_bg_shapes', 'num_bg_bars',
                     'occluder_size', 'contrast', 'noise_std', 'blur_sigma'):
            low, high = getattr(self, name)
            if low > high or low < 0:
                raise ValueError(f'{name} must be a (low, high) range with '
                                 f'0 <= low <= high, got {(low, high)}')
        if self.single_height[0] <= 0 or self.multi_height[0] <= 0:
            raise ValueError('person heights must be positive')
        if not 0 <= self.max_overlap_iou <= 1:
            raise ValueError('max_overlap_iou must be in [0, 1]')
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError('jpeg_quality must be in [1, 100]')
        if self.min_keypoints < 1 or self.min_area < 1:
            raise ValueError('min_keypoints and min_area must be >= 1')
        if self.face_self_occlusion_v not in (0, 1):
            raise ValueError('face_self_occlusion_v must be 0 or 1')
        if self.pose_range_scale < 0:
            raise ValueError('pose_range_scale must be >= 0')


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
    soles to the top of the head)."""
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


@dataclass
class View:
    """Viewpoint (degrees): body yaw (0 faces the camera), camera pitch and
    in-plane roll."""
    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0


@dataclass
class Texture:
    """A procedural texture.

    Args:
        kind (str): ``'solid'``, ``'stripes'``, ``'checks'`` or
            ``'blotch'``.
        colour (tuple[float]): Main BGR colour.
        colour2 (tuple[float]): Second BGR colour of the pattern.
        period (float): Pattern period in pixels.
        angle (float): Stripe angle in degrees.
        grain (float): Std of the luminance noise.
    """
    kind: str
    colour: Tuple[float, float, float]
    colour2: Tuple[float, float, float] = (0.0, 0.0, 0.0)
    period: float = 8.0
    angle: float = 0.0
    grain: float = 4.0


@dataclass
class Look:
    """Appearance of a person: one texture per clothing region."""
    skin: Texture
    shirt: Texture
    pants: Texture
    shoes: Texture
    hair: Texture
    long_sleeves: bool = True
    long_pants: bool = True
    hair_threshold: float = -0.1
    seed: int = 0


@dataclass
class _Shape:
    """A convex polygon of one body part (local coordinates), or the head
    (``pts is None``)."""
    part: int
    region: str
    depth: float
    pts: Optional[np.ndarray]


@dataclass
class _Head:
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
        head (_Head): The head.
        look (Look): Appearance.
        height (float): Standing height in pixels.
        offset (np.ndarray): Translation from local to image coordinates.
    """
    joint_names: Tuple[str, ...]
    joints: np.ndarray
    depth: np.ndarray
    facing: np.ndarray
    shapes: List[_Shape]
    head: _Head
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


@dataclass
class Occluder:
    """A textured convex polygon drawn over the people, shape (N, 2)."""
    pts: np.ndarray
    texture: Texture
    seed: int = 0


@dataclass
class Scene:
    """Everything needed to render one image deterministically.

    Attributes:
        img_size (tuple[int, int]): (w, h).
        persons (list[Person]): People in painter's order (far to near).
        occluders (list[Occluder]): Drawn over everything.
        bg_seed (int): Seed of the background clutter.
        num_bg_shapes (int): Number of background shapes.
        num_bg_bars (int): Number of limb-like background bars.
        photometric (dict): ``contrast``, ``brightness``, ``cast`` (3),
            ``noise_std``, ``blur_sigma`` (0 for none) and ``seed``.
    """
    img_size: Tuple[int, int]
    persons: List[Person]
    occluders: List[Occluder] = field(default_factory=list)
    bg_seed: int = 0
    num_bg_shapes: int = 0
    num_bg_bars: int = 0
    photometric: Dict = field(default_factory=dict)


# ---------------------------------------------------------------------------
# Metainfo and random generators
# ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def load_coco_metainfo() -> dict:
    """MMPose's parsed COCO metainfo (imports mmpose lazily).

    Returns:
        dict: Output of ``parse_pose_metainfo`` for
        ``configs/_base_/datasets/coco.py`` (``keypoint_id2name``,
        ``skeleton_links``, ``flip_indices``, ``sigmas``, ...).
    """
    from ..utils.metainfo import load_metainfo
    return load_metainfo(dict(from_file=COCO_METAINFO_FILE))


def coco_keypoint_names() -> List[str]:
    """COCO keypoint names in id order, from MMPose's metainfo."""
    meta = load_coco_metainfo()
    id2name = meta['keypoint_id2name']
    return [id2name[i] for i in range(meta['num_keypoints'])]


def image_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The random generator of image ``index`` (0-based) of ``split``."""
    return np.random.default_rng(
        np.random.SeedSequence([seed, _SPLIT_CODES[split], index]))


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**62))


# ---------------------------------------------------------------------------
# Geometry helpers
# ---------------------------------------------------------------------------
def _rx(deg: float) -> np.ndarray:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def _ry(deg: float) -> np.ndarray:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _rz(deg: float) -> np.ndarray:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _unit(v: Sequence[float]) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


_CIRCLE = np.stack([
    np.cos(np.linspace(0, 2 * np.pi, 16, endpoint=False)),
    np.sin(np.linspace(0, 2 * np.pi, 16, endpoint=False))
], 1)


def _capsule(p1: np.ndarray, p2: np.ndarray, r1: float,
             r2: float) -> np.ndarray:
    """Convex polygon of a tapered capsule between two 2D points.

    Returns:
        np.ndarray: Polygon vertices, shape (N, 2), float32.
    """
    pts = np.concatenate([p1 + r1 * _CIRCLE, p2 + r2 * _CIRCLE])
    return cv2.convexHull(pts.astype(np.float32)).reshape(-1, 2)


def _ellipse_ring(centre: np.ndarray,
                  rot: np.ndarray,
                  half_w: float,
                  half_d: float,
                  n: int = 10) -> np.ndarray:
    """3D points of a horizontal ellipse of a body frame, shape (n, 3)."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    local = np.stack([half_w * np.cos(t), np.zeros(n), half_d * np.sin(t)], 1)
    return centre + local @ rot.T


# ---------------------------------------------------------------------------
# Sampling of people
# ---------------------------------------------------------------------------
def _clip_pose(pose: Pose) -> Pose:
    """Clip every angle to :data:`POSE_LIMITS` (in place); returns it."""
    for f in dataclasses.fields(pose):
        low, high = POSE_LIMITS[f.name]
        value = getattr(pose, f.name)
        if isinstance(value, tuple):
            value = tuple(float(np.clip(v, low, high)) for v in value)
        else:
            value = float(np.clip(value, low, high))
        setattr(pose, f.name, value)
    return pose


def _scale_pose(pose: Pose, scale: float) -> Pose:
    """Scale every angle's deviation from the rest pose by ``scale``."""
    rest = Pose()
    for f in dataclasses.fields(pose):
        value, base = getattr(pose, f.name), getattr(rest, f.name)
        if isinstance(value, tuple):
            value = tuple(b + scale * (v - b) for v, b in zip(value, base))
        else:
            value = base + scale * (value - base)
        setattr(pose, f.name, value)
    return pose


def sample_pose(rng: np.random.Generator,
                params: Optional[SynthPoseParams] = None) -> Pose:
    """Random pose within the joint limits.

    Arms and legs are either relaxed (standing / walking) or free (uniform
    within the limits); a fraction of the people crouch or sit.

    Args:
        rng (np.random.Generator): Random generator.
        params (SynthPoseParams, optional): Parameters.

    Returns:
        Pose: The pose.
    """
    params = params or SynthPoseParams()
    crouch = rng.random() < params.p_crouch
    pose = Pose(
        torso_lean=rng.uniform(10, 45) if crouch else rng.normal(4, 8),
        torso_bend=rng.normal(0, 6),
        torso_twist=rng.normal(0, 10),
        pelvis_tilt=rng.uniform(0, 25) if crouch else rng.normal(0, 3),
        head_yaw=rng.normal(0, 25),
        head_pitch=rng.normal(3, 10),
        head_roll=rng.normal(0, 6))
    arms = {k: [] for k in ('flex', 'abd', 'rot', 'elbow')}
    for _ in range(2):
        if rng.random() < params.p_free_arm:
            values = (rng.uniform(-45, 175), rng.uniform(-10, 170),
                      rng.uniform(-60, 60), rng.uniform(0, 150))
        else:
            values = (rng.normal(0, 20), rng.uniform(4, 25), rng.normal(0, 15),
                      abs(rng.normal(0, 30)))
        for key, value in zip(arms, values):
            arms[key].append(value)
    legs = {k: [] for k in ('flex', 'abd', 'rot', 'knee')}
    stride = rng.normal(0, 18)
    for i in range(2):
        if crouch:
            flex = rng.uniform(50, 115)
            values = (flex, rng.uniform(0, 25), rng.normal(0, 8),
                      rng.uniform(max(0.0, flex - 40), 145))
        elif rng.random() < params.p_free_leg:
            values = (rng.uniform(-25, 100), rng.uniform(-5, 45),
                      rng.uniform(-25, 25), rng.uniform(0, 140))
        else:
            flex = (stride if i == 0 else -0.8 * stride) + rng.normal(0, 5)
            values = (flex, rng.uniform(0, 12), rng.normal(0, 8),
                      abs(rng.normal(0, 12)) + max(0.0, 0.5 * flex))
        for key, value in zip(legs, values):
            legs[key].append(value)
    pose.shoulder_flex = tuple(arms['flex'])
    pose.shoulder_abd = tuple(arms['abd'])
    pose.shoulder_rot = tuple(arms['rot'])
    pose.elbow_flex = tuple(arms['elbow'])
    pose.hip_flex = tuple(legs['flex'])
    pose.hip_abd = tuple(legs['abd'])
    pose.hip_rot = tuple(legs['rot'])
    pose.knee_flex = tuple(legs['knee'])
    return _clip_pose(_scale_pose(pose, params.pose_range_scale))


def sample_body(rng: np.random.Generator,
                params: Optional[SynthPoseParams] = None) -> Body:
    """Random body proportions (lengths +-8 %, widths by ``limb_width``)."""
    params = params or SynthPoseParams()
    body = Body()
    width = rng.uniform(*params.limb_width)
    for f in dataclasses.fields(body):
        value = getattr(body, f.name)
        if f.name.endswith('_radius') and f.name != 'head_radius':
            value *= width * rng.uniform(0.9, 1.1)
        elif f.name == 'head_radius':
            value *= rng.uniform(0.9, 1.12)
        elif f.name in ('shoulder_half', 'hip_half', 'chest_depth',
                        'hip_depth'):
            value *= rng.uniform(0.88, 1.18)
        else:
            value *= rng.uniform(0.92, 1.08)
        setattr(body, f.name, value)
    return body


def sample_view(rng: np.random.Generator,
                params: Optional[SynthPoseParams] = None) -> View:
    """Random viewpoint: yaw in ``yaw_range``, small pitch and roll, and
    sometimes a larger in-plane rotation."""
    params = params or SynthPoseParams()
    roll = rng.normal(0, params.roll_std)
    if rng.random() < params.p_inplane:
        roll += rng.uniform(-params.max_inplane, params.max_inplane)
    return View(
        yaw=rng.uniform(*params.yaw_range),
        pitch=float(np.clip(rng.normal(0, params.pitch_std), -25, 25)),
        roll=roll)


def _hsv_colour(rng: np.random.Generator, sat: Tuple[float, float],
                val: Tuple[float, float]) -> Tuple[float, float, float]:
    """Random BGR colour (0..255) with saturation / value in ranges."""
    r, g, b = colorsys.hsv_to_rgb(rng.random(), rng.uniform(*sat),
                                  rng.uniform(*val))
    return (255.0 * b, 255.0 * g, 255.0 * r)


def _sample_texture(rng: np.random.Generator,
                    kinds: Tuple[str, ...],
                    probs: Tuple[float, ...],
                    sat: Tuple[float, float] = (0.15, 0.9),
                    val: Tuple[float, float] = (0.2, 0.95),
                    scale: float = 1.0) -> Texture:
    """Random procedural texture of one of ``kinds``."""
    kind = kinds[rng.choice(len(kinds), p=np.asarray(probs) / sum(probs))]
    return Texture(
        kind=str(kind),
        colour=_hsv_colour(rng, sat, val),
        colour2=_hsv_colour(rng, sat, val),
        period=rng.uniform(3, 10) * scale,
        angle=rng.uniform(0, 180),
        grain=rng.uniform(2, 8))


_SKIN_DARK = np.array([35.0, 50.0, 85.0])  # BGR
_SKIN_LIGHT = np.array([170.0, 200.0, 240.0])
_HAIR = (((20, 18, 18), 0.35), ((30, 45, 70), 0.25), ((110, 170, 200), 0.12),
         ((40, 70, 150), 0.08), ((160, 160, 165), 0.1), ((15, 15, 40), 0.1))


def sample_look(rng: np.random.Generator) -> Look:
    """Random appearance: skin tone, clothing textures, hair."""
    skin = _SKIN_DARK + rng.random() * (_SKIN_LIGHT - _SKIN_DARK)
    skin = skin + rng.uniform(-8, 8, 3)
    hair_idx = rng.choice(len(_HAIR), p=[p for _, p in _HAIR])
    hair = np.asarray(_HAIR[hair_idx][0], dtype=np.float64)
    hair = hair + rng.uniform(-10, 10, 3)
    return Look(
        skin=Texture('solid', tuple(np.clip(skin, 0, 255)), grain=2.0),
        shirt=_sample_texture(rng, ('solid', 'stripes', 'checks', 'blotch'),
                              (0.4, 0.3, 0.1, 0.2)),
        pants=_sample_texture(
            rng, ('solid', 'blotch', 'stripes'), (0.6, 0.25, 0.15),
            val=(0.12, 0.8)),
        shoes=Texture(
            'solid', _hsv_colour(rng, (0.0, 0.6), (0.05, 0.45)), grain=2.0),
        hair=Texture('solid', tuple(np.clip(hair, 0, 255)), grain=6.0),
        long_sleeves=bool(rng.random() < 0.5),
        long_pants=bool(rng.random() < 0.75),
        hair_threshold=(2.0 if rng.random() < 0.05 else rng.uniform(
            -0.25, 0.1)),
        seed=_seed(rng))


# ---------------------------------------------------------------------------
# Kinematics and projection
# ---------------------------------------------------------------------------
def _skeleton(pose: Pose, body: Body) -> Tuple[Dict[str, np.ndarray], Dict]:
    """3D joints of a posed body in the body frame (x: the person's left,
    y: up, z: forward; origin at the pelvis).

    Returns:
        tuple: ``joints`` (name -> (3, ) point, including internal points
        such as ``neck``, ``pelvis``, ``head_centre``, hands and toes) and
        ``frames`` (name -> 3x3 rotation of the pelvis, the middle and upper
        torso and the head).
    """
    rot_low = _rx(pose.pelvis_tilt)
    rot_up = (
        rot_low @ _rz(pose.torso_bend) @ _rx(pose.torso_lean) @ _ry(
            pose.torso_twist))
    rot_mid = (
        rot_low @ _rz(pose.torso_bend / 2) @ _rx(pose.torso_lean / 2) @ _ry(
            pose.torso_twist / 2))
    rot_head = (
        rot_up @ _ry(pose.head_yaw) @ _rx(pose.head_pitch) @ _rz(
            pose.head_roll))
    down = np.array([0.0, -1.0, 0.0])
    j = {'pelvis': np.zeros(3)}
    j['neck'] = rot_up @ np.array([0.0, body.torso, 0.0])
    j['head_centre'] = j['neck'] + rot_head @ np.array(
        [0.0, body.neck + 0.9 * body.head_radius, 0.012])
    frames = dict(low=rot_low, mid=rot_mid, up=rot_up, head=rot_head)
    for i, (side, sgn) in enumerate(_SIDES):
        sh = j['neck'] + rot_up @ np.array(
            [sgn * body.shoulder_half, -0.03, -0.01])
        rot_ua = (
            rot_up @ _rz(sgn * pose.shoulder_abd[i])
            @ _rx(-pose.shoulder_flex[i]) @ _ry(sgn * pose.shoulder_rot[i]))
        rot_fa = rot_ua @ _rx(-pose.elbow_flex[i])
        el = sh + rot_ua @ down * body.upper_arm
        wr = el + rot_fa @ down * body.forearm
        hip = rot_low @ np.array([sgn * body.hip_half, -0.03, 0.0])
        rot_th = (
            rot_low @ _rz(sgn * pose.hip_abd[i]) @ _rx(-pose.hip_flex[i])
            @ _ry(sgn * pose.hip_rot[i]))
        rot_sh = rot_th @ _rx(pose.knee_flex[i])
        kn = hip + rot_th @ down * body.thigh
        an = kn + rot_sh @ down * body.shin
        j.update({
            f'{side}_shoulder':
            sh,
            f'{side}_elbow':
            el,
            f'{side}_wrist':
            wr,
            f'{side}_hand':
            wr + rot_fa @ down * body.hand,
            f'{side}_hip':
            hip,
            f'{side}_knee':
            kn,
            f'{side}_ankle':
            an,
            f'{side}_toe':
            an + rot_sh @ np.array([0.0, -0.03, body.foot]),
        })
    return j, frames


def _face_points(body: Body) -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
    """Head-frame (offset, outward normal) of the face points."""
    r = body.head_radius
    pts = {
        'nose': _unit([0.0, -0.18, 1.0]) * 1.1 * r,
        'mouth': _unit([0.0, -0.5, 0.86]) * r,
    }
    for side, sgn in _SIDES:
        pts[f'{side}_eye'] = _unit([sgn * 0.33, 0.12, 0.93]) * r
        pts[f'{side}_ear'] = _unit([sgn * 0.97, 0.0, -0.22]) * r
    return {k: (v, _unit(v)) for k, v in pts.items()}


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
    joints3d, frames = _skeleton(pose, body)
    cam = _rz(view.roll) @ _rx(view.pitch) @ _ry(view.yaw)

    def to_cam(p: np.ndarray) -> np.ndarray:
        q = cam @ p
        return np.array([q[0] * height, -q[1] * height, q[2] * height])

    def normal_z(n: np.ndarray) -> float:
        return float((cam @ n)[2])

    cam_pts = {k: to_cam(v) for k, v in joints3d.items()}
    face = _face_points(body)
    rot_head = frames['head']
    head_c = joints3d['head_centre']
    face_cam = {
        k: (to_cam(head_c + rot_head @ off), normal_z(rot_head @ n))
        for k, (off, n) in face.items()
    }

    names, xy, depth, facing = [], [], [], []
    for name, p in cam_pts.items():
        if name.endswith(('_hand', '_toe')):
            continue
        names.append(name)
        xy.append(p[:2])
        depth.append(p[2])
        ok = True
        for side, sgn in _SIDES:
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
    shapes: List[_Shape] = []
    h = height
    # torso: convex hull of the projections of three elliptic sections
    sections = [
        _ellipse_ring(
            joints3d['neck'] + frames['up'] @ np.array([0.0, -0.06, 0.0]),
            frames['up'], body.shoulder_half + 0.3 * body.arm_radius,
            body.chest_depth),
        _ellipse_ring(frames['mid'] @ np.array([0.0, 0.5 * body.torso, 0.0]),
                      frames['mid'], 0.8 * body.shoulder_half,
                      0.85 * body.chest_depth),
        _ellipse_ring(frames['low'] @ np.array([0.0, -0.02, 0.0]),
                      frames['low'], body.hip_half + 0.6 * body.thigh_radius,
                      body.hip_depth),
        np.stack([
            joints3d[f'{s}_shoulder'] +
            frames['up'] @ np.array([0.0, 0.4 * body.arm_radius, 0.0])
            for s, _ in _SIDES
        ] + [
            joints3d['neck'] + frames['up'] @ np.array([sg * 0.04, 0.0, 0.0])
            for _, sg in _SIDES
        ])
    ]
    hull3d = np.concatenate(sections)
    hull2d = np.stack([to_cam(p)[:2] for p in hull3d]).astype(np.float32)
    torso_depth = mean_z('neck', 'pelvis') - 0.035 * h
    shapes.append(
        _Shape(PART_TORSO, 'shirt', torso_depth,
               cv2.convexHull(hull2d).reshape(-1, 2)))
    if normal_z(frames['up'] @ np.array([0.0, 0.0, 1.0])) > 0.3:
        # neckline: a front/back cue on the shirt
        base = c2('neck')
        low = to_cam(joints3d['neck'] +
                     frames['up'] @ np.array([0.0, -0.035, 0.0]))[:2]
        shapes.append(
            _Shape(PART_TORSO, 'skin', torso_depth + 1e-3,
                   _capsule(base, low, 0.024 * h, 0.014 * h)))
    neck_top = to_cam(head_c -
                      rot_head @ np.array([0.0, 0.6 * body.head_radius, 0.0]))
    shapes.append(
        _Shape(
            PART_NECK, 'skin', 0.5 * (cam_pts['neck'][2] + neck_top[2]),
            _capsule(
                c2('neck'), neck_top[:2], body.neck_radius * h,
                body.neck_radius * h)))
    limb_specs = []
    for side, _ in _SIDES:
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
            _Shape(part, region, mean_z(a, b),
                   _capsule(c2(a), c2(b), r1 * h, r2 * h)))
    head_cam = to_cam(head_c)
    shapes.append(_Shape(PART_HEAD, 'head', head_cam[2] + 0.02 * h, None))
    shapes.sort(key=lambda s: s.depth)

    # head description
    up3 = cam @ rot_head @ np.array([0.0, 1.0, 0.0])
    up2 = np.array([up3[0], -up3[1]])
    up_norm = float(np.linalg.norm(up2))
    up2 = up2 / up_norm if up_norm > 1e-3 else np.array([0.0, -1.0])
    radius = body.head_radius * h
    ears_back, ears_front = [], []
    for side, _ in _SIDES:
        p, nz = face_cam[f'{side}_ear']
        if nz > 0.3:
            ears_front.append(p[:2])
        elif nz > _FACING_THRESHOLDS['ear']:
            ears_back.append(p[:2])
    eyes = [
        face_cam[f'{s}_eye'][0][:2] for s, _ in _SIDES
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
    head = _Head(
        centre=head_cam[:2],
        radius=radius,
        elong=1.0 + 0.12 * min(up_norm, 1.0),
        up=up2,
        hair_dir=cam @ rot_head @ _unit([0.0, 0.55, -0.85]),
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


# ---------------------------------------------------------------------------
# Scene sampling
# ---------------------------------------------------------------------------
def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) -
             inter)
    return inter / union if union > 0 else 0.0


def _place(rng: np.random.Generator, person: Person, img_size: Tuple[int, int],
           params: SynthPoseParams, prev: Optional[Person]) -> None:
    """Translate a person (centred at the origin) to a random position."""
    w_img, h_img = img_size
    x0, y0, x1, y1 = person.local_extent
    pw, ph = x1 - x0, y1 - y0
    # ranges of the extent's top-left corner that keep the person inside
    lo = np.array([2.0, 2.0])
    hi = np.array([w_img - 2.0 - pw, h_img - 2.0 - ph])
    for k in range(2):
        if lo[k] > hi[k]:
            lo[k] = hi[k] = 0.5 * (lo[k] + hi[k])
    if prev is not None and rng.random() < params.p_close:
        px0, py0, px1, py1 = prev.extent()
        side = 1.0 if rng.random() < 0.5 else -1.0
        gap = rng.uniform(0.35, 0.85) * max(pw, px1 - px0)
        corner = np.array([
            0.5 * (px0 + px1) + side * gap - 0.5 * pw,
            py1 - ph + rng.uniform(-0.15, 0.15) * ph
        ])
        corner = np.clip(corner, lo, hi)
    else:
        corner = rng.uniform(lo, hi)
    if rng.random() < params.p_truncated:
        axis = int(rng.integers(0, 2))
        frac = rng.uniform(*params.truncation)
        size = (pw, ph)[axis]
        if rng.random() < 0.5:
            corner[axis] = -frac * size
        else:
            corner[axis] = img_size[axis] - (1 - frac) * size
    person.translate(corner[0] - x0, corner[1] - y0)


def _sample_polygon(rng: np.random.Generator, centre: np.ndarray,
                    size: float) -> np.ndarray:
    """Random convex polygon (rotated rectangle, ellipse or polygon) of
    about ``size`` pixels, shape (N, 2)."""
    kind = rng.integers(0, 3)
    angle = rng.uniform(0, 180)
    if kind == 0:
        aspect = rng.uniform(0.3, 1.0)
        pts = cv2.boxPoints(((float(centre[0]), float(centre[1])),
                             (float(size), float(size * aspect)), angle))
    elif kind == 1:
        axes = (max(1, int(size / 2)),
                max(1, int(size / 2 * rng.uniform(0.4, 1.0))))
        pts = cv2.ellipse2Poly((int(centre[0]), int(centre[1])), axes,
                               int(angle), 0, 360, 15)
    else:
        n = int(rng.integers(4, 8))
        t = np.sort(rng.uniform(0, 2 * np.pi, n))
        r = size / 2 * rng.uniform(0.5, 1.0, n)
        pts = centre + np.stack([r * np.cos(t), r * np.sin(t)], 1)
        pts = cv2.convexHull(pts.astype(np.float32)).reshape(-1, 2)
    return np.asarray(pts, dtype=np.float32).reshape(-1, 2)


def _occluder_texture(rng: np.random.Generator) -> Texture:
    return _sample_texture(rng, ('solid', 'stripes', 'checks', 'blotch'),
                           (0.3, 0.3, 0.2, 0.2))


def make_occluder(centre: Sequence[float],
                  size: float,
                  rng: Optional[np.random.Generator] = None,
                  texture: Optional[Texture] = None) -> Occluder:
    """An occluder of about ``size`` pixels centred at ``centre``.

    Args:
        centre (Sequence[float]): Image position (x, y).
        size (float): Size in pixels.
        rng (np.random.Generator, optional): If given, a random shape and
            texture; otherwise an axis-aligned grey square.
        texture (Texture, optional): Overrides the texture.

    Returns:
        Occluder: The occluder.
    """
    centre = np.asarray(centre, dtype=np.float64)
    if rng is None:
        half = size / 2
        pts = centre + np.array([[-half, -half], [half, -half], [half, half],
                                 [-half, half]])
        return Occluder(
            pts.astype(np.float32), texture
            or Texture('solid', (128.0, 128.0, 128.0), grain=0.0))
    pts = _sample_polygon(rng, centre, size)
    return Occluder(pts, texture or _occluder_texture(rng), _seed(rng))


def sample_scene(rng: np.random.Generator,
                 img_size: Tuple[int, int] = (256, 256),
                 params: Optional[SynthPoseParams] = None) -> Scene:
    """Random scene: people, occluders, background and photometric
    settings.

    Args:
        rng (np.random.Generator): Random generator.
        img_size (tuple[int, int]): (w, h).
        params (SynthPoseParams, optional): Parameters.

    Returns:
        Scene: The scene (people not yet filtered by visibility).
    """
    params = params or SynthPoseParams()
    w_img, h_img = img_size
    probs = np.asarray(params.person_count_probs, dtype=np.float64)
    num = int(rng.choice(len(probs), p=probs / probs.sum())) + 1
    height_range = params.single_height if num == 1 else params.multi_height
    persons: List[Person] = []
    for _ in range(num):
        person = sample_person(rng, rng.uniform(*height_range) * h_img, params)
        for _attempt in range(10):
            person.offset = np.zeros(2)
            _place(rng, person, img_size, params,
                   persons[-1] if persons else None)
            ext = person.extent()
            if all(
                    _iou(ext, other.extent()) <= params.max_overlap_iou
                    for other in persons):
                persons.append(person)
                break
    # painter's order: smaller (further away) people first
    keys = [p.height * rng.uniform(0.9, 1.1) for p in persons]
    persons = [persons[i] for i in np.argsort(keys, kind='stable')]

    occluders = []
    for person in persons:
        if rng.random() >= params.p_occluder:
            continue
        num_occ = 2 if rng.random() < 0.15 else 1
        kpts = person.keypoints()
        for _ in range(num_occ):
            anchor = kpts[rng.integers(0, len(kpts))]
            centre = anchor + rng.normal(0, 0.05 * person.height, 2)
            size = rng.uniform(*params.occluder_size) * person.height
            occluders.append(make_occluder(centre, size, rng))

    blur = (
        rng.uniform(
            *params.blur_sigma) if rng.random() < params.p_blur else 0.0)
    photometric = dict(
        contrast=rng.uniform(*params.contrast),
        brightness=rng.uniform(-params.brightness, params.brightness),
        cast=rng.uniform(-8, 8, 3),
        noise_std=rng.uniform(*params.noise_std),
        blur_sigma=blur,
        seed=_seed(rng))
    return Scene(
        img_size=(int(w_img), int(h_img)),
        persons=persons,
        occluders=occluders,
        bg_seed=_seed(rng),
        num_bg_shapes=int(
            rng.integers(params.num_bg_shapes[0],
                         params.num_bg_shapes[1] + 1)),
        num_bg_bars=int(
            rng.integers(params.num_bg_bars[0], params.num_bg_bars[1] + 1)),
        photometric=photometric)


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------
def _render_texture(tex: Texture,
                    h: int,
                    w: int,
                    rng: np.random.Generator,
                    grain: Optional[np.ndarray] = None) -> np.ndarray:
    """Render a texture patch.

    Args:
        tex (Texture): The texture.
        h (int): Height.
        w (int): Width.
        rng (np.random.Generator): Random generator (blotches, grain).
        grain (np.ndarray, optional): Unit luminance noise to use instead of
            drawing new noise, shape (h, w, 1).

    Returns:
        np.ndarray: The patch, shape (h, w, 3), float32 in [0, 255].
    """
    c1 = np.asarray(tex.colour, dtype=np.float32)
    c2 = np.asarray(tex.colour2, dtype=np.float32)
    period = max(float(tex.period), 2.0)
    if tex.kind == 'solid':
        out = None
    else:
        ys = np.arange(h, dtype=np.float32)[:, None]
        xs = np.arange(w, dtype=np.float32)[None, :]
        if tex.kind == 'stripes':
            a = math.radians(tex.angle)
            mask = ((xs * math.cos(a) + ys * math.sin(a)) / period) % 1 < 0.5
        elif tex.kind == 'checks':
            mask = ((xs // period + ys // period) % 2) == 0
        elif tex.kind == 'blotch':
            low = rng.random((int(h / period) + 2, int(w / period) + 2),
                             dtype=np.float32)
            mask = cv2.resize(
                low, (w, h), interpolation=cv2.INTER_LINEAR) > 0.5
        else:
            raise ValueError(f'unknown texture kind {tex.kind!r}')
        out = np.where(mask[..., None], c1, c2)
    if tex.grain > 0:
        if grain is None:
            grain = rng.standard_normal((h, w, 1), dtype=np.float32)
        noise = grain * np.float32(tex.grain)
        out = c1 + noise if out is None else out + noise
    elif out is None:
        out = np.broadcast_to(c1, (h, w, 3)).copy()
    return np.clip(out, 0, 255, out=out)


def _fill(img: np.ndarray,
          labels: Optional[np.ndarray],
          pts: np.ndarray,
          label: int,
          src: Union[np.ndarray, Sequence[float]],
          origin: Tuple[int, int] = (0, 0),
          outline: Optional[Sequence[float]] = None) -> None:
    """Fill a convex polygon in the image and the label buffer.

    Args:
        img (np.ndarray): Image, shape (H, W, 3), uint8 or float32.
        labels (np.ndarray, optional): Label buffer, shape (H, W), uint16.
        pts (np.ndarray): Polygon vertices, shape (N, 2).
        label (int): Value written to the label buffer.
        src (np.ndarray | Sequence[float]): A BGR colour, or a texture
            (shape (h, w, 3)) whose top-left pixel is at ``origin``.
        origin (tuple[int, int]): Image position of the texture's (0, 0).
        outline (Sequence[float], optional): Outline colour.
    """
    h, w = img.shape[:2]
    x0 = max(int(math.floor(float(pts[:, 0].min()))), 0)
    y0 = max(int(math.floor(float(pts[:, 1].min()))), 0)
    x1 = min(int(math.ceil(float(pts[:, 0].max()))) + 1, w)
    y1 = min(int(math.ceil(float(pts[:, 1].max()))) + 1, h)
    if x0 < x1 and y0 < y1:
        mask = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
        local = np.round((pts - (x0, y0)) * 16).astype(np.int32)
        cv2.fillConvexPoly(mask, local, 1, cv2.LINE_8, 4)
        m = mask.view(bool)
        if labels is not None:
            np.copyto(labels[y0:y1, x0:x1], label, where=m)
        if isinstance(src, np.ndarray) and src.ndim == 3:
            ox, oy = origin
            src = src[y0 - oy:y1 - oy, x0 - ox:x1 - ox]
        else:
            src = np.asarray(src, dtype=np.float32)
        np.copyto(img[y0:y1, x0:x1], src, where=m[..., None], casting='unsafe')
    if outline is not None:
        cv2.polylines(img, [np.round(pts * 16).astype(np.int32)], True,
                      tuple(float(c) for c in outline), 1, cv2.LINE_AA, 4)


def _circle(c: np.ndarray, r: float) -> np.ndarray:
    return (c + r * _CIRCLE).astype(np.float32)


def _draw_head(img: np.ndarray, labels: np.ndarray, head: _Head,
               offset: np.ndarray, label: int, skin: np.ndarray,
               hair: np.ndarray, origin: Tuple[int, int],
               skin_colour: np.ndarray) -> None:
    """Draw a head per pixel: an ellipse shaded as a sphere, split into hair
    and skin by the sphere normal, with ears and facial marks."""
    h_img, w_img = labels.shape
    dark_skin = 0.75 * skin_colour
    for ear in head.ears_back:
        _fill(
            img,
            labels,
            _circle(ear + offset, head.ear_radius),
            label,
            dark_skin,
            outline=0.5 * skin_colour)
    cx, cy = head.centre + offset
    r, e = head.radius, head.elong
    x0, x1 = max(int(cx - r * e) - 1, 0), min(int(cx + r * e) + 2, w_img)
    y0, y1 = max(int(cy - r * e) - 1, 0), min(int(cy + r * e) + 2, h_img)
    if x0 < x1 and y0 < y1:
        dx = np.arange(x0, x1, dtype=np.float32)[None, :] - np.float32(cx)
        dy = np.arange(y0, y1, dtype=np.float32)[:, None] - np.float32(cy)
        ux, uy = head.up
        a = (dx * ux + dy * uy) / (r * e)  # along the head's up axis
        b = (-dx * uy + dy * ux) / r  # across it
        rr = a * a + b * b
        inside = rr <= 1.0
        if inside.any():
            nz = np.sqrt(np.maximum(1.0 - rr, 0.0))
            nx = b * -uy + a * ux  # image-plane direction (x right, y down)
            ny = -(b * ux + a * uy)  # camera y is up
            hd = head.hair_dir
            is_hair = (nx * hd[0] + ny * hd[1] + nz * hd[2]) > \
                head.hair_threshold
            shade = (0.72 + 0.28 * nz)[..., None]
            sl = (slice(y0 - origin[1],
                        y1 - origin[1]), slice(x0 - origin[0], x1 - origin[0]))
            colour = np.where(is_hair[..., None], hair[sl], skin[sl]) * shade
            img[y0:y1, x0:x1][inside] = colour[inside]
            labels[y0:y1, x0:x1][inside] = label
    angle = math.degrees(math.atan2(-head.up[0], head.up[1]))
    cv2.ellipse(img, (int(round(cx * 16)), int(round(cy * 16))),
                (int(round(r * 16)), int(round(r * e * 16))), angle, 0, 360,
                tuple(float(c) for c in 0.5 * skin_colour), 1, cv2.LINE_AA, 4)
    for ear in head.ears_front:
        _fill(
            img,
            labels,
            _circle(ear + offset, head.ear_radius),
            label,
            dark_skin,
            outline=0.5 * skin_colour)
    if head.nose is not None:
        _fill(
            img,
            labels,
            _circle(head.nose + offset, 0.16 * r),
            label,
            0.85 * skin_colour,
            outline=0.6 * skin_colour)
    eye_r = max(0.8, 0.13 * r)
    for eye in head.eyes:
        p = eye + offset
        if r >= 9:
            cv2.circle(img, (int(round(p[0] * 16)), int(round(p[1] * 16))),
                       int(round(eye_r * 1.6 * 16)), (235, 235, 235), -1,
                       cv2.LINE_AA, 4)
        cv2.circle(img, (int(round(p[0] * 16)), int(round(p[1] * 16))),
                   int(round(eye_r * 16)), (25, 20, 20), -1, cv2.LINE_AA, 4)
    if head.mouth is not None:
        p, q = head.mouth[0] + offset, head.mouth[1] + offset
        cv2.line(img, (int(round(p[0] * 16)), int(round(p[1] * 16))),
                 (int(round(q[0] * 16)), int(round(q[1] * 16))), (60, 50, 140),
                 1, cv2.LINE_AA, 4)


def _draw_person(img: np.ndarray, labels: np.ndarray, person: Person,
                 index: int) -> None:
    """Draw a person's parts in painter's order into the image and the label
    buffer (label ``(index + 1) << 4 | part``)."""
    h_img, w_img = labels.shape
    ext = person.extent()
    x0, y0 = max(int(math.floor(ext[0])) - 2,
                 0), max(int(math.floor(ext[1])) - 2, 0)
    x1, y1 = min(int(math.ceil(ext[2])) + 3,
                 w_img), min(int(math.ceil(ext[3])) + 3, h_img)
    if x0 >= x1 or y0 >= y1:
        return
    rng = np.random.default_rng(person.look.seed)
    look = person.look
    grain = rng.standard_normal((y1 - y0, x1 - x0, 1), dtype=np.float32)
    textures = {
        region:
        _render_texture(getattr(look, region), y1 - y0, x1 - x0, rng, grain)
        for region in ('skin', 'shirt', 'pants', 'shoes', 'hair')
    }
    outlines = {
        region: 0.55 * np.asarray(getattr(look, region).colour)
        for region in textures
    }
    base = (index + 1) << _PART_BITS
    for shape in person.shapes:
        if shape.pts is None:
            _draw_head(img, labels, person.head, person.offset,
                       base | PART_HEAD, textures['skin'], textures['hair'],
                       (x0, y0), np.asarray(look.skin.colour))
        else:
            _fill(img, labels, shape.pts + person.offset.astype(np.float32),
                  base | shape.part, textures[shape.region], (x0, y0),
                  outlines[shape.region])


def _draw_background(img: np.ndarray, scene: Scene) -> None:
    """Gradient, low-frequency colour blotches, random shapes, textured
    patches and limb-like bars."""
    rng = np.random.default_rng(scene.bg_seed)
    h, w = img.shape[:2]
    c0, c1 = rng.uniform(20, 235, (2, 3)).astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    t = (
        np.arange(w, dtype=np.float32)[None, :] * math.cos(angle) +
        np.arange(h, dtype=np.float32)[:, None] * math.sin(angle))
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    low = rng.uniform(-35, 35, (int(rng.integers(2, 6)), int(
        rng.integers(2, 6)), 3)).astype(np.float32)
    bg = c0 + (c1 - c0) * t[..., None] + cv2.resize(
        low, (w, h), interpolation=cv2.INTER_CUBIC)
    img[:] = np.clip(bg, 0, 255).astype(np.uint8)
    size = min(w, h)
    for _ in range(scene.num_bg_shapes):
        kind = int(rng.integers(0, 6))
        colour = tuple(float(c) for c in rng.uniform(0, 255, 3))
        centre = rng.uniform(0, 1, 2) * (w, h)
        extent = rng.uniform(0.04, 0.35) * size
        if kind == 0:  # line
            p = centre + rng.normal(0, extent, 2)
            cv2.line(img, tuple(int(v) for v in centre),
                     tuple(int(v) for v in p), colour, int(rng.integers(1, 4)),
                     cv2.LINE_AA)
        elif kind == 1:  # outlined shape
            pts = _sample_polygon(rng, centre, extent)
            cv2.polylines(img, [np.round(pts).astype(np.int32)], True, colour,
                          int(rng.integers(1, 4)), cv2.LINE_AA)
        elif kind == 2:  # textured patch
            pts = _sample_polygon(rng, centre, extent)
            bx, by = np.floor(pts.min(0)).astype(int)
            bw, bh = np.ceil(pts.max(0)).astype(int) - (bx, by) + 2
            tex = _render_texture(_occluder_texture(rng), bh, bw, rng)
            _fill(img, None, pts, 0, tex, (bx, by))
        else:  # filled shape
            _fill(img, None, _sample_polygon(rng, centre, extent), 0, colour)
    for _ in range(scene.num_bg_bars):
        # a jointed chain of capsules that looks like a limb
        if rng.random() < 0.5:
            colour = _SKIN_DARK + rng.random() * (_SKIN_LIGHT - _SKIN_DARK)
        else:
            colour = np.asarray(_hsv_colour(rng, (0.1, 0.9), (0.15, 0.9)))
        p = rng.uniform(0, 1, 2) * (w, h)
        radius = rng.uniform(0.015, 0.05) * size
        direction = rng.uniform(0, 2 * np.pi)
        for _seg in range(int(rng.integers(1, 4))):
            direction += rng.normal(0, 0.8)
            length = rng.uniform(0.08, 0.25) * size
            q = p + length * np.array(
                [math.cos(direction), math.sin(direction)])
            r2 = radius * rng.uniform(0.75, 1.05)
            _fill(
                img,
                None,
                _capsule(p, q, radius, r2),
                0,
                colour,
                outline=0.55 * colour)
            p, radius = q, r2


def _photometric(img: np.ndarray, spec: Dict) -> np.ndarray:
    """Contrast / brightness / colour cast, pixel noise and blur."""
    out = img.astype(np.float32)
    out *= np.float32(spec['contrast'])
    out += (
        np.float32(spec['brightness'] + 0.5) +
        np.asarray(spec['cast'], dtype=np.float32))
    if spec['noise_std'] > 0:
        # luminance noise plus weaker colour noise at half resolution
        rng = np.random.default_rng(spec['seed'])
        h, w = out.shape[:2]
        std = np.float32(spec['noise_std'])
        noise = rng.standard_normal((h, w, 1), dtype=np.float32) * std
        chroma = rng.standard_normal(
            ((h + 1) // 2, (w + 1) // 2, 3), dtype=np.float32) * (0.5 * std)
        out += noise
        out += cv2.resize(chroma, (w, h), interpolation=cv2.INTER_NEAREST)
    if spec['blur_sigma'] > 0:
        out = cv2.GaussianBlur(out, (0, 0), spec['blur_sigma'])
    np.clip(out, 0, 255, out=out)
    return out.astype(np.uint8)


def render_scene(scene: Scene,
                 photometric: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    """Render a scene.

    Args:
        scene (Scene): The scene.
        photometric (bool): Apply the photometric noise / blur.

    Returns:
        tuple:
        - img (np.ndarray): BGR image, shape (h, w, 3), uint8.
        - labels (np.ndarray): Label buffer, shape (h, w), uint16: 0 for the
          background, ``(i + 1) << 4 | part`` for part ``part`` of person
          ``i`` and :data:`OCCLUDER_LABEL` for occluders.
    """
    w, h = scene.img_size
    img = np.empty((h, w, 3), dtype=np.uint8)
    labels = np.zeros((h, w), dtype=np.uint16)
    _draw_background(img, scene)
    for i, person in enumerate(scene.persons):
        _draw_person(img, labels, person, i)
    for occ in scene.occluders:
        pts = occ.pts
        bx, by = np.floor(pts.min(0)).astype(int)
        bw, bh = np.ceil(pts.max(0)).astype(int) - (bx, by) + 2
        tex = _render_texture(occ.texture, bh, bw,
                              np.random.default_rng(occ.seed))
        _fill(img, labels, pts, OCCLUDER_LABEL, tex, (bx, by),
              0.5 * np.asarray(occ.texture.colour))
    if photometric and scene.photometric:
        img = _photometric(img, scene.photometric)
    return img, labels


def annotate_scene(scene: Scene,
                   labels: np.ndarray,
                   keypoint_names: Sequence[str],
                   params: Optional[SynthPoseParams] = None) -> List[Dict]:
    """COCO annotations of the people of a rendered scene (unfiltered).

    Args:
        scene (Scene): The scene.
        labels (np.ndarray): Its label buffer from :func:`render_scene`.
        keypoint_names (Sequence[str]): Output keypoint order (COCO).
        params (SynthPoseParams, optional): Parameters.

    Returns:
        list[dict]: One dict per person with ``keypoints`` (shape (K, 3):
        x, y, v; v=0 rows are zero), ``bbox`` ([x, y, w, h] of the visible
        pixels, or None), ``area`` (visible pixel count) and
        ``num_keypoints``.
    """
    params = params or SynthPoseParams()
    w, h = scene.img_size
    owner = labels >> _PART_BITS
    parts = labels & ((1 << _PART_BITS) - 1)
    anns = []
    for i, person in enumerate(scene.persons):
        pid = i + 1
        mask = owner == pid
        area = int(np.count_nonzero(mask))
        bbox = None
        if area:
            cols = np.flatnonzero(mask.any(0))
            rows = np.flatnonzero(mask.any(1))
            bbox = [
                float(cols[0]),
                float(rows[0]),
                float(cols[-1] - cols[0] + 1),
                float(rows[-1] - rows[0] + 1)
            ]
        kpts = np.zeros((len(keypoint_names), 3), dtype=np.float64)
        all_xy = person.keypoints()
        for k, name in enumerate(keypoint_names):
            j = person.joint_names.index(name)
            x, y = all_xy[j]
            if not (0.0 <= x <= w - 1 and 0.0 <= y <= h - 1):
                continue
            px, py = int(round(x)), int(round(y))
            lab_owner, lab_part = int(owner[py, px]), int(parts[py, px])
            on_self = (
                labels[py, px] == 0
                or (lab_owner == pid and lab_part in JOINT_PARTS[name]))
            visible = bool(person.facing[j]) and on_self
            if (not person.facing[j] and name.split('_')[-1] in _FACE_JOINTS
                    and params.face_self_occlusion_v == 0):
                continue
            kpts[k] = (x, y, 2 if visible else 1)
        anns.append(
            dict(
                keypoints=kpts,
                bbox=bbox,
                area=area,
                num_keypoints=int(np.count_nonzero(kpts[:, 2]))))
    return anns


def _keep(ann: Dict, params: SynthPoseParams) -> bool:
    return (ann['num_keypoints'] >= params.min_keypoints
            and ann['area'] >= params.min_area)


def render_image(
    rng: np.random.Generator,
    img_size: Tuple[int, int] = (256, 256),
    params: Optional[SynthPoseParams] = None,
    keypoint_names: Optional[Sequence[str]] = None
) -> Tuple[np.ndarray, List[Dict]]:
    """Sample and render one image with its annotations.

    People that would get fewer than ``params.min_keypoints`` labelled
    keypoints or fewer than ``params.min_area`` visible pixels are removed
    from the scene before the final rendering (removing a person only
    uncovers the others, so the remaining people still qualify). If no one
    is left, a new scene is sampled (up to 10 times).

    Args:
        rng (np.random.Generator): Random generator (consumed).
        img_size (tuple[int, int]): (w, h).
        params (SynthPoseParams, optional): Parameters.
        keypoint_names (Sequence[str], optional): Output keypoint order;
            defaults to MMPose's COCO metainfo.

    Returns:
        tuple:
        - img (np.ndarray): BGR image, shape (h, w, 3), uint8.
        - anns (list[dict]): See :func:`annotate_scene`.
    """
    params = params or SynthPoseParams()
    names = (
        list(keypoint_names)
        if keypoint_names is not None else coco_keypoint_names())
    for _ in range(10):
        scene = sample_scene(rng, img_size, params)
        img, labels = render_scene(scene)
        anns = annotate_scene(scene, labels, names, params)
        keep = [_keep(a, params) for a in anns]
        if not all(keep):
            scene.persons = [p for p, k in zip(scene.persons, keep) if k]
            img, labels = render_scene(scene)
            anns = [
                a for a in annotate_scene(scene, labels, names, params)
                if _keep(a, params)
            ]
        if anns:
            break
    return img, anns


# ---------------------------------------------------------------------------
# Data set generation
# ---------------------------------------------------------------------------
def _ann_to_json(ann: Dict) -> Dict:
    """JSON-ready (rounded) version of one annotation."""
    kpts = []
    for x, y, v in ann['keypoints']:
        if v > 0:
            kpts += [round(float(x), 2), round(float(y), 2), int(v)]
        else:
            kpts += [0, 0, 0]
    return dict(
        bbox=[round(float(c), 2) for c in ann['bbox']],
        area=int(ann['area']),
        num_keypoints=int(ann['num_keypoints']),
        keypoints=kpts)


def _render_task(task: Tuple) -> Tuple[str, int, List[Dict]]:
    """Render, encode and write one image; returns its annotations."""
    split, index, seed, img_size, params, names, path = task
    img, anns = render_image(
        image_rng(seed, split, index), img_size, params, names)
    ok, buf = cv2.imencode('.jpg', img,
                           [cv2.IMWRITE_JPEG_QUALITY, params.jpeg_quality])
    if not ok:
        raise RuntimeError(f'could not encode {path}')
    with open(path, 'wb') as f:
        f.write(buf.tobytes())
    return split, index, [_ann_to_json(a) for a in anns]


def _check_args(num_train: int, num_val: int, seed: int,
                img_size: Tuple[int, int], workers: Optional[int]) -> None:
    for name, value in (('num_train', num_train), ('num_val', num_val)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f'{name} must be an int, got {value!r}')
        if value < 0:
            raise ValueError(f'{name} must be >= 0, got {value}')
    if num_train + num_val == 0:
        raise ValueError('num_train + num_val must be > 0')
    if (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
            or seed < 0):
        raise ValueError(f'seed must be a non-negative int, got {seed!r}')
    if (not isinstance(img_size, (tuple, list)) or len(img_size) != 2
            or not all(
                isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                for v in img_size)
            or not all(32 <= v <= 4096 for v in img_size)):
        raise ValueError('img_size must be a (w, h) pair of ints in '
                         f'[32, 4096], got {img_size!r}')
    if workers is not None and (isinstance(workers, bool)
                                or not isinstance(workers, (int, np.integer))
                                or workers < 1):
        raise ValueError(f'workers must be None or an int >= 1, got '
                         f'{workers!r}')


def _coco_dict(split: str, records: List[List[Dict]], names: List[str],
               skeleton: List[List[int]], seed: int, img_size: Tuple[int, int],
               params: SynthPoseParams) -> Dict:
    """Assemble the COCO keypoints dict of one split."""
    w, h = img_size
    images, annotations = [], []
    for index, anns in enumerate(records):
        image_id = index + 1
        images.append(
            dict(
                id=image_id,
                file_name=f'{image_id:012d}.jpg',
                width=w,
                height=h))
        for ann in anns:
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=image_id,
                    category_id=1,
                    bbox=ann['bbox'],
                    area=ann['area'],
                    iscrowd=0,
                    num_keypoints=ann['num_keypoints'],
                    keypoints=ann['keypoints']))
    info = dict(
        description='SynthPose: synthetic 2D human pose data set '
        '(probpose_ext.datasets.synthpose)',
        version=GENERATOR_VERSION,
        split=split,
        seed=int(seed),
        img_size=[w, h],
        params=dataclasses.asdict(params))
    categories = [
        dict(
            id=1,
            name='person',
            supercategory='person',
            keypoints=names,
            skeleton=skeleton)
    ]
    return dict(
        info=info,
        licenses=[],
        images=images,
        annotations=annotations,
        categories=categories)


def make_synthpose(out_dir: Union[str, os.PathLike],
                   num_train: int = 3000,
                   num_val: int = 500,
                   seed: int = 0,
                   img_size: Tuple[int, int] = (256, 256),
                   workers: Optional[int] = None,
                   force: bool = False,
                   progress: bool = True,
                   params: Optional[SynthPoseParams] = None) -> Dict:
    """Generate the SynthPose data set in COCO keypoint format.

    The data set is built in the temporary sibling ``OUT_DIR.tmp-<pid>`` and
    renamed into place at the end, so an error or an interruption never
    leaves a partial ``OUT_DIR``. The output is byte-identical for identical
    arguments whatever ``workers`` is.

    Args:
        out_dir (str | PathLike): Output directory (must not exist unless
            ``force``).
        num_train (int): Number of training images.
        num_val (int): Number of validation images.
        seed (int): Non-negative base seed.
        img_size (tuple[int, int]): Image size (w, h).
        workers (int, optional): Number of processes; ``None`` uses
            ``os.cpu_count()``; 1 renders in this process.
        force (bool): Replace an existing ``out_dir``.
        progress (bool): Show a tqdm progress bar.
        params (SynthPoseParams, optional): Generation parameters.

    Returns:
        dict: Summary with ``out_dir``, ``num_images``, ``num_instances``,
        ``keypoints`` (counts per visibility ``v0``/``v1``/``v2``),
        ``elapsed_s`` and per-split entries under ``splits`` (the same
        counts plus ``img_dir`` and ``ann_file``).
    """
    _check_args(num_train, num_val, seed, img_size, workers)
    params = params or SynthPoseParams()
    if not isinstance(params, SynthPoseParams):
        raise TypeError('params must be a SynthPoseParams')
    params.validate()
    img_size = (int(img_size[0]), int(img_size[1]))
    out_dir = Path(out_dir).expanduser().absolute()
    check_output_dir(out_dir, force)
    workers = (os.cpu_count() or 1) if workers is None else int(workers)

    meta = load_coco_metainfo()
    names = coco_keypoint_names()
    skeleton = [[int(a) + 1, int(b) + 1] for a, b in meta['skeleton_links']]
    counts = {'train': int(num_train), 'val': int(num_val)}

    start = time.perf_counter()
    with atomic_output_dir(out_dir, force) as tmp:
        (tmp / 'annotations').mkdir()
        tasks = []
        for split in SPLITS:
            (tmp / split).mkdir()
            tasks += [(split, i, int(seed), img_size, params, names,
                       str(tmp / split / f'{i + 1:012d}.jpg'))
                      for i in range(counts[split])]
        records: Dict[str, List] = {s: [None] * counts[s] for s in SPLITS}
        with worker_map(min(workers, len(tasks))) as imap, tqdm(
                total=len(tasks),
                desc='SynthPose',
                unit='img',
                disable=not progress) as bar:
            for split, index, anns in imap(_render_task, tasks):
                records[split][index] = anns
                bar.update(1)

        summary = dict(
            out_dir=str(out_dir),
            seed=int(seed),
            img_size=list(img_size),
            splits={})
        for split in SPLITS:
            coco = _coco_dict(split, records[split], names, skeleton, seed,
                              img_size, params)
            ann_file = tmp / 'annotations' / f'person_keypoints_{split}.json'
            ann_file.write_text(
                json.dumps(coco, separators=(',', ':')) + '\n',
                encoding='utf-8')
            vis = np.zeros(3, dtype=np.int64)
            for ann in coco['annotations']:
                vis += np.bincount(ann['keypoints'][2::3], minlength=3)
            summary['splits'][split] = dict(
                num_images=len(coco['images']),
                num_instances=len(coco['annotations']),
                keypoints={f'v{v}': int(vis[v])
                           for v in range(3)},
                img_dir=str(out_dir / split),
                ann_file=str(out_dir / 'annotations' /
                             f'person_keypoints_{split}.json'))

    splits = summary['splits']
    summary['num_images'] = sum(s['num_images'] for s in splits.values())
    summary['num_instances'] = sum(s['num_instances'] for s in splits.values())
    summary['keypoints'] = {
        f'v{v}': sum(s['keypoints'][f'v{v}'] for s in splits.values())
        for v in range(3)
    }
    summary['elapsed_s'] = round(time.perf_counter() - start, 2)
    return summary
