"""Tests of the ProbPose crop augmentation ``RandomCropOut``."""
import copy
from pathlib import Path

import numpy as np
import pytest
from mmengine.registry import DefaultScope
from mmpose.registry import TRANSFORMS

import probpose_ext  # noqa: F401  (compat shims)
import probpose_ext.datasets.transforms  # noqa: F401  (registration)
from probpose_ext.datasets.transforms import RandomCropOut

COCO = Path(__file__).resolve().parents[1] / 'data' / 'coco'
H, W = 200, 300


def _build(**kwargs) -> RandomCropOut:
    return TRANSFORMS.build(dict(type='RandomCropOut', **kwargs))


def _force(t: RandomCropOut, ratio, position) -> RandomCropOut:
    """Replace the random draws by fixed values (always applied)."""
    t._draw = lambda: (np.asarray(ratio, float), np.asarray(position, float))
    return t


def _results(bbox, kpts, raw=None, vis=None, img_shape=(H, W)) -> dict:
    kpts = np.asarray(kpts, np.float32)[None]
    if vis is None:
        vis = (np.asarray(raw) > 0).astype(np.float32)[None]
    res = dict(
        img=np.full((*img_shape, 3), 255, np.uint8),
        bbox=np.asarray([bbox], np.float32),
        keypoints=kpts,
        keypoints_visible=np.asarray(vis, np.float32).reshape(1, -1))
    if raw is not None:
        res['keypoints_visibility_raw'] = np.asarray([raw], np.int64)
    return res


def _expected_mask(x1, y1, x2, y2, shape=(H, W)) -> np.ndarray:
    """Pixels whose centre (integer coordinates) is in the closed box."""
    ys, xs = np.mgrid[:shape[0], :shape[1]]
    return (xs >= x1) & (xs <= x2) & (ys >= y1) & (ys <= y2)


# bbox (100, 50)-(180, 150): context (padding 1.25) x in [90, 190],
# y in [37.5, 162.5]; ratio (0.75, 0.7), position (0.3, 1.0) keep
# x in [90 + 0.3 * 25, + 75] = [97.5, 172.5], y in [37.5 + 37.5, 162.5].
BBOX = (100, 50, 180, 150)
KEPT = (97.5, 75.0, 172.5, 162.5)
KPTS = [(120, 100), (175, 100), (120, 60), (0, 0), (130, 120), (97.5, 75),
        (250, 190), (110, 170)]
RAW = [2, 2, 2, 0, 1, 2, 3, 1]
RAW_AFTER = [2, 1, 1, 0, 1, 2, 3, 1]


def test_build_and_repr():
    t = _build(prob=0.5, keep_ratio=[0.6, 0.8], padding=1.5)
    assert isinstance(t, RandomCropOut)
    assert repr(t) == ('RandomCropOut(prob=0.5, keep_ratio=(0.6, 0.8), '
                       'padding=1.5)')
    assert repr(_build()) == ('RandomCropOut(prob=0.8, '
                              'keep_ratio=(0.7, 0.9), padding=1.25)')


def test_exact_geometry():
    t = _force(_build(), ratio=(0.75, 0.7), position=(0.3, 1.0))
    res = _results(BBOX, KPTS, raw=RAW)
    kpts0, vis0 = res['keypoints'].copy(), res['keypoints_visible'].copy()
    out = t(res)

    mask = _expected_mask(*KEPT)
    img = out['img']
    assert img.shape == (H, W, 3) and img.dtype == np.uint8
    assert (img[mask] == 255).all() and (img[~mask] == 0).all()
    # rows 75..162 and columns 98..172 survive
    assert mask.any(1).nonzero()[0][[0, -1]].tolist() == [75, 162]
    assert mask.any(0).nonzero()[0][[0, -1]].tolist() == [98, 172]

    np.testing.assert_allclose(out['bbox'], [[100, 75, 172.5, 150]])
    assert out['bbox'].dtype == np.float32
    np.testing.assert_allclose(out['crop_out_box'], [KEPT])
    assert out['keypoints_visibility_raw'].tolist() == [RAW_AFTER]
    assert out['keypoints_visibility_raw'].dtype == np.int64
    np.testing.assert_array_equal(out['keypoints'], kpts0)
    np.testing.assert_array_equal(out['keypoints_visible'], vis0)


def test_clip_to_image_and_center_scale():
    # bbox (0, 0)-(60, 40): context x in [-7.5, 67.5], y in [-5, 45];
    # ratio (0.8, 0.9) at position (0, 0) keeps [-7.5, 52.5] x [-5, 40],
    # clipped to the image: [0, 52.5] x [0, 40].
    t = _force(_build(), ratio=(0.8, 0.9), position=(0.0, 0.0))
    res = _results((0, 0, 60, 40), [(10, 10), (55, 10), (10, 41)],
                   raw=[2, 2, 2])
    res['bbox_center'] = np.array([[30, 20]], np.float32)
    res['bbox_scale'] = np.array([[75, 50]], np.float32)
    out = t(res)
    mask = _expected_mask(0, 0, 52.5, 40)
    assert (out['img'][mask] == 255).all() and (out['img'][~mask] == 0).all()
    np.testing.assert_allclose(out['crop_out_box'], [[0, 0, 52.5, 40]])
    np.testing.assert_allclose(out['bbox'], [[0, 0, 52.5, 40]])
    np.testing.assert_allclose(out['bbox_center'], [[26.25, 20]])
    np.testing.assert_allclose(out['bbox_scale'], [[75 * 52.5 / 60, 50]])
    assert out['keypoints_visibility_raw'].tolist() == [[2, 1, 1]]


def test_raw_sources():
    t = _force(_build(), ratio=(0.75, 0.7), position=(0.3, 1.0))
    # no raw field, no raw_ann_info: annotated -> 2 (assumption), else 0
    out = t(_results(BBOX, KPTS, vis=[1, 1, 1, 0, 1, 1, 1, 1]))
    assert out['keypoints_visibility_raw'].tolist() == [[
        2, 1, 1, 0, 2, 2, 1, 1
    ]]
    # raw v from MMPose's raw_ann_info (top-down: a dict) is preferred
    res = _results(BBOX, KPTS, vis=[min(v, 1) for v in RAW])
    flat = [c for (x, y), v in zip(KPTS, RAW) for c in (x, y, v)]
    res['raw_ann_info'] = dict(keypoints=flat, bbox=[100, 50, 80, 100])
    ann0 = copy.deepcopy(res['raw_ann_info'])
    out = t(res)
    assert out['keypoints_visibility_raw'].tolist() == [RAW_AFTER]
    assert out['raw_ann_info'] == ann0  # read only
    # bottom-up style list of dicts; a second instance is clipped by the
    # first instance's kept box
    res = _results(BBOX, KPTS, vis=[min(v, 1) for v in RAW])
    for k in ('bbox', 'keypoints', 'keypoints_visible'):
        res[k] = np.concatenate([res[k], res[k] + 100])
    res['raw_ann_info'] = [dict(keypoints=flat), dict(keypoints=flat)]
    out = t(res)
    assert out['keypoints_visibility_raw'].tolist() == [
        RAW_AFTER, [1, 1, 1, 0, 1, 1, 3, 1]
    ]
    np.testing.assert_allclose(
        out['bbox'], [[100, 75, 172.5, 150], [172.5, 150, 172.5, 162.5]])
    assert out['crop_out_box'].shape == (2, 4)
    # annotations that do not match (N, K) are ignored
    res = _results(BBOX, KPTS, vis=[1] * 8)
    res['raw_ann_info'] = dict(keypoints=[1, 1, 1])
    assert t(res)['keypoints_visibility_raw'].tolist() == [[
        2, 1, 1, 1, 2, 2, 1, 1
    ]]


def test_prob_zero_is_identity():
    t = _build(prob=0.0)
    res = _results(BBOX, KPTS, vis=[1, 1, 1, 0, 1, 1, 1, 1])
    ref = copy.deepcopy(res)
    out = t(res)
    assert out['img'].tobytes() == ref['img'].tobytes()
    for k in ('bbox', 'keypoints', 'keypoints_visible'):
        np.testing.assert_array_equal(out[k], ref[k])
    assert out['crop_out_box'] is None
    assert out['keypoints_visibility_raw'].tolist() == [[
        2, 2, 2, 0, 2, 2, 2, 2
    ]]


def test_apply_fraction_and_seed():
    t = _build(prob=0.8)
    np.random.seed(0)
    n = 1000
    applied = sum(
        t(_results(BBOX, KPTS[:1], raw=[2], img_shape=(
            4, 4)))['crop_out_box'] is not None for _ in range(n))
    assert abs(applied / n - 0.8) < 0.04
    boxes = []
    for _ in range(2):
        np.random.seed(123)
        boxes.append(
            _build(prob=1.0)(_results(BBOX, KPTS, raw=RAW))['crop_out_box'])
    np.testing.assert_array_equal(boxes[0], boxes[1])


def test_keep_ratio_range():
    # the context lies inside the image, so the kept box is never clipped
    t = _build(prob=1.0)
    ctx = np.array([90, 37.5, 190, 162.5])
    np.random.seed(1)
    ratios = []
    for _ in range(300):
        box = t(_results(BBOX, KPTS[:1], raw=[2]))['crop_out_box'][0]
        assert (box[:2] >= ctx[:2] - 1e-4).all()
        assert (box[2:] <= ctx[2:] + 1e-4).all()
        ratios.append((box[2:] - box[:2]) / (ctx[2:] - ctx[:2]))
    ratios = np.array(ratios)
    assert ratios.min() >= 0.7 - 1e-5 and ratios.max() <= 0.9 + 1e-5
    assert ratios.min() < 0.72 and ratios.max() > 0.88


@pytest.mark.parametrize('kwargs, name', [
    (dict(prob=-0.1), 'prob'),
    (dict(prob=1.5), 'prob'),
    (dict(prob='0.5'), 'prob'),
    (dict(keep_ratio=(0.0, 0.5)), 'keep_ratio'),
    (dict(keep_ratio=(0.9, 0.7)), 'keep_ratio'),
    (dict(keep_ratio=(0.5, 1.1)), 'keep_ratio'),
    (dict(keep_ratio=(0.5, )), 'keep_ratio'),
    (dict(keep_ratio=None), 'keep_ratio'),
    (dict(padding=0.9), 'padding'),
    (dict(padding=None), 'padding'),
])
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        RandomCropOut(**kwargs)
    with pytest.raises(ValueError, match=name):
        _build(**kwargs)


def test_single_keep_ratio():
    assert _build(keep_ratio=0.8).keep_ratio == (0.8, 0.8)


def test_mmpose_topdown_pipeline():
    from mmpose.datasets import CocoDataset

    pipeline = [
        dict(type='LoadImage'),
        dict(type='RandomCropOut', prob=1.0),
        dict(type='GetBBoxCenterScale'),
        dict(type='TopdownAffine', input_size=(192, 256)),
        dict(type='PackPoseInputs'),
    ]
    with DefaultScope.overwrite_default_scope('mmpose'):
        ds = CocoDataset(
            data_root=str(COCO),
            ann_file='test_coco.json',
            data_prefix=dict(img=''),
            data_mode='topdown',
            serialize_data=False,
            pipeline=pipeline)
        crop = ds.pipeline.transforms[1]
        assert isinstance(crop, RandomCropOut)
        # image 785 (640x425): bbox x in [280.79, 499.49], context x in
        # [253.45, 526.83] (inside the image); keep 70% flush left
        _force(crop, ratio=(0.7, 1.0), position=(0.0, 0.0))
        idx = next(i for i, d in enumerate(ds.data_list) if d['img_id'] == 785)
        out = ds[idx]
        del crop._draw  # back to the real draws, never applied
        crop.prob = 0.0
        ref = ds[idx]

    x = out['inputs'].numpy()
    assert x.shape == (3, 256, 192)
    sample = out['data_samples']
    cx, _ = sample.metainfo['input_center']
    sw, _ = sample.metainfo['input_scale']
    ctx_x1 = (280.79 + 499.49) / 2 - 218.7 * 1.25 / 2
    kept_x2 = ctx_x1 + 0.7 * 218.7 * 1.25
    col = (kept_x2 - (cx - sw / 2)) / sw * 192  # cut column in the input
    assert 100 < col < 170
    right = slice(int(np.ceil(col)) + 1, 192)
    assert (x[:, :, right] == 0).all()  # black band on the cut side
    assert (ref['inputs'].numpy()[:, :, right] != 0).any()
    col_left = (ctx_x1 - (cx - sw / 2)) / sw * 192  # left context side
    kept = slice(int(np.ceil(col_left)) + 1, int(col) - 1)
    assert (x[:, :, kept] != 0).any(axis=(0, 1)).all()
    np.testing.assert_allclose(
        sample.gt_instances.bboxes[0, 2], kept_x2, rtol=1e-5)
    assert 'raw_ann_info' in sample.metainfo
