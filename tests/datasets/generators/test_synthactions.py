"""Tests of the SynthActions generator
(``probpose_ext.datasets.generators.synthactions``): MMAction2's skeleton
pkl layout, the xsub / xview splits, the 2D projection of the 3D joints,
the placement of the sequences, determinism, the arguments and the
command line."""
import dataclasses
import pickle
from pathlib import Path

import numpy as np
import pytest

from probpose_ext.datasets.generators import kinematics as km
from probpose_ext.datasets.generators import motion as mo
from probpose_ext.datasets.generators import synthactions as sa
from probpose_ext.datasets.generators.synthactions import (SynthActionsParams,
                                                           make_synthactions)
from tests.conftest import run_python
from tests.datasets._generator_checks import file_hashes, tmp_siblings

REPO_ROOT = Path(__file__).resolve().parents[3]
CLI = REPO_ROOT / 'tools' / 'dataset_converters' / 'make_synthactions.py'
SMALL = SynthActionsParams(
    subjects=3,
    actions=('clap', 'walk', 'run', 'jumping_jack'),
    reps=2,
    min_frames=10,
    max_frames=16,
    xsub_train_subjects=(1, 2))
NUM = 3 * 4 * 2 * 3  # subjects x actions x reps x cameras
SHAPE = (1080, 1920)
# the limb joints COCO-17 and Human3.6M-17 share
# (COCO name, Human3.6M name)
LIMBS = [(f'{side}_{joint}', f'{side}_{joint}'.replace('ankle', 'foot'))
         for side, _ in km.SIDES
         for joint in ('shoulder', 'elbow', 'wrist', 'hip', 'knee', 'ankle')]


@pytest.fixture(scope='module')
def dataset(tmp_path_factory) -> Path:
    """The small data set, generated in this process."""
    out = tmp_path_factory.mktemp('synthactions') / 'data'
    summary = make_synthactions(
        out, seed=0, params=SMALL, workers=1, progress=False)
    assert summary['num_annotations'] == NUM
    assert summary['num_sequences'] == NUM // 3
    return out


def _load(root: Path, layout: str) -> dict:
    with open(root / sa.FILES[layout], 'rb') as f:
        return pickle.load(f)


# ---------------------------------------------------------------------------
# Layout
# ---------------------------------------------------------------------------
def test_layout(dataset):
    assert sorted(p.name for p in dataset.iterdir()) == [
        'README.md', 'synthactions_2d.pkl', 'synthactions_3d.pkl'
    ]
    data3, data2 = _load(dataset, 'h36m'), _load(dataset, 'coco')
    for data, layout in ((data3, 'h36m'), (data2, 'coco')):
        assert set(data) == {'split', 'annotations', 'meta'}
        assert set(data['split']) == set(sa.SPLITS)
        assert len(data['annotations']) == NUM
        meta = data['meta']
        assert meta['layout'] == layout
        assert meta['classes'] == ['clap', 'walk', 'run', 'jumping_jack']
        assert meta['fps'] == 25 and meta['seed'] == 0
        assert meta['generator_version'] == sa.GENERATOR_VERSION
        assert meta['params'] == dataclasses.asdict(SMALL)
        assert meta['cameras'] == {
            i: dict(f=(1050.0, 1050.0), c=(959.5, 539.5), w=1920, h=1080)
            for i in (1, 2, 3)
        }
        assert sorted(meta['extrinsics']) == ['P001', 'P002', 'P003']
    names = [a['frame_dir'] for a in data3['annotations']]
    assert names == sorted(names) and len(set(names)) == NUM
    assert names[0] == 'C001P001R001A001'
    assert [a['frame_dir'] for a in data2['annotations']] == names
    assert data2['split'] == data3['split']
    for a3, a2 in zip(data3['annotations'], data2['annotations']):
        assert set(a3) == {
            'frame_dir', 'label', 'img_shape', 'original_shape',
            'total_frames', 'keypoint'
        }
        assert set(a2) == set(a3) | {'keypoint_score'}
        T = a3['total_frames']
        assert isinstance(T, int) and 10 <= T <= 16
        assert a2['total_frames'] == T
        assert a3['img_shape'] == a3['original_shape'] == SHAPE
        assert a3['keypoint'].dtype == np.float32
        assert a3['keypoint'].shape == (1, T, 17, 3)
        assert a2['keypoint'].dtype == np.float32
        assert a2['keypoint'].shape == (1, T, 17, 2)
        assert a2['keypoint_score'].dtype == np.float32
        np.testing.assert_array_equal(a2['keypoint_score'],
                                      np.ones((1, T, 17), np.float32))
        parsed = sa.parse_frame_dir(a3['frame_dir'])
        assert a3['label'] == a2['label'] == parsed['label']
        assert np.all(np.isfinite(a3['keypoint']))
        assert np.all(a3['keypoint'][..., 2] > 1.0)  # in front, metres
    lengths = {a['total_frames'] for a in data3['annotations']}
    assert len(lengths) > 3  # drawn per sequence
    readme = (dataset / 'README.md').read_text()
    assert 'PoseDataset' in readme and 'xsub_train 48' in readme


def test_frame_dir_names():
    assert sa.frame_dir(1, 3, 1, 9) == 'C001P003R002A010'
    assert sa.parse_frame_dir('C001P003R002A010') == dict(
        camera=1, subject=3, rep=1, label=9)
    with pytest.raises(ValueError, match='frame_dir'):
        sa.parse_frame_dir('S001C001P003R002A010')


def test_splits_partition_by_subject_and_camera(dataset):
    data = _load(dataset, 'h36m')
    split = data['split']
    names = {a['frame_dir'] for a in data['annotations']}
    for kind in ('xsub', 'xview'):
        train, val = set(split[f'{kind}_train']), set(split[f'{kind}_val'])
        assert len(train) == len(split[f'{kind}_train'])
        assert train | val == names and not train & val
    for name in split['xsub_train']:
        assert sa.parse_frame_dir(name)['subject'] in (1, 2)
    for name in split['xsub_val']:
        assert sa.parse_frame_dir(name)['subject'] == 3
    for name in split['xview_train']:
        assert sa.parse_frame_dir(name)['camera'] in (2, 3)
    for name in split['xview_val']:
        assert sa.parse_frame_dir(name)['camera'] == 1
    assert len(split['xsub_train']) == 48 and len(split['xsub_val']) == 24
    assert len(split['xview_train']) == 48 and len(split['xview_val']) == 24
    # every (subject, rep, label) is seen by the three cameras, with the
    # same number of frames
    frames = {}
    for a in data['annotations']:
        p = sa.parse_frame_dir(a['frame_dir'])
        frames.setdefault((p['subject'], p['rep'], p['label']),
                          set()).add((p['camera'], a['total_frames']))
    assert len(frames) == NUM // 3
    for views in frames.values():
        assert sorted(c for c, _ in views) == [1, 2, 3]
        assert len({t for _, t in views}) == 1


# ---------------------------------------------------------------------------
# Geometry
# ---------------------------------------------------------------------------
def test_2d_is_the_projection_of_3d(dataset):
    data3, data2 = _load(dataset, 'h36m'), _load(dataset, 'coco')
    h36m = km.joint_set_names('h36m17')
    coco = km.joint_set_names('coco17')
    rows3 = [h36m.index(n) for _, n in LIMBS]
    rows2 = [coco.index(n) for n, _ in LIMBS]
    assert len(rows3) == 12
    cameras = data3['meta']['cameras']
    for a3, a2 in zip(data3['annotations'], data2['annotations']):
        cam = cameras[sa.parse_frame_dir(a3['frame_dir'])['camera']]
        xyz = a3['keypoint'][0][:, rows3].astype(np.float64)
        uv = xyz[..., :2] / xyz[..., 2:] * cam['f'] + cam['c']
        np.testing.assert_allclose(
            a2['keypoint'][0][:, rows2], uv, rtol=0, atol=1e-3)
        # the people are in the image
        k = a2['keypoint'][0]
        assert np.all((k >= 0) & (k <= (1919, 1079)))


def test_3d_is_the_camera_frame_of_the_placed_motion(dataset):
    data = _load(dataset, 'h36m')
    extr = data['meta']['extrinsics']['P002']
    body, height = sa.subject_model(0, 'P002')
    motion = sa.sequence_motion(0, 'P002', 'run', 1, body, height, SMALL)
    world = km.select_joints(motion.joints, 'h36m17')
    anns = {a['frame_dir']: a for a in data['annotations']}
    for camera in (1, 2, 3):
        R, T = np.array(extr[camera]['R']), np.array(extr[camera]['T'])
        expected = (world - T) @ R
        got = anns[f'C{camera:03d}P002R002A003']['keypoint'][0]
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


def test_placement_faces_camera_1():
    params = dataclasses.replace(SMALL, min_frames=100, max_frames=100)
    cams = sa.subject_cameras(0, 'P001', params)
    front = cams[0].T[:2, 0] / np.linalg.norm(cams[0].T[:2, 0])
    np.testing.assert_allclose(front, [0.0, 1.0], atol=0.1)
    body, height = sa.subject_model(0, 'P001')
    for action in ('clap', 'kick', 'wave'):
        for rep in range(3):
            m = sa.sequence_motion(0, 'P001', action, rep, body, height,
                                   params)
            assert m.joints.shape == (100, len(km.JOINT_NAMES), 3)
            heading = np.radians(m.heading)
            mean = np.degrees(
                np.arctan2(np.sin(heading).mean(), np.cos(heading).mean()))
            assert abs(mean) <= 30.0 + 1e-6
            # standing on the spot about the origin
            assert np.abs(m.translation[:, :2]).max() < 0.2
    run = sa.sequence_motion(0, 'P001', 'run', 0, body, height, params)
    xy = run.translation[:, :2]
    # (seed 0: more than a lap) the circle's centre is the origin
    np.testing.assert_allclose((xy.min(0) + xy.max(0)) / 2, 0, atol=0.05)
    assert np.abs(xy).max() < 2.1


def test_sequences_do_not_depend_on_the_other_choices():
    body, height = sa.subject_model(5, 'P004')
    a = sa.sequence_motion(5, 'P004', 'kick', 0, body, height, SMALL)
    other = dataclasses.replace(SMALL, actions=('kick', ), subjects=9,
                                xsub_train_subjects=(1, ))
    b = sa.sequence_motion(5, 'P004', 'kick', 0, body, height, other)
    np.testing.assert_array_equal(a.joints, b.joints)
    c = sa.sequence_motion(5, 'P004', 'kick', 1, body, height, SMALL)
    assert a.joints.shape != c.joints.shape or np.abs(a.joints -
                                                      c.joints).max() > 0.05


def test_cameras_jitter_per_subject():
    params = SynthActionsParams()
    a = sa.subject_cameras(0, 'P001', params)
    b = sa.subject_cameras(0, 'P002', params)
    assert [c.id for c in a] == ['1', '2', '3']
    assert not np.allclose(a[0].T, b[0].T)
    still = dataclasses.replace(params, camera_jitter=0.0)
    a, b = (sa.subject_cameras(0, s, still) for s in ('P001', 'P002'))
    for ca, cb in zip(a, b):
        np.testing.assert_array_equal(ca.R, cb.R)
    # azimuths 0, -45, +45 around the target, 3.9 m away, 1.2 m high
    for cam, azimuth in zip(a, (0.0, -45.0, 45.0)):
        angle = np.degrees(np.arctan2(cam.T[1, 0], cam.T[0, 0])) - 90
        assert angle == pytest.approx(azimuth)
        assert np.linalg.norm(cam.T[:2, 0]) == pytest.approx(3.9)
        assert cam.T[2, 0] == pytest.approx(1.2)
        assert (cam.w, cam.h) == (1920, 1080)


# ---------------------------------------------------------------------------
# Determinism, arguments and the command line
# ---------------------------------------------------------------------------
def test_deterministic_whatever_workers(dataset, tmp_path):
    out = tmp_path / 'two'
    make_synthactions(out, seed=0, params=SMALL, workers=2, progress=False)
    assert file_hashes(out) == file_hashes(dataset)
    other = tmp_path / 'seed1'
    make_synthactions(other, seed=1, params=SMALL, workers=1, progress=False)
    hashes = file_hashes(other)
    assert hashes['synthactions_3d.pkl'] != \
        file_hashes(dataset)['synthactions_3d.pkl']


@pytest.mark.parametrize('kwargs, match', [
    (dict(seed=-1), 'seed'),
    (dict(workers=0), 'workers'),
    (dict(params=SynthActionsParams(subjects=1)), 'subjects'),
    (dict(params=SynthActionsParams(actions=())), 'actions'),
    (dict(params=SynthActionsParams(actions=('walk', 'dance'))), 'dance'),
    (dict(params=SynthActionsParams(actions=('walk', 'walk'))), 'duplicates'),
    (dict(params=SynthActionsParams(reps=0)), 'reps'),
    (dict(params=SynthActionsParams(fps=True)), 'fps'),
    (dict(params=SynthActionsParams(min_frames=50, max_frames=40)),
     'min_frames'),
    (dict(params=SynthActionsParams(xsub_train_subjects=(1, 17))),
     'xsub_train_subjects'),
    (dict(params=SynthActionsParams(xsub_train_subjects=tuple(range(1, 17)))),
     'val split'),
    (dict(params=SynthActionsParams(xview_train_cameras=(4, ))),
     'xview_train_cameras'),
    (dict(params=SynthActionsParams(camera_azimuths=(0.0, ))),
     'camera_azimuths'),
    (dict(params=SynthActionsParams(camera_distance=0.0)), 'camera_distance'),
    (dict(params=SynthActionsParams(image_size=(1920, ))), 'image_size'),
    (dict(params=SynthActionsParams(heading_range=200.0)), 'heading_range'),
])
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_synthactions(tmp_path / 'out', progress=False, **kwargs)
    assert not (tmp_path / 'out').exists()


def test_bad_params_type(tmp_path):
    with pytest.raises(TypeError, match='SynthActionsParams'):
        make_synthactions(tmp_path / 'out', params=dict(subjects=3))


def test_existing_output(tmp_path):
    out = tmp_path / 'out'
    out.mkdir()
    with pytest.raises(FileExistsError):
        make_synthactions(out, params=SMALL, progress=False)
    params = dataclasses.replace(SMALL, actions=('kick', ), reps=1)
    summary = make_synthactions(
        out, params=params, force=True, workers=1, progress=False)
    assert summary['num_annotations'] == 3 * 3
    assert summary['splits'] == dict(
        xsub_train=6, xsub_val=3, xview_train=6, xview_val=3)
    assert summary['classes'] == ['kick']
    assert tmp_siblings(out) == []


def test_default_params():
    params = SynthActionsParams()
    params.validate()
    assert params.subjects == 16 and params.reps == 3 and params.fps == 25
    assert params.actions == mo.ALL_ACTIONS and len(params.actions) == 12
    assert params.xsub_train_subjects == tuple(range(1, 11))
    assert params.xview_train_cameras == (2, 3)
    assert (params.min_frames, params.max_frames) == (72, 120)
    assert 16 * 12 * 3 * 3 == 1728


@pytest.mark.slow
def test_cli(tmp_path):
    out = tmp_path / 'cli'
    args = [
        CLI, out, '--seed', '2', '--subjects', '2', '--reps', '1',
        '--actions', 'kick', 'clap', '--workers', '1', '--no-progress'
    ]
    proc = run_python(args)
    assert '"num_annotations": 12' in proc.stdout
    assert '"xsub_train": 6' in proc.stdout
    data = _load(out, 'coco')
    assert data['meta']['classes'] == ['kick', 'clap']
    assert data['meta']['params']['xsub_train_subjects'] == (1, )
    assert run_python(args, check=False).returncode == 1  # exists
    assert run_python(args + ['--force']).returncode == 0
    bad = run_python([CLI, tmp_path / 'bad', '--actions', 'dance'],
                     check=False)
    assert bad.returncode == 2 and 'dance' in bad.stderr
    assert not (tmp_path / 'bad').exists()
