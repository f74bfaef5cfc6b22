"""Forecasting parts without a warehouse: metrics, intervals, alerts, reconciliation, look-ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idpkit.forecast import metrics
from idpkit.forecast.alerts import (
    AlertRule,
    prf,
    rule_holds,
    surge_matrix,
    with_cooldown,
)
from idpkit.forecast.backtest import BASELINES, BacktestConfig, backtest
from idpkit.forecast.baselines import (
    expanding_mean,
    moving_average,
    naive,
    seasonal_naive,
)
from idpkit.forecast.intervals import conformal, scaled_quantiles
from idpkit.forecast.models import all_models, feature_cube
from idpkit.forecast.reconcile import aggregate_panel, reconcile
from idpkit.forecast.series import Panel, panel_from_long
from idpkit.testing.demo_forecast import synthetic_panel


def _panel(y, **drivers) -> Panel:
    y = np.asarray(y, dtype=float)
    keys = pd.DataFrame({"area_pcode": [f"A{i}" for i in range(len(y))], "area_name": None,
                         "admin_level": 2, "parent_pcode": "P", "target": "arrivals",
                         "population_group": "idps", "unit": "individuals"})
    return Panel(keys, pd.period_range("2024-01", periods=y.shape[1], freq="M"), y,
                 {k: np.asarray(v, dtype=float) for k, v in drivers.items()})


# ------------------------------------------------------------------ metrics, by hand


def test_metrics_against_hand_computed_values():
    a = np.array([10.0, 0.0, 5.0, 20.0])
    f = np.array([12.0, 1.0, 5.0, 14.0])
    assert metrics.mae(a, f) == pytest.approx((2 + 1 + 0 + 6) / 4)
    assert metrics.rmse(a, f) == pytest.approx(np.sqrt((4 + 1 + 0 + 36) / 4))
    # history 1, 3, NaN, 7, 6: consecutive changes 2 and 1 (the gap is not bridged) -> scale 1.5
    scale = metrics.mase_scale(np.array([[1.0, 3.0, np.nan, 7.0, 6.0]]))
    assert scale[0] == pytest.approx(1.5)
    assert metrics.mase(np.array([4.0]), np.array([1.0]), scale) == pytest.approx(2.0)
    # a constant history falls back to 10% of its level (at least 1)
    assert metrics.mase_scale(np.array([[50.0, 50.0, 50.0]]))[0] == pytest.approx(5.0)
    assert metrics.mase_scale(np.array([[2.0, 2.0]]))[0] == pytest.approx(1.0)
    assert metrics.coverage(a, f - 1.5, f + 1.5) == pytest.approx(0.5)  # 12±1.5 misses 10
    # pinball at tau=0.9: under-forecast costs 0.9 per unit, over-forecast 0.1
    assert metrics.pinball(np.array([10.0]), np.array([8.0]), 0.9) == pytest.approx(1.8)
    assert metrics.pinball(np.array([10.0]), np.array([12.0]), 0.9) == pytest.approx(0.2)
    assert metrics.skill(85.0, 100.0) == pytest.approx(0.15)


def test_baselines_by_hand():
    p = _panel([[1, 2, np.nan, 6], [4, 4, 4, np.nan]])
    np.testing.assert_allclose(naive(p, 2), [[6, 6], [4, 4]])
    np.testing.assert_allclose(expanding_mean(p, 1), [[3], [4]])
    np.testing.assert_allclose(moving_average(p, 1), [[4], [4]])  # last 3: (2, gap, 6)
    y = np.arange(14, dtype=float)[None, :]
    p = _panel(y)  # 14 months: seasonal naive for month 15 is month 3 (value 2), for 16 -> 3
    np.testing.assert_allclose(seasonal_naive(p, 2), [[2, 3]])


def test_conformal_quantiles_and_bounded_intervals():
    r = np.arange(-50, 50, dtype=float)  # 100 scaled residuals, -50..49
    q = scaled_quantiles(r)
    assert q[80][0] == pytest.approx(-41) and q[80][1] == pytest.approx(41)
    iv = conformal(np.array([100.0]), np.array([2.0]), r, np.ones(100))
    assert iv["lo80"][0] == pytest.approx(100 - 82) and iv["hi80"][0] == pytest.approx(100 + 82)
    assert iv["hi95"][0] >= iv["hi80"][0] and iv["lo95"][0] >= 0
    # too few residuals: no interval rather than a made-up one
    few = conformal(np.array([1.0]), np.array([1.0]), r[:20], np.ones(20))
    assert not np.isnan(few["hi80"][0]) and np.isnan(few["hi95"][0])  # 95% needs 39
    assert np.isnan(conformal(np.array([1.0]), np.array([1.0]), r[:5], np.ones(5))["hi80"][0])


# ------------------------------------------------------------------ alerts


def test_alert_rule_ratio_min_size_and_peak():
    hist = np.array([[100, 100, 100], [10, 10, 10], [100, 400, 100]], dtype=float)
    f = np.array([151.0, 40.0, 260.0])
    flag, recent = rule_holds(f, hist, AlertRule(ratio=1.5, min_size=20))
    assert flag.tolist() == [True, True, False]  # 40 vs 10: 4×, +30 ≥ 20; 260 < 1.5 × 200
    np.testing.assert_allclose(recent, [100, 10, 200])
    flag, _ = rule_holds(f, hist, AlertRule(ratio=1.5, min_size=31))
    assert flag.tolist() == [True, False, False]  # +30 is now below the minimum size
    flag, _ = rule_holds(f, hist, AlertRule(ratio=1.2, min_size=1, peak_months=3))
    assert flag.tolist() == [True, True, False]  # 260 > 1.2 × 200 but not above the peak 400


def test_cooldown_keeps_first_of_a_run():
    flags = np.array([[1, 1, 1, 0, 1, 0, 0, 1]], dtype=bool)
    assert with_cooldown(flags, 2).astype(int).tolist() == [[1, 0, 0, 0, 1, 0, 0, 1]]
    assert with_cooldown(flags, 0).astype(int).tolist() == flags.astype(int).tolist()


def test_surges_and_precision_recall():
    y = np.array([[10, 10, 10, 100, 100, 10, 10]], dtype=float)
    s = surge_matrix(y, AlertRule(ratio=1.5, min_size=50))
    # month 3: 100 vs 10 (+90); month 4: 100 vs mean(10, 10, 100) = 40 (+60) is a surge too,
    # and the cooldown makes the two one event
    assert s.astype(int).tolist() == [[0, 0, 0, 1, 1, 0, 0]]
    assert with_cooldown(s, 2).astype(int).tolist() == [[0, 0, 0, 1, 0, 0, 0]]
    m = prf(np.array([[1, 1, 0, 0]], bool), np.array([[1, 0, 1, 0]], bool), np.ones((1, 4), bool))
    assert (m["precision"], m["recall"], m["f1"]) == (0.5, 0.5, 0.5)


# ------------------------------------------------------------------ reconciliation


@given(st.lists(st.floats(0, 1e5), min_size=4, max_size=4),
       st.lists(st.floats(0, 1e5), min_size=2, max_size=2),
       st.lists(st.floats(0.1, 1e4), min_size=4, max_size=4))
@settings(max_examples=60, deadline=None)
def test_reconciled_districts_add_up_to_regions(b, t, w):
    parent = np.array([0, 0, 1, 1])
    nb, nt = reconcile(np.array(b)[:, None], parent, np.array(t)[:, None], np.array(w))
    assert (nb >= 0).all()
    np.testing.assert_allclose(nt[:, 0], [nb[:2, 0].sum(), nb[2:, 0].sum()], rtol=1e-9)


def test_reconcile_moves_the_least_reliable_series_most():
    b = np.array([[50.0], [50.0]])
    nb, nt = reconcile(b, np.array([0, 0]), np.array([[130.0]]), np.array([1.0, 9.0]),
                       np.array([10.0]))
    # gap 30 split in proportion to the weights: 30 / (10 + 10) = 1.5 per unit of weight
    np.testing.assert_allclose(nb[:, 0], [51.5, 63.5])
    assert nt[0, 0] == pytest.approx(115.0)


def test_aggregate_panel_keeps_gaps():
    p = _panel([[1, np.nan], [2, np.nan]])
    up = aggregate_panel(p)
    assert up.y.tolist()[0][0] == 3 and np.isnan(up.y[0, 1])


# ------------------------------------------------------------------ no look-ahead, reproducibility


def _altered_after(p: Panel, t: int, seed: int = 99) -> Panel:
    rng = np.random.default_rng(seed)
    y = p.y.copy()
    y[:, t + 1:] = rng.integers(0, 10_000, y[:, t + 1:].shape)
    dr = {k: v.copy() for k, v in p.drivers.items()}
    for v in dr.values():
        v[:, t + 1:] = rng.integers(0, 500, v[:, t + 1:].shape)
    return Panel(p.keys, p.months, y, dr)


@pytest.mark.parametrize("name", list(all_models()))
def test_forecast_at_origin_ignores_everything_after_it(name):
    """Every model family: a forecast made at origin t is unchanged when the target and the
    drivers after t are replaced by other numbers."""
    model = all_models()[name]
    n = 6 if name in ("ets", "arima") else 40
    p = synthetic_panel(n, 30, seed=3, per_region=5)
    t = 21
    q = _altered_after(p, t)
    assert not np.array_equal(p.y, q.y)
    f = model(p.cut(t), 3, 0)
    np.testing.assert_array_equal(f, model(q.cut(t), 3, 0))
    assert np.isfinite(f).all() and (f >= 0).all()
    if name not in ("naive",):  # the model really ran (not the naive fallback everywhere)
        assert not np.allclose(f, naive(p.cut(t), 3))


def test_backtest_rows_up_to_origin_unchanged_when_later_data_changes():
    """Through the whole backtest: points *and intervals* made at origins ≤ t are identical when
    everything after t (target and drivers) is replaced."""
    p = synthetic_panel(40, 30, seed=4, per_region=5)
    cfg = BacktestConfig(horizons=3, origins=8, calibration=3, min_history=12,
                         models=(*BASELINES, "tsb", "lgbm"))
    t = 24
    a = backtest(p, cfg).predictions
    b = backtest(_altered_after(p, t), cfg).predictions
    cols = ["point", "lo80", "hi80", "lo95", "hi95", "scale"]
    ka, kb = a[a.origin <= t], b[b.origin <= t]
    assert len(ka) > 0
    pd.testing.assert_frame_equal(ka[cols].reset_index(drop=True), kb[cols].reset_index(drop=True))
    later = a.origin > t
    assert not np.allclose(a.loc[later, "point"], b.loc[later, "point"])  # the test can fail


def test_backtest_is_reproducible_with_a_seed():
    p = synthetic_panel(40, 30, seed=5, per_region=5)
    cfg = BacktestConfig(horizons=2, origins=4, calibration=2, min_history=12,
                         models=(*BASELINES, "lgbm"), seed=11)
    a, b = backtest(p, cfg), backtest(p, cfg)
    pd.testing.assert_frame_equal(a.predictions, b.predictions)
    pd.testing.assert_frame_equal(a.scores, b.scores)


def test_features_use_only_the_past():
    p = synthetic_panel(10, 20, seed=6, per_region=5)
    x, _, _ = feature_cube(p)
    q = _altered_after(p, 12)
    xq, _, _ = feature_cube(q)
    np.testing.assert_array_equal(x[:, :13], xq[:, :13])


def test_panel_from_long_gaps_and_rounds():
    df = pd.DataFrame({"area_pcode": ["A", "A", "B"], "month": ["2024-01", "2024-04", "2024-04"],
                       "value": [1.0, 2.0, 3.0]})
    p = panel_from_long(df)
    assert p.n_months == 4 and np.isnan(p.y[0, 1]) and np.isnan(p.y[1, 0])
    r = panel_from_long(df, steps="round")
    assert r.n_months == 2 and r.season_length == 0
    np.testing.assert_array_equal(r.y[0], [1, 2])
