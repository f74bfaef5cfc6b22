"""Forecast endpoints: the latest run's forecasts, alerts and backtest scores, rounded for the
public and exact for analysts."""

from __future__ import annotations

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from idpkit.api.auth import create_token


@pytest.fixture()
def forecast_api(tmp_path):
    from idpkit.api.app import create_app
    from idpkit.forecast.store import save
    from idpkit.warehouse import connect

    db = str(tmp_path / "w.duckdb")
    base = {"area_name": "A", "admin_level": 2, "parent_pcode": "ZD01", "target": "arrivals",
            "population_group": "idps", "unit": "individuals", "origin_month": "2025-01",
            "model": "lgbm", "reconciled": True}
    old = pd.DataFrame([{**base, "area_pcode": "ZD0101", "target_month": "2025-02", "horizon": 1,
                         "value": 1.0, "lo80": 0.0, "hi80": 2.0, "lo95": 0.0, "hi95": 3.0}])
    new = pd.DataFrame([
        {**base, "area_pcode": "ZD0101", "target_month": "2025-03", "horizon": 1,
         "value": 1234.4, "lo80": 0.0, "hi80": 2345.6, "lo95": 0.0, "hi95": 4567.0},
        {**base, "area_pcode": "ZD0102", "target_month": "2025-03", "horizon": 1,
         "value": 87.6, "lo80": 40.2, "hi80": 120.9, "lo95": 20.0, "hi95": 150.0},
    ])
    alerts = pd.DataFrame([{**{k: base[k] for k in ("area_name", "admin_level", "target",
                                                     "population_group", "unit", "model")},
                            "area_pcode": "ZD0101", "target_month": "2025-03", "horizon": 1,
                            "value": 1234.4, "lo80": 0.0, "hi80": 2345.6, "recent_mean": 501.0,
                            "rule": "ratio",
                            "reason": "forecast 1,234 is 2.5× the last 3 months' mean (501)"}])
    with connect(db) as wh:
        save(wh, forecasts=old)
        import time

        time.sleep(0.01)  # a later created_at
        run = save(wh, forecasts=new, alerts=alerts)
        token = create_token(wh, "t", "analyst")
    return TestClient(create_app(db), raise_server_exceptions=False), token, run


def test_latest_run_only_and_filters(forecast_api):
    client, token, run = forecast_api
    body = client.get("/api/forecasts", headers={"Authorization": f"Bearer {token}"}).json()
    assert body["run_id"] == run and len(body["data"]) == 2
    assert body["data"][0]["value"] == pytest.approx(1234.4)  # analyst: exact
    one = client.get("/api/forecasts", params={"area": "ZD0102"}).json()["data"]
    assert [r["area_pcode"] for r in one] == ["ZD0102"]


def test_public_values_are_rounded_but_zero_stays_zero(forecast_api):
    client, _, _ = forecast_api
    rows = {r["area_pcode"]: r for r in client.get("/api/forecasts").json()["data"]}
    assert rows["ZD0101"]["value"] == 1200 and rows["ZD0101"]["hi80"] == 2300
    assert rows["ZD0101"]["lo80"] == 0
    assert rows["ZD0102"]["value"] == 88  # up to 100: exact to the person


def test_alerts_with_reasons_and_hxl(forecast_api):
    client, _, _ = forecast_api
    data = client.get("/api/forecasts/alerts").json()["data"]
    # public: the reason carries the same rounded numbers as the columns (issue 22 item 3)
    assert data[0]["reason"] == "forecast 1,200 is 2.5× the last 3 months' mean (500)"
    assert data[0]["value"] == 1200
    hxl = client.get("/api/forecasts/alerts", params={"format": "hxl"}).text.splitlines()
    assert "#loc+code" in hxl[1]
    bad = client.get("/api/forecasts", params={"level": 9})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid-request"


def test_empty_warehouse_gives_empty_lists(tmp_path):
    from idpkit.api.app import create_app

    client = TestClient(create_app(str(tmp_path / "e.duckdb")), raise_server_exceptions=False)
    for path in ("/api/forecasts", "/api/forecasts/alerts", "/api/forecasts/backtests",
                 "/api/forecasts/verdicts"):
        r = client.get(path)
        assert r.status_code == 200 and r.json()["data"] == []
