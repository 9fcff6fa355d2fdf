"""ExCocoMetric: built from configs, same behaviour as MMPose's CocoMetric,
Ex-OKS numbers equal to ExCOCOeval on its own result file."""
import json

import numpy as np
import pytest
from mmpose.evaluation.metrics import CocoMetric
from mmpose.registry import METRICS

from probpose_ext.evaluation import ExCocoMetric
from probpose_ext.evaluation.functional import KEYPOINT_STATS
from probpose_ext.utils.metainfo import load_metainfo

from ._coco_cases import (K, SIGMAS, load_coco, random_case, write_case,
                          xtcocotools_stats)
from .test_ex_cocoeval import ours

# as a dataset's meta: MMPose's COCO datasets add the GT categories. A
# unique dataset name: a metric without ann_file otherwise loads the
# annotation file that the last dataset named 'coco' registered in
# MMEngine's MessageHub (MMPose's behaviour), e.g. one of another test
META = dict(load_metainfo(), CLASSES=[dict(id=1, name='person')],
            dataset_name='ex_coco_metric_test')


def _samples(gt: dict, seed: int = 0, presence_field='keypoint_presence',
             raw_ann_info=False):
    """One top-down data sample per GT annotation: noisy keypoints, random
    scores and a presence that is mostly right about v=3."""
    rng = np.random.default_rng(seed)
    images = {img['id']: img for img in gt['images']}
    samples = []
    for ann in gt['annotations']:
        kpts = np.asarray(ann['keypoints'], dtype=float).reshape(K, 3)
        pred = kpts[:, :2] + rng.normal(0, 4, (K, 2))
        presence = np.clip(
            np.where(kpts[:, 2] == 3, 0.2, 0.8) + rng.normal(0, 0.25, K),
            0.01, 1)
        pred_instances = dict(
            keypoints=pred[None], keypoint_scores=rng.uniform(0.3, 1,
                                                              (1, K)))
        if presence_field:
            pred_instances[presence_field] = presence[None]
        img = images[ann['image_id']]
        sample = dict(id=ann['id'], img_id=ann['image_id'], category_id=1,
                      ori_shape=(img['height'], img['width']),
                      gt_instances=dict(bbox_scores=np.ones(1)),
                      pred_instances=pred_instances)
        if raw_ann_info:
            sample['raw_ann_info'] = ann
        samples.append(sample)
    return samples


def _evaluate(metric, samples, batch=4):
    metric.dataset_meta = META
    for i in range(0, len(samples), batch):
        metric.process([], samples[i:i + batch])
    return metric.evaluate(len(samples))


@pytest.fixture
def case(tmp_path):
    gt, _ = random_case(20)
    gt_file = tmp_path / 'gt.json'
    gt_file.write_text(json.dumps(gt))
    return gt, str(gt_file)


def test_built_from_config_and_reports_all_names(case, tmp_path):
    gt, gt_file = case
    metric = METRICS.build(
        dict(type='ExCocoMetric', ann_file=gt_file,
             outfile_prefix=str(tmp_path / 'out')))
    assert isinstance(metric, ExCocoMetric)
    assert isinstance(metric, CocoMetric)
    result = _evaluate(metric, _samples(gt))
    names = [k.split('/', 1)[1] for k in result]
    assert all(k.startswith('coco/') for k in result)
    assert names[:10] == list(KEYPOINT_STATS)
    assert names[10:12] == ['AP (v=1)', 'AP (v=2)']
    assert names[12:22] == ['Ex_' + n for n in KEYPOINT_STATS]
    assert names[22:] == ['Ex_AP (v=1)', 'Ex_AP (v=2)', 'Ex_AP (v=3)']
    # the result file carries the presence; Ex numbers are those of
    # ExCOCOeval on that file, the standard ones those of xtcocotools when
    # v=3 keypoints are treated as unannotated
    res_file = tmp_path / 'out.keypoints.json'
    results = json.loads(res_file.read_text())
    assert len(results) == len(gt['annotations'])
    assert all(len(r['presence']) == K for r in results)
    want = ours(gt_file, str(res_file))
    assert {k: result['coco/' + k] for k in want} == want


def test_standard_metrics_equal_cocometric(tmp_path):
    gt, _ = random_case(21, all_in_image=True)
    gt_file = tmp_path / 'gt.json'
    gt_file.write_text(json.dumps(gt))
    samples = _samples(gt, seed=1)
    ours_result = _evaluate(
        ExCocoMetric(ann_file=str(gt_file),
                     outfile_prefix=str(tmp_path / 'ex')), samples)
    theirs = _evaluate(
        CocoMetric(ann_file=str(gt_file),
                   outfile_prefix=str(tmp_path / 'std')), samples)
    for key, value in theirs.items():
        assert ours_result[key] == value, key
    # and both equal xtcocotools on MMPose's result file
    want = xtcocotools_stats(str(gt_file), str(tmp_path / 'std.keypoints.json'))
    np.testing.assert_array_equal(
        [ours_result['coco/' + k] for k in KEYPOINT_STATS], want)


def test_presence_key_auto_falls_back_to_scores(case, tmp_path):
    gt, gt_file = case
    samples = _samples(gt, presence_field=None)
    result = _evaluate(
        ExCocoMetric(ann_file=gt_file, outfile_prefix=str(tmp_path / 'a')),
        samples)
    written = json.loads((tmp_path / 'a.keypoints.json').read_text())
    by_ann = {s['id']: s['pred_instances']['keypoint_scores'][0]
              for s in samples}
    assert sorted(tuple(r['presence']) for r in written) == sorted(
        tuple(v) for v in by_ann.values())
    assert 0 < result['coco/Ex_AP'] < 1
    with pytest.raises(KeyError, match='keypoint_presence'):
        _evaluate(ExCocoMetric(ann_file=gt_file,
                               presence_key='keypoint_presence'), samples)


def test_raw_ann_info_keeps_pad_to_contain(tmp_path):
    gt, _ = random_case(22)
    for ann in gt['annotations']:
        vis = np.asarray(ann['keypoints'][2::3])
        # every v=3 keypoint needs padding 2: at padding 2.5 all are in
        ann['pad_to_contain'] = np.where(vis == 3, 2.0, 0.5).tolist()
    samples = _samples(gt, raw_ann_info=True)
    narrow = _evaluate(ExCocoMetric(), samples)
    assert 'coco/Ex_AP (v=3)' in narrow
    wide = _evaluate(ExCocoMetric(padding=2.5), samples)
    assert 'coco/Ex_AP (v=3)' not in wide
    gt_file = tmp_path / 'gt.json'
    gt_file.write_text(json.dumps(gt))
    assert wide == _evaluate(ExCocoMetric(ann_file=str(gt_file),
                                          padding=2.5), samples)


def test_oracle_threshold_is_reported_under_its_own_name(case):
    gt, gt_file = case
    samples = _samples(gt)
    thrs = [0.1, 0.3, 0.5, 0.7, 0.9]
    result = _evaluate(ExCocoMetric(ann_file=gt_file, oracle_thrs=thrs),
                       samples)
    assert result['coco/oracle_thr'] in thrs
    assert result['coco/Ex_AP@oracle_thr'] >= result['coco/Ex_AP']
    fixed = _evaluate(
        ExCocoMetric(ann_file=gt_file, presence_thr=result['coco/oracle_thr'],
                     per_visibility=False), samples)
    assert fixed['coco/Ex_AP'] == result['coco/Ex_AP@oracle_thr']
    assert 'coco/AP (v=1)' not in fixed


def test_format_only_writes_presence(case, tmp_path):
    gt, gt_file = case
    metric = ExCocoMetric(ann_file=gt_file, format_only=True,
                          outfile_prefix=str(tmp_path / 'fmt'))
    assert _evaluate(metric, _samples(gt)) == {}
    written = json.loads((tmp_path / 'fmt.keypoints.json').read_text())
    assert all(len(r['presence']) == K for r in written)
    g, d = load_coco(gt_file, str(tmp_path / 'fmt.keypoints.json'))
    assert len(d.anns) == len(gt['annotations'])


@pytest.mark.parametrize('kwargs, match', [
    (dict(iou_type='keypoints_crowd'), 'iou_type'),
    (dict(presence_thr=-0.1), 'presence_thr'),
    (dict(padding=0.5), 'padding'),
    (dict(aspect_ratio=0), 'aspect_ratio'),
    (dict(aw_distance='nearest'), 'aw_distance'),
    (dict(oracle_thrs=[0.5, 2]), 'oracle_thrs'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        METRICS.build(dict(type='ExCocoMetric', **kwargs))


def test_misspelt_argument_is_refused():
    with pytest.raises(TypeError, match='presense_thr'):
        METRICS.build(dict(type='ExCocoMetric', presense_thr=0.5))


@pytest.mark.slow
def test_two_process_evaluation_equals_single_process(case, tmp_path):
    """Results are gathered across ranks (gloo, CPU) before evaluation."""
    import pickle

    from ..conftest import REPO, run_python
    gt, gt_file = case
    samples = _samples(gt, seed=3)
    samples_file = tmp_path / 'samples.pkl'
    samples_file.write_bytes(pickle.dumps((META, samples)))
    out = tmp_path / 'dist.json'
    run_python([
        '-m', 'torch.distributed.run', '--nproc_per_node=2',
        '--master_port=29517',
        REPO / 'tests' / 'evaluation' / '_dist_eval.py', gt_file,
        samples_file, out
    ], timeout=300)
    got = json.loads(out.read_text())
    assert got['world'] == 2
    single = _evaluate(ExCocoMetric(ann_file=gt_file), samples)
    assert got['metrics'] == single
    assert 0 < single['coco/Ex_AP'] < 1
