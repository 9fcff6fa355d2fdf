"""ExCOCOeval's vectorised paths against xtcocotools' per-image code.

``ExCOCOeval.evaluate`` matches all images at once and ``accumulate`` works
on the matching arrays; here both are compared, bit for bit, with
xtcocotools' own ``evaluateImg`` / ``accumulate`` run on the same prepared
state, on random cases with crowd GTs, ignored GTs, images without GTs or
without predictions, more predictions than ``maxDets``, score ties and two
categories.
"""
import copy
import json

import numpy as np
import pytest
from xtcocotools.cocoeval import COCOeval

from probpose_ext.evaluation.functional import ExCOCOeval
from probpose_ext.ops.ex_oks import ex_oks_matrix
from probpose_ext.ops.windows import activation_window

from ._coco_cases import K, SIGMAS, load_coco, random_case, write_case


def hard_case(seed: int, all_in_image: bool = False):
    """``random_case`` plus the corner cases of COCO matching."""
    rng = np.random.default_rng(seed)
    gt, res = random_case(seed, num_images=24, all_in_image=all_in_image)
    anns, images = gt['annotations'], gt['images']
    next_id = len(anns) + 1
    # crowd GTs: some with keypoints, one region without any
    for ann in anns[::7]:
        ann['iscrowd'] = 1
    anns.append(dict(anns[0], id=next_id, iscrowd=1, num_keypoints=0,
                     keypoints=[0.0] * (3 * K)))
    # a GT without annotated keypoints (ignored) next to regular ones
    anns.append(dict(anns[3], id=next_id + 1, keypoints=[0.0] * (3 * K),
                     num_keypoints=0))
    # an exact duplicate of a regular GT: OKS ties between GTs
    anns.append(dict(anns[1], id=next_id + 2))
    # images without GT (with predictions) and without predictions
    for img_id in (101, 102):
        images.append(dict(id=img_id, file_name=f'{img_id}.jpg', width=640,
                           height=480))
        res += [dict(r, image_id=img_id) for r in res[:3]]
    res = [r for r in res if r['image_id'] not in (2, 5)]
    # more predictions than maxDets (20) in one image, many score ties
    busy = res[0]['image_id']
    res += [dict(r, score=0.5) for r in res if r['image_id'] == busy] * 25
    for r in res:
        r['score'] = round(r['score'], 1)
    # a second category on some images
    gt['categories'].append(dict(id=2, name='other'))
    for ann in anns[:10]:
        anns.append(dict(ann, id=ann['id'] + 1000, category_id=2))
    res += [dict(r, category_id=2) for r in res[:15]]
    rng.shuffle(res)
    return gt, res


@pytest.fixture(scope='module', params=[0, 1, 2])
def files(request, tmp_path_factory):
    gt, res = hard_case(request.param)
    return write_case(tmp_path_factory.mktemp('fast'), gt, res)


def evaluator(files, level=None, **kwargs) -> ExCOCOeval:
    gt, dt = load_coco(*files)
    ev = ExCOCOeval(gt, dt, SIGMAS, **kwargs)
    ev.level = level
    return ev


def reference_records(ev: ExCOCOeval, level_rule: bool) -> list:
    """``evalImgs`` of xtcocotools' ``evaluateImg`` on ``ev``'s prepared
    state (with our level rule when ``level_rule``)."""
    p = ev.params
    evaluate_img = ev.evaluateImg if level_rule else (
        lambda *args: COCOeval.evaluateImg(ev, *args))
    return [
        evaluate_img(img, cat, rng, p.maxDets[-1]) for cat in p.catIds
        for rng in p.areaRng for img in p.imgIds
    ]


def assert_records_equal(got: list, want: list) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want):
        if w is None:
            assert g is None
            continue
        assert list(g) == list(w)
        for key, value in w.items():
            if isinstance(value, np.ndarray):
                assert g[key].dtype == value.dtype, key
                np.testing.assert_array_equal(g[key], value, err_msg=key)
            else:
                assert g[key] == value, key


@pytest.mark.parametrize('extended', [True, False])
@pytest.mark.parametrize('level', [None, 1, 2, 3])
def test_matching_equals_xtcocotools_evaluate_img(files, extended, level):
    ev = evaluator(files, level, extended=extended)
    with_crowd = ev.cocoGt.loadAnns(ev.cocoGt.getAnnIds(iscrowd=True))
    assert with_crowd
    ev.evaluate()
    got = ev.evalImgs
    assert_records_equal(got, reference_records(ev, level_rule=True))
    if level is None:  # nothing of ours left: xtcocotools' code itself
        assert_records_equal(got, reference_records(ev, level_rule=False))
    # the case has what it is meant to have
    entries = [e for e in got if e is not None]
    assert any(len(e['dtIds']) == 20 for e in entries)  # truncated
    assert any(not e['gtIds'] for e in entries)
    assert any(not e['dtIds'] for e in entries)
    assert any((e['dtMatches'] >= 0).any() for e in entries)


def test_matching_with_small_max_dets(files):
    ev = evaluator(files)
    ev.params.maxDets = [3, 1]
    ev.evaluate()
    assert ev.params.maxDets == [1, 3]
    assert_records_equal(ev.evalImgs, reference_records(ev, False))


@pytest.mark.parametrize('level', [None, 3])
@pytest.mark.parametrize('max_dets', [[20], [1, 5, 20]])
def test_accumulate_equals_xtcocotools(files, level, max_dets):
    ev = evaluator(files, level)
    ev.params.maxDets = max_dets
    ev.evaluate()
    ev.accumulate()
    got = ev.eval
    COCOeval.accumulate(ev)  # on the materialised evalImgs
    want = ev.eval
    assert got['counts'] == want['counts']
    for key in ('precision', 'recall', 'scores'):
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)
    assert (got['precision'] > 0).any()
    # accumulate(p) with parameters of its own runs xtcocotools' code
    ev.evaluate()
    ev.accumulate(copy.deepcopy(ev.params))
    np.testing.assert_array_equal(ev.eval['precision'], got['precision'])


def test_similarities_equal_per_image_ex_oks(files):
    """The pair-wise similarities equal ``ex_oks_matrix`` image by
    image (the vectorised per-image code)."""
    for extended in (True, False):
        for level in (None, 3):
            ev = evaluator(files, level, extended=extended,
                           presence_thr=0.4)
            ev.evaluate()
            for (img, cat), dts in ev._dts.items():
                gts = ev._gts[img, cat]
                if not gts or not dts:
                    continue
                got = ev.computeOks(img, cat)
                want = _per_image_oks(ev, gts, dts, extended, level)
                np.testing.assert_array_equal(got, want)
                np.testing.assert_array_equal(ev.ious[img, cat], want)


def _per_image_oks(ev, gts, dts, extended, level):
    order = np.argsort([-d['score'] for d in dts], kind='mergesort')
    dts = [dts[i] for i in order[:ev.params.maxDets[-1]]]
    pred = np.array([d['keypoints'] for d in dts]).reshape(-1, K, 3)
    kpts = np.array([g['keypoints'] for g in gts]).reshape(-1, K, 3)
    vis = kpts[..., 2].astype(int)
    bboxes = np.array([g['bbox'] for g in gts], dtype=float)
    if extended:
        pred_in = np.array([d['presence'] for d in dts]) >= 0.4
        gt_in, regions = vis != 3, None
    else:
        vis = np.where((vis == 1) | (vis == 2), vis, 0)
        pred_in, gt_in = np.ones(pred.shape[:2], bool), np.ones_like(vis,
                                                                     bool)
        x, y, w, h = bboxes.T
        regions = np.stack([x - w, y - h, x + 2 * w, y + 2 * h], 1)
    mask = vis > 0 if level is None else vis == level
    return ex_oks_matrix(pred[..., :2], pred_in, kpts[..., :2], gt_in, mask,
                         activation_window(bboxes), SIGMAS,
                         [g['area'] for g in gts], fallback_regions=regions)


class _Reference(ExCOCOeval):
    """ExCOCOeval running xtcocotools' own evaluate/accumulate loops."""
    evaluate = COCOeval.evaluate
    accumulate = COCOeval.accumulate


@pytest.mark.parametrize('kwargs', [
    dict(extended=True),
    dict(extended=True, aw_distance='corner', presence_thr=0.3),
    dict(extended=False),
])
def test_run_equals_xtcocotools_loops(files, kwargs):
    gt, dt = load_coco(*files)
    got = ExCOCOeval(gt, dt, SIGMAS, **kwargs).run(per_visibility=True)
    want = _Reference(gt, dt, SIGMAS, **kwargs).run(per_visibility=True)
    assert got == want
    assert len(got) > 10


def test_plain_oks_equals_xtcocotools_with_crowds(tmp_path):
    gt, res = hard_case(3, all_in_image=True)
    files = write_case(tmp_path, gt, res)
    g, d = load_coco(*files)
    got = ExCOCOeval(g, d, SIGMAS, extended=False).run(per_visibility=False)
    xt = COCOeval(g, d, 'keypoints', SIGMAS, True)
    xt.evaluate()
    xt.accumulate()
    xt.summarize()
    np.testing.assert_array_equal(list(got.values()), xt.stats)


def test_nan_similarities_use_xtcocotools_loop(tmp_path):
    gt, res = hard_case(4)
    broken = next(r for r in res if r['image_id'] == 3)
    broken['keypoints'] = list(broken['keypoints'])
    broken['keypoints'][:2] = [float('nan')] * 2
    files = write_case(tmp_path, gt, res)
    g, d = load_coco(*files)
    ev = ExCOCOeval(g, d, SIGMAS)
    ev.evaluate()
    assert ev._fast is None and len(ev.evalImgs) > 0  # xtcocotools' loop
    assert ev.run() == _Reference(g, d, SIGMAS).run()


def test_eval_imgs_are_reset_by_prepare(files):
    ev = evaluator(files)
    ev.evaluate()
    assert len(ev.evalImgs) == 2 * 3 * len(ev.params.imgIds)
    ev._prepare()
    assert not ev.evalImgs and ev._fast is None
    ev.evaluate()
    ev.accumulate()
    fast = ev.eval['precision']
    ev.evalImgs = ev.evalImgs  # assigned records: xtcocotools' accumulate
    assert ev._fast is None
    ev.accumulate()
    np.testing.assert_array_equal(ev.eval['precision'], fast)


def test_json_roundtrip_of_hard_case(tmp_path):
    gt, res = hard_case(5)
    gt_file, res_file = write_case(tmp_path, gt, res)
    assert len(json.load(open(res_file))) == len(res)
    assert {a['category_id'] for a in json.load(open(gt_file))[
        'annotations']} == {1, 2}


def test_crowded_image(tmp_path):
    """40 people in one image, 30 predictions: every group size of the
    matching at once."""
    rng = np.random.default_rng(6)
    gt, res = random_case(6, num_images=3)
    people = [a for a in gt['annotations'] if a['image_id'] == 1]
    for n in range(40):
        src = people[n % len(people)]
        kpts = np.asarray(src['keypoints'], dtype=float).reshape(K, 3)
        kpts[:, :2] += rng.normal(0, 15, (K, 2))
        gt['annotations'].append(
            dict(src, id=500 + n, keypoints=kpts.ravel().tolist()))
        if n < 30:
            res.append(dict(res[0], image_id=1, score=float(rng.random()),
                            keypoints=(kpts + [*rng.normal(0, 3, 2), 0]
                                       ).ravel().tolist(),
                            presence=rng.random(K).tolist()))
    files = write_case(tmp_path, gt, res)
    for level in (None, 3):
        ev = evaluator(files, level)
        ev.evaluate()
        assert_records_equal(ev.evalImgs, reference_records(ev, True))
        crowded = max((e for e in ev.evalImgs if e),
                      key=lambda e: len(e['gtIds']))
        assert len(crowded['gtIds']) > 40
        assert (crowded['dtMatches'][0] >= 0).sum() >= 10
