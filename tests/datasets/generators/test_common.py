"""Tests of what the generators share
(``probpose_ext.datasets.generators.common``) and of the thin aliases and
module sizes of the generators package."""
import ast
import importlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

from probpose_ext.datasets.generators import common, cropcoco, synthpose

PACKAGE = Path(common.__file__).resolve().parent


def _draws(rng):
    return rng.integers(0, 2**62, 4).tolist() + [rng.random()]


def test_item_rng_is_the_seed_sequence_of_the_key():
    want = np.random.default_rng(np.random.SeedSequence([3, 1, 8]))
    assert _draws(common.item_rng(3, 1, 8)) == _draws(want)
    assert _draws(common.item_rng(np.int64(3), 1, 8)) == _draws(
        np.random.default_rng([3, 1, 8]))
    assert _draws(common.item_rng(3, 1, 8)) != _draws(common.item_rng(3, 8, 1))
    # both generators derive their per-image streams from it
    assert _draws(synthpose.image_rng(5, 'val',
                                      2)) == _draws(common.item_rng(5, 1, 2))
    assert _draws(cropcoco.image_rng(5,
                                     42)) == _draws(common.item_rng(5, 0, 42))
    assert _draws(cropcoco.image_rng(5, 'a')) != _draws(
        cropcoco.image_rng(5, 'b'))


@pytest.mark.parametrize('seed', [-1, 1.5, True, '3', None])
def test_check_seed(seed):
    with pytest.raises(ValueError, match='seed'):
        common.check_seed(seed)


@pytest.mark.parametrize('workers', [0, -2, 1.0, False, 'all'])
def test_check_workers(workers):
    with pytest.raises(ValueError, match='workers'):
        common.check_workers(workers)


def test_checks_accept_valid_values(tmp_path):
    common.check_seed(np.int32(0))
    common.check_workers(None)
    common.check_workers(3)
    assert common.num_workers(2) == 2 and common.num_workers(None) >= 1
    params = common.check_params(None, synthpose.SynthPoseParams)
    assert params == synthpose.SynthPoseParams()
    with pytest.raises(TypeError, match='SynthPoseParams'):
        common.check_params(cropcoco.CropCocoParams(),
                            synthpose.SynthPoseParams)
    (tmp_path / 'out').mkdir()
    with pytest.raises(FileExistsError):
        common.resolve_out_dir(tmp_path / 'out', force=False)
    assert common.resolve_out_dir(tmp_path / 'out', True).is_absolute()


def test_encode_and_write(tmp_path):
    img = np.random.default_rng(0).integers(0, 255, (8, 6, 3), np.uint8)
    png = common.encode_image(img, '.PNG', 'x.png')
    import cv2
    np.testing.assert_array_equal(
        cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR), img)
    with pytest.raises(ValueError, match='could not encode'):
        common.encode_image(img, '.nope', 'x.nope')
    common.write_bytes(tmp_path / 'a' / 'b.png', png)
    assert (tmp_path / 'a' / 'b.png').read_bytes() == png
    common.write_json(tmp_path / 'c.json', dict(a=[1, 2]))
    assert (tmp_path / 'c.json').read_text() == '{"a":[1,2]}\n'
    common.write_json(tmp_path / 'd.json', dict(a=1), indent=2)
    assert json.loads((tmp_path / 'd.json').read_text()) == dict(a=1)


def test_progress_map_keeps_the_order():
    with common.progress_map(abs, [-3, 1, -2], 1, 'x', False) as results:
        assert list(results) == [3, 1, 2]


@pytest.mark.parametrize('alias, target', [
    ('probpose_ext.datasets.synthpose',
     'probpose_ext.datasets.generators.synthpose'),
    ('probpose_ext.datasets.cropcoco',
     'probpose_ext.datasets.generators.cropcoco'),
    ('probpose_ext.utils.atomic', 'probpose_ext.datasets.generators.common'),
])
def test_old_import_paths_are_thin_aliases(alias, target):
    old, new = importlib.import_module(alias), importlib.import_module(target)
    for name in old.__all__:
        assert getattr(old, name) is getattr(new, name), name
    tree = ast.parse(Path(old.__file__).read_text())
    for node in tree.body[1:]:  # after the docstring: imports and __all__
        assert isinstance(node, (ast.ImportFrom, ast.Assign)), node
        if isinstance(node, ast.Assign):
            assert [t.id for t in node.targets] == ['__all__']


def test_modules_stay_small_or_say_why():
    for path in sorted(PACKAGE.rglob('*.py')):
        lines = path.read_text().count('\n')
        doc = ast.get_docstring(ast.parse(path.read_text())) or ''
        assert lines <= 520 or 'lines' in doc, f'{path.name}: {lines} lines'


def test_atomic_write_replaces_whole_files_and_keeps_identical_ones(
        tmp_path):
    path = tmp_path / 'sub' / 'f.bin'
    assert common.atomic_write(str(path), lambda f: f.write(b'abc'))
    assert path.read_bytes() == b'abc'
    os.utime(path, ns=(1, 1))
    assert not common.atomic_write(str(path), lambda f: f.write(b'abc'),
                                   keep_identical=True)
    assert path.stat().st_mtime_ns == 1
    assert common.atomic_write(str(path), lambda f: f.write('xy'),
                               binary=False, keep_identical=True)
    assert path.read_bytes() == b'xy'

    def fail(f):
        f.write(b'partial')
        raise RuntimeError('interrupted')

    with pytest.raises(RuntimeError):
        common.atomic_write(str(path), fail)
    assert path.read_bytes() == b'xy'  # the old file, no temp file left
    assert sorted(p.name for p in path.parent.iterdir()) == ['f.bin']
