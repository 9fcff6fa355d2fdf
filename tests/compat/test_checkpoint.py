import os
import pickle
import warnings

import numpy as np
import pytest
import torch
from mmengine.runner.checkpoint import _load_checkpoint

from probpose_ext.compat import checkpoint as ckpt_compat
from probpose_ext.compat.checkpoint import (CheckpointLoadError,
                                            UntrustedCheckpointError)


@pytest.fixture(autouse=True)
def _reset_trust(monkeypatch):
    monkeypatch.delenv(ckpt_compat.ENV_VAR, raising=False)
    ckpt_compat.trust_checkpoints(None)
    yield
    ckpt_compat.trust_checkpoints(None)
    ckpt_compat.apply()


def _legacy_checkpoint(path):
    """What stock mmengine writes: numpy arrays in meta."""
    state = {'w': torch.arange(3.)}
    torch.save({'meta': {'dataset_meta': {'sigmas': np.array([.5, .25])}},
                'state_dict': state}, path)
    return state


class _Exploit:
    """A pickle that would create a file when unpickled."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def test_plain_checkpoint_loads_weights_only(tmp_path):
    path = tmp_path / 'plain.pth'
    torch.save({'meta': {'dataset_meta': {'sigmas': [.5, .25]}},
                'state_dict': {'w': torch.ones(2)}}, path)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        ckpt = _load_checkpoint(str(path))
    assert ckpt['meta']['dataset_meta']['sigmas'] == [.5, .25]
    assert torch.equal(ckpt['state_dict']['w'], torch.ones(2))


def test_untrusted_legacy_checkpoint_is_refused_with_help(tmp_path):
    path = tmp_path / 'legacy.pth'
    _legacy_checkpoint(path)
    with pytest.raises(UntrustedCheckpointError) as info:
        _load_checkpoint(str(path))
    message = str(info.value)
    assert str(path) in message
    assert ckpt_compat.ENV_VAR in message and 'trust_checkpoints' in message
    assert 'numpy' in message  # says why


@pytest.mark.parametrize('how', ['env_path', 'env_all', 'api'])
def test_trusted_legacy_checkpoint_loads_with_warning(tmp_path, monkeypatch,
                                                      how):
    path = tmp_path / 'legacy.pth'
    state = _legacy_checkpoint(path)
    if how == 'env_path':
        monkeypatch.setenv(ckpt_compat.ENV_VAR,
                           os.pathsep.join(['/elsewhere.pth', str(path)]))
    elif how == 'env_all':
        monkeypatch.setenv(ckpt_compat.ENV_VAR, '1')
    else:
        ckpt_compat.trust_checkpoints([str(path)])
    with pytest.warns(UserWarning, match=str(path)):
        ckpt = _load_checkpoint(str(path))
    np.testing.assert_array_equal(ckpt['meta']['dataset_meta']['sigmas'],
                                  [.5, .25])
    assert torch.equal(ckpt['state_dict']['w'], state['w'])


def test_trusting_another_file_does_not_trust_this_one(tmp_path, monkeypatch):
    path = tmp_path / 'legacy.pth'
    _legacy_checkpoint(path)
    monkeypatch.setenv(ckpt_compat.ENV_VAR, str(tmp_path / 'other.pth'))
    with pytest.raises(UntrustedCheckpointError):
        _load_checkpoint(str(path))


def test_without_the_shim_torch_refuses_even_trusted_files(tmp_path,
                                                           monkeypatch):
    """The shim is what makes an opted-in legacy checkpoint loadable."""
    path = tmp_path / 'legacy.pth'
    _legacy_checkpoint(path)
    monkeypatch.setenv(ckpt_compat.ENV_VAR, '1')
    ckpt_compat.remove()
    with pytest.raises(pickle.UnpicklingError) as info:
        _load_checkpoint(str(path))
    assert not isinstance(info.value, UntrustedCheckpointError)


def test_malicious_pickle_never_runs_without_opt_in(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'payload': _Exploit(marker)}, path)
    with pytest.raises(UntrustedCheckpointError, match='evil.pth'):
        _load_checkpoint(str(path))
    assert not marker.exists()


def test_missing_and_truncated_files_name_the_file(tmp_path):
    missing = tmp_path / 'nope.pth'
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        _load_checkpoint(str(missing))
    good = tmp_path / 'good.pth'
    torch.save({'state_dict': {'w': torch.ones(100)}}, good)
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(CheckpointLoadError, match='truncated.pth'):
        _load_checkpoint(str(truncated))
