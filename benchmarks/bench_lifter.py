"""One training step of the lifters: the GraphMLP-style lifter against
MMPose's TCN at 27 frames, and CA-Conv's cost over the plain TCN.

All models are built from the SynthMotion zoo configs (MMPose's
``PoseLifter``, ``VideoPoseLifting`` codec and ``MPJPELoss``); the TCN
baselines are MMPose's own backbone: the project's 512-channel baseline
(``configs/synthmotion/pose-lift_tcn-27frm_...``) and VideoPose3D's 1024
channels. The batch is fixed: the real Human3.6M sample
(``tests/data/h36m``) passed through each config's own training pipeline
and repeated to the batch size, collated as MMEngine's data loader does.
The step is ``model.train_step(data, optim_wrapper)`` (forward, losses,
backward, Adam).

Groups:

* ``train step (27 frames, batch 256)``: ``ours`` = GraphMLPLifter,
  baselines ``TCN 512`` and ``TCN 1024 (VideoPose3D)``.
* ``CA-Conv train step (27 frames, batch 256)``: ``ours`` = CATCN (512,
  confidence input), baseline ``TCN 512``.
"""
import os.path as osp
from typing import Any, Dict, List, Tuple

import torch

from _harness import Case, Target

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SYNTH = osp.join(REPO, 'configs', 'synthmotion')
TCN = osp.join(SYNTH, 'pose-lift_tcn-27frm_1xb256-6e_synthmotion.py')
GROUP = 'train step (27 frames, batch 256)'
CA_GROUP = 'CA-Conv train step (27 frames, batch 256)'
BATCH = 256


def make_batch(cfg: Any, batch: int) -> Dict[str, list]:
    """The real Human3.6M sample through ``cfg``'s training pipeline,
    repeated to ``batch`` samples and collated."""
    import numpy as np
    from mmengine.dataset import pseudo_collate
    from mmpose.registry import DATASETS
    ds = cfg.train_dataloader.dataset.copy()
    ds.update(data_root=osp.join(REPO, 'tests', 'data', 'h36m'),
              ann_file='test_h36m_body3d.npz',
              camera_param_file='cameras.pkl')
    dataset = DATASETS.build(ds)
    np.random.seed(0)
    samples = [dataset[i % len(dataset)] for i in range(batch)]
    return pseudo_collate(samples)


def make_step(config: str, device: str, batch: int,
              **backbone) -> Any:
    """A ``train_step`` closure of ``config`` (backbone keys overridden)."""
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmpose.registry import MODELS
    cfg = Config.fromfile(config)
    cfg.model.backbone.update(backbone)
    if 'stem_channels' in backbone:
        cfg.model.head.in_channels = backbone['stem_channels']
    data = make_batch(cfg, batch)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).to(device)
    model.init_weights()
    model.train()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)

    def step():
        out = model.train_step(data, optim)
        if device == 'cuda':
            torch.cuda.synchronize()
        return out

    step()  # optimiser states and allocator pools warm for every case
    return step


def build(quick: bool) -> Tuple[List[Case], List[Target]]:
    """The two groups and their targets."""
    from mmengine.registry import init_default_scope

    import probpose_ext  # noqa: F401  (registers the lifting modules)

    init_default_scope('mmpose')
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    repeats = 2 if quick else 10
    batch = 32 if quick else BATCH
    graph = osp.join(SYNTH, 'pose-lift_graphmlp-27frm_1xb256-6e_synthmotion.py')
    ca = osp.join(SYNTH, 'pose-lift_ca-tcn-27frm_1xb256-6e_synthmotion.py')
    tcn512 = make_step(TCN, device, batch)
    cases = [
        Case(GROUP, 'ours', make_step(graph, device, batch), repeats),
        Case(GROUP, 'TCN 512', tcn512, repeats),
        Case(GROUP, 'TCN 1024 (VideoPose3D)',
             make_step(TCN, device, batch, stem_channels=1024), repeats),
        Case(CA_GROUP, 'ours', make_step(ca, device, batch), repeats),
        Case(CA_GROUP, 'TCN 512', tcn512, repeats),
    ]
    cases[0].note = (
        f'model.train_step on {device}, batch {batch}: each config\'s own '
        'pipeline and codec on the real Human3.6M sample; GraphMLPLifter '
        '(128 dims, 3 blocks) vs MMPose TCN')
    cases[3].note = ('CATCN: the TCN with a confidence-weighted '
                     '(normalised) first convolution, input (x, y, c)')
    targets = [
        Target(GROUP, 'ours', 'TCN 1024 (VideoPose3D)', 1.0,
               text='GraphMLP-style step <= VideoPose3D TCN step'),
        Target(CA_GROUP, 'ours', 'TCN 512', 1.5,
               text='CA-Conv TCN step <= 1.5x plain TCN step'),
    ]
    return cases, targets
