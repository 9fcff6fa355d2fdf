"""Argument handling of tools/infer.py (the tool runs in tests/tools)."""
import numpy as np
import pytest

from probpose_ext.apis.infer import infer_main, list_images, parse_bboxes
from tests.conftest import DATA


def test_parse_bboxes():
    assert parse_bboxes(None) is None and parse_bboxes([]) is None
    boxes = parse_bboxes([1, 2, 3, 4, 10, 20, 30, 40])
    np.testing.assert_array_equal(boxes, [[1, 2, 3, 4], [10, 20, 30, 40]])
    assert boxes.dtype == np.float32
    with pytest.raises(ValueError, match='4 numbers per box'):
        parse_bboxes([1, 2, 3])
    with pytest.raises(ValueError, match='x1 > x0'):
        parse_bboxes([5, 2, 3, 4])


def test_list_images(tmp_path):
    images = list_images(str(DATA / 'coco'))
    assert [p.rsplit('/', 1)[1] for p in images] == [
        '000000000785.jpg', '000000040083.jpg', '000000196141.jpg',
        '000000197388.jpg']
    assert list_images(images[0]) == [images[0]]
    with pytest.raises(FileNotFoundError, match='no images'):
        list_images(str(tmp_path))
    with pytest.raises(FileNotFoundError, match='nope.jpg'):
        list_images(str(tmp_path / 'nope.jpg'))


@pytest.mark.slow
def test_cli_needs_an_output():
    with pytest.raises(SystemExit):
        infer_main(['a.jpg', 'cfg.py', 'ckpt.pth'])


def test_cli_refuses_a_lifter(capsys):
    from tests.conftest import REPO
    config = REPO / 'configs' / 'synthmotion' / \
        'pose-lift_tcn-27frm_1xb256-6e_synthmotion.py'
    image = list_images(str(DATA / 'coco'))[0]
    with pytest.raises(SystemExit):
        infer_main([image, str(config), 'ckpt.pth', '--out-json', 'x.json'])
    assert '2D-to-3D lifter' in capsys.readouterr().err


def test_cli_refuses_a_recognizer(capsys):
    from tests.conftest import REPO
    config = REPO / 'configs' / 'synthactions' / \
        'stgcn_1xb32-joint-3d-30e_synthactions-xsub.py'
    image = list_images(str(DATA / 'coco'))[0]
    with pytest.raises(SystemExit):
        infer_main([image, str(config), 'ckpt.pth', '--out-json', 'x.json'])
    assert 'skeleton action recogniser' in capsys.readouterr().err
