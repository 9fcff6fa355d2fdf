"""A temporary model zoo: the SynthPose zoo configs (with their ``_base_``
chain) and random-weight checkpoints listed in a metafile."""
import shutil
from pathlib import Path
from typing import Dict, Sequence

import yaml

from tests.apis._random_ckpt import save_random_checkpoint
from tests.conftest import REPO

#: zoo name -> config of the SynthPose zoo (relative to the repository).
ZOO_CONFIGS = {
    'synthpose-heatmap':
    'configs/synthpose/td-hm_effnet-lite0_1xb32-24e_synthpose-128x96.py',
    'synthpose-probpose':
    'configs/synthpose/probpose_effnet-lite0_1xb32-24e_synthpose-128x96.py',
    'synthpose-probpose-dh':
    'configs/synthpose/probpose-dh_effnet-lite0_1xb32-24e_synthpose-128x96.py',
}


def copy_zoo_configs(root: Path) -> None:
    """Copy the zoo configs into ``root/configs/synthpose`` and the shared
    blocks into ``root/configs/_base_`` (each config's ``_base_`` is a
    sibling, a shared block or an ``mmpose::`` config)."""
    folder = root / 'configs' / 'synthpose'
    folder.mkdir(parents=True, exist_ok=True)
    for config in ZOO_CONFIGS.values():
        shutil.copy(REPO / config, folder)
    shutil.copytree(REPO / 'configs' / '_base_', root / 'configs' / '_base_',
                    dirs_exist_ok=True)


def make_zoo(root: Path, names: Sequence[str] = tuple(ZOO_CONFIGS)
             ) -> Dict[str, Path]:
    """A zoo under ``root`` whose metafile lists ``names`` with random
    weights (seed 0); returns name -> weights path."""
    copy_zoo_configs(root)
    weights = {}
    models = []
    for name in names:
        path = root / 'checkpoints' / 'synthpose' / f'{name}.pth'
        path.parent.mkdir(parents=True, exist_ok=True)
        save_random_checkpoint(path, REPO / ZOO_CONFIGS[name])
        weights[name] = path
        models.append({'Name': name, 'In Collection': 'SynthPose',
                       'Config': ZOO_CONFIGS[name],
                       'Weights': str(path.relative_to(root)),
                       'Results': []})
    metafile = root / 'configs' / 'synthpose' / 'metafile.yml'
    metafile.write_text(yaml.safe_dump(
        {'Collections': [{'Name': 'SynthPose'}], 'Models': models},
        sort_keys=False))
    return weights
