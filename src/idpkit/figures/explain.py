"""Lineage of one published figure: ``idpkit figures explain AREA DATE GROUP``.

Why: a coordinator must be able to defend every number. For one area, reference date and population
group this lists every source considered (recommended or triangulation, with its value, round date,
staleness and coverage), the datasets and source rows that were added, and the rows that were *not*
used with the rule that excluded them.
"""

from __future__ import annotations

from datetime import date
from typing import Any


from idpkit.errors import IdpkitError
from idpkit.figures.stock import (
    DEFAULT_PRIORITY,
    StockQuery,
    area_column,
    source_rows,
    stock_frame,
    with_round_key,
)
from idpkit.warehouse.warehouse import Warehouse


class UnknownAreaError(IdpkitError):
    """The area is neither a known P-code nor a country code of the warehouse."""


def area_level(wh: Warehouse, pcode: str) -> int:
    a = wh.table("areas")
    lv = a.filter(a.pcode == pcode).admin_level.max().execute()
    if lv is not None and lv == lv:
        return int(lv)
    o = wh.table("observations")
    if o.filter(o.iso3 == pcode).count().execute() > 0:
        return 0
    for level in (1, 2, 3, 4):
        if o.filter(o[area_column(level)] == pcode).count().execute() > 0:
            return level
    raise UnknownAreaError(f"{pcode!r} is not a known P-code or country code in this warehouse")


def explain(wh: Warehouse, pcode: str, ref: date, group: str, *, unit: str = "individuals",
            max_age_days: int = 180, priority: tuple[str, ...] = DEFAULT_PRIORITY
            ) -> dict[str, Any]:
    level = area_level(wh, pcode)
    q = StockQuery(ref, level=level, by=(), max_age_days=max_age_days, priority=priority)
    cells = stock_frame(wh, q, all_sources=True)
    cells = cells[(cells[f"adm{level}_pcode"] == pcode) & (cells.population_group == group)
                  & (cells.unit == unit)]
    col = area_column(level)
    used = source_rows(wh, q)
    used = used.filter((used[col] == pcode) & (used.population_group == group)
                       & (used.unit == unit) & (used.reported_level.fill_null(0) >= level))
    ds = wh.table("datasets").select("dataset_id", "file_name")
    used_g = used.group_by(["source", "dataset_id", "round_key", "source_sheet", "reported_level"]
                           ).aggregate(rows=used.count(), value=used.value.sum(),
                                       first_row=used.source_row.min(),
                                       last_row=used.source_row.max())
    used_df = used_g.inner_join(ds, "dataset_id").execute()
    o = wh.table("observations")
    o = o.filter((o[col] == pcode) & (o.population_group == group) & (o.unit == unit)
                 & (o.metric == "present_stock") & (o.sex == "all") & (o.age_group == "all"))
    o = with_round_key(wh, o)
    all_g = o.group_by(["dataset_id", "round_key", "reported_level"]).aggregate(
        rows=o.count(), value=o.value.sum(), round_date=o.reporting_date.max()
    ).inner_join(ds, "dataset_id").execute()
    used_keys = {(r.dataset_id, r.round_key, int(r.reported_level)) for r in used_df.itertuples()}
    used_rounds = {(r.dataset_id, r.round_key) for r in used_df.itertuples()}
    excluded = []
    for r in all_g.itertuples():
        if (r.dataset_id, r.round_key, int(r.reported_level)) in used_keys:
            continue
        d = r.round_date.date() if hasattr(r.round_date, "date") else r.round_date
        if d is not None and d > ref:
            why = "a round dated after the reference date"
        elif int(r.reported_level) < level:
            why = "reported at a coarser admin level than asked"
        elif (r.dataset_id, r.round_key) in used_rounds:
            why = "the same people at another admin level of the same file (finest level used)"
        elif r.round_key in {k for _, k in used_rounds}:
            why = "the same round in another file (the latest import is used)"
        else:
            why = "an older round (only the latest round at or before the date is used)"
        excluded.append({"file": r.file_name, "dataset": r.dataset_id, "round": r.round_key,
                         "reported_level": int(r.reported_level), "rows": int(r.rows),
                         "value": float(r.value or 0), "rule": why})
    sources = [{"source": c.source, "role": c.role, "value": float(c.value),
                "source_date": str(c.source_date)[:10], "stale": bool(c.stale),
                "coverage": None if c.coverage != c.coverage else float(c.coverage)}
               for c in cells.groupby(["source", "role", "source_date", "stale", "coverage"],
                                      dropna=False, as_index=False).value.sum().itertuples()]
    rows = [{"source": r.source, "file": r.file_name, "dataset": r.dataset_id,
             "round": r.round_key, "sheet": r.source_sheet, "reported_level": int(r.reported_level),
             "rows": int(r.rows), "first_row": int(r.first_row), "last_row": int(r.last_row),
             "value": float(r.value)} for r in used_df.sort_values(["source", "file_name"]).itertuples()]
    rec = [s for s in sources if s["role"] == "recommended"]
    return {
        "area": pcode, "admin_level": level, "reference_date": ref.isoformat(),
        "population_group": group, "unit": unit,
        "value": rec[0]["value"] if rec else None,
        "sources": sources, "rows_used": rows, "rows_not_used": excluded,
        "rules": [
            "present-population totals only; sex/age rows are breakdowns, cause parts are added",
            "latest round of each source at or before the reference date; rounds never added",
            f"rounds older than {max_age_days} days before the reference date are stale",
            "one file per round (latest import); finest admin level of each file per admin 1",
            "one recommended source per cell: fresh first, then priority "
            f"({', '.join(priority)}), then newest, then best coverage; others are triangulation",
            "a cell naming several causes counts under the first cause named",
        ],
    }
