"""ONNX Runtime inside MMPose: a pose estimator whose network is an ``.onnx``
file and whose decoding is the project's own.

:class:`OnnxPoseEstimator` builds the PyTorch estimator of the config (or
of the config stored in the file), checks that the file fits it
(:func:`~probpose_ext.deploy.metadata.check_compatible`), and replaces its
backbone and neck by an ONNX Runtime session and its head's ``forward`` by
the file's outputs (:mod:`probpose_ext.deploy.heads`). Everything after
``forward`` is the PyTorch code path: flip test (two runs of the file),
the codecs' decoding, credible regions, presence, mapping to the image.
So ``tools/test.py CONFIG F.onnx`` and ``tools/infer.py IMG CONFIG F.onnx``
give the fields and metrics of the PyTorch model.
"""
import os.path as osp
import types
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config, ConfigDict
from mmengine.model import BaseModel
from mmpose.registry import MODELS
from torch import Tensor, nn

from .export import require
from .heads import head_spec
from .metadata import OnnxMetadataError, check_compatible, read_metadata

__all__ = ['OnnxNetwork', 'OnnxPoseEstimator', 'is_onnx_file', 'stored_config',
           'onnx_model_config', 'init_onnx_model', 'make_session',
           'verify_onnx']


def is_onnx_file(path: Optional[str]) -> bool:
    """Whether a checkpoint argument names an ONNX file (by extension, as
    MMDeploy picks its backend files)."""
    return isinstance(path, str) and path.lower().endswith('.onnx')


def make_session(onnx_file: str, num_threads: Optional[int] = None,
                 providers: Optional[Sequence[str]] = None):
    """An ONNX Runtime session of ``onnx_file``.

    Args:
        onnx_file (str): The file.
        num_threads (int, optional): Intra-op threads. Defaults to
            ``torch.get_num_threads()`` (the same as PyTorch's).
        providers (Sequence[str], optional): Execution providers. Defaults
            to the CPU.
    """
    require('onnxruntime')
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(num_threads or
                                       torch.get_num_threads())
    options.log_severity_level = 3
    # ONNX Runtime's workers spin after each run by default, taking the
    # cores from the PyTorch decoding that follows (seen: end to end 1.5x
    # slower than PyTorch eager with spinning, faster without)
    options.add_session_config_entry('session.intra_op.allow_spinning', '0')
    return ort.InferenceSession(
        onnx_file, options,
        providers=list(providers or ['CPUExecutionProvider']))


class OnnxNetwork(nn.Module):
    """An ONNX Runtime session as a module: ``inputs (N, 3, H, W) -> tuple
    of output tensors`` on the inputs' device.

    A file with a static batch ``B`` runs a batch of ``N`` as ``N / B``
    runs (``N`` must be a multiple of ``B``).

    Args:
        session (onnxruntime.InferenceSession): The session.
        meta (dict): The file's metadata.
        onnx_file (str): The file's name, for messages.
    """

    def __init__(self, session, meta: Dict[str, Any], onnx_file: str):
        super().__init__()
        self.session = session
        self.meta = meta
        self.onnx_file = onnx_file
        self.input_name = session.get_inputs()[0].name
        batch = meta['input']['shape'][0]
        self.static_batch = None if meta['dynamic_batch'] else int(batch)

    def _check(self, inputs: Tensor) -> None:
        expected = list(self.meta['input']['shape'][1:])
        if list(inputs.shape[1:]) != expected or inputs.dim() != 4:
            raise ValueError(
                f'{self.onnx_file} takes N x {" x ".join(map(str, expected))}'
                f' inputs, got {" x ".join(map(str, inputs.shape))}')
        if self.static_batch and inputs.shape[0] % self.static_batch:
            raise ValueError(
                f'{self.onnx_file} has a static batch of '
                f'{self.static_batch} (exported without --dynamic-batch); a '
                f'batch of {inputs.shape[0]} is not a multiple of it: '
                'export with --dynamic-batch or change the batch size')

    def forward(self, inputs: Tensor) -> tuple:
        self._check(inputs)
        x = inputs.detach().to('cpu', torch.float32).numpy()
        step = self.static_batch or x.shape[0]
        runs = [self.session.run(None, {self.input_name: x[i:i + step]})
                for i in range(0, x.shape[0], step)]
        return tuple(
            torch.from_numpy(np.concatenate(parts, 0)).to(inputs.device)
            for parts in zip(*runs))


def _attach(estimator: nn.Module, network: OnnxNetwork) -> None:
    """Run ``network`` instead of the backbone + neck and feed its outputs
    to the head's predict path as ``forward``'s return value."""
    spec = head_spec(estimator.head)
    estimator.backbone = network
    estimator.neck = None
    estimator.head.forward = types.MethodType(
        lambda head, outs: spec.forward(head, outs), estimator.head)


def _check_test_cfg(estimator: nn.Module, meta: Dict[str, Any],
                    onnx_file: str) -> None:
    """The sparsemax temperature is inside the graph: a config asking for
    another one is refused; the key is then dropped (the maps already
    carry it)."""
    test_cfg = estimator.test_cfg
    wanted = test_cfg.get('temperature', None)
    baked = meta.get('temperature')
    if wanted is not None and baked is not None and \
            abs(float(wanted) - float(baked)) > 1e-9:
        raise OnnxMetadataError(
            f'{onnx_file} holds maps at sparsemax temperature {baked}, the '
            f'config asks for test_cfg.temperature={wanted}: re-export '
            'with that config')
    if 'temperature' in test_cfg:
        estimator.test_cfg = {k: v for k, v in test_cfg.items()
                              if k != 'temperature'}


@MODELS.register_module()
class OnnxPoseEstimator(BaseModel):
    """A top-down pose estimator whose network runs from an ONNX file in
    ONNX Runtime (module docstring).

    Config::

        model = dict(type='OnnxPoseEstimator', onnx_file='work_dirs/pp.onnx',
                     model=dict(type='ProbPoseEstimator', ...))

    (``tools/test.py`` and ``tools/infer.py`` build it from the config's
    ``model`` when the checkpoint is an ``.onnx`` file.)

    Args:
        onnx_file (str): The file, written by
            ``tools/deployment/pytorch2onnx.py``.
        model (dict, optional): The PyTorch estimator's config. Defaults to
            the one stored in the file.
        num_threads (int, optional): ONNX Runtime intra-op threads.
            Defaults to PyTorch's thread count.
        providers (Sequence[str], optional): Execution providers. Defaults
            to the CPU.
        config_name (str, optional): The config's name, for messages.
        data_preprocessor, init_cfg: Not used (the estimator's data
            preprocessor is used); accepted for MMEngine.

    Raises:
        OnnxMetadataError: The file lacks this project's metadata or was
            exported from another model.
    """

    def __init__(self,
                 onnx_file: str,
                 model: Optional[dict] = None,
                 num_threads: Optional[int] = None,
                 providers: Optional[Sequence[str]] = None,
                 config_name: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        meta = read_metadata(onnx_file)
        if model is None:
            model = stored_config(meta, onnx_file).model
        check_compatible(meta, model, onnx_file, config_name)
        model = ConfigDict(model)
        if 'init_cfg' in model.get('backbone', {}):
            model.backbone.init_cfg = None
        estimator = MODELS.build(model)
        super().__init__(data_preprocessor=estimator.data_preprocessor,
                         init_cfg=None)
        _check_test_cfg(estimator, meta, onnx_file)
        self.meta = meta
        self.onnx_file = onnx_file
        _attach(estimator, OnnxNetwork(
            make_session(onnx_file, num_threads, providers), meta,
            onnx_file))
        self.estimator = estimator

    @property
    def dataset_meta(self):
        return self.estimator.dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, value):
        self.estimator.dataset_meta = value

    @property
    def test_cfg(self):
        return self.estimator.test_cfg

    def forward(self, inputs: Union[Tensor, List[Tensor]],
                data_samples=None, mode: str = 'predict'):
        """``'predict'`` as the PyTorch estimator; ``'tensor'``: the file's
        raw outputs (tuple); ``'loss'`` is refused (no training)."""
        if mode == 'loss':
            raise RuntimeError(f'{type(self).__name__} runs a frozen ONNX '
                               'graph and cannot compute losses')
        if mode == 'tensor':
            if isinstance(inputs, list):
                inputs = torch.stack(inputs)
            return self.estimator.backbone(inputs)
        return self.estimator(inputs, data_samples, mode=mode)


def stored_config(meta: Dict[str, Any], onnx_file: str) -> Config:
    """The config stored in an exported file's metadata.

    Raises:
        OnnxMetadataError: The file holds no config.
    """
    text = meta.get('config')
    if not text:
        raise OnnxMetadataError(
            f'{onnx_file} stores no config (it could not be serialised at '
            'export); give the model config')
    return Config.fromstring(text, '.py')


def onnx_model_config(cfg: Config, onnx_file: str,
                      config_name: Optional[str] = None) -> Config:
    """Turn a config's ``model`` into an :class:`OnnxPoseEstimator` of
    ``onnx_file`` (in place; ``load_from`` cleared)."""
    if not osp.isfile(onnx_file):
        raise FileNotFoundError(f'ONNX file {onnx_file!r} not found')
    if cfg.model.get('type') == 'OnnxPoseEstimator':
        cfg.model.onnx_file = onnx_file
    else:
        cfg.model = ConfigDict(type='OnnxPoseEstimator', onnx_file=onnx_file,
                               model=cfg.model, config_name=config_name)
    cfg.load_from = None
    return cfg


def init_onnx_model(config: Union[str, Config, None], onnx_file: str,
                    device: str = 'cpu', num_threads: Optional[int] = None):
    """Like :func:`mmpose.apis.init_model`, for an ONNX file: the model that
    :func:`mmpose.apis.inference_topdown` takes.

    Args:
        config (str | Config | None): The model config; None: the config
            stored in the file.
        onnx_file (str): The exported file.
        device (str): Where the decoding runs (the network runs in ONNX
            Runtime on the CPU).
        num_threads (int, optional): ONNX Runtime threads.

    Returns:
        OnnxPoseEstimator: With ``cfg`` and ``dataset_meta`` set, in eval
        mode.
    """
    from mmengine.registry import init_default_scope
    from mmpose.apis.inference import dataset_meta_from_config
    name = config if isinstance(config, str) else None
    if config is None:
        config = stored_config(read_metadata(onnx_file), onnx_file)
        name = f'the config stored in {onnx_file}'
    elif isinstance(config, str):
        config = Config.fromfile(config)
    init_default_scope(config.get('default_scope', 'mmpose'))
    cfg = onnx_model_config(config.copy(), onnx_file, name)
    cfg.model.num_threads = num_threads
    model = MODELS.build(cfg.model)
    meta = dataset_meta_from_config(config, dataset_mode='train')
    if meta is not None:
        model.dataset_meta = meta
    model.cfg = config
    return model.to(device).eval()


def verify_onnx(estimator: nn.Module, onnx_file: str,
                batches: Sequence[int] = (1, ), seed: int = 0,
                num_threads: Optional[int] = None) -> Dict[int, Dict[str,
                                                                    float]]:
    """Run ONNX Runtime and PyTorch on the same random batches and return
    the largest absolute difference of each output.

    Args:
        estimator (nn.Module): The exported PyTorch estimator.
        onnx_file (str): Its exported file.
        batches (Sequence[int]): Batch sizes to compare (a static file
            takes multiples of its batch).
        seed (int): Seed of the standard-normal inputs.
        num_threads (int, optional): ONNX Runtime threads.

    Returns:
        dict: batch -> output name -> max |ONNX Runtime - PyTorch|.
    """
    from .export import ExportGraph, random_inputs
    meta = read_metadata(onnx_file)
    network = OnnxNetwork(make_session(onnx_file, num_threads), meta,
                          onnx_file)
    graph = ExportGraph(estimator.eval())
    result = {}
    for batch in batches:
        x = torch.from_numpy(random_inputs(meta, batch, seed + batch))
        with torch.no_grad():
            ref = graph(x)
        got = network(x)
        result[batch] = {
            name: float((a.float() - b.float()).abs().max())
            for name, a, b in zip(graph.output_names, got, ref)}
    return result
