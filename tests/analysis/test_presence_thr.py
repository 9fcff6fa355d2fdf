"""Choosing the presence threshold on a selection split: Ex-AP and balanced
accuracy criteria, tie-breaking, errors and the CLI."""
import json
import pickle

import numpy as np
import pytest

from probpose_ext.analysis.presence_thr import (DEFAULT_THRESHOLDS,
                                                check_thresholds,
                                                choose_presence_thr,
                                                pick_threshold,
                                                presence_thr_cfg_options,
                                                presence_thr_table)
from probpose_ext.evaluation import ExCocoMetric
from tests.conftest import REPO, run_python
from tests.evaluation._coco_cases import K, random_case
from tests.evaluation.test_ex_coco_metric import _evaluate, _samples

TOOL = REPO / 'tools' / 'analysis_tools' / 'choose_presence_thr.py'


def _with_presence(gt: dict, out_range, in_range, seed: int = 0) -> list:
    """``_samples`` (noisy keypoints, one sample per GT) with a presence
    drawn uniformly in ``out_range`` for v=3 keypoints, else ``in_range``."""
    rng = np.random.default_rng(seed)
    samples = _samples(gt, seed=seed)
    for sample, ann in zip(samples, gt['annotations']):
        out = np.asarray(ann['keypoints'][2::3]) == 3
        presence = np.where(out, rng.uniform(*out_range, K),
                            rng.uniform(*in_range, K))
        sample['pred_instances']['keypoint_presence'] = presence[None]
    return samples


@pytest.fixture(scope='module')
def split(tmp_path_factory):
    """Selection split: 8 images, v=3 keypoints outside the window,
    presence about 0.3 (out) / 0.8 (in), perfectly separable."""
    tmp = tmp_path_factory.mktemp('split')
    gt, _ = random_case(5, num_images=8)
    gt_file = tmp / 'gt.json'
    gt_file.write_text(json.dumps(gt))
    samples = _with_presence(gt, (0.25, 0.35), (0.75, 0.85))
    dump = tmp / 'sel.pkl'
    dump.write_bytes(pickle.dumps(samples))
    assert any(np.asarray(a['keypoints'][2::3]).max() == 3
               for a in gt['annotations'])
    return gt, str(gt_file), samples, str(dump)


def _ex_ap(gt_file: str, samples: list, **kwargs) -> float:
    metric = ExCocoMetric(ann_file=gt_file, per_visibility=False, **kwargs)
    return _evaluate(metric, samples)['coco/Ex_AP']


# --------------------------------------------------------------------------
# criterion='ex_ap'
# --------------------------------------------------------------------------
def test_ex_ap_choice_is_in_the_separating_interval(split):
    gt, gt_file, samples, dump = split
    result = choose_presence_thr(dump, gt_file)
    assert result['criterion'] == 'ex_ap'
    assert list(result['curve']) == list(DEFAULT_THRESHOLDS)
    assert 0.35 <= result['thr'] <= 0.75
    assert result['value'] == max(result['curve'].values())
    assert result['value'] > result['curve'][0.95] + 0.1
    assert result['value'] > result['curve'][0.05] + 0.1
    # every threshold in [0.35, 0.75] separates in/out: a plateau, so the
    # tie goes to 0.5
    assert result['thr'] == 0.5
    assert result['value@0.5'] == result['value']
    assert result['presence_key'] == 'keypoint_presence'
    assert result['num_samples'] == len(gt['annotations'])
    # the curve is ExCocoMetric's Ex_AP at presence_thr=thr, evaluated
    # independently; its best is the oracle sweep's
    for thr in (result['thr'], 0.3, 0.8, 0.95):
        assert result['curve'][thr] == _ex_ap(gt_file, samples,
                                              presence_thr=thr), thr
    oracle = _evaluate(
        ExCocoMetric(ann_file=gt_file, per_visibility=False,
                     oracle_thrs=DEFAULT_THRESHOLDS), samples)
    assert oracle['coco/Ex_AP@oracle_thr'] == result['value']


def test_ex_ap_moves_away_from_the_default(tmp_path):
    """Out presence in [0.55, 0.65], in presence in [0.85, 0.95]: 0.7 ..
    0.85 separate perfectly, 0.5 calls every out keypoint in."""
    gt, _ = random_case(6, num_images=6)
    gt_file = tmp_path / 'gt.json'
    gt_file.write_text(json.dumps(gt))
    samples = _with_presence(gt, (0.55, 0.65), (0.85, 0.95), seed=1)
    thrs = [0.3, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9]
    result = choose_presence_thr(samples, str(gt_file), thresholds=thrs)
    assert list(result['curve']) == thrs
    assert result['thr'] == 0.7  # the plateau's end closest to 0.5
    assert {result['curve'][t] for t in (0.7, 0.75, 0.8, 0.85)} == {
        result['value']}
    assert result['value'] > result['value@0.5'] + 0.05
    assert result['value@0.5'] == result['curve'][0.5] == _ex_ap(
        str(gt_file), samples)
    assert result['value'] == _ex_ap(str(gt_file), samples,
                                     presence_thr=0.7)


def test_ex_ap_settings_reach_the_metric(split):
    """0.5 is evaluated for comparison even off the grid; aw_distance,
    padding and CocoMetric options are the metric's."""
    _, gt_file, samples, _ = split
    options = dict(score_mode='bbox', nms_mode='none')
    result = choose_presence_thr(samples, gt_file, thresholds=[0.4, 0.9],
                                 aw_distance='corner', padding=1.5,
                                 metric_kwargs=options)
    assert list(result['curve']) == [0.4, 0.9]
    assert result['settings'] == dict(aw_distance='corner', padding=1.5,
                                      aspect_ratio=0.75)
    for thr, value in [*result['curve'].items(),
                       (0.5, result['value@0.5'])]:
        assert value == _ex_ap(gt_file, samples, presence_thr=thr,
                               aw_distance='corner', padding=1.5,
                               **options)


def test_presence_key_falls_back_to_keypoint_scores(split):
    _, gt_file, samples, _ = split
    baseline = [
        dict(s, pred_instances={
            k: v
            for k, v in s['pred_instances'].items()
            if k != 'keypoint_presence'
        }) for s in samples
    ]
    result = choose_presence_thr(baseline, gt_file, thresholds=[0.5, 0.7])
    assert result['presence_key'] == 'keypoint_scores'
    assert result['curve'][0.7] == _ex_ap(gt_file, baseline,
                                          presence_thr=0.7)


# --------------------------------------------------------------------------
# criterion='balanced_acc'
# --------------------------------------------------------------------------
def _tiny_case(tmp_path):
    """Two annotations; annotated keypoints (v, presence):
    ann 1: (2, 0.9), (1, 0.5), (3, 0.3); ann 2: (2, 0.7), (3, 0.65)."""
    def ann(ann_id, img_id, vis):
        kpts = np.zeros((K, 3))
        kpts[:, :2] = 50
        kpts[:len(vis), 2] = vis
        return dict(id=ann_id, image_id=img_id, category_id=1,
                    bbox=[40, 40, 20, 20], area=400.0, iscrowd=0,
                    num_keypoints=len(vis),
                    keypoints=kpts.ravel().tolist())

    gt = dict(images=[dict(id=i, file_name=f'{i}.jpg', width=100,
                           height=100) for i in (1, 2)],
              annotations=[ann(1, 1, [2, 1, 3]), ann(2, 2, [2, 3])],
              categories=[dict(id=1, name='person')])
    gt_file = tmp_path / 'tiny.json'
    gt_file.write_text(json.dumps(gt))
    presence = {1: [0.9, 0.5, 0.3], 2: [0.7, 0.65]}
    samples = []
    for a in gt['annotations']:
        p = np.full(K, 0.01)
        p[:len(presence[a['id']])] = presence[a['id']]
        samples.append(dict(
            id=a['id'], img_id=a['image_id'],
            pred_instances=dict(keypoints=np.full((1, K, 2), 50.0),
                                keypoint_scores=np.ones((1, K)),
                                keypoint_presence=p[None])))
    return str(gt_file), samples


def test_balanced_acc_by_hand(tmp_path):
    gt_file, samples = _tiny_case(tmp_path)
    # in: 0.9, 0.5, 0.7 (correct when >= thr); out: 0.3, 0.65 (when < thr)
    want = {0.2: (3 / 3 + 0 / 2) / 2,
            0.4: (3 / 3 + 1 / 2) / 2,
            0.6: (2 / 3 + 1 / 2) / 2,
            0.7: (2 / 3 + 2 / 2) / 2,
            0.8: (1 / 3 + 2 / 2) / 2}
    result = choose_presence_thr(samples, gt_file, 'balanced_acc',
                                 thresholds=list(want))
    assert result['criterion'] == 'balanced_acc'
    assert result['curve'].keys() == want.keys()
    np.testing.assert_allclose(list(result['curve'].values()),
                               list(want.values()), rtol=0, atol=1e-12)
    assert result['thr'] == 0.7
    assert result['value'] == pytest.approx(5 / 6, abs=1e-12)
    assert result['value@0.5'] == pytest.approx(0.75, abs=1e-12)


def test_balanced_acc_on_the_split(split):
    _, gt_file, _, dump = split
    result = choose_presence_thr(dump, gt_file, criterion='balanced_acc')
    assert result['value'] == 1.0 and result['thr'] == 0.5
    plateau = [t for t, v in result['curve'].items() if v == 1.0]
    assert plateau == [t for t in DEFAULT_THRESHOLDS if 0.35 <= t <= 0.75]
    assert result['curve'][0.95] == 0.5  # every keypoint called out


# --------------------------------------------------------------------------
# Tie-breaking and helpers
# --------------------------------------------------------------------------
def test_ties_go_to_the_threshold_closest_to_half(tmp_path):
    thrs = [0.1, 0.3, 0.45, 0.7, 0.9]
    assert pick_threshold(thrs, [0.2, 0.8, 0.8, 0.8, 0.1]) == 2  # 0.45
    assert pick_threshold([0.4, 0.6], [0.5, 0.5]) == 0  # equidistant: lower
    assert pick_threshold([0.6, 0.4], [0.5, 0.5]) == 1  # order-independent
    assert pick_threshold(thrs, [0.9, 0.8, 0.8, 0.8, 0.1]) == 0  # strict
    assert pick_threshold(thrs, [0.8, 0.8 - 1e-13, 0.1, 0.1, 0.1]) == 1
    assert pick_threshold(thrs, [np.nan, 0.1, np.nan, 0.2, 0.2]) == 3
    assert pick_threshold(thrs, [0.1] * 5, prefer=0.8) == 3  # 0.7 vs 0.9
    assert pick_threshold(thrs, [0.1] * 5, prefer=0.85) == 4
    with pytest.raises(ValueError, match='NaN'):
        pick_threshold([0.5], [np.nan])
    with pytest.raises(ValueError, match='as many'):
        pick_threshold([0.4, 0.5], [0.5])
    # end to end: 0.35, 0.4 and 0.45 all give 3/4 on the tiny case
    gt_file, samples = _tiny_case(tmp_path)
    result = choose_presence_thr(samples, gt_file, 'balanced_acc',
                                 thresholds=[0.35, 0.45, 0.4])
    assert result['thr'] == 0.45
    assert list(result['curve']) == [0.35, 0.4, 0.45]


def test_helpers():
    assert check_thresholds(None).tolist() == list(DEFAULT_THRESHOLDS)
    assert DEFAULT_THRESHOLDS[6] == 0.35 and len(DEFAULT_THRESHOLDS) == 19
    assert check_thresholds([0.5, 0.2, 0.5]).tolist() == [0.2, 0.5]
    for bad in ([], [1.5], [np.nan]):
        with pytest.raises(ValueError, match='threshold'):
            check_thresholds(bad)
    assert presence_thr_cfg_options(0.35) == [
        'test_evaluator.presence_thr=0.35',
        'test_evaluator.0.presence_thr=0.35'
    ]
    table = presence_thr_table(
        dict(criterion='ex_ap', thr=0.3, curve={0.3: 0.61, 0.7: 0.5},
             **{'value@0.5': 0.6}))
    assert '| 0.30 (chosen) | 61.00 |' in table
    assert '| 0.50 (fixed) | 60.00 |' in table


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------
def test_errors(split, tmp_path):
    gt, gt_file, samples, dump = split
    with pytest.raises(FileNotFoundError, match='prediction dump'):
        choose_presence_thr(str(tmp_path / 'nope.pkl'), gt_file)
    with pytest.raises(FileNotFoundError, match='annotation file'):
        choose_presence_thr(dump, str(tmp_path / 'nope.json'))
    empty = tmp_path / 'empty.pkl'
    empty.write_bytes(pickle.dumps([]))
    with pytest.raises(ValueError, match='empty'):
        choose_presence_thr(str(empty), gt_file)
    with pytest.raises(ValueError, match='criterion'):
        choose_presence_thr(dump, gt_file, criterion='ap')
    with pytest.raises(ValueError, match='thresholds'):
        choose_presence_thr(dump, gt_file, thresholds=[0.5, 1.2])
    with pytest.raises(ValueError, match='presence_thr'):
        choose_presence_thr(dump, gt_file,
                            metric_kwargs=dict(presence_thr=0.3))
    with pytest.raises(KeyError, match='keypoint_visible'):
        choose_presence_thr(dump, gt_file, presence_key='keypoint_visible')
    # predictions of another split: unknown image / annotation ids
    other = [dict(s, img_id=s['img_id'] + 1000, id=s['id'] + 1000)
             for s in samples]
    with pytest.raises(ValueError, match='image ids .* not in'):
        choose_presence_thr(other, gt_file)
    with pytest.raises(ValueError, match='not an annotation id'):
        choose_presence_thr(other, gt_file, criterion='balanced_acc')


def test_balanced_acc_needs_out_keypoints(tmp_path):
    gt, _ = random_case(7, num_images=3, all_in_image=True)
    gt_file = tmp_path / 'gt.json'
    gt_file.write_text(json.dumps(gt))
    samples = _with_presence(gt, (0.2, 0.3), (0.7, 0.8))
    with pytest.warns(UserWarning, match='labelled'), pytest.raises(
            ValueError, match='0 GT-out'):
        choose_presence_thr(samples, str(gt_file), 'balanced_acc')


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------
@pytest.mark.slow
def test_cli_writes_json_and_prints_cfg_options(split, tmp_path):
    _, gt_file, samples, dump = split
    out = tmp_path / 'res' / 'thr.json'
    proc = run_python([
        TOOL, dump, gt_file, '--thrs', '0.2', '0.35', '0.45', '0.9',
        '--metric-options', 'nms_mode=none', '--out', out
    ])
    # 0.35 and 0.45 both separate in/out; 0.45 is closer to 0.5
    assert '--cfg-options test_evaluator.presence_thr=0.45' in proc.stdout
    assert '--cfg-options test_evaluator.0.presence_thr=0.45' in proc.stdout
    assert '| 0.45 (chosen) |' in proc.stdout
    assert '| 0.50 (fixed) |' in proc.stdout
    assert 'Evaluating' not in proc.stdout + proc.stderr
    record = json.loads(out.read_text())
    assert record['thr'] == 0.45 and record['criterion'] == 'ex_ap'
    assert list(record['curve']) == ['0.2', '0.35', '0.45', '0.9']
    assert record['cfg_options'] == presence_thr_cfg_options(0.45)
    assert record['metric_options'] == dict(nms_mode='none')
    want = choose_presence_thr(samples, gt_file,
                               thresholds=[0.2, 0.35, 0.45, 0.9],
                               metric_kwargs=dict(nms_mode='none'))
    assert record['value'] == want['value']
    assert record['value@0.5'] == want['value@0.5']

    missing = run_python([TOOL, tmp_path / 'nope.pkl', gt_file],
                         check=False)
    assert missing.returncode == 1
    assert 'nope.pkl: prediction dump not found' in missing.stderr
