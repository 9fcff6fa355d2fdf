"""The lifter comparison's rows, table and GraphMLP-vs-TCN differences."""
import pytest

from probpose_ext.analysis.lifting import (depth_table, lifter_row,
                                           lifter_table, plot_lifters,
                                           same_frames_comparison)


def _rows():
    m = lambda p1, p2: {'MPJPE': p1, 'P-MPJPE': p2}  # noqa: E731
    return [
        lifter_row('tcn-1', 'TCN', 1, 2_000_000, m(0.060, 0.045), 3.0),
        lifter_row('gmlp-1', 'GraphMLPLifter', 1, 500_000, m(0.054, 0.040),
                   2.5),
        lifter_row('tcn-27', 'TCN', 27, 2_100_000, m(0.040, 0.030), 9.0),
        lifter_row('gmlp-27', 'GraphMLPLifter', 27, 530_000,
                   m(0.044, 0.033), None),
    ]


def test_rows_in_millimetres_and_same_frame_differences():
    rows = _rows()
    assert rows[0]['p1_mm'] == pytest.approx(60)
    assert rows[0]['p2_mm'] == pytest.approx(45)
    versus = same_frames_comparison(rows)
    assert [v['frames'] for v in versus] == [1, 27]
    assert versus[0]['p1_diff_mm'] == pytest.approx(-6)      # ours better
    assert versus[0]['p1_ratio'] == pytest.approx(0.9)
    assert versus[1]['p1_diff_mm'] == pytest.approx(4)       # ours worse
    assert versus[1]['p2_ratio'] == pytest.approx(1.1)
    # a frame count with one backbone only is not compared
    assert [v['frames'] for v in same_frames_comparison(rows[:3])] == [1]
    # a later row of the same backbone and frames does not replace the first
    extra = lifter_row('tcn-1-variant', 'TCN', 1, 10,
                       {'MPJPE': 0.030, 'P-MPJPE': 0.02}, None)
    assert same_frames_comparison(rows + [extra])[0]['p1_diff_mm'] == \
        pytest.approx(-6)


def test_table_and_plot(tmp_path):
    rows = _rows()
    table = lifter_table(rows).splitlines()
    assert len(table) == 2 + len(rows)
    assert table[2] == '| tcn-1 | TCN | 1 | 2.00 | 60.0 | 45.0 | 3.0 |'
    assert table[-1].endswith('| 44.0 | 33.0 | - |')
    curves = {'tcn-1': [dict(minutes=1.0, MPJPE=0.08),
                        dict(minutes=3.0, MPJPE=0.06)], 'gmlp-27': []}
    plot_lifters(rows, curves, str(tmp_path / 'p.png'))
    assert (tmp_path / 'p.png').stat().st_size > 1000


def test_depth_rows_and_table():
    metrics = {'MPJPE': 0.05, 'P-MPJPE': 0.04, 'depth/NLL': -2.0,
               'depth/cov68': 0.66, 'depth/cov95': 0.94, 'depth/ENCE': 0.05,
               'depth/AUSE': 0.1, 'depth/MAE_mm': 30.0,
               'depth/mean_std_mm': 35.0, 'cov3d/NLL': -6.5}
    row = lifter_row('xyz', 'TCN', 1, 10, metrics, 1.0)
    assert row['depth']['cov68'] == 0.66 and row['depth']['cov3d_NLL'] == -6.5
    assert 'depth' not in _rows()[0]
    lines = depth_table(_rows() + [row]).splitlines()
    assert len(lines) == 3                   # rows without sigmas left out
    assert lines[2] == ('| xyz | 30.0 | 35.0 | -2.000 | 0.660 | 0.940 | '
                        '0.050 | 0.100 | -6.500 |')
