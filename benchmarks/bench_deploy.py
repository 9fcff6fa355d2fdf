"""ONNX Runtime against PyTorch eager on the CPU, with the same thread count
(``--threads``), for each 2D zoo model: the network alone (normalised crops
-> the head's outputs, the exported graph) and end to end (MMPose's
``inference_topdown`` on an image with person boxes: affine crop, data
preprocessing, network with the configs' flip test, the project's
decoding), at batch 1 and 32 crops of a SynthPose image (in-domain: the
exported sparsemax takes a partial sort, and the full sort only where a
map's support may be longer than 512 pixels, as on flat maps of random
inputs).

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
MODELS_2D = ('synthpose-heatmap', 'synthpose-probpose',
             'synthpose-probpose-dh', 'synthpose-tic')
NETWORK, E2E = 'network', 'end to end'


def synth_image(folder: str) -> Tuple[str, np.ndarray]:
    """A SynthPose val image (drawn with seed 7, which no zoo split uses)
    and its first person's box ``xyxy``: in-domain crops, whose maps are
    peaked as in use (random inputs give flat maps)."""
    import json

    from probpose_ext.datasets.generators.synthpose import make_synthpose
    root = osp.join(folder, 'synthpose')
    make_synthpose(root, num_train=0, num_val=1, seed=7, workers=1,
                   progress=False)
    with open(osp.join(root, 'annotations',
                       'person_keypoints_val.json')) as f:
        coco = json.load(f)
    x, y, w, h = coco['annotations'][0]['bbox']
    image = osp.join(root, 'val', coco['images'][0]['file_name'])
    return image, np.array([x, y, x + w, y + h], dtype=np.float32)


def _boxes(box: np.ndarray, batch: int) -> np.ndarray:
    """``batch`` boxes around ``box``, shifted by up to 5% of its size
    (different crops)."""
    size = np.tile(box[2:] - box[:2], 2)
    shift = np.random.default_rng(0).uniform(-0.05, 0.05, (batch, 2))
    return (box[None] + np.tile(shift, 2) * size).astype(np.float32)


def _crops(model, image: str, boxes: np.ndarray) -> torch.Tensor:
    """The normalised crops the model's test pipeline and data
    preprocessor make of ``boxes``."""
    from mmengine.dataset import Compose, pseudo_collate
    pipeline = Compose(model.cfg.test_dataloader.dataset.pipeline)
    items = [pipeline(dict(img_path=image, bbox=b[None],
                           bbox_score=np.ones(1, np.float32),
                           **model.dataset_meta)) for b in boxes]
    return model.data_preprocessor(pseudo_collate(items), False)['inputs']


def _network_fn(graph, x: torch.Tensor):

    def run():
        with torch.no_grad():
            return graph(x)

    return run


def _e2e_fn(model, image: str, boxes: np.ndarray):
    from mmpose.apis import inference_topdown

    def run():
        return inference_topdown(model, image, boxes)

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
    image, box = synth_image(folder)
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
            boxes = _boxes(box, batch)
            x = _crops(estimator, image, boxes)
            group = f'{NETWORK} {name}, batch {batch}'
            cases += [Case(group, 'ours', _network_fn(network, x), repeats),
                      Case(group, 'PyTorch eager', _network_fn(graph, x),
                           repeats)]
            cases[-2].note = (
                f'{batch} normalised 128x96 crops of a SynthPose image -> '
                'head outputs; ours = ONNX Runtime ' + _ort_version() +
                f', {torch.get_num_threads()} thread(s) both')
            targets.append(Target(group, 'ours', 'PyTorch eager', 0.7,
                                  text=f'{name}, batch {batch}: ONNX '
                                  "Runtime network time <= 0.7x PyTorch's"))
            group = f'{E2E} {name}, batch {batch}'
            cases += [
                Case(group, 'ours', _e2e_fn(onnx_model, image, boxes),
                     repeats),
                Case(group, 'PyTorch eager', _e2e_fn(estimator, image,
                                                     boxes), repeats)]
            cases[-2].note = (
                f'inference_topdown on a SynthPose image with {batch} person '
                'boxes: affine crops, network (flip test: 2 runs), decoding')
    return cases, targets


def _ort_version() -> str:
    import onnxruntime
    return onnxruntime.__version__
