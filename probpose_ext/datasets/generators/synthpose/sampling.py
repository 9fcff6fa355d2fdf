"""Random people for SynthPose: poses within the joint limits, body
proportions, viewpoints and appearance (skin, clothing textures, hair).

The order of the random draws is part of the data set: changing it changes
every image of a given seed.
"""
import colorsys
import dataclasses
from typing import Optional, Tuple

import numpy as np

from ..common import child_seed
from ..kinematics import POSE_LIMITS, Body, Pose
from .params import Look, SynthPoseParams, Texture, View

__all__ = [
    'sample_pose', 'sample_body', 'sample_view', 'sample_look', 'hsv_colour',
    'sample_texture', 'occluder_texture', 'SKIN_DARK', 'SKIN_LIGHT'
]


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


def hsv_colour(rng: np.random.Generator, sat: Tuple[float, float],
               val: Tuple[float, float]) -> Tuple[float, float, float]:
    """Random BGR colour (0..255) with saturation / value in ranges."""
    r, g, b = colorsys.hsv_to_rgb(rng.random(), rng.uniform(*sat),
                                  rng.uniform(*val))
    return (255.0 * b, 255.0 * g, 255.0 * r)


def sample_texture(rng: np.random.Generator,
                   kinds: Tuple[str, ...],
                   probs: Tuple[float, ...],
                   sat: Tuple[float, float] = (0.15, 0.9),
                   val: Tuple[float, float] = (0.2, 0.95),
                   scale: float = 1.0) -> Texture:
    """Random procedural texture of one of ``kinds``."""
    kind = kinds[rng.choice(len(kinds), p=np.asarray(probs) / sum(probs))]
    return Texture(
        kind=str(kind),
        colour=hsv_colour(rng, sat, val),
        colour2=hsv_colour(rng, sat, val),
        period=rng.uniform(3, 10) * scale,
        angle=rng.uniform(0, 180),
        grain=rng.uniform(2, 8))


SKIN_DARK = np.array([35.0, 50.0, 85.0])  # BGR
SKIN_LIGHT = np.array([170.0, 200.0, 240.0])
_HAIR = (((20, 18, 18), 0.35), ((30, 45, 70), 0.25), ((110, 170, 200), 0.12),
         ((40, 70, 150), 0.08), ((160, 160, 165), 0.1), ((15, 15, 40), 0.1))


def sample_look(rng: np.random.Generator) -> Look:
    """Random appearance: skin tone, clothing textures, hair."""
    skin = SKIN_DARK + rng.random() * (SKIN_LIGHT - SKIN_DARK)
    skin = skin + rng.uniform(-8, 8, 3)
    hair_idx = rng.choice(len(_HAIR), p=[p for _, p in _HAIR])
    hair = np.asarray(_HAIR[hair_idx][0], dtype=np.float64)
    hair = hair + rng.uniform(-10, 10, 3)
    return Look(
        skin=Texture('solid', tuple(np.clip(skin, 0, 255)), grain=2.0),
        shirt=sample_texture(rng, ('solid', 'stripes', 'checks', 'blotch'),
                             (0.4, 0.3, 0.1, 0.2)),
        pants=sample_texture(
            rng, ('solid', 'blotch', 'stripes'), (0.6, 0.25, 0.15),
            val=(0.12, 0.8)),
        shoes=Texture(
            'solid', hsv_colour(rng, (0.0, 0.6), (0.05, 0.45)), grain=2.0),
        hair=Texture('solid', tuple(np.clip(hair, 0, 255)), grain=6.0),
        long_sleeves=bool(rng.random() < 0.5),
        long_pants=bool(rng.random() < 0.75),
        hair_threshold=(2.0 if rng.random() < 0.05 else rng.uniform(
            -0.25, 0.1)),
        seed=child_seed(rng))


def occluder_texture(rng: np.random.Generator) -> Texture:
    """Random texture of an occluder or a background patch."""
    return sample_texture(rng, ('solid', 'stripes', 'checks', 'blotch'),
                          (0.3, 0.3, 0.2, 0.2))
