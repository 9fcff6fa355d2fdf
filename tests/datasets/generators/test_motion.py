"""Tests of the parametric motions
(``probpose_ext.datasets.generators.motion``): shapes and limits,
determinism, the floor contact and what makes each action that action."""
import numpy as np
import pytest

from probpose_ext.datasets.generators import kinematics as km
from probpose_ext.datasets.generators import motion as mo

FPS = 50
J = {name: i for i, name in enumerate(km.JOINT_NAMES)}
FEET = [J[f'{s}_{j}'] for s, _ in km.SIDES for j in ('ankle', 'toe')]


def _motion(action, seed=0, frames=200):
    rng = np.random.default_rng(seed)
    body, height = mo.subject_body(rng)
    return mo.sample_motion(action, frames, FPS, body, height, rng), height


@pytest.mark.parametrize('action', mo.ACTIONS)
def test_shapes_limits_and_determinism(action):
    m, _ = _motion(action, seed=3, frames=60)
    assert m.angles.shape == (60, len(km.ANGLE_NAMES))
    assert m.translation.shape == (60, 3) and m.heading.shape == (60, )
    assert m.joints.shape == (60, len(km.JOINT_NAMES), 3)
    assert np.all(m.angles >= km.ANGLE_LIMITS[:, 0])
    assert np.all(m.angles <= km.ANGLE_LIMITS[:, 1])
    again, _ = _motion(action, seed=3, frames=60)
    other, _ = _motion(action, seed=4, frames=60)
    for a, b in zip(m, again):
        np.testing.assert_array_equal(a, b)
    assert np.abs(m.joints - other.joints).max() > 0.05


@pytest.mark.parametrize('action', mo.ACTIONS)
def test_feet_on_floor_and_smooth(action):
    for seed in range(5):
        m, _ = _motion(action, seed)
        feet_z = m.joints[:, FEET, 2]
        assert feet_z.min() >= 0.0
        if action != 'jump':
            # the lowest sole point (heel 0.03 body units below the ankle,
            # or toe) touches the floor in every frame
            assert feet_z.min(axis=1).max() < 0.07
        speed = np.linalg.norm(np.diff(m.joints, axis=0), axis=-1) * FPS
        assert speed.max() < 6.0, (action, seed, speed.max())
        # rigid body: segment lengths never change
        lengths = km.segment_lengths(m.joints)
        np.testing.assert_allclose(
            lengths, lengths[:1].repeat(200, 0), atol=1e-9)


def test_subject_body():
    rng = np.random.default_rng(0)
    base = km.body_to_array(km.Body())
    heights = []
    for _ in range(50):
        body, height = mo.subject_body(rng)
        assert np.all(np.abs(body / base - 1) <= 0.04 + 1e-12)
        heights.append(height)
    assert min(heights) >= 1.55 and max(heights) <= 1.95
    assert max(heights) - min(heights) > 0.2


def test_cycle_profile_and_noise():
    t = np.arange(0, 20, 0.01)
    s = mo.cycle_profile(t, (1.0, 0.5, 2.0, 0.5), 0.0)
    assert s.min() == 0.0 and s.max() == 1.0
    np.testing.assert_allclose(s[(t > 0.05) & (t < 0.95)], 0.0)
    np.testing.assert_allclose(s[(t > 1.55) & (t < 3.45)], 1.0)
    np.testing.assert_allclose(s[400:800], s[:400], atol=1e-9)  # period 4 s
    assert np.abs(np.diff(s)).max() < 1.5 / 0.5 * 0.01 + 1e-9
    noise = mo.smooth_noise(
        np.random.default_rng(0), 5000, FPS, np.array([1.0, 3.0]), 2)
    assert noise.shape == (5000, 2)
    assert np.abs(np.diff(noise, axis=0)).max() < 0.1 * 3
    assert 0.3 < noise[:, 1].std() / 3.0 < 2.0


def test_actions_do_what_they_say():
    walk, _ = _motion('walk')
    speed = np.linalg.norm(walk.translation[-1, :2] -
                           walk.translation[0, :2]) / 4.0
    path = np.linalg.norm(np.diff(walk.translation[:, :2], axis=0), axis=-1)
    assert path.sum() / 4.0 > 0.8 and speed > 0.3
    # heading 0 faces +y; the walker faces the direction it moves
    step = walk.translation[1:, :2] - walk.translation[:-1, :2]
    facing = np.stack([
        -np.sin(np.radians(walk.heading[:-1])),
        np.cos(np.radians(walk.heading[:-1]))
    ], 1)
    cos = np.sum(step * facing, 1) / np.linalg.norm(step, axis=1)
    assert cos.min() > 0.98

    stand = {}
    for action in ('squat', 'sit', 'jump', 'turn', 'wave'):
        m, height = _motion(action, seed=1, frames=500)
        stand[action] = m.translation[:, 2] / height
    assert stand['squat'].min() < stand['squat'].max() - 0.15
    assert stand['sit'].min() < stand['sit'].max() - 0.15
    jump, height = _motion('jump', seed=1, frames=500)
    assert jump.joints[:, FEET, 2].min(axis=1).max() > 0.1
    turn, _ = _motion('turn', seed=1, frames=500)
    assert np.ptp(turn.heading) > 60
    wave, _ = _motion('wave', seed=1, frames=500)
    wrists = wave.joints[:, [J['left_wrist'], J['right_wrist']], 2].max(1)
    assert np.any(wrists > wave.joints[:, J['nose'], 2])
    box, _ = _motion('box', seed=1, frames=500)
    elbows = box.angles[:, [
        km.ANGLE_NAMES.index('left_elbow_flex'),
        km.ANGLE_NAMES.index('right_elbow_flex')
    ]]
    assert elbows.max() > 100 and elbows.min() < 50


def test_bad_arguments():
    body, height = mo.subject_body(np.random.default_rng(0))
    with pytest.raises(ValueError, match='action must be one of'):
        mo.sample_motion('dance', 10, FPS, body, height,
                         np.random.default_rng(0))
    with pytest.raises(ValueError, match='num_frames'):
        mo.sample_motion('walk', 0, FPS, body, height,
                         np.random.default_rng(0))


# ---------------------------------------------------------------------------
# The extra actions (run, kick, clap, jumping_jack)
# ---------------------------------------------------------------------------
A = {name: i for i, name in enumerate(km.ANGLE_NAMES)}
WRISTS = [J['left_wrist'], J['right_wrist']]
# left wrist of walk (seed 7, frames 0, 25, 49) and right elbow of box
# (frames 0, 49) before the extra actions were added
_WALK_WRIST = [[-0.9725933786678678, -0.7056170632308314, 0.9123435512598668],
               [-0.6834258993277254, -0.936116710997436, 0.9104526828945695],
               [-0.3740668654680138, -1.055739371239851, 0.8695271526029322]]
_BOX_ELBOW = [123.73063838363483, 125.78179487457389]


def test_default_actions_unchanged():
    # SynthMotion's default (committed data and models depend on it)
    assert mo.ACTIONS == ('walk', 'reach', 'squat', 'turn', 'jump', 'sit',
                          'wave', 'box')
    assert mo.EXTRA_ACTIONS == ('run', 'kick', 'clap', 'jumping_jack')
    assert mo.ALL_ACTIONS == mo.ACTIONS + mo.EXTRA_ACTIONS


def test_default_actions_bit_identical():
    # fingerprints of the original actions' outputs, taken before the
    # extra actions were added
    m, _ = _motion('walk', seed=7, frames=50)
    np.testing.assert_allclose(m.joints[[0, 25, 49], J['left_wrist']],
                               _WALK_WRIST, rtol=0, atol=1e-12)
    b, _ = _motion('box', seed=7, frames=50)
    np.testing.assert_allclose(b.angles[[0, 49], A['right_elbow_flex']],
                               _BOX_ELBOW, rtol=0, atol=1e-12)


@pytest.mark.parametrize('action', mo.EXTRA_ACTIONS)
def test_extra_shapes_limits_floor_and_determinism(action):
    for seed in range(4):
        m, _ = _motion(action, seed=seed, frames=120)
        assert m.angles.shape == (120, len(km.ANGLE_NAMES))
        assert m.translation.shape == (120, 3) and m.heading.shape == (120, )
        assert m.joints.shape == (120, len(km.JOINT_NAMES), 3)
        for array in m:
            assert np.all(np.isfinite(array))
        assert np.all(m.angles >= km.ANGLE_LIMITS[:, 0])
        assert np.all(m.angles <= km.ANGLE_LIMITS[:, 1])
        feet_z = m.joints[:, FEET, 2]
        assert feet_z.min() >= 0.0
        if action in ('kick', 'clap'):  # no flight: always a foot down
            assert feet_z.min(axis=1).max() < 0.07
        lengths = km.segment_lengths(m.joints)
        np.testing.assert_allclose(
            lengths, lengths[:1].repeat(120, 0), atol=1e-9)
        speed = np.linalg.norm(np.diff(m.joints, axis=0), axis=-1) * FPS
        assert speed.max() < 16.0, (action, seed, speed.max())
    again, _ = _motion(action, seed=3, frames=120)
    for a, b in zip(m, again):
        np.testing.assert_array_equal(a, b)
    other, _ = _motion(action, seed=4, frames=120)
    assert np.abs(m.joints - other.joints).max() > 0.05


def _pelvis_speed(m):
    """Mean horizontal pelvis speed (m/s)."""
    step = np.diff(m.translation[:, :2], axis=0)
    return np.linalg.norm(step, axis=1).mean() * FPS


def test_run_is_a_fast_walk_with_flight():
    for seed in range(5):
        run, _ = _motion('run', seed=seed)
        walk, _ = _motion('walk', seed=seed)
        assert 2.4 < _pelvis_speed(run) < 3.6
        assert _pelvis_speed(run) > 2 * _pelvis_speed(walk)
        # flight phases: both feet off the floor at times
        assert run.joints[:, FEET, 2].min(axis=1).max() > 0.04
        knees = run.angles[:, [A['left_knee_flex'], A['right_knee_flex']]]
        assert knees.max() > 75
        elbows = run.angles[:, [A['left_elbow_flex'], A['right_elbow_flex']]]
        assert 60 < elbows.mean() < 110
        # faces the direction it runs
        step = run.translation[1:, :2] - run.translation[:-1, :2]
        facing = np.stack([
            -np.sin(np.radians(run.heading[:-1])),
            np.cos(np.radians(run.heading[:-1]))
        ], 1)
        cos = np.sum(step * facing, 1) / np.linalg.norm(step, axis=1)
        assert cos.min() > 0.98


def test_kick_raises_one_foot_above_the_other_knee():
    sides = set()
    for seed in range(6):
        m, height = _motion('kick', seed=seed)
        over = {}
        for (side, _), (other, _) in zip(km.SIDES, km.SIDES[::-1]):
            over[side] = (m.joints[:, J[f'{side}_ankle'], 2] -
                          m.joints[:, J[f'{other}_knee'], 2]).max()
        kicking = max(over, key=over.get)
        sides.add(kicking)
        assert over[kicking] > 0.1
        assert over[[s for s in over if s != kicking][0]] < 0.0
        hip = m.angles[:, A[f'{kicking}_hip_flex']]
        assert hip.max() > 65 and hip.min() < 20  # kicks, then rests
        # the knee is extended at the highest point of the kick (snap)
        top = np.argmax(hip)
        assert m.angles[top, A[f'{kicking}_knee_flex']] < 30
    assert sides == {'left', 'right'}


def test_clap_wrists_meet_periodically():
    for seed in range(5):
        m, height = _motion('clap', seed=seed)
        gap = np.linalg.norm(
            m.joints[:, WRISTS[0]] - m.joints[:, WRISTS[1]], axis=-1) / height
        assert gap.max() > 0.15
        # at 1.5-3 Hz there is a clap in every 0.7 s window
        window = int(0.7 * FPS)
        for first in range(0, len(gap) - window, window):
            assert gap[first:first + window].min() < 0.15
        # in front of the chest
        wrists = m.joints[:, WRISTS]
        assert np.all(wrists[..., 2] > m.joints[:, None, J['pelvis'], 2])


def test_jumping_jack_arms_overhead_and_legs_apart():
    for seed in range(5):
        m, height = _motion('jumping_jack', seed=seed)
        wrist_z = m.joints[:, WRISTS, 2].min(axis=1)
        above = wrist_z > m.joints[:, J['head_top'], 2]
        assert above.any() and not above.all()
        abd = m.angles[:, A['left_hip_abd']]
        assert abd.max() - abd.min() > 15
        # several cycles in 4 s (1-1.5 Hz): the abduction crosses its
        # middle at least 6 times
        mid = (abd.max() + abd.min()) / 2
        assert np.count_nonzero(np.diff(np.sign(abd - mid))) >= 6
        assert m.joints[:, FEET, 2].min(axis=1).max() > 0.03  # jumps
