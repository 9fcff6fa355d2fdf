"""tools/infer.py (boxes honoured, JSON in image pixels, drawing) and
tools/test.py --show-dir with the ProbPose visualiser, on real COCO images
with a random-init checkpoint."""
import cv2
import numpy as np
import pytest

from probpose_ext.apis import load_pose_json
from tests.apis._random_ckpt import SYNTH_CFG, save_random_checkpoint
from tests.conftest import DATA, REPO, run_python

pytestmark = pytest.mark.slow

IMG = DATA / 'coco' / '000000000785.jpg'  # 640 x 425
BOXES = [[280.0, 40.0, 470.0, 400.0], [20.0, 100.0, 200.0, 300.0]]


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    return save_random_checkpoint(
        tmp_path_factory.mktemp('ckpt') / 'random.pth')


def test_infer_tool_boxes_json_and_drawing(tmp_path, checkpoint):
    out_json, vis = tmp_path / 'preds.json', tmp_path / 'vis.png'
    run_python([REPO / 'tools' / 'infer.py', IMG, SYNTH_CFG, checkpoint,
                '--bboxes', *np.ravel(BOXES), '--out-json', out_json,
                '--vis-out', vis, '--draw-heatmap', '--cfg-options',
                'model.test_cfg.flip_test=False',
                'model.test_cfg.temperature=0.01'])
    sample, = load_pose_json(out_json)
    assert sample.metainfo['ori_shape'] == [425, 640]
    inst = sample.pred_instances
    assert len(inst) == 2  # one instance per given box, in order
    np.testing.assert_allclose(inst.bboxes, BOXES)
    for i, (x0, y0, x1, y1) in enumerate(BOXES):
        # the crop is the box at padding 1.25 and aspect 0.75, centred on
        # it: image-pixel keypoints and credible boxes stay inside it, up
        # to the half heatmap pixel a box adds around its pixel centres (for
        # the first box, x in [199, 551]: crop pixels, in [0, 96], fail)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        sw = max(x1 - x0, (y1 - y0) * 0.75) * 1.25
        sh = sw / 0.75
        px = sw / 96 * 95 / 23  # image px per heatmap pixel (x and y)
        kpts, boxes = inst.keypoints[i], inst.keypoint_credible_box[i]
        for pts in (kpts, boxes[:, :2], boxes[:, 2:]):
            assert (np.abs(pts[:, 0] - cx) <= (sw + px) / 2 + 1e-3).all()
            assert (np.abs(pts[:, 1] - cy) <= (sh + px) / 2 + 1e-3).all()
        assert (kpts >= boxes[:, :2] - 0.5 * px).all()
        assert (kpts <= boxes[:, 2:] + 0.5 * px).all()
    drawn = cv2.imread(str(vis))
    assert drawn.shape == (2 * 425, 640, 3)  # keypoints over the maps
    original = cv2.imread(str(IMG))
    # the map overlay leaves pixels outside both crops untouched (PNG)
    assert np.array_equal(drawn[425:][:, 560:], original[:, 560:])
    assert not np.array_equal(drawn[425:], original)


def test_show_dir_draws_every_test_image(tmp_path, checkpoint):
    coco = DATA / 'coco'
    run_python([
        REPO / 'tools' / 'test.py', SYNTH_CFG, checkpoint, '--work-dir',
        tmp_path / 'work', '--show-dir', 'vis', '--cfg-options',
        f'test_dataloader.dataset.data_root={coco}',
        'test_dataloader.dataset.ann_file=test_coco.json',
        'test_dataloader.dataset.data_prefix.img=',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
        f'test_evaluator.0.ann_file={coco / "test_coco.json"}',
        'model.test_cfg.output_heatmaps=True'
    ])
    files = sorted((tmp_path / 'work').glob('*/vis/*.jpg'))
    assert len(files) == 12  # one per annotated person
    shapes = {f.name.rsplit('_', 1)[0]: cv2.imread(str(f)).shape
              for f in files}
    for name, shape in shapes.items():
        h, w = cv2.imread(str(coco / f'{name}.jpg')).shape[:2]
        assert shape == (2 * h, w, 3)  # prediction above the map overlay
