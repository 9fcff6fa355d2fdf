"""Export a top-down pose estimator to one ONNX graph, from the normalised
input crop to the head's outputs (:mod:`probpose_ext.deploy.heads`), with
the metadata that decodes it (:mod:`probpose_ext.deploy.metadata`).

The exporter is PyTorch's ``torch.onnx.export(..., dynamo=True)``
(``torch.export`` underneath). TorchScript's exporter cannot take the
ProbPose head (the presence branch's grid pooling: "adaptive_avg_pool2d,
input size not accessible"). Sparsemax takes its sort-based threshold while
tracing (:func:`probpose_ext.ops.simplex.exporting`), which exports as
ordinary ONNX operators (TopK, CumSum, comparisons); the grouped Newton CPU
path stays out of the graph.
"""
import copy
import os
import os.path as osp
import warnings
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor, nn

from ..utils.jsonable import to_jsonable
from ..version import __version__
from .heads import head_spec
from .metadata import FORMAT, write_metadata

__all__ = ['MIN_OPSET', 'DEFAULT_OPSET', 'ExportGraph', 'export_onnx',
           'require', 'DEPLOY_HINT']

#: The lowest opset written: the dynamo exporter produces opset 18 at
#: least (asked for less, it warns and writes 18 anyway); sparsemax itself
#: needs 11 (TopK with a k input, CumSum).
MIN_OPSET = 18
DEFAULT_OPSET = 18
#: What to install for the deploy tools.
DEPLOY_HINT = ("pip install -e '.[deploy]' (onnx, onnxruntime, onnxscript, "
               'onnx-ir; `make install` does it)')


def require(*modules: str) -> None:
    """Import-check the deploy dependencies, with what to install.

    Raises:
        ImportError: Naming the missing modules and :data:`DEPLOY_HINT`.
    """
    import importlib
    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise ImportError(f'ONNX deployment needs {", ".join(missing)}: '
                          f'{DEPLOY_HINT}')


class ExportGraph(nn.Module):
    """The exported network: ``input crop -> estimator.extract_feat ->
    head.forward -> spec.graph`` (a tuple of tensors, names in
    ``spec.outputs``).

    ProbPose heads' maps are at the test temperature (``test_cfg.
    temperature``, else the head's training temperature); they are
    renormalised from the logits only where the two differ.

    With ``fp16`` the estimator's weights and arithmetic are float16 (it
    is converted in place: pass a copy), the input and outputs float32;
    sparsemax still computes in float32 (:func:`~probpose_ext.ops.sparsemax`
    upcasts half-precision logits).

    Args:
        estimator (nn.Module): A top-down pose estimator (eval mode).
        fp16 (bool): Float16 inside. Defaults to False.
    """

    def __init__(self, estimator: nn.Module, fp16: bool = False):
        super().__init__()
        self.fp16 = bool(fp16)
        self.estimator = estimator.half() if self.fp16 else estimator
        self.spec = head_spec(estimator.head)
        head = estimator.head
        #: the maps' sparsemax temperature (ProbPose heads), else None
        self.temperature = None
        self._renormalise = None
        if hasattr(head, 'normalise'):
            test = (estimator.test_cfg or {}).get('temperature', None)
            self.temperature = float(head.temperature if test is None
                                     else test)
            if self.temperature != float(head.temperature):
                self._renormalise = self.temperature

    @property
    def output_names(self) -> Tuple[str, ...]:
        return tuple(self.spec.outputs)

    def forward(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        head = self.estimator.head
        if self.fp16:
            inputs = inputs.half()
        out = head.forward(self.estimator.extract_feat(inputs))
        return tuple(o.float() for o in self.spec.graph(
            head, out, self._renormalise))


def _preprocess_meta(estimator: nn.Module) -> Dict[str, Any]:
    pre = estimator.data_preprocessor
    mean = getattr(pre, 'mean', None)
    std = getattr(pre, 'std', None)
    return dict(
        mean=None if mean is None else mean.flatten().tolist(),
        std=None if std is None else std.flatten().tolist(),
        bgr_to_rgb=bool(getattr(pre, '_channel_conversion', False)))


def _dataset_meta(estimator: nn.Module) -> Dict[str, Any]:
    meta = getattr(estimator, 'dataset_meta', None) or {}
    names = meta.get('keypoint_id2name')
    return dict(
        dataset_name=meta.get('dataset_name'),
        keypoint_names=None if names is None else
        [names[i] for i in sorted(names)],
        flip_indices=meta.get('flip_indices'),
        sigmas=meta.get('sigmas'))


def _config_text(config) -> Optional[str]:
    try:
        return config.pretty_text
    except Exception:  # e.g. a config holding a function: not storable
        return None


def build_metadata(estimator: nn.Module, graph: ExportGraph, config,
                   input_shape: Sequence[int], output_shapes: Sequence[
                       Sequence[Any]], opset: int, dynamic_batch: bool,
                   fp16: bool) -> Dict[str, Any]:
    """The metadata object (:mod:`probpose_ext.deploy.metadata`)."""
    batch = 'batch' if dynamic_batch else int(input_shape[0])
    head = estimator.head
    return dict(
        format=FORMAT,
        producer=f'probpose_ext {__version__}',
        head=type(head).__name__,
        kind=graph.spec.kind,
        num_keypoints=int(head.out_channels),
        input=dict(
            name='input', shape=[batch, *map(int, input_shape[1:])],
            layout='NCHW',
            description='person crop after the affine transform '
            '(TopdownAffine), float32, (pixel - mean) / std with channels '
            'in RGB order if bgr_to_rgb, else as loaded',
            **_preprocess_meta(estimator)),
        outputs=[dict(name=name, shape=[batch, *shape[1:]],
                      description=graph.spec.outputs[name])
                 for name, shape in zip(graph.output_names, output_shapes)],
        codec=to_jsonable(dict(config.model.head.decoder)),
        temperature=graph.temperature,
        test_cfg=dict(estimator.test_cfg or {}),
        opset=int(opset),
        precision='fp16' if fp16 else 'fp32',
        dynamic_batch=bool(dynamic_batch),
        dataset_meta=_dataset_meta(estimator),
        config=_config_text(config))


def export_onnx(estimator: nn.Module,
                config,
                output_file: str,
                input_shape: Optional[Sequence[int]] = None,
                opset: int = DEFAULT_OPSET,
                dynamic_batch: bool = False,
                fp16: bool = False) -> Dict[str, Any]:
    """Export ``estimator`` to ``output_file`` (one self-contained file).

    Args:
        estimator (nn.Module): A top-down pose estimator with weights loaded
            (put in eval mode here), on the CPU.
        config (mmengine.Config): Its config (``model.head.decoder`` is
            the codec written into the metadata; the merged text is stored
            so that the file alone rebuilds the decoding side).
        output_file (str): The ``.onnx`` file (parent folders are made).
        input_shape (Sequence[int], optional): ``(N, 3, H, W)``; N is the
            batch of a static graph. Defaults to ``(1, 3, H, W)`` of the
            codec's input size. H and W must be the codec's.
        opset (int): ONNX opset, at least :data:`MIN_OPSET`.
        dynamic_batch (bool): Make the batch axis dynamic.
        fp16 (bool): Float16 weights and arithmetic inside (sparsemax in
            float32), float32 input and outputs.

    Returns:
        dict: The metadata written.

    Raises:
        ValueError: Opset too low, or an input shape that is not the
            codec's.
        ImportError: onnx / onnxscript missing (:data:`DEPLOY_HINT`).
    """
    if int(opset) < MIN_OPSET:
        raise ValueError(
            f'opset {opset} is below {MIN_OPSET}: the exporter '
            '(torch.onnx, dynamo) writes opset 18 at least, and sparsemax '
            'needs TopK and CumSum (opset 11); use --opset-version 18 or '
            'higher')
    require('onnx', 'onnxscript')
    import onnx
    estimator = estimator.eval()
    codec_w, codec_h = estimator.head.decoder.input_size
    if input_shape is None:
        input_shape = (1, 3, codec_h, codec_w)
    input_shape = tuple(int(v) for v in input_shape)
    if len(input_shape) != 4 or input_shape[1] != 3 or input_shape[0] < 1 \
            or input_shape[2:] != (codec_h, codec_w):
        raise ValueError(
            f'input shape {list(input_shape)} does not fit the model: it '
            f'takes N x 3 x {codec_h} x {codec_w} crops (N >= 1; the '
            "codec's input_size is W x H = "
            f'{codec_w} x {codec_h})')
    graph = ExportGraph(copy.deepcopy(estimator) if fp16 else estimator,
                        fp16=fp16)
    # a dynamic batch is traced with a batch of 2: torch.export
    # specialises sizes 0 and 1
    example = torch.randn(
        (max(2, input_shape[0]) if dynamic_batch else input_shape[0], )
        + input_shape[1:], generator=torch.Generator().manual_seed(0))
    dynamic = ({0: torch.export.Dim('batch', min=1, max=65536)}, ) \
        if dynamic_batch else None
    os.makedirs(osp.dirname(osp.abspath(output_file)), exist_ok=True)
    with torch.no_grad():
        shapes = [tuple(o.shape) for o in graph(example)]
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            program = torch.onnx.export(
                graph, (example, ), None, dynamo=True, opset_version=opset,
                input_names=['input'], output_names=list(graph.output_names),
                dynamic_shapes=dynamic, external_data=False, verbose=False)
    model = program.model_proto
    written_opset = max(o.version for o in model.opset_import
                        if o.domain in ('', 'ai.onnx'))
    meta = to_jsonable(build_metadata(estimator, graph, config, input_shape,
                                      shapes, written_opset, dynamic_batch,
                                      fp16))
    write_metadata(model, meta)
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, output_file)
    return meta


def random_inputs(meta: Dict[str, Any], batch: int,
                  seed: int = 0) -> np.ndarray:
    """A random normalised input batch (standard normal) of the file's
    input shape with ``batch`` rows."""
    shape = [batch, *meta['input']['shape'][1:]]
    return np.random.default_rng(seed).standard_normal(shape).astype(
        np.float32)
