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
