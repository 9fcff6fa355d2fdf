"""Shared test helpers: paths and running the project's tools."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import probpose_ext  # noqa: F401  (compat shims + registration)

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / 'tests' / 'data'
TINY_COCO_CFG = DATA / 'configs' / 'stock_td-hm_res18_coco_tiny.py'


def tool_env(**extra) -> dict:
    """Environment for tool subprocesses: quiet, single-threaded BLAS."""
    env = dict(os.environ)
    env.update(
        PYTHONWARNINGS='ignore', OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    env.pop('PROBPOSE_TRUST_CHECKPOINTS', None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def load_tool(path) -> object:
    """Import a tool script (e.g. ``tools/analysis_tools/x.py``) as a
    module under a private name, to call its ``main(argv)``."""
    import importlib.util
    path = Path(path)
    spec = importlib.util.spec_from_file_location(f'_tool_{path.stem}',
                                                  path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cell_mtimes(work_dir) -> dict:
    """Path -> modification time of every cached cell record of a study
    (``WORK_DIR/cells/**``): equal before and after a rerun means nothing
    was recomputed."""
    import os
    import os.path as osp
    out = {}
    for root, _, files in os.walk(osp.join(work_dir, 'cells')):
        for f in files:
            out[osp.join(root, f)] = osp.getmtime(osp.join(root, f))
    return out


def run_python(args, cwd=None, timeout=600, check=True, **env):
    """Run ``python ARGS`` with the test interpreter; return the result."""
    proc = subprocess.run([sys.executable, *map(str, args)],
                          cwd=str(cwd or REPO),
                          env=tool_env(**env),
                          capture_output=True,
                          text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(
            f'command failed ({proc.returncode}): {args}\n'
            f'--- stdout ---\n{proc.stdout[-4000:]}\n'
            f'--- stderr ---\n{proc.stderr[-6000:]}')
    return proc


def pytest_collection_modifyitems(config, items):
    """Tests marked ``cuda`` are skipped where CUDA is not available."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason='needs CUDA')
    for item in items:
        if item.get_closest_marker('cuda') is not None:
            item.add_marker(skip)


@pytest.fixture
def repo():
    return REPO


@pytest.fixture(scope='session')
def synth_val(tmp_path_factory):
    """Eight SynthPose val images drawn with a seed no zoo split uses (7):
    ``(root, COCO annotation dict)``."""
    import json

    from probpose_ext.datasets.generators.synthpose import make_synthpose
    root = tmp_path_factory.mktemp('zoo_val') / 'synthpose'
    make_synthpose(root, num_train=0, num_val=8, seed=7, workers=1,
                   progress=False)
    with open(root / 'annotations' / 'person_keypoints_val.json') as f:
        return root, json.load(f)
