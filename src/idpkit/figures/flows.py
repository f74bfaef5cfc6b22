"""Flows over a period and the IRIS accounting identity, by admin area (issue 3, part 2).

IRIS: stock(t1) = stock(t0) + inflows - outflows. A period is ``(from_date, to_date]``.

* *Reported* flows come from flow and event records (flow monitoring, event tracking): observations
  whose metric is a movement, dated inside the period. Their metric names map to the public ``flow``
  names: ``arrivals`` -> ``arrival``, ``departures`` -> ``departure``, ``returns`` -> ``return``,
  ``new_displacement`` and ``secondary_displacement`` as they are.
* *Derived* flows (``derived = true``) come from the recommended stocks at both ends of the period
  (:mod:`idpkit.figures.stock`), in individuals, per area, group and cause:
  - IDP departures where arrivals are reported: ``stock(t0) + arrivals - stock(t1)`` (the identity
    solved for the missing term);
  - IDPs with no movement records: the net change, as an ``arrival`` when positive and a
    ``departure`` when negative;
  - returns, where none are reported: the increase of the returnee stock.
  Derived flows are net of anything the files cannot see (a person arriving and leaving within the
  period); the label says so.
* The identity table (:func:`identity_expr`) puts stocks and reported flows side by side and
  reports the residual an analyst has to explain. :func:`identity_periods_expr` gives it for every
  period between consecutive dates of a list in one query: the stocks of all dates come from one
  stored set of chosen rows (see :class:`idpkit.figures.stock.ChosenRows`) instead of one per
  period.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from itertools import pairwise

import ibis
import ibis.expr.types as ir
import pandas as pd

from idpkit.figures.stock import (
    DEFAULT_PRIORITY,
    ChosenRows,
    StockQuery,
    area_column,
    primary_cause,
    stock_expr,
)
from idpkit.warehouse.warehouse import Warehouse

FLOW_OF_METRIC = {"arrivals": "arrival", "departures": "departure", "returns": "return",
                  "new_displacement": "new_displacement",
                  "secondary_displacement": "secondary_displacement"}
FLOWS = ("new_displacement", "arrival", "departure", "return", "secondary_displacement")
FLOW_COLUMNS = ["population_group", "flow", "cause", "from_date", "to_date", "derived", "value"]


def period_dates(dates: Sequence[date]) -> list[date]:
    """The distinct ``dates`` in order; period ``i`` is ``(dates[i], dates[i + 1]]``."""
    out = sorted(set(dates))
    if len(out) < 2:
        raise ValueError("give at least two dates (one period)")
    return out


def _period_of(d: ir.DateValue, dates: list[date]) -> ir.IntegerValue:
    """Index of the period ``(dates[i], dates[i + 1]]`` holding ``d``; null outside them all."""
    return ibis.cases(*[((d > ibis.literal(a)) & (d <= ibis.literal(b)), i)
                        for i, (a, b) in enumerate(pairwise(dates))],
                      else_=ibis.null("int64")).cast("int64")


def _period_bound(period: ir.IntegerValue, dates: list[date], end: int) -> ir.DateValue:
    """The start (``end=0``) or end (``end=1``) date of each period index."""
    return period.cases(*[(i, ibis.literal(dates[i + end])) for i in range(len(dates) - 1)])


def _latest_file_per_day(wh: Warehouse, o: ir.Table) -> ir.Table:
    """Movement rows ``o`` keeping, for each source, reporting day and place (finest area and
    site), only the latest imported file that reports it (rule 3 of stocks, for flows).

    Why: the same movements published twice — the XLSX and the CSV of one flow-monitoring
    release, or a corrected re-release — are different files (different hashes), and adding
    both would count every movement twice. Files covering other days, or other places on the
    same days (one file per flow-monitoring point or region), all count; where a newer file
    re-reports a day and place, its numbers replace the older file's there. Decided on one row
    per file, day and place (small), then joined back."""
    keys = ["dataset_id", "_op", "_i3", "reporting_date", "_area", "_site"]
    o = o.mutate(_op=o.operation.fill_null(""), _i3=o.iso3.fill_null(""),
                 _area=o.area_pcode.fill_null(""), _site=o.site_id.fill_null(""))
    days = o.group_by(keys).aggregate(_n=o.count())
    d = wh.table("datasets").select("dataset_id", "assessment_type", "source_organisation",
                                     "imported_at")
    days = days.inner_join(d, "dataset_id")
    days = days.mutate(_src=days.source_organisation.fill_null("").concat(
        " | ", days._op, " | ", days.assessment_type.fill_null("other"), " | ", days._i3))
    days = days.mutate(_rn=ibis.row_number().over(
        group_by=[days._src, days.reporting_date, days._area, days._site],
        order_by=[days.imported_at.desc(), days.dataset_id.desc()]))
    kept = days.filter(days._rn == 0).select(*keys)
    j = o.inner_join(kept, keys)
    return j.drop(*[c for c in j.columns if c.endswith("_right")], "_op", "_i3", "_area",
                  "_site")


def _reported(wh: Warehouse, dates: list[date], level: int, operation: str | None) -> ir.Table:
    """Reported movements summed per period of ``dates``, area at ``level``, group, flow and
    cause (individuals; sex/age breakdowns excluded)."""
    o = wh.table("observations")
    o = o.filter(o.metric.isin(list(FLOW_OF_METRIC)) & (o.sex == "all") & (o.age_group == "all")
                 & (o.unit == "individuals") & o.value.notnull()
                 & (o.reporting_date > ibis.literal(dates[0]))
                 & (o.reporting_date <= ibis.literal(dates[-1]))
                 & (o.reported_level.fill_null(0) >= level))
    if operation is not None:
        o = o.filter(o.operation == operation)
    o = _latest_file_per_day(wh, o)
    o = o.mutate(cause=primary_cause(o))
    flow = o.metric.cases(*FLOW_OF_METRIC.items())
    o = o.mutate(area=o[area_column(level)], flow=flow, period=_period_of(o.reporting_date, dates))
    o = o.filter(o.area.notnull())
    return o.group_by(["period", "area", "population_group", "flow", "cause"]).aggregate(
        value=o.value.sum())


def reported_flows(wh: Warehouse, d0: date, d1: date, level: int,
                   operation: str | None = None) -> ir.Table:
    """Reported movements in ``(d0, d1]`` summed per area at ``level``, group, flow and cause
    (individuals; sex/age breakdowns excluded)."""
    return _reported(wh, [d0, d1], level, operation).drop("period")


def _period_stocks(wh: Warehouse, dates: list[date], level: int, max_age_days: int,
                   priority: tuple[str, ...], operation: str | None,
                   rows: ChosenRows | None) -> ir.Table:
    """Fresh recommended stocks in individuals of every date, each placed at both periods it
    bounds: as ``s1`` (end) of the period before and ``s0`` (start) of the period after."""
    q = StockQuery(dates, level=level, by=("cause",), max_age_days=max_age_days,
                   priority=priority, operation=operation)
    s = stock_expr(wh, q, rows=rows)
    s = s.filter((s.unit == "individuals") & ~s.stale)
    idx = s.reference_date.cases(*[(ibis.literal(d), i) for i, d in enumerate(dates)]
                                 ).cast("int64")
    s = s.select("area", "population_group", "cause", "source", "value", _idx=idx)
    start = s.filter(s._idx < len(dates) - 1).mutate(period=s._idx, k=ibis.literal("s0"))
    end = s.filter(s._idx > 0).mutate(period=s._idx - 1, k=ibis.literal("s1"))
    cols = ["period", "area", "population_group", "cause", "source", "k", "value"]
    return start.select(*cols).union(end.select(*cols))


def _pivot(wh: Warehouse, dates: list[date], level: int, max_age_days: int,
           priority: tuple[str, ...], operation: str | None,
           rows: ChosenRows | None = None) -> ir.Table:
    """One row per period, area, group and cause: stocks at both ends and each reported flow."""
    stocks = _period_stocks(wh, dates, level, max_age_days, priority, operation, rows)
    # sources with a fresh round at both ends: an area missing from one of their rounds had nobody
    # of that group there (a round lists the locations where it found people), so it counts as 0
    srcs = stocks.group_by(["period", "source"]).aggregate(_h0=(stocks.k == "s0").any(),
                                                           _h1=(stocks.k == "s1").any())
    srcs = srcs.filter(srcs._h0 & srcs._h1).select("period", "source",
                                                   _both=ibis.literal(True))
    r = _reported(wh, dates, level, operation)
    r = r.select("period", "area", "population_group", "cause", source=ibis.null("string"),
                 k=r.flow, value=r.value)
    u = stocks.union(r)
    u = u.left_join(srcs, ["period", "source"])
    u = u.drop(*[c for c in ("period_right", "source_right") if c in u.columns])
    aggs = {k: u.value.sum(where=u.k == k) for k in ("s0", "s1", *FLOWS)}
    aggs |= {f"has_{k}": (u.k == k).any() for k in ("s0", "s1", *FLOWS)}
    aggs["_src0"] = u.source.max(where=u.k == "s0")
    aggs["_src1"] = u.source.max(where=u.k == "s1")
    aggs["_both"] = u._both.fill_null(False).any()
    p = u.group_by(["period", "area", "population_group", "cause"]).aggregate(**aggs)
    same = p._src0.isnull() | p._src1.isnull() | (p._src0 == p._src1)
    return p.mutate(both=p._both & same)


def flows_expr(wh: Warehouse, d0: date, d1: date, level: int = 1, *, max_age_days: int = 180,
               priority: tuple[str, ...] = DEFAULT_PRIORITY, operation: str | None = None
               ) -> ir.Table:
    """Reported and derived flows of ``(d0, d1]`` at ``level`` (columns: area, area_name and
    :data:`FLOW_COLUMNS`)."""
    if d1 <= d0:
        raise ValueError("the period must end after it starts (--to after --from)")
    p = _pivot(wh, [d0, d1], level, max_age_days, priority, operation)
    z = ibis.literal(0.0)
    s0, s1 = p.s0.fill_null(z), p.s1.fill_null(z)
    arr, dep = p.arrival.fill_null(z), p.departure.fill_null(z)
    both = p.both
    idp = p.population_group == "idps"
    net = s1 - s0
    parts: list[ir.Table] = []

    def part(flow: str, value: ir.NumericValue, derived: bool, keep: ir.BooleanValue) -> None:
        t = p.filter(keep)
        parts.append(t.select("area", "population_group", "cause", flow=ibis.literal(flow),
                              derived=ibis.literal(derived),
                              value=value.cast("float64")))

    for f in FLOWS:  # everything reported, as reported
        part(f, p[f], False, p[f"has_{f}"])
    # derived from the identity where one side is reported
    part("departure", s0 + arr - s1, True, idp & both & p.has_arrival & ~p.has_departure)
    part("arrival", s1 + dep - s0, True, idp & both & p.has_departure & ~p.has_arrival)
    # net change where nothing is reported
    none = ~p.has_arrival & ~p.has_departure
    part("arrival", net, True, idp & both & none & (net > 0))
    part("departure", -net, True, idp & both & none & (net < 0))
    part("return", net, True, (p.population_group == "returnees") & both & ~p.has_return
         & (net > 0))
    out = ibis.union(*parts)
    out = out.filter(out.value != 0)
    names = wh.table("areas").filter(lambda a: a.admin_level == level).select(
        _pc="pcode", area_name="name")
    out = out.left_join(names, out.area == names._pc).drop("_pc")
    return out.mutate(from_date=ibis.literal(d0), to_date=ibis.literal(d1))


def identity_expr(wh: Warehouse, d0: date, d1: date, level: int = 1, *, max_age_days: int = 180,
                  priority: tuple[str, ...] = DEFAULT_PRIORITY, operation: str | None = None
                  ) -> ir.Table:
    """Per area, group and cause: ``stock_from + inflows - outflows`` against ``stock_to``.

    Inflows are reported arrivals (new displacement counts at the origin, not here; returns add to
    returnees); outflows are reported departures. ``residual`` = stock_to - (stock_from + inflows
    - outflows): zero when the records explain the change, otherwise what they miss."""
    if d1 <= d0:
        raise ValueError("the period must end after it starts (--to after --from)")
    return identity_periods_expr(wh, [d0, d1], level, max_age_days=max_age_days,
                                 priority=priority, operation=operation)


def identity_periods_expr(wh: Warehouse, dates: Sequence[date], level: int = 1, *,
                          max_age_days: int = 180, priority: tuple[str, ...] = DEFAULT_PRIORITY,
                          operation: str | None = None, rows: ChosenRows | None = None
                          ) -> ir.Table:
    """:func:`identity_expr` for every period between consecutive ``dates``, in one query.

    Each period's rows equal :func:`identity_expr` of that period alone. ``rows``: rows already
    chosen by :func:`idpkit.figures.stock.chosen_rows` for (at least) these dates."""
    dates = period_dates(dates)
    p = _pivot(wh, dates, level, max_age_days, priority, operation, rows)
    z = ibis.literal(0.0)
    idp = p.population_group == "idps"
    inflow = ibis.ifelse(idp, p.arrival.fill_null(z), p["return"].fill_null(z))
    outflow = ibis.ifelse(idp, p.departure.fill_null(z), z)
    t = p.mutate(stock_from=p.s0.fill_null(z), stock_to=p.s1.fill_null(z), inflows=inflow,
                 outflows=outflow,
                 complete=p.both)
    t = t.mutate(residual=t.stock_to - (t.stock_from + t.inflows - t.outflows))
    names = wh.table("areas").filter(lambda a: a.admin_level == level).select(
        _pc="pcode", area_name="name")
    t = t.left_join(names, t.area == names._pc).drop("_pc")
    return t.select("area", "area_name", "population_group", "cause",
                    from_date=_period_bound(t.period, dates, 0),
                    to_date=_period_bound(t.period, dates, 1), stock_from=t.stock_from,
                    inflows=t.inflows, outflows=t.outflows, stock_to=t.stock_to,
                    residual=t.residual, complete=t.complete)


def flows_frame(wh: Warehouse, d0: date, d1: date, level: int = 1, **kw) -> pd.DataFrame:
    with wh.scratch():
        df = flows_expr(wh, d0, d1, level, **kw).execute()
    df = df.rename(columns={"area": f"adm{level}_pcode", "area_name": f"adm{level}_name"})
    df["derived"] = df["derived"].astype(bool)
    cols = [f"adm{level}_pcode", f"adm{level}_name", *FLOW_COLUMNS]
    return df.sort_values([f"adm{level}_pcode", "population_group", "flow", "cause", "derived"]
                          )[cols].reset_index(drop=True)


def identity_frame(wh: Warehouse, d0: date, d1: date, level: int = 1, **kw) -> pd.DataFrame:
    """The identity of the period ``(d0, d1]`` (see :func:`identity_expr`)."""
    if d1 <= d0:
        raise ValueError("the period must end after it starts (--to after --from)")
    return identity_periods_frame(wh, [d0, d1], level, **kw)


def identity_periods_frame(wh: Warehouse, dates: Sequence[date], level: int = 1, *,
                           rows: ChosenRows | None = None, **kw) -> pd.DataFrame:
    """The identity of every period between consecutive ``dates``, sorted by period, area, group
    and cause; one query instead of one per period (see :func:`identity_periods_expr`)."""
    with wh.scratch():
        df = identity_periods_expr(wh, dates, level, rows=rows, **kw).execute()
    df = df.rename(columns={"area": f"adm{level}_pcode", "area_name": f"adm{level}_name"})
    df["complete"] = df["complete"].astype(bool)
    return df.sort_values(["from_date", f"adm{level}_pcode", "population_group", "cause"]
                          ).reset_index(drop=True)
