"""Monthly time series of stocks per area and group, for dashboards and forecasting (issue 3, part 6).

Why gaps are explicit: a month without a fresh round is *unknown*, not zero; a forecaster or a chart
that reads it as zero invents a crash in displacement. Every (area, group, unit) that appears in the
period gets a row for every month end; ``value`` is empty where the newest round is stale.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from idpkit.figures.stock import StockQuery, stock_frame
from idpkit.warehouse.warehouse import Warehouse


def month_ends(start: date, end: date) -> list[date]:
    """Month ends from the month of ``start`` to the month of ``end``, inclusive."""
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        nxt = date(y + (m == 12), m % 12 + 1, 1)
        out.append(nxt - timedelta(days=1))
        y, m = nxt.year, nxt.month
    return out


def monthly_series(wh: Warehouse, start: date, end: date, level: int = 1, *,
                   max_age_days: int = 45, operation: str | None = None) -> pd.DataFrame:
    """Stock of every area at every month end (one query for all months), gaps as missing."""
    dates = month_ends(start, end)
    df = stock_frame(wh, StockQuery(dates, level=level, by=(), max_age_days=max_age_days,
                                    operation=operation))
    a, n = f"adm{level}_pcode", f"adm{level}_name"
    key = [a, "population_group", "unit"]
    if df.empty:
        return pd.DataFrame(columns=[*key[:1], n, *key[1:], "month", "value", "source_date",
                                     "gap"])
    df["value"] = df["value"].where(~df["stale"])
    cells = df[[a, n, "population_group", "unit"]].drop_duplicates()
    grid = cells.merge(pd.DataFrame({"reference_date": dates}), how="cross")
    grid["reference_date"] = grid["reference_date"].astype(str)
    df["reference_date"] = df["reference_date"].astype(str)
    out = grid.merge(df[[*key, "reference_date", "value", "source_date"]], how="left",
                     on=[*key, "reference_date"])
    out["gap"] = out["value"].isna()
    out = out.rename(columns={"reference_date": "month"})
    out["month"] = out["month"].str[:7]
    return out[[a, n, "population_group", "unit", "month", "value", "source_date", "gap"]
               ].sort_values([a, "population_group", "unit", "month"]).reset_index(drop=True)
