"""ONNX export and ONNX Runtime inference (``tools/deployment/``,
docs/deploy.md).

Importing this package registers :class:`OnnxPoseEstimator`; ``onnx``,
``onnxscript`` and ``onnxruntime`` are imported only when a file is
exported or run (``pip install -e '.[deploy]'``).
"""
from .export import (DEFAULT_OPSET, DEPLOY_HINT, MIN_OPSET, ExportGraph,
                     export_onnx, random_inputs, require)
from .heads import HEAD_SPECS, HeadSpec, head_spec
from .metadata import (META_KEY, OnnxMetadataError, check_compatible,
                       read_metadata)
from .runtime import (OnnxNetwork, OnnxPoseEstimator, init_onnx_model,
                      is_onnx_file, make_session, onnx_model_config,
                      stored_config, verify_onnx)

__all__ = [
    'DEFAULT_OPSET', 'DEPLOY_HINT', 'MIN_OPSET', 'ExportGraph', 'export_onnx',
    'random_inputs', 'require', 'HEAD_SPECS', 'HeadSpec', 'head_spec',
    'META_KEY', 'OnnxMetadataError', 'check_compatible', 'read_metadata',
    'OnnxNetwork', 'OnnxPoseEstimator', 'init_onnx_model', 'is_onnx_file',
    'make_session', 'onnx_model_config', 'stored_config', 'verify_onnx'
]
