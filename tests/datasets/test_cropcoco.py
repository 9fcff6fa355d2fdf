"""Tests of the CropCOCO generator
(``probpose_ext.datasets.generators.cropcoco``)."""
import dataclasses
import json
from pathlib import Path
from typing import Dict, List, Tuple

import cv2
import numpy as np
import pytest

from probpose_ext.datasets.generators import cropcoco as cc
from probpose_ext.datasets.generators.cropcoco import (CropCocoParams,
                                                      crop_annotations,
                                                      make_cropcoco)
from tests.conftest import DATA, REPO, run_python
from tests.datasets._generator_checks import (fail_after, file_hashes,
                                              tmp_siblings)

COCO_DIR = DATA / 'coco'
COCO_ANN = COCO_DIR / 'test_coco.json'
CLI = REPO / 'tools' / 'dataset_converters' / 'make_cropcoco.py'
K = 17
#: permissive parameters: keep everybody with some bbox left
KEEP_ALL = CropCocoParams(min_visible_frac=0.0, min_keypoints_in_image=0)


def _load(out: Path, split: str = 'val') -> Dict:
    return json.loads(
        (out / 'annotations' / f'person_keypoints_{split}.json').read_text())


def _kpts(points: List[Tuple[float, float, int]]) -> List[float]:
    """Flat COCO keypoints, padded with unannotated ones to K."""
    points = list(points) + [(0, 0, 0)] * (K - len(points))
    return [c for p in points for c in p]


def _person(rng: np.random.Generator, ann_id: int, image_id: int, bbox,
            **extra) -> Dict:
    """A random person: keypoints spread over (and a bit around) the bbox."""
    x, y, w, h = bbox
    pts = rng.uniform([x - 0.1 * w, y - 0.1 * h],
                      [x + 1.1 * w, y + 1.1 * h],
                      size=(K, 2)).round(2)
    vis = rng.choice([0, 1, 2], size=K, p=[0.15, 0.25, 0.6])
    kpts = [(0, 0, 0) if v == 0 else (float(px), float(py), int(v))
            for (px, py), v in zip(pts, vis)]
    ann = dict(
        id=ann_id,
        image_id=image_id,
        category_id=1,
        bbox=list(bbox),
        area=round(0.6 * w * h, 3),
        iscrowd=0,
        num_keypoints=int(np.count_nonzero(vis)),
        keypoints=_kpts(kpts),
        segmentation=[[x, y, x + w, y, x + w, y + h]])
    ann.update(extra)
    return ann


def _write_image(path: Path, size: Tuple[int, int], seed: int) -> None:
    """A smooth random BGR image (JPEG or PNG by the suffix)."""
    rng = np.random.default_rng(seed)
    w, h = size
    small = rng.integers(0, 256, size=(h // 8 + 1, w // 8 + 1, 3))
    img = cv2.resize(small.astype(np.uint8), (w, h),
                     interpolation=cv2.INTER_LINEAR)
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), img)


@pytest.fixture(scope='module')
def categories() -> List[Dict]:
    return json.loads(COCO_ANN.read_text())['categories']


@pytest.fixture(scope='module')
def source(tmp_path_factory, categories) -> Tuple[Path, Path]:
    """A tiny COCO keypoint data set: JPEG and PNG images, a file in a sub
    directory, a crowd region and an image without keypoints."""
    root = tmp_path_factory.mktemp('source')
    rng = np.random.default_rng(123)
    specs = [  # id, file name, (w, h), person bboxes
        (1, 'a.jpg', (120, 90), [(10, 8, 50, 70), (70.5, 20.25, 40, 60)]),
        (2, 'b.png', (100, 100), [(20, 10, 60, 80)]),
        (5, 'sub/c.jpg', (90, 120), [(5, 5, 70, 100), (50, 60, 30, 50)]),
        (9, 'd.jpg', (64, 48), []),
        (11, 'e.jpg', (110, 80), [(30, 10, 45, 65)]),
    ]
    images, anns = [], []
    for image_id, name, size, boxes in specs:
        _write_image(root / 'images' / name, size, image_id)
        images.append(
            dict(id=image_id, file_name=name, width=size[0],
                 height=size[1], license=1))
        for box in boxes:
            anns.append(_person(rng, len(anns) + 1, image_id, box))
    anns.append(  # crowd region of image 1
        dict(id=100, image_id=1, category_id=1, bbox=[80, 60, 30, 25],
             area=500.0, iscrowd=1, num_keypoints=0, keypoints=[0] * 3 * K,
             segmentation=dict(counts=[0, 10], size=[90, 120])))
    anns.append(  # a person without keypoints: image 9 has none to crop
        dict(id=101, image_id=9, category_id=1, bbox=[5, 5, 20, 30],
             area=300.0, iscrowd=0, num_keypoints=0, keypoints=[0] * 3 * K))
    ann_file = root / 'person_keypoints_tiny.json'
    ann_file.write_text(
        json.dumps(
            dict(info=dict(description='tiny'), licenses=[], images=images,
                 annotations=anns, categories=categories)))
    return root / 'images', ann_file


@pytest.fixture(scope='module')
def generated(source, tmp_path_factory) -> Tuple[Path, Dict]:
    """The tiny source cropped with two worker processes."""
    out = tmp_path_factory.mktemp('cropcoco') / 'out'
    summary = make_cropcoco(*source, out, seed=0, workers=2, progress=False)
    return out, summary


# ---------------------------------------------------------------------------
# Geometry of one crop, computed by hand
# ---------------------------------------------------------------------------
def test_crop_annotations_hand_computed():
    # crop x in [30, 90), y in [0, 60): offset (30, 0), image 60 x 60.
    # Person bbox x 10..50, y 20..100 -> visible x 30..50, y 20..60, i.e.
    # [0, 20, 20, 40] in the crop, 800 / 3200 = 1/4 of the bbox.
    # Its AW: w/h = 0.5 < 0.75 -> 30 x 40, * 1.25 -> 37.5 x 50 about the
    # centre (10, 40): x in [-8.75, 28.75], y in [15, 65].
    person = dict(
        id=7, image_id=3, category_id=1, bbox=[10, 20, 40, 80], area=2000,
        iscrowd=0, segmentation=[[0, 0, 1, 1, 2, 2]],
        keypoints=_kpts([
            (40, 30, 2),  # (10, 30): A -> 2
            (45, 50, 1),  # (15, 50): A -> 1
            (25, 40, 2),  # (-5, 40): out of the image, in the AW (D) -> 1
            (15, 40, 2),  # (-15, 40): out of the AW (E) -> 3
            (40, 90, 2),  # (10, 90): out of the AW (E) -> 3
            (0, 0, 0),  # unannotated
            (40, 62, 2),  # (10, 62): below the image, in the AW (D) -> 1
            (75, 30, 2),  # (45, 30): in the image, out of the AW (C) -> 2
            (55, 30, 1),  # (25, 30): out of the bbox, in the AW (B) -> 1
            (35, 25, 3),  # (5, 25): source v=3 in the image and AW -> 1
        ]))
    uncut = dict(
        id=8, image_id=3, category_id=1, bbox=[40, 5, 10.5, 20.25],
        area=123.456, iscrowd=0, keypoints=_kpts([(45.5, 10.25, 2)]))
    outside = dict(uncut, id=9, bbox=[0, 0, 20, 20])
    sliver = dict(uncut, id=10, bbox=[88, 0, 40, 40])  # 5 % visible
    # 2/3 visible but its only keypoints are below the crop
    no_kpt_left = dict(
        uncut, id=11, bbox=[50, 40, 30, 30], keypoints=_kpts([(60, 65, 2)]))
    crowd = dict(
        id=12, image_id=3, category_id=1, bbox=[85, 55, 100, 100],
        area=9000.0, iscrowd=1, keypoints=[0] * 3 * K)
    no_kpts = dict(uncut, id=13, keypoints=[0] * 3 * K)
    anns = [person, uncut, outside, sliver, no_kpt_left, crowd, no_kpts]

    kept = crop_annotations(anns, (30, 0, 60, 60))
    assert [a['id'] for a in kept] == [7, 8, 12, 13]
    p = kept[0]
    assert set(p) == {
        'id', 'image_id', 'category_id', 'bbox', 'area', 'iscrowd',
        'num_keypoints', 'keypoints', 'pad_to_contain'
    }
    assert p['bbox'] == [0.0, 20.0, 20.0, 40.0]
    assert p['area'] == pytest.approx(500.0)
    assert p['iscrowd'] == 0 and p['image_id'] == 3
    expected = [(10, 30, 2), (15, 50, 1), (-5, 40, 1), (-15, 40, 3),
                (10, 90, 3), (0, 0, 0), (10, 62, 1), (45, 30, 2),
                (25, 30, 1), (5, 25, 1)]
    assert p['keypoints'] == _kpts(expected)
    assert p['num_keypoints'] == 9
    # padding that makes the AW (half size 15 x 20 at padding 1) contain it
    pad = [0.5, 0.5, 1.0, 25 / 15, 2.5, -1.0, 22 / 20, 35 / 15, 1.0, 15 / 20]
    np.testing.assert_allclose(p['pad_to_contain'], pad + [-1.0] * 7)

    u = kept[1]
    assert u['bbox'] == [10.0, 5.0, 10.5, 20.25]
    assert u['area'] == 123.456  # uncut: unchanged
    assert u['keypoints'][:3] == [15.5, 10.25, 2]
    assert kept[2]['bbox'] == [55.0, 55.0, 5.0, 5.0]
    assert kept[2]['iscrowd'] == 1 and kept[2]['num_keypoints'] == 0
    assert kept[3]['num_keypoints'] == 0  # no keypoints: no keypoint rule

    # the thresholds are parameters
    loose = crop_annotations(anns, (30, 0, 60, 60), KEEP_ALL)
    assert [a['id'] for a in loose] == [7, 8, 10, 11, 12, 13]
    # (30, 65): 5 px below the image, inside the AW y in [25, 75]
    assert loose[3]['keypoints'][:3] == [30.0, 65.0, 1]
    strict = crop_annotations(
        anns, (30, 0, 60, 60), CropCocoParams(min_keypoints_in_image=6))
    assert [a['id'] for a in strict] == [12, 13]  # the person keeps 5
    wide = crop_annotations([person], (30, 0, 60, 60),
                            CropCocoParams(padding=2.0))
    assert wide[0]['keypoints'][2::3][:10] == [2, 1, 1, 1, 3, 0, 1, 2, 1, 1]


def test_crop_box_validation():
    with pytest.raises(ValueError, match='crop_box'):
        crop_annotations([], (0, 0, 0, 10))
    with pytest.raises(ValueError, match='crop_box'):
        crop_annotations([], (0.5, 0, 10, 10))


def _aw_contains(bbox, point, padding: float, aspect_ratio: float = 0.75,
                 tol: float = 1e-6):
    """Brute force: is ``point`` in the AW? ``None`` when within ``tol`` of
    its boundary. The AW is the bbox grown to the aspect ratio about its
    centre, scaled by ``padding``."""
    x, y, w, h = bbox
    aw_h = max(h, w / aspect_ratio) * padding
    aw_w = aw_h * aspect_ratio
    cx, cy = x + w / 2, y + h / 2
    margin = min(aw_w / 2 - abs(point[0] - cx), aw_h / 2 - abs(point[1] - cy))
    if abs(margin) < tol:
        return None
    return margin >= 0


def test_visibility_against_brute_force():
    rng = np.random.default_rng(0)
    params = KEEP_ALL
    checked = {v: 0 for v in (1, 2, 3)}
    for trial in range(150):
        bbox = [*rng.uniform(0, 150, 2).round(2), *rng.uniform(5, 90, 2)
                .round(2)]
        box = cc.sample_crop_box(rng, (200, 200), params)
        src = _person(rng, trial, 0, bbox)
        kept = crop_annotations([src], box, params)
        x0, y0, cw, ch = box
        vx0, vy0 = max(bbox[0], x0), max(bbox[1], y0)
        vx1 = min(bbox[0] + bbox[2], x0 + cw)
        vy1 = min(bbox[1] + bbox[3], y0 + ch)
        if min(vx1 - vx0, vy1 - vy0) <= 0.01:  # nothing left (or < 0.01)
            assert kept == [] or min(vx1 - vx0, vy1 - vy0) > 0
            continue
        ann, = kept
        np.testing.assert_allclose(
            ann['bbox'], [vx0 - x0, vy0 - y0, vx1 - vx0, vy1 - vy0],
            atol=0.011)
        src_k = np.reshape(src['keypoints'], (K, 3))
        out_k = np.reshape(ann['keypoints'], (K, 3))
        for (sx, sy, sv), (x, y, v), pad in zip(src_k, out_k,
                                                ann['pad_to_contain']):
            if sv == 0:
                assert (x, y, v, pad) == (0, 0, 0, -1.0)
                continue
            assert (x, y) == pytest.approx((sx - x0, sy - y0), abs=1e-9)
            in_aw = _aw_contains(ann['bbox'], (x, y), params.padding)
            if in_aw is None:
                continue
            in_img = 0 <= x < cw and 0 <= y < ch
            expected = (sv if sv in (1, 2) else 1) if in_img else (
                1 if in_aw else 3)
            assert v == expected, (trial, x, y, sv)
            checked[v] += 1
            # pad_to_contain: the smallest padding whose AW contains it
            for factor in (0.98, 1.02):
                contains = _aw_contains(ann['bbox'], (x, y), pad * factor)
                assert contains in (None, factor > 1)
            assert (pad > params.padding) == (v == 3 or not in_aw)
    assert min(checked.values()) > 50, checked


# ---------------------------------------------------------------------------
# Crop sampling
# ---------------------------------------------------------------------------
def test_sample_crop_box_and_rng():
    params = CropCocoParams(crop_frac=(0.5, 0.8), min_crop_size=20)
    rng = cc.image_rng(0, 5)
    for _ in range(200):
        x, y, w, h = cc.sample_crop_box(rng, (100, 30), params)
        assert all(isinstance(c, int) for c in (x, y, w, h))
        assert 50 <= w <= 80 and 20 <= h <= 24  # 0.5 * 30 < min size 20
        assert 0 <= x <= 100 - w and 0 <= y <= 30 - h
    # tiny images: the crop is at most the image
    assert cc.sample_crop_box(rng, (10, 12), params)[2:] == (10, 12)
    draws = [cc.image_rng(s, i).random() for s, i in ((0, 5), (0, 5), (1, 5),
                                                       (0, 6), (0, 'x'))]
    assert draws[0] == draws[1] and len(set(draws)) == 4


def test_choose_crop_prefers_cutting_crops():
    # a person in the middle of a large image: many crops either keep all
    # of it or lose it
    person = dict(
        id=1, image_id=1, category_id=1, bbox=[80, 80, 40, 40], area=900,
        iscrowd=0, keypoints=_kpts([(82, 82, 2), (118, 118, 2)]))
    params = CropCocoParams(crop_frac=(0.3, 0.6), max_tries=50)
    one_try = dataclasses.replace(params, max_tries=1)
    first_cuts = 0
    for seed in range(20):
        box, kept = cc.choose_crop(cc.image_rng(seed, 1), (200, 200),
                                   [person], params)
        assert kept == crop_annotations([person], box, params)
        assert cc.cuts_keypoints(kept, box[2:])
        # one try: the first draw, whatever it is
        first = cc.sample_crop_box(cc.image_rng(seed, 1), (200, 200), params)
        box, kept = cc.choose_crop(cc.image_rng(seed, 1), (200, 200),
                                   [person], one_try)
        assert box == first
        first_cuts += cc.cuts_keypoints(kept, box[2:])
    assert first_cuts < 15


def test_choose_crop_fallback():
    # a person filling the image with one keypoint at the centre can never
    # be cut: a draw keeps it iff the centre is in the crop
    person = dict(
        id=1, image_id=1, category_id=1, bbox=[0, 0, 200, 200], area=9000,
        iscrowd=0, keypoints=_kpts([(100, 100, 2)]))
    params = CropCocoParams(
        crop_frac=(0.2, 0.35), min_visible_frac=0.0, max_tries=4)
    branches = set()
    for seed in range(30):
        rng = cc.image_rng(seed, 1)
        draws = [cc.sample_crop_box(rng, (200, 200), params) for _ in range(4)]
        keeps = [
            x <= 100 < x + w and y <= 100 < y + h for x, y, w, h in draws
        ]
        box, kept = cc.choose_crop(cc.image_rng(seed, 1), (200, 200),
                                   [person], params)
        if any(keeps):  # the last draw that keeps the person
            assert box == draws[max(np.flatnonzero(keeps))]
            assert [a['id'] for a in kept] == [1]
            branches.add('kept' if keeps[-1] else 'earlier')
        else:  # the last draw, nobody left
            assert box == draws[-1] and kept == []
            branches.add('none')
    assert branches == {'kept', 'earlier', 'none'}


# ---------------------------------------------------------------------------
# Output data set
# ---------------------------------------------------------------------------
def test_layout_and_images(generated, source):
    out, summary = generated
    img_dir, ann_file = source
    assert tmp_siblings(out) == []
    coco = _load(out)
    files = sorted(str(p.relative_to(out)) for p in out.rglob('*')
                   if p.is_file())
    assert files == [
        'annotations/person_keypoints_val.json',
        'annotations/summary_val.json', 'val/a.jpg', 'val/b.png', 'val/e.jpg',
        'val/sub/c.jpg'
    ]
    src = json.loads(ann_file.read_text())
    assert coco['categories'] == src['categories']
    assert coco['info']['seed'] == 0
    assert coco['info']['version'] == cc.GENERATOR_VERSION
    assert coco['info']['source_ann_file'] == 'person_keypoints_tiny.json'
    assert coco['info']['params'] == json.loads(
        json.dumps(dataclasses.asdict(CropCocoParams())))
    assert [i['id'] for i in coco['images']] == [1, 2, 5, 11]
    for image in coco['images']:
        assert set(image) == {'id', 'file_name', 'width', 'height',
                              'crop_box'}
        x, y, w, h = image['crop_box']
        assert (w, h) == (image['width'], image['height'])
        crop = cv2.imread(str(out / 'val' / image['file_name']))
        full = cv2.imread(str(img_dir / image['file_name']))
        assert crop.shape == (h, w, 3)
        assert 0 <= x and x + w <= full.shape[1]
        assert 0 <= y and y + h <= full.shape[0]
        diff = np.abs(crop.astype(int) - full[y:y + h, x:x + w])
        if image['file_name'].endswith('.png'):
            assert diff.max() == 0  # lossless: exactly the crop
        else:
            assert diff.mean() < 4
    # annotations
    image_ids = {i['id'] for i in coco['images']}
    anns = coco['annotations']
    assert all(a['image_id'] in image_ids for a in anns)
    assert len({a['id'] for a in anns}) == len(anns)
    assert [a['id'] for a in anns if a['iscrowd']] == [100]
    for a in anns:
        assert 'segmentation' not in a
        kpts = np.reshape(a['keypoints'], (K, 3))
        assert a['num_keypoints'] == np.count_nonzero(kpts[:, 2])
        assert len(a['pad_to_contain']) == K
    all_v = np.concatenate([a['keypoints'][2::3] for a in anns])
    assert set(all_v.tolist()) == {0, 1, 2, 3}


def test_summary_consistent_with_json(generated, source):
    out, summary = generated
    coco = _load(out)
    saved = json.loads((out / 'annotations' / 'summary_val.json').read_text())
    extra = {'out_dir', 'img_dir', 'ann_file', 'summary_file',
             'source_img_dir', 'source_ann_file', 'elapsed_s'}
    assert saved == {k: v for k, v in summary.items() if k not in extra}
    assert set(summary) >= extra
    assert summary['ann_file'] == str(
        out / 'annotations' / 'person_keypoints_val.json')
    assert summary['source_ann_file'] == str(source[1])

    anns = coco['annotations']
    assert summary['num_source_images'] == 5
    assert summary['num_images'] == len(coco['images']) == 4
    assert summary['skipped_images'] == dict(no_keypoints=1, no_survivor=0)
    assert summary['num_instances'] == len(anns)
    assert summary['num_crowd'] == 1
    assert summary['num_persons'] == len(anns) - 1
    assert summary['num_source_instances'] == 7  # all but image 9's
    assert summary['dropped_instances'] == 7 - len(anns)
    assert 1 <= summary['num_cut_images'] <= 4

    # brute-force counts over the non-crowd annotations
    sizes = {i['id']: (i['width'], i['height']) for i in coco['images']}
    vis_count = {f'v{v}': 0 for v in range(4)}
    areas = dict.fromkeys('ABCDE', 0)
    for a in anns:
        if a['iscrowd']:
            continue
        w, h = sizes[a['image_id']]
        bx, by, bw, bh = a['bbox']
        for x, y, v in np.reshape(a['keypoints'], (K, 3)):
            vis_count[f'v{int(v)}'] += 1
            if v == 0:
                continue
            in_img = 0 <= x < w and 0 <= y < h
            in_aw = _aw_contains(a['bbox'], (x, y), 1.25, tol=0)
            in_box = bx <= x <= bx + bw and by <= y <= by + bh
            areas['ABC'[0 if in_box else 1 if in_aw else 2] if in_img else
                  'DE'[0 if in_aw else 1]] += 1
    assert summary['keypoints'] == vis_count
    assert summary['areas'] == areas
    total = sum(areas.values())
    assert summary['num_annotated_keypoints'] == total
    for name, count in areas.items():
        assert summary['areas_percent'][name] == pytest.approx(
            100 * count / total, abs=0.005)
    assert sum(summary['keypoints_percent'].values()) == pytest.approx(
        100, abs=0.03)
    assert (summary['aspect_ratio'], summary['padding']) == (0.75, 1.25)
    # v=3 is "out of the image and of the AW": E
    assert vis_count['v3'] == areas['E']


def test_deterministic_and_independent_of_workers(generated, source,
                                                  tmp_path):
    out, _ = generated
    reference = file_hashes(out)
    make_cropcoco(*source, tmp_path / 'w1', seed=0, workers=1,
                  progress=False)
    assert file_hashes(tmp_path / 'w1') == reference
    make_cropcoco(*source, tmp_path / 's1', seed=1, workers=2,
                  progress=False)
    crops = {i['id']: i['crop_box'] for i in _load(out)['images']}
    other = {i['id']: i['crop_box'] for i in _load(tmp_path / 's1')['images']}
    assert sum(crops[k] != other.get(k) for k in crops) >= 3
    assert file_hashes(tmp_path / 's1') != reference


@pytest.mark.parametrize('exc', [RuntimeError, KeyboardInterrupt])
def test_failure_leaves_nothing(source, tmp_path, monkeypatch, exc):
    out = tmp_path / 'out'
    calls = fail_after(monkeypatch, cc, 'choose_crop', 2, exc)
    with pytest.raises(exc):
        make_cropcoco(*source, out, workers=1, progress=False)
    assert len(calls) == 3
    assert not out.exists()
    assert tmp_siblings(out) == []


def test_existing_dir_and_force(source, tmp_path):
    out = tmp_path / 'out'
    make_cropcoco(*source, out, workers=1, progress=False)
    (out / 'marker.txt').write_text('old')
    with pytest.raises(FileExistsError, match='force'):
        make_cropcoco(*source, out, workers=1, progress=False)
    assert (out / 'marker.txt').is_file()
    make_cropcoco(*source, out, seed=3, workers=1, force=True,
                  progress=False)
    assert not (out / 'marker.txt').exists()
    assert _load(out)['info']['seed'] == 3
    assert tmp_siblings(out) == []


@pytest.mark.parametrize(
    'kwargs, exc, match',
    [(dict(seed=-1), ValueError, 'seed'),
     (dict(workers=0), ValueError, 'workers'),
     (dict(split='a/b'), ValueError, 'split'),
     (dict(params=dict(padding=1.25)), TypeError, 'CropCocoParams'),
     (dict(params=CropCocoParams(crop_frac=(0.9, 0.5))), ValueError,
      'crop_frac'),
     (dict(params=CropCocoParams(crop_frac=(0.0, 0.5))), ValueError,
      'crop_frac'),
     (dict(params=CropCocoParams(max_tries=0)), ValueError, 'max_tries'),
     (dict(params=CropCocoParams(min_visible_frac=1.5)), ValueError,
      'min_visible_frac'),
     (dict(params=CropCocoParams(min_keypoints_in_image=-1)), ValueError,
      'min_keypoints_in_image'),
     (dict(params=CropCocoParams(padding=0)), ValueError, 'padding'),
     (dict(params=CropCocoParams(aspect_ratio=float('nan'))), ValueError,
      'aspect_ratio'),
     (dict(params=CropCocoParams(jpeg_quality=101)), ValueError,
      'jpeg_quality')])
def test_argument_validation(source, tmp_path, kwargs, exc, match):
    out = tmp_path / 'out'
    with pytest.raises(exc, match=match):
        make_cropcoco(*source, out, progress=False, **kwargs)
    assert not out.exists() and tmp_siblings(out) == []


def test_missing_inputs_name_the_path(source, tmp_path):
    img_dir, ann_file = source
    out = tmp_path / 'out'
    with pytest.raises(FileNotFoundError, match='nope.json'):
        make_cropcoco(img_dir, tmp_path / 'nope.json', out)
    with pytest.raises(FileNotFoundError, match='no_images'):
        make_cropcoco(tmp_path / 'no_images', ann_file, out)
    coco = json.loads(ann_file.read_text())
    coco['images'][1]['file_name'] = 'missing.jpg'
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps(coco))
    with pytest.raises(FileNotFoundError, match='missing.jpg'):
        make_cropcoco(img_dir, bad, out, workers=1, progress=False)
    coco['images'][1]['file_name'] = '../escape.jpg'
    bad.write_text(json.dumps(coco))
    with pytest.raises(ValueError, match='escape'):
        make_cropcoco(img_dir, bad, out, workers=1, progress=False)
    bad.write_text('{"images": []}')
    with pytest.raises(ValueError, match='COCO'):
        make_cropcoco(img_dir, bad, out, workers=1, progress=False)
    assert not out.exists() and tmp_siblings(out) == []


# ---------------------------------------------------------------------------
# Real COCO sample: MMPose loading, CLI, SynthPose-Crop
# ---------------------------------------------------------------------------
@pytest.mark.filterwarnings('ignore:The metainfo config file')
def test_coco_sample_loads_with_mmpose(tmp_path):
    from mmpose.registry import DATASETS
    out = tmp_path / 'coco_crop'
    summary = make_cropcoco(COCO_DIR, COCO_ANN, out, seed=0, workers=1,
                            progress=False)
    assert summary['num_images'] == 4 and summary['keypoints']['v3'] > 0
    coco = _load(out)
    ds = DATASETS.build(
        dict(
            type='CocoDataset',
            data_root=str(out),
            ann_file='annotations/person_keypoints_val.json',
            data_prefix=dict(img='val/'),
            data_mode='topdown',
            test_mode=True,
            pipeline=[],
            metainfo=dict(from_file='configs/_base_/datasets/coco.py')))
    # top-down MMPose keeps the non-crowd instances with keypoints
    persons = [
        a for a in coco['annotations']
        if not a['iscrowd'] and a['num_keypoints'] > 0
    ]
    assert len(ds) == len(persons) == summary['num_persons']
    assert summary['num_persons'] < summary['num_instances']
    by_id = {a['id']: a for a in coco['annotations']}
    images = {i['id']: i for i in coco['images']}
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        ann = by_id[info['id']]
        kpts = np.asarray(ann['keypoints'], np.float32).reshape(K, 3)
        np.testing.assert_allclose(info['keypoints'][0], kpts[:, :2])
        np.testing.assert_array_equal(info['keypoints_visible'][0],
                                      np.minimum(kpts[:, 2], 1))
        img = cv2.imread(info['img_path'])
        image = images[info['img_id']]
        assert img.shape[:2] == (image['height'], image['width'])


@pytest.mark.slow
def test_cli_on_coco_sample(tmp_path):
    out = tmp_path / 'cli'
    args = [CLI, COCO_DIR, COCO_ANN, out, '--seed', '2', '--workers', '1',
            '--no-progress', '--padding', '1.5']
    res = run_python(args)
    saved = json.loads((out / 'annotations' / 'summary_val.json').read_text())
    assert saved['seed'] == 2 and saved['padding'] == 1.5
    assert _load(out)['info']['params']['padding'] == 1.5
    lines = res.stdout.splitlines()
    for v in range(4):
        row, = [ln for ln in lines if ln.startswith(f'v{v}:')]
        assert row.split()[-2:] == [
            str(saved['keypoints'][f'v{v}']),
            f"{saved['keypoints_percent'][f'v{v}']:.2f}"
        ]
    for name in 'ABCDE':
        row, = [ln for ln in lines if ln.startswith(f'{name}:')]
        assert row.split()[-2:] == [
            str(saved['areas'][name]), f"{saved['areas_percent'][name]:.2f}"
        ]
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob('*')
                   if p.is_file())
    assert files == [
        'cli/annotations/person_keypoints_val.json',
        'cli/annotations/summary_val.json'
    ] + [f'cli/val/{p.name}' for p in sorted(COCO_DIR.glob('*.jpg'))]

    again = run_python(args, check=False)
    assert again.returncode == 1 and '--force' in again.stderr


def test_synthpose_crop(tmp_path):
    from probpose_ext.datasets.generators.synthpose import make_synthpose
    synth = tmp_path / 'synthpose'
    make_synthpose(synth, num_train=0, num_val=4, img_size=(96, 96),
                   workers=1, progress=False)
    summary = make_cropcoco(
        synth / 'val', synth / 'annotations' / 'person_keypoints_val.json',
        tmp_path / 'synthpose_crop', workers=1, progress=False)
    assert summary['num_images'] == 4
    assert summary['num_cut_images'] >= 3
    assert summary['areas']['D'] + summary['areas']['E'] > 0
