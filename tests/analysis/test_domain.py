"""Tests of the keypoint-area analysis (the ProbPose paper's Table 3)."""
import copy
import importlib.util
import json

import cv2
import pytest

from probpose_ext.analysis import domain_counts, domain_table, plot_domains
from probpose_ext.ops.windows import DOMAIN_NAMES
from tests.conftest import DATA, REPO, run_python

TOOL = REPO / 'tools' / 'analysis_tools' / 'domain_analysis.py'


def _ann(ann_id, image_id, bbox, kpts, **extra) -> dict:
    """Annotation with 17 keypoints; ``kpts`` maps index -> (x, y, v)."""
    flat = [0.0] * 51
    for k, (x, y, v) in kpts.items():
        flat[3 * k:3 * k + 3] = [x, y, v]
    ann = dict(id=ann_id, image_id=image_id, category_id=1, bbox=bbox,
               keypoints=flat, iscrowd=0, area=bbox[2] * bbox[3])
    ann.update(extra)
    return ann


# Image 1 (200 x 300), bbox x in [50, 110], y in [100, 180] (w / h = 0.75):
# AW x in [42.5, 117.5], y in [90, 190] (padding 1.25);
#    x in [20, 140],     y in [60, 220] (padding 2).
# Image 2 (100 x 100), bbox x in [10, 70], y in [20, 100]:
# AW x in [2.5, 77.5], y in [10, 110] (1.25); x in [-20, 100], y in
# [-20, 140] (2).
# Expected area per keypoint: (padding 1.25, padding 2)
INST1 = {
    0: (80, 140, 2),      # A, A
    1: (55, 105, 1),      # A, A
    2: (110, 180, 2),     # A, A (the bbox is closed)
    3: (45, 140, 1),      # B, B
    4: (30, 140, 3),      # C, B
    5: (80, 250, 3),      # C, C
    7: (199.5, 10, 3),    # C, C (x < 200: in the image)
    8: (120, 40, 0),      # not annotated
}
INST2 = {
    0: (40, 60, 2),       # A, A
    1: (40, 105, 1),      # D, D
    2: (40, 130, 3),      # E, D
    3: (-10, 50, 3),      # E, D
    4: (1, 50, 1),        # C, B
    5: (100, 50, 1),      # E, D (x = 100 = image width: out of the image)
}
COUNTS_125 = dict(A=4, B=1, C=4, D=1, E=3)
COUNTS_2 = dict(A=4, B=3, C=2, D=4, E=0)
BY_V_125 = {'1': dict(A=1, B=1, C=1, D=1, E=1),
            '2': dict(A=3, B=0, C=0, D=0, E=0),
            '3': dict(A=0, B=0, C=3, D=0, E=2)}


def _coco() -> dict:
    return dict(
        images=[dict(id=1, file_name='a.jpg', width=200, height=300),
                dict(id=2, file_name='b.jpg', width=100, height=100)],
        annotations=[
            _ann(1, 1, [50, 100, 60, 80], INST1),
            # crowd: ignored although its keypoints are annotated
            _ann(2, 1, [0, 0, 100, 100], {0: (50, 50, 2), 1: (5, 5, 2)},
                 iscrowd=1),
            # only v = 0 keypoints (with coordinates): nothing counts
            _ann(3, 1, [0, 0, 100, 100], {0: (50, 50, 0), 1: (-5, 5, 0)}),
            _ann(4, 2, [10, 20, 60, 80], INST2),
            # not a keypoint annotation
            dict(id=5, image_id=2, category_id=2, bbox=[0, 0, 5, 5]),
        ],
        categories=[dict(id=1, name='person')])


def test_counts_by_construction():
    res = domain_counts(_coco())
    assert res['counts'] == COUNTS_125
    assert res['num_keypoints'] == 13
    assert res['num_instances'] == 3 and res['num_crowd_skipped'] == 1
    assert res['num_images'] == 2
    assert (res['aspect_ratio'], res['padding']) == (0.75, 1.25)
    for name, count in COUNTS_125.items():
        assert res['percent'][name] == pytest.approx(100 * count / 13)
    assert sum(res['percent'].values()) == pytest.approx(100)
    for v, counts in BY_V_125.items():
        summary = res['by_visibility'][v]
        assert summary['counts'] == counts, v
        assert summary['num_keypoints'] == sum(counts.values())
        assert sum(summary['percent'].values()) == pytest.approx(100)
    # the per-v counts add up to the totals
    for name in DOMAIN_NAMES:
        assert sum(res['by_visibility'][v]['counts'][name]
                   for v in '123') == res['counts'][name]
    json.dumps(res)  # serialisable (plain ints and floats)


def test_padding_moves_keypoints_into_the_window():
    res = domain_counts(_coco(), padding=2.0)
    assert res['counts'] == COUNTS_2
    # a wider window turns C into B and E into D, never touches A
    small = domain_counts(_coco(), padding=1.25)['counts']
    assert res['counts']['B'] + res['counts']['C'] == small['B'] + small['C']
    assert res['counts']['D'] + res['counts']['E'] == small['D'] + small['E']
    # a wider aspect ratio widens the window horizontally only
    wide = domain_counts(_coco(), aspect_ratio=1.5)['counts']
    # image 1 AW x in [5, 155]: keypoint 4 becomes B; image 2 AW x in
    # [-35, 115]: keypoints 3 and 5 become D, keypoint 4 B
    assert wide == dict(A=4, B=3, C=2, D=3, E=1)


def test_path_and_dict_agree(tmp_path):
    path = tmp_path / 'hand.json'
    path.write_text(json.dumps(_coco()))
    from_path = domain_counts(path)
    from_dict = domain_counts(_coco())
    assert from_path['source'] == str(path)
    assert from_dict['source'] == '<dict>'
    from_path.pop('source'), from_dict.pop('source')
    assert from_path == from_dict


def test_real_coco_sample_has_nothing_out_of_the_image():
    res = domain_counts(DATA / 'coco' / 'test_coco.json')
    assert res['num_instances'] == 14
    assert res['num_keypoints'] > 100
    assert res['counts']['D'] == res['counts']['E'] == 0
    assert res['percent']['D'] == res['percent']['E'] == 0.0
    assert res['percent']['A'] > 90
    assert sum(res['percent'].values()) == pytest.approx(100)
    assert res['by_visibility']['3']['num_keypoints'] == 0


def test_empty_dataset_gives_zeros():
    res = domain_counts(dict(images=[], annotations=[]))
    assert res['num_keypoints'] == 0 and res['num_instances'] == 0
    assert set(res['percent'].values()) == {0.0}


def _broken(edit):
    coco = _coco()
    edit(coco)
    return coco


@pytest.mark.parametrize('edit, match', [
    (lambda c: c['annotations'][0]['keypoints'].__setitem__(5, 4),
     r'<dict>: annotation id 1 has keypoint visibility values \[4\]'),
    (lambda c: c['annotations'][3]['keypoints'].pop(),
     'annotation id 4 has 50 keypoint values'),
    (lambda c: c['annotations'][3].__setitem__('image_id', 9),
     'annotation id 4 refers to unknown image id 9'),
    (lambda c: c['annotations'][0].pop('bbox'),
     r'annotation id 1 has no \[x, y, w, h\] bbox'),
    (lambda c: c['images'][1].pop('height'), 'needs "id", "width"'),
    (lambda c: c.pop('images'), 'not a COCO annotation file'),
    (lambda c: c['annotations'].append([1, 2]), 'is not an object'),
])
def test_invalid_annotations(edit, match):
    with pytest.raises(ValueError, match=match):
        domain_counts(_broken(edit))


def test_missing_and_invalid_files_are_named(tmp_path):
    missing = tmp_path / 'nope.json'
    with pytest.raises(FileNotFoundError, match=f'{missing}: annotation'):
        domain_counts(missing)
    bad = tmp_path / 'bad.json'
    bad.write_text('{"images": [')
    with pytest.raises(ValueError, match=f'{bad}: invalid JSON at line'):
        domain_counts(bad)


def test_table_and_plot(tmp_path):
    results = dict(hand=domain_counts(_coco()),
                   wide=domain_counts(_coco(), padding=2.0))
    table = domain_table(results)
    lines = table.splitlines()
    assert lines[0] == ('| Dataset | Instances | Keypoints | A [%] | B [%] | '
                        'C [%] | D [%] | E [%] |')
    assert lines[2] == ('| hand | 3 | 13 | 30.77 (4) | 7.69 (1) | '
                        '30.77 (4) | 7.69 (1) | 23.08 (3) |')
    assert lines[3].startswith('| wide | 3 | 13 | 30.77 (4) | 23.08 (3) |')
    assert '- E: out of the image, out of the activation window' in lines
    assert 'aspect ratio 0.75 and scaled by 1.25; 0.75 and scaled by 2' \
        in table
    by_v = domain_table(results, by_visibility=True, legend=False)
    assert by_v.splitlines()[2] == ('| hand | 1 | 5 | 20.00 (1) | 20.00 (1) '
                                    '| 20.00 (1) | 20.00 (1) | 20.00 (1) |')
    assert len(by_v.splitlines()) == 2 + 6

    png = plot_domains(results, tmp_path / 'd.png')
    img = cv2.imread(str(png))
    assert img is not None and img.shape[0] > 200 and img.shape[1] > 300
    assert img.std() > 10  # not a blank canvas


@pytest.mark.slow
def test_cli_writes_markdown_json_and_png(tmp_path):
    hand = tmp_path / 'hand.json'
    hand.write_text(json.dumps(_coco()))
    out = tmp_path / 'out'
    proc = run_python([
        TOOL, hand, DATA / 'coco' / 'test_coco.json', '--names', 'hand',
        'coco', '--padding', '2', '--out-dir', out
    ])
    assert sorted(p.name for p in out.iterdir()) == [
        'domains.json', 'domains.md', 'domains.png']
    md = (out / 'domains.md').read_text()
    assert proc.stdout == md
    assert '| hand | 3 | 13 | 30.77 (4) | 23.08 (3) | 15.38 (2) |' in md
    assert '## By visibility' in md
    results = json.loads((out / 'domains.json').read_text())
    assert list(results) == ['hand', 'coco']
    assert results['hand']['counts'] == COUNTS_2
    assert results['hand']['padding'] == 2.0
    assert results['coco']['counts']['D'] == results['coco']['counts'][
        'E'] == 0
    img = cv2.imread(str(out / 'domains.png'))
    assert img is not None and img.ndim == 3 and img.std() > 10


def _tool_main():
    spec = importlib.util.spec_from_file_location('domain_analysis', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


@pytest.mark.parametrize('args, message', [
    (['{missing}', '--out-dir', '{out}'], '{missing}: annotation file not'),
    (['{good}', '{good}', '--out-dir', '{out}'], 'names must be unique'),
    (['{good}', '--names', 'a', 'b', '--out-dir', '{out}'],
     'got 2 --names for 1 annotation files'),
    (['{good}', '--padding', '-1', '--out-dir', '{out}'], 'padding'),
])
@pytest.mark.slow
def test_cli_errors(tmp_path, capsys, args, message):
    good = tmp_path / 'good.json'
    good.write_text(json.dumps(_coco()))
    paths = dict(missing=tmp_path / 'missing.json', good=good,
                 out=tmp_path / 'out')
    argv = [a.format(**paths) for a in args]
    assert _tool_main()(argv) == 2
    assert message.format(**paths) in capsys.readouterr().err
    assert not (tmp_path / 'out').exists()  # nothing written on errors


def test_input_is_not_modified():
    coco = _coco()
    before = copy.deepcopy(coco)
    domain_counts(coco)
    assert coco == before
