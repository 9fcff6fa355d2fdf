"""One training step of ProbMapHead against MMPose's HeatmapHead.

Both models are built from the SynthPose demo configs, which share
everything but the head (and its codec, loss and crop augmentation):
``configs/synthpose/probpose_vit-tiny_synthpose-128x96.py`` (``ours``) and
``configs/synthpose/td-hm_vit-tiny_synthpose-128x96.py`` (``HeatmapHead``):
an mmpretrain ViT-tiny backbone (4 layers, patch 8), the ViTPose simple
decoder, 128x96 input and 32x24 maps. The step is what MMEngine's training
loop runs per iteration, ``model.train_step(data, optim_wrapper)``: data
preprocessing, forward, losses, backward, gradient clipping and the AdamW
update, with the configs' optimiser wrappers.

The batch is fixed: 16 instances of a few SynthPose images generated into a
temporary directory, each passed once through its config's own training
pipeline (random augmentations seeded identically for both configs, target
encoding by each config's codec) and collated as MMEngine's data loader
does. Both models are built with the same seed and without pretrained
weights (``init_cfg=None``), so their backbones start identical.
"""
import contextlib
import io
import logging
import os.path as osp
import random
import tempfile
from typing import Any, Dict, List, Tuple

import numpy as np
import torch

from _harness import Case, Target

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = {
    'ours': 'configs/synthpose/probpose_vit-tiny_synthpose-128x96.py',
    'HeatmapHead': 'configs/synthpose/td-hm_vit-tiny_synthpose-128x96.py',
}
GROUP = 'train step (ViT-tiny, batch 16, 128x96)'
BATCH = 16
#: SynthPose images to generate (8 images hold 16 instances with seed 0;
#: instances are reused cyclically if there are fewer).
NUM_IMAGES = 8
SEED = 0


def make_images(out_dir: str) -> str:
    """Generate a few SynthPose training images with their COCO annotations.

    Args:
        out_dir (str): An empty temporary directory.

    Returns:
        str: The data root, laid out as the configs expect.
    """
    from probpose_ext.datasets.generators.synthpose import make_synthpose
    data_root = osp.join(out_dir, 'synthpose')
    make_synthpose(data_root, num_train=NUM_IMAGES, num_val=0, seed=SEED,
                   workers=1, progress=False)
    return data_root


def make_batch(cfg: Any, data_root: str) -> Dict[str, list]:
    """A collated batch of :data:`BATCH` instances from the config's training
    pipeline, with seeded augmentations.

    Args:
        cfg (Config): The model config.
        data_root (str): SynthPose root from :func:`make_images`.

    Returns:
        dict: ``inputs`` (list of uint8 image tensors) and ``data_samples``
        (list of ``PoseDataSample``), as MMEngine's ``pseudo_collate``
        gives the model.
    """
    from mmengine.dataset import pseudo_collate
    from mmpose.registry import DATASETS

    dataset_cfg = cfg.train_dataloader.dataset.copy()
    dataset_cfg.data_root = data_root + '/'
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools' prints
        dataset = DATASETS.build(dataset_cfg)
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    return pseudo_collate(
        [dataset[i % len(dataset)] for i in range(BATCH)])


def make_model(cfg: Any, device: str) -> Tuple[torch.nn.Module, Any]:
    """The pose estimator of ``cfg`` (no pretrained weights) and its
    optimiser wrapper, in training mode on ``device``."""
    from mmengine.logging import MMLogger
    from mmengine.optim import build_optim_wrapper
    from mmpose.registry import MODELS

    model_cfg = cfg.model.copy()
    model_cfg.backbone.init_cfg = None
    model_cfg.head.init_cfg = None
    torch.manual_seed(SEED)
    model = MODELS.build(model_cfg).to(device)
    # as MMEngine's runner does; quietly (it logs every parameter at INFO)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
    model.train()
    return model, build_optim_wrapper(model, cfg.optim_wrapper)


def train_step(model: torch.nn.Module, optim_wrapper: Any,
               data: Dict[str, list], device: str) -> Dict[str, Any]:
    """One MMEngine training iteration on ``data`` (waits for the GPU)."""
    log_vars = model.train_step(data, optim_wrapper)
    if device == 'cuda':
        torch.cuda.synchronize()
    return log_vars


def build(quick: bool) -> Tuple[List[Case], List[Target]]:
    """Cases ``ours`` (ProbMapHead) and ``HeatmapHead`` of the group
    ``train step (ViT-tiny, batch 16, 128x96)``, and the target
    ours <= 1.10 x HeatmapHead."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import probpose_ext  # noqa: F401  (registers the head, codec, dataset)

    init_default_scope('mmpose')
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    repeats = 2 if quick else 15
    cases = []
    with tempfile.TemporaryDirectory(prefix='bench_head_') as tmp:
        data_root = make_images(tmp)
        for name, config in CONFIGS.items():
            cfg = Config.fromfile(osp.join(REPO, config))
            data = make_batch(cfg, data_root)
            model, optim_wrapper = make_model(cfg, device)
            cases.append(
                Case(GROUP, name,
                     lambda m=model, o=optim_wrapper, d=data: train_step(
                         m, o, d, device),
                     repeats=repeats, warmup=1))
    # One step of each model before the harness times either, so that both
    # have their optimiser states and the allocator's pools are warm for
    # both: otherwise the first case measured pays for them in peak memory.
    for case in cases:
        case.fn()
    cases[0].note = (
        f'model.train_step on {device}: preprocessing, forward, losses, '
        'backward, grad clipping, AdamW; same seed and backbone, each '
        "config's own pipeline and codec on the same 16 SynthPose instances")
    targets = [
        Target(GROUP, 'ours', 'HeatmapHead', 1.10,
               text='training step <= 1.10x HeatmapHead')
    ]
    return cases, targets
