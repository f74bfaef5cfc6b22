"""Warehouse queries behind the dashboard's extra API endpoints: which reference dates and admin
levels have data, and which validation findings touch an area.

Why here and not in ``figures``: these answer *navigation* questions (what can the date slider
offer, which levels can the map draw, which files does an area's number rest on), not figures.
They are Ibis expressions, so they run on every warehouse backend, and they return counts only:
the public role may see that a row was quarantined, never the raw values behind it.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd

from idpkit.warehouse.warehouse import Warehouse

STOCK_METRIC = "present_stock"


def reference_dates(wh: Warehouse) -> pd.DataFrame:
    """Dates with stock figures (one per round), with how many datasets report on each.

    The date slider offers exactly these: a stock at any other date is the same number as at the
    latest of these before it, so offering it would only suggest a precision the data lacks.
    """
    o = wh.table("observations")
    o = o.filter(o.metric == STOCK_METRIC)
    df = o.group_by("reporting_date").aggregate(
        datasets=o.dataset_id.nunique(), observations=o.count()).order_by("reporting_date").execute()
    return df.rename(columns={"reporting_date": "reference_date"})


def admin_levels(wh: Warehouse) -> pd.DataFrame:
    """Admin levels in the gazetteer, their area counts, and how many areas have a boundary."""
    a = wh.table("areas")
    return a.group_by("admin_level").aggregate(
        areas=a.count(), with_boundaries=a.geometry.notnull().sum().cast("int64")
    ).order_by("admin_level").execute()


def _touches(o: ir.Table, area: str) -> ir.BooleanValue:
    """An observation touches ``area`` when the area is its own or one of its ancestors."""
    cond = o.area_pcode == area
    for n in range(1, 5):
        cond |= o[f"adm{n}_pcode"] == area
    return cond


def quality(wh: Warehouse, area: str | None = None) -> pd.DataFrame:
    """Validation findings per dataset, code and severity (counts only).

    Without ``area``: every dataset, with all its findings. With ``area``: the datasets that hold
    observations in the area, and the findings on their rows that touch it, namely rows that became
    observations there, and quarantined rows whose raw values name the area's P-code (a quarantined
    row never became an observation, so its raw text is the only link left). A dataset without
    findings still gets one row (``code`` empty, ``issues`` 0), so the page can say "no findings".
    """
    ds = wh.table("datasets").select("dataset_id", "file_name", "assessment_type",
                                     "reporting_date", "rows_read", "rows_quarantined")
    o = wh.table("observations")
    i = wh.table("issues")
    if area is None:
        per_ds = o.group_by("dataset_id").aggregate(observations=o.count())
        found = i.select("dataset_id", "code", "severity")
        ds = ds.left_join(per_ds, ds.dataset_id == per_ds.dataset_id).drop("dataset_id_right")
    else:
        here = o.filter(_touches(o, area))
        per_ds = here.group_by("dataset_id").aggregate(observations=here.count())
        rows = here.select(_d="dataset_id", _r="source_row").distinct()
        linked = i.join(rows, (i.dataset_id == rows._d) & (i.row == rows._r)).select(
            dataset_id=i.dataset_id.cast("string"), row=i.row, code=i.code, severity=i.severity)
        q = wh.table("quarantine")
        qrows = q.filter(q.raw.contains(f'"{area}"')).select(_qd="dataset_id", _qr="source_row")
        quarantined = i.join(qrows, (i.dataset_id == qrows._qd) & (i.row == qrows._qr)).select(
            dataset_id=i.dataset_id.cast("string"), row=i.row, code=i.code, severity=i.severity)
        found = linked.union(quarantined, distinct=True).select("dataset_id", "code", "severity")
        touched = per_ds.select(_t=per_ds.dataset_id.cast("string")).union(
            quarantined.select(_t=quarantined.dataset_id.cast("string")), distinct=True)
        ds = ds.join(touched, ds.dataset_id == touched._t).drop("_t")
        ds = ds.left_join(per_ds, ds.dataset_id == per_ds.dataset_id).drop("dataset_id_right")
    counts = found.group_by(["dataset_id", "code", "severity"]).aggregate(issues=found.count())
    out = ds.left_join(counts, ds.dataset_id == counts.dataset_id).drop("dataset_id_right")
    out = out.mutate(observations=out.observations.fill_null(0),
                     issues=out.issues.fill_null(0))
    order = ibis.cases((out.severity == "error", 0), (out.severity == "warning", 1), else_=2)
    return out.order_by(["reporting_date", "file_name", order, ibis.desc("issues"), "code"]
                        ).execute()
