"""The ONNX file's ``metadata_props``: everything needed to feed and decode
the graph without the config, and the checks that a file fits a config.

One key, :data:`META_KEY`, holds a JSON object (:func:`read_metadata`
returns it as a dict)::

    format        1
    producer      'probpose_ext <version>'
    head, kind    head class and family (probpose_ext.deploy.heads)
    num_keypoints K
    input         {name, shape [N|'batch', 3, H, W], layout 'NCHW', mean,
                   std, bgr_to_rgb, description}
    outputs       [{name, shape, description}, ...] in graph order
    codec         the head's decoder config (MMPose codec dict)
    temperature   the sparsemax temperature baked into the maps (ProbPose)
    test_cfg      the model's test_cfg at export
    opset, precision ('fp32' | 'fp16'), dynamic_batch
    dataset_meta  dataset_name, keypoint names, flip_indices, sigmas
    config        the merged MMEngine config (pretty text), so the file
                  alone rebuilds the decoding side of the model

A few entries are also written as plain keys (``input_shape``,
``output_names``, ``mean``, ``std``, ``opset``) for model viewers such as
Netron.
"""
import json
import os.path as osp
from typing import Any, Dict, List, Mapping, Optional

from ..utils.jsonable import to_jsonable

__all__ = ['META_KEY', 'FORMAT', 'OnnxMetadataError', 'read_metadata',
           'write_metadata', 'check_compatible', 'config_summary']

#: The metadata key holding the JSON object.
META_KEY = 'probpose_ext'
#: Version of the metadata layout.
FORMAT = 1
_PLAIN_KEYS = ('input_shape', 'output_names', 'mean', 'std', 'opset')


class OnnxMetadataError(ValueError):
    """An ONNX file lacks this project's metadata or does not fit the
    config it is used with."""


def _plain_values(meta: Mapping[str, Any]) -> Dict[str, str]:
    return dict(
        input_shape=json.dumps(meta['input']['shape']),
        output_names=','.join(o['name'] for o in meta['outputs']),
        mean=json.dumps(meta['input']['mean']),
        std=json.dumps(meta['input']['std']),
        opset=str(meta['opset']))


def write_metadata(model, meta: Mapping[str, Any]) -> None:
    """Write ``meta`` into an ``onnx.ModelProto``'s ``metadata_props``
    (replacing earlier entries of ours)."""
    values = dict(_plain_values(meta))
    values[META_KEY] = json.dumps(to_jsonable(dict(meta)), allow_nan=False)
    keep = [p for p in model.metadata_props
            if p.key not in values]
    del model.metadata_props[:]
    model.metadata_props.extend(keep)
    for key, value in values.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value


def read_metadata(source) -> Dict[str, Any]:
    """This project's metadata of an ONNX file.

    Args:
        source (str | onnx.ModelProto | dict): A file path, a loaded model,
            or ONNX Runtime's ``custom_metadata_map`` (str -> str).

    Returns:
        dict: The JSON object of :data:`META_KEY` (module docstring).

    Raises:
        FileNotFoundError: No such file.
        OnnxMetadataError: The file has no (or unreadable) metadata of ours.
    """
    name = source if isinstance(source, str) else 'the ONNX model'
    if isinstance(source, str):
        if not osp.isfile(source):
            raise FileNotFoundError(f'ONNX file {source!r} not found')
        import onnx
        try:
            source = onnx.load(source, load_external_data=False)
        except Exception as e:  # protobuf's DecodeError and friends
            raise OnnxMetadataError(
                f'{name} is not a readable ONNX file: {e}') from e
    props = source if isinstance(source, Mapping) else {
        p.key: p.value for p in source.metadata_props}
    if META_KEY not in props:
        raise OnnxMetadataError(
            f'{name} has no probpose_ext metadata (metadata_props key '
            f'{META_KEY!r}): it was not written by '
            'tools/deployment/pytorch2onnx.py, so its input normalisation, '
            'outputs and codec are unknown. Export the model with '
            'tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT')
    try:
        meta = json.loads(props[META_KEY])
    except json.JSONDecodeError as e:
        raise OnnxMetadataError(
            f'{name}: metadata {META_KEY!r} is not JSON: {e}') from e
    if meta.get('format') != FORMAT:
        raise OnnxMetadataError(
            f'{name}: metadata format {meta.get("format")!r}, this version '
            f'of probpose_ext reads format {FORMAT}; re-export the model')
    return meta


def _input_hw(codec: Mapping[str, Any]) -> List[int]:
    width, height = codec['input_size']
    return [int(height), int(width)]


def config_summary(model_cfg: Mapping[str, Any]) -> Dict[str, Any]:
    """What a model config says about the exported graph's interface: head
    type, keypoints, input size (H, W) and codec (JSON-normalised)."""
    head = model_cfg.get('head', {})
    codec = to_jsonable(dict(head.get('decoder') or {}))
    return dict(head=head.get('type'),
                num_keypoints=head.get('out_channels'),
                input_hw=_input_hw(codec) if 'input_size' in codec else None,
                codec=codec)


def _describe(k, hw) -> str:
    shape = 'x'.join(str(v) for v in [3, *hw]) if hw else '?'
    return f'{k} keypoints, input {shape} (C x H x W)'


def check_compatible(meta: Mapping[str, Any], model_cfg: Mapping[str, Any],
                     onnx_file: str = 'the ONNX file',
                     config: Optional[str] = None) -> None:
    """Refuse an ONNX file exported from another model than ``model_cfg``.

    Compares the head type, the keypoint count, the input size and the
    codec settings.

    Args:
        meta (Mapping): :func:`read_metadata` of the file.
        model_cfg (Mapping): The config's ``model`` dict.
        onnx_file (str): The file's name, for messages.
        config (str, optional): The config's name, for messages.

    Raises:
        OnnxMetadataError: Naming both sides' shapes (or codecs).
    """
    config = config or 'the config'
    ours = config_summary(model_cfg)
    file_hw = list(meta['input']['shape'][2:])
    k_file = meta['num_keypoints']
    if ours['num_keypoints'] != k_file or ours['input_hw'] != file_hw:
        raise OnnxMetadataError(
            f'{onnx_file} was exported from another model: '
            f'{_describe(k_file, file_hw)} in the file, '
            f'{_describe(ours["num_keypoints"], ours["input_hw"])} in '
            f'{config}')
    if ours['head'] != meta['head']:
        raise OnnxMetadataError(
            f'{onnx_file} holds a {meta["head"]} graph, {config} a '
            f'{ours["head"]}')
    if ours['codec'] != meta['codec']:
        diff = sorted(k for k in set(ours['codec']) | set(meta['codec'])
                      if ours['codec'].get(k) != meta['codec'].get(k))
        raise OnnxMetadataError(
            f'{onnx_file} was exported with other codec settings than '
            f'{config} (differing: ' + ', '.join(
                f'{k}: {meta["codec"].get(k)!r} in the file, '
                f'{ours["codec"].get(k)!r} in the config' for k in diff) +
            ')')
