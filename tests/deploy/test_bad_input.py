"""Refusals with messages: files without our metadata, files of another
model (keypoints, input size, codec, head, temperature), opsets below the
exporter's, shapes the codec cannot decode, missing deploy packages."""
import onnx
import pytest

from probpose_ext.apis.deploy import export_main
from probpose_ext.deploy import (MIN_OPSET, OnnxMetadataError,
                                 OnnxPoseEstimator, export_onnx,
                                 read_metadata, require)
from tests.conftest import REPO
from tests.deploy._models import load_config, random_estimator
from tests.deploy.conftest import TEST_TEMPERATURE


def _probmap_cfg(**test_cfg):
    return load_config('probmap',
                       **dict(dict(temperature=TEST_TEMPERATURE), **test_cfg))


def test_file_without_metadata(exported, tmp_path):
    path = exported('probmap')[2]
    model = onnx.load(path)
    del model.metadata_props[:]
    bare = tmp_path / 'bare.onnx'
    onnx.save(model, str(bare))
    with pytest.raises(OnnxMetadataError,
                       match='has no probpose_ext metadata.*pytorch2onnx'):
        read_metadata(str(bare))
    with pytest.raises(OnnxMetadataError, match='no probpose_ext metadata'):
        OnnxPoseEstimator(str(bare), _probmap_cfg().model)
    text = tmp_path / 'text.onnx'
    text.write_text('not a model')
    with pytest.raises(OnnxMetadataError, match='not a readable ONNX file'):
        read_metadata(str(text))
    with pytest.raises(FileNotFoundError, match='nope.onnx'):
        read_metadata(str(tmp_path / 'nope.onnx'))


def test_file_of_another_model_names_both_shapes(exported):
    path = exported('probmap')[2]
    other_k = _probmap_cfg()
    other_k.model.head.out_channels = 14
    with pytest.raises(OnnxMetadataError, match=(
            r'17 keypoints, input 3x128x96 \(C x H x W\) in the file, '
            r'14 keypoints, input 3x128x96 \(C x H x W\) in the config')):
        OnnxPoseEstimator(path, other_k.model)
    other_size = _probmap_cfg()
    other_size.model.head.decoder.input_size = (192, 256)
    with pytest.raises(OnnxMetadataError, match=(
            r'input 3x128x96 .* in the file, 17 keypoints, input 3x256x192')):
        OnnxPoseEstimator(path, other_size.model)


def test_other_codec_head_or_temperature(exported):
    path = exported('probmap')[2]
    codec = _probmap_cfg()
    codec.model.head.decoder.decision = 'expected_oks'
    with pytest.raises(OnnxMetadataError, match=(
            "other codec settings.*decision: 'coco_ap' in the file, "
            "'expected_oks' in the config")):
        OnnxPoseEstimator(path, codec.model)
    with pytest.raises(OnnxMetadataError, match='holds a ProbMapHead graph'):
        OnnxPoseEstimator(path, load_config('tic').model)
    with pytest.raises(OnnxMetadataError,
                       match='temperature 0.05, the config asks for '
                       'test_cfg.temperature=0.3'):
        OnnxPoseEstimator(path, _probmap_cfg(temperature=0.3).model)
    # the same temperature is accepted
    OnnxPoseEstimator(path, _probmap_cfg().model)


def test_low_opset_and_bad_shapes_are_refused_before_exporting(tmp_path):
    estimator, cfg = random_estimator('heatmap')
    out = tmp_path / 'x.onnx'
    with pytest.raises(ValueError, match=f'opset 17 is below {MIN_OPSET}'):
        export_onnx(estimator, cfg, str(out), opset=17)
    with pytest.raises(ValueError, match=(
            r'input shape \[1, 3, 256, 192\] does not fit the model: it '
            r'takes N x 3 x 128 x 96 crops')):
        export_onnx(estimator, cfg, str(out), input_shape=(1, 3, 256, 192))
    assert not out.exists()


def test_cli_refusals(capsys, tmp_path):
    # the opset is checked before the config is read (it does not exist)
    with pytest.raises(SystemExit):
        export_main(['no_such_config.py', 'x.pth', '--opset-version', '11'])
    assert 'opset-version 11 is below 18' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        export_main(['synthpose-probpose', '--output-file', 'x.pt'])
    assert 'must end in .onnx' in capsys.readouterr().err
    lifter = REPO / 'configs' / 'synthmotion' / \
        'pose-lift_tcn-27frm_1xb256-6e_synthmotion.py'
    with pytest.raises(SystemExit):
        export_main([str(lifter), 'x.pth', '--output-file',
                     str(tmp_path / 'l.onnx')])
    assert '2D-to-3D lifter' in capsys.readouterr().err


def test_missing_packages_say_what_to_install():
    with pytest.raises(ImportError, match=(
            r"needs no_such_module_xyz: pip install -e '\.\[deploy\]'")):
        require('onnx', 'no_such_module_xyz')
    require('onnx', 'onnxruntime')  # installed: no error
