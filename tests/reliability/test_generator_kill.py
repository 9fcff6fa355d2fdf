"""The data generators' command lines SIGKILLed half-way leave nothing at
the destination, and the next run cleans up and writes exactly the bytes of
an uninterrupted run (SynthPose, then CropCOCO on it)."""
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import pytest

from tests.conftest import REPO, run_python, tool_env
from tests.datasets._generator_checks import file_hashes, tmp_siblings

pytestmark = pytest.mark.slow

TOOLS = REPO / 'tools' / 'dataset_converters'
SYNTH_ARGS = ['--num-train', '120', '--num-val', '0', '--img-size', '128',
              '128', '--seed', '3', '--workers', '1', '--no-progress']


def _kill_half_way(args: List, out: Path, min_files: int = 5) -> None:
    """Start ``python ARGS``, SIGKILL it once its temporary output holds
    ``min_files`` images, and check it died half-way."""
    proc = subprocess.Popen([sys.executable, *map(str, args)], cwd=REPO,
                            env=tool_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    tmp = out.with_name(f'{out.name}.tmp-{proc.pid}')
    deadline = time.monotonic() + 120
    try:
        while len(list(tmp.rglob('*.jpg'))) < min_files:
            assert proc.poll() is None, proc.stderr.read()[-3000:]
            assert time.monotonic() < deadline, 'no output after 120 s'
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    # killed before the end: a partial temporary directory, no output
    assert not out.exists()
    assert tmp_siblings(out) == [tmp.name]
    assert not (tmp / 'annotations' / 'person_keypoints_train.json').exists()


@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    """Uninterrupted runs, through the API the command lines call."""
    from probpose_ext.datasets.generators.cropcoco import make_cropcoco
    from probpose_ext.datasets.generators.synthpose import make_synthpose
    root = tmp_path_factory.mktemp('reference')
    make_synthpose(root / 'synth', num_train=120, num_val=0,
                   img_size=(128, 128), seed=3, workers=1, progress=False)
    synth = root / 'synth'
    make_cropcoco(synth / 'train',
                  synth / 'annotations' / 'person_keypoints_train.json',
                  root / 'crop', split='train', workers=1, progress=False)
    return root


def test_killed_synthpose_leaves_nothing_and_reruns_identically(
        reference, tmp_path):
    out = tmp_path / 'synth'
    args = [TOOLS / 'make_synthpose.py', out, *SYNTH_ARGS]
    _kill_half_way(args, out)
    run_python(args)  # removes the dead run's temporary directory
    assert tmp_siblings(out) == []
    assert file_hashes(out) == file_hashes(reference / 'synth')


def test_killed_cropcoco_leaves_nothing_and_reruns_identically(
        reference, tmp_path):
    synth = reference / 'synth'
    out = tmp_path / 'crop'
    args = [TOOLS / 'make_cropcoco.py', synth / 'train',
            synth / 'annotations' / 'person_keypoints_train.json', out,
            '--split', 'train', '--workers', '1', '--no-progress']
    _kill_half_way(args, out)
    run_python(args)
    assert tmp_siblings(out) == []
    hashes = file_hashes(out)
    assert len([p for p in hashes if p.endswith('.jpg')]) >= 100
    assert hashes == file_hashes(reference / 'crop')
