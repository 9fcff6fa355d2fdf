"""Tests of the SynthPose synthetic data set generator."""
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from probpose_ext.datasets.generators import synthpose as sp
from probpose_ext.datasets.generators.synthpose import (SynthPoseParams,
                                                       make_synthpose)
from probpose_ext.datasets.generators.synthpose import writer as sp_writer
from tests.datasets._generator_checks import (fail_after, file_hashes,
                                              tmp_siblings)

REPO_ROOT = Path(__file__).resolve().parents[2]
CLI = REPO_ROOT / 'tools' / 'dataset_converters' / 'make_synthpose.py'
NUM_TRAIN, NUM_VAL = 12, 6
SMALL = (128, 128)


@pytest.fixture(scope='module')
def dataset(tmp_path_factory) -> Path:
    """A small data set generated with two worker processes."""
    out = tmp_path_factory.mktemp('synthpose') / 'data'
    summary = make_synthpose(
        out,
        num_train=NUM_TRAIN,
        num_val=NUM_VAL,
        seed=0,
        workers=2,
        progress=False)
    assert summary['num_images'] == NUM_TRAIN + NUM_VAL
    return out


@pytest.fixture(scope='module')
def names():
    return sp.coco_keypoint_names()


def _frontal_person(height: float = 180.0, **view) -> sp.Person:
    look = sp.sample_look(np.random.default_rng(0))
    return sp.build_person(sp.Pose(), sp.Body(), sp.View(**view), height, look)


def _render(persons, occluders=()):
    scene = sp.Scene((256, 256), list(persons), list(occluders))
    img, labels = sp.render_scene(scene, photometric=False)
    return scene, img, labels


# ---------------------------------------------------------------------------
# Output format
# ---------------------------------------------------------------------------
def test_layout_and_summary(dataset):
    for split, num in (('train', NUM_TRAIN), ('val', NUM_VAL)):
        files = sorted(p.name for p in (dataset / split).iterdir())
        assert files == [f'{i:012d}.jpg' for i in range(1, num + 1)]
        assert (dataset / 'annotations' /
                f'person_keypoints_{split}.json').is_file()
    assert tmp_siblings(dataset) == []


@pytest.mark.parametrize('split', ['train', 'val'])
def test_coco_schema_and_values(dataset, split):
    from xtcocotools.coco import COCO
    ann_file = dataset / 'annotations' / f'person_keypoints_{split}.json'
    coco = COCO(str(ann_file))
    raw = json.loads(ann_file.read_text())
    assert set(raw) >= {'info', 'images', 'annotations', 'categories'}
    assert raw['info']['seed'] == 0
    assert raw['info']['version'] == sp.GENERATOR_VERSION
    assert raw['info']['params'] == json.loads(
        json.dumps(dataclasses.asdict(SynthPoseParams())))

    num = NUM_TRAIN if split == 'train' else NUM_VAL
    assert sorted(coco.getImgIds()) == list(range(1, num + 1))
    for img in raw['images']:
        assert img['file_name'] == f"{img['id']:012d}.jpg"
        assert (img['width'], img['height']) == (256, 256)
        assert (dataset / split / img['file_name']).is_file()

    anns = raw['annotations']
    assert len(anns) >= num  # every image has at least one person
    ids = [a['id'] for a in anns]
    assert len(set(ids)) == len(ids)
    params = SynthPoseParams()
    for a in anns:
        assert set(a) == {
            'id', 'image_id', 'category_id', 'bbox', 'area', 'iscrowd',
            'num_keypoints', 'keypoints'
        }
        assert a['category_id'] == 1 and a['iscrowd'] == 0
        assert isinstance(a['area'], int)
        x, y, w, h = a['bbox']
        assert w > 0 and h > 0 and x >= 0 and y >= 0
        assert x + w <= 256 and y + h <= 256
        assert params.min_area <= a['area'] <= w * h
        kpts = np.asarray(a['keypoints'], dtype=np.float64).reshape(17, 3)
        vis = kpts[:, 2]
        assert set(vis.tolist()) <= {0, 1, 2}
        assert a['num_keypoints'] == np.count_nonzero(vis)
        assert a['num_keypoints'] >= params.min_keypoints
        assert np.all(kpts[vis == 0, :2] == 0)
        labelled = kpts[vis > 0]
        assert np.all(labelled[:, :2] >= 0)
        assert np.all(labelled[:, :2] <= 255)
        visible = kpts[vis == 2]
        tol = 2.0
        assert np.all(visible[:, 0] >= x - tol)
        assert np.all(visible[:, 0] <= x + w + tol)
        assert np.all(visible[:, 1] >= y - tol)
        assert np.all(visible[:, 1] <= y + h + tol)
    # the data exercise every visibility class
    all_vis = np.concatenate([np.asarray(a['keypoints'][2::3]) for a in anns])
    assert np.count_nonzero(all_vis == 2) > np.count_nonzero(all_vis == 1) > 0


def test_categories_match_mmpose_metainfo(dataset):
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    meta = parse_pose_metainfo(
        dict(from_file='configs/_base_/datasets/coco.py'))
    names = [meta['keypoint_id2name'][i] for i in range(meta['num_keypoints'])]
    skeleton = [[a + 1, b + 1] for a, b in meta['skeleton_links']]
    for split in ('train', 'val'):
        raw = json.loads((dataset / 'annotations' /
                          f'person_keypoints_{split}.json').read_text())
        assert raw['categories'] == [
            dict(
                id=1,
                name='person',
                supercategory='person',
                keypoints=names,
                skeleton=skeleton)
        ]


def test_loads_with_mmpose_coco_dataset(dataset):
    from mmpose.datasets import CocoDataset
    raw = json.loads(
        (dataset / 'annotations' / 'person_keypoints_val.json').read_text())
    ds = CocoDataset(
        data_root=str(dataset),
        ann_file='annotations/person_keypoints_val.json',
        data_prefix=dict(img='val/'),
        data_mode='topdown',
        pipeline=[],
        metainfo=dict(from_file='configs/_base_/datasets/coco.py'))
    assert len(ds) == len(raw['annotations'])
    by_id = {a['id']: a for a in raw['annotations']}
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        ann = by_id[info['id']]
        kpts = np.asarray(ann['keypoints'], dtype=np.float32).reshape(17, 3)
        np.testing.assert_allclose(info['keypoints'][0], kpts[:, :2])
        np.testing.assert_array_equal(info['keypoints_visible'][0],
                                      np.minimum(kpts[:, 2], 1))
        assert Path(info['img_path']).is_file()


# ---------------------------------------------------------------------------
# Determinism and atomicity
# ---------------------------------------------------------------------------
def test_deterministic_and_independent_of_workers(dataset, tmp_path):
    reference = file_hashes(dataset)
    assert len(reference) == NUM_TRAIN + NUM_VAL + 2
    kwargs = dict(num_train=NUM_TRAIN, num_val=NUM_VAL, progress=False)
    make_synthpose(tmp_path / 'same1', seed=0, workers=1, **kwargs)
    assert file_hashes(tmp_path / 'same1') == reference
    make_synthpose(tmp_path / 'same2', seed=0, workers=2, **kwargs)
    assert file_hashes(tmp_path / 'same2') == reference
    make_synthpose(tmp_path / 'other', seed=1, workers=2, **kwargs)
    other = file_hashes(tmp_path / 'other')
    assert other.keys() == reference.keys()
    assert all(other[k] != reference[k] for k in reference)


def test_render_image_deterministic(names):
    img1, anns1 = sp.render_image(
        sp.image_rng(3, 'val', 7), SMALL, None, names)
    img2, anns2 = sp.render_image(
        sp.image_rng(3, 'val', 7), SMALL, None, names)
    img3, _ = sp.render_image(sp.image_rng(3, 'val', 8), SMALL, None, names)
    assert img1.shape == (128, 128, 3) and img1.dtype == np.uint8
    np.testing.assert_array_equal(img1, img2)
    assert len(anns1) == len(anns2) >= 1
    for a, b in zip(anns1, anns2):
        np.testing.assert_array_equal(a['keypoints'], b['keypoints'])
        assert a['bbox'] == b['bbox'] and a['area'] == b['area']
    assert not np.array_equal(img1, img3)


@pytest.mark.parametrize('exc', [RuntimeError, KeyboardInterrupt])
def test_failure_leaves_nothing(tmp_path, monkeypatch, exc):
    out = tmp_path / 'data'
    calls = fail_after(monkeypatch, sp_writer, 'render_image', 3, exc)
    with pytest.raises(exc):
        make_synthpose(out, num_train=8, num_val=2, workers=1, progress=False)
    assert len(calls) == 4
    assert not out.exists()
    assert tmp_siblings(out) == []
    monkeypatch.undo()  # the next run completes
    summary = make_synthpose(
        out, num_train=4, num_val=2, workers=1, progress=False)
    assert summary['splits']['train']['num_images'] == 4
    assert (out / 'annotations' / 'person_keypoints_val.json').is_file()
    assert tmp_siblings(out) == []


def test_existing_dir_and_force(tmp_path):
    out = tmp_path / 'data'
    kwargs = dict(num_train=3, num_val=2, workers=1, progress=False)
    make_synthpose(out, **kwargs)
    (out / 'marker.txt').write_text('old')
    with pytest.raises(FileExistsError, match='force'):
        make_synthpose(out, **kwargs)
    assert (out / 'marker.txt').is_file()
    summary = make_synthpose(out, force=True, **dict(kwargs, num_train=5))
    assert summary['splits']['train']['num_images'] == 5
    assert not (out / 'marker.txt').exists()
    assert len(list((out / 'train').iterdir())) == 5
    assert tmp_siblings(out) == []


def test_stale_temp_dirs_are_removed(tmp_path):
    out = tmp_path / 'data'
    dead_pid = 2**31 - 2  # above any pid_max
    stale = tmp_path / f'data.tmp-{dead_pid}'
    (stale / 'train').mkdir(parents=True)
    alive = tmp_path / f'data.tmp-{os.getppid()}'  # a running process
    alive.mkdir()
    make_synthpose(out, num_train=2, num_val=1, workers=1, progress=False)
    assert not stale.exists()
    assert alive.exists()
    assert out.is_dir()


@pytest.mark.parametrize(
    'kwargs, exc',
    [(dict(num_train=-1), ValueError), (dict(num_val=-3), ValueError),
     (dict(num_train=0, num_val=0), ValueError),
     (dict(num_train=1.5), TypeError), (dict(seed=-1), ValueError),
     (dict(img_size=(256, )), ValueError),
     (dict(img_size=(16, 256)), ValueError),
     (dict(img_size=(256.0, 256)), ValueError), (dict(workers=0), ValueError),
     (dict(params=SynthPoseParams(p_occluder=1.5)), ValueError),
     (dict(params=SynthPoseParams(single_height=(0.9, 0.2))), ValueError),
     (dict(params=SynthPoseParams(jpeg_quality=0)), ValueError)])
def test_argument_validation(tmp_path, kwargs, exc):
    out = tmp_path / 'data'
    kwargs = dict(dict(num_train=2, num_val=1, progress=False), **kwargs)
    with pytest.raises(exc):
        make_synthpose(out, **kwargs)
    assert not out.exists()
    assert tmp_siblings(out) == []


# ---------------------------------------------------------------------------
# Geometry and visibility labelling
# ---------------------------------------------------------------------------
def test_frontal_person_all_visible_and_left_right(names):
    person = _frontal_person(yaw=0).translate(128, 120)
    scene, img, labels = _render([person])
    ann = sp.annotate_scene(scene, labels, names)[0]
    kpts = ann['keypoints']
    assert kpts.shape == (17, 3)
    assert np.all(kpts[:, 2] == 2), kpts[:, 2]
    idx = {n: i for i, n in enumerate(names)}
    # facing the camera, the person's left side is on the image's right
    for joint in ('eye', 'ear', 'shoulder', 'hip', 'knee', 'ankle'):
        assert kpts[idx[f'left_{joint}'], 0] > kpts[idx[f'right_{joint}'], 0]
    assert kpts[idx['nose'], 1] < kpts[idx['left_shoulder'], 1] < \
        kpts[idx['left_hip'], 1] < kpts[idx['left_knee'], 1] < \
        kpts[idx['left_ankle'], 1]
    # the bbox and area are those of the person's label pixels
    mask = (labels >> 4) == 1
    assert ann['area'] == int(mask.sum())
    ys, xs = np.nonzero(mask)
    assert ann['bbox'] == [
        xs.min(),
        ys.min(),
        xs.max() - xs.min() + 1,
        ys.max() - ys.min() + 1
    ]
    # standing height of about 180 px
    assert 150 < ann['bbox'][3] < 200


def test_back_and_side_views(names):
    idx = {n: i for i, n in enumerate(names)}
    back = _frontal_person(yaw=180).translate(128, 120)
    scene, _, labels = _render([back])
    kpts = sp.annotate_scene(scene, labels, names)[0]['keypoints']
    for face in ('nose', 'left_eye', 'right_eye'):
        assert kpts[idx[face], 2] == 1  # hidden behind the head
    assert kpts[idx['left_shoulder'], 0] < kpts[idx['right_shoulder'], 0]
    assert kpts[idx['left_shoulder'], 2] == 2

    side = _frontal_person(yaw=90).translate(128, 120)  # faces image right
    scene, _, labels = _render([side])
    kpts = sp.annotate_scene(scene, labels, names)[0]['keypoints']
    assert kpts[idx['left_shoulder'], 2] == 1  # far side
    assert kpts[idx['right_shoulder'], 2] == 2
    assert kpts[idx['left_eye'], 2] == 1
    assert kpts[idx['right_eye'], 2] == 2
    params = SynthPoseParams(face_self_occlusion_v=0)
    kpts = sp.annotate_scene(scene, labels, names, params)[0]['keypoints']
    assert np.all(kpts[idx['left_eye']] == 0)


def test_occluder_hides_keypoint(names):
    idx = {n: i for i, n in enumerate(names)}
    person = _frontal_person(yaw=0).translate(128, 120)
    wrist = person.joint('left_wrist')
    occluder = sp.make_occluder(wrist, 24)
    scene, img, labels = _render([person], [occluder])
    kpts = sp.annotate_scene(scene, labels, names)[0]['keypoints']
    x, y = np.round(wrist).astype(int)
    assert labels[y, x] == sp.OCCLUDER_LABEL
    np.testing.assert_array_equal(img[y, x], (128, 128, 128))
    assert kpts[idx['left_wrist'], 2] == 1
    np.testing.assert_allclose(kpts[idx['left_wrist'], :2], wrist)
    assert kpts[idx['right_wrist'], 2] == 2
    assert np.count_nonzero(kpts[:, 2] == 2) >= 15


def test_person_in_front_hides_keypoints(names):
    idx = {n: i for i, n in enumerate(names)}
    back = _frontal_person(150.0, yaw=0).translate(128, 110)
    front = _frontal_person(200.0, yaw=0).translate(128, 140)
    scene, _, labels = _render([back, front])  # painter's order
    anns = sp.annotate_scene(scene, labels, names)
    assert np.count_nonzero(anns[1]['keypoints'][:, 2] == 2) == 17
    hidden = anns[0]['keypoints']
    assert hidden[idx['left_hip'], 2] == 1
    assert hidden[idx['right_hip'], 2] == 1
    assert anns[0]['area'] < anns[1]['area']


def test_border_cut_person(names):
    idx = {n: i for i, n in enumerate(names)}
    # facing the camera, the right side is on the image's left
    person = _frontal_person(yaw=0).translate(2, 120)
    scene, _, labels = _render([person])
    ann = sp.annotate_scene(scene, labels, names)[0]
    kpts = ann['keypoints']
    for joint in ('right_shoulder', 'right_elbow', 'right_wrist'):
        assert kpts[idx[joint], 2] == 0
        assert np.all(kpts[idx[joint], :2] == 0)
    for joint in ('left_shoulder', 'left_hip', 'left_ankle'):
        assert kpts[idx[joint], 2] == 2
    assert ann['bbox'][0] == 0
    assert ann['num_keypoints'] == np.count_nonzero(kpts[:, 2])


def test_hidden_people_are_not_drawn(names):
    """Every drawn person is annotated: the number of label owners equals the
    number of annotations."""
    for i in range(8):
        rng = sp.image_rng(5, 'train', i)
        img, anns = sp.render_image(rng, SMALL, None, names)
        assert 1 <= len(anns) <= 3
        for a in anns:
            assert a['num_keypoints'] >= SynthPoseParams().min_keypoints


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------
@pytest.mark.slow
def test_cli(tmp_path):
    out = tmp_path / 'cli'
    cmd = [
        sys.executable,
        str(CLI),
        str(out), '--num-train', '3', '--num-val', '2', '--seed', '4',
        '--workers', '1', '--no-progress'
    ]
    res = subprocess.run(
        cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert len(list((out / 'train').iterdir())) == 3
    assert len(list((out / 'val').iterdir())) == 2
    for split in ('train', 'val'):
        assert (out / 'annotations' /
                f'person_keypoints_{split}.json').is_file()
    summary = json.loads(res.stdout[res.stdout.index('{'):])
    assert summary['num_images'] == 5

    again = subprocess.run(
        cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode != 0
    assert '--force' in again.stderr


@pytest.mark.slow
def test_workers_do_not_deadlock_after_opencv_threads_were_used(tmp_path):
    """Regression: cv2.setNumThreads in a forked worker deadlocks once the
    parent has used OpenCV's thread pool (e.g. an MMPose pipeline ran)."""
    import subprocess
    import sys
    code = (
        'import cv2, numpy as np\n'
        'img = np.zeros((1500, 1500, 3), np.uint8)\n'
        'cv2.GaussianBlur(img, (0, 0), 3); cv2.warpAffine(img, np.eye(2, 3),'
        ' (1200, 1200))\n'
        'threads = cv2.getNumThreads()\n'
        'from probpose_ext.datasets.generators.synthpose import '
        'make_synthpose\n'
        f'make_synthpose({str(tmp_path / "out")!r}, num_train=6, num_val=2,'
        ' workers=2, progress=False)\n'
        'assert cv2.getNumThreads() == threads  # restored in the parent\n')
    proc = subprocess.run([sys.executable, '-c', code], timeout=120,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / 'out' / 'annotations' /
            'person_keypoints_val.json').is_file()
