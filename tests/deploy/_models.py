"""Random-weight SynthPose zoo architectures (all four heads) for the ONNX
tests, exported once per session and head."""
from pathlib import Path
from typing import Dict

import numpy as np
import torch
from mmengine.config import Config
from mmengine.structures import InstanceData
from mmpose.registry import MODELS
from mmpose.structures import PoseDataSample
from mmpose.utils import register_all_modules

from probpose_ext.utils.metainfo import load_metainfo
from tests.conftest import REPO

#: head family -> zoo config (the zoo's architectures, random weights)
CONFIGS: Dict[str, Path] = {
    kind: REPO / 'configs' / 'synthpose' / name for kind, name in [
        ('heatmap', 'td-hm_effnet-lite0_1xb32-24e_synthpose-128x96.py'),
        ('probmap', 'probpose_effnet-lite0_1xb32-24e_synthpose-128x96.py'),
        ('probmap_dh',
         'probpose-dh_effnet-lite0_1xb32-24e_synthpose-128x96.py'),
        ('tic', 'tic_effnet-lite0_1xb32-6e_synthpose-128x96.py'),
    ]
}


def load_config(kind: str, **test_cfg) -> Config:
    cfg = Config.fromfile(str(CONFIGS[kind]))
    cfg.model.backbone.init_cfg = None
    cfg.model.test_cfg.update(test_cfg)
    return cfg


def random_estimator(kind: str, cfg: Config = None, seed: int = 0):
    """The zoo config's estimator with seeded random weights, eval mode,
    COCO dataset meta."""
    register_all_modules()
    cfg = cfg or load_config(kind)
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model).eval()
    model.dataset_meta = load_metainfo()
    return model, cfg


def samples(batch: int):
    """Data samples of crops 96x128 at different image positions and
    scales, with COCO's flip indices (the flip test reads them)."""
    meta = load_metainfo()
    out = []
    for i in range(batch):
        sample = PoseDataSample(metainfo=dict(
            input_size=(96, 128), input_center=np.array([100.0 + 7 * i,
                                                         200.0 - 3 * i]),
            input_scale=np.array([192.0 + 10 * i, 256.0 + 40 / 3 * i]),
            flip_indices=meta['flip_indices']))
        sample.gt_instances = InstanceData(bboxes=np.zeros((1, 4)),
                                           bbox_scores=np.ones(1))
        out.append(sample)
    return out


def crops(batch: int, seed: int = 0) -> torch.Tensor:
    """Normalised-looking inputs (standard normal)."""
    return torch.randn(batch, 3, 128, 96,
                       generator=torch.Generator().manual_seed(seed))
