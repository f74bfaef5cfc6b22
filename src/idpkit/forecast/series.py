"""Monthly series per area as a :class:`Panel`, and the one function that cuts it at an origin.

Why a dense matrix: every model, baseline and metric here works on ``(series × month)`` arrays with
``NaN`` for gaps (a month without a fresh figure is unknown, never zero — see
:mod:`idpkit.figures.series`). Rolling-origin backtests then become array slicing, and the guarantee
that no model sees data after its origin lives in one place: :meth:`Panel.cut` returns a panel that
*does not contain* later months, so a model cannot read them even by mistake.

Targets:

``arrivals``
    IDP arrivals reported per month and area (flow monitoring / event tracking: metrics ``arrivals``
    and ``new_displacement`` counted at the destination), individuals. Months without a report of the
    area are gaps unless the operation reported some movement that month (then 0: the flow monitoring
    covered the month and saw nobody arrive there).
``idps``
    IDP stock (individuals) at each month end from the recommended figures, stale months as gaps.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

import ibis
import numpy as np
import pandas as pd

from idpkit.errors import IdpkitError
from idpkit.figures.stock import area_column
from idpkit.warehouse.warehouse import Warehouse

TARGETS = ("arrivals", "idps")


class ForecastError(IdpkitError):
    """A forecast job cannot go on (no series, too short a history, a bad configuration)."""

    code = "forecast-error"


@dataclass
class Panel:
    """Series × months. ``keys`` has one row per series (``area_pcode``, ``area_name``,
    ``admin_level``, ``parent_pcode``, ``target``, ``population_group``, ``unit``), in the row order
    of ``y``; ``months`` are ``pd.Period`` (freq M); ``drivers`` maps a name to an array shaped
    like ``y`` (``NaN`` = unknown)."""

    keys: pd.DataFrame
    months: pd.PeriodIndex
    y: np.ndarray
    drivers: dict[str, np.ndarray] = field(default_factory=dict)
    steps: str = "month"  # "month": consecutive months; "round": only months with an assessment

    @property
    def season_length(self) -> int:
        """12 for monthly steps; 0 (no seasonality) when steps are irregular assessment rounds."""
        return 12 if self.steps == "month" else 0

    def __post_init__(self) -> None:
        if self.y.shape != (len(self.keys), len(self.months)):
            raise ValueError(f"y is {self.y.shape}, expected {(len(self.keys), len(self.months))}")
        for name, d in self.drivers.items():
            if d.shape != self.y.shape:
                raise ValueError(f"driver {name} is {d.shape}, expected {self.y.shape}")

    @property
    def n_series(self) -> int:
        return self.y.shape[0]

    @property
    def n_months(self) -> int:
        return self.y.shape[1]

    def cut(self, origin: int) -> Panel:
        """Everything known at the end of month index ``origin`` (inclusive) and nothing after.

        Arrays are *copied*, so a model that writes into its input cannot change the caller's data.
        """
        if not 0 <= origin < self.n_months:
            raise ValueError(f"origin {origin} outside 0..{self.n_months - 1}")
        s = slice(0, origin + 1)
        return Panel(self.keys, self.months[s], self.y[:, s].copy(),
                     {k: v[:, s].copy() for k, v in self.drivers.items()}, self.steps)

    def subset(self, rows: np.ndarray) -> Panel:
        """The series at positions ``rows`` (integer or boolean index)."""
        keys = self.keys.iloc[np.arange(self.n_series)[rows]].reset_index(drop=True)
        return Panel(keys, self.months, self.y[rows], {k: v[rows] for k, v in self.drivers.items()},
                     self.steps)

    def with_drivers(self, drivers: dict[str, np.ndarray]) -> Panel:
        return replace(self, drivers={**self.drivers, **drivers})

    def origin_index(self, month: str | pd.Period) -> int:
        p = pd.Period(month, freq="M")
        if p not in self.months:
            raise ForecastError(f"origin {p} is outside the series ({self.months[0]}–"
                                f"{self.months[-1]})")
        return int(self.months.get_loc(p))


def panel_from_long(df: pd.DataFrame, *, value: str = "value", month: str = "month",
                    key_cols: tuple[str, ...] = ("area_pcode",), defaults: dict | None = None,
                    steps: str = "month") -> Panel:
    """Pivot a long table (one row per series and month) into a :class:`Panel`; months absent from
    a series are gaps. ``defaults`` fills key columns the table lacks.

    ``steps="round"`` keeps only months in which some series has a value: for operations that
    assess every few months (the DTM Afghanistan baseline), a horizon of 1 is then "the next
    round", which is what such an operation can be asked to anticipate."""
    if df.empty:
        raise ForecastError("no series to forecast: the table is empty")
    d = df.copy()
    d["_m"] = pd.PeriodIndex(d[month].astype(str).str[:7], freq="M")
    if steps == "round":
        months = pd.PeriodIndex(sorted(d.loc[d[value].notna(), "_m"].unique()), freq="M")
        d = d[d["_m"].isin(months)]
    else:
        months = pd.period_range(d["_m"].min(), d["_m"].max(), freq="M")
    keys = d[list(key_cols)].drop_duplicates().sort_values(list(key_cols)).reset_index(drop=True)
    keys["_row"] = np.arange(len(keys))
    d = d.merge(keys, on=list(key_cols))
    y = np.full((len(keys), len(months)), np.nan)
    col = months.get_indexer(pd.PeriodIndex(d["_m"], freq="M"))
    y[d["_row"].to_numpy(), col] = d[value].to_numpy(dtype=float)
    keys = keys.drop(columns="_row")
    for k, v in {"area_name": None, "admin_level": None, "parent_pcode": None, "target": "idps",
                 "population_group": "idps", "unit": "individuals", **(defaults or {})}.items():
        if k not in keys:
            keys[k] = v
    return Panel(keys, months, y, steps=steps)


def arrivals_frame(wh: Warehouse, level: int, start: date | None = None, end: date | None = None,
                   operation: str | None = None) -> pd.DataFrame:
    """Reported IDP arrivals per area at ``level`` and month (one query, portable Ibis)."""
    o = wh.table("observations")
    area = area_column(level)
    o = o.filter(o.metric.isin(["arrivals", "new_displacement"]) & (o.sex == "all")
                 & (o.age_group == "all") & (o.unit == "individuals") & o.value.notnull()
                 & (o.population_group == "idps")
                 & (o.reported_level.fill_null(0) >= level) & o[area].notnull())
    if start is not None:
        o = o.filter(o.reporting_date >= ibis.literal(start))
    if end is not None:
        o = o.filter(o.reporting_date <= ibis.literal(end))
    if operation is not None:
        o = o.filter(o.operation == operation)
    # new displacement is counted at the origin area, arrivals at the destination: take arrivals
    # where the operation reports them, else new displacement (never both for one area/month)
    o = o.mutate(month=o.reporting_date.truncate("M"), area_pcode=o[area])
    g = o.group_by(["area_pcode", "month", "metric"]).aggregate(value=o.value.sum())
    df = g.execute()
    if df.empty:
        return pd.DataFrame(columns=["area_pcode", "month", "value"])
    df["month"] = pd.to_datetime(df["month"]).dt.strftime("%Y-%m")
    has_arr = set(df.loc[df.metric == "arrivals", "month"])
    df = df[(df.metric == "arrivals") | ~df.month.isin(has_arr)]
    return df.groupby(["area_pcode", "month"], as_index=False)["value"].sum()


def _area_info(wh: Warehouse, level: int) -> pd.DataFrame:
    a = wh.table("areas")
    a = a.filter(a.admin_level == level).select("pcode", "name", "parent_pcode")
    return a.execute().rename(columns={"pcode": "area_pcode", "name": "area_name"}) \
        .drop_duplicates("area_pcode")


def build_panel(wh: Warehouse, target: str = "arrivals", level: int = 2, *,
                start: date | None = None, end: date | None = None,
                operation: str | None = None, steps: str = "month") -> Panel:
    """The monthly panel of ``target`` at admin ``level`` from the warehouse figures."""
    if target not in TARGETS:
        raise ForecastError(f"unknown target {target!r}; choose from {', '.join(TARGETS)}")
    if target == "arrivals":
        df = arrivals_frame(wh, level, start, end, operation)
        if df.empty:
            raise ForecastError(f"the warehouse holds no reported arrivals at admin {level}; "
                                "import flow monitoring first or use --target idps")
        # months the operation reported flows at all: an area absent that month had 0 arrivals
        covered = sorted(df["month"].unique())
        areas = df[["area_pcode"]].drop_duplicates()
        grid = areas.merge(pd.DataFrame({"month": covered}), how="cross")
        df = grid.merge(df, on=["area_pcode", "month"], how="left").fillna({"value": 0.0})
    else:
        from idpkit.figures.series import monthly_series

        o = wh.table("observations")
        rng = o.filter(o.metric == "present_stock").aggregate(lo=o.reporting_date.min(),
                                                             hi=o.reporting_date.max()).execute()
        lo, hi = rng["lo"].iloc[0], rng["hi"].iloc[0]
        if lo is None or pd.isna(lo):
            raise ForecastError("the warehouse holds no stock figures; import assessments first")
        s = monthly_series(wh, start or pd.Timestamp(lo).date(), end or pd.Timestamp(hi).date(),
                           level=level, operation=operation,
                           max_age_days=30 if steps == "round" else 45)
        a = f"adm{level}_pcode"
        s = s[(s.population_group == "idps") & (s.unit == "individuals")]
        df = s.rename(columns={a: "area_pcode"})[["area_pcode", "month", "value"]]
        df = df.dropna(subset=["area_pcode"])
    info = _area_info(wh, level)
    if steps == "round" and target == "idps":  # the month-end grid of a round: its own month
        df = df.dropna(subset=["value"])
    p = panel_from_long(df, defaults={"target": target, "admin_level": level}, steps=steps)
    keys = p.keys.drop(columns=["area_name", "parent_pcode"]).merge(info, on="area_pcode",
                                                                    how="left")
    p.keys = keys[["area_pcode", "area_name", "admin_level", "parent_pcode", "target",
                   "population_group", "unit"]]
    return p
