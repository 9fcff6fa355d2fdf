"""InProcessTester gives tools/test.py's metrics without a Runner: a zoo
lifter on the real Human3.6M sample, with its ground truth and with the
sample's 2D detections."""
import pytest

from probpose_ext.apis import cli
from probpose_ext.apis.inprocess import InProcessTester
from probpose_ext.apis.zoo import resolve
from tests.conftest import DATA, REPO

pytestmark = pytest.mark.slow

H36M = DATA / 'h36m'
CONFIG = REPO / 'configs' / 'h36m' / 'pose-lift_tcn-27frm_1xb256-6e_h36m.py'


@pytest.mark.parametrize('detection', [False, True])
def test_inprocess_equals_tools_test(tmp_path, detection):
    _, weights = resolve('synthmotion-tcn-27frm')
    overrides = dict(data_root=str(H36M) + '/',
                     ann_file='test_h36m_body3d.npz',
                     camera_param_file='cameras.pkl')
    if detection:
        overrides.update(keypoint_2d_src='detection',
                         keypoint_2d_det_file=str(
                             H36M / 'test_h36m_2d_detection.npy'))
    options = [f'test_dataloader.dataset.{k}={v}'
               for k, v in overrides.items()]
    expect = cli.test_main([str(CONFIG), weights, '--work-dir',
                        str(tmp_path), '--cfg-options', *options])
    tester = InProcessTester(str(CONFIG), weights)
    metrics, preds = tester.run(tester.dataset_config(**overrides))
    assert metrics['MPJPE'] == pytest.approx(expect['MPJPE'], rel=1e-6)
    assert metrics['P-MPJPE'] == pytest.approx(expect['P-MPJPE'], rel=1e-6)
    assert 0.01 < metrics['MPJPE'] < 1.0  # metres, a real error
    assert len(preds) == 4
    assert preds[0]['pred_instances']['keypoints'].shape == (1, 17, 3)
