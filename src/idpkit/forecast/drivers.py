"""Optional drivers (covariates), read from files and aligned to a :class:`~.series.Panel`.

Why drivers are aligned *by month of occurrence* and never shifted here: a model decides which lags
it uses, and :meth:`Panel.cut` removes every month after the origin from drivers exactly as from the
target, so no driver value from after the origin can reach a model (tested).

Formats (CSV, UTF-8, header row; extra columns ignored):

conflict events, the shape of ACLED exports
    ``event_date`` (ISO date or ``dd Month yyyy``), ``event_type``, ``fatalities`` and the area as
    ``admin1_pcode``/``admin2_pcode`` when present, else ``admin1``/``admin2`` names matched to the
    warehouse gazetteer (case-insensitive). Gives ``conflict_events`` and ``conflict_fatalities``
    per area and month; ``event_type`` ``Protests`` and ``Strategic developments`` are not counted
    (they rarely displace anyone).
monthly indicators (hazard signals, prices)
    ``month`` (``YYYY-MM``) or ``date``, ``pcode``, then numeric columns, e.g. ``rainfall_anomaly``,
    ``flood_alert``, ``drought_alert``, ``price_index``; each becomes a driver of that name. A value
    for a parent area applies to all its children in the panel.
neighbours
    :func:`sibling_driver` — the same target summed over the other areas of the same parent (past
    displacement next door), computed from the panel itself.
origin areas
    :func:`origin_driver` — departures from the areas an area's arrivals come from, to anywhere
    else, per month, from the origin–destination records (:func:`od_months`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from idpkit.forecast.series import ForecastError, Panel

NON_VIOLENT = {"protests", "strategic developments"}


def _bad(path: Path, row: int, field: str, value: object, why: str) -> ForecastError:
    return ForecastError(f"row {row}, field {field!r}: {value!r} {why}", location=str(path))


def read_conflict_events(path: Path) -> pd.DataFrame:
    """ACLED-shaped events → ``area_pcode`` or ``area_name``, ``level``, ``month``, ``events``,
    ``fatalities`` (one row per event, ready to be aggregated)."""
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ForecastError(f"cannot read conflict events: {exc}", location=str(path)) from None
    cols = {c.lower().strip(): c for c in df.columns}
    if "event_date" not in cols:
        raise ForecastError("no event_date column (expected an ACLED-shaped export)",
                            location=str(path))
    d = pd.to_datetime(df[cols["event_date"]], errors="coerce", format="mixed", dayfirst=True)
    bad = d.isna()
    if bad.any():
        i = int(np.argmax(bad.to_numpy()))
        raise _bad(path, i + 2, cols["event_date"], df.iloc[i][cols["event_date"]], "is not a date")
    fat = pd.Series(0.0, index=df.index)
    if "fatalities" in cols:
        fat = pd.to_numeric(df[cols["fatalities"]].replace("", "0"), errors="coerce")
        bad = fat.isna() | (fat < 0)
        if bad.any():
            i = int(np.argmax(bad.to_numpy()))
            raise _bad(path, i + 2, cols["fatalities"], df.iloc[i][cols["fatalities"]],
                       "is not a non-negative number")
    kind = df[cols["event_type"]].str.lower().str.strip() if "event_type" in cols else ""
    out = pd.DataFrame({"month": d.dt.strftime("%Y-%m"), "fatalities": fat.astype(float),
                        "events": (~pd.Series(kind, index=df.index).isin(NON_VIOLENT)).astype(float)})
    for lv in (3, 2, 1):
        for c in (f"admin{lv}_pcode", f"admin{lv}"):
            if c in cols:
                out[c] = df[cols[c]].str.strip()
    if not any(c.startswith("admin") for c in out.columns):
        raise ForecastError("no admin1/admin2 columns (names or _pcode)", location=str(path))
    return out


def _resolve(events: pd.DataFrame, areas: pd.DataFrame, level: int) -> pd.Series:
    """P-code at ``level`` of each event: from ``admin{level}_pcode`` or by name in ``areas``
    (``pcode``, ``name``, ``admin_level``, ``parent_pcode``); unmatched → missing."""
    pc = f"admin{level}_pcode"
    if pc in events and events[pc].ne("").any():
        return events[pc].replace("", np.nan)
    nm = f"admin{level}"
    if nm not in events:
        return pd.Series(np.nan, index=events.index)
    a = areas[areas.admin_level == level]
    lut = dict(zip(a["name"].str.lower().str.strip(), a["pcode"]))
    return events[nm].str.lower().str.strip().map(lut)


def conflict_drivers(panel: Panel, events: pd.DataFrame, areas: pd.DataFrame) -> dict[str, np.ndarray]:
    """``conflict_events`` and ``conflict_fatalities`` per panel series and month (0 where no
    event was recorded in a month the file covers; unknown outside the file's months)."""
    level = int(panel.keys["admin_level"].iloc[0])
    e = events.assign(area_pcode=_resolve(events, areas, level)).dropna(subset=["area_pcode"])
    g = e.groupby(["area_pcode", "month"], as_index=False)[["events", "fatalities"]].sum()
    covered = pd.PeriodIndex(sorted(events["month"].unique()), freq="M")
    mask = np.isin(panel.months, covered)
    out = {}
    for col, name in (("events", "conflict_events"), ("fatalities", "conflict_fatalities")):
        arr = _align(panel, g, col)
        arr[:, mask] = np.nan_to_num(arr[:, mask])
        out[name] = arr
    return out


def _align(panel: Panel, long: pd.DataFrame, col: str) -> np.ndarray:
    """``long`` (``area_pcode``, ``month``, ``col``) as an array shaped like ``panel.y``."""
    arr = np.full(panel.y.shape, np.nan)
    row = pd.Index(panel.keys["area_pcode"]).get_indexer(long["area_pcode"])
    mon = panel.months.get_indexer(pd.PeriodIndex(long["month"].astype(str).str[:7], freq="M"))
    ok = (row >= 0) & (mon >= 0)
    arr[row[ok], mon[ok]] = long[col].to_numpy(dtype=float)[ok]
    return arr


def read_indicators(path: Path) -> pd.DataFrame:
    """Monthly indicators (hazard, prices): ``pcode``, ``month`` and numeric columns."""
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ForecastError(f"cannot read indicators: {exc}", location=str(path)) from None
    cols = {c.lower().strip(): c for c in df.columns}
    when = cols.get("month") or cols.get("date")
    if "pcode" not in cols or when is None:
        raise ForecastError("expected columns pcode and month (YYYY-MM) or date",
                            location=str(path))
    m = pd.to_datetime(df[when].str[:7], format="%Y-%m", errors="coerce")
    if m.isna().any():
        i = int(np.argmax(m.isna().to_numpy()))
        raise _bad(path, i + 2, when, df.iloc[i][when], "is not a month (YYYY-MM)")
    out = pd.DataFrame({"pcode": df[cols["pcode"]].str.strip(), "month": m.dt.strftime("%Y-%m")})
    for c in df.columns:
        if c in (when, cols["pcode"]):
            continue
        v = pd.to_numeric(df[c].replace("", np.nan), errors="coerce")
        if v.notna().sum() == 0:
            continue  # a text column (names, notes): not a driver
        bad = v.isna() & df[c].ne("")
        if bad.any():
            i = int(np.argmax(bad.to_numpy()))
            raise _bad(path, i + 2, c, df.iloc[i][c], "is not a number")
        out[c.strip().lower()] = v
    return out


def indicator_drivers(panel: Panel, ind: pd.DataFrame) -> dict[str, np.ndarray]:
    """One driver per numeric indicator column; a parent's value is used for each child area."""
    out = {}
    keys = panel.keys
    for col in [c for c in ind.columns if c not in ("pcode", "month")]:
        own = ind.rename(columns={"pcode": "area_pcode"})[["area_pcode", "month", col]]
        arr = _align(panel, own, col)
        if keys["parent_pcode"].notna().any():
            par = ind.rename(columns={"pcode": "parent_pcode"})[["parent_pcode", "month", col]]
            via = keys[["area_pcode", "parent_pcode"]].merge(par, on="parent_pcode")
            arr = np.where(np.isnan(arr), _align(panel, via, col), arr)
        out[col] = arr
    return out


def sibling_driver(panel: Panel, name: str = "neighbour_target") -> dict[str, np.ndarray]:
    """The target summed over the *other* series with the same parent, per month (gaps count as
    zero in the sum; unknown when every sibling is a gap). Why: displacement next door this month is
    a lead indicator of arrivals here next month."""
    par = panel.keys["parent_pcode"].fillna("").to_numpy()
    codes, inv = np.unique(par, return_inverse=True)
    filled = np.nan_to_num(panel.y)
    tot = np.zeros((len(codes), panel.n_months))
    np.add.at(tot, inv, filled)
    seen = np.zeros_like(tot)
    np.add.at(seen, inv, ~np.isnan(panel.y))
    own_seen = (~np.isnan(panel.y)).astype(float)
    out = tot[inv] - filled
    out[(seen[inv] - own_seen) == 0] = np.nan
    return {name: out}


def od_months(wh, level: int):  # -> pandas.DataFrame
    """Movements per origin area, destination area and month at ``level`` (``origin``, ``dest``,
    ``month``, ``value``) from flow monitoring and origin fields — the origin–destination matrices
    of :mod:`idpkit.figures.od`, month by month. Origins are lifted to ``level`` through the
    gazetteer; movements whose origin could not be placed are left out here."""
    from idpkit.figures.flows import FLOW_OF_METRIC
    from idpkit.figures.od import ancestors
    from idpkit.figures.stock import area_column

    o = wh.table("observations")
    o = o.filter(o.metric.isin(list(FLOW_OF_METRIC)) & (o.sex == "all") & (o.age_group == "all")
                 & (o.unit == "individuals") & o.value.notnull() & o.origin_pcode.notnull()
                 & o.reporting_date.notnull() & (o.reported_level.fill_null(0) >= level))
    anc = ancestors(wh, level)
    o = o.inner_join(anc, o.origin_pcode == anc.pcode)
    o = o.mutate(origin=o.anc, dest=o[area_column(level)],
                 month=o.reporting_date.cast("date").truncate("M"))
    g = o.filter(o.origin.notnull() & o.dest.notnull()).group_by(["origin", "dest", "month"]) \
        .aggregate(value=o.value.sum())
    df = g.execute()
    df["month"] = pd.PeriodIndex(pd.to_datetime(df["month"]), freq="M")
    return df


def origin_driver(panel: Panel, od: pd.DataFrame, name: str = "origin_outflow") -> dict[str, np.ndarray]:
    """For each area and month: people leaving this area's *known origin areas* for anywhere else
    that month. Why: turmoil where an area's arrivals usually come from shows first as departures
    to other places. An origin counts for an area from the first month it sent people there, never
    earlier (so the driver at month m uses nothing after m); months the flow data do not cover are
    unknown, covered months without movements are 0."""
    out = np.full(panel.y.shape, np.nan)
    if od.empty:
        return {name: out}
    od = od[od["value"] > 0]
    first = od.groupby(["origin", "dest"], as_index=False)["month"].min() \
        .rename(columns={"month": "since"})
    outflow = od.groupby(["origin", "month"], as_index=False)["value"].sum() \
        .rename(columns={"value": "outflow"})
    x = first.merge(outflow, on="origin")
    x = x[x["month"] >= x["since"]]
    own = od.rename(columns={"value": "own"})[["origin", "dest", "month", "own"]]
    x = x.merge(own, on=["origin", "dest", "month"], how="left").fillna({"own": 0.0})
    x["elsewhere"] = x["outflow"] - x["own"]
    per = x.groupby(["dest", "month"], as_index=False)["elsewhere"].sum() \
        .rename(columns={"dest": "area_pcode"})
    per["month"] = per["month"].astype(str)
    arr = _align(panel, per, "elsewhere")
    covered = np.isin(panel.months, pd.PeriodIndex(sorted(od["month"].unique()), freq="M"))
    arr[:, covered] = np.nan_to_num(arr[:, covered])
    return {name: arr}
