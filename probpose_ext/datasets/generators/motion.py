"""Parametric human motions: joint-angle trajectories, root paths and
subject bodies for the sequence generators (SynthMotion).

Actions (:data:`ACTIONS`):

* ``walk``: walking around a circle of 0.8-1.4 m radius, the arms swinging
  against the legs, at a speed that follows the stride.
* ``reach``: reaching with one arm to a target low in front, ahead or up
  high (leaning and bending the knees for low targets), and back.
* ``squat``: repeated squats with the arms forward as a counterweight.
* ``turn``: turning on the spot by 60-180 degrees at a time, stepping in
  place, the head and the torso leading.
* ``jump``: repeated vertical jumps: crouch, take-off with the arms swinging
  up, flight, landing.
* ``sit``: sitting down on an (invisible) chair, staying seated, standing
  up.
* ``wave``: raising one arm, waving the hand, lowering the arm.
* ``box``: a boxing guard with a bouncing stance and alternating punches.

Extra actions (:data:`EXTRA_ACTIONS`, not in the SynthMotion default
:data:`ACTIONS`; :data:`ALL_ACTIONS` has all twelve):

* ``run``: running around a circle of 1.3-1.8 m radius at 2.5-3.5 m/s,
  a faster cadence and larger hip and knee swings than ``walk``, the
  elbows bent, the torso leaning forward, a short flight every step.
* ``kick``: repeated front kicks with one leg (chamber with the knee bent,
  snap with the knee extended, re-chamber, down), the arms in a guard, a
  slight lean back, a rest between kicks.
* ``clap``: clapping in front of the chest at 1.5-3 Hz, the arms forward
  with bent elbows, the wrists nearly meeting at every clap.
* ``jumping_jack``: jumping jacks at 1-1.5 Hz: the legs spread and the
  arms swing from the sides to overhead, a small jump at every change.

Every action is a deterministic function of a few per-sequence random
numbers (amplitudes, tempo, phase, side, durations) drawn from a
``np.random.Generator``, plus a small smooth random perturbation of every
angle (:func:`smooth_noise`); the angles are clipped to the joint limits.
Periodic and transient parts are sinusoids and smooth-step blends
(:func:`cycle_profile`), so the joints move smoothly. The pelvis height
puts the lowest sole point (heel below the ankle, or toe) on the floor
z = 0 in every frame; jumps add a lift on top.

The module is about 530 lines, a third of them docstrings; it is not
split because the twelve action functions share the angle helpers
(:class:`_Angles`, :func:`cycle_profile`, the bumps) and form one
catalogue that :func:`sample_motion` dispatches on.

Note:
    - T: number of frames
    - D: number of joint angles (``kinematics.ANGLE_NAMES``)
    - B: number of body parameters (``kinematics.BODY_FIELDS``)
    - J: number of model joints (``kinematics.JOINT_NAMES``)
"""
from typing import Callable, Dict, NamedTuple, Sequence, Tuple, Union

import numpy as np

from .kinematics import (ANGLE_NAMES, BODY_FIELDS, JOINT_NAMES, SIDES, Body,
                         Pose, body_to_array, body_to_world, clip_angles,
                         forward_kinematics, pose_to_angles)

__all__ = [
    'ACTIONS', 'EXTRA_ACTIONS', 'ALL_ACTIONS', 'HEIGHT_RANGE', 'Motion',
    'subject_body', 'smooth_noise', 'cycle_profile', 'sample_motion'
]

#: Names of the actions of :func:`sample_motion`.
ACTIONS: Tuple[str, ...] = ('walk', 'reach', 'squat', 'turn', 'jump', 'sit',
                            'wave', 'box')
#: Actions added after SynthMotion's release (not in its default
#: :data:`ACTIONS`, which must not change).
EXTRA_ACTIONS: Tuple[str, ...] = ('run', 'kick', 'clap', 'jumping_jack')
#: Every action of :func:`sample_motion`.
ALL_ACTIONS: Tuple[str, ...] = ACTIONS + EXTRA_ACTIONS
#: Range of the subjects' standing heights in metres.
HEIGHT_RANGE: Tuple[float, float] = (1.55, 1.95)

_IDX = {name: i for i, name in enumerate(ANGLE_NAMES)}
_GRAVITY = 9.81
# height of the heel (sole) below the ankle joint, in body units: the rest
# pose's toe is this far below the ankle, so heel and toe touch together
_HEEL = 0.03
_ANKLES = [JOINT_NAMES.index(f'{s}_ankle') for s, _ in SIDES]
_TOES = [JOINT_NAMES.index(f'{s}_toe') for s, _ in SIDES]
# std (degrees) of the smooth perturbation and of the per-sequence style
# offsets: larger for the head, smaller for the pelvis
_NOISE_STD = np.array([
    4.0 if n.startswith('head') else 1.0 if n == 'pelvis_tilt' else 2.5
    for n in ANGLE_NAMES
])


class Motion(NamedTuple):
    """One posed and placed sequence.

    Attributes:
        angles (np.ndarray): Clipped joint angles in ``ANGLE_NAMES`` order
            (degrees), shape (T, D).
        translation (np.ndarray): World position of the pelvis (metres,
            z-up), shape (T, 3).
        heading (np.ndarray): Heading (degrees, see
            ``kinematics.body_to_world``), shape (T, ).
        joints (np.ndarray): World joints in ``JOINT_NAMES`` order
            (metres), shape (T, J, 3).
    """
    angles: np.ndarray
    translation: np.ndarray
    heading: np.ndarray
    joints: np.ndarray


def subject_body(rng: np.random.Generator) -> Tuple[np.ndarray, float]:
    """Draw the proportions and the size of one subject.

    Args:
        rng (np.random.Generator): Random generator.

    Returns:
        tuple:
        - body (np.ndarray): The default :class:`Body` with every field
          scaled by a factor in [0.96, 1.04], shape (B, ).
        - height (float): Standing height in metres, in
          :data:`HEIGHT_RANGE`.
    """
    base = body_to_array(Body())
    body = base * rng.uniform(0.96, 1.04, base.shape)
    return body, float(rng.uniform(*HEIGHT_RANGE))


def smooth_noise(rng: np.random.Generator, num_frames: int, fps: float,
                 std: Union[float, np.ndarray], channels: int) -> np.ndarray:
    """Smooth zero-mean random signals: sums of four sinusoids of random
    frequency (0.05-0.6 Hz), phase and amplitude.

    Args:
        rng (np.random.Generator): Random generator.
        num_frames (int): Number of frames T.
        fps (float): Frames per second.
        std (float | np.ndarray): Standard deviation of each channel, shape
            () or (C, ).
        channels (int): Number of channels C.

    Returns:
        np.ndarray: The signals, shape (T, C).
    """
    num = 4
    freq = rng.uniform(0.05, 0.6, (num, channels))
    phase = rng.uniform(0.0, 2 * np.pi, (num, channels))
    amp = rng.normal(0.0, 1.0, (num, channels)) * np.sqrt(2.0 / num)
    t = np.arange(num_frames, dtype=np.float64)[:, None, None] / fps
    waves = amp * np.sin(2 * np.pi * freq * t + phase)
    return waves.sum(axis=1) * np.asarray(std, dtype=np.float64)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _bump(x: np.ndarray) -> np.ndarray:
    """Smooth 0 -> 1 -> 0 on [0, 1] (sin^2), 0 outside."""
    inside = (x > 0.0) & (x < 1.0)
    return np.where(inside, np.sin(np.pi * x)**2, 0.0)


def cycle_profile(t: np.ndarray, durations: Sequence[float],
                  offset: float) -> np.ndarray:
    """A periodic smooth 0/1 profile: 0 for ``durations[0]`` seconds, a
    smooth-step rise over ``durations[1]``, 1 for ``durations[2]``, a
    smooth-step fall over ``durations[3]``, and again.

    Args:
        t (np.ndarray): Times in seconds, shape (T, ).
        durations (Sequence[float]): (hold low, rise, hold high, fall),
            seconds, the transitions > 0.
        offset (float): Time shift in seconds (the phase).

    Returns:
        np.ndarray: Values in [0, 1], shape (T, ).
    """
    low, rise, high, fall = (float(d) for d in durations)
    u = np.mod(
        np.asarray(t, dtype=np.float64) + offset, low + rise + high + fall)
    return _smoothstep((u - low) / rise) - _smoothstep(
        (u - low - rise - high) / fall)


def _staircase(t: np.ndarray, hold: float, move: float,
               offset: float) -> np.ndarray:
    """0, 1, 2, ... with smooth-step moves of ``move`` s after holds of
    ``hold`` s."""
    u = (t + offset) / (hold + move)
    n = np.floor(u)
    return n + _smoothstep(((u - n) * (hold + move) - hold) / move)


class _Angles:
    """Named access to a (T, D) angle array."""

    def __init__(self, angles: np.ndarray) -> None:
        self.a = angles

    def add(self, name: str, values) -> None:
        self.a[:, _IDX[name]] += values

    def blend(self, name: str, target, weight: np.ndarray) -> None:
        """Move an angle towards ``target`` by ``weight`` in [0, 1]."""
        col = self.a[:, _IDX[name]]
        self.a[:, _IDX[name]] = col + weight * (target - col)

    def both(self, name: str, values) -> None:
        for side, _ in SIDES:
            self.add(f'{side}_{name}', values)


def _circle_path(t: np.ndarray, rng: np.random.Generator, speed: float,
                 radius: float) -> Dict:
    """A path around a circle of ``radius`` at ``speed`` (m/s), in a
    random direction from a random angle, its centre near the origin, the
    heading along the path."""
    direction = rng.choice([-1.0, 1.0])
    theta = rng.uniform(0, 2 * np.pi) + direction * speed * t / radius
    centre = rng.uniform(-0.2, 0.2, 2)
    position = centre + radius * np.stack([np.cos(theta), np.sin(theta)], 1)
    heading = np.degrees(theta) + (0.0 if direction > 0 else 180.0)
    return dict(position=position, heading=heading)


def _walk(a: _Angles, t: np.ndarray, rng: np.random.Generator,
          leg: float) -> Dict:
    freq = rng.uniform(0.75, 0.95)
    hip_amp, arm_amp = rng.uniform(16, 26), rng.uniform(12, 30)
    knee_amp = rng.uniform(40, 55)
    phase = 2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi)
    for (side, _), shift in zip(SIDES, (0.0, np.pi)):
        p = phase + shift
        a.add(f'{side}_hip_flex', 5 + hip_amp * np.sin(p))
        a.add(f'{side}_knee_flex', knee_amp * ((1 + np.cos(p + 0.3)) / 2)**2)
        a.add(f'{side}_shoulder_flex', -arm_amp * np.sin(p))
        a.add(f'{side}_elbow_flex', 8 + 8 * (1 + np.sin(p)))
    a.add('torso_lean', rng.uniform(2, 8))
    a.add('torso_twist', -6 * np.sin(phase))
    # two steps of 2 * leg * sin(hip amplitude) per cycle
    speed = 4 * leg * np.sin(np.radians(hip_amp)) * freq * 0.85
    return _circle_path(t, rng, speed, rng.uniform(0.8, 1.4))


def _reach(a: _Angles, t: np.ndarray, rng: np.random.Generator,
           leg: float) -> Dict:
    side, sgn = SIDES[rng.integers(2)]
    level = rng.uniform(0.0, 1.0)  # 0: low in front, 1: up high
    durations = rng.uniform([0.3, 0.7, 0.3, 0.7], [1.0, 1.2, 0.8, 1.2])
    s = cycle_profile(t, durations, rng.uniform(0, durations.sum()))
    low = (1 - level)**2
    a.add(f'{side}_shoulder_flex', s * (50 + 110 * level))
    a.add(f'{side}_shoulder_abd', s * rng.uniform(-5, 25))
    a.blend(f'{side}_elbow_flex', rng.uniform(3, 20), s)
    a.add('torso_lean', s * 40 * low)
    a.add('torso_twist', -sgn * s * rng.uniform(0, 15))
    a.both('hip_flex', s * 35 * low)
    a.both('knee_flex', s * 40 * low)
    a.add('head_pitch', s * (30 * (1 - level) - 25 * level))
    return {}


def _squat(a: _Angles, t: np.ndarray, rng: np.random.Generator,
           leg: float) -> Dict:
    depth = rng.uniform(0.6, 1.0)
    durations = rng.uniform([0.2, 0.8, 0.1, 0.8], [0.8, 1.3, 0.6, 1.3])
    s = cycle_profile(t, durations, rng.uniform(0, durations.sum()))
    a.both('hip_flex', s * depth * 100)
    a.both('knee_flex', s * depth * 112)
    a.both('hip_abd', s * depth * 10)
    a.add('torso_lean', s * depth * rng.uniform(20, 35))
    a.both('shoulder_flex', s * depth * rng.uniform(60, 90))
    return {}


def _turn(a: _Angles, t: np.ndarray, rng: np.random.Generator,
          leg: float) -> Dict:
    direction = rng.choice([-1.0, 1.0])
    amount = rng.uniform(60, 180)
    hold, move = rng.uniform(0.4, 1.2), rng.uniform(0.9, 1.6)
    steps = _staircase(t, hold, move, rng.uniform(0, hold + move))
    # 1 at the fastest point of a turn (the smooth-step slope is 1.5/move)
    moving = np.clip(np.gradient(steps, t) * move / 1.5, 0.0, 1.0) \
        if len(t) > 1 else np.zeros_like(t)
    phase = 2 * np.pi * rng.uniform(1.6, 2.2) * t
    for (side, _), shift in zip(SIDES, (0.0, np.pi)):
        lift = moving * (0.5 - 0.5 * np.cos(phase + shift))
        a.add(f'{side}_hip_flex', 25 * lift)
        a.add(f'{side}_knee_flex', 40 * lift)
    a.add('head_yaw', direction * 25 * moving)
    a.add('torso_twist', direction * 10 * moving)
    return dict(heading_change=direction * amount * steps)


def _jump(a: _Angles, t: np.ndarray, rng: np.random.Generator,
          leg: float) -> Dict:
    crouch_time, flight = rng.uniform(0.6, 0.8), rng.uniform(0.3, 0.42)
    period = crouch_time + flight + 0.45 + rng.uniform(0.1, 0.5)
    u = np.mod(t + rng.uniform(0, period), period)
    crouch = _bump(u / crouch_time)
    landing = _bump((u - crouch_time - flight) / 0.45)
    airborne = (u - crouch_time) / flight
    a.both('knee_flex', 70 * crouch + 45 * landing)
    a.both('hip_flex', 55 * crouch + 35 * landing)
    a.add('torso_lean', 25 * (crouch + landing))
    arms = _bump((u - 0.3 * crouch_time) / (0.7 * crouch_time + flight + 0.25))
    a.both('shoulder_flex', -15 * crouch + rng.uniform(60, 90) * arms)
    # ballistic-like flight of height g t^2 / 8
    height = _GRAVITY * flight**2 / 8
    lift = np.where((airborne > 0) & (airborne < 1),
                    height * np.sin(np.pi * np.clip(airborne, 0, 1)), 0.0)
    return dict(lift=lift)


def _sit(a: _Angles, t: np.ndarray, rng: np.random.Generator,
         leg: float) -> Dict:
    durations = rng.uniform([0.4, 1.0, 1.0, 1.0], [1.0, 1.5, 2.5, 1.5])
    s = cycle_profile(t, durations, rng.uniform(0, durations.sum()))
    moving = 4 * s * (1 - s)
    a.both('hip_flex', 88 * s + 15 * moving)
    a.both('knee_flex', 90 * s)
    a.both('hip_abd', 6 * s)
    a.add('torso_lean', rng.uniform(25, 40) * moving - 5 * s)
    a.both('shoulder_flex', 25 * moving + 15 * s)
    a.both('elbow_flex', 30 * s)
    return {}


def _wave(a: _Angles, t: np.ndarray, rng: np.random.Generator,
          leg: float) -> Dict:
    side, sgn = SIDES[rng.integers(2)]
    durations = rng.uniform([0.3, 0.5, 1.5, 0.5], [0.8, 0.8, 3.0, 0.8])
    s = cycle_profile(t, durations, rng.uniform(0, durations.sum()))
    # upper arm out to the side, rotated so that the bent forearm points
    # up; the hand waves side to side by flexing the elbow
    a.add(f'{side}_shoulder_abd', s * rng.uniform(95, 125))
    a.add(f'{side}_shoulder_flex', s * rng.uniform(0, 20))
    a.add(f'{side}_shoulder_rot', s * rng.uniform(55, 70))
    a.blend(f'{side}_elbow_flex', rng.uniform(80, 100), s)
    wave = np.sin(2 * np.pi * rng.uniform(1.8, 2.8) * t +
                  rng.uniform(0, 2 * np.pi))
    a.add(f'{side}_elbow_flex', s * rng.uniform(15, 25) * wave)
    a.add('torso_bend', -sgn * 5 * s)
    a.add('head_yaw', sgn * 10 * s)
    return {}


def _box(a: _Angles, t: np.ndarray, rng: np.random.Generator,
         leg: float) -> Dict:
    guard_elbow = rng.uniform(110, 130)
    a.both('shoulder_flex', rng.uniform(40, 60))
    a.both('shoulder_abd', rng.uniform(5, 15))
    a.both('elbow_flex', guard_elbow - 10)  # from the rest pose's 10
    bounce = 5 * np.sin(2 * np.pi * rng.uniform(1.5, 2.2) * t)
    a.both('knee_flex', rng.uniform(10, 20) + bounce)
    a.both('hip_flex', rng.uniform(10, 18) + 0.6 * bounce)
    a.add('torso_lean', rng.uniform(5, 12))
    a.add('torso_twist', rng.uniform(-10, 10))
    a.add('head_pitch', 8)
    period, width = rng.uniform(0.6, 0.9), rng.uniform(0.4, 0.5)
    start, first = rng.uniform(-period, 0), rng.integers(2)
    for k in range(int(np.ceil((t[-1] - start) / period)) + 1):
        side, sgn = SIDES[(first + k) % 2]
        b = _bump((t - start - k * period) / width)
        a.add(f'{side}_elbow_flex', -b * (guard_elbow - rng.uniform(20, 30)))
        a.add(f'{side}_shoulder_flex', b * rng.uniform(25, 35))
        a.add('torso_twist', -sgn * 15 * b)
    return {}


def _run(a: _Angles, t: np.ndarray, rng: np.random.Generator,
         leg: float) -> Dict:
    freq = rng.uniform(1.3, 1.6)
    hip_amp, knee_amp = rng.uniform(30, 45), rng.uniform(70, 100)
    arm_amp, elbow = rng.uniform(25, 45), rng.uniform(80, 100)
    phase = 2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi)
    for (side, _), shift in zip(SIDES, (0.0, np.pi)):
        p = phase + shift
        a.add(f'{side}_hip_flex', 12 + hip_amp * np.sin(p))
        # the swing leg folds high; the stance knee stays a little bent
        a.add(f'{side}_knee_flex',
              12 + knee_amp * ((1 + np.cos(p + 0.5)) / 2)**2)
        a.add(f'{side}_shoulder_flex', 5 - arm_amp * np.sin(p))
        a.add(f'{side}_elbow_flex', elbow - 10 + 12 * np.sin(p))
    a.add('torso_lean', rng.uniform(10, 18))
    a.add('torso_twist', -10 * np.sin(phase))
    a.add('head_pitch', -rng.uniform(5, 10))
    # two strides of about 2 * leg * sin(hip amplitude) per cycle, the
    # flight included; kept at a running speed
    speed = float(
        np.clip(4 * leg * np.sin(np.radians(hip_amp)) * freq, 2.5, 3.5))
    path = _circle_path(t, rng, speed, rng.uniform(1.3, 1.8))
    # a flight when the legs are furthest apart, twice per cycle
    path['lift'] = rng.uniform(0.03, 0.06) * np.sin(phase)**2
    return path


def _guard(a: _Angles, rng: np.random.Generator) -> None:
    """Both arms in a fighting guard (fists in front of the chin)."""
    a.both('shoulder_flex', rng.uniform(40, 60))
    a.both('shoulder_abd', rng.uniform(5, 15))
    a.both('elbow_flex', rng.uniform(100, 120))


def _kick(a: _Angles, t: np.ndarray, rng: np.random.Generator,
          leg: float) -> Dict:
    side, sgn = SIDES[rng.integers(2)]
    other = SIDES[1 - SIDES.index((side, sgn))][0]
    kick_time, rest = rng.uniform(0.8, 1.1), rng.uniform(0.4, 1.0)
    period = kick_time + rest
    k = np.mod(t + rng.uniform(0, period), period) / kick_time
    hip = _bump(k)  # 0 -> 1 at the snap (k = 0.5) -> 0
    # the knee folds (chamber), extends at the snap, folds again
    # (re-chamber) and extends as the foot comes down
    chamber = _bump(k / 0.45) + _bump((k - 0.55) / 0.45)
    a.add(f'{side}_hip_flex', rng.uniform(70, 100) * hip)
    a.add(f'{side}_knee_flex', rng.uniform(80, 100) * chamber)
    a.add(f'{other}_knee_flex', rng.uniform(5, 12) * (1 + hip))
    _guard(a, rng)
    a.add(f'{side}_shoulder_flex', -15 * hip)  # counter-swing of the arm
    a.add('torso_lean', rng.uniform(3, 8) - rng.uniform(12, 20) * hip)
    a.add('head_pitch', 5 + 10 * hip)
    return {}


# (elbow flexion, shoulder rotation) pairs that put the wrists of the
# default body about 0.05 body units apart with the upper arms 70-90 deg
# forward and no abduction (found with forward kinematics)
_CLAP_ELBOW = np.array([50.0, 60.0, 70.0, 80.0])
_CLAP_ROT = np.array([-52.0, -44.0, -40.0, -38.0])


def _clap(a: _Angles, t: np.ndarray, rng: np.random.Generator,
          leg: float) -> Dict:
    freq = rng.uniform(1.5, 3.0)
    # together: 1 at every clap, 0 with the hands furthest apart
    together = np.cos(np.pi * freq * t + rng.uniform(0, np.pi))**2
    elbow = rng.uniform(55, 70)
    rot = np.interp(elbow, _CLAP_ELBOW, _CLAP_ROT)
    a.both('shoulder_flex', rng.uniform(70, 85))
    a.both('shoulder_abd', -10 + (1 - together) * rng.uniform(40, 55))
    a.both('shoulder_rot', rot + (1 - together) * (rng.uniform(10, 20) - rot))
    a.both('elbow_flex', elbow - 10 - (1 - together) * rng.uniform(10, 20))
    a.add('head_pitch', rng.uniform(5, 15))
    a.add('torso_lean', rng.uniform(0, 5))
    return {}


def _jumping_jack(a: _Angles, t: np.ndarray, rng: np.random.Generator,
                  leg: float) -> Dict:
    freq = rng.uniform(1.0, 1.5)
    phase = 2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi)
    spread = 0.5 - 0.5 * np.cos(phase)  # 0 closed, 1 open
    a.both('hip_abd', spread * rng.uniform(20, 35))
    a.both('shoulder_abd', spread * (rng.uniform(150, 165) - 10))
    a.both('shoulder_flex', spread * rng.uniform(0, 10))
    a.both('elbow_flex', 10 * spread)
    # a jump at every change (closed -> open and back), landing on
    # slightly bent knees
    landing = np.cos(phase)**2
    a.both('knee_flex', rng.uniform(10, 20) * landing)
    a.both('hip_flex', rng.uniform(5, 10) * landing)
    a.add('torso_lean', 3 * landing)
    lift = rng.uniform(0.05, 0.09) * np.sin(phase)**2
    return dict(lift=lift)


_ACTION_FUNCS: Dict[str, Callable[..., Dict]] = dict(
    walk=_walk,
    reach=_reach,
    squat=_squat,
    turn=_turn,
    jump=_jump,
    sit=_sit,
    wave=_wave,
    box=_box,
    run=_run,
    kick=_kick,
    clap=_clap,
    jumping_jack=_jumping_jack)


def sample_motion(action: str, num_frames: int, fps: float, body: np.ndarray,
                  height: float, rng: np.random.Generator) -> Motion:
    """Sample one sequence of an action, posed and placed in the world.

    The pelvis moves on the action's horizontal path (a circle for
    ``walk`` and ``run``, a small sway about a random spot otherwise) with
    the action's heading (random, turning for ``turn``); its height puts
    the lowest sole point on the floor z = 0 in every frame (plus the
    flight of ``jump``, ``run`` and ``jumping_jack``).

    Args:
        action (str): One of :data:`ALL_ACTIONS`.
        num_frames (int): Number of frames T (>= 1).
        fps (float): Frames per second (> 0).
        body (np.ndarray): Proportions in body units, shape (B, ).
        height (float): Standing height in metres.
        rng (np.random.Generator): Random generator of the sequence.

    Returns:
        Motion: Angles (T, D), translation (T, 3), heading (T, ) and world
        joints (T, J, 3).
    """
    if action not in _ACTION_FUNCS:
        raise ValueError(f'action must be one of {ALL_ACTIONS}, got '
                         f'{action!r}')
    if num_frames < 1 or fps <= 0:
        raise ValueError('num_frames must be >= 1 and fps > 0')
    body = body_to_array(body)
    t = np.arange(num_frames, dtype=np.float64) / fps
    dims = len(ANGLE_NAMES)
    style = rng.normal(0.0, 1.0, dims) * _NOISE_STD
    angles = np.tile(pose_to_angles(Pose()) + style, (num_frames, 1))
    leg = height * (
        body[BODY_FIELDS.index('thigh')] + body[BODY_FIELDS.index('shin')])
    root = _ACTION_FUNCS[action](_Angles(angles), t, rng, leg)
    angles = clip_angles(angles + smooth_noise(rng, num_frames, fps, 0.6 *
                                               _NOISE_STD, dims))

    if 'position' in root:
        position, heading = root['position'], root['heading']
    else:
        position = rng.uniform(-0.5, 0.5, 2) + smooth_noise(
            rng, num_frames, fps, 0.02, 2)
        heading = rng.uniform(0, 360) + smooth_noise(rng, num_frames, fps, 3.0,
                                                     1)[:, 0]
        heading = heading + root.get('heading_change', 0.0)
    joints, _ = forward_kinematics(angles, body)
    soles = np.concatenate(
        [joints[:, _ANKLES, 1] - _HEEL, joints[:, _TOES, 1]], axis=1)
    pelvis_z = -height * soles.min(axis=1) + root.get('lift', 0.0)
    translation = np.concatenate([position, pelvis_z[:, None]], axis=1)
    world = body_to_world(joints, translation, heading, height)
    return Motion(angles, translation, np.asarray(heading, np.float64), world)
