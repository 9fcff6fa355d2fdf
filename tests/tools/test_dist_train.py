"""2-process CPU training through tools/dist_train.sh (gloo)."""
import json
import re
import socket
import sys

import pytest
import torch

from tests.conftest import DATA, REPO, run_python, tool_env

pytestmark = pytest.mark.slow

CFG = DATA / 'configs' / 'vit-tiny_coco_tiny.py'


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _val_metrics(log_text):
    lines = [ln for ln in log_text.splitlines()
             if 'Epoch(val)' in ln and 'EPE:' in ln]
    assert lines, log_text[-3000:]
    return {k: float(v) for k, v in re.findall(
        r'((?:coco/[^:]+)|EPE): ([0-9.]+)', lines[-1])}


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU gloo test')
def test_two_process_training_matches_single_process_eval(tmp_path):
    import subprocess
    work = tmp_path / 'dist'
    proc = subprocess.run(
        ['bash', str(REPO / 'tools' / 'dist_train.sh'), str(CFG), '2',
         '--work-dir', str(work)],
        cwd=str(REPO), env=tool_env(PYTHON=sys.executable,
                                    PORT=_free_port()),
        capture_output=True, text=True, timeout=600)
    log = proc.stdout + proc.stderr
    # torch.distributed.run exits 0 only if every rank exited 0
    assert proc.returncode == 0, log[-5000:]
    assert 'SIGABRT' not in log and 'Traceback' not in log
    train_log = (next(work.glob('*/*.log'))).read_text()
    assert 'Distributed launcher: pytorch' in train_log
    assert 'Distributed training: True' in train_log
    dist_metrics = _val_metrics(train_log)
    assert dist_metrics['EPE'] > 0

    out = tmp_path / 'single.json'
    run_python([REPO / 'tools' / 'test.py', CFG, work / 'epoch_1.pth',
                '--work-dir', tmp_path / 'single', '--out', out])
    single = json.loads(out.read_text())
    for key, value in dist_metrics.items():
        assert single[key] == pytest.approx(value, rel=1e-4, abs=1e-6), key
