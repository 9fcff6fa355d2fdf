"""Robustness tables, ratios and plots on hand-made records."""
import numpy as np
import pytest

from probpose_ext.analysis.robustness import (corruption_summary,
                                              corruption_table, matrix_arrays,
                                              matrix_summary, matrix_table,
                                              plot_corruption_curves,
                                              plot_matrix, robustness_ratio)

MATRIX = [
    dict(row='A', source='gt', P1=50.0, P2=40.0),
    dict(row='A', source='noisy', P1=80.0, P2=60.0),
    dict(row='B', source='gt', P1=55.0, P2=41.0),
    dict(row='B', source='noisy', P1=70.0, P2=52.0),
]


def test_matrix_arrays_and_table():
    rows, cols, values = matrix_arrays(MATRIX, 'P1')
    assert rows == ['A', 'B'] and cols == ['gt', 'noisy']
    np.testing.assert_array_equal(values, [[50, 80], [55, 70]])
    table = matrix_table(MATRIX, 'P1', train_sources=dict(A='gt', B='noisy'))
    lines = table.splitlines()
    assert lines[2] == '| A | **50.0*** | 80.0 |'
    assert lines[3] == '| B | 55.0 | **70.0*** |'
    rows, cols, values = matrix_arrays(MATRIX[:3], 'P2')
    assert np.isnan(values[1, 1])
    assert matrix_table(MATRIX[:3], 'P2').splitlines()[3].endswith('| - |')


def test_matrix_summary_own_mean_and_worst():
    text = matrix_summary(MATRIX, dict(A='gt', B='elsewhere'))
    lines = text.splitlines()
    assert lines[2] == '| A | 50.0 | 80.0 | 80.0 (noisy) |'
    assert lines[3] == '| B | - | 62.5 | 70.0 (noisy) |'


def test_robustness_ratio_closed_form():
    assert robustness_ratio(0.5, [0.25, 0.5]) == pytest.approx(0.75)
    assert robustness_ratio(50.0, [100.0, 50.0],
                            higher_is_better=False) == pytest.approx(0.75)
    assert np.isnan(robustness_ratio(1.0, []))


def _records():
    recs = []
    for model, clean, drop in (('m1', 0.6, 0.1), ('m2', 0.5, 0.05)):
        for c in ('blur', 'noise'):
            recs.append(dict(model=model, corruption=c, severity=0, AP=clean))
            for s in (1, 2):
                recs.append(dict(model=model, corruption=c, severity=s,
                                 AP=clean - drop * s * (2 if c == 'noise'
                                                        else 1)))
    return recs


def test_corruption_summary_by_brute_force():
    summary = corruption_summary(_records(), 'AP')
    by = {(r['model'], r['corruption']): r for r in summary}
    # m1 blur: 0.5, 0.4 -> mean 0.45, ratio mean(0.5/0.6, 0.4/0.6)
    assert by['m1', 'blur']['mean'] == pytest.approx(0.45)
    assert by['m1', 'blur']['ratio'] == pytest.approx(0.75)
    # m1 all: 0.5 0.4 0.4 0.2
    assert by['m1', 'all']['mean'] == pytest.approx(0.375)
    assert by['m1', 'all']['ratio'] == pytest.approx(0.375 / 0.6)
    assert by['m2', 'all']['clean'] == pytest.approx(0.5)
    table = corruption_table(summary)
    assert table.splitlines()[0] == ('| model | clean | blur | noise | mean | '
                                     'mean - clean | ratio (mRR) |')
    assert '| m1 | 0.600 | 0.450 | 0.300 | 0.375 | -0.225 | 0.625 |' in table
    assert by['m1', 'all']['delta'] == pytest.approx(-0.225)


def test_error_summary_uses_inverse_ratio():
    recs = [dict(lifter='L', corruption='jitter', severity=0, P1=50.0),
            dict(lifter='L', corruption='jitter', severity=1, P1=100.0)]
    (row, overall) = corruption_summary(recs, 'P1', by=('lifter', ),
                                        higher_is_better=False)
    assert row['ratio'] == pytest.approx(0.5) and overall['mean'] == 100.0


def test_plots_are_written(tmp_path):
    plot_matrix(MATRIX, str(tmp_path / 'm.png'))
    plot_corruption_curves(_records(), 'AP', str(tmp_path / 'c.png'))
    assert (tmp_path / 'm.png').stat().st_size > 1000
    assert (tmp_path / 'c.png').stat().st_size > 1000
