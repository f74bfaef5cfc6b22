"""Forecasts and early warnings over HTTP: the latest ``idpkit forecast run``.

Three tables, as :mod:`idpkit.forecast.store` keeps them: forecasts with 80%/95% intervals, alerts
with their rule and reason, and the backtest scores that chose each model (so a reader can see
where nothing beat the baseline). Public requests get forecast values rounded by the IDMC rules
(a forecast is an estimate, not a count; false precision misleads); ``analyst`` gets them exact.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from idpkit.api.render import Format, render
from idpkit.api.auth import GRANTS

Fmt = Annotated[Format, Query(description="json, csv or hxl.")]
VALUE_COLUMNS = ("value", "lo80", "hi80", "lo95", "hi95", "recent_mean")


def _rounded(df: pd.DataFrame) -> pd.DataFrame:
    import numpy as np

    from idpkit.figures.publication import idmc_round

    out = df.copy()
    for c in VALUE_COLUMNS:
        if c in out:
            v = pd.to_numeric(out[c], errors="coerce").to_numpy(dtype="float64")
            # a forecast or bound of zero is information ("could be none"), not an empty cell
            out[c] = np.where(v == 0, 0.0, idmc_round(v))
    if "reason" in out:  # the words carry the same numbers: the rounded ones
        from idpkit.forecast.alerts import rounded_reason

        out["reason"] = [rounded_reason(t, v, m) for t, v, m in
                         zip(out["reason"], pd.to_numeric(out.get("value"), errors="coerce"),
                             pd.to_numeric(out.get("recent_mean"), errors="coerce"))]
    return out


def forecast_router(state: Any, role: Callable[..., str],
                    respond: Callable[..., Response]) -> APIRouter:
    """The router; ``state``, ``role`` and ``respond`` are those of ``create_app``."""
    from idpkit.forecast.store import HXL, latest

    r = APIRouter()

    def serve(request: Request, who: str, table: str, fmt: Format,
              filters: dict[str, Any], sort: list[str]) -> Response:
        exact = "analyst" in GRANTS[who]

        def compute() -> tuple[bytes, str]:
            df = latest(state.wh, table)
            for col, v in filters.items():
                if v is not None and col in df:
                    df = df[df[col] == v]
            df = df.sort_values([c for c in sort if c in df]).reset_index(drop=True)
            if "created_at" in df:
                df["created_at"] = df["created_at"].astype(str)
            run = df["run_id"].iloc[0] if len(df) else None
            if not exact and table in ("forecasts", "forecast_alerts"):
                df = _rounded(df)
            tags = {c: HXL.get(c, "#meta+" + c.replace("_", "")) for c in df.columns}
            return render(df, fmt, hxl_tags=tags, meta={"run_id": run, "rounded": not exact})
        return respond(request, f"{request.url}|{exact}", compute)

    @r.get("/api/forecasts", summary="Latest forecasts per area with 80%/95% intervals")
    def forecasts(request: Request, area: str | None = None,
                  level: Annotated[int | None, Query(ge=0, le=4)] = None,
                  target: str | None = None, horizon: Annotated[int | None, Query(ge=1)] = None,
                  format: Fmt = Format.json, who: str = Depends(role)) -> Response:
        return serve(request, who, "forecasts", format,
                     {"area_pcode": area, "admin_level": level, "target": target,
                      "horizon": horizon}, ["admin_level", "area_pcode", "target", "horizon"])

    @r.get("/api/forecasts/alerts", summary="Early warnings of the latest run, with reasons")
    def alerts(request: Request, area: str | None = None,
               level: Annotated[int | None, Query(ge=0, le=4)] = None,
               format: Fmt = Format.json, who: str = Depends(role)) -> Response:
        return serve(request, who, "forecast_alerts", format,
                     {"area_pcode": area, "admin_level": level},
                     ["target_month", "admin_level", "area_pcode"])

    @r.get("/api/forecasts/backtests", summary="Backtest scores per model and horizon "
           "(skill against the expanding mean and the naive forecast)")
    def backtests(request: Request, target: str | None = None,
                  level: Annotated[int | None, Query(ge=0, le=4)] = None,
                  format: Fmt = Format.json, who: str = Depends(role)) -> Response:
        return serve(request, who, "forecast_backtests", format,
                     {"target": target, "admin_level": level},
                     ["target", "admin_level", "horizon", "model"])

    @r.get("/api/forecasts/verdicts", summary="The backtest's verdict in words, per horizon: "
           "does any model beat the baselines, which one, and what forecast run uses")
    def verdicts(request: Request, target: str | None = None,
                 level: Annotated[int | None, Query(ge=0, le=4)] = None,
                 format: Fmt = Format.json, who: str = Depends(role)) -> Response:
        return serve(request, who, "forecast_verdicts", format,
                     {"target": target, "admin_level": level},
                     ["target", "admin_level", "position"])

    return r
