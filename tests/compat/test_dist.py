import pytest
import torch
import torch.distributed as dist
from mmengine.model.wrappers import MMDistributedDataParallel

from probpose_ext.compat import dist as dist_compat


@pytest.fixture
def single_process_group(tmp_path):
    dist.init_process_group(
        'gloo', init_method=f'file://{tmp_path}/store', rank=0, world_size=1)
    yield
    dist.destroy_process_group()


def _model():
    return torch.nn.Sequential(torch.nn.Linear(3, 2))


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU-only problem')
def test_ddp_with_device_ids_on_cpu_needs_the_shim(single_process_group):
    assert dist_compat.is_applied()
    wrapped = MMDistributedDataParallel(module=_model(), device_ids=[0])
    assert wrapped.device_ids is None
    out = wrapped(torch.ones(4, 3))
    assert out.shape == (4, 2)
    dist_compat.remove()
    try:
        with pytest.raises(ValueError, match='device_ids'):
            MMDistributedDataParallel(module=_model(), device_ids=[0])
    finally:
        dist_compat.apply()


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU-only problem')
def test_init_dist_uses_gloo_without_cuda(monkeypatch, tmp_path):
    import mmengine.dist.utils as dist_utils
    monkeypatch.setenv('RANK', '0')
    monkeypatch.setenv('LOCAL_RANK', '0')
    monkeypatch.setenv('WORLD_SIZE', '1')
    monkeypatch.setenv('MASTER_ADDR', '127.0.0.1')
    monkeypatch.setenv('MASTER_PORT', '29533')
    # mmpose's default runtime asks for nccl; the shim must pick gloo and
    # must not call torch.cuda.set_device.
    dist_utils.init_dist('pytorch', backend='nccl')
    try:
        assert dist.get_backend() == 'gloo'
        assert dist.get_world_size() == 1
    finally:
        dist.destroy_process_group()
