"""Stage 6, *reshape*: the accepted wide rows as long-format observations, one row per number.

Two rules keep sums honest (see :mod:`idpkit.model.tables`): within a source row, the cause parts
of a total are disjoint (a total with a partial cause split adds only its ``unknown`` remainder),
and sex/age columns are breakdowns that are never added to totals.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from idpkit.ingest.columns import ColumnAssignment
from idpkit.ingest.context import ImportContext
from idpkit.ingest.plan import ImportPlan
from idpkit.ingest.transform import sum_of


def num_text(v: ir.NumericValue) -> ir.StringValue:
    """A number as text for messages: whole numbers without '.0', never an overflowing cast."""
    return ibis.cases(((v.abs() < 1e15) & (v == v.round(0)), v.round(0).cast("int64").cast("string")),
                      else_=v.cast("string"))


def long_rows(ctx: ImportContext, plan: ImportPlan, w: ir.Table, flags: ir.Table) -> ir.Table:
    """One row per reported number (the ``observations`` columns, and ``_irow``): ``w`` is the
    accepted wide rows, ``flags`` each row's warning codes."""
    obs_columns = list(ctx.wh.table("observations").schema().names)
    w = w.left_join(flags, w._row == flags.row).drop("row")
    values = plan.columns.values()
    cause_parts: dict[tuple, list[ColumnAssignment]] = {}
    for key, total, dims in part_groups(values):
        if "cause" in dims:
            cause_parts[key] = dims["cause"]
    row_cause = w._cause.fill_null("unknown")
    common = dict(
        dataset_id=ibis.literal(ctx.dataset_id), source_sheet=ibis.literal(plan.layout.sheet),
        source_row=w._row, operation=w.operation, round=w["round"],
        reporting_date=w.reporting_date, iso3=w.iso3, area_pcode=w.area_pcode,
        reported_level=w.reported_level.cast("int16"), adm1_pcode=w.adm1_pcode,
        adm2_pcode=w.adm2_pcode, adm3_pcode=w.adm3_pcode, adm4_pcode=w.adm4_pcode,
        site_id=w.site_id, origin_pcode=w.origin_pcode, origin_name=w.origin_name,
        flags=w.flags)
    pieces: list[ir.Table] = []

    for c in values:
        v = c.value
        key = (v.population_group, v.unit, v.metric)
        val = w[f"v{c.index}"]
        if v.cause is not None and not v.is_part:
            cause = ibis.literal(v.cause)
            hazard = ibis.literal(v.hazard, "string")
            detail = ibis.literal(v.cause_detail, "string")
        else:
            cause, hazard, detail = row_cause, w._hazard, w._cause_detail
        if not v.is_part and v.cause is None and key in cause_parts:
            # a total with a cause split: only the unexplained remainder is added, as 'unknown'
            s = sum_of([w[f"v{p.index}"].fill_null(0) for p in cause_parts[key]])
            val = ibis.cases((val - s > 0.5, val - s), else_=ibis.null("float64"))
            cause, hazard, detail = row_cause, w._hazard, w._cause_detail
        pieces.append(_piece(ctx, obs_columns, w, common, val, v, cause, hazard, detail))
    out = ibis.union(*pieces) if len(pieces) > 1 else pieces[0]
    return out

def _piece(ctx: ImportContext, obs_columns: list[str], w, common, val, v, cause, hazard,
           detail) -> ir.Table:
    """One count column's observations: the columns of ``observations`` (rows as the user sees
    them) and ``_irow``, the internal row number findings refer to."""
    t = w.mutate(_val=val, _c=cause, _h=hazard, _d=detail)
    t = t.filter(t._val.notnull())
    sel = {k: (e if k == "dataset_id" else t[k]) for k, e in common.items()
           if k not in ("source_sheet", "source_row")}
    return t.select(
        **sel, source_sheet=ctx.sheet_of(t._row), source_row=ctx.user_row(t._row),
        population_group=ibis.literal(v.population_group), metric=ibis.literal(v.metric),
        cause=t._c, hazard=t._h, cause_detail=t._d, unit=ibis.literal(v.unit),
        sex=ibis.literal(v.sex), age_group=ibis.literal(v.age_group), value=t._val,
        _irow=t._row,
    ).select(*obs_columns, "_irow")


def part_groups(values: list[ColumnAssignment]):
    """(group, unit, metric) -> total column and its parts by dimension (cause, sex, age)."""
    totals = {}
    for c in values:
        v = c.value
        if v.cause is None and not v.is_part:
            totals[(v.population_group, v.unit, v.metric)] = c
    for key, total in totals.items():
        dims: dict[str, list[ColumnAssignment]] = {}
        for c in values:
            v = c.value
            if (v.population_group, v.unit, v.metric) != key or c is total:
                continue
            if v.sex != "all" and v.age_group == "all":
                dims.setdefault("sex", []).append(c)
            elif v.age_group != "all" and v.sex == "all":
                dims.setdefault("age", []).append(c)
            elif v.cause is not None and not v.is_part:
                dims.setdefault("cause", []).append(c)
        yield key, total, dims
