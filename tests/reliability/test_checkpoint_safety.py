"""Checkpoints survive a crash while they are written (SafeCheckpointHook),
carry the random generators' states (RngStateHook), and our tools warn
about a config without them but train it as written; an untrusted pickle
is refused with instructions to opt in."""
import random
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import CheckpointHook
from mmengine.logging import MMLogger, MessageHub
from mmengine.runner.checkpoint import _load_checkpoint
from mmpose.registry import HOOKS

from probpose_ext.apis import (ConfigHookWarning, check_hooks, prepare_config,
                               train_main)
from probpose_ext.compat import checkpoint as ckpt_compat
from probpose_ext.compat.checkpoint import UntrustedCheckpointError
from probpose_ext.engine import (PlainCheckpointHook, RngStateHook,
                                 SafeCheckpointHook)
from probpose_ext.engine.hooks import get_rng_state, set_rng_state


class _Crash(Exception):
    """Stands for the process dying while a checkpoint file is written."""


class _Runner:
    """What CheckpointHook.after_train_epoch uses of a runner; saving
    ``crash_at`` raises half-way (a partial file is left, as by a kill)."""

    def __init__(self, work: Path, crash_at: str = ''):
        self.work_dir = str(work)
        self.logger = MMLogger.get_current_instance()
        self.message_hub = MessageHub.get_instance(f'safe-ckpt-{work}')
        self.train_loop = SimpleNamespace(max_epochs=10)
        self.epoch, self.iter, self.crash_at = 0, 0, crash_at

    def save_checkpoint(self, out_dir, filename, *args, **kwargs):
        path = Path(out_dir, filename)
        if filename == self.crash_at:
            path.write_bytes(b'PK\x03')  # truncated
            raise _Crash(filename)
        path.write_bytes(b'complete checkpoint')


def _epochs(hook: CheckpointHook, runner: _Runner, epochs: int) -> None:
    hook.before_train(runner)
    for epoch in range(epochs):
        runner.epoch = epoch
        hook.after_train_epoch(runner)


@pytest.mark.parametrize('hook_type, survives', [
    ('CheckpointHook', False),  # MMEngine 0.10.7: deletes first
    ('SafeCheckpointHook', True),
])
@pytest.mark.slow
def test_crash_while_saving_keeps_the_last_checkpoint(tmp_path, hook_type,
                                                      survives):
    runner = _Runner(tmp_path, crash_at='epoch_3.pth')
    hook = HOOKS.build(dict(type=hook_type, interval=1, max_keep_ckpts=1))
    with pytest.raises(_Crash):
        _epochs(hook, runner, 3)
    last = Path((tmp_path / 'last_checkpoint').read_text())
    assert last.name == 'epoch_2.pth'
    assert last.is_file() == survives
    assert not (tmp_path / 'epoch_1.pth').exists()


@pytest.mark.slow
def test_safe_hook_keeps_max_keep_ckpts_and_resumes_its_bookkeeping(
        tmp_path):
    runner = _Runner(tmp_path)
    hook = HOOKS.build(
        dict(type='SafeCheckpointHook', interval=1, max_keep_ckpts=2))
    assert isinstance(hook, SafeCheckpointHook)
    _epochs(hook, runner, 4)
    assert sorted(p.name for p in tmp_path.glob('*.pth')) == [
        'epoch_3.pth', 'epoch_4.pth'
    ]
    assert runner.message_hub.get_info('keep_ckpt_ids') == [3, 4]
    # a resumed run reads keep_ckpt_ids from the message hub
    hook = HOOKS.build(
        dict(type='SafeCheckpointHook', interval=1, max_keep_ckpts=2))
    hook.before_train(runner)
    runner.epoch = 4
    hook.after_train_epoch(runner)
    assert sorted(p.name for p in tmp_path.glob('*.pth')) == [
        'epoch_4.pth', 'epoch_5.pth'
    ]


def _draw() -> list:
    return [random.random(), float(np.random.rand()), np.random.randn(),
            float(torch.rand(1))]


def test_rng_state_round_trips_through_a_weights_only_checkpoint(tmp_path):
    np.random.randn()  # a cached Gaussian is part of numpy's state
    checkpoint = {}
    PlainCheckpointHook().before_save_checkpoint(None, checkpoint)
    RngStateHook().before_save_checkpoint(None, checkpoint)
    expected = _draw()
    path = tmp_path / 'ckpt.pth'
    torch.save(checkpoint, path)
    loaded = torch.load(path, weights_only=True)
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    assert _draw() != expected
    set_rng_state(loaded['rng_state'])
    assert _draw() == expected


@pytest.mark.slow
def test_rng_state_is_restored_only_when_resuming():
    state = get_rng_state()
    first = _draw()
    for resume, expected_same in [(True, True), (False, False)]:
        hook = HOOKS.build(dict(type='RngStateHook'))
        runner = SimpleNamespace(
            cfg=Config(dict(resume=resume)),
            train_loop=SimpleNamespace(dataloader=SimpleNamespace(
                num_workers=0, persistent_workers=False)))
        hook.after_load_checkpoint(runner, {'rng_state': state})
        random.seed(7), np.random.seed(7), torch.manual_seed(7)
        hook.before_train(runner)
        assert (_draw() == first) == expected_same


@pytest.mark.slow
def test_rng_hook_warns_that_persistent_workers_are_not_restored():
    hook = RngStateHook()
    runner = SimpleNamespace(
        cfg=Config(dict(resume=True)),
        train_loop=SimpleNamespace(dataloader=SimpleNamespace(
            num_workers=2, persistent_workers=True)))
    hook.after_load_checkpoint(runner, {'rng_state': get_rng_state()})
    with pytest.warns(UserWarning, match='persistent_workers=False'):
        hook.before_train(runner)


def test_tools_warn_about_missing_hooks_and_change_nothing():
    cfg = Config(dict(
        default_hooks=dict(checkpoint=dict(type='CheckpointHook',
                                           interval=1, max_keep_ckpts=1)),
        custom_hooks=[dict(type='PlainCheckpointHook')],
        trust_checkpoints=False))
    before = cfg.to_dict()
    with pytest.warns(ConfigHookWarning) as record:
        messages = check_hooks(cfg, 'my_config.py')
    prepare_config(cfg)
    assert cfg.to_dict() == before
    # one warning per missing hook: which one and what to write
    assert [str(w.message) for w in record
            if w.category is ConfigHookWarning] == [
                f'my_config.py: {m}' for m in messages]
    assert len(messages) == 2
    assert messages[0].startswith('custom_hooks has no RngStateHook')
    assert "dict(type='RngStateHook')" in messages[0]
    assert messages[1].startswith(
        "default_hooks.checkpoint is MMEngine's CheckpointHook")
    assert "checkpoint=dict(type='SafeCheckpointHook'" in messages[1]
    # a config naming the hooks (any scope prefix) gets no warning
    cfg.custom_hooks.append(dict(type='mmpose.RngStateHook'))
    cfg.default_hooks.checkpoint.type = 'SafeCheckpointHook'
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert check_hooks(cfg) == []
    # nor one whose checkpoint hook is its own, or that has none
    cfg.default_hooks.checkpoint.type = 'MyCheckpointHook'
    assert check_hooks(cfg) == []
    # hook classes instead of names (pure-Python configs) are recognised
    cfg.custom_hooks = [dict(type=PlainCheckpointHook),
                        dict(type=RngStateHook)]
    cfg.default_hooks.checkpoint.type = CheckpointHook
    with pytest.warns(ConfigHookWarning, match="MMEngine's CheckpointHook"):
        assert len(check_hooks(cfg)) == 1
    cfg.default_hooks.checkpoint.type = SafeCheckpointHook
    assert check_hooks(cfg) == []
    del cfg.default_hooks['checkpoint']
    assert check_hooks(cfg) == []


def test_train_tool_builds_the_runner_from_the_config_as_written(
        tmp_path, monkeypatch):
    """tools/train.py on a config without this project's hooks (MMPose's
    runtime: SyncBuffersHook, CheckpointHook) warns about each and hands
    MMEngine's runner the same hooks that MMPose's tools/train.py would."""
    from mmengine.runner import Runner
    config = tmp_path / 'no_hooks.py'
    config.write_text("_base_ = ['mmpose::_base_/default_runtime.py']\n")
    built = []

    def from_cfg(cfg):
        built.append(cfg)
        return SimpleNamespace(train=lambda: 'trained')

    monkeypatch.setattr(Runner, 'from_cfg', staticmethod(from_cfg))
    with pytest.warns(ConfigHookWarning) as record:
        assert train_main([str(config), '--work-dir', str(tmp_path)]) == \
            'trained'
    messages = [str(w.message) for w in record
                if w.category is ConfigHookWarning]
    assert len(messages) == 3
    assert all(m.startswith(f'{config}: ') for m in messages)
    for hook in ('PlainCheckpointHook', 'RngStateHook', 'SafeCheckpointHook'):
        assert sum(hook in m for m in messages) >= 1, hook
    expected = Config.fromfile(str(config))
    (cfg, ) = built
    assert cfg.custom_hooks == expected.custom_hooks
    assert [h['type'] for h in cfg.custom_hooks] == ['SyncBuffersHook']
    assert cfg.default_hooks == expected.default_hooks
    assert cfg.default_hooks.checkpoint.type == 'CheckpointHook'


class _Exploit:
    """A pickle that would create a file when unpickled."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def test_malicious_pickle_is_refused_with_how_to_opt_in(tmp_path,
                                                        monkeypatch):
    monkeypatch.delenv(ckpt_compat.ENV_VAR, raising=False)
    ckpt_compat.trust_checkpoints(None)
    marker, path = tmp_path / 'pwned', tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'payload': _Exploit(marker)}, path)
    with pytest.raises(UntrustedCheckpointError) as info:
        _load_checkpoint(str(path))
    message = str(info.value)
    assert str(path) in message
    # the three ways to opt in are named
    assert f'{ckpt_compat.ENV_VAR}=' in message
    assert 'trust_checkpoints' in message
    assert not marker.exists()
    # opting in for this file (as the message says) does run the pickle
    monkeypatch.setenv(ckpt_compat.ENV_VAR, str(path))
    with pytest.warns(UserWarning, match='evil.pth'):
        _load_checkpoint(str(path))
    assert marker.exists()
