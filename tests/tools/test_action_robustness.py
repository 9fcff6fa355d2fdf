"""tools/analysis_tools/action_robustness.py --quick end to end, with
known answers across its stages."""
import json
import os.path as osp

import numpy as np
import pytest

from tests.conftest import REPO, cell_mtimes, load_tool

pytestmark = pytest.mark.slow

tool = load_tool(REPO / 'tools' / 'analysis_tools' / 'action_robustness.py')


@pytest.fixture(scope='module')
def quick(tmp_path_factory):
    work = str(tmp_path_factory.mktemp('action'))
    results = tool.main(['--quick', '--work-dir', work, '--no-progress'])
    return work, results


def test_quick_study_writes_every_result(quick):
    work, results = quick
    for name in ('action_robustness.md', 'noise.png', 'keypoint.png',
                 'results.json'):
        assert osp.isfile(osp.join(work, 'results', name)), name
    saved = json.load(open(osp.join(work, 'results', 'results.json')))
    assert len(saved['noise']) == 3 * 2  # models x stds
    assert [r['model'] for r in saved['clean']] == [
        '3D ST-GCN', '2D ST-GCN', '2D ST-GCN + score']
    # 2D models x corruptions x (clean + severities)
    assert len(saved['keypoint']) == 2 * 2 * (1 + 2)
    assert [(r['model'], r['source']) for r in saved['zoo']] == [
        ('2D ST-GCN', 'ground truth'), ('2D ST-GCN', 'heatmap'),
        ('2D ST-GCN + score', 'ground truth'),
        ('2D ST-GCN + score', 'heatmap')]
    text = open(osp.join(work, 'results', 'action_robustness.md')).read()
    assert 'SkateFormer, NTU-60 X-Sub (seed report) | 0.920' in text
    # the 3D recogniser learnt something in 8 epochs (chance: 1/12)
    clean3d = [r for r in saved['noise']
               if r['model'] == '3D ST-GCN' and r['std'] == 0][0]
    assert clean3d['top1'] > 0.3
    assert 0.0 <= saved['zoo'][1]['AP'] <= 1.0


def test_quick_study_stages_agree(quick):
    """Zero noise, severity 0 and the keypoint stage's clean run are the
    same evaluation; the ground-truth 2D source of the rendered clips gives
    the recogniser exactly the frames it reads from the data set (its
    test-mode sampling), so the same top-1 as the data set's clips."""
    work, results = quick
    clean = {r['model']: r['top1'] for r in results['noise']
             if r['std'] == 0}
    assert clean == {r['model']: r['top1'] for r in results['clean']}
    for r in results['keypoint']:
        if r['severity'] == 0:
            assert r['top1'] == clean[r['model']]
    from probpose_ext.apis.inprocess import InProcessTester
    from probpose_ext.datasets.skeleton_action_dataset import \
        load_skeleton_annotations
    model = results['models']['2D ST-GCN']
    gt = osp.join(work, 'sources', 'gt.pkl')
    clips = load_skeleton_annotations(gt)['annotations']
    names = [a['frame_dir'] for a in clips]
    tester = InProcessTester(model['config'], model['checkpoint'])
    val = load_skeleton_annotations(
        osp.join(work, 'data', 'synthactions_2d.pkl'),
        'xsub_val')['annotations']
    indices = [i for i, a in enumerate(val) if a['frame_dir'] in names]
    assert len(indices) == len(names) == 6
    metrics, _ = tester.run(tester.dataset_config(indices=indices),
                            keep=False)
    zoo_gt = results['zoo'][0]
    assert zoo_gt['source'] == 'ground truth'
    assert metrics['acc/top1'] == pytest.approx(zoo_gt['top1'])
    assert metrics['acc/top5'] == pytest.approx(zoo_gt['top5'])
    # the heatmap model's keypoints are close to the truth in pixels
    from probpose_ext.datasets.skeleton_action_dataset import \
        load_skeleton_annotations as load
    det = load(osp.join(work, 'sources', 'heatmap.pkl'))['annotations']
    err = np.concatenate([
        np.linalg.norm(d['keypoint'] - g['keypoint'], axis=-1).ravel()
        for d, g in zip(det, clips)])
    assert np.median(err) < 30  # px of the 1920x1080 camera


def test_quick_study_resumes_without_recomputing(quick):
    work, _ = quick
    before = cell_mtimes(work)
    tool.main(['--quick', '--work-dir', work, '--no-progress'])
    assert cell_mtimes(work) == before


def test_published_recognizer_gives_the_study_accuracy(quick, tmp_path):
    """Publishing into a zoo root writes weights that reproduce the clean
    accuracy, and an entry naming the repository config."""
    import shutil

    import yaml

    from probpose_ext.apis.action_robustness import publish_recognizers
    from probpose_ext.apis.inprocess import InProcessTester
    from probpose_ext.apis.zoo import resolve
    _, results = quick
    root = tmp_path / 'zoo'
    shutil.copytree(REPO / 'configs', root / 'configs')
    entries = publish_recognizers(results, root=str(root))
    assert [e['Name'] for e in entries] == ['synthactions-stgcn-3d',
                                            'synthactions-stgcn-2d']
    index = yaml.safe_load(open(root / 'configs' / 'synthactions' /
                                'metafile.yml'))
    clean = {r['model']: r for r in results['clean']}
    entry = [m for m in index['Models']
             if m['Name'] == 'synthactions-stgcn-2d'][0]
    assert entry['Results'][0]['Metrics']['Top 1 Accuracy'] == \
        pytest.approx(clean['2D ST-GCN']['top1'], abs=1e-4)
    config, weights = resolve('synthactions-stgcn-2d', root=str(root))
    tester = InProcessTester(results['models']['2D ST-GCN']['config'],
                             weights)
    metrics, _ = tester.run(tester.dataset_config(), keep=False)
    assert metrics['acc/top1'] == pytest.approx(clean['2D ST-GCN']['top1'])
