"""ONNX Runtime against PyTorch eager on the CPU, with the same thread count
(``--threads``), for each 2D zoo model: the network alone (normalised crops
-> the head's outputs, the exported graph) and end to end (MMPose's
``inference_topdown`` on an image with person boxes: affine crop, data
preprocessing, network with the configs' flip test, the project's
decoding), at batch 1 and 32 crops.

Groups ``network <model>, batch B`` and ``end to end <model>, batch B``:
``ours`` = ONNX Runtime (the file of ``tools/deployment/pytorch2onnx.py
--dynamic-batch``, fp32), baseline ``PyTorch eager`` (the zoo checkpoint).
Crops per second = B / median time. Target: ONNX Runtime's network time at
most 0.7x PyTorch's.
"""
import os.path as osp
import tempfile
from typing import List, Tuple

import numpy as np
import torch

from _harness import Case, Target

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
IMAGE = osp.join(REPO, 'tests', 'data', 'coco', '000000000785.jpg')
BOX = np.array([280.0, 40.0, 470.0, 400.0], dtype=np.float32)
MODELS_2D = ('synthpose-heatmap', 'synthpose-probpose',
             'synthpose-probpose-dh', 'synthpose-tic')
NETWORK, E2E = 'network', 'end to end'


def _boxes(batch: int) -> np.ndarray:
    """``batch`` boxes around the person of :data:`IMAGE`, shifted by up to
    10 px (different crops)."""
    shift = np.random.default_rng(0).uniform(-10, 10, (batch, 2))
    return (BOX[None] + np.tile(shift, 2)).astype(np.float32)


def _network_fn(model, graph, batch: int):
    x = torch.randn(batch, 3, 128, 96,
                    generator=torch.Generator().manual_seed(batch))

    def run():
        with torch.no_grad():
            return graph(x)

    return run


def _e2e_fn(model, batch: int):
    from mmpose.apis import inference_topdown
    boxes = _boxes(batch)

    def run():
        return inference_topdown(model, IMAGE, boxes)

    return run


def build(quick: bool) -> Tuple[List[Case], List[Target]]:
    """The groups and their targets."""
    from mmengine.registry import init_default_scope

    import probpose_ext  # noqa: F401
    from probpose_ext.apis.deploy import load_estimator
    from probpose_ext.deploy import (ExportGraph, OnnxNetwork,
                                     export_onnx, init_onnx_model,
                                     make_session)

    init_default_scope('mmpose')
    names = MODELS_2D[1:2] if quick else MODELS_2D
    batches = (1, 4) if quick else (1, 32)
    repeats = 2 if quick else 10
    folder = tempfile.mkdtemp(prefix='bench_deploy_')
    cases, targets = [], []
    for name in names:
        estimator, cfg = load_estimator(name, None)
        estimator.cfg = cfg
        onnx_file = osp.join(folder, f'{name}.onnx')
        meta = export_onnx(estimator, cfg, onnx_file, dynamic_batch=True)
        network = OnnxNetwork(make_session(onnx_file), meta, onnx_file)
        graph = ExportGraph(estimator)
        onnx_model = init_onnx_model(cfg, onnx_file)
        for batch in batches:
            group = f'{NETWORK} {name}, batch {batch}'
            cases += [
                Case(group, 'ours', _network_fn(None, network, batch),
                     repeats),
                Case(group, 'PyTorch eager', _network_fn(None, graph, batch),
                     repeats)]
            cases[-2].note = (
                f'{batch} normalised 128x96 crops -> head outputs; ours = '
                'ONNX Runtime ' + _ort_version() + ', '
                f'{torch.get_num_threads()} thread(s) both')
            targets.append(Target(group, 'ours', 'PyTorch eager', 0.7,
                                  text=f'{name}, batch {batch}: ONNX '
                                  "Runtime network time <= 0.7x PyTorch's"))
            group = f'{E2E} {name}, batch {batch}'
            cases += [
                Case(group, 'ours', _e2e_fn(onnx_model, batch), repeats),
                Case(group, 'PyTorch eager', _e2e_fn(estimator, batch),
                     repeats)]
            cases[-2].note = (
                f'inference_topdown on a 640x425 image with {batch} person '
                'boxes: affine crops, network (flip test: 2 runs), decoding')
    return cases, targets


def _ort_version() -> str:
    import onnxruntime
    return onnxruntime.__version__
