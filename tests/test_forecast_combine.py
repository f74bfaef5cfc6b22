"""Issue 23: capped forecasts, combinations, honest (out-of-sample) selection, no look-ahead.

Expected values are computed here independently, with plain numpy/pandas loops written beside
the rule they check (not with idpkit's vectorised code)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from idpkit.forecast import models as model_registry
from idpkit.forecast.alerts import AlertRule
from idpkit.forecast.backtest import BASELINES, BacktestConfig, backtest
from idpkit.forecast.run import base_forecasts, run
from idpkit.forecast.series import Panel


def _panel(y) -> Panel:
    y = np.asarray(y, dtype=float)
    keys = pd.DataFrame({"area_pcode": [f"A{i}" for i in range(len(y))], "area_name": None,
                         "admin_level": 2, "parent_pcode": "P", "target": "arrivals",
                         "population_group": "idps", "unit": "individuals"})
    return Panel(keys, pd.period_range("2023-01", periods=y.shape[1], freq="M"), y)


def _generated(n: int = 6, t: int = 20, seed: int = 0) -> Panel:
    """Varied shapes: trending, flat, spiky, intermittent — so that different models win."""
    rng = np.random.default_rng(seed)
    k = np.arange(t)
    rows = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            rows.append(50 + 20 * k + rng.normal(0, 10, t))
        elif kind == 1:
            rows.append(300 + rng.normal(0, 40, t))
        elif kind == 2:
            rows.append(rng.gamma(1.0, 200, t) * (rng.random(t) < 0.3))
        else:
            rows.append(np.maximum(0, 100 * np.sin(k / 2) + 120 + rng.normal(0, 30, t)))
    return _panel(np.maximum(np.round(np.array(rows)), 0))


def _boom(p: Panel, h: int, seed: int = 0) -> np.ndarray:
    """A model whose back-transformation exploded: 3.8e8 everywhere."""
    return np.full((p.n_series, h), 3.8e8)


CFG = dict(horizons=3, origins=8, calibration=4, min_history=6)


# ------------------------------------------------------------------ 1. the cap


def test_an_exploding_model_is_capped_in_backtest_and_run(monkeypatch):
    monkeypatch.setitem(model_registry.CANDIDATES, "boom", _boom)
    p = _generated()
    bt = backtest(p, BacktestConfig(**CFG, models=(*BASELINES, "boom")))
    pr = bt.predictions
    # rule: no point and no upper bound above 3 × the series' largest value up to the origin
    boom = pr[pr.model == "boom"]
    for r in boom.itertuples():
        cap = 3 * max(np.nanmax(p.y[r.series, : r.origin + 1]), 1.0)
        assert r.point == pytest.approx(cap)
    for c in ("point", "hi80", "hi95"):
        cap = 3 * np.maximum(pr.history_max, 1.0)
        v = pr[c]
        assert (v[v.notna()] <= cap[v.notna()] + 1e-9).all(), c
    # the current forecast of a series using the exploding model is capped the same way
    bt.choice["model"] = "boom"
    f = base_forecasts(bt, 3)
    cap = 3 * np.maximum(np.nanmax(p.y, axis=1), 1.0)
    np.testing.assert_allclose(f.sort_values(["series", "horizon"]).point,
                               np.repeat(cap, 3))
    assert (f.hi95.dropna() <= np.repeat(cap, 3)[f.hi95.notna()] + 1e-9).all()


# ------------------------------------------------------------------ 2. combinations


@pytest.fixture(scope="module")
def bt_ets():
    return backtest(_generated(6, 22, seed=1), BacktestConfig(**CFG, models=(*BASELINES, "ets")))


def _wide(pr: pd.DataFrame) -> pd.DataFrame:
    return pr.pivot_table(index=["series", "origin", "horizon"], columns="model", values="point")


def test_combinations_equal_their_definition(bt_ets):
    pr = bt_ets.predictions
    w = _wide(pr)
    members = ["naive", "expanding_mean", "ets"]  # the documented list, those that ran
    np.testing.assert_allclose(w["combo_median"], w[members].median(axis=1))
    np.testing.assert_allclose(w["combo_mean"], w[members].mean(axis=1))
    # blend_em: for each origin o and horizon k, the grid weight with the lowest MAE over rows of
    # horizon k whose target month (origin + k) is <= o; 0.5 without any such row
    act = pr[pr.model == "naive"].set_index(["series", "origin", "horizon"])["actual"]
    grid = np.round(np.linspace(0, 1, 11), 2)
    for (s, o, k), got in w["blend_em"].items():
        past = [(a, e, y) for (s2, o2, k2), a, e, y in
                zip(w.index, w["ets"], w["expanding_mean"], act.reindex(w.index))
                if k2 == k and o2 + k2 <= o and not np.isnan(y)]
        if past:
            maes = [np.mean([abs(y - np.expm1(g * np.log1p(a) + (1 - g) * np.log1p(e)))
                             for a, e, y in past]) for g in grid]
            wt = grid[int(np.argmin(maes))]
        else:
            wt = 0.5
        want = np.expm1(wt * np.log1p(w.loc[(s, o, k), "ets"])
                        + (1 - wt) * np.log1p(w.loc[(s, o, k), "expanding_mean"]))
        assert got == pytest.approx(want, rel=1e-9, abs=1e-9)
    # combinations are scored and intervalled like any model
    sc = bt_ets.scores
    assert {"combo_median", "combo_mean", "blend_em", "selected"} <= set(sc.model)
    assert pr.loc[pr.model == "combo_median", "hi80"].notna().any()


# ------------------------------------------------------------------ 3. honest selection


def test_selected_uses_only_errors_known_before_each_origin(bt_ets):
    pr = bt_ets.predictions
    w = _wide(pr)
    act = pr[pr.model == "naive"].set_index(["series", "origin", "horizon"])["actual"] \
        .reindex(w.index)
    order = [*BASELINES, "ets", "combo_median", "combo_mean", "blend_em"]  # tie order
    err = w[order].sub(act, axis=0).abs()
    idx = w.index.to_frame(index=False)
    target = (idx.origin + idx.horizon).to_numpy()
    for i, (s, o, k) in enumerate(w.index):
        known = (target <= o) & act.notna().to_numpy()
        own = known & (idx.series.to_numpy() == s)
        rows = own if own.sum() >= 24 else known  # too few own errors: pooled over series
        if rows.any():
            mae = err[rows].mean()
            best = min(order, key=lambda m: (mae[m], order.index(m)))
        else:
            best = "naive"  # nothing known yet: the first model
        assert w["selected"].iloc[i] == pytest.approx(w[best].iloc[i]), (s, o, k)


def test_verdict_and_run_say_what_run_uses_with_the_out_of_sample_score(bt_ets):
    last = bt_ets.verdict[-1]
    sel = bt_ets.scores[bt_ets.scores.model == "selected"].set_index("horizon")
    assert "out of sample" in last
    assert f"h=1 {100 * sel.loc[1, 'skill_vs_mean']:+.1f}%" in last
    # forecast run applies the selection rule at the last month: every series' lowest MAE
    # over all its backtest errors (>= 24 of them here)
    pr = bt_ets.predictions[bt_ets.predictions.model != "selected"]
    pr = pr[pr.actual.notna()]
    mae = pr.assign(e=(pr.actual - pr.point).abs()).groupby(["series", "model"]).e.mean()
    order = [*BASELINES, "ets", "combo_median", "combo_mean", "blend_em"]
    for s, m in zip(bt_ets.choice.series, bt_ets.choice.model):
        want = min(order, key=lambda x: (mae[(s, x)], order.index(x)))
        assert m == want
    res = run(bt_ets, 3, AlertRule(min_size=10))
    assert len(res.forecasts) == 6 * 3 and res.forecasts.value.notna().all()
    got = res.forecasts.groupby("area_pcode").model.first().to_numpy()
    np.testing.assert_array_equal(got, bt_ets.choice.model.to_numpy())


def test_run_builds_a_chosen_combination_from_current_member_forecasts():
    p = _generated(4, 18, seed=3)
    bt = backtest(p, BacktestConfig(**CFG, models=tuple(BASELINES)))
    bt.choice["model"] = "combo_median"
    f = base_forecasts(bt, 2).sort_values(["series", "horizon"])
    # members (fewer than three of the documented list ran): all four baselines, by hand
    y = p.y
    naive = y[:, -1]
    mean = y.mean(axis=1)
    ma3 = y[:, -3:].mean(axis=1)
    snaive = np.stack([y[:, -12], y[:, -11]], axis=1)  # target months t+1, t+2 a year before
    want = np.median(np.stack([np.repeat(naive[:, None], 2, 1), snaive,
                               np.repeat(mean[:, None], 2, 1), np.repeat(ma3[:, None], 2, 1)]),
                     axis=0)
    np.testing.assert_allclose(f.point.to_numpy(), want.reshape(-1))


# ------------------------------------------------------------------ 4. no look-ahead


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_no_forecast_at_an_origin_moves_when_a_later_actual_changes(seed):
    """Perturb one random actual after origin t: no forecast (member, combination, selection) or
    interval made at an origin <= t changes."""
    rng = np.random.default_rng(seed)
    p = _generated(5, 20, seed=10 + seed)
    if seed % 2:  # gaps too: a month without a figure is unknown, and may become known later
        y0 = p.y.copy()
        y0[rng.random(y0.shape) < 0.1] = np.nan
        p = Panel(p.keys, p.months, y0)
    cfg = BacktestConfig(**CFG, models=tuple(BASELINES))
    a = backtest(p, cfg).predictions
    t = int(rng.integers(12, 17))
    y = p.y.copy()
    s, m = int(rng.integers(0, 5)), int(rng.integers(t + 1, 20))
    y[s, m] = np.nan_to_num(y[s, m]) * 10 + 5_000
    b = backtest(Panel(p.keys, p.months, y), cfg).predictions
    cols = ["point", "lo80", "hi80", "lo95", "hi95"]
    ka, kb = a[a.origin <= t], b[b.origin <= t]
    assert set(ka.model) >= {"combo_median", "combo_mean", "selected"}
    pd.testing.assert_frame_equal(ka[cols].reset_index(drop=True), kb[cols].reset_index(drop=True))
    # the test can fail: the perturbed value is in the table (as an actual, and as history of
    # the later origins when it is not the last month)
    assert not np.allclose(a.actual, b.actual, equal_nan=True)
    if m < 19:
        later = a.origin > t
        assert not np.allclose(a.loc[later, "point"], b.loc[later, "point"], equal_nan=True)


def test_blend_weight_ignores_later_actuals(bt_ets):
    """blend_em and selected with ETS as partner: perturb every actual after t."""
    p = bt_ets.panel
    t = 15
    y = p.y.copy()
    y[:, t + 1:] = np.random.default_rng(5).integers(0, 10_000, y[:, t + 1:].shape)
    b = backtest(Panel(p.keys, p.months, y), bt_ets.config).predictions
    a = bt_ets.predictions
    ka = a[(a.origin <= t) & a.model.isin(["blend_em", "selected"])]
    kb = b[(b.origin <= t) & b.model.isin(["blend_em", "selected"])]
    pd.testing.assert_frame_equal(ka[["point", "lo80", "hi80"]].reset_index(drop=True),
                                  kb[["point", "lo80", "hi80"]].reset_index(drop=True))


# ------------------------------------------------------------------ 5. predictions file, origin range


def test_origin_range_and_predictions_table():
    from idpkit.forecast.backtest import predictions_table
    from idpkit.forecast.series import ForecastError

    p = _generated(3, 20, seed=4)  # 2023-01 .. 2024-08
    cfg = BacktestConfig(**{**CFG, "calibration": 2}, models=tuple(BASELINES),
                         from_origin="2023-10", to_origin="2024-01")
    bt = backtest(p, cfg)
    scored = sorted(bt.predictions.loc[bt.predictions.scored, "origin"].unique())
    assert [str(p.months[o]) for o in scored] == ["2023-10", "2023-11", "2023-12", "2024-01"]
    t = predictions_table(bt)
    assert len(t) == len(bt.predictions)
    r = t[(t.area_pcode == "A1") & (t.origin_month == "2023-11") & (t.horizon == 3)
          & (t.model == "naive")].iloc[0]
    assert r.target_month == "2024-02"
    assert r.forecast == p.y[1, 10] and r.actual == p.y[1, 13]  # naive: value of 2023-11
    for bad, msg in (({"from_origin": "2023-13"}, "not a month"),
                     ({"from_origin": "2030-01"}, "no origin between")):
        with pytest.raises(ForecastError, match=msg):
            backtest(p, BacktestConfig(**CFG, models=tuple(BASELINES), **bad))


# ------------------------------------------------------------------ real series (trimmed IDMC)


def test_real_disaster_series_capped_and_honestly_scored():
    """IDMC disaster displacement of six countries (fixture, see tests/fixtures/forecast): spikes
    and long quiet spells, where log-scale models overshoot."""
    from pathlib import Path

    from idpkit.forecast.series import panel_from_long

    f = Path(__file__).parent / "fixtures" / "forecast" / \
        "idmc-gidd-disaster-events-6-countries-2017-2024.csv"
    ev = pd.read_csv(f)
    # country-months: events counted in the month they started, months without one are 0
    ev["month"] = ev.start_date.str[:7]
    g = ev.groupby(["iso3", "month"]).new_displacement.sum()
    months = pd.period_range("2017-01", "2024-12", freq="M").astype(str)
    grid = pd.MultiIndex.from_product([sorted(ev.iso3.unique()), months])
    long = g.reindex(grid, fill_value=0).rename_axis(["area_pcode", "month"]) \
        .rename("value").reset_index()
    p = panel_from_long(long)
    bt = backtest(p, BacktestConfig(horizons=3, origins=18, calibration=6, min_history=24,
                                    models=(*BASELINES, "ets")))
    pr = bt.predictions
    # cap, by hand: the running maximum of each series up to each origin
    runmax = np.fmax.accumulate(p.y, axis=1)
    cap = 3 * np.maximum(runmax[pr.series, pr.origin], 1.0)
    assert (pr.point.to_numpy() <= cap + 1e-6).all()
    # the closing sentence quotes the out-of-sample skill of 'selected', recomputed here
    sc = pr[pr.scored & pr.actual.notna()]
    mae = sc.assign(e=(sc.actual - sc.point).abs()).groupby(["model", "horizon"]).e.mean()
    for k in (1, 2, 3):
        skill = 1 - mae[("selected", k)] / mae[("expanding_mean", k)]
        assert f"h={k} {100 * skill:+.1f}%" in bt.verdict[-1]
    assert {"combo_median", "blend_em", "selected"} <= set(bt.scores.model)
