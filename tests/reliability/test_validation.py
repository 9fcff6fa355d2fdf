"""The shared checks of ``probpose_ext.utils.validation`` on hand-made
inputs whose answers are known."""
import json
import re

import numpy as np
import pytest
import torch

from probpose_ext.utils.validation import (accepted_kwargs, check_files_exist,
                                           check_finite, check_kwargs,
                                           load_json, strict_kwargs)


class _Base:
    def __init__(self, alpha=1, beta=2):
        self.alpha, self.beta = alpha, beta


class _Forwarding(_Base):
    def __init__(self, *args, gamma=3, **kwargs):
        super().__init__(*args, **kwargs)
        self.gamma = gamma


@strict_kwargs
class _Strict(_Forwarding):
    pass


class _Anything:
    def __init__(self, **kwargs):
        super().__init__()


class _NoInit:
    pass


def test_accepted_kwargs_follow_forwarded_kwargs():
    assert accepted_kwargs(_Base) == {'alpha', 'beta'}
    assert accepted_kwargs(_Forwarding) == {'alpha', 'beta', 'gamma'}
    assert accepted_kwargs(_Strict) == {'alpha', 'beta', 'gamma'}
    assert accepted_kwargs(_NoInit) == frozenset()
    assert accepted_kwargs(_Anything) is None  # cannot be known


def test_strict_kwargs_names_the_class_and_the_closest_argument():
    obj = _Strict(5, gamma=7)
    assert (obj.alpha, obj.beta, obj.gamma) == (5, 2, 7)
    with pytest.raises(TypeError, match=re.escape(
            "_Strict: unexpected argument 'gama' (did you mean 'gamma'?); "
            'accepted arguments: alpha, beta, gamma')):
        _Strict(gama=1)
    with pytest.raises(TypeError, match=re.escape(
            "_Strict: unexpected arguments 'xyz', 'alpah' (did you mean "
            "'alpha'?); accepted")):
        _Strict(xyz=1, alpah=2)
    # without the decorator Python names the base class
    with pytest.raises(TypeError, match=r'^_Base\.__init__\(\)'):
        _Forwarding(gama=1)
    check_kwargs(_Anything, dict(whatever=1))  # unknown: not checked


def test_check_finite_reports_count_and_first_index():
    values = np.zeros((2, 3, 2))
    values[1, 2, 0] = np.inf
    values[1, 0, 1] = np.nan
    with pytest.raises(ValueError, match=re.escape(
            'img 7: field has 2 NaN/Inf value(s) of 12 (first at index '
            '(1, 0, 1))')):
        check_finite(values, 'field', 'img 7')
    out = check_finite(torch.ones(2, dtype=torch.float16), 'f', 'w')
    assert out.dtype == np.float64 and out.tolist() == [1.0, 1.0]


def test_check_files_exist_lists_missing_local_files(tmp_path):
    (tmp_path / 'a.jpg').write_bytes(b'')
    paths = [str(tmp_path / n) for n in ('a.jpg', 'b.jpg', 'a.jpg', 'c.jpg',
                                         'd.jpg', 'e.jpg')]
    shown = ', '.join(repr(str(tmp_path / f'{n}.jpg')) for n in 'bcd')
    with pytest.raises(FileNotFoundError, match=re.escape(
            f'src: 4 of 5 images are missing, e.g. {shown}, ...!')):
        check_files_exist(paths, 'images', 'src', '!')
    # remote URIs are not checked
    assert check_files_exist([paths[0], 's3://bucket/x.jpg'], 'i', 's') == 1


@pytest.mark.parametrize('text, message', [
    ('[1, 2', 'line 1, column 6 (char 5): Expecting \',\' delimiter (the '
     'file ends early: truncated?)'),
    ('{"a": 1}\n{"b": 2}', 'line 2, column 1 (char 9): Extra data'),
    ('{"a": "x', 'line 1, column 7 (char 6): Unterminated string starting '
     'at (the file ends early: truncated?)'),
])
def test_load_json_gives_the_position(tmp_path, text, message):
    path = tmp_path / 'f.json'
    path.write_text(text)
    with pytest.raises(ValueError,
                       match=re.escape(f'{path}: invalid JSON at {message}')):
        load_json(path)
    path.write_text(json.dumps({'a': [1.5, None]}))
    assert load_json(path) == {'a': [1.5, None]}
    with pytest.raises(FileNotFoundError,
                       match=re.escape(f'{tmp_path}: thing not found')):
        load_json(tmp_path, 'thing')  # a directory is not a file
