"""Warehouse tables of forecasts, alerts and backtest scores (read by the API and dashboard).

Each ``forecast run`` or ``forecast backtest`` appends rows under a new ``run_id`` in one
transaction (:meth:`Warehouse.atomic_insert`); readers take the newest run. Column names follow the
house vocabulary (P-codes, groups, units; months as ``YYYY-MM``); :data:`HXL` gives the hashtags for
exported columns.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING
from datetime import UTC, datetime

import ibis
import ibis.expr.datatypes as dt
import pandas as pd

from idpkit.warehouse.warehouse import Warehouse

if TYPE_CHECKING:
    from idpkit.forecast.backtest import BacktestResult

FORECASTS = ibis.schema({
    "run_id": dt.string, "created_at": dt.timestamp, "area_pcode": dt.string,
    "area_name": dt.string, "admin_level": dt.int16, "parent_pcode": dt.string,
    "target": dt.string, "population_group": dt.string, "unit": dt.string,
    "origin_month": dt.string, "target_month": dt.string, "horizon": dt.int16,
    "model": dt.string, "reconciled": dt.boolean, "value": dt.float64, "lo80": dt.float64,
    "hi80": dt.float64, "lo95": dt.float64, "hi95": dt.float64})
FORECAST_ALERTS = ibis.schema({
    "run_id": dt.string, "created_at": dt.timestamp, "area_pcode": dt.string,
    "area_name": dt.string, "admin_level": dt.int16, "target": dt.string,
    "population_group": dt.string, "unit": dt.string, "target_month": dt.string,
    "horizon": dt.int16, "model": dt.string, "value": dt.float64, "lo80": dt.float64,
    "hi80": dt.float64, "recent_mean": dt.float64, "rule": dt.string, "reason": dt.string,
    # the rule's record in the backtest of the forecasts this run uses (same horizon): an alert
    # from a rule that caught no surge there says so in ``caveat``
    "backtest_alerts": dt.int64, "backtest_hits": dt.int64, "backtest_surges": dt.int64,
    "caveat": dt.string})
FORECAST_BACKTESTS = ibis.schema({
    "run_id": dt.string, "created_at": dt.timestamp, "target": dt.string,
    "admin_level": dt.int16, "model": dt.string, "horizon": dt.int16, "n": dt.int64,
    "mae": dt.float64, "rmse": dt.float64, "mase": dt.float64, "coverage80": dt.float64,
    "coverage95": dt.float64, "pinball": dt.float64, "skill_vs_mean": dt.float64,
    "skill_vs_naive": dt.float64, "rmse_skill_vs_mean": dt.float64})
FORECAST_VERDICTS = ibis.schema({
    "run_id": dt.string, "created_at": dt.timestamp, "target": dt.string,
    "admin_level": dt.int16, "position": dt.int16, "horizon": dt.int16,
    "best_candidate": dt.string, "best_baseline": dt.string,
    "candidate_beats_baselines": dt.boolean, "best_model": dt.string, "fallback_to": dt.string,
    "skill_vs_mean": dt.float64, "rmse_skill_vs_mean": dt.float64, "coverage80": dt.float64,
    "sentence": dt.string})
TABLES = {"forecasts": FORECASTS, "forecast_alerts": FORECAST_ALERTS,
          "forecast_backtests": FORECAST_BACKTESTS, "forecast_verdicts": FORECAST_VERDICTS}
HXL = {"area_pcode": "#loc+code", "area_name": "#loc+name", "population_group": "#group",
       "target_month": "#date+forecast", "value": "#affected+idps+forecast",
       "lo80": "#affected+idps+forecast+lo80", "hi80": "#affected+idps+forecast+hi80",
       "lo95": "#affected+idps+forecast+lo95", "hi95": "#affected+idps+forecast+hi95"}


def new_run_id() -> str:
    return f"fc-{datetime.now(UTC):%Y%m%d%H%M%S}-{uuid.uuid4().hex[:6]}"


def _typed(df: pd.DataFrame, schema: ibis.Schema, run_id: str, now: datetime) -> ibis.Table:
    d = df.copy()
    d["run_id"], d["created_at"] = run_id, now
    for c in schema.names:
        if c not in d:
            d[c] = None
    d = d[list(schema.names)]
    for c, t in schema.items():
        if t.is_floating():
            d[c] = pd.to_numeric(d[c], errors="coerce").astype("float64")
        elif t.is_integer():
            d[c] = pd.to_numeric(d[c], errors="coerce").astype("Int64")
        elif t.is_boolean():
            d[c] = d[c].astype("boolean")
        elif t.is_string():
            d[c] = d[c].astype("string")
    return ibis.memtable(d, schema=schema)


def verdict_rows(bt: BacktestResult, target: str, level: int) -> pd.DataFrame:
    """The backtest's verdict as rows of ``forecast_verdicts``: one per horizon, then the sentence
    on what ``forecast run`` uses (horizon empty); ``position`` keeps the reading order."""
    from idpkit.forecast.backtest import choice_sentence, verdict_table

    v = verdict_table(bt)
    v = pd.concat([v, pd.DataFrame([{"sentence": choice_sentence(bt.choice, bt.scores)}])],
                  ignore_index=True)
    return v.assign(target=target, admin_level=level, position=range(len(v)))


def save(wh: Warehouse, *, forecasts: pd.DataFrame | None = None,
         alerts: pd.DataFrame | None = None, backtests: pd.DataFrame | None = None,
         verdicts: pd.DataFrame | None = None, run_id: str | None = None) -> str:
    """Append the given frames under one run id, atomically; returns the run id."""
    wh.ensure_tables(TABLES)
    wh.ensure_columns("forecast_alerts", FORECAST_ALERTS)  # warehouses of older releases
    run_id = run_id or new_run_id()
    now = datetime.now(UTC).replace(tzinfo=None)
    frames = [(name, df) for name, df in (("forecasts", forecasts), ("forecast_alerts", alerts),
                                          ("forecast_backtests", backtests),
                                          ("forecast_verdicts", verdicts))
              if df is not None and len(df)]
    with wh.scratch():  # staged as TEMP tables first: the insert SQL then names real tables
        inserts = [(name, wh.materialize(_typed(df, TABLES[name], run_id, now)))
                   for name, df in frames]
        if inserts:
            wh.atomic_insert(inserts)
    return run_id


def latest(wh: Warehouse, table: str) -> pd.DataFrame:
    """Rows of the newest run in ``table`` (empty frame when there is none)."""
    wh.ensure_tables(TABLES)
    t = wh.table(table)
    newest = t.created_at.max()
    last = t.filter(t.created_at == newest)
    return last.execute()
