"""Stage 4, *clean*: the staged text rows typed and resolved, one wide row per source row.

Dates, rounds, causes, operations and site types are worked out once per *distinct* value in
Python and joined back (a lookup table), areas once per distinct combination of the area columns
(:mod:`idpkit.ingest.area_resolve`); counts, coordinates and formula-like text are parsed by the
engine (:mod:`idpkit.ingest.transform`). Nothing is filtered here: every check is the next
stage's (:mod:`idpkit.ingest.check`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import ibis
import ibis.expr.types as ir
import pandas as pd

from idpkit.ingest.area_resolve import LEVELS, AreaResolver
from idpkit.ingest.columns import ColumnAssignment, ColumnPlan
from idpkit.ingest.context import NULL_KEY, ImportContext
from idpkit.ingest.kobo import is_kobo_export
from idpkit.ingest.normalise import (find_date_in_text, find_round_in_text, normalise_cause,
                                     normalise_round, normalise_site_type, parse_dates)
from idpkit.ingest.plan import ImportPlan
from idpkit.ingest.profile import PLACEHOLDERS
from idpkit.ingest.sheets import ROW_BASE
from idpkit.ingest.transform import (KEY_SEP, NULL_STR, clean_text, formula_like, parse_count,
                                     parse_decimal, row_key)
from idpkit.validate.issues import Issue
from idpkit.warehouse.areas import Gazetteer

CLEAN_LOOKUP_MAX = 100_000  # distinct values above which text is cleaned per row


@dataclass
class Cleaned:
    """The wide row table (an expression) and, per area prefix (``""`` for the place,
    ``"origin_"``), the findings of the distinct area combinations (joined to rows by id)."""

    wide: ir.Table
    area_findings: dict[str, ir.Table]


def clean_cell(v: object) -> str | None:
    """A raw cell as the resolvers want it: stripped, placeholders and blanks as None."""
    if not isinstance(v, str) or v == NULL_KEY:
        return None
    v = v.strip()
    return None if v.lower() in PLACEHOLDERS else v


def title_texts(ctx: ImportContext) -> list[tuple[str, str]]:
    """Texts that title the file, with where each is: its name, its sheets' names, and the
    cells of the rows above each sheet's table (rows of at most two filled cells before the
    first row of three or more). Why only those: a flow dataset's first data row held a date,
    which became the date of all 72,607 rows "from the file's titles"."""
    out = [(ctx.file_name, "the file name")]
    out += [(s.name, f"the name of sheet {s.name!r}") for s in ctx.source.sheets]
    for s in ctx.source.sheets:
        for r in s.preview[:8]:
            cells = [str(c).strip() for c in r if c is not None and str(c).strip()]
            if len(cells) >= 3:
                break
            out += [(c, f"the title {c[:60]!r} of sheet {s.name!r}") for c in cells]
    return out


def date_in_titles(ctx: ImportContext) -> tuple[date | None, str]:
    """The first date written in a title (see :func:`title_texts`), and where it was."""
    texts = title_texts(ctx)
    for text, where in texts:  # a full date anywhere before a month and year anywhere
        if re.search(r"\d{4}-\d{2}-\d{2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}", text):
            found = find_date_in_text([text])
            if found is not None:
                return found, where
    for text, where in texts:
        found = find_date_in_text([text])
        if found is not None:
            return found, where
    return None, ""


def year_end(text: object) -> date | None:
    """31 December of a year cell ("2019", "2019.0"), or None when it is not a year."""
    m = re.fullmatch(r"\s*((?:19|20|21)\d\d)(?:\.0+)?\s*", str(text))
    return date(int(m.group(1)), 12, 31) if m else None


def _col(t: ir.Table, plan: ColumnPlan, role: str) -> ir.StringValue | None:
    c = plan.first(role)
    return t[f"c{c.index}"] if c is not None else None


def clean_rows(ctx: ImportContext, plan: ImportPlan, raw: ir.Table) -> Cleaned:
    """The typed, resolved row table (an expression over ``raw``) and the area findings."""
    opt = ctx.options
    layout, gaz, cplan = plan.layout, plan.gazetteer, plan.columns
    t = raw
    findings: dict[str, ir.Table] = {}
    cols: dict[str, ir.Value] = {}
    # -- dates
    date_col = cplan.first("reporting_date")
    year_col = cplan.first("reporting_year") if date_col is None and not opt.reporting_date \
        else None
    fallback_date, where = opt.reporting_date, ""
    if fallback_date is None and date_col is None and year_col is None:
        fallback_date, where = date_in_titles(ctx)
        if fallback_date is not None:
            ctx.issues.append(Issue("invalid-date", f"no reporting-date column; using "
                                    f"{fallback_date.isoformat()} found in {where}",
                                    severity="warning", file=ctx.file_name, sheet=layout.sheet))
        else:
            ctx.issues.append(Issue("invalid-date", "no reporting-date column and no date "
                                    "in the file's titles or name; give one with --date",
                                    severity="warning", file=ctx.file_name, sheet=layout.sheet))
    if date_col is not None:
        ctx.decide("clean", "reporting date", f"column {date_col.header!r}",
                   {"hxl": "its HXL tag", "header": "its header", "values": "its values are dates",
                    "mapping": "the mapping"}.get(date_col.basis, date_col.basis)
                   + (f"; --date {opt.reporting_date} where a cell is blank"
                      if opt.reporting_date else ""))
        dcell = t[f"c{date_col.index}"]
        distinct = [v for v in ctx.distinct(raw, [f"c{date_col.index}"]).iloc[:, 0].dropna()]
        mapping, ambiguous = parse_dates([str(v) for v in distinct])
        if ambiguous:
            ctx.issues.append(Issue("ambiguous-date-format", "dates read as day/month/year",
                                     file=ctx.file_name, sheet=layout.sheet,
                                     column=date_col.header))
        # the cleaned text rides along in the lookup: no per-row string work
        lk = ctx.lookup(pd.DataFrame({"k": distinct, "d": [mapping.get(str(v)) for v in distinct],
                                        "dr": [clean_cell(v) for v in distinct]}),
                          {"k": "string", "d": "date", "dr": "string"})
        t = t.left_join(lk, dcell == lk.k).drop("k")
        cols["reporting_date"] = ibis.coalesce(t.d, ibis.literal(fallback_date, "date")) \
            if opt.reporting_date else t.d
        cols["_date_raw"] = t.dr
    elif year_col is not None:
        # a year is a country-year figure (IDMC): dated 31 December, the end of the year it counts
        distinct = [v for v in ctx.distinct(raw, [f"c{year_col.index}"]).iloc[:, 0].dropna()]
        lk = ctx.lookup(pd.DataFrame({"k": distinct, "d": [year_end(v) for v in distinct],
                                      "dr": [clean_cell(v) for v in distinct]}),
                        {"k": "string", "d": "date", "dr": "string"})
        t = t.left_join(lk, t[f"c{year_col.index}"] == lk.k).drop("k")
        cols["reporting_date"], cols["_date_raw"] = t.d, t.dr
        ctx.decide("clean", "reporting date", f"31 December of column {year_col.header!r}",
                   "a column of years (country-year figures are as of the end of the year)")
    else:
        cols["reporting_date"] = ibis.literal(fallback_date, "date")
        cols["_date_raw"] = NULL_STR
        ctx.decide("clean", "reporting date",
                   fallback_date.isoformat() if fallback_date else "none",
                   "--date" if opt.reporting_date else
                   f"found in {where}" if fallback_date else
                   "no date column, no date in the titles: give --date",
                   "high" if opt.reporting_date else "low")
    # -- round and operation
    round_col = cplan.first("round")
    if round_col is not None:
        distinct = ctx.distinct(raw, [f"c{round_col.index}"]).iloc[:, 0].dropna().tolist()
        lk = ctx.lookup(pd.DataFrame({"rk": distinct,
                                        "rv": [normalise_round(str(v)) for v in distinct]}),
                          {"rk": "string", "rv": "string"})
        t = t.left_join(lk, t[f"c{round_col.index}"] == lk.rk).drop("rk")
        cols["round"] = t.rv if opt.round is None else ibis.literal(opt.round)
    else:
        texts = [text for text, _ in title_texts(ctx)]
        file_round = opt.round or find_round_in_text(texts)
        cols["round"] = ibis.literal(file_round, "string")
        per_sheet = [find_round_in_text([n]) for n in ctx.sheet_names]
        if opt.round is None and len(ctx.sheet_names) > 1 and any(per_sheet):
            # one sheet per round ("Round 37", "Round 38"): each row takes its sheet's round,
            # never one round for all (figures would add the rounds together)
            k = (t._row // ROW_BASE).cast("int64")
            cols["round"] = ibis.cases(
                *[(k == i, ibis.literal(r or file_round, "string"))
                  for i, r in enumerate(per_sheet)], else_=NULL_STR)
    op = cplan.first("operation")
    if opt.operation:
        cols["operation"] = ibis.literal(opt.operation, "string")
    elif op is not None:
        t, cols["operation"] = _cleaned(ctx, raw, t, op.index, "_op")
    else:
        cols["operation"] = NULL_STR
    # -- causes
    cause_col = cplan.first("cause_text")
    if cause_col is not None:
        distinct = ctx.distinct(raw, [f"c{cause_col.index}"]).iloc[:, 0].dropna().tolist()
        kobo = is_kobo_export({c.role for c in cplan.columns})
        norm = [normalise_cause(str(v), choice_list=kobo) for v in distinct]
        lk = ctx.lookup(pd.DataFrame({
            "ck": distinct, "cause": [n[0] for n in norm], "hazard": [n[1] for n in norm],
            "cause_detail": [n[2] for n in norm], "multi": [n[3] for n in norm]}),
            {"ck": "string", "cause": "string", "hazard": "string", "cause_detail": "string",
             "multi": "boolean"})
        t = t.left_join(lk, t[f"c{cause_col.index}"] == lk.ck).drop("ck")
        cols["_cause"], cols["_hazard"] = t.cause, t.hazard
        cols["_cause_detail"], cols["_multi"] = t.cause_detail, t.multi.fill_null(False)
    else:
        cols["_cause"] = cols["_hazard"] = cols["_cause_detail"] = NULL_STR
        cols["_multi"] = ibis.literal(False)
    # -- areas (place and origin)
    t, area_cols = _join_areas(ctx, raw, t, cplan, gaz, "", findings)
    cols.update(area_cols)
    t, origin_cols = _join_areas(ctx, raw, t, cplan, gaz, "origin_", findings)
    cols.update(origin_cols)
    # -- sites
    sid, sname, stype = (_col(t, cplan, r) for r in ("site_id", "site_name", "site_type"))
    cols["site_id"] = clean_text(sid) if sid is not None else NULL_STR
    cols["site_name"] = clean_text(sname) if sname is not None else NULL_STR
    if stype is not None:
        distinct = ctx.distinct(raw, [f"c{cplan.first('site_type').index}"]).iloc[:, 0].dropna().tolist()
        lk = ctx.lookup(pd.DataFrame({"sk": distinct,
                                        "sv": [normalise_site_type(str(v)) for v in distinct]}),
                          {"sk": "string", "sv": "string"})
        t = t.left_join(lk, stype == lk.sk).drop("sk")
        cols["site_type"] = t.sv
    else:
        cols["site_type"] = NULL_STR
    for role in ("latitude", "longitude"):
        c = _col(t, cplan, role)
        if c is not None:
            v, bad = parse_decimal(c)
            cols[role], cols[f"_{role}_bad"] = v, bad
        else:
            cols[role], cols[f"_{role}_bad"] = ibis.null("float64"), ibis.literal(False)
    # -- counts
    for c in cplan.values():
        v, bad = parse_count(t[f"c{c.index}"], try_cast=ctx.wh.backend.has_try_cast)
        cols[f"v{c.index}"], cols[f"b{c.index}"] = v, bad
    # text that starts like a spreadsheet formula, in name columns (a flag: the raw cells stay
    # in the staged table and are joined back only for the rows that have findings)
    for c in formula_columns(cplan):
        cols[f"_fx{c.index}"] = formula_like(t[f"c{c.index}"])
    if "_h" in raw.columns:  # hashed by the CSV staging (DuckDB)
        cols["_h"] = t._h
    elif ctx.wh.backend.has_try_cast:
        # DuckDB: a 64-bit hash of every cell, for the duplicate check, while the raw rows are
        # read anyway (a second pass over them costs much more once they spill to disk)
        cols["_h"] = ibis.struct({f"c{j}": t[f"c{j}"] for j in range(layout.ncols)}).hash()
    return Cleaned(t.select("_row", **cols), findings)


def formula_columns(plan: ColumnPlan) -> list[ColumnAssignment]:
    return [c for c in plan.columns
            if c.role.endswith("_name") or c.role in ("site_name", "site_id", "operation")]


def _cleaned(ctx: ImportContext, raw: ir.Table, t: ir.Table, index: int, name: str
             ) -> tuple[ir.Table, ir.StringValue]:
    """Column ``c{index}`` trimmed, placeholders missing: worked out once per distinct value
    and joined back (per-row trimming of a million cells costs more than the join); per row
    when the column is nearly unique."""
    distinct = raw.select(k=raw[f"c{index}"]).distinct().limit(CLEAN_LOOKUP_MAX + 1)
    keys = distinct.execute()["k"].dropna().tolist()
    if len(keys) > CLEAN_LOOKUP_MAX:
        return t, clean_text(t[f"c{index}"])
    lk = ctx.lookup(pd.DataFrame({f"{name}_k": keys, name: [clean_cell(k) for k in keys]}),
                      {f"{name}_k": "string", name: "string"})
    t = t.left_join(lk, t[f"c{index}"] == lk[f"{name}_k"]).drop(f"{name}_k")
    return t, t[name]


def _join_areas(ctx: ImportContext, raw: ir.Table, t: ir.Table, plan: ColumnPlan,
                gaz: Gazetteer, prefix: str, findings_out: dict[str, ir.Table]
                ) -> tuple[ir.Table, dict[str, ir.Value]]:
    roles = [f"{prefix}adm{lv}_{k}" for lv in LEVELS for k in ("pcode", "name")]
    if not prefix:
        roles = ["country_code", "country_name"] + roles
    present = [(r, plan.first(r)) for r in roles if plan.first(r) is not None]
    out: dict[str, ir.Value] = {}
    if prefix and not present:
        return t, {"origin_pcode": NULL_STR, "origin_name": NULL_STR,
                   "_origin_id": ibis.null("int64")}
    if not present:  # no country and no area column: the whole file is one country (or none)
        iso = (ctx.options.country or "").upper() or None
        out.update({"iso3": ibis.literal(iso, "string"), "area_pcode": ibis.literal(iso, "string"),
                    "reported_level": ibis.literal(0 if iso else None, "int16"),
                    "_area_id": ibis.null("int64"), "_area_given": ibis.literal(True),
                    "_area_total": ibis.literal(False), "_area_placed": ibis.literal(iso is not None)})
        out.update({f"adm{lv}_pcode": NULL_STR for lv in LEVELS})
        return t, out
    keys = [f"c{c.index}" for _, c in present]
    r = raw
    combos = r.select(*[r[k].fill_null(NULL_KEY).name(k) for k in keys]).distinct().execute()
    resolver = AreaResolver(gaz, prefix)
    by_role = {r: combos[f"c{c.index}"].map(clean_cell) for r, c in present}
    # the origin's name as reported (finest level given), cleaned once per combination
    name_role = next((r for lv in (4, 3, 2, 1) if (r := f"{prefix}adm{lv}_name") in by_role),
                     None) if prefix else None
    frame = pd.DataFrame(by_role)
    iso_hint = ctx.options.country or resolver.guess_country(frame)
    file_level = max((int(r[len(prefix) + 3]) for r, _ in present
                      if r not in ("country_code", "country_name")), default=None)
    records, findings = [], []
    key_rows = list(zip(*[combos[k].tolist() for k in keys]))
    for i, row in enumerate(frame.itertuples(index=False)):
        res = resolver.resolve({k: (x if isinstance(x, str) and x else None)
                                for k, x in zip(frame.columns, row)}, iso_hint, file_level)
        rec = {"_key": KEY_SEP.join(str(x) for x in key_rows[i])}
        rec.update({"_aid": i, "_iso3": res.iso3, "_area": res.area_pcode,
                    "_level": res.reported_level, "_given": res.given,
                    "_total": res.total, "_placed": res.placed})
        rec.update({f"_a{lv}": res.pcodes.get(lv) for lv in LEVELS})
        rec["_name"] = getattr(row, name_role) if name_role else None
        records.append(rec)
        for f in res.findings:
            col = next(c for r, c in present if r == f.role)
            findings.append({"aid": i, "code": f.code, "column_name": col.header,
                             "value": f.value, "message": f.message})
    schema = {"_key": "string"}
    schema.update({"_aid": "int64", "_iso3": "string", "_area": "string", "_level": "int16",
                   "_given": "boolean", "_total": "boolean", "_placed": "boolean"})
    schema.update({f"_a{lv}": "string" for lv in LEVELS})
    schema["_name"] = "string"
    lk = ctx.lookup(pd.DataFrame(records, columns=list(schema)), schema)
    pred = [row_key([t[k] for k in keys]) == lk["_key"]]
    lk_cols = {c: f"{prefix}{c}" for c in lk.columns if c.startswith("_")}
    lk = lk.rename({v: k for k, v in lk_cols.items()})
    t = t.left_join(lk, pred).drop(f"{prefix}_key")
    fschema = {"aid": "int64", "code": "string", "column_name": "string", "value": "string",
               "message": "string"}
    if any(f["code"] != "area-from-name" for f in findings):  # else: no part to compile
        findings_out[prefix] = ctx.lookup(pd.DataFrame(findings, columns=list(fschema)), fschema)
    if prefix:
        out["origin_pcode"] = t[f"{prefix}_area"]
        out["origin_name"] = t[f"{prefix}_name"] if name_role else NULL_STR
        out["_origin_id"] = t[f"{prefix}_aid"]
        return t, out
    out.update({"iso3": t["_iso3"], "area_pcode": t["_area"], "reported_level": t["_level"],
                "_area_id": t["_aid"], "_area_given": t["_given"], "_area_total": t["_total"],
                "_area_placed": t["_placed"]})
    out.update({f"adm{lv}_pcode": t[f"_a{lv}"] for lv in LEVELS})
    return t, out

