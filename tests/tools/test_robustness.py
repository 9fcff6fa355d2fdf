"""tools/analysis_tools/robustness.py --quick end to end, and
robustness_matrix.py on a tiny case with known answers."""
import json
import os
import os.path as osp

import numpy as np
import pytest

from probpose_ext.apis import cli
from probpose_ext.datasets.h36m_npz import load_h36m_npz
from probpose_ext.datasets.keypoint_sources import gt_source, write_source
from tests.conftest import REPO, cell_mtimes, load_tool

pytestmark = pytest.mark.slow

chain_tool = load_tool(REPO / 'tools' / 'analysis_tools' / 'robustness.py')
matrix_tool = load_tool(REPO / 'tools' / 'analysis_tools' /
                        'robustness_matrix.py')


@pytest.fixture(scope='module')
def quick(tmp_path_factory):
    work = str(tmp_path_factory.mktemp('robustness'))
    results = chain_tool.main(['--quick', '--work-dir', work,
                               '--no-progress'])
    return work, results


def test_quick_chain_writes_every_result(quick):
    work, results = quick
    for name in ('matrix.md', 'matrix.png', 'image.md', 'video.md',
                 'video.png', 'keypoint.md', 'keypoint.png',
                 'results.json'):
        assert osp.isfile(osp.join(work, 'results', name)), name
    saved = json.load(open(osp.join(work, 'results', 'results.json')))
    assert len(saved['matrix']) == 3 * 4  # rows x (gt, noise5, 2 models)
    # 2 models x data sets x (2 corruptions x (clean + 2 severities)); the
    # SynthPose val subset only where SynthPose was generated (make demo)
    sets = {r['data'] for r in saved['image']}
    synthpose = (REPO / 'data' / 'synthpose' / 'annotations' /
                 'person_keypoints_val.json').is_file()
    assert sets == ({'frames', 'SynthPose val'} if synthpose else {'frames'})
    assert len(saved['image']) == 2 * len(sets) * 2 * 3
    assert all(np.isfinite(r['P1']) for r in saved['matrix'])


def test_quick_chain_stages_agree_with_each_other(quick):
    """Known answers across stages: the video level's clean run is the
    sources stage's test run (same model, frames, no corruption), and the
    keypoint level's clean run is the matrix's GT cell of the same
    lifter."""
    _, results = quick
    for model in ('heatmap', 'tic'):
        clean = [r for r in results['video']
                 if r['model'] == model and r['severity'] == 0]
        assert clean and all(r['AP'] == pytest.approx(
            results['sources'][f'{model}/test']['AP']) for r in clean)
    matrix = {(r['row'], r['source']): r for r in results['matrix']}
    for r in results['keypoint']:
        if r['severity'] == 0 and r['lifter'] == 'TCN-27 gt':
            assert r['P1'] == pytest.approx(matrix['TCN-27 gt', 'gt']['P1'],
                                            rel=1e-6)
    # severity 0 is one clean run shared by every corruption's curve
    for stage, key in (('image', 'AP'), ('keypoint', 'P1')):
        clean = {}
        for r in results[stage]:
            if r['severity'] == 0:
                group = (r.get('model'), r.get('data'), r.get('lifter'))
                clean.setdefault(group, set()).add(r[key])
        assert all(len(v) == 1 for v in clean.values())


def test_quick_chain_resumes_without_recomputing(quick):
    work, results = quick
    before = cell_mtimes(work)
    again = chain_tool.main(['--quick', '--work-dir', work, '--no-progress',
                             '--stages', 'frames', 'sources', 'matrix',
                             'keypoint'])
    assert cell_mtimes(work) == before
    assert again['matrix'] == results['matrix']
    assert again['keypoint'] == results['keypoint']


def test_matrix_tool_known_answers(quick, tmp_path):
    """A source identical to the ground truth gives the GT column and the
    GT row exactly (training is deterministic); a cell equals tools/test.py
    on the row's checkpoint."""
    work, _ = quick
    frames = osp.join(work, 'frames')
    sources = tmp_path / 'sources'
    npz_dir = osp.join(frames, 'annotation_body3d')
    fps = [d for d in os.listdir(npz_dir) if d.startswith('fps')][0]
    for split in ('train', 'test'):
        ann = load_h36m_npz(osp.join(npz_dir, fps,
                                     f'synthmotion_video_{split}.npz'))
        kpts, scores = gt_source(ann)
        write_source(str(sources / f'copy_{split}'), kpts, scores)
        write_source(str(sources / f'shift_{split}'), kpts + 30.0, scores)
    out = matrix_tool.main([
        '--train', 'gt', 'copy', '--eval', 'gt', 'copy', 'shift',
        '--lifter', 'tcn1', '--epochs', '1', '--sources-dir', str(sources),
        '--work-dir', str(tmp_path / 'w'), '--frames-root', frames,
        '--no-progress'
    ])
    cells = {(r['row'], r['source']): r for r in out['matrix']}
    for row in ('tcn1 gt', 'tcn1 copy'):
        assert cells[row, 'copy']['P1'] == cells[row, 'gt']['P1']
        assert cells[row, 'shift']['P1'] != cells[row, 'gt']['P1']
    for source in ('gt', 'copy', 'shift'):
        assert cells['tcn1 copy', source]['P1'] == pytest.approx(
            cells['tcn1 gt', source]['P1'], rel=1e-6)
    run = tmp_path / 'w' / 'lifters' / 'tcn1_gt'
    metrics = cli.test_main([str(run / 'config.py'),
                             str(run / 'epoch_1.pth'), '--work-dir',
                             str(tmp_path / 'test')])
    assert cells['tcn1 gt', 'gt']['P1'] == pytest.approx(
        1000 * metrics['MPJPE'], rel=1e-6)
    assert osp.isfile(tmp_path / 'w' / 'results' / 'matrix.png')
    with pytest.raises(FileNotFoundError, match='lacks'):
        matrix_tool.main(['--train', 'nope', '--sources-dir', str(sources),
                          '--work-dir', str(tmp_path / 'w2'),
                          '--frames-root', frames, '--no-progress'])
