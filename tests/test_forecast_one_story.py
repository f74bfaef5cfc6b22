"""Forecast outputs tell one story (issue 21 item 2): the verdict is data, stored with the run and
shown unchanged by the CLI, the reports, the API and the dashboard; a candidate that fell back to
the naive forecast is named as such and never chosen in its place; every alert carries its rule's
backtest record; public alert reasons carry the rounded numbers (issue 22 item 3)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from idpkit.forecast.alerts import AlertRule, caveat, rounded_reason
from idpkit.forecast.backtest import BacktestConfig, backtest, fallbacks, verdict_table
from idpkit.forecast.series import Panel


def _panel(y) -> Panel:
    y = np.asarray(y, dtype=float)
    keys = pd.DataFrame({"area_pcode": [f"A{i}" for i in range(len(y))], "area_name": None,
                         "admin_level": 2, "parent_pcode": "P", "target": "arrivals",
                         "population_group": "idps", "unit": "individuals"})
    return Panel(keys, pd.period_range("2024-01", periods=y.shape[1], freq="M"), y)


def _trending(n_series: int = 3, months: int = 10) -> Panel:
    """Steady growth: the last value (naive) is far closer than the mean of the past."""
    base = np.arange(1, months + 1, dtype=float) * 100
    return _panel([base * (i + 1) for i in range(n_series)])


def test_a_candidate_that_fell_back_is_named_and_never_beats_or_is_chosen():
    # lgbm needs many training rows; 3 short series give too few, so it returns the naive
    # forecast: its scores are the naive forecast's, row for row
    bt = backtest(_trending(), BacktestConfig(horizons=2, origins=3, calibration=1,
                                              min_history=4, models=("lgbm",)))
    s = bt.scores.set_index(["model", "horizon"])
    assert s.loc[("lgbm", 1), "mae"] == pytest.approx(s.loc[("naive", 1), "mae"])
    # the median of naive, expanding mean and lgbm (= naive) is the naive forecast, and so is
    # the honest selection: both are named as the naive forecast's twins too
    assert fallbacks(bt.predictions) == {"lgbm": "naive", "combo_median": "naive",
                                         "selected": "naive"}
    v = verdict_table(bt).set_index("horizon")
    for k in (1, 2):
        assert v.loc[k, "best_candidate"] == "lgbm" and v.loc[k, "fallback_to"] == "naive"
        assert not v.loc[k, "candidate_beats_baselines"]
        assert v.loc[k, "best_model"] == "naive"  # the naive forecast is what did well
        assert "NOTHING BEATS THE BASELINE" in v.loc[k, "sentence"]
        assert "fell back to the naive forecast" in v.loc[k, "sentence"]
    # the per-series choice names the naive forecast, not its twin
    assert set(bt.choice.model) == {"naive"}
    assert bt.verdict[:2] == list(v["sentence"])
    assert "0 of 3 series keep the expanding mean" in bt.verdict[-1]


def test_a_candidate_that_beats_every_baseline_says_so():
    # croston/TSB are not naive twins; on a steady trend ETS (damped/additive) can beat naive.
    # Whatever wins, the sentence must agree with the scores: "beats" iff its MAE is below
    # every baseline's MAE at that horizon (checked against the score table, not the code).
    bt = backtest(_trending(4, 14), BacktestConfig(horizons=1, origins=4, calibration=2,
                                                   min_history=6,
                                                   models=("croston_sba", "tsb", "ets")))
    v = verdict_table(bt).iloc[0]
    sc = bt.scores[bt.scores.horizon == 1]
    base = sc[sc.model.isin(["naive", "seasonal_naive", "expanding_mean",
                             "moving_average"])].mae.min()
    cand = sc[sc.model.isin(["croston_sba", "tsb", "ets"])].mae.min()
    assert bool(v.candidate_beats_baselines) == (cand < base)
    assert ("NOTHING BEATS" in v.sentence) == (cand >= base)


def test_alerts_carry_their_rules_backtest_record():
    # series 0: two high months, a long flat stretch, then a jump in the last month. The naive
    # forecast wins its backtest (the expanding mean is pulled up by the first months), and from
    # the last month it forecasts 400 = 2x the mean of the last three months (100, 100, 400):
    # an alert.
    jump = [1000.0, 1000.0] + [100.0] * 9 + [400.0]
    bt = backtest(_panel([jump, [100.0] * 12]),
                  BacktestConfig(horizons=1, origins=4, calibration=1, min_history=4,
                                 models=("croston_sba",)))
    from idpkit.forecast.run import run

    res = run(bt, 1, AlertRule(ratio=1.5, recent=3, min_size=100, cooldown=2))
    assert list(res.alerts.area_pcode) == ["A0"]
    a = res.alerts.iloc[0]
    # surges in the scored target months (origins 7..10 -> targets 8..11): series 0 jumps at
    # month index 11 (400 > 1.5 x mean(100,100,100) and +300 >= 100): one surge, at the last
    # target; the chosen forecasts (naive from origin 10 = 100) raised no alert there -> 0 hits
    assert (a.backtest_surges, a.backtest_hits) == (1, 0)
    assert a.caveat.startswith("Unconfirmed")


def test_caveat_words():
    assert caveat(3, 0, 0).startswith("Untested")
    assert caveat(3, 0, 2) == ("Unconfirmed: in its backtest this rule raised 3 alert(s) and "
                               "caught none of 2 surge(s).")
    assert caveat(4, 2, 5) == "In its backtest this rule caught 2 of 5 surge(s) with 4 alert(s)."


def test_public_reason_has_the_rounded_numbers():
    assert rounded_reason("forecast 3,312 is 2.1× the last 3 months' mean (1,577)", 3300.0,
                          1600.0) == "forecast 3,300 is 2.1× the last 3 months' mean (1,600)"
    assert rounded_reason("some other text 3312", 3300.0, 1600.0) is None


@pytest.fixture()
def stored_run(tmp_path):
    """A real backtest and run, saved the way `forecast run` saves them."""
    from idpkit.api.app import create_app
    from idpkit.forecast.run import run
    from idpkit.forecast.store import save, verdict_rows
    from idpkit.warehouse import connect

    bt = backtest(_trending(), BacktestConfig(horizons=2, origins=3, calibration=1,
                                              min_history=4, models=("lgbm",)))
    jump = backtest(_panel([[1000.0, 1000.0] + [100.0] * 9 + [3312.0], [100.0] * 12]),
                    BacktestConfig(horizons=1, origins=4, calibration=1, min_history=4,
                                   models=("croston_sba",)))
    res = run(jump, 1, AlertRule())
    db = str(tmp_path / "w.duckdb")
    with connect(db) as wh:
        save(wh, forecasts=res.forecasts, alerts=res.alerts,
             backtests=bt.scores.assign(target="arrivals", admin_level=2),
             verdicts=verdict_rows(bt, "arrivals", 2))
    return TestClient(create_app(db), raise_server_exceptions=False), bt, res


def test_api_serves_the_stored_verdict_and_the_report_says_the_same(stored_run, tmp_path):
    from idpkit.forecast.report import report_dict

    client, bt, _ = stored_run
    rows = client.get("/api/forecasts/verdicts").json()["data"]
    assert [r["sentence"] for r in rows] == bt.verdict == report_dict(bt)["verdict"]
    assert [r["horizon"] for r in rows] == [1, 2, None]
    assert rows[0]["fallback_to"] == "naive" and rows[0]["best_model"] == "naive"


def test_public_alerts_round_the_reason_too(stored_run):
    client, _, res = stored_run
    exact = res.alerts.iloc[0]
    assert exact.value == pytest.approx(3312.0)  # naive: the last value
    pub = client.get("/api/forecasts/alerts").json()["data"][0]
    assert pub["value"] == 3300  # IDMC: below 10,000 to the nearest 100
    assert "3,312" not in pub["reason"] and "forecast 3,300 is" in pub["reason"]
    assert pub["caveat"] == exact.caveat


def test_an_older_warehouse_takes_the_new_alert_columns(warehouse_url):
    """A forecast_alerts table made before the record columns existed gets them on save."""
    import ibis

    from idpkit.forecast.store import FORECAST_ALERTS, latest, save
    from idpkit.warehouse import connect

    old = ibis.schema({c: t for c, t in FORECAST_ALERTS.items()
                       if c not in ("backtest_alerts", "backtest_hits", "backtest_surges",
                                    "caveat")})
    with connect(warehouse_url) as wh:
        wh.backend.create_empty("forecast_alerts", old)
        row = {"area_pcode": "A1", "target_month": "2025-01", "horizon": 1, "value": 5.0,
               "reason": "r", "backtest_hits": 2, "caveat": "c"}
        save(wh, alerts=pd.DataFrame([row]))
        got = latest(wh, "forecast_alerts")
    assert got.loc[0, "backtest_hits"] == 2 and got.loc[0, "caveat"] == "c"
