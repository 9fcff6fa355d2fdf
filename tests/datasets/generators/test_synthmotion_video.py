"""Tests of SynthMotion video
(``probpose_ext.datasets.generators.synthmotion_video``) and of the
perspective placement of SynthPose's person
(``synthpose.person.Placement``): the layout, the COCO keypoints against
the npz joints, the motion against SynthMotion's, perspective against weak
perspective, determinism, shared backgrounds, parameter checks and the
command line."""
import dataclasses
import importlib.util
import json
import pickle
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from probpose_ext.datasets.generators import kinematics as km
from probpose_ext.datasets.generators import synthmotion_video as smv
from probpose_ext.datasets.generators.camera import PinholeCamera
from probpose_ext.datasets.generators.synthmotion import (SynthMotionParams,
                                                          make_synthmotion,
                                                          sequence_motion,
                                                          subject_cameras,
                                                          subject_model)
from probpose_ext.datasets.generators.synthmotion_video import (
    SynthMotionVideoParams, make_synthmotion_video)
from probpose_ext.datasets.generators.synthpose import (Body, Pose, View,
                                                        build_person,
                                                        sample_look)
from probpose_ext.datasets.generators.synthpose.person import Placement
from tests.conftest import run_python
from tests.datasets._generator_checks import (fail_after, file_hashes,
                                              tmp_siblings)

REPO_ROOT = Path(__file__).resolve().parents[3]
CLI = REPO_ROOT / 'tools' / 'dataset_converters' / 'make_synthmotion_video.py'
FRAMES, W, H = 5, 160, 128
MOTION = SynthMotionParams(
    train_subjects=('S1', ),
    test_subjects=('S9', ),
    actions=('walk', 'jump'),
    reps=1,
    frames=FRAMES,
    fps=25)
SMALL = SynthMotionVideoParams(motion=MOTION, img_size=(W, H))
VIDEOS = 2 * 4  # per split: 1 subject x 2 actions x 4 cameras
NPZ = 'annotation_body3d/fps25/synthmotion_video_{}.npz'
COCO = 'annotations/person_keypoints_{}.json'
IMGNAME = re.compile(r'^(S\d+)/(S\d+)_([A-Za-z]+)_1\.(\d{8})/'
                     r'(S\d+)_([A-Za-z]+)_1\.(\d{8})_(\d{6})\.jpg$')


@pytest.fixture(scope='module')
def dataset(tmp_path_factory) -> Path:
    """The small data set, rendered with two worker processes."""
    out = tmp_path_factory.mktemp('smv') / 'data'
    summary = make_synthmotion_video(
        out, seed=0, workers=2, progress=False, params=SMALL)
    assert summary['num_frames'] == 2 * VIDEOS * FRAMES
    assert summary['img_size'] == [W, H]
    return out


def _npz(root: Path, split: str) -> dict:
    with np.load(root / NPZ.format(split)) as f:
        return {k: f[k] for k in f.files}


def _coco(root: Path, split: str) -> dict:
    return json.loads((root / COCO.format(split)).read_text())


def _shared_joints():
    """(COCO index, H36M index) of the joints of both sets."""
    coco = km.coco_keypoint_names()
    pairs = []
    for i, name in enumerate(km.joint_set_names('h36m17')):
        model = km.H36M_JOINTS.get(name, name)
        if model in coco:
            pairs.append((coco.index(model), i))
    return pairs


# ---------------------------------------------------------------------------
# Layout
# ---------------------------------------------------------------------------
def test_layout(dataset):
    files = sorted(
        str(p.relative_to(dataset)) for p in dataset.rglob('*') if p.is_file())
    images = [f for f in files if f.startswith('images/')]
    assert [f for f in files if not f.startswith('images/')] == [
        'README.md', 'annotation_body3d/cameras.pkl',
        NPZ.format('test'),
        NPZ.format('train'),
        COCO.format('test'),
        COCO.format('train')
    ]
    assert len(images) == 2 * VIDEOS * FRAMES
    assert tmp_siblings(dataset) == []
    assert 'seed: 0' in (dataset / 'README.md').read_text()
    for split, subject in (('train', 'S1'), ('test', 'S9')):
        data = _npz(dataset, split)
        n = VIDEOS * FRAMES
        assert sorted(data) == ['S', 'center', 'imgname', 'part', 'scale']
        assert data['S'].shape == (n, 17, 4) and data['S'].dtype == np.float32
        assert data['part'].shape == (n, 17, 3)
        assert data['part'].dtype == np.float32
        assert data['center'].shape == (n, 2) and data['scale'].shape == (n, )
        np.testing.assert_array_equal(data['S'][..., 3], 1.0)
        np.testing.assert_array_equal(data['part'][..., 2], 1.0)
        videos = []
        for row, name in enumerate(data['imgname']):
            m = IMGNAME.match(str(name))
            assert m, name
            assert m.group(1) == m.group(2) == m.group(5) == subject
            assert int(m.group(8)) == row % FRAMES + 1  # video order
            assert (dataset / 'images' / name).is_file()
            if row % FRAMES == 0:
                videos.append((m.group(3), m.group(4)))
        cams = ['54138969', '55011271', '58860488', '60457274']
        assert videos == [(a, c) for a in ('Walk', 'Jump') for c in cams]
        img = cv2.imread(str(dataset / 'images' / data['imgname'][0]))
        assert img.shape == (H, W, 3)


# ---------------------------------------------------------------------------
# The motion and the cameras are SynthMotion's
# ---------------------------------------------------------------------------
def test_same_motion_as_synthmotion(dataset, tmp_path):
    make_synthmotion(
        tmp_path / 'sm', seed=0, workers=1, progress=False, params=MOTION)
    root = tmp_path / 'sm' / 'annotation_body3d'
    with open(root / 'cameras.pkl', 'rb') as f:
        original = pickle.load(f)
    with open(dataset / 'annotation_body3d' / 'cameras.pkl', 'rb') as f:
        scaled = pickle.load(f)
    assert sorted(scaled) == sorted(original)
    for key, cam in scaled.items():
        ref = original[key]
        np.testing.assert_array_equal(cam['R'], ref['R'])
        np.testing.assert_array_equal(cam['T'], ref['T'])
        factor = np.array([[W / ref['w']], [H / ref['h']]])
        np.testing.assert_allclose(cam['f'], ref['f'] * factor, rtol=1e-15)
        np.testing.assert_allclose(cam['c'], ref['c'] * factor, rtol=1e-15)
        assert (cam['w'], cam['h']) == (W, H)
        assert (cam['name'], cam['id']) == (ref['name'], ref['id'])
    for split in ('train', 'test'):
        data = _npz(dataset, split)
        with np.load(root / 'fps25' / f'synthmotion_{split}.npz') as f:
            np.testing.assert_array_equal(data['S'], f['S'])
            np.testing.assert_array_equal(data['imgname'], f['imgname'])
        # part: the projection of S by the scaled cameras.pkl camera
        for row in range(0, len(data['S']), FRAMES):
            subject = str(data['imgname'][row]).split('/')[0]
            cam_id = str(data['imgname'][row]).split('.')[1][:8]
            camera = PinholeCamera.from_dict(scaled[(subject, cam_id)])
            rows = slice(row, row + FRAMES)
            pixels = camera.camera_to_pixel(data['S'][rows, :, :3].astype(
                np.float64))
            np.testing.assert_array_equal(data['part'][rows, :, :2],
                                          pixels.astype(np.float32))


def test_loads_with_mmpose_human36m_dataset(dataset):
    from mmpose.registry import DATASETS
    importlib.import_module('mmpose.datasets')  # registers the datasets
    ds = DATASETS.build(
        dict(
            type='Human36mDataset',
            ann_file=NPZ.format('test'),
            data_root=str(dataset),
            seq_len=3,
            causal=False,
            pad_video_seq=True,
            camera_param_file='annotation_body3d/cameras.pkl',
            test_mode=True,
            pipeline=[]))
    data = _npz(dataset, 'test')
    assert len(ds) == len(data['imgname'])
    info = ds[7]
    row = int(np.flatnonzero(data['imgname'] == info['target_img_path'][0]))
    np.testing.assert_array_equal(info['lifting_target'][0],
                                  data['S'][row, :, :3])
    # the 2D input of the centre frame is the npz part
    np.testing.assert_array_equal(info['keypoints'][1],
                                  data['part'][row, :, :2])
    camera = info['camera_param']
    assert (camera['w'], camera['h']) == (W, H)


def test_part_matches_mmpose_simple_camera(dataset):
    from mmpose.utils.camera import SimpleCamera
    with open(dataset / 'annotation_body3d' / 'cameras.pkl', 'rb') as f:
        cameras = pickle.load(f)
    data = _npz(dataset, 'test')
    camera = SimpleCamera(cameras[('S9', '54138969')])
    pixels = camera.camera_to_pixel(data['S'][:FRAMES, :, :3])
    np.testing.assert_allclose(pixels, data['part'][:FRAMES, :, :2], atol=2e-3)


# ---------------------------------------------------------------------------
# COCO annotations
# ---------------------------------------------------------------------------
@pytest.mark.parametrize('split', ['train', 'test'])
def test_coco_keypoints_are_npz_joints(dataset, split):
    from xtcocotools.coco import COCO as XtCOCO
    data, raw = _npz(dataset, split), _coco(dataset, split)
    coco = XtCOCO(str(dataset / COCO.format(split)))
    n = len(data['imgname'])
    assert sorted(coco.getImgIds()) == list(range(1, n + 1))
    assert [im['id'] for im in raw['images']] == list(range(1, n + 1))
    assert [im['file_name']
            for im in raw['images']] == data['imgname'].tolist()
    assert all((im['width'], im['height']) == (W, H) for im in raw['images'])
    assert [a['id'] for a in raw['annotations']] == list(range(1, n + 1))
    assert [a['image_id'] for a in raw['annotations']] == list(range(1, n + 1))
    assert raw['info']['seed'] == 0 and raw['info']['split'] == split
    assert raw['info']['params'] == json.loads(
        json.dumps(dataclasses.asdict(SMALL)))
    pairs = _shared_joints()
    assert len(pairs) == 13  # nose, shoulders, elbows, wrists, hips, ...
    coco_idx, h36m_idx = map(list, zip(*pairs))
    for row, ann in enumerate(raw['annotations']):
        assert ann['category_id'] == 1 and ann['iscrowd'] == 0
        kpts = np.asarray(ann['keypoints'], dtype=np.float64).reshape(17, 3)
        vis = kpts[:, 2]
        assert set(vis.tolist()) <= {0, 1, 2}
        assert ann['num_keypoints'] == np.count_nonzero(vis)
        assert np.all(kpts[vis == 0, :2] == 0)
        part = data['part'][row, h36m_idx, :2].astype(np.float64)
        inside = ((part >= 0) & (part <= (W - 1, H - 1))).all(axis=1)
        shared = kpts[coco_idx]
        np.testing.assert_array_equal(shared[:, 2] > 0, inside)
        np.testing.assert_allclose(
            shared[inside, :2], part[inside], atol=1e-3, rtol=0)
        # visible keypoints lie in the box of the visible pixels
        x, y, w, h = ann['bbox']
        assert w > 0 and h > 0 and 0 < ann['area'] <= w * h
        visible = kpts[vis == 2, :2]
        assert len(visible) >= 5
        assert np.all(visible >= (x - 1, y - 1))
        assert np.all(visible <= (x + w + 1, y + h + 1))
    all_vis = np.concatenate(
        [np.asarray(a['keypoints'][2::3]) for a in raw['annotations']])
    assert np.count_nonzero(all_vis == 2) > np.count_nonzero(all_vis == 1) > 0


def test_categories_are_synthpose_s(dataset):
    meta = km.load_coco_metainfo()
    skeleton = [[a + 1, b + 1] for a, b in meta['skeleton_links']]
    for split in ('train', 'test'):
        assert _coco(dataset, split)['categories'] == [
            dict(
                id=1,
                name='person',
                supercategory='person',
                keypoints=km.coco_keypoint_names(),
                skeleton=skeleton)
        ]


def test_loads_with_mmpose_coco_dataset(dataset):
    from mmpose.datasets import CocoDataset
    raw = _coco(dataset, 'test')
    ds = CocoDataset(
        data_root=str(dataset),
        ann_file=COCO.format('test'),
        data_prefix=dict(img='images/'),
        data_mode='topdown',
        pipeline=[],
        metainfo=dict(from_file='configs/_base_/datasets/coco.py'))
    assert len(ds) == len(raw['images'])
    for i in (0, len(ds) - 1):
        info = ds.get_data_info(i)
        ann = raw['annotations'][info['id'] - 1]
        kpts = np.asarray(ann['keypoints'], dtype=np.float32).reshape(17, 3)
        np.testing.assert_allclose(info['keypoints'][0], kpts[:, :2])
        assert info['img_path'] == str(
            dataset / 'images' / raw['images'][info['id'] - 1]['file_name'])
        assert Path(info['img_path']).is_file()


# ---------------------------------------------------------------------------
# Perspective placement of a person
# ---------------------------------------------------------------------------
def _view_placement(view: View,
                    distance: float,
                    heading: float = 30.0,
                    height_m: float = 1.8,
                    focal: float = 1000.0):
    """A camera whose view of the placed body is ``view``: the body ->
    camera rotation (x right, y up, z towards the camera) is ``Rz(roll)
    Rx(pitch) Ry(yaw)``, the pelvis on the optical axis at ``distance``."""
    view_rot = km.rotation_z(view.roll) @ km.rotation_x(
        view.pitch) @ km.rotation_y(view.yaw)
    body_to_world = km.body_to_world(np.eye(3), np.zeros(3), heading, 1.0).T
    rot = body_to_world @ view_rot.T @ np.diag([1.0, -1.0, -1.0])
    translation = np.array([0.3, -0.2, 1.0])
    camera = PinholeCamera(
        R=rot,
        T=translation - distance * rot[:, 2],
        f=(focal, focal),
        c=(320.0, 240.0),
        w=640,
        h=480)
    return Placement(camera, translation, heading, height_m)


POSE = Pose(
    torso_lean=10.0,
    torso_twist=8.0,
    head_yaw=15.0,
    shoulder_flex=(40.0, -20.0),
    elbow_flex=(60.0, 20.0),
    hip_flex=(30.0, -10.0),
    knee_flex=(40.0, 5.0))
VIEWS = [
    View(0.0, 0.0, 0.0),
    View(35.0, 12.0, 5.0),
    View(100.0, -8.0, -4.0),
    View(200.0, 5.0, 0.0)
]


@pytest.mark.parametrize('view', VIEWS)
def test_perspective_agrees_with_weak_perspective_far_away(view):
    """The perspective person of a camera far away on the view direction is
    the weak-perspective person.

    With the pelvis on the optical axis at distance d, a point at camera
    depth d - delta projects to ``c + u_weak * d / (d - delta)`` with
    ``delta = depth_weak * d / f``, exactly; for a body (|u_weak| < 0.7 H,
    |delta| < 0.35 of its 1.8 m) at 50 m the relative error is below
    0.7 * 0.63 / 49.4 < 1 % of the pixel height H.
    """
    look = sample_look(np.random.default_rng(0))
    focal, distance, height_m = 1000.0, 50.0, 1.8
    placement = _view_placement(view, distance, height_m=height_m)
    far = build_person(POSE, Body(), None, None, look, placement=placement)
    weak = build_person(POSE, Body(), view, focal * height_m / distance, look)
    centre = np.array([320.0, 240.0])
    assert far.joint_names == weak.joint_names
    assert far.height == pytest.approx(weak.height, rel=1e-12)
    np.testing.assert_array_equal(far.offset, 0.0)
    np.testing.assert_allclose(far.depth, weak.depth, rtol=0, atol=1e-9)
    # exact perspective relation
    np.testing.assert_allclose(
        (far.keypoints() - centre) * (1 - weak.depth / focal)[:, None],
        weak.keypoints(),
        rtol=0,
        atol=1e-9)
    # the weak-perspective approximation at 50 m
    error = np.abs(far.keypoints() - centre - weak.keypoints()).max()
    assert error < 0.01 * weak.height
    np.testing.assert_array_equal(far.facing, weak.facing)
    assert [(s.part, s.region) for s in far.shapes] == \
        [(s.part, s.region) for s in weak.shapes]
    np.testing.assert_allclose(
        far.extent() - np.tile(centre, 2),
        weak.extent(),
        rtol=0,
        atol=0.01 * weak.height)
    assert far.head.radius == pytest.approx(weak.head.radius, rel=0.01)
    np.testing.assert_allclose(far.head.up, weak.head.up, atol=0.02)
    np.testing.assert_allclose(
        far.head.hair_dir, weak.head.hair_dir, atol=0.02)
    assert len(far.head.eyes) == len(weak.head.eyes)
    assert (far.head.nose is None) == (weak.head.nose is None)


def test_placement_projects_the_world_joints():
    """Keypoints are the camera's pixels of the placed 3D joints, also off
    the optical axis and close to the camera."""
    body = Body()
    camera = subject_cameras(0, 'S1')[2]
    placement = Placement(camera, (0.6, -0.9, 0.95), 123.0, 1.7)
    person = build_person(
        POSE,
        body,
        None,
        None,
        sample_look(np.random.default_rng(1)),
        placement=placement)
    joints, _ = km.forward_kinematics(km.pose_to_angles(POSE), body)
    world = km.body_to_world(joints, placement.translation, 123.0, 1.7)
    cam = camera.world_to_camera(world)
    pixels = camera.camera_to_pixel(cam)
    rows = [km.JOINT_NAMES.index(n) for n in person.joint_names]
    np.testing.assert_allclose(
        person.keypoints(), pixels[rows], rtol=0, atol=1e-9)
    pelvis_z = cam[0, 2]
    focal = camera.f.mean()
    assert person.height == pytest.approx(focal * 1.7 / pelvis_z, rel=1e-12)
    np.testing.assert_allclose(
        person.depth, (pelvis_z - cam[rows, 2]) * focal / pelvis_z,
        rtol=0,
        atol=1e-9)


def test_placement_view_frame_follows_the_ray():
    """Off the optical axis, facing tests and head shading use the ray
    from the point to the camera centre, not the optical axis."""
    from probpose_ext.datasets.generators.synthpose.person import (
        _Perspective, _rotation_to_z)
    rng = np.random.default_rng(0)
    for a in rng.normal(size=(20, 3)):
        a = a / np.linalg.norm(a)
        if a[2] < -0.9:
            continue
        rot = _rotation_to_z(a)
        np.testing.assert_allclose(rot @ a, [0, 0, 1], atol=1e-12)
        np.testing.assert_allclose(rot.T @ rot, np.eye(3), atol=1e-12)
        assert np.linalg.det(rot) == pytest.approx(1.0)
    camera = subject_cameras(0, 'S1')[0]
    placement = Placement(camera, (1.2, -1.0, 0.9), 40.0, 1.8)
    persp = _Perspective(placement, np.zeros(3))
    rot_bw = km.body_to_world(np.eye(3), np.zeros(3), 40.0, 1.0).T
    for point in (np.zeros(3), np.array([0.05, 0.45, 0.03])):
        world = km.body_to_world(point[None], placement.translation, 40.0,
                                 1.8)[0]
        ray = camera.T[:, 0] - world
        ray_body = rot_bw.T @ ray / np.linalg.norm(ray)
        view = persp.view_rotation(point)
        np.testing.assert_allclose(view @ view.T, np.eye(3), atol=1e-12)
        np.testing.assert_allclose(view[2], ray_body, atol=1e-12)
        # x stays along the image's x: the ray frame's x has no image y
        image_x = rot_bw.T @ camera.R[:, 0]
        assert view[0] @ image_x > 0.95
        for normal in np.eye(3):
            assert persp.normal_z(normal, point) == pytest.approx(
                normal @ ray_body, abs=1e-12)
    # the pelvis is off-axis: the ray differs from the optical axis
    axis_body = rot_bw.T @ -camera.R[:, 2]
    assert persp.view_rotation(np.zeros(3))[2] @ axis_body < 0.999


def test_placement_argument_checks():
    look = sample_look(np.random.default_rng(0))
    placement = _view_placement(View(), 5.0)
    with pytest.raises(ValueError, match='must be None'):
        build_person(POSE, Body(), View(), 100.0, look, placement=placement)
    with pytest.raises(ValueError, match='required'):
        build_person(POSE, Body(), None, None, look)
    behind = _view_placement(View(), -5.0)
    with pytest.raises(ValueError, match='in front of the camera'):
        build_person(POSE, Body(), None, None, look, placement=behind)
    with pytest.raises(ValueError, match='height_m'):
        build_person(POSE, Body(), None, None, look,
                     dataclasses.replace(placement, height_m=0.0))


def test_person_size_at_320():
    """The default framing: a person 80-200 px tall in a 320x320 image,
    mostly inside it."""
    heights, inside = [], []
    for subject in ('S1', 'S11'):
        body, height = subject_model(0, subject)
        look, drawn = smv.subject_appearance(0, subject, body)
        cameras = [
            smv.scaled_camera(c, (320, 320))
            for c in subject_cameras(0, subject)
        ]
        for action in ('walk', 'jump', 'sit', 'reach'):
            motion = sequence_motion(0, subject, action, 0, body, height, 50,
                                     25)
            for camera in cameras:
                for t in (0, 24, 49):
                    person = smv.frame_person(motion, t, drawn, height, look,
                                              camera)
                    heights.append(person.height)
                    xy = person.keypoints()
                    inside.append(((xy >= 0) & (xy <= 319)).all(axis=1))
    heights = np.array(heights)
    assert heights.min() > 80 and heights.max() < 200
    assert 100 < np.median(heights) < 140
    assert np.mean(inside) > 0.98


# ---------------------------------------------------------------------------
# Frames of a video
# ---------------------------------------------------------------------------
def _video(camera_index: int, action: str = 'walk'):
    body, height = subject_model(0, 'S9')
    look, drawn = smv.subject_appearance(0, 'S9', body)
    camera = smv.scaled_camera(subject_cameras(0, 'S9')[camera_index], (W, H))
    motion = sequence_motion(0, 'S9', action, 0, body, height, 4, 25)
    background = smv.video_background(0, 'S9', action, 0, camera_index)
    return smv.render_frames(motion, drawn, height, look, camera, background,
                             km.coco_keypoint_names())


def test_frames_share_the_background():
    frames = _video(0)
    kernel = np.ones((7, 7), np.uint8)
    person = np.zeros((H, W), bool)
    for _, labels, _ in frames:
        person |= labels > 0
    # anti-aliased outlines reach a pixel or two beyond the label buffer
    far = cv2.dilate(person.astype(np.uint8), kernel) == 0
    assert far.mean() > 0.5
    first = frames[0][0]
    moved = 0
    for img, labels, _ in frames[1:]:
        np.testing.assert_array_equal(img[far], first[far])
        moved += np.count_nonzero(labels != frames[0][1])
    assert moved > 50  # the person moves
    other = _video(1)[0][0]  # another camera: another background
    assert np.abs(other[far].astype(int) - first[far]).mean() > 10


def test_jpeg_frames_share_the_background(dataset):
    """In the written frames the pixels whose 16x16 JPEG blocks (and their
    neighbours) never see the person are identical across a video."""
    raw = _coco(dataset, 'test')
    firsts = []
    for first in range(0, len(raw['images']), FRAMES):
        rows = range(first, first + FRAMES)
        person = np.zeros((H, W), np.uint8)
        for r in rows:
            x, y, w, h = (int(v) for v in raw['annotations'][r]['bbox'])
            person[y:y + h, x:x + w] = 1
        far = cv2.dilate(person, np.ones((67, 67), np.uint8)) == 0
        assert far.mean() > 0.1
        imgs = [
            cv2.imread(
                str(dataset / 'images' / raw['images'][r]['file_name']))
            for r in rows
        ]
        for img in imgs[1:]:
            np.testing.assert_array_equal(img[far], imgs[0][far])
        firsts.append(imgs[0])
    # every video has its own background
    for a in range(len(firsts)):
        for b in range(a):
            assert np.abs(firsts[a].astype(int) - firsts[b]).mean() > 5


def test_texture_box_is_fixed_per_video():
    body, height = subject_model(0, 'S9')
    look, drawn = smv.subject_appearance(0, 'S9', body)
    camera = smv.scaled_camera(subject_cameras(0, 'S9')[1], (W, H))
    motion = sequence_motion(0, 'S9', 'jump', 0, body, height, 25, 25)
    persons = [
        smv.frame_person(motion, t, drawn, height, look, camera)
        for t in range(25)
    ]
    padded = [(np.floor(p.extent()[:2]) - 2, np.ceil(p.extent()[2:]) + 3)
              for p in persons]
    smv.anchor_textures(persons, (W, H))
    boxes = np.array([p.extent() for p in persons]) + (-2, -2, 3, 3)
    sizes = boxes[:, 2:] - boxes[:, :2]
    assert np.all(sizes == sizes[0])  # one patch size: no flicker
    for box, (low, high) in zip(boxes, padded):
        assert np.all(box[:2] >= 0) and np.all(box[2:] <= (W, H))
        # it holds everything that is drawn inside the image
        assert np.all(box[:2] <= np.maximum(low, 0))
        assert np.all(box[2:] >= np.minimum(high, (W, H)))


def test_subject_look_is_fixed_and_subjects_differ():
    body, _ = subject_model(0, 'S9')
    look1, drawn1 = smv.subject_appearance(0, 'S9', body)
    look2, drawn2 = smv.subject_appearance(0, 'S9', body)
    look3, _ = smv.subject_appearance(0, 'S11', body)
    assert look1 == look2 and drawn1 == drawn2 and look1 != look3
    ratio = drawn1.arm_radius / km.array_to_body(body).arm_radius
    assert smv.LIMB_WIDTH[0] <= ratio <= smv.LIMB_WIDTH[1]
    assert drawn1.thigh_radius / km.array_to_body(body).thigh_radius == \
        pytest.approx(ratio)
    # radii do not move the joints
    pose = km.pose_to_angles(POSE)
    np.testing.assert_array_equal(
        km.forward_kinematics(pose, drawn1)[0],
        km.forward_kinematics(pose, body)[0])


# ---------------------------------------------------------------------------
# Determinism, atomicity, parameters
# ---------------------------------------------------------------------------
def test_deterministic_whatever_workers(dataset, tmp_path):
    out = tmp_path / 'one_worker'
    make_synthmotion_video(
        out, seed=0, workers=1, progress=False, params=SMALL)
    assert file_hashes(out) == file_hashes(dataset)


def test_failure_leaves_nothing(tmp_path, monkeypatch):
    out = tmp_path / 'data'
    calls = fail_after(monkeypatch, smv, 'encode_image', 3, RuntimeError)
    with pytest.raises(RuntimeError, match='injected'):
        make_synthmotion_video(
            out, seed=0, workers=1, progress=False, params=SMALL)
    assert len(calls) == 4
    assert not out.exists() and tmp_siblings(out) == []


@pytest.mark.parametrize('kwargs, match', [
    (dict(params=SynthMotionVideoParams(img_size=(16, 320))), 'img_size'),
    (dict(params=SynthMotionVideoParams(img_size=(320, ))), 'img_size'),
    (dict(params=SynthMotionVideoParams(img_size=(320.0, 320))), 'img_size'),
    (dict(params=SynthMotionVideoParams(jpeg_quality=0)), 'jpeg_quality'),
    (dict(params=SynthMotionVideoParams(jpeg_quality=101)), 'jpeg_quality'),
    (dict(params=SynthMotionVideoParams(motion=dict(frames=5))), 'motion'),
    (dict(params=SynthMotionVideoParams(motion=SynthMotionParams(frames=0))),
     'frames'),
    (dict(
        params=SynthMotionVideoParams(
            motion=SynthMotionParams(actions=('fly', )))), 'actions'),
    (dict(
        params=SynthMotionVideoParams(
            motion=SynthMotionParams(test_subjects=('S1', )))), 'overlap'),
    (dict(seed=-1), 'seed'), (dict(workers=0), 'workers')
])
def test_bad_params(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_synthmotion_video(tmp_path / 'bad', progress=False, **kwargs)
    assert not (tmp_path / 'bad').exists()


def test_existing_dir_needs_force(dataset):
    with pytest.raises(FileExistsError):
        make_synthmotion_video(dataset, progress=False, params=SMALL)


def test_default_params():
    params = SynthMotionVideoParams()
    params.validate()
    assert params.img_size == (320, 320) and params.jpeg_quality == 90
    motion = params.motion
    assert (motion.reps, motion.frames, motion.fps) == (1, 50, 25)
    assert motion.train_subjects == ('S1', 'S5', 'S6', 'S7', 'S8')
    assert motion.test_subjects == ('S9', 'S11')
    assert len(motion.actions) == 8


# ---------------------------------------------------------------------------
# Preview and command line
# ---------------------------------------------------------------------------
def _cli_module(monkeypatch):
    """The command-line script, imported in-process."""
    monkeypatch.syspath_prepend(str(CLI.parent))
    spec = importlib.util.spec_from_file_location('_make_smv_cli', CLI)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_draw_preview(dataset, tmp_path, monkeypatch):
    draw_preview = _cli_module(monkeypatch).draw_preview
    path = tmp_path / 'preview.png'
    strip = draw_preview(dataset, path, num_frames=3, tile_height=96)
    assert strip.shape[0] == 96 and strip.dtype == np.uint8
    tile = (strip.shape[1] - 2 * 4) // 3
    assert strip.shape[1] == 3 * tile + 2 * 4
    np.testing.assert_array_equal(strip[:, tile:tile + 4], 255)  # gaps
    np.testing.assert_array_equal(cv2.imread(str(path)), strip)
    # the keypoints are drawn in yellow
    yellow = (strip[..., 0] < 80) & (strip[..., 1] > 200) & (
        strip[..., 2] > 200)
    assert np.count_nonzero(yellow[:, :tile]) > 20
    with pytest.raises(ValueError, match='video'):
        draw_preview(dataset, None, video=VIDEOS)


@pytest.mark.slow
def test_cli(tmp_path):
    out, png = tmp_path / 'cli', tmp_path / 'preview.png'
    args = [
        CLI, out, '--seed', '1', '--frames', '3', '--train-subjects', 'S1',
        '--test-subjects', 'S9', '--actions', 'sit', '--img-size', '96', '80',
        '--jpeg-quality', '80', '--workers', '1', '--no-progress', '--preview',
        png
    ]
    res = run_python(args)
    summary = json.loads(
        res.stdout[res.stdout.index('{'):res.stdout.rindex('}') + 1])
    assert summary['num_frames'] == 2 * 4 * 3 and summary['seed'] == 1
    assert summary['img_size'] == [96, 80]
    img = cv2.imread(str(out / 'images' / _npz(out, 'test')['imgname'][0]))
    assert img.shape == (80, 96, 3)
    assert cv2.imread(str(png)).shape[0] == 256
    again = run_python(args, check=False)
    assert again.returncode == 1 and '--force' in again.stderr
    bad = run_python([CLI, tmp_path / 'bad', '--frames', '0'], check=False)
    assert bad.returncode == 2 and 'frames' in bad.stderr
