"""Tests of the ``ImageCorruption`` transform of the robustness benchmark."""
import zlib
from pathlib import Path

import numpy as np
import pytest
from mmcv.transforms import Compose
from mmpose.registry import TRANSFORMS

import probpose_ext  # noqa: F401  (registration)
from probpose_ext.datasets.transforms import ImageCorruption
from probpose_ext.ops.image_corruptions import (IMAGE_CORRUPTIONS,
                                                VIDEO_CORRUPTIONS,
                                                corrupt_image, corruption_rng,
                                                video_corruption)

COCO = Path(__file__).resolve().parents[1] / 'data' / 'coco'
IMG_PATH = str(COCO / '000000000785.jpg')
BBOX = np.array([[280.79, 44.73, 499.49, 391.41]], np.float32)
H36M_PATH = ('data/h36m/images/S9_Walk_1.54138969/'
             'S9_Walk_1.54138969_000012.jpg')


def _build(**kwargs) -> ImageCorruption:
    return TRANSFORMS.build(dict(type='ImageCorruption', **kwargs))


def _image(seed=0, shape=(120, 160, 3)):
    return np.random.default_rng(seed).integers(0, 256, shape, np.uint8)


def _results(**extra):
    res = dict(img=_image(), img_id=785, img_path=IMG_PATH,
               bbox=np.array([[20.0, 10.0, 90.0, 110.0]], np.float32))
    res.update(extra)
    return res


def test_build_and_repr():
    t = _build(corruption='jpeg', severity=3)
    assert isinstance(t, ImageCorruption)
    assert repr(t) == ("ImageCorruption(corruption='jpeg', severity=3, "
                       "seed=0, level='image')")
    t = _build(corruption='occlusion', severity=2, seed=7, level='video')
    assert repr(t) == ("ImageCorruption(corruption='occlusion', severity=2, "
                       "seed=7, level='video')")


@pytest.mark.parametrize('name', list(IMAGE_CORRUPTIONS))
def test_image_level_equals_the_op(name):
    res = _results()
    img, bbox = res['img'].copy(), res['bbox'].copy()
    out = _build(corruption=name, severity=4, seed=3)(res)
    expected = corrupt_image(img, name, 4, corruption_rng(3, 785),
                             bbox=bbox[0])
    np.testing.assert_array_equal(out['img'], expected)
    assert np.any(out['img'] != img)
    np.testing.assert_array_equal(out['bbox'], bbox)


def test_image_key_and_determinism():
    t = _build(corruption='gaussian_noise', severity=2, seed=1)
    a = t(_results())['img']
    np.testing.assert_array_equal(a, t(_results())['img'])
    # another image id: other noise
    assert np.any(a != t(_results(img_id=786))['img'])
    # without img_id: the CRC-32 of the path
    res = _results()
    del res['img_id']
    expected = corrupt_image(_image(), 'gaussian_noise', 2,
                             corruption_rng(1, zlib.crc32(IMG_PATH.encode())))
    np.testing.assert_array_equal(t(res)['img'], expected)
    assert ImageCorruption.image_key(dict(img_id='abc')) == zlib.crc32(b'abc')
    assert ImageCorruption.image_key({}) == 0


def test_mask_uses_the_instance_bbox():
    t = _build(corruption='mask', severity=5)
    res = t(_results())
    changed = (res['img'] != _image()).any(-1)
    inside = changed[10:110, 20:90].mean()
    assert 0.5 <= inside < 0.52
    # another instance of the same image: another place
    other = t(_results(bbox=np.array([[100.0, 5.0, 150.0, 60.0]])))['img']
    changed = (other != _image()).any(-1)
    assert 0.5 <= changed[5:60, 100:150].mean() < 0.52
    assert not changed[70:, :60].any()


def test_severity_zero_is_a_no_op():
    for name in IMAGE_CORRUPTIONS:
        res = _results()
        img = res['img']
        out = _build(corruption=name, severity=0)(res)
        assert out['img'] is img
        np.testing.assert_array_equal(out['img'], _image())


@pytest.mark.parametrize('name', VIDEO_CORRUPTIONS)
def test_video_level_equals_the_op(name):
    t = _build(corruption=name, severity=3, seed=2, level='video')
    frames = []
    for frame in (12, 13, 40):
        path = H36M_PATH.replace('000012', f'{frame:06d}')
        res = _results(img_path=path)
        out = t(res)['img']
        expected = video_corruption(
            _image(), name, 3, 'S9_Walk_1.54138969', frame, seed=2,
            bbox=np.array([20.0, 10.0, 90.0, 110.0]))
        np.testing.assert_array_equal(out, expected)
        frames.append(out)
    if name == 'motion_blur':  # one angle per video
        np.testing.assert_array_equal(frames[0], frames[1])
    if name == 'gaussian_noise':
        assert np.any(frames[0] != frames[1])


def test_in_a_pipeline_after_load_image():
    pipeline = Compose([
        TRANSFORMS.build(dict(type='LoadImage')),
        _build(corruption='pixelate', severity=5),
    ])
    clean = TRANSFORMS.build(dict(type='LoadImage'))(
        dict(img_path=IMG_PATH, img_id=785, bbox=BBOX))['img']
    res = pipeline(dict(img_path=IMG_PATH, img_id=785, bbox=BBOX))
    assert res['img'].shape == clean.shape == (425, 640, 3)
    np.testing.assert_array_equal(
        res['img'],
        corrupt_image(clean, 'pixelate', 5, corruption_rng(0, 785)))


def test_bad_arguments():
    with pytest.raises(ValueError, match='gaussian_noise'):
        _build(corruption='fog', severity=1)
    with pytest.raises(ValueError, match='occlusion'):  # image-level only
        _build(corruption='mask', severity=1, level='video')
    with pytest.raises(ValueError, match='mask'):
        _build(corruption='occlusion', severity=1)
    for severity in (-1, 6, 2.5, True):
        with pytest.raises(ValueError, match='severity'):
            _build(corruption='jpeg', severity=severity)
    with pytest.raises(ValueError, match='level'):
        _build(corruption='jpeg', severity=1, level='frame')
    with pytest.raises(ValueError, match='seed'):
        _build(corruption='jpeg', severity=1, seed=-1)
    with pytest.raises(TypeError, match='severity'):  # misspelt keyword
        _build(corruption='jpeg', severty=1)
    t = _build(corruption='jpeg', severity=1)
    with pytest.raises(ValueError, match='uint8'):
        t(_results(img=np.zeros((4, 4, 3), np.float32)))
    t = _build(corruption='occlusion', severity=1, level='video')
    with pytest.raises(ValueError, match='frame'):
        t(_results(img_path='images/000000000785.jpg'))
