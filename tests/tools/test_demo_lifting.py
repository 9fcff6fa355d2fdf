"""The demo's lifting step (tools/demo.py lifting_demo) on a temporary zoo
with a random-weight lifter and a tiny SynthMotion: it evaluates the
published lifters with MMPose's MPJPE metrics, caches the evaluation, and
skips cleanly when no lifter is published."""
import argparse
import shutil

import numpy as np
import pytest
import yaml

from probpose_ext.datasets.generators.synthmotion import (SynthMotionParams,
                                                          make_synthmotion)
from tests.apis._random_ckpt import save_random_checkpoint
from tests.conftest import REPO, load_tool

pytestmark = pytest.mark.slow

CONFIG = 'configs/synthmotion/pose-lift_tcn-1frm_1xb256-6e_synthmotion.py'


def _demo_module():
    return load_tool(REPO / 'tools' / 'demo.py')


def _lifter_zoo(root):
    shutil.copytree(REPO / 'configs' / '_base_', root / 'configs' / '_base_')
    folder = root / 'configs' / 'synthmotion'
    folder.mkdir(parents=True)
    for name in ('pose-lift_tcn-27frm_1xb256-6e_synthmotion.py',
                 'pose-lift_tcn-1frm_1xb256-6e_synthmotion.py'):
        shutil.copy(REPO / 'configs' / 'synthmotion' / name, folder)
    weights = root / 'checkpoints' / 'synthmotion' / 'lifter.pth'
    weights.parent.mkdir(parents=True)
    save_random_checkpoint(weights, REPO / CONFIG)
    (folder / 'metafile.yml').write_text(yaml.safe_dump({
        'Collections': [{'Name': 'SynthMotion'}],
        'Models': [{'Name': 'synthmotion-tcn-1frm',
                    'In Collection': 'SynthMotion', 'Config': CONFIG,
                    'Weights': 'checkpoints/synthmotion/lifter.pth',
                    'Results': []}]}))


def test_lifting_step(tmp_path, monkeypatch):
    demo = _demo_module()
    motion = tmp_path / 'synthmotion'
    make_synthmotion(motion, workers=1, progress=False,
                     params=SynthMotionParams(
                         train_subjects=('S1', ), test_subjects=('S9', ),
                         actions=('walk', ), reps=1, frames=20))
    args = argparse.Namespace(motion_root=str(motion), seed=0,
                              work_dir=str(tmp_path / 'work'))
    monkeypatch.setenv('PROBPOSE_ZOO_ROOT', str(tmp_path / 'empty'))
    assert demo.lifting_demo(args) is None

    _lifter_zoo(tmp_path / 'zoo')
    monkeypatch.setenv('PROBPOSE_ZOO_ROOT', str(tmp_path / 'zoo'))
    out = demo.lifting_demo(args)
    (row, ) = out['rows']
    assert (row['name'], row['backbone'], row['frames']) == (
        'synthmotion-tcn-1frm', 'TCN', 1)
    # random weights: far from the truth, P2 (after alignment) below P1
    assert row['p1_mm'] > 100 and 0 < row['p2_mm'] < row['p1_mm']
    assert out['versus'] == []          # no GraphMLP lifter to compare
    assert len(out['table'].splitlines()) == 3
    record = tmp_path / 'work' / 'lifting' / 'synthmotion-tcn-1frm' / \
        'metrics.json'
    assert record.is_file()
    again = demo.lifting_demo(args)     # the cached evaluation
    assert np.isclose(again['rows'][0]['p1_mm'], row['p1_mm'])
