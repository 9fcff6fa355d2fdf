"""The run helpers: cached values are reused only under the same key and
while their outputs exist."""
import json
import os

from probpose_ext.apis.runs import cached, file_key, jsonable


def test_cached_reuses_under_the_same_key(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return dict(value=len(calls), t=(1, 2))

    record = str(tmp_path / 'r.json')
    out = tmp_path / 'out.bin'
    out.write_bytes(b'x')
    v1, reused1 = cached(record, dict(a=1), compute, outputs=[str(out)])
    v2, reused2 = cached(record, dict(a=1), compute, outputs=[str(out)])
    assert (v1, reused1, reused2) == (dict(value=1, t=[1, 2]), False, True)
    assert v2 == v1 and len(calls) == 1
    v3, reused3 = cached(record, dict(a=2), compute, outputs=[str(out)])
    assert (v3['value'], reused3) == (2, False)
    os.remove(out)
    v4, reused4 = cached(record, dict(a=2), compute, outputs=[str(out)])
    assert (v4['value'], reused4) == (3, False)
    assert json.load(open(record))['key'] == {'a': 2}


def test_file_key_changes_with_the_file(tmp_path):
    path = tmp_path / 'f'
    path.write_text('a')
    key = file_key(str(path))
    os.utime(path, (1, 1))
    assert file_key(str(path)) != key
    assert jsonable({1: float('nan')}) == {'1': None}


def test_trained_checkpoint_without_training(tmp_path):
    from probpose_ext.apis.runs import trained_checkpoint
    assert trained_checkpoint('cfg.py', str(tmp_path), 6,
                              train=False) is None
    (tmp_path / 'epoch_6.pth').write_bytes(b'')
    assert trained_checkpoint('cfg.py', str(tmp_path), 6) == str(
        tmp_path / 'epoch_6.pth')
