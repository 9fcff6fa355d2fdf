"""MMDeploy 1.3.1 exports the SynthPose zoo models with configs/deploy
(``mmdeploy.apis.torch2onnx``, what its tools/deploy.py calls): the file
passes onnx.checker, ONNX Runtime equals the PyTorch head's outputs, and
MMDeploy's own ONNX Runtime model predicts keypoints; and the compat
module's frame lookup returns what MMDeploy's own does."""
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from tests.conftest import REPO

from probpose_ext.compat import mmdeploy as mmdeploy_compat

pytestmark = pytest.mark.slow

DEPLOY = REPO / 'configs' / 'deploy'
#: the ProbPose config (its base is the heatmap model's: the same export,
#: one output; not repeated here to keep the suite short)
CASES = {
    'synthpose-probpose': 'probpose_onnxruntime_static-128x96.py',
}


@pytest.mark.parametrize('name', sorted(CASES))
def test_torch2onnx_with_our_deploy_config(name, tmp_path):
    from mmdeploy.apis import build_task_processor, torch2onnx
    from mmdeploy.utils import load_config

    from probpose_ext.apis.zoo import resolve
    config, weights = resolve(name)
    deploy_cfg = str(DEPLOY / CASES[name])
    image = (np.random.RandomState(0).rand(256, 192, 3) * 255).astype(
        np.uint8)
    torch2onnx(image, str(tmp_path), 'end2end.onnx', deploy_cfg, config,
               str(weights), device='cpu')
    path = str(tmp_path / 'end2end.onnx')
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    assert max(o.version for o in model.opset_import if o.domain in
               ('', 'ai.onnx')) == 18
    dcfg, mcfg = load_config(deploy_cfg, config)
    processor = build_task_processor(mcfg, dcfg, 'cpu')
    estimator = processor.build_pytorch_model(str(weights)).eval()
    x = torch.randn(1, 3, 128, 96, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ref = estimator.head.forward(estimator.extract_feat(x))
    ref = list(ref) if isinstance(ref, tuple) else [ref]
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    got = session.run(None, {'input': x.numpy()})
    assert [o.name for o in session.get_outputs()] == dcfg.onnx_config[
        'output_names']
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b.numpy(), rtol=0, atol=1e-4)
    # MMDeploy's backend model decodes the first output into keypoints
    backend = processor.build_backend_model(
        [path], data_preprocessor_updater=processor.update_data_preprocessor)
    data, _ = processor.create_input(image, [96, 128])
    with torch.no_grad():
        pred = backend.test_step(data)[0].pred_instances
    assert pred.keypoints.shape == (1, 17, 2)
    assert np.isfinite(pred.keypoints).all()


def _caller(lookup, top):
    return lookup(top)


def test_frame_lookup_equals_mmdeploys():
    from mmdeploy.core.rewriters import function_rewriter, rewriter_utils
    assert mmdeploy_compat.is_applied()
    assert function_rewriter.get_frame_func is mmdeploy_compat.get_frame_func
    original = mmdeploy_compat._ORIGINAL[rewriter_utils.__name__]
    for top, expected in ((1, _caller),
                          (2, test_frame_lookup_equals_mmdeploys)):
        ours = _caller(mmdeploy_compat.get_frame_func, top)
        assert ours is _caller(original, top) is expected
    with pytest.raises(AssertionError, match='Can not find function'):
        (lambda: mmdeploy_compat.get_frame_func(1))()
