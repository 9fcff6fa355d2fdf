"""SynthPose parameters, appearance value types and the layout of the
label buffer.

:class:`SynthPoseParams` holds every knob of the generated data's difficulty;
:class:`View`, :class:`Texture` and :class:`Look` describe how one person is
seen and dressed. The label buffer gives every pixel an owner and a body
part (``PART_*``), from which keypoint visibility is decided.
"""
from dataclasses import dataclass
from typing import Dict, Tuple

from ..kinematics import SIDES

__all__ = [
    'SynthPoseParams', 'View', 'Texture', 'Look', 'PART_HEAD', 'PART_NECK',
    'PART_TORSO', 'PART_UPPER_ARM', 'PART_FOREARM', 'PART_THIGH', 'PART_SHIN',
    'OCCLUDER_LABEL', 'PART_BITS', 'JOINT_PARTS'
]

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
PART_BITS = 4
_MAX_PERSONS = (OCCLUDER_LABEL >> PART_BITS) - 1


def _side_joint_parts() -> Dict[str, Tuple[int, ...]]:
    """Body parts whose pixels make each joint count as visible."""
    parts = {'nose': (PART_HEAD, )}
    for side, _ in SIDES:
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
