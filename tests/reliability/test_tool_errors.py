"""The analysis tools exit with one line naming the bad file, not a
traceback (run in-process: ``main(argv)`` raises ``SystemExit(message)``,
which Python prints to stderr with exit status 1)."""
import json
import pickle
import re
from pathlib import Path

import pytest

from tests.conftest import REPO, load_tool

from .test_bad_input import _coco, _prediction

pytestmark = pytest.mark.slow

TOOLS = REPO / 'tools' / 'analysis_tools'


def _tool(name: str):
    return load_tool(TOOLS / f'{name}.py')


@pytest.fixture
def files(tmp_path: Path) -> dict:
    good_ann = tmp_path / 'ann.json'
    good_ann.write_text(json.dumps(_coco()))
    bad_ann = tmp_path / 'bad.json'
    bad_ann.write_text('{"images": [')
    truncated = tmp_path / 'truncated.pkl'
    truncated.write_bytes(pickle.dumps([dict(pred_instances={})])[:-4])
    return dict(good_ann=good_ann, bad_ann=bad_ann, truncated=truncated,
                missing=tmp_path / 'nope.pkl')


def _exits(main, argv, message: str) -> None:
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in argv])
    assert re.fullmatch(re.escape(message), str(info.value.code)), \
        info.value.code


def test_inout_accuracy_names_the_bad_file(files, tmp_path):
    main = _tool('inout_accuracy').main
    out = ['--out-dir', tmp_path / 'out']
    _exits(main, ['--dump', files['missing'], '--names', 'A', *out],
           f"inout_accuracy: error: A ({files['missing']}): "
           f"{files['missing']}: prediction dump not found")
    _exits(main, ['--dump', files['truncated'], '--names', 'A', *out],
           f"inout_accuracy: error: A ({files['truncated']}): "
           f"{files['truncated']}: not a readable prediction dump (truncated "
           'or not a pickle?): UnpicklingError: pickle data was truncated')
    _exits(main, ['--dump', files['truncated'], '--ann-file',
                  files['bad_ann'], *out],
           f"inout_accuracy: error: {files['bad_ann']}: invalid JSON at line "
           '1, column 13 (char 12): Expecting value (the file ends early: '
           'truncated?)')
    assert not (tmp_path / 'out').exists()


def test_choose_presence_thr_names_the_bad_file(files):
    main = _tool('choose_presence_thr').main
    _exits(main, [files['missing'], files['good_ann']],
           f"choose_presence_thr: error: {files['missing']}: prediction "
           'dump not found')
    _exits(main, [files['truncated'], files['good_ann']],
           f"choose_presence_thr: error: {files['truncated']}: not a "
           'readable prediction dump (truncated or not a pickle?): '
           'UnpicklingError: pickle data was truncated')
    good = files['truncated'].with_name('good.pkl')
    good.write_bytes(pickle.dumps([_prediction()]))
    _exits(main, [good, files['bad_ann']],
           f"choose_presence_thr: error: {files['bad_ann']}: invalid JSON at "
           'line 1, column 13 (char 12): Expecting value (the file ends '
           'early: truncated?)')
