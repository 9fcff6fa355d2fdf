"""configs/probpose_vit-s_coco.py builds and trains 2 iterations on the tiny
COCO sample, and its predictions carry the ProbPose fields."""
import pickle
import re

import numpy as np
import pytest
import torch

from tests.conftest import DATA, REPO, run_python

pytestmark = pytest.mark.slow

CFG = DATA / 'configs' / 'probpose_vit-s_coco_tiny.py'


def test_probpose_trains_two_iterations_and_predicts(tmp_path):
    work = tmp_path / 'work'
    proc = run_python([REPO / 'tools' / 'train.py', CFG, '--work-dir', work])
    log = proc.stdout + proc.stderr
    iters = re.findall(r'Epoch\(train\) +\[1\]\[(\d)/2\].*?loss_kpt: ([0-9.]+)'
                       r'.*?loss_presence: ([0-9.]+)', log)
    assert [i for i, *_ in iters] == ['1', '2']
    for _, kpt, presence in iters:
        # OKS risk of a near-uniform map is close to 1; BCE of p~0.5 ~ ln 2
        assert 0.5 < float(kpt) < 1.0
        assert 0.3 < float(presence) < 1.5
    ckpt = torch.load(work / 'epoch_1.pth', weights_only=True)
    assert any(k.startswith('head.presence_branch') for k in
               ckpt['state_dict'])

    dump = tmp_path / 'preds.pkl'
    run_python([REPO / 'tools' / 'test.py', CFG, work / 'epoch_1.pth',
                '--work-dir', tmp_path / 'test', '--dump', dump])
    with open(dump, 'rb') as f:
        samples = pickle.load(f)
    assert len(samples) == 12
    for sample in samples:
        pred = sample['pred_instances']
        assert pred['keypoints'].shape == (1, 17, 2)
        for key in ('keypoint_scores', 'keypoints_visible',
                    'keypoint_presence', 'keypoint_visibility'):
            value = np.asarray(pred[key])
            assert value.shape == (1, 17), key
            assert ((value >= 0) & (value <= 1)).all(), key
        np.testing.assert_array_equal(pred['keypoints_visible'],
                                      pred['keypoint_presence'])

    # the GPU check's verification passes on this run (2 iterations), and
    # fails on a NaN loss and on a missing field
    verify = REPO / 'tools' / '_gpu_check_verify.py'
    (work / 'preds.pkl').write_bytes(dump.read_bytes())
    ok = run_python([verify, work, '--iters', '2'])
    assert ': ok' in ok.stdout
    assert run_python([verify, work, '--iters', '3'],
                      check=False).returncode == 1
    scalars = next(work.glob('*/vis_data/scalars.json'))
    scalars.write_text(scalars.read_text().replace(
        '"loss_kpt": ', '"loss_kpt": NaN, "_was": ', 1))
    for sample in samples:
        del sample['pred_instances']['keypoint_presence']
    with open(work / 'preds.pkl', 'wb') as f:
        pickle.dump(samples, f)
    bad = run_python([verify, work, '--iters', '2'], check=False)
    assert bad.returncode == 1
    assert 'non-finite loss_kpt' in bad.stdout
    assert 'no keypoint_presence' in bad.stdout
