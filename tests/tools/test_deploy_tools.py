"""The deploy flow of a fresh clone on the committed zoo: export with
tools/deployment/pytorch2onnx.py --verify, then tools/test.py and
tools/infer.py on the .onnx give PyTorch's metrics and predictions; every
zoo model's decoded predictions (trained weights, SynthPose images, batch 1
and 5) equal PyTorch's."""
import json
import re

import numpy as np
import pytest

from probpose_ext.apis import load_pose_json, predict_image
from tests.conftest import REPO, run_python

pytestmark = pytest.mark.slow

TOOL = REPO / 'tools' / 'deployment' / 'pytorch2onnx.py'
ZOO_2D = ['synthpose-heatmap', 'synthpose-probpose', 'synthpose-probpose-dh',
          'synthpose-tic']


def _data_options(root):
    ann = root / 'annotations' / 'person_keypoints_val.json'
    return ['--cfg-options', f'test_dataloader.dataset.data_root={root}/',
            'test_dataloader.num_workers=0',
            'test_dataloader.persistent_workers=False',
            f'test_evaluator.0.ann_file={ann}']


def test_export_verify_then_test_and_infer(tmp_path, synth_val):
    root, coco = synth_val
    onnx_file = tmp_path / 'pp.onnx'
    out = run_python([TOOL, 'synthpose-probpose', '--output-file', onnx_file,
                      '--verify', '--dynamic-batch']).stdout
    assert 'outputs: prob [' in out and 'presence' in out
    diffs = [float(v) for v in re.findall(r'\b[a-z_]+ ([0-9.]+e[-+]\d+)',
                                          out)]
    assert len(diffs) == 2 * 4 and max(diffs) < 1e-4, out  # batch 1 and 5

    # PyTorch's side in this process (InProcessTester gives tools/test.py's
    # metrics: tests/apis/test_inprocess.py), the ONNX side through the tools
    from probpose_ext.apis.inprocess import InProcessTester
    from probpose_ext.apis.zoo import resolve
    tester = InProcessTester(*map(str, resolve('synthpose-probpose')))
    evaluators = [dict(e) for e in tester.cfg.test_evaluator]
    evaluators[0]['ann_file'] = str(root / 'annotations' /
                                    'person_keypoints_val.json')
    ref_metrics, _ = tester.run(tester.dataset_config(data_root=f'{root}/'),
                                evaluators, keep=False)
    run_python([REPO / 'tools' / 'test.py', 'synthpose-probpose', onnx_file,
                '--work-dir', tmp_path / 'onnx', '--out',
                tmp_path / 'onnx.json', *_data_options(root)])
    metrics = json.loads((tmp_path / 'onnx.json').read_text())
    assert ref_metrics['coco/AP'] > 0.3  # a trained model
    for key in ('coco/AP', 'coco/Ex_AP', 'coco/AR', 'presence/acc'):
        assert metrics[key] == pytest.approx(ref_metrics[key], abs=2e-3), key

    image = root / 'val' / coco['images'][0]['file_name']
    ref = predict_image(tester.model, str(image)).pred_instances
    for name, args in [('onnx', ['synthpose-probpose', onnx_file]),
                       ('alone', [onnx_file])]:
        out_json = tmp_path / f'{name}_pred.json'
        run_python([REPO / 'tools' / 'infer.py', image, *args,
                    '--out-json', out_json])
        got = load_pose_json(out_json)[0].pred_instances
        assert set(got.keys()) == set(ref.keys())
        np.testing.assert_allclose(got.keypoints, ref.keypoints, atol=0.05)
        np.testing.assert_allclose(got.keypoint_presence,
                                   ref.keypoint_presence, atol=1e-4)
        np.testing.assert_allclose(got.keypoint_credible_box,
                                   ref.keypoint_credible_box, atol=0.05)


@pytest.mark.parametrize('name', ZOO_2D)
def test_zoo_models_decode_as_pytorch(name, synth_val, tmp_path):
    from probpose_ext.apis.deploy import load_estimator
    from probpose_ext.deploy import export_onnx, init_onnx_model
    root, coco = synth_val
    estimator, cfg = load_estimator(name, None)
    onnx_file = str(tmp_path / f'{name}.onnx')
    export_onnx(estimator, cfg, onnx_file, dynamic_batch=True)
    onnx_model = init_onnx_model(cfg, onnx_file)
    estimator.cfg = cfg
    by_image = {}
    for ann in coco['annotations']:
        x, y, w, h = ann['bbox']
        by_image.setdefault(ann['image_id'], []).append([x, y, x + w, y + h])
    files = {im['id']: im['file_name'] for im in coco['images']}
    for i, (image_id, boxes) in enumerate(sorted(by_image.items())):
        image = str(root / 'val' / files[image_id])
        boxes = np.asarray(boxes, dtype=np.float32)
        # every image with its people, and the first also as batch 1 and
        # as a batch of 5 (its boxes repeated)
        runs = [boxes] + ([boxes[:1], np.resize(boxes, (5, 4))]
                          if i == 0 else [])
        for run in runs:
            got = predict_image(onnx_model, image, run).pred_instances
            ref = predict_image(estimator, image, run).pred_instances
            assert got.keypoints.shape == (len(run), 17, 2)
            np.testing.assert_allclose(got.keypoints, ref.keypoints,
                                       atol=0.05)
            if 'keypoint_presence' in ref:
                np.testing.assert_allclose(got.keypoint_presence,
                                           ref.keypoint_presence, atol=1e-4)
