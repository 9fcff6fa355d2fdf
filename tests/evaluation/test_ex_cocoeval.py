"""ExCOCOeval parity: xtcocotools' COCOeval (plain OKS, every keypoint in
the image) and the authors' exococotools 1.0.0 (Ex-OKS, corner distance)."""
import copy
import json

import numpy as np
import pytest

from probpose_ext.evaluation.functional import KEYPOINT_STATS, ExCOCOeval

from ._coco_cases import (SIGMAS, exo_example, exococotools_stats, load_coco,
                          random_case, write_case, xtcocotools_stats)


def ours(gt_file, res_file, per_visibility=True, **kwargs):
    gt, dt = load_coco(gt_file, res_file)
    return ExCOCOeval(gt, dt, SIGMAS, **kwargs).run(per_visibility)


def _exo_names(stats: dict, prefix: str) -> dict:
    """exococotools' names -> ours (``prefix`` + name, per-v APs)."""
    return {prefix + k: v for k, v in stats.items() if k != 'OKS'}


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_plain_oks_equals_xtcocotools_exactly(tmp_path, seed):
    gt, res = random_case(seed, all_in_image=True)
    files = write_case(tmp_path, gt, res)
    got = ours(*files, extended=False, per_visibility=False)
    want = xtcocotools_stats(*files)
    assert list(got) == list(KEYPOINT_STATS)
    np.testing.assert_array_equal(np.array(list(got.values())), want)
    assert 0.05 < got['AP'] < 0.95  # a non-trivial case


@pytest.mark.parametrize('name', ['coco', 'cropcoco'])
def test_example_files_equal_exococotools(tmp_path, name):
    gt = exo_example(f'example_{name}_val.json')
    res = exo_example(f'example_{name}_preds.json')
    files = write_case(tmp_path, gt, res, name)
    want = exococotools_stats(*files, extended=True)
    got = ours(*files, extended=True, aw_distance='corner')
    assert got == pytest.approx(_exo_names(want, 'Ex_'), abs=1e-12)
    # the paper's values in exococotools' README for this example
    if name == 'cropcoco':
        assert round(got['Ex_AP (v=3)'], 3) == 0.317
    want_plain = exococotools_stats(*files, extended=False)
    got_plain = ours(*files, extended=False)
    assert got_plain == pytest.approx(_exo_names(want_plain, ''), abs=1e-12)


@pytest.mark.parametrize('seed', [3, 4, 5, 6])
def test_random_cases_equal_exococotools(tmp_path, seed):
    gt, res = random_case(seed)
    files = write_case(tmp_path, gt, res)
    thr = [0.5, 0.3, 0.7, 0.5][seed - 3]
    want = _exo_names(exococotools_stats(*files, thr=thr), 'Ex_')
    got = ours(*files, extended=True, aw_distance='corner', presence_thr=thr)
    assert set(got) == set(want)
    # exococotools also ignores every prediction of an image whose GTs are
    # all outside an area range; COCO (and we) count them as false
    # positives, so the (M) and (L) numbers may differ. All others match.
    for key in want:
        if '(M)' not in key and '(L)' not in key:
            assert got[key] == pytest.approx(want[key], abs=1e-12), key
    assert 0.01 < got['Ex_AP'] < 0.95
    assert got['Ex_AP (v=3)'] > 0


ONE = pytest.approx(1.0, abs=1e-12)  # COCO's precision is tp/(tp+fp+eps)


def _gt_as_results(gt):
    results = []
    for ann in gt['annotations']:
        vis = np.asarray(ann['keypoints'][2::3])
        results.append(
            dict(image_id=ann['image_id'], category_id=1, score=1.0,
                 keypoints=ann['keypoints'],
                 presence=(vis != 3).astype(float).tolist()))
    return results


def test_gt_as_prediction_is_perfect(tmp_path):
    gt, _ = random_case(7)
    files = write_case(tmp_path, gt, _gt_as_results(gt))
    for mode in ('edge', 'corner'):
        got = ours(*files, extended=True, aw_distance=mode)
        assert got['Ex_AP'] == ONE and got['Ex_AR'] == 1.0
    # plain OKS skips v=3 keypoints: also perfect
    assert ours(*files, extended=False)['AP'] == ONE
    # per visibility level, a GT without keypoints of that level is
    # ignored, and with overlapping people another GT's copy may match a
    # non-ignored GT first: only one person per image makes every level
    # perfect
    seen = set()
    gt['annotations'] = [
        a for a in gt['annotations']
        if a['image_id'] not in seen and not seen.add(a['image_id'])
    ]
    files = write_case(tmp_path, gt, _gt_as_results(gt), 'single')
    got = ours(*files, extended=True)
    assert [got[f'Ex_AP (v={v})'] for v in (1, 2, 3)] == [ONE] * 3


def test_presence_decides_out_keypoints(tmp_path):
    """All GT keypoints out: Ex-OKS is 1 iff every presence is below the
    threshold, whatever the coordinates."""
    gt = dict(
        images=[dict(id=1, file_name='a.jpg', width=100, height=100)],
        categories=[dict(id=1, name='person')],
        annotations=[
            dict(id=1, image_id=1, category_id=1, bbox=[10, 10, 30, 40],
                 area=600.0, iscrowd=0, num_keypoints=17,
                 keypoints=[500.0, 500.0, 3] * 17)
        ])
    res = [dict(image_id=1, category_id=1, score=1.0,
                keypoints=[20.0, 20.0, 0.9] * 17, presence=[0.2] * 17)]
    files = write_case(tmp_path, gt, res)
    assert ours(*files)['Ex_AP'] == ONE
    res[0]['presence'] = [0.6] * 17  # predicted in: far from the window edge
    files = write_case(tmp_path, gt, res, 'in')
    assert ours(*files)['Ex_AP'] == 0.0
    # without a presence list the third values (0.9) are used: in
    del res[0]['presence']
    files = write_case(tmp_path, gt, res, 'third')
    assert ours(*files)['Ex_AP'] == 0.0
    # plain OKS has nothing to score: the GT is ignored, AP undefined (-1)
    assert ours(*files, extended=False)['AP'] == -1.0


def test_pad_to_contain_overrides_visibility(tmp_path):
    gt, res = random_case(8)
    files = write_case(tmp_path, gt, res)
    base = ours(*files)
    # pad_to_contain = 2 for v=3 keypoints, 1 otherwise: padding 1.25 keeps
    # the labels, padding 2.5 turns every v=3 into v=1
    gt2 = copy.deepcopy(gt)
    for ann in gt2['annotations']:
        vis = np.asarray(ann['keypoints'][2::3])
        ann['pad_to_contain'] = np.where(vis == 3, 2.0, 1.0).tolist()
    files2 = write_case(tmp_path, gt2, res, 'pad')
    assert ours(*files2) == base
    wide = ours(*files2, padding=2.5)
    assert 'Ex_AP (v=3)' not in wide
    gt3 = copy.deepcopy(gt)
    for ann in gt3['annotations']:
        kp = np.asarray(ann['keypoints'], dtype=float).reshape(-1, 3)
        kp[kp[:, 2] == 3, 2] = 1
        ann['keypoints'] = kp.ravel().tolist()
    files3 = write_case(tmp_path, gt3, res, 'relabelled')
    assert wide == ours(*files3, padding=2.5)


def test_corner_distance_is_stricter(tmp_path):
    gt, res = random_case(9)
    files = write_case(tmp_path, gt, res)
    edge = ours(*files, aw_distance='edge')
    corner = ours(*files, aw_distance='corner')
    # the corner distance is never smaller than the edge distance, so every
    # in/out mistake costs more: lower Ex-AP here (matching makes AP not
    # strictly monotone in general); both agree where no mistake is made
    assert corner['Ex_AP'] < edge['Ex_AP']
    assert corner['Ex_AP (v=2)'] < edge['Ex_AP (v=2)']


def test_settings_changes_invalidate_cache(tmp_path):
    gt, res = random_case(10)
    files = write_case(tmp_path, gt, res)
    g, d = load_coco(*files)
    ev = ExCOCOeval(g, d, SIGMAS, presence_thr=0.5)
    first = ev.run(per_visibility=False)['Ex_AP']
    ev.presence_thr = 0.95
    second = ev.run(per_visibility=False)['Ex_AP']
    assert second == ours(*files, presence_thr=0.95,
                          per_visibility=False)['Ex_AP']
    assert first != second


@pytest.mark.parametrize('kwargs, match', [
    (dict(presence_thr=1.5), 'presence_thr'),
    (dict(padding=0.9), 'padding'),
    (dict(aw_distance='centre'), 'aw_distance'),
])
def test_bad_arguments(tmp_path, kwargs, match):
    gt, res = random_case(11, num_images=2)
    g, d = load_coco(*write_case(tmp_path, gt, res))
    with pytest.raises(ValueError, match=match):
        ExCOCOeval(g, d, SIGMAS, **kwargs)


def test_json_roundtrip_of_case(tmp_path):
    """The case writer produces COCO-valid files (guards the helpers)."""
    gt, res = random_case(12, num_images=3)
    gt_file, res_file = write_case(tmp_path, gt, res)
    assert json.load(open(gt_file))['annotations'][0]['num_keypoints'] >= 1
    assert len(json.load(open(res_file))) == len(res)
