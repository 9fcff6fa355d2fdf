"""In/out accuracy vs threshold: curves, summary, dump loading and the CLI."""
import json
import pickle

import cv2
import numpy as np
import pytest
import torch

from probpose_ext.analysis.inout import (accuracy_curves, default_thresholds,
                                        error_reduction, gt_labels_out,
                                        inout_table, load_inout, plot_inout,
                                        summarize_inout)
from tests.conftest import REPO, run_python

# Hand-computed example (see test_summary_on_hand_computed_example):
# 3 GT-in keypoints then 2 GT-out keypoints.
HAND_LABELS = np.array([False, False, False, True, True])
HAND_A = np.array([0.9, 0.6, 0.4, 0.3, 0.7])
HAND_B = np.array([0.55, 0.45, 0.45, 0.48, 0.5])


def _brute_force(labels_out, scores, thresholds):
    acc, bal = [], []
    for thr in thresholds:
        pred_in = [s >= thr for s in scores]
        correct = [p != o for p, o in zip(pred_in, labels_out)]
        rec_in = [c for c, o in zip(correct, labels_out) if not o]
        rec_out = [c for c, o in zip(correct, labels_out) if o]
        acc.append(sum(correct) / len(correct))
        bal.append(0.5 * (sum(rec_in) / len(rec_in) +
                          sum(rec_out) / len(rec_out)))
    return np.array(acc), np.array(bal)


def test_default_thresholds():
    grid = default_thresholds()
    assert grid.shape == (101, )
    assert grid[0] == 0.0 and grid[-1] == 1.0
    assert grid[29] == 0.29 and grid[50] == 0.5  # exact decimals
    np.testing.assert_allclose(default_thresholds(0.25), [0, .25, .5, .75, 1])
    np.testing.assert_allclose(default_thresholds(0.3), [0, .3, .6, .9, 1])
    with pytest.raises(ValueError, match='step'):
        default_thresholds(0)


@pytest.mark.parametrize('seed', [0, 1])
def test_curves_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    labels = rng.random(400) < 0.3
    # scores on the 0.01 grid, so many ties fall exactly on thresholds
    scores = np.round(
        np.clip(rng.normal(np.where(labels, 0.35, 0.6), 0.2), 0, 1), 2)
    thresholds = default_thresholds()
    curves = accuracy_curves(labels, scores, thresholds)
    acc, bal = _brute_force(labels.tolist(), scores.tolist(), thresholds)
    np.testing.assert_allclose(curves['acc'], acc, rtol=0, atol=1e-12)
    np.testing.assert_allclose(curves['balanced_acc'], bal, rtol=0,
                               atol=1e-12)
    assert curves['n_in'] == (~labels).sum()
    assert curves['n_out'] == labels.sum()
    # arbitrary unsorted thresholds too
    thr = rng.random(17)
    acc, bal = _brute_force(labels.tolist(), scores.tolist(), thr)
    curves = accuracy_curves(labels, scores, thr)
    np.testing.assert_allclose(curves['acc'], acc, atol=1e-12)
    np.testing.assert_allclose(curves['balanced_acc'], bal, atol=1e-12)


def test_perfect_and_constant_scorers():
    labels = np.array([False] * 6 + [True] * 4)
    perfect = np.where(labels, 0.2, np.linspace(0.7, 1.0, 10))
    curves = accuracy_curves(labels, perfect)
    assert curves['balanced_acc'].max() == 1.0
    assert curves['acc'].max() == 1.0
    # every threshold in (0.2, 0.7] separates the classes
    sep = (curves['thresholds'] > 0.2) & (curves['thresholds'] <= 0.7)
    assert (curves['balanced_acc'][sep] == 1.0).all()
    assert (curves['balanced_acc'][~sep] < 1.0).all()

    constant = np.full(10, 0.6)
    curves = accuracy_curves(labels, constant)
    np.testing.assert_array_equal(curves['balanced_acc'], 0.5)
    below = curves['thresholds'] <= 0.6  # everything predicted in
    np.testing.assert_allclose(curves['acc'][below], 0.6)
    np.testing.assert_allclose(curves['acc'][~below], 0.4)


def test_single_class_and_errors():
    curves = accuracy_curves(np.zeros(4, bool), [0.1, 0.4, 0.6, 0.9],
                             [0.0, 0.5, 1.0])
    np.testing.assert_allclose(curves['balanced_acc'], [1.0, 0.5, 0.0])
    assert np.isnan(curves['recall_out']).all()
    with pytest.raises(ValueError, match='size'):
        accuracy_curves(np.zeros(3, bool), np.zeros(4))
    with pytest.raises(ValueError, match='no annotated'):
        accuracy_curves(np.zeros(0, bool), np.zeros(0))
    with pytest.raises(ValueError, match='NaN'):
        accuracy_curves(np.zeros(2, bool), [0.5, np.nan])


def test_summary_on_hand_computed_example():
    curves = dict(A=accuracy_curves(HAND_LABELS, HAND_A),
                  B=accuracy_curves(HAND_LABELS, HAND_B))
    summary = summarize_inout(curves)
    a, b = summary['models']['A'], summary['models']['B']
    assert (a['n'], a['n_in'], a['n_out']) == (5, 3, 2)
    # thr 0.5 -- A: in 2/3, out 1/2 correct; B: in 1/3, out 1/2 (0.5 >= thr)
    assert a['acc@0.5'] == pytest.approx(3 / 5)
    assert a['balanced_acc@0.5'] == pytest.approx(7 / 12)
    assert b['acc@0.5'] == pytest.approx(2 / 5)
    assert b['balanced_acc@0.5'] == pytest.approx(5 / 12)
    # A is best on (0.3, 0.4]: in 3/3, out 1/2; the lowest grid point wins
    assert a['best_acc'] == pytest.approx(4 / 5)
    assert a['best_acc@thr'] == pytest.approx(0.31)
    assert a['best_balanced_acc'] == pytest.approx(3 / 4)
    assert a['best_balanced_acc@thr'] == pytest.approx(0.31)
    # B: acc 3/5 for thr <= 0.45 (first: 0.0); balanced 2/3 on (0.5, 0.55]
    assert b['best_acc'] == pytest.approx(3 / 5)
    assert b['best_acc@thr'] == 0.0
    assert b['best_balanced_acc'] == pytest.approx(2 / 3)
    assert b['best_balanced_acc@thr'] == pytest.approx(0.51)
    assert summary['reference'] == 'A'
    red = summary['error_reduction']['A vs B']
    assert red['acc@0.5'] == pytest.approx(1 - (2 / 5) / (3 / 5))
    assert red['balanced_acc@0.5'] == pytest.approx(1 - (5 / 12) / (7 / 12))
    assert red['best_acc'] == pytest.approx(1 - 0.2 / 0.4)
    assert red['best_balanced_acc'] == pytest.approx(1 - 0.25 / (1 / 3))

    table = inout_table(summary)
    assert '| A | 3 / 2 | 60.00 | 58.33 | 80.00 (0.31) | 75.00 (0.31) |' \
        in table
    assert '| A vs B | 33.33 | 28.57 | 50.00 | 25.00 |' in table
    assert 'best on this evaluation set' in table

    other = summarize_inout(curves, reference='B')
    assert other['error_reduction']['B vs A']['best_acc'] == pytest.approx(
        1 - 0.4 / 0.2)
    with pytest.raises(ValueError, match='grid'):
        summarize_inout(curves, thr=0.505)


def test_error_reduction_edge_cases():
    assert error_reduction(0.9, 0.8) == pytest.approx(0.5)
    assert error_reduction(0.7, 0.8) == pytest.approx(-0.5)
    assert error_reduction(1.0, 1.0) == 0.0
    assert error_reduction(0.9, 1.0) == -np.inf


def test_plot(tmp_path):
    curves = dict(A=accuracy_curves(HAND_LABELS, HAND_A),
                  B=accuracy_curves(HAND_LABELS, HAND_B))
    path = tmp_path / 'sub' / 'inout.png'
    plot_inout(curves, path)
    image = cv2.imread(str(path))
    assert image is not None and image.shape[0] > 100 and image.shape[1] > 200


# --------------------------------------------------------------------------
# Dumps
# --------------------------------------------------------------------------
def _ann(ann_id, xyv, bbox=(0., 0., 30., 40.), pad=None):
    ann = dict(id=ann_id, image_id=1, category_id=1, bbox=list(bbox),
               area=bbox[2] * bbox[3], iscrowd=0,
               keypoints=[float(c) for p in xyv for c in p],
               num_keypoints=sum(p[2] > 0 for p in xyv))
    if pad is not None:
        ann['pad_to_contain'] = pad
    return ann


def _sample(ann, scores, tensors=False, raw=True, box=None):
    """A dict like ``PoseDataSample.to_dict()`` as DumpResults writes it."""
    array = torch.tensor if tensors else np.array
    pred = {key: array([value], dtype=torch.float32 if tensors else None)
            for key, value in scores.items()}
    pred['keypoints'] = array(np.zeros((1, len(ann['keypoints']) // 3, 2)))
    x, y, w, h = ann['bbox'] if box is None else box
    return dict(
        id=ann['id'], img_id=1, ori_shape=(200, 200), input_size=(96, 128),
        raw_ann_info=ann if raw else None,
        gt_instances=dict(bboxes=np.array([[x, y, x + w, y + h]])),
        pred_instances=pred)


# annotation 1 (NumPy): v = 2, 0 (skipped), 3, 1 -> out = F, T, F
ANN1 = _ann(1, [(15, 20, 2), (0, 0, 0), (40, 20, 3), (10, 10, 1)])
PRES1 = [0.9, 0.1, 0.2, 0.7]
SCORE1 = [0.5, 0.4, 0.3, 0.2]
# annotation 2 (torch): pad_to_contain overrides v (padding 1.25):
# 1.0 in; v=3 but 1.1 -> in; v=1 but 1.3 -> out; None -> v=2 -> in
ANN2 = _ann(2, [(15, 20, 2), (16, 21, 3), (15, -6, 1), (-3, 44, 2)],
            pad=[1.0, 1.1, 1.3, None])
PRES2 = [0.8, 0.6, 0.05, 0.4]
SCORE2 = [0.1, 0.2, 0.3, 0.4]


def _dump(tmp_path, name='pred.pkl', presence=True, raw=True):
    samples = []
    for i, (ann, pres, score) in enumerate([(ANN1, PRES1, SCORE1),
                                            (ANN2, PRES2, SCORE2)]):
        scores = dict(keypoint_scores=score, keypoints_visible=pres)
        if presence:
            scores['keypoint_presence'] = pres
        samples.append(_sample(ann, scores, tensors=i == 1, raw=raw))
    path = tmp_path / name
    with open(path, 'wb') as f:
        pickle.dump(samples, f)
    return path


def _ann_file(tmp_path, anns=(ANN1, ANN2)):
    path = tmp_path / 'ann.json'
    path.write_text(json.dumps(dict(
        images=[dict(id=1, width=200, height=200, file_name='a.jpg')],
        annotations=list(anns), categories=[dict(id=1, name='person')])))
    return path


def test_load_inout_hand_made_dump(tmp_path):
    path = _dump(tmp_path)
    labels, scores, meta = load_inout(path, return_meta=True)
    np.testing.assert_array_equal(
        labels, [False, True, False, False, False, True, False])
    np.testing.assert_allclose(scores, [0.9, 0.2, 0.7, 0.8, 0.6, 0.05, 0.4],
                               rtol=1e-6)
    assert scores.dtype == np.float64
    assert meta['score_key'] == 'keypoint_presence'
    assert meta['num_instances'] == 2
    np.testing.assert_array_equal(
        meta['keys'], [[1, 0], [1, 2], [1, 3], [2, 0], [2, 1], [2, 2], [2, 3]])

    # the same list in memory; another score field
    with open(path, 'rb') as f:
        samples = pickle.load(f)
    labels2, scores2 = load_inout(samples, score_key='keypoint_scores')
    np.testing.assert_array_equal(labels2, labels)
    np.testing.assert_allclose(scores2, [0.5, 0.3, 0.2, 0.1, 0.2, 0.3, 0.4],
                               rtol=1e-6)
    # a larger padding contains the keypoint with pad_to_contain 1.3
    labels3, _ = load_inout(path, padding=1.35)
    assert labels3.tolist() == [False, True, False] + [False] * 4
    # v alone: annotation 2's v=3 is out, its pad_to_contain ignored
    labels4, _ = load_inout(path, label_source='visibility')
    assert labels4.tolist() == [False, True, False, False, True, False, False]
    # geometry: AW of bbox (0, 0, 30, 40) at 0.75 and 1.25 is
    # [-3.75, 33.75] x [-5, 45]
    labels5, _ = load_inout(path, label_source='geometry')
    assert labels5.tolist() == [False, True, False, False, False, True, False]
    labels6, _ = load_inout(path, label_source='geometry', aspect_ratio=None)
    np.testing.assert_array_equal(labels6, labels5)  # 96 / 128 = 0.75
    with pytest.raises(ValueError, match='pad_to_contain'):
        load_inout(path, label_source='pad_to_contain')
    with pytest.raises(ValueError, match='label_source'):
        load_inout(path, label_source='nope')

    # a heatmap baseline (no presence): 'auto' takes keypoint_scores
    baseline = _dump(tmp_path, 'baseline.pkl', presence=False)
    _, scores7, meta7 = load_inout(baseline, return_meta=True)
    assert meta7['score_key'] == 'keypoint_scores'
    np.testing.assert_allclose(scores7, scores2, rtol=1e-6)
    with pytest.raises(KeyError, match='keypoint_presence'):
        load_inout(baseline, score_key='keypoint_presence')


def test_gt_labels_out_matches_visibility_when_consistent():
    # visibility written from the geometry gives the same labels
    rng = np.random.default_rng(0)
    kpts = rng.uniform(-40, 80, (5, 6, 2))
    boxes = np.tile([0., 0., 30., 40.], (5, 1))
    out_geo, _ = gt_labels_out(kpts, np.ones((5, 6)), boxes,
                               np.full((5, 6), np.nan), 'geometry')
    vis = np.where(out_geo, 3, 2)
    out_vis, annotated = gt_labels_out(kpts, vis, boxes,
                                       np.full((5, 6), np.nan), 'auto')
    np.testing.assert_array_equal(out_vis, out_geo)
    assert annotated.all() and 0 < out_geo.sum() < out_geo.size


def test_load_inout_from_ann_file_and_errors(tmp_path):
    path = _dump(tmp_path, raw=False)
    with pytest.raises(ValueError, match='raw_ann_info'):
        load_inout(path)
    ann_file = _ann_file(tmp_path)
    labels, scores = load_inout(path, ann_file=ann_file)
    ref_labels, ref_scores = load_inout(_dump(tmp_path, 'raw.pkl'))
    np.testing.assert_array_equal(labels, ref_labels)
    np.testing.assert_allclose(scores, ref_scores)

    # detector boxes: unknown ids, or an id whose annotation has another box
    with pytest.raises(ValueError, match='detector'):
        load_inout(path, ann_file=_ann_file(tmp_path, [ANN1]))
    det = [_sample(ANN1, dict(keypoint_scores=SCORE1), raw=False,
                   box=(100., 120., 30., 40.))]
    with pytest.raises(ValueError, match='detector'):
        load_inout(det, ann_file=ann_file)
    # several instances per sample (bottom-up) are rejected
    multi = [_sample(ANN1, dict(keypoint_scores=SCORE1))]
    multi[0]['pred_instances']['keypoint_scores'] = np.array([SCORE1] * 2)
    with pytest.raises(ValueError, match='top-down'):
        load_inout(multi)
    with pytest.raises(ValueError, match='empty'):
        load_inout([])


@pytest.mark.slow
def test_cli_writes_png_md_json(tmp_path):
    dump_a = _dump(tmp_path, 'a.pkl')
    dump_b = _dump(tmp_path, 'b.pkl', presence=False, raw=False)
    out = tmp_path / 'out'
    proc = run_python([
        REPO / 'tools' / 'analysis_tools' / 'inout_accuracy.py', '--dump',
        dump_a, dump_b, '--names', 'ProbPose', 'baseline', '--ann-file',
        _ann_file(tmp_path), '--out-dir', out
    ])
    image = cv2.imread(str(out / 'inout.png'))
    assert image is not None and image.ndim == 3
    result = json.loads((out / 'inout.json').read_text())
    table = (out / 'inout.md').read_text()
    assert table in proc.stdout

    labels = np.array([False, True, False, False, False, True, False])
    expected = summarize_inout(dict(
        ProbPose=accuracy_curves(labels, [0.9, 0.2, 0.7, 0.8, 0.6, 0.05,
                                          0.4]),
        baseline=accuracy_curves(labels, [0.5, 0.3, 0.2, 0.1, 0.2, 0.3,
                                          0.4])))
    summary = result['summary']
    assert summary['reference'] == 'ProbPose'
    for name in ('ProbPose', 'baseline'):
        for key, value in expected['models'][name].items():
            assert summary['models'][name][key] == pytest.approx(value), key
    pair = expected['error_reduction']['ProbPose vs baseline']
    for key, value in pair.items():
        got = summary['error_reduction']['ProbPose vs baseline'][key]
        assert got == pytest.approx(value), key
    # ProbPose at 0.5: 6/7 correct; baseline: 3/7 (in: 0.5 only; out: 2/2)
    assert summary['models']['ProbPose']['acc@0.5'] == pytest.approx(6 / 7)
    assert summary['models']['baseline']['acc@0.5'] == pytest.approx(3 / 7)
    assert result['models']['ProbPose']['score_key'] == 'keypoint_presence'
    assert result['models']['baseline']['score_key'] == 'keypoint_scores'
    assert len(result['curves']['baseline']['acc']) == 101
    assert '| ProbPose vs baseline |' in table
    assert 'WARNING' not in proc.stdout
