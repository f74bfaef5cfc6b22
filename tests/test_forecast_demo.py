"""Forecasts end to end on the demo operation: warehouse → panel with drivers → backtest → run →
warehouse tables, on every selected backend; and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import new_warehouse_url


@pytest.fixture(scope="module")
def fc_demo(tmp_path_factory):
    """A 12-month demo operation (small geography: 20 admin 2, 80 admin 3) with its drivers."""
    from idpkit.testing.demo import generate_operation
    from idpkit.testing.demo_forecast import write_demo_drivers

    root = tmp_path_factory.mktemp("fcdemo")
    op = generate_operation(root / "files", rounds=12, n_adm3_per_adm2=4, seed=3)
    return op, write_demo_drivers(op.truth_dir, op.gazetteer_csv, root / "drivers", seed=3)


@pytest.fixture(scope="module")
def fc_wh(backend, request, fc_demo, tmp_path_factory):
    from idpkit.ingest.pipeline import ingest_file
    from idpkit.warehouse import connect
    from idpkit.warehouse.areas import load_areas, read_gazetteer_csv

    op, _ = fc_demo
    with new_warehouse_url(backend, request, tmp_path_factory.mktemp("fcwh")) as url:
        wh = connect(url)
        load_areas(wh, read_gazetteer_csv(op.gazetteer_csv))
        for f in op.flow_files:  # arrivals come from flow monitoring: the stock files add nothing
            assert ingest_file(wh, f).status == "imported"
        yield wh, url
        wh.close()


CFG = {"horizons": 3, "origins": 4, "calibration": 2, "min_history": 4}


def _panel(wh, fc_demo):
    from idpkit.forecast.pipeline import load_panel

    _, d = fc_demo
    return load_panel(wh, "arrivals", 2, conflict=d.conflict_csv, indicators=[d.hazard_csv])


def test_demo_panel_and_drivers(fc_wh, fc_demo):
    wh, _ = fc_wh
    op, _ = fc_demo
    p = _panel(wh, fc_demo)
    # arrivals per admin 2 and month equal the generator's truth (od.csv, arrivals by destination)
    od = pd.read_csv(op.truth_dir / "od.csv")
    od = od[od.flow.isin(["new_displacement", "secondary_displacement"])]
    od["adm2"] = od.destination_adm3_pcode.str[:6]
    od["month"] = od.to_date.str[:7]
    truth = od.groupby(["adm2", "month"]).value.sum()
    got = pd.Series(p.y.reshape(-1), index=pd.MultiIndex.from_product(
        [p.keys.area_pcode, [str(m) for m in p.months]]))
    both = got.dropna()
    assert len(both) >= 200
    np.testing.assert_allclose(both.to_numpy(), truth.reindex(both.index).fillna(0).to_numpy())
    assert {"conflict_events", "conflict_fatalities", "rainfall_anomaly", "flood_alert",
            "neighbour_target"} <= set(p.drivers)
    # conflict events peak in the shocked admin 2 in the shock month (the driver carries signal)
    shocks = pd.read_csv(op.truth_dir / "shocks.csv")
    s = shocks[shocks.cause == "conflict"].iloc[0]
    i = list(p.keys.area_pcode).index(s.adm2_pcode)
    j = list(map(str, p.months)).index(s.to_date[:7])
    assert p.drivers["conflict_events"][i, j] > np.nanmedian(p.drivers["conflict_events"])


def test_demo_backtest_end_to_end_and_reproducible(fc_wh, fc_demo):
    from idpkit.forecast.backtest import BASELINES, BacktestConfig, backtest

    wh, _ = fc_wh
    p = _panel(wh, fc_demo)
    cfg = BacktestConfig(**CFG, models=(*BASELINES, "croston_sba", "tsb", "lgbm"), seed=7)
    a, b = backtest(p, cfg), backtest(p, cfg)
    pd.testing.assert_frame_equal(a.scores, b.scores)
    assert set(a.scores.model) == {*BASELINES, "croston_sba", "tsb", "lgbm", "combo_median",
                                   "combo_mean", "blend_em", "selected"}
    assert sorted(a.scores.horizon.unique()) == [1, 2, 3]
    assert (a.scores.n > 0).all() and a.scores.mae.notna().all()
    assert a.scores.coverage80.notna().any()
    assert len(a.verdict) == 4 and set(a.choice.model) <= set(a.scores.model)


def test_run_is_coherent_and_stored(fc_wh, fc_demo):
    from idpkit.forecast.alerts import AlertRule
    from idpkit.forecast.backtest import BASELINES, BacktestConfig, backtest
    from idpkit.forecast.reconcile import aggregate_panel
    from idpkit.forecast.run import run
    from idpkit.forecast.store import latest, save

    wh, _ = fc_wh
    p = _panel(wh, fc_demo)
    cfg = BacktestConfig(**CFG, models=(*BASELINES, "tsb"))
    res = run(backtest(p, cfg), 3, AlertRule(min_size=10), backtest(aggregate_panel(p), cfg))
    save(wh, forecasts=res.forecasts, alerts=res.alerts)
    f = latest(wh, "forecasts")
    assert len(f) == (20 + 4) * 3 and f.reconciled.all()
    low, up = f[f.admin_level == 2], f[f.admin_level == 1]
    sums = low.groupby(["parent_pcode", "horizon"]).value.sum()
    tops = up.set_index(["area_pcode", "horizon"]).value
    np.testing.assert_allclose(sums.sort_index().to_numpy(), tops.sort_index().to_numpy(),
                               rtol=1e-9)
    # nested, non-negative intervals where the backtest left enough residuals to make them
    iv = f.dropna(subset=["lo80", "hi80", "lo95", "hi95"])
    assert len(iv) >= 60 and f.lo80.notna().all()
    assert ((iv.lo95 >= 0) & (iv.lo95 <= iv.lo80) & (iv.lo80 <= iv.hi80)
            & (iv.hi80 <= iv.hi95)).all()
    assert (f.target_month > f.origin_month).all()


def _idpkit(*args: str, db: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from idpkit.cli.app import main; main()",
                           *args, "--db", db], capture_output=True, text=True, timeout=600,
                          check=False)


def test_cli_backtest_run_alerts(fc_wh, fc_demo, backend, tmp_path):
    from typer.testing import CliRunner

    from idpkit.cli.app import app

    wh, url = fc_wh
    _, d = fc_demo
    if backend == "duckdb":
        wh.close()  # DuckDB: one writer process at a time
    common = ["--origins", "3", "--calibration", "2", "--min-history", "4", "--models", "tsb",
              "--conflict", str(d.conflict_csv), "--db", url]
    cli = CliRunner()
    pred_csv = tmp_path / "pred.csv"
    r = cli.invoke(app, ["forecast", "backtest", *common, "--format", "json", "--predictions",
                         str(pred_csv)])
    assert r.exit_code == 0, r.output
    pred = pd.read_csv(pred_csv)
    assert list(pred.columns[:6]) == ["area_pcode", "area_name", "origin_month", "target_month",
                                      "horizon", "model"]
    assert {"forecast", "lo80", "hi80", "actual"} <= set(pred.columns)
    assert {"selected", "combo_median", "tsb"} <= set(pred.model)
    doc = json.loads(r.stdout)
    assert doc["series"] == 20 and {s["model"] for s in doc["scores"]} >= {"expanding_mean", "tsb"}
    assert any(a["model"] == "alert every month" for a in doc["alert_scores"])
    report = tmp_path / "fc.html"
    r = cli.invoke(app, ["forecast", "run", *common, "--min-size", "10", "--report", str(report)])
    assert r.exit_code == 0, r.output
    assert "<svg" in report.read_text(encoding="utf-8") and "Run fc-" in r.stdout
    a = cli.invoke(app, ["forecast", "alerts", "--format", "json", "--db", url])
    assert a.exit_code == 0, a.output
    assert isinstance(json.loads(a.stdout), list)
    bad = _idpkit("forecast", "backtest", "--conflict", str(tmp_path / "missing.csv"), db=url)
    assert bad.returncode == 1 and bad.stderr.startswith("Error:") and "Traceback" not in bad.stderr
    bad = _idpkit("forecast", "backtest", "--from-origin", "2024-13", db=url)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "--from-origin: '2024-13' is not a month; write YYYY-MM" in bad.stderr
