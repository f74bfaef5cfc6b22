"""Stage 7, *commit*: everything an import stores, written in one transaction.

The datasets row, the observations (compiled once, straight from the accepted rows — never
staged: 24M rows of 26 columns at 10M rows read), the quarantined rows with their raw cells, every
finding, and the sites first seen. With ``--replace`` the datasets imported before from the same
file are removed in the same transaction. Until this stage the warehouse's core tables are
untouched, so a failed or killed import leaves them exactly as they were.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

import ibis
import ibis.expr.types as ir
import pandas as pd

from idpkit import __version__
from idpkit.ingest.context import ImportContext
from idpkit.ingest.plan import ImportPlan
from idpkit.ingest.readers import source_bytes
from idpkit.ingest.transform import sql_json_object
from idpkit.warehouse.areas import ensure_gazetteer


@dataclass
class Outcome:
    """What the earlier stages leave for the commit (and for the import's result)."""

    raw: ir.Table  # staged rows (text)
    wide: ir.Table  # cleaned rows
    findings: ir.Table  # every finding (rows and jumps), materialised
    errors: ir.Table  # distinct internal row numbers of quarantined rows
    stats: ir.Table  # observation counts and sums per key (materialised)
    long_sql: str  # the observations SELECT, compiled once
    rows_read: int
    rows_quarantined: int
    observations: int
    warnings: int


def guess_kind(plan: ImportPlan) -> str:
    """The assessment type when not given. A Kobo repeat sheet is an origin breakdown of the
    main sheet, not a baseline of its own: as ``other`` it is a separate, least-trusted source in
    figures, so it never replaces (nor adds to) the main sheet's numbers."""
    if plan.repeat_sheet:
        return "other"
    cp = plan.columns
    roles = {c.role for c in cp.columns}
    if "site_id" in roles or "site_name" in roles or "site_type" in roles:
        return "site"
    stock = any(c.value and c.value.metric == "present_stock" for c in cp.values())
    if any(c.value and c.value.metric in ("arrivals", "departures") for c in cp.values()) or \
            any(r.startswith("origin_") for r in roles) and not stock or \
            cp.values() and not stock:  # only flows: new displacements, returns
        return "flow_monitoring"
    return "baseline_area"


def dataset_meta(stats: ir.Table) -> dict[str, object]:
    """Operation, round, date and country of the dataset, where all its rows share one."""
    cols = ("operation", "round", "reporting_date", "iso3")
    row = stats.aggregate(**{k: e for c in cols for k, e in (
        (f"{c}_n", stats[c].nunique()), (f"{c}_v", stats[c].max()))}).execute().iloc[0]
    return {c: (row[f"{c}_v"] if int(row[f"{c}_n"]) == 1 else None) for c in cols}


def new_sites(ctx: ImportContext, plan: ImportPlan, w: ir.Table) -> ir.Table | None:
    """Sites this file names that the warehouse does not know yet."""
    if plan.columns.first("site_id") is None:
        return None
    t = w.filter(w.site_id.notnull())
    g = t.group_by("site_id").aggregate(
        site_name=t.site_name.max(), site_type=t.site_type.max(), area_pcode=t.area_pcode.max(),
        latitude=t.latitude.max(), longitude=t.longitude.max())
    existing = ctx.wh.table("sites")
    g = g.filter(~g.site_id.isin(existing.site_id))
    return g.mutate(dataset_id=ibis.literal(ctx.dataset_id))


def commit(ctx: ImportContext, plan: ImportPlan, out: Outcome, notes: list[str]) -> None:
    """Write the import; the datasets it replaces (``ctx.replaces``) are removed in the same
    transaction, and the import and each replacement recorded in ``dataset_audit``."""
    from idpkit.warehouse.datasets import audit_statement, removal_statements

    wh, opt = ctx.wh, ctx.options
    before = removal_statements(wh, ctx.replaces) if ctx.replaces else []
    before += [audit_statement("replace", old, replaced_by=ctx.dataset_id,
                               file_name=ctx.file_name, file_hash=ctx.digest)
               for old in ctx.replaces]
    before.append(audit_statement("import", ctx.dataset_id, file_name=ctx.file_name,
                                  file_hash=ctx.digest))
    if plan.seed_areas and ensure_gazetteer(wh):  # only now: a failed import writes nothing
        notes.append("areas table was empty: loaded the embedded OCHA P-code list (admin 1-2)")
    meta = dataset_meta(out.stats)
    dataset_row = pd.DataFrame([{
        "dataset_id": ctx.dataset_id, "file_name": ctx.file_name, "file_hash": ctx.digest,
        "file_bytes": source_bytes(ctx.path), "sheet": plan.sheet_label,
        "source_organisation": opt.source, "assessment_type": opt.kind or guess_kind(plan),
        "operation": meta.get("operation"), "round": meta.get("round"),
        "reporting_date": meta.get("reporting_date"), "iso3": meta.get("iso3"),
        "rows_read": out.rows_read, "rows_accepted": out.rows_read - out.rows_quarantined,
        "rows_quarantined": out.rows_quarantined, "observations": out.observations,
        "warnings": out.warnings,
        "column_mapping": json.dumps(plan.columns.as_mapping(), ensure_ascii=False),
        "imported_at": datetime.now(timezone.utc).replace(tzinfo=None),
        "idpkit_version": __version__,
    }])
    ds_stage = ctx.lookup(dataset_row, dict(wh.table("datasets").schema().items()))
    issue_cols = list(wh.table("issues").schema().names)
    col_issue_stage = ctx.lookup(pd.DataFrame([{
        "dataset_id": ctx.dataset_id, "file_name": ctx.file_name, "sheet": i.sheet,
        "row": None, "column_name": i.column, "value": i.value, "code": i.code,
        "severity": i.severity, "message": i.message} for i in ctx.issues],
        columns=issue_cols), dict(wh.table("issues").schema().items()))
    findings = out.findings
    raw = out.raw
    quarantine = raw.filter(raw._row.isin(out.errors.row))
    codes = findings.filter(findings.severity == "error").group_by("row").aggregate(
        codes=findings.code.group_concat(","))
    q = quarantine.left_join(codes, quarantine._row == codes.row)
    raw_cols = [(h, f"c{j}") for j, h in enumerate(plan.layout.headers)]
    q = q.select(dataset_id=ibis.literal(ctx.dataset_id), source_sheet=ctx.sheet_of(q._row),
                 source_row=ctx.user_row(q._row), raw=sql_json_object(q, raw_cols),
                 codes=q.codes)
    iss = findings.select(dataset_id=ibis.literal(ctx.dataset_id),
                          file_name=ibis.literal(ctx.file_name),
                          sheet=ctx.sheet_of(findings.row), row=ctx.user_row(findings.row),
                          column_name=findings.column_name, value=findings.value,
                          code=findings.code, severity=findings.severity,
                          message=findings.message)
    obs_cols = ", ".join(f'"{c}"' for c in wh.table("observations").schema().names)
    obs = f'SELECT {obs_cols} FROM ({out.long_sql}) AS "l"'
    inserts: list[tuple[str, ir.Table | str]] = [
        ("observations", obs), ("quarantine", q), ("issues", iss), ("issues", col_issue_stage),
        ("datasets", ds_stage)]
    sites = new_sites(ctx, plan, out.wide)
    if sites is not None:
        inserts.insert(0, ("sites", sites))
    wh.atomic_insert(inserts, before=before)
