"""One training step of the skeleton action recognisers (48-frame clips of
Human3.6M-17 joints, batch 32): the project's compact ST-GCN config
against the partition transformer, and the project's full-size ST-GCN
against MMAction2's ``STGCN`` of the same size (when MMAction2 is
importable through :mod:`probpose_ext.compat.mmaction`).

Every model is a ``SkeletonRecognizer`` built from
``configs/synthactions`` (backbone keys overridden for the full-size
cases); the batch is random joints of the configs' input shape. The step
is ``model.train_step(data, optim_wrapper)`` with the config's optimiser.

Groups:

* ``recogniser train step (48 frames, batch 32)``: ``ours`` =
  SkeletonPartitionFormer (4 blocks of 64 channels), baseline
  ``ST-GCN (compact)`` (6 units of 32-128 channels, the zoo's).
* ``ST-GCN train step (48 frames, batch 32, 10 units)``: ``ours`` = the
  project's STGCN with ST-GCN's 10 units of 64-256 channels, baseline
  ``MMAction2 STGCN`` (COCO layout: MMAction2's graph has no Human3.6M
  layout; both 17 joints).
"""
import os.path as osp
from typing import Any, List, Optional, Tuple

import torch

from _harness import Case, Target

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
ACTIONS = osp.join(REPO, 'configs', 'synthactions')
STGCN = osp.join(ACTIONS, 'stgcn_1xb32-joint-3d-30e_synthactions-xsub.py')
FORMER = osp.join(ACTIONS, 'partformer_1xb32-joint-3d-30e_synthactions-xsub.py')
GROUP = 'recogniser train step (48 frames, batch 32)'
FULL_GROUP = 'ST-GCN train step (48 frames, batch 32, 10 units)'
BATCH, FRAMES = 32, 48
FULL = dict(base_channels=64, num_stages=10, inflate_stages=(5, 8),
            down_stages=(5, 8))


def make_step(config: str, device: str, batch: int,
              backbone: Optional[dict] = None,
              head_channels: Optional[int] = None) -> Any:
    """A ``train_step`` closure of ``config`` (its backbone replaced by
    ``backbone`` when given)."""
    import numpy as np
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.structures import BaseDataElement
    from mmpose.registry import MODELS
    cfg = Config.fromfile(config)
    if backbone is not None:
        cfg.model.backbone = backbone
        cfg.model.cls_head.in_channels = head_channels
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).to(device)
    model.init_weights()
    model.train()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    rng = np.random.default_rng(0)
    inputs = [torch.tensor(rng.normal(0, 0.3, (1, 1, FRAMES, 17, 3)),
                           dtype=torch.float32) for _ in range(batch)]
    samples = []
    for i in range(batch):
        sample = BaseDataElement()
        sample.gt_label = torch.tensor([i % 12])
        samples.append(sample)
    data = dict(inputs=inputs, data_samples=samples)

    def step():
        out = model.train_step(data, optim)
        if device == 'cuda':
            torch.cuda.synchronize()
        return out

    step()
    return step


def build(quick: bool) -> Tuple[List[Case], List[Target]]:
    """The groups and their targets."""
    from mmengine.registry import init_default_scope

    import probpose_ext  # noqa: F401

    init_default_scope('mmpose')
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    repeats = 2 if quick else 10
    batch = 8 if quick else BATCH
    cases = [
        Case(GROUP, 'ours', make_step(FORMER, device, batch), repeats),
        Case(GROUP, 'ST-GCN (compact)', make_step(STGCN, device, batch),
             repeats),
        Case(FULL_GROUP, 'ours', make_step(
            STGCN, device, batch,
            dict(type='STGCN', graph_cfg=dict(layout='coco'), in_channels=3,
                 **FULL), 256), repeats),
    ]
    cases[0].note = (f'model.train_step on {device}, batch {batch}: '
                     'SkeletonRecognizer from configs/synthactions, random '
                     'joints (48 frames x 17 joints x 3)')
    targets = [Target(GROUP, 'ours', 'ST-GCN (compact)', 2.0,
                      text='partition transformer step <= 2x the compact '
                      'ST-GCN step')]
    try:
        import probpose_ext.compat.mmaction  # noqa: F401
    except ImportError:
        return cases, targets
    cases.append(Case(FULL_GROUP, 'MMAction2 STGCN', make_step(
        STGCN, device, batch,
        dict(type='mmaction.STGCN', in_channels=3,
             graph_cfg=dict(layout='coco', mode='stgcn_spatial')), 256),
        repeats))
    cases[2].note = ("the project's STGCN vs MMAction2 1.2.0's, both with "
                     "ST-GCN's 10 units (about 3.1M parameters)")
    targets.append(Target(FULL_GROUP, 'ours', 'MMAction2 STGCN', 1.0,
                          text='our ST-GCN step <= MMAction2\'s'))
    return cases, targets
