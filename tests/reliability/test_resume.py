"""Training SIGKILLed mid-epoch, and again while a checkpoint is being
written, then restarted with ``--resume``: no completed epoch is lost and
the run ends with the same weights and metrics, bit for bit, as an
uninterrupted run (tiny SynthPose, ProbPose config, CPU, deterministic).

The kills come from ``_kill_hook.KillAtHook`` inside the training process
(``os.kill(getpid(), SIGKILL)`` at a chosen iteration or checkpoint), so
they land at the same point on every machine.
"""
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.conftest import REPO, run_python, tool_env

from ._kill_hook import ENV_VAR

pytestmark = pytest.mark.slow

TRAIN = REPO / 'tools' / 'train.py'
CONFIG = REPO / 'configs' / 'synthpose' / \
    'probpose_vit-tiny_synthpose-128x96.py'


def _config(tmp: Path, data_root: Path) -> Path:
    """The demo ProbPose config at test size: a 1-layer ViT, 3 epochs of
    a few iterations (batch 8), a checkpoint per epoch (``max_keep_ckpts=1``
    as in the demo), validation at the end, random augmentations on."""
    path = tmp / 'probpose_tiny.py'
    ann_val = data_root / 'annotations' / 'person_keypoints_val.json'
    path.write_text(f'''
_base_ = [{str(CONFIG)!r}]
custom_imports = dict(
    imports=['probpose_ext', 'tests.reliability._kill_hook'],
    allow_failed_imports=False)
custom_hooks = [dict(type='PlainCheckpointHook'), dict(type='KillAtHook'),
                dict(type='RngStateHook')]
data_root = {str(data_root) + '/'!r}
train_cfg = dict(max_epochs=3, val_interval=3)
randomness = dict(seed=0, deterministic=True)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
model = dict(backbone=dict(arch=dict(num_layers=1)))
loader = dict(num_workers=0, persistent_workers=False)
train_dataloader = dict(batch_size=8, dataset=dict(data_root=data_root),
                        **loader)
val_dataloader = dict(batch_size=8, dataset=dict(data_root=data_root),
                      **loader)
test_dataloader = val_dataloader
val_evaluator = [dict(type='ExCocoMetric', ann_file={str(ann_val)!r}),
                 dict(type='PresenceAccuracy')]
test_evaluator = val_evaluator
''')
    return path


def _train(config: Path, work: Path, *args: str, kill: str = ''):
    env = {'PYTHONPATH': REPO, ENV_VAR: kill}
    return run_python([TRAIN, config, '--work-dir', work, *args],
                      check=not kill, timeout=300, **env)


def _val_metrics(log: str) -> dict:
    lines = [line for line in log.splitlines()
             if 'Epoch(val)' in line and 'coco/AP:' in line]
    assert lines, log[-3000:]
    return dict(re.findall(r'((?:coco|presence)/[^:]+): ([-0-9.]+)',
                           lines[-1]))


def _losses(log: str) -> list:
    return re.findall(r'Epoch\(train\) +\[(\d)\]\[ ?(\d+)/\d+\].*? loss: '
                      r'([0-9.]+)', log)


def _last_checkpoint(work: Path) -> Path:
    path = Path((work / 'last_checkpoint').read_text().strip())
    assert path.is_file()
    return path


@pytest.fixture(scope='module')
def synthpose(tmp_path_factory):
    from probpose_ext.datasets.generators.synthpose import make_synthpose
    root = tmp_path_factory.mktemp('resume') / 'synthpose'
    make_synthpose(root, num_train=12, num_val=4, img_size=(128, 128),
                   seed=0, workers=1, progress=False)
    return root


def _interrupted_run(config: Path, work: Path) -> str:
    """Train with two SIGKILLs and two ``--resume``; the last run's log."""
    # 1. killed during epoch 2: epoch 1's checkpoint is complete
    killed = _train(config, work, kill='train:2:2')
    assert killed.returncode == -signal.SIGKILL
    assert _last_checkpoint(work).name == 'epoch_1.pth'
    assert torch.load(work / 'epoch_1.pth',
                      weights_only=True)['meta']['epoch'] == 1

    # 2. resumed, then killed while epoch 3's checkpoint is written (after
    # MMEngine's CheckpointHook would have deleted epoch_2.pth)
    killed = _train(config, work, '--resume', kill='save:3')
    assert killed.returncode == -signal.SIGKILL
    assert 'resumed epoch: 1' in killed.stdout + killed.stderr
    assert _last_checkpoint(work).name == 'epoch_2.pth'
    assert torch.load(work / 'epoch_2.pth',
                      weights_only=True)['meta']['epoch'] == 2

    # 3. resumed again, runs to the end
    done = _train(config, work, '--resume')
    log = done.stdout + done.stderr
    assert 'resumed epoch: 2' in log
    return log


def test_killed_runs_resume_to_the_uninterrupted_result(synthpose, tmp_path):
    config = _config(tmp_path, synthpose)
    ref_work, work = tmp_path / 'uninterrupted', tmp_path / 'interrupted'
    # the reference trains beside the interrupted runs (one thread each)
    ref = subprocess.Popen(
        [sys.executable, str(TRAIN), str(config), '--work-dir',
         str(ref_work)], cwd=REPO, env=tool_env(PYTHONPATH=REPO),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        log = _interrupted_run(config, work)
        ref_log = ref.communicate(timeout=300)[0]
    finally:
        ref.kill()
        ref.wait()
    assert ref.returncode == 0, ref_log[-3000:]

    # the resumed run repeats the uninterrupted run's last epoch exactly...
    assert [x for x in _losses(log) if x[0] == '3'] == \
        [x for x in _losses(ref_log) if x[0] == '3']
    assert len([x for x in _losses(ref_log) if x[0] == '3']) >= 2
    # ... ends with the same metrics ...
    metrics = _val_metrics(log)
    assert metrics == _val_metrics(ref_log)
    assert 0 < float(metrics['presence/acc']) < 1  # a real number
    # ... and the same weights and optimiser state, bit for bit
    got = torch.load(work / 'epoch_3.pth', weights_only=True)
    want = torch.load(ref_work / 'epoch_3.pth', weights_only=True)
    assert got['state_dict'].keys() == want['state_dict'].keys()
    for key, value in want['state_dict'].items():
        assert torch.equal(got['state_dict'][key], value), key
    for a, b in zip(got['optimizer']['state'].values(),
                    want['optimizer']['state'].values()):
        assert all(torch.equal(a[k], b[k]) for k in b)
    assert sorted(p.name for p in work.glob('*.pth')) == \
        sorted(p.name for p in ref_work.glob('*.pth'))
