"""A random-init checkpoint of the SynthPose ProbPose config, saved as this
project's checkpoints are (plain types only, weights-only loadable)."""
from pathlib import Path

import torch
from mmengine.config import Config
from mmpose.registry import MODELS
from mmpose.utils import register_all_modules

from probpose_ext.engine.hooks.plain_checkpoint_hook import to_plain
from probpose_ext.utils.metainfo import load_metainfo
from tests.conftest import REPO

SYNTH_CFG = REPO / 'configs' / 'synthpose' / \
    'probpose_vit-tiny_synthpose-128x96.py'


def save_random_checkpoint(path: Path, config: Path = SYNTH_CFG) -> Path:
    """Build ``config``'s model with seed 0 and save its weights and the
    COCO dataset meta (lists, not arrays) to ``path``."""
    register_all_modules()
    cfg = Config.fromfile(str(config))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    meta = dict(dataset_meta=to_plain(load_metainfo()))
    torch.save({'state_dict': model.state_dict(), 'meta': meta}, path)
    return path
