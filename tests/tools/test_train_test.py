"""A stock MMPose config with custom_imports and this project's hooks
trains, resumes and tests through tools/train.py and tools/test.py."""
import json
import re

import pytest
import torch

from tests.conftest import REPO, TINY_COCO_CFG, run_python

pytestmark = pytest.mark.slow

TRAIN = REPO / 'tools' / 'train.py'
TEST = REPO / 'tools' / 'test.py'


def _last_val_metrics(log_text):
    lines = [line for line in log_text.splitlines() if 'Epoch(val)' in line
             and 'coco/AP:' in line]
    assert lines, 'no validation metrics in the training log'
    return {k: float(v) for k, v in re.findall(r'(coco/[^:]+): ([0-9.]+)',
                                                 lines[-1])}


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    work = tmp_path_factory.mktemp('stock')
    proc = run_python([TRAIN, TINY_COCO_CFG, '--work-dir', work])
    return work, proc.stdout + proc.stderr


def test_train_writes_weights_only_checkpoints(trained):
    work, log = trained
    ckpt = torch.load(work / 'epoch_1.pth', weights_only=True)
    assert ckpt['meta']['epoch'] == 1
    assert ckpt['meta']['dataset_meta']['dataset_name'] == 'coco'
    sigmas = ckpt['meta']['dataset_meta']['sigmas']
    assert isinstance(sigmas, list) and len(sigmas) == 17
    # the config's custom_imports loaded probpose_ext in the runner
    assert 'PlainCheckpointHook' in log


def test_test_tool_reproduces_the_validation_metrics(trained, tmp_path):
    work, log = trained
    out = tmp_path / 'metrics.json'
    run_python([TEST, TINY_COCO_CFG, work / 'epoch_1.pth', '--work-dir',
                tmp_path, '--out', out])
    metrics = json.loads(out.read_text())
    val = _last_val_metrics(log)
    assert set(val) <= set(metrics)
    for key, value in val.items():
        assert metrics[key] == pytest.approx(value, abs=1e-6), key


def test_resume_continues_from_the_saved_epoch(trained, tmp_path):
    work, _ = trained
    proc = run_python([
        TRAIN, TINY_COCO_CFG, '--work-dir', tmp_path, '--resume',
        work / 'epoch_1.pth', '--cfg-options', 'train_cfg.max_epochs=2'
    ])
    log = proc.stdout + proc.stderr
    assert 'resumed epoch: 1' in log
    assert 'dataset metainfo from the resumed checkpoint is different' \
        not in log
    ckpt = torch.load(tmp_path / 'epoch_2.pth', weights_only=True)
    assert ckpt['meta']['epoch'] == 2
    assert not (tmp_path / 'epoch_1.pth').exists()


def test_untrusted_stock_checkpoint_is_refused_then_trusted(tmp_path):
    """A checkpoint holding numpy arrays (as written by MMPose's own tools)
    needs an explicit opt-in: the config key trust_checkpoints here."""
    import numpy as np
    ckpt = torch.load(
        sorted(tmp_path.parent.glob('stock*/epoch_1.pth'))[0],
        weights_only=True)
    ckpt['meta']['dataset_meta']['sigmas'] = np.array(
        ckpt['meta']['dataset_meta']['sigmas'])
    legacy = tmp_path / 'legacy.pth'
    torch.save(ckpt, legacy)
    refused = run_python([TEST, TINY_COCO_CFG, legacy, '--work-dir',
                          tmp_path], check=False)
    assert refused.returncode != 0
    assert 'legacy.pth' in refused.stderr
    assert 'PROBPOSE_TRUST_CHECKPOINTS' in refused.stderr
    run_python([TEST, TINY_COCO_CFG, legacy, '--work-dir', tmp_path,
                '--cfg-options', f'trust_checkpoints=["{legacy}"]'])


def test_show_dir_writes_visualisations(trained, tmp_path):
    """--show-dir draws predictions with MMPose's visualiser (the numpy
    visualiser shim is on this path)."""
    import cv2
    work, _ = trained
    run_python([TEST, TINY_COCO_CFG, work / 'epoch_1.pth', '--work-dir',
                tmp_path, '--show-dir', 'vis'])
    drawn = sorted(tmp_path.rglob('vis/*.jpg'))
    # one drawing per test instance (interval 1): IMAGE_INDEX.jpg
    anns = json.loads((TINY_COCO_CFG.parents[1] / 'coco' /
                       'test_coco.json').read_text())['annotations']
    expected = {}
    for ann in anns:
        if ann['num_keypoints'] > 0:
            expected[ann['image_id']] = expected.get(ann['image_id'], 0) + 1
    assert sorted(p.name for p in drawn) == sorted(
        f'{image_id:012d}_{i}.jpg' for image_id, n in expected.items()
        for i in range(n))
    image = cv2.imread(str(next(p for p in drawn
                                if p.name == '000000000785_0.jpg')))
    assert image.shape == (425, 640, 3)
