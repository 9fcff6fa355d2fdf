"""TIC comparison: the evaluation config (covariance output and TACMetric
added once), rows (TAC gain = 1 - TAC / L2), the markdown table and the
plot."""
import pytest
from mmengine.config import Config

from probpose_ext.analysis.tic_comparison import (
    COLUMNS, FORMS, comparison_row, comparison_table, covariance_eval_config,
    plot_comparison, rows_in_order)
from tests.conftest import REPO

METRICS = {'coco/AP': 0.5, 'tac/l2': 8.0, 'tac/mean': 6.0, 'tac/nll': 90.25,
           'tac/coverage@68': 0.7, 'tac/coverage@95': 0.93}


@pytest.mark.parametrize('config', [
    'configs/synthpose/probpose_effnet-lite0_1xb32-24e_synthpose-128x96.py',
    'configs/synthpose/tic_effnet-lite0_1xb32-6e_synthpose-128x96.py'])
def test_eval_config_adds_covariances_and_one_tac_metric(config):
    cfg = Config.fromfile(str(REPO / config))
    before = [dict(e) for e in cfg.test_evaluator]
    flag = cfg.model.get('test_cfg', {}).get('output_covariance')
    out = covariance_eval_config(cfg)
    assert out.model.test_cfg.output_covariance is True
    types = [e['type'] for e in out.test_evaluator]
    assert types.count('TACMetric') == 1
    # the other evaluators are kept as they were, in order
    kept = [dict(e) for e in out.test_evaluator if e['type'] != 'TACMetric']
    assert kept == [e for e in before if e['type'] != 'TACMetric']
    # the input config is not modified
    assert cfg.model.get('test_cfg', {}).get('output_covariance') == flag
    assert [dict(e) for e in cfg.test_evaluator] == before


def test_eval_config_on_another_split():
    cfg = Config.fromfile(str(
        REPO / 'configs/synthpose/tic_effnet-lite0_1xb32-6e_synthpose-'
        '128x96.py'))
    out = covariance_eval_config(cfg, 'data/synthpose_crop/')
    assert out.test_dataloader.dataset.data_root == 'data/synthpose_crop/'
    anns = [e['ann_file'] for e in out.test_evaluator if 'ann_file' in e]
    assert anns == ['data/synthpose_crop/annotations/'
                    'person_keypoints_val.json']
    assert cfg.test_dataloader.dataset.data_root == 'data/synthpose/'


def test_row_and_table():
    row = comparison_row('TIC head, tic', FORMS['tic'], METRICS, 12.34)
    assert row['tac_gain'] == pytest.approx(0.25)
    assert row['minutes'] == pytest.approx(12.34)
    assert all(row[k] == METRICS[k] for k, _ in COLUMNS)
    empty = comparison_row('x', 'y', {})
    assert empty['tac_gain'] is None and empty['coco/AP'] is None
    table = comparison_table([row, empty]).splitlines()
    assert len(table) == 4
    cells = [c.strip() for c in table[2].strip('|').split('|')]
    assert cells == ['TIC head, tic', FORMS['tic'], '0.500', '8.00', '6.00',
                     '25.0%', '90.2', '0.700', '0.930', '12.3']
    assert set(c.strip() for c in table[3].strip('|').split('|')[2:]) == \
        {'-'}


def test_rows_in_order_and_plot(tmp_path):
    rows = {n: comparison_row(n, 'f', METRICS) for n in ('b', 'a', 'tic')}
    assert [r['name'] for r in rows_in_order(rows, ['tic', 'zz'])] == \
        ['tic', 'a', 'b']
    path = tmp_path / 'c.png'
    plot_comparison(list(rows.values()), str(path))
    assert path.stat().st_size > 10_000
