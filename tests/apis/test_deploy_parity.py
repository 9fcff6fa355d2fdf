"""The zoo parity study behind the README's deploy table: PyTorch and ONNX
Runtime evaluated on the same split give the same metrics, results are
cached, the table shows each backend's difference from PyTorch."""
import pytest

from probpose_ext.apis.deploy import parity_table, zoo_parity
from tests.conftest import cell_mtimes


def test_parity_table_shows_differences_from_pytorch():
    results = {'m': {'SynthPose val': {
        'PyTorch': {'coco/AP': 0.5}, 'ONNX': {'coco/AP': 0.4985}}}}
    table = parity_table(results, {'SynthPose val': ('x', 'coco/AP')})
    lines = table.splitlines()
    assert lines[0] == '| model | SynthPose val AP PyTorch | SynthPose ' \
        'val AP ONNX |'
    assert lines[2] == '| m | 0.5000 | 0.4985 (-0.0015) |'


@pytest.mark.slow
def test_zoo_parity_on_a_small_split_and_cached(tmp_path):
    from probpose_ext.datasets.generators.synthpose import make_synthpose
    root = tmp_path / 'synthpose'
    make_synthpose(root, num_train=0, num_val=6, seed=11, workers=1,
                   progress=False)
    splits = {'small': (f'{root}/', 'coco/AP')}
    backends = {'PyTorch': None, 'ONNX Runtime fp32': ''}
    out = tmp_path / 'out'
    results = zoo_parity(['synthpose-probpose'], str(out), splits, backends,
                         progress=False)
    per = results['synthpose-probpose']['small']
    assert per['PyTorch']['coco/AP'] > 0.2  # the trained zoo model
    for key, value in per['PyTorch'].items():
        assert per['ONNX Runtime fp32'][key] == pytest.approx(value,
                                                              abs=2e-3), key
    assert (out / 'synthpose-probpose.onnx').is_file()
    before = cell_mtimes(str(out))
    assert len(before) == 2
    assert zoo_parity(['synthpose-probpose'], str(out), splits, backends,
                      progress=False) == results
    assert cell_mtimes(str(out)) == before  # nothing recomputed
