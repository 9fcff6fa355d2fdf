"""Tests of the image and video corruptions of the robustness benchmark."""
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from probpose_ext.ops.image_corruptions import (
    CORRUPTION_GROUPS, IMAGE_CORRUPTIONS, MASK_SIDE_RANGE, SEVERITY_PARAMS,
    VIDEO_CORRUPTIONS, VIDEO_OCCLUSION_PARAMS, VIDEO_OCCLUSION_PERIOD,
    corrupt_image, corruption_rng, motion_blur_kernel, parse_video_frame,
    video_corruption, video_occlusion_schedule)
from probpose_ext.visualization.corruptions import corruption_grid

COCO = Path(__file__).resolve().parents[1] / 'data' / 'coco'
NAMES = list(IMAGE_CORRUPTIONS)
RANDOM = ('motion_blur', 'gaussian_noise', 'impulse_noise', 'mask')


@pytest.fixture(scope='module')
def photo():
    """Real COCO image (one skier) at half resolution, and its bbox."""
    img = cv2.imread(str(COCO / '000000000785.jpg'), cv2.IMREAD_COLOR)
    img = cv2.resize(img, (320, 212), interpolation=cv2.INTER_AREA)
    x, y, w, h = 280.79, 44.73, 218.7, 346.68  # test_coco.json, image 785
    return img, np.array([x, y, x + w, y + h]) / 2


def _rng(seed=0):
    return np.random.default_rng(seed)


def _strength(name, img, bbox, severity, seeds=(0, 1, 2)):
    """Mean absolute pixel change (mask: covered fraction of the bbox)."""
    values = []
    for seed in seeds:
        out = corrupt_image(img, name, severity, _rng(seed), bbox=bbox)
        if name == 'mask':
            x0, y0 = np.floor(bbox[:2]).astype(int)
            x1, y1 = np.ceil(bbox[2:]).astype(int)
            values.append((out != img).any(-1)[y0:y1, x0:x1].mean())
        else:
            values.append(np.abs(out.astype(float) - img).mean())
    return float(np.mean(values))


# ------------------------------------------------------------ all of them
def test_registry():
    assert len(IMAGE_CORRUPTIONS) == 10
    grouped = [n for names in CORRUPTION_GROUPS.values() for n in names]
    assert sorted(grouped) == sorted(NAMES)
    assert set(SEVERITY_PARAMS) == set(NAMES)
    assert all(len(v) == 5 for v in SEVERITY_PARAMS.values())


@pytest.mark.parametrize('name', NAMES)
def test_severity_zero_is_identity(photo, name):
    img, bbox = photo
    before = img.copy()
    out = corrupt_image(img, name, 0, _rng(), bbox=bbox)
    assert out is not img and out.dtype == np.uint8
    np.testing.assert_array_equal(out, img)
    np.testing.assert_array_equal(img, before)


@pytest.mark.parametrize('name', NAMES)
def test_strength_increases_with_severity(photo, name):
    img, bbox = photo
    before = img.copy()
    strength = [_strength(name, img, bbox, s) for s in range(1, 6)]
    assert strength[0] > 0
    assert all(b > a for a, b in zip(strength, strength[1:])), strength
    np.testing.assert_array_equal(img, before)  # never in place


@pytest.mark.parametrize('name', NAMES)
def test_deterministic(photo, name):
    img, bbox = photo
    a = corrupt_image(img, name, 3, _rng(7), bbox=bbox)
    b = corrupt_image(img, name, 3, _rng(7), bbox=bbox)
    assert a.shape == img.shape and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    c = corrupt_image(img, name, 3, _rng(8), bbox=bbox)
    assert (np.any(a != c)) == (name in RANDOM)


# ---------------------------------------------------- closed-form checks
def test_contrast_keeps_mean_and_scales_std(photo):
    img, _ = photo
    x = img.astype(np.float64)
    for s, c in enumerate(SEVERITY_PARAMS['contrast'], 1):
        out = corrupt_image(img, 'contrast', s, _rng()).astype(np.float64)
        np.testing.assert_allclose(out.mean((0, 1)), x.mean((0, 1)), atol=0.5)
        # rounding to integers adds at most ~0.3 of std
        np.testing.assert_allclose(out.std((0, 1)), c * x.std((0, 1)),
                                   atol=0.35)


def _value_shift(img, delta):
    """Independent HSV-value shift: every channel scaled by V' / V."""
    x = img.astype(np.float64) / 255
    v = x.max(-1, keepdims=True)
    v_new = np.clip(v + delta, 0, 1)
    out = np.where(v > 0, x * v_new / np.where(v > 0, v, 1), v_new)
    return out * 255


@pytest.mark.parametrize('name,sign', [('brightness', 1), ('darkness', -1)])
def test_brightness_darkness_formula(photo, name, sign):
    img, _ = photo
    img = img.copy()
    img[:4, :4] = 0  # black pixels: V = 0
    for s, c in enumerate(SEVERITY_PARAMS[name], 1):
        out = corrupt_image(img, name, s, _rng()).astype(np.float64)
        assert np.abs(out - _value_shift(img, sign * c)).max() <= 1.0
    black = corrupt_image(img, 'brightness', 2, _rng())[0, 0]
    np.testing.assert_array_equal(black, [51, 51, 51])  # grey 0.2 * 255


def test_pixelate_is_constant_on_blocks(photo):
    img, _ = photo
    h, w = img.shape[:2]
    for s, c in enumerate(SEVERITY_PARAMS['pixelate'], 1):
        out = corrupt_image(img, 'pixelate', s, _rng())
        # block boundaries: where a column / row differs from the previous
        col_start = np.r_[True, np.any(out[:, 1:] != out[:, :-1], (0, 2))]
        row_start = np.r_[True, np.any(out[1:] != out[:-1], (1, 2))]
        assert col_start.sum() <= round(c * w)
        assert row_start.sum() <= round(c * h)
        blocks = out[row_start][:, col_start]
        rows = np.cumsum(row_start) - 1
        cols = np.cumsum(col_start) - 1
        np.testing.assert_array_equal(blocks[rows][:, cols], out)
        # blocks of floor or ceil of 1 / c pixels (more where equal blocks
        # merge), filled with their mean colour
        runs = np.diff(np.r_[np.flatnonzero(col_start), w])
        assert runs.min() >= math.floor(1 / c)
        bw, bh = round(c * w), round(c * h)
        rows = np.arange(h) * bh // h
        cols = np.arange(w) * bw // w
        for i, j in [(0, 0), (bh // 2, bw // 3), (bh - 1, bw - 1)]:
            block = img[rows == i][:, cols == j].reshape(-1, 3)
            assert len(block) in (math.floor(1 / c)**2,
                                  math.floor(1 / c) * math.ceil(1 / c),
                                  math.ceil(1 / c)**2)
            np.testing.assert_array_equal(
                out[rows == i][:, cols == j].reshape(-1, 3),
                np.rint(np.broadcast_to(block.mean(0), block.shape)))


def test_colour_quantisation_levels(photo):
    img, _ = photo
    for s, bits in enumerate(SEVERITY_PARAMS['colour_quantisation'], 1):
        out = corrupt_image(img, 'colour_quantisation', s, _rng())
        levels = 2**bits
        step = 255 / (levels - 1)
        allowed = np.rint(np.arange(levels) * step)
        for ch in range(3):
            values = np.unique(out[..., ch])
            assert len(values) <= levels
            assert np.isin(values, allowed).all()
        # nearest level
        assert np.abs(out.astype(float) - img).max() <= step / 2 + 0.5


def test_jpeg_matches_opencv(photo):
    img, _ = photo
    for s, quality in enumerate(SEVERITY_PARAMS['jpeg'], 1):
        ok, buf = cv2.imencode('.jpg', img,
                               [int(cv2.IMWRITE_JPEG_QUALITY), quality])
        assert ok
        np.testing.assert_array_equal(
            corrupt_image(img, 'jpeg', s, _rng()), cv2.imdecode(buf, 1))


def _truncated_std(sigma, a):
    """Std of N(0, sigma^2) conditioned on |x| <= a."""
    z = a / sigma
    phi = math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    mass = math.erf(z / math.sqrt(2))
    return sigma * math.sqrt(1 - 2 * z * phi / mass)


def test_gaussian_noise_std():
    grey = np.full((200, 200, 3), 128, np.uint8)
    for s, c in enumerate(SEVERITY_PARAMS['gaussian_noise'], 1):
        out = corrupt_image(grey, 'gaussian_noise', s, _rng(s))
        diff = out.astype(np.float64) - 128
        kept = diff[np.abs(diff) <= 100]  # never clipped (28..228)
        sigma = 255 * c
        expected = math.sqrt(_truncated_std(sigma, 100.5)**2 + 1 / 12)
        assert abs(kept.std() / expected - 1) < 0.02, (s, kept.std())
        assert abs(kept.mean()) < 0.02 * sigma


def test_impulse_noise_fraction():
    grey = np.full((200, 200, 3), 128, np.uint8)
    n = grey.size
    for s, amount in enumerate(SEVERITY_PARAMS['impulse_noise'], 1):
        out = corrupt_image(grey, 'impulse_noise', s, _rng(s))
        changed = out != 128
        assert set(np.unique(out[changed])) <= {0, 255}
        tol = 4 * math.sqrt(amount * (1 - amount) / n)
        assert abs(changed.mean() - amount) < tol
        assert abs((out == 255).sum() / changed.sum() - 0.5) < 0.03


def test_motion_blur_kernel_geometry():
    for angle in (-40.0, 0.0, 30.0):
        k = motion_blur_kernel(10, 3, angle).astype(np.float64)
        assert k.shape == (23, 23)
        assert abs(k.sum() - 1) < 1e-5
        np.testing.assert_allclose(k, k[::-1, ::-1], atol=1e-7)
        ys, xs = np.mgrid[:23, :23] - 11.0
        cov = np.cov(np.stack([xs.ravel(), ys.ravel()]), aweights=k.ravel(),
                     bias=True)
        evals, evecs = np.linalg.eigh(cov)
        direction = math.degrees(math.atan2(evecs[1, 1], evecs[0, 1]))
        assert min(abs(direction - angle), abs(abs(direction - angle) - 180)
                   ) < 2
        taps = np.arange(-10, 11)
        w = np.exp(-taps**2 / 18)
        assert evals[1] == pytest.approx((w * taps**2).sum() / w.sum(),
                                         rel=0.05)
        assert evals[0] < 0.3  # a line


def test_motion_blur_is_the_kernel_filter():
    img = np.zeros((61, 61, 3), np.uint8)
    img[30, 30] = 255
    out = corrupt_image(img, 'motion_blur', 1, _rng(3))
    angle = _rng(3).uniform(-45, 45)
    k = motion_blur_kernel(10, 3, angle)
    np.testing.assert_allclose(out[19:42, 19:42, 0], 255 * k[::-1, ::-1],
                               atol=0.51)
    flat = np.full((30, 40, 3), 77, np.uint8)
    np.testing.assert_array_equal(
        corrupt_image(flat, 'motion_blur', 5, _rng()), flat)


def test_mask_covers_the_bbox_fraction(photo):
    img, bbox = photo
    x0, y0 = np.floor(bbox[:2]).astype(int)
    x1, y1 = np.ceil(bbox[2:]).astype(int)
    x1, y1 = min(x1, img.shape[1]), min(y1, img.shape[0])
    rh, rw = y1 - y0, x1 - x0
    prev = None
    for s, f in enumerate(SEVERITY_PARAMS['mask'], 1):
        out = corrupt_image(img, 'mask', s, _rng(5), bbox=bbox[None])
        changed = (out != img).any(-1)
        frac = changed[y0:y1, x0:x1].mean()
        # covered region fraction: f up to one rectangle row
        assert f - 1e-3 <= frac <= f + (MASK_SIDE_RANGE[1] * rw + 1) / (
            rh * rw) + 1e-3, (s, frac)
        # rectangles stay within a quarter side around the bbox
        margin = np.array([MASK_SIDE_RANGE[1] / 2 * rw + 1,
                           MASK_SIDE_RANGE[1] / 2 * rh + 1])
        ys, xs = np.nonzero(changed)
        assert xs.min() >= x0 - margin[0] and xs.max() <= x1 + margin[0]
        assert ys.min() >= y0 - margin[1] and ys.max() <= y1 + margin[1]
        if prev is not None:  # nested with the same generator state
            assert not (prev & ~changed).any()
        prev = changed


def test_mask_without_bbox_covers_the_image():
    img = _rng(0).integers(0, 256, (90, 120, 3), dtype=np.uint8)
    for s, f in enumerate(SEVERITY_PARAMS['mask'], 1):
        out = corrupt_image(img, 'mask', s, _rng(1))
        frac = (out != img).any(-1).mean()
        assert f <= frac < f + 0.5 / 90 + 0.01


def test_mask_bbox_outside_image_uses_the_image():
    img = _rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    a = corrupt_image(img, 'mask', 2, _rng(1), bbox=(100, 100, 120, 130))
    b = corrupt_image(img, 'mask', 2, _rng(1))
    np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- errors
def test_errors(photo):
    img, _ = photo
    with pytest.raises(ValueError, match='gaussian_noise'):  # lists choices
        corrupt_image(img, 'fog', 1, _rng())
    for severity in (-1, 6, 1.5, True, '2'):
        with pytest.raises(ValueError, match='severity'):
            corrupt_image(img, 'jpeg', severity, _rng())
    with pytest.raises(ValueError, match='uint8'):
        corrupt_image(img.astype(np.float32), 'jpeg', 1, _rng())
    with pytest.raises(ValueError, match=r'\(H, W, 3\)'):
        corrupt_image(img[..., 0], 'jpeg', 1, _rng())
    with pytest.raises(ValueError, match=r'\(H, W, 3\)'):
        corrupt_image(np.zeros((4, 4, 4), np.uint8), 'jpeg', 1, _rng())
    with pytest.raises(TypeError, match='numpy array'):
        corrupt_image(img.tolist(), 'jpeg', 1, _rng())
    with pytest.raises(TypeError, match='Generator'):
        corrupt_image(img, 'gaussian_noise', 1, np.random.RandomState(0))
    with pytest.raises(ValueError, match='bbox'):
        corrupt_image(img, 'mask', 1, _rng(), bbox=(1, 2, 3))
    with pytest.raises(ValueError, match='bbox'):
        corrupt_image(img, 'jpeg', 1, _rng(), bbox=(1, 2, 3, np.nan))


# ----------------------------------------------------------------- seeds
def test_corruption_rng_streams():
    def draw(*args):
        return corruption_rng(*args).integers(2**31, size=4).tolist()

    assert draw(0, 'a', 3) == draw(0, 'a', 3)
    streams = [draw(0), draw(0, 0), draw(0, 'a'), draw(0, 'a', 0),
               draw(0, 'a', 1), draw(1, 'a', 0), draw(0, 'b', 0)]
    assert len({tuple(s) for s in streams}) == len(streams)
    for seed in (-1, 2**32, 1.0):
        with pytest.raises(ValueError, match='seed'):
            corruption_rng(seed)


def test_parse_video_frame():
    path = 'data/h36m/images/S9_Walk_1.54138969/S9_Walk_1.54138969_000012.jpg'
    assert parse_video_frame(path) == ('S9_Walk_1.54138969', 12)
    assert parse_video_frame('S1_Eating_2_3.png') == ('S1_Eating_2', 3)
    with pytest.raises(ValueError, match='frame'):
        parse_video_frame('img/000000000785_a.jpg')
    with pytest.raises(ValueError, match='frame'):
        parse_video_frame('000012.jpg')


# ----------------------------------------------------------------- video
VIDEO_A, VIDEO_B = 'S9_Walk_1.54138969', 'S11_Eating.55011271'
BBOX = np.array([30.0, 20.0, 90.0, 110.0])


def _frames(name, severity, key, frames, seed=0, img=None):
    img = np.full((128, 128, 3), 100, np.uint8) if img is None else img
    return np.stack([
        video_corruption(img, name, severity, key, t, seed=seed, bbox=BBOX)
        for t in frames
    ])


def _runs(on):
    """(start, length) of the runs of True."""
    edges = np.diff(np.r_[0, on.astype(int), 0])
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return list(zip(starts.tolist(), (ends - starts).tolist()))


def test_video_occlusion_spans():
    frames = np.arange(200)
    period = VIDEO_OCCLUSION_PERIOD
    for s in range(1, 6):
        span = VIDEO_OCCLUSION_PARAMS['span'][s - 1]
        video = _frames('occlusion', s, VIDEO_A, frames)
        on = (video != 100).any(axis=(1, 2, 3))
        sched, span_id = video_occlusion_schedule(s, VIDEO_A, frames)
        np.testing.assert_array_equal(on, sched)
        runs = _runs(on)
        inner = [length for start, length in runs
                 if start > 0 and start + length < len(frames)]
        assert inner and all(length == span for length in inner)
        starts = [start for start, _ in runs if start > 0]
        assert all(np.diff(starts) == period)
        # the same box and colour within a span, a new one in the next span
        for start, length in runs:
            first = video[start]
            for t in range(start, start + length):
                np.testing.assert_array_equal(video[t], first)
        # the box covers the area fraction of the bbox
        covered = (video[runs[1][0]] != 100).any(-1)[20:110, 30:90].mean()
        assert covered == pytest.approx(
            VIDEO_OCCLUSION_PARAMS['area'][s - 1], abs=0.04)
        assert (video[runs[1][0]] != 100).any(-1).sum() == (
            (video[runs[1][0]] != 100).any(-1)[20:111, 30:91].sum())
    a = _frames('occlusion', 3, VIDEO_A, frames)
    # a different span: a different colour
    r = _runs((a != 100).any(axis=(1, 2, 3)))
    assert np.any(a[r[0][0]] != a[r[1][0]])


def test_video_occlusion_per_video_and_seed():
    frames = np.arange(3 * VIDEO_OCCLUSION_PERIOD)
    a1 = _frames('occlusion', 3, VIDEO_A, frames)
    a2 = _frames('occlusion', 3, VIDEO_A, frames[::-1])[::-1]
    np.testing.assert_array_equal(a1, a2)  # order does not matter
    on_a = (a1 != 100).any(axis=(1, 2, 3))
    on_b = (_frames('occlusion', 3, VIDEO_B, frames) != 100).any(
        axis=(1, 2, 3))
    on_seed = (_frames('occlusion', 3, VIDEO_A, frames, seed=1) != 100).any(
        axis=(1, 2, 3))
    assert on_a.mean() == on_b.mean() == pytest.approx(0.3)  # whole periods
    assert np.any(on_a != on_b) and np.any(on_a != on_seed)


def test_video_strength_and_identity():
    img = cv2.resize(
        cv2.imread(str(COCO / '000000000785.jpg')), (160, 106),
        interpolation=cv2.INTER_AREA)
    frames = np.arange(0, 100, 3)
    for name in VIDEO_CORRUPTIONS:
        np.testing.assert_array_equal(
            video_corruption(img, name, 0, VIDEO_A, 5, bbox=BBOX), img)
        strength = []
        for s in range(1, 6):
            video = _frames(name, s, VIDEO_A, frames, img=img)
            strength.append(np.abs(video.astype(float) - img).mean())
        assert all(b > a for a, b in zip(strength, strength[1:])), (name,
                                                                    strength)


def test_video_blur_and_noise_consistency():
    img = _rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    blur = [video_corruption(img, 'motion_blur', 4, VIDEO_A, t)
            for t in (0, 17)]
    np.testing.assert_array_equal(blur[0], blur[1])  # one angle per video
    other = video_corruption(img, 'motion_blur', 4, VIDEO_B, 0)
    assert np.any(other != blur[0])
    noise = [video_corruption(img, 'gaussian_noise', 2, VIDEO_A, t)
             for t in (0, 0, 1)]
    np.testing.assert_array_equal(noise[0], noise[1])
    assert np.any(noise[0] != noise[2])  # fresh per frame
    rng = corruption_rng(0, 'gaussian_noise', VIDEO_A, 1)
    np.testing.assert_array_equal(
        noise[2], corrupt_image(img, 'gaussian_noise', 2, rng))


def test_video_errors():
    img = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match='occlusion'):
        video_corruption(img, 'mask', 1, VIDEO_A, 0)
    with pytest.raises(ValueError, match='frame_index'):
        video_corruption(img, 'occlusion', 1, VIDEO_A, -1)
    with pytest.raises(ValueError, match='severity'):
        video_corruption(img, 'occlusion', 7, VIDEO_A, 0)
    with pytest.raises(ValueError, match='uint8'):
        video_corruption(img.astype(float), 'occlusion', 1, VIDEO_A, 0)


# ------------------------------------------------------------------ grid
def test_corruption_grid(photo):
    img, bbox = photo
    grid = corruption_grid(img, ['mask', 'jpeg'], (1, 4), seed=3, bbox=bbox,
                           cell_width=160)
    ch = round(160 * img.shape[0] / img.shape[1])
    assert grid.shape == (28 + 2 * ch, 170 + 2 * 160, 3)
    assert grid.dtype == np.uint8
    cell = cv2.resize(
        corrupt_image(img, 'mask', 4, corruption_rng(3), bbox=bbox),
        (160, ch), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(grid[28:28 + ch, 330:490], cell)
    crop = corruption_grid(img, ['jpeg'], (2, ), bbox=bbox, cell_width=100,
                           crop_padding=1.0)
    x0, y0 = np.floor(bbox[:2]).astype(int)
    x1 = min(int(np.ceil(bbox[2])), img.shape[1])
    y1 = min(int(np.ceil(bbox[3])), img.shape[0])
    ch = round(100 * (y1 - y0) / (x1 - x0))
    assert crop.shape == (28 + ch, 270, 3)
    with pytest.raises(ValueError, match='bbox'):
        corruption_grid(img, ['jpeg'], crop_padding=1.25)
