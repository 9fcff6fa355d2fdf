"""Tests of the SynthMotion generator
(``probpose_ext.datasets.generators.synthmotion``): the Human3.6M layout,
determinism, the projection checked with MMPose's own ``SimpleCamera``,
the physics of the motion and loading through MMPose's
``Human36mDataset``."""
import dataclasses
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
from mmpose.utils.camera import SimpleCamera

from probpose_ext.datasets.generators import kinematics as km
from probpose_ext.datasets.generators import synthmotion as sm
from probpose_ext.datasets.generators.synthmotion import (SynthMotionParams,
                                                          make_synthmotion)
from tests.conftest import DATA, run_python
from tests.datasets._generator_checks import file_hashes, tmp_siblings

REPO_ROOT = Path(__file__).resolve().parents[3]
CLI = REPO_ROOT / 'tools' / 'dataset_converters' / 'make_synthmotion.py'
REAL_H36M = DATA / 'h36m'
SMALL = SynthMotionParams(
    train_subjects=('S1', 'S5'),
    test_subjects=('S9', ),
    actions=('walk', 'jump'),
    reps=1,
    frames=30)
CAMS = 4
ANN = 'annotation_body3d'
IMGNAME = re.compile(r'^(S\d+)/(S\d+)_([A-Za-z]+)_(\d+)\.(\d{8})/'
                     r'(S\d+)_([A-Za-z]+)_(\d+)\.(\d{8})_(\d{6})\.jpg$')


@pytest.fixture(scope='module')
def dataset(tmp_path_factory) -> Path:
    """The small data set, generated with two worker processes."""
    out = tmp_path_factory.mktemp('synthmotion') / 'data'
    summary = make_synthmotion(
        out, seed=0, workers=2, progress=False, params=SMALL)
    assert summary['num_frames'] == 3 * 2 * 1 * CAMS * 30
    return out


def _load(root: Path, split: str) -> dict:
    with np.load(root / ANN / 'fps50' / f'synthmotion_{split}.npz') as f:
        return {k: f[k] for k in f.files}


def _cameras(root: Path) -> dict:
    with open(root / ANN / 'cameras.pkl', 'rb') as f:
        return pickle.load(f)


def _videos(data: dict) -> dict:
    """(subject, action, camera) -> row indices, from the image names."""
    videos = {}
    for i, name in enumerate(data['imgname']):
        subj, rest = name.split('/')[-1].split('_', 1)
        action, rest = rest.split('.', 1)
        camera = rest.split('_')[0]
        videos.setdefault((subj, action, camera), []).append(i)
    return videos


def _world(data: dict, cameras: dict) -> np.ndarray:
    """World joints of every frame, via MMPose's SimpleCamera."""
    world = np.zeros(data['S'].shape[:2] + (3, ))
    for (subj, _, cam), rows in _videos(data).items():
        camera = SimpleCamera(cameras[(subj, cam)])
        world[rows] = camera.camera_to_world(data['S'][rows, :, :3].astype(
            np.float64))
    return world


# ---------------------------------------------------------------------------
# Layout
# ---------------------------------------------------------------------------
def test_layout(dataset):
    assert sorted(
        str(p.relative_to(dataset)) for p in dataset.rglob('*')
        if p.is_file()) == [
            'README.md', f'{ANN}/cameras.pkl',
            f'{ANN}/fps50/synthmotion_test.npz',
            f'{ANN}/fps50/synthmotion_train.npz'
        ]
    assert 'seed: 0' in (dataset / 'README.md').read_text()
    assert tmp_siblings(dataset) == []
    for split, subjects in (('train', SMALL.train_subjects),
                            ('test', SMALL.test_subjects)):
        data = _load(dataset, split)
        n = len(subjects) * 2 * CAMS * 30
        assert sorted(data) == ['S', 'center', 'imgname', 'part', 'scale']
        assert data['imgname'].shape == (n, )
        assert data['center'].shape == (n, 2)
        assert data['scale'].shape == (n, )
        assert data['part'].shape == (n, 17, 3)
        assert data['part'].dtype == np.float32
        assert data['S'].shape == (n, 17, 4) and data['S'].dtype == np.float32
        np.testing.assert_array_equal(data['part'][..., 2], 1.0)
        np.testing.assert_array_equal(data['S'][..., 3], 1.0)
        found = set()
        for name in data['imgname']:
            m = IMGNAME.match(name)
            assert m, name
            assert m.group(1) == m.group(2) == m.group(6)
            assert m.group(3) == m.group(7) and m.group(4) == m.group(8)
            found.add((m.group(1), m.group(3), m.group(4), m.group(5)))
        assert found == {(s, a, '1', c)
                         for s in subjects
                         for a in ('Walk', 'Jump')
                         for c in ('54138969', '55011271', '58860488',
                                   '60457274')}
        # the frames of one video are consecutive rows, frame 1, 2, ...
        for rows in _videos(data).values():
            assert rows == list(range(rows[0], rows[0] + 30))
            frames = [int(data['imgname'][r][-10:-4]) for r in rows]
            assert frames == list(range(1, 31))


def test_train_test_subjects_disjoint(dataset):
    subjects = {
        split: {n.split('/')[0]
                for n in _load(dataset, split)['imgname']}
        for split in sm.SPLITS
    }
    assert subjects == dict(train={'S1', 'S5'}, test={'S9'})
    cameras = _cameras(dataset)
    assert sorted(cameras) == sorted(
        (s, c) for s in ('S1', 'S5', 'S9')
        for c in ('54138969', '55011271', '58860488', '60457274'))


# ---------------------------------------------------------------------------
# Determinism
# ---------------------------------------------------------------------------
def test_deterministic_whatever_workers(dataset, tmp_path):
    out = tmp_path / 'one_worker'
    make_synthmotion(out, seed=0, workers=1, progress=False, params=SMALL)
    assert file_hashes(out) == file_hashes(dataset)


def test_seeds_differ(dataset, tmp_path):
    out = tmp_path / 'seed1'
    make_synthmotion(out, seed=1, workers=1, progress=False, params=SMALL)
    for split in sm.SPLITS:
        a, b = _load(dataset, split), _load(out, split)
        np.testing.assert_array_equal(a['imgname'], b['imgname'])
        assert np.abs(a['S'] - b['S']).mean() > 0.05


def test_subject_data_independent_of_the_others(dataset, tmp_path):
    out = tmp_path / 'fewer'
    params = dataclasses.replace(
        SMALL, train_subjects=('S5', ), actions=('jump', ))
    make_synthmotion(out, seed=0, workers=1, progress=False, params=params)
    full, part = _load(dataset, 'train'), _load(out, 'train')
    rows = np.flatnonzero(
        np.char.startswith(full['imgname'].astype(str), 'S5/S5_Jump'))
    np.testing.assert_array_equal(full['imgname'][rows], part['imgname'])
    np.testing.assert_array_equal(full['S'][rows], part['S'])
    full, part = _load(dataset, 'test'), _load(out, 'test')
    rows = np.flatnonzero(
        np.char.startswith(full['imgname'].astype(str), 'S9/S9_Jump'))
    np.testing.assert_array_equal(full['S'][rows], part['S'])
    np.testing.assert_array_equal(full['part'][rows], part['part'])


# ---------------------------------------------------------------------------
# Geometry
# ---------------------------------------------------------------------------
@pytest.mark.parametrize('split', sm.SPLITS)
def test_projection_matches_mmpose_simple_camera(dataset, split):
    data, cameras = _load(dataset, split), _cameras(dataset)
    for (subj, _, cam), rows in _videos(data).items():
        camera = SimpleCamera(cameras[(subj, cam)])
        pixels = camera.camera_to_pixel(data['S'][rows, :, :3].astype(
            np.float64))
        np.testing.assert_allclose(
            pixels, data['part'][rows, :, :2], rtol=0, atol=1e-4)
        # the camera frame is the world seen by this camera: projecting the
        # world joints (float32 camera maths) lands on the same pixels
        world = camera.camera_to_world(data['S'][rows, :, :3].astype(
            np.float64))
        np.testing.assert_allclose(
            camera.world_to_pixel(world),
            data['part'][rows, :, :2],
            rtol=0,
            atol=0.05)
    # everybody in front of the cameras and (nearly) in the image
    assert data['S'][..., 2].min() > 2.0
    inside = ((data['part'][..., 0] >= 0) & (data['part'][..., 0] < 1000)
              & (data['part'][..., 1] >= 0) & (data['part'][..., 1] < 1000))
    assert inside.mean() > 0.999


def test_center_scale_rule(dataset):
    data = _load(dataset, 'train')
    xy = data['part'][..., :2].astype(np.float64)
    low, high = xy.min(1), xy.max(1)
    np.testing.assert_allclose(data['center'], (low + high) / 2, atol=1e-3)
    np.testing.assert_allclose(
        data['scale'], (high - low).max(1) * 1.2 / 200, rtol=1e-5)


def test_center_scale_rule_matches_real_h36m():
    with np.load(REAL_H36M / 'test_h36m_body3d.npz') as f:
        part, center, scale = f['part'], f['center'], f['scale']
    got_center, got_scale = sm.bbox_center_scale(part[..., :2])
    np.testing.assert_allclose(got_center, center, atol=1e-6)
    np.testing.assert_allclose(got_scale, scale, rtol=1e-6)


def test_camera_rig(dataset):
    cameras = _cameras(dataset)
    for (subj, cam_id), param in cameras.items():
        assert param['id'] == cam_id and param['name'].startswith('camera')
        assert param['R'].shape == (3, 3) and param['T'].shape == (3, 1)
        np.testing.assert_allclose(
            param['R'].T @ param['R'], np.eye(3), atol=1e-9)
        assert 5.0 < np.linalg.norm(param['T'][:2, 0]) < 6.0
        # float32-exact intrinsics (SimpleCamera casts to float32)
        for key in ('f', 'c'):
            np.testing.assert_array_equal(param[key].astype(np.float32),
                                          param[key])
    # per-subject jitter; none with camera_jitter=0
    assert not np.allclose(cameras[('S1', '54138969')]['T'],
                           cameras[('S5', '54138969')]['T'])
    plain = [sm.subject_cameras(0, s, jitter=0.0) for s in ('S1', 'S9')]
    for a, b in zip(*plain):
        np.testing.assert_array_equal(a.R, b.R)
        np.testing.assert_array_equal(a.T, b.T)


# ---------------------------------------------------------------------------
# Motion
# ---------------------------------------------------------------------------
def _bone_lengths(world: np.ndarray) -> np.ndarray:
    """Lengths of the rigid Human3.6M bones: all the links but those to
    the spine, the neck base (nose) and the head, which move with the
    torso's bend and the head's rotation."""
    names = km.joint_set_names('h36m17')
    links = np.array([
        link for link in km.load_h36m_metainfo()['skeleton_links']
        if not {names[i]
                for i in link} & {'spine', 'neck_base', 'head'}
    ])
    assert len(links) == 12
    return np.linalg.norm(
        world[:, links[:, 0]] - world[:, links[:, 1]], axis=-1)


def test_rigid_bodies_differ_between_subjects(dataset):
    data = _load(dataset, 'train')
    lengths = _bone_lengths(_world(data, _cameras(dataset)))
    subjects = np.array([n.split('/')[0] for n in data['imgname']])
    means = {}
    for subj in ('S1', 'S5'):
        own = lengths[subjects == subj]
        # constant over all frames, actions and cameras (float32 storage)
        assert np.abs(own - own[0]).max() < 1e-5
        means[subj] = own[0]
        assert 0.05 < own.min() and own.max() < 0.6
    assert np.abs(means['S1'] - means['S5']).max() > 0.005


@pytest.mark.parametrize('split', sm.SPLITS)
def test_smooth_motion_and_feet_on_floor(dataset, split):
    data = _load(dataset, split)
    world = _world(data, _cameras(dataset))
    for (subj, action, cam), rows in _videos(data).items():
        speed = np.linalg.norm(
            np.diff(data['S'][rows, :, :3], axis=0), axis=-1) * 50
        assert speed.max() < 6.0, (subj, action, cam, speed.max())
        feet = world[rows][:, [3, 6], 2]  # Human3.6M right / left foot
        assert feet.min() > -1e-4
        if action.startswith('Walk'):
            # ankles just above the floor: a foot touches it in every frame
            assert feet.min(1).max() < 0.15
        else:  # jumps leave the floor by at most ~0.25 m
            assert feet.min(1).max() < 0.4
    # the head is well above the feet; people are 1.55-1.95 m tall
    assert 1.2 < (world[:, 10, 2] - world[:, [3, 6], 2].min(1)).max() < 1.95


# ---------------------------------------------------------------------------
# MMPose
# ---------------------------------------------------------------------------
def _h36m_dataset(data_root, ann_file, camera_param_file, seq_len):
    import mmpose.datasets  # noqa: F401  (registers the datasets)
    from mmpose.registry import DATASETS
    return DATASETS.build(
        dict(
            type='Human36mDataset',
            ann_file=ann_file,
            data_root=str(data_root),
            seq_len=seq_len,
            causal=False,
            pad_video_seq=True,
            camera_param_file=camera_param_file,
            test_mode=True,
            pipeline=[]))


@pytest.mark.parametrize('split', sm.SPLITS)
def test_loads_with_mmpose_human36m_dataset(dataset, split):
    ds = _h36m_dataset(dataset, f'{ANN}/fps50/synthmotion_{split}.npz',
                       f'{ANN}/cameras.pkl', 27)
    data, cameras = _load(dataset, split), _cameras(dataset)
    assert len(ds) == len(data['imgname'])
    info = ds[len(ds) // 2]
    target = info['target_img_path'][0]
    row = int(np.flatnonzero(data['imgname'] == target)[0])
    assert len(info['img_paths']) == 27
    np.testing.assert_array_equal(info['lifting_target'][0],
                                  data['S'][row, :, :3])
    subj, _, cam = ds._parse_h36m_imgname(target)
    np.testing.assert_array_equal(info['camera_param']['T'],
                                  cameras[(subj, cam)]['T'])


def test_real_h36m_sample_loads_the_same_way():
    ds = _h36m_dataset(REAL_H36M, 'test_h36m_body3d.npz', 'cameras.pkl', 1)
    assert len(ds) == 4
    assert set(ds[0]['camera_param']) >= {'R', 'T', 'f', 'c', 'w', 'h'}


# ---------------------------------------------------------------------------
# Arguments and the command line
# ---------------------------------------------------------------------------
@pytest.mark.parametrize('kwargs, match', [
    (dict(seed=-1), 'seed'),
    (dict(seed=1.5), 'seed'),
    (dict(workers=0), 'workers'),
    (dict(params=SynthMotionParams(train_subjects=())), 'train_subjects'),
    (dict(params=SynthMotionParams(test_subjects=())), 'test_subjects'),
    (dict(params=SynthMotionParams(test_subjects=('S9', 'S1'))), 'overlap'),
    (dict(params=SynthMotionParams(actions=('walk', 'dance'))), 'dance'),
    (dict(params=SynthMotionParams(train_subjects=('S_1', ))), 'subject'),
    (dict(params=SynthMotionParams(frames=0)), 'frames'),
    (dict(params=SynthMotionParams(reps=True)), 'reps'),
])
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_synthmotion(tmp_path / 'out', progress=False, **kwargs)
    assert not (tmp_path / 'out').exists()


def test_existing_output(dataset, tmp_path):
    out = tmp_path / 'out'
    out.mkdir()
    with pytest.raises(FileExistsError):
        make_synthmotion(out, progress=False, params=SMALL)
    params = dataclasses.replace(SMALL, frames=5)
    summary = make_synthmotion(
        out, force=True, workers=1, progress=False, params=params)
    assert summary['num_frames'] == 3 * 2 * CAMS * 5
    assert tmp_siblings(out) == []


@pytest.mark.slow
def test_cli(tmp_path):
    out = tmp_path / 'cli'
    args = [
        CLI, out, '--seed', '3', '--frames', '8', '--reps', '1', '--actions',
        'sit', 'box', '--train-subjects', 'S1', '--test-subjects', 'S11',
        '--workers', '1', '--no-progress'
    ]
    proc = run_python(args)
    assert '"num_frames": 128' in proc.stdout
    data = _load(out, 'test')
    assert data['imgname'][0] == \
        'S11/S11_Sit_1.54138969/S11_Sit_1.54138969_000001.jpg'
    assert run_python(args, check=False).returncode == 1  # exists
    bad = run_python([CLI, tmp_path / 'bad', '--actions', 'dance'],
                     check=False)
    assert bad.returncode == 2 and 'dance' in bad.stderr
