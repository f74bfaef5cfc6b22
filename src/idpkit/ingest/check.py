"""Stage 5, *check*: every finding about the rows, as one table (row, column, value, code,
severity, message).

The per-row checks run in one pass over the wide table that keeps only the rows that fail one;
values and messages are built for those rows only. Findings with severity ``error`` quarantine
their row (kept with its raw cells, never counted); warnings flag it. Checks that need the whole
file — duplicates, unlabelled total rows, notes under the table — are set operations on it.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from idpkit.ingest.area_resolve import LEVELS
from idpkit.ingest.clean import Cleaned, formula_columns
from idpkit.ingest.columns import ColumnAssignment, ColumnPlan
from idpkit.ingest.context import ImportContext
from idpkit.ingest.plan import ImportPlan
from idpkit.ingest.reshape import num_text, part_groups
from idpkit.ingest.sheets import ROW_BASE
from idpkit.ingest.transform import NULL_STR, all_of, any_of, clean_text, row_key, sum_of
from idpkit.validate.issues import CATALOGUE


def row_findings(ctx: ImportContext, plan: ImportPlan, raw: ir.Table, cleaned: Cleaned
                 ) -> ir.Table:
    """Every finding on the rows, materialised (a staging table; small: failing rows only)."""
    checker = RowChecker(ctx, plan.columns, raw, cleaned.area_findings, plan.layout.ncols)
    w = cleaned.wide
    return ctx.materialize_parts(checker.without_notes(w, checker.row_issues(w)))


class RowChecker:
    """The checks of one import's rows. ``raw`` is the staged text table (``c0``…); the wide
    table passed to each method is :func:`idpkit.ingest.clean.clean_rows`' result."""

    def __init__(self, ctx: ImportContext, plan: ColumnPlan, raw: ir.Table,
                 area_findings: dict[str, ir.Table], ncols: int) -> None:
        self.ctx, self.plan, self.raw, self.area_findings, self.ncols = (
            ctx, plan, raw, area_findings, ncols)

    def row_issues(self, w: ir.Table) -> list[ir.Table]:
        plan = self.plan
        """Every finding on the rows. The per-row checks run in one pass that keeps only the
        flagged rows (a narrow table of booleans); values and messages are then built from that
        small set. One filtered scan per check over a million wide rows cost seconds."""
        parts: list[ir.Table] = []
        conds = [c[0] for c in self._row_checks(w, plan)]
        if conds:
            flags = {f"_k{i}": c.fill_null(False) for i, c in enumerate(conds)}
            anyk = any_of(list(flags.values()))
            flagged = self.ctx.materialize(w.select(w._row, **flags).filter(anyk))
            # which checks fired at all (one small aggregate): only those get a part, so a clean
            # file compiles no finding queries (compiling them cost more than running them)
            fired = flagged.aggregate(**{k: flagged[k].any() for k in flags}).execute()
            fired = {k for k in flags if len(fired) and bool(fired[k].iloc[0])}
        if conds and fired:
            sub = w.inner_join(flagged, "_row")
            # only the raw cells messages quote (fewer columns read from the staged rows)
            quoted = sorted({c.index for c in plan.values()} | {
                c.index for c in formula_columns(plan)} | {
                c.index for role in ("cause_text", "latitude", "longitude")
                if (c := plan.first(role)) is not None})
            raw = self.raw.select("_row", *[f"c{j}" for j in quoted])
            sub = self.ctx.materialize(sub.inner_join(raw, "_row"))
            for i, (_, code, column, value, message) in enumerate(self._row_checks(sub, plan)):
                if f"_k{i}" not in fired:
                    continue
                sel = sub.filter(sub[f"_k{i}"])
                value, message = value(), message()
                parts.append(sel.select(
                    row=sel._row, column_name=ibis.literal(column, "string"),
                    value=value.cast("string") if not isinstance(value, str) else ibis.literal(value),
                    code=ibis.literal(code), severity=ibis.literal(CATALOGUE[code].severity),
                    message=message if not isinstance(message, str) else ibis.literal(message)))
        # areas
        for prefix in ("", "origin_"):
            f = self.area_findings.get(prefix)
            if f is None:
                continue
            idcol = "_area_id" if not prefix else "_origin_id"
            j = w.inner_join(f, w[idcol] == f.aid)
            sev = ibis.cases(*[(j.code == code, t.severity) for code, t in CATALOGUE.items()
                               if code in ("unknown-pcode", "pcode-repaired", "pcode-parent-mismatch",
                                           "pcode-name-mismatch", "area-name-unmatched",
                                           "area-from-name", "unknown-area", "total-row",
                                           "unknown-country")],
                             else_="warning")
            parts.append(j.filter(j.code != "area-from-name").select(
                row=j._row, column_name=j.column_name, value=j.value, code=j.code, severity=sev,
                message=j.message))
        totals = self._unlabelled_totals(w, plan)
        if totals is not None:
            parts.append(totals)
        # duplicates: identical in every cell to an earlier row. Candidates first, by a 64-bit hash
        # where the engine has one (a cheap aggregate), then the exact check on those rows only.
        raw_cols = [f"c{j}" for j in range(self.ncols)]
        r = self.raw
        if "_h" in w.columns:  # DuckDB: hashed in the wide pass (no 21-column text key per row)
            cand = w.group_by("_h").aggregate(_n=w.count()).filter(lambda g: g._n > 1)
            rows = w.filter(w._h.isin(cand._h)).select("_row")
            sub = r.filter(r._row.isin(rows._row))
        else:  # PostgreSQL: a 64-bit hash of the cells joined as one text (hashtextextended)
            wk = r.select("_row", *raw_cols, _h=row_key([r[c] for c in raw_cols]).hash())
            cand = wk.group_by("_h").aggregate(_n=wk.count()).filter(lambda g: g._n > 1)
            sub = wk.filter(wk._h.isin(cand._h))
        skey = row_key([sub[c] for c in raw_cols])
        win = ibis.window(group_by=skey, order_by=sub._row)
        d = sub.mutate(_dup=ibis.row_number().over(win), _first=sub._row.min().over(win))
        d = d.filter(d._dup > 0)
        # An identical row is a duplicate entry only where it repeats a location or record
        # identifier; without one, identical rows are separate records (two villages of a commune
        # with the same counts, weekly flow records): kept, with a warning.
        ident = self.identifier_columns()
        code = "duplicate-row" if ident else "repeated-row"
        parts.append(d.select(row=d._row, column_name=ibis.literal(None, "string"),
                              value=NULL_STR, code=ibis.literal(code),
                              severity=ibis.literal(CATALOGUE[code].severity),
                              message=ibis.literal("exact duplicate of row " if ident else
                                                   "identical to row ")
                              + self.ctx.user_row(d._first).cast("string")
                              + (ibis.literal(" of sheet '") + self.ctx.sheet_of(d._first)
                                 + ibis.literal("'") if len(self.ctx.sheet_names) > 1
                                 else ibis.literal(""))
                              + ibis.literal(f" (same {', '.join(map(repr, ident[:2]))})" if ident
                                             else "; kept: the file has no location or record "
                                             "identifier, so identical rows can be separate "
                                             "records")))
        # Kobo: the same submission (_uuid) twice, e.g. sent again from a device after a timeout
        uc = plan.first("kobo_uuid")
        if uc is not None:
            u = clean_text(self.raw[f"c{uc.index}"])
            wu = self.raw.select("_row", _u=u).filter(lambda t: t._u.notnull())
            uw = ibis.window(group_by=wu._u, order_by=wu._row)
            du = wu.mutate(_n=ibis.row_number().over(uw), _first=wu._row.min().over(uw))
            du = du.filter(du._n > 0)
            where = (ibis.literal(" of sheet '") + self.ctx.sheet_of(du._first) + ibis.literal("'")
                     if len(self.ctx.sheet_names) > 1 else ibis.literal(""))
            parts.append(du.select(row=du._row, column_name=ibis.literal(uc.header, "string"),
                                   value=du._u, code=ibis.literal("duplicate-submission"),
                                   severity=ibis.literal("error"),
                                   message=ibis.literal("duplicate submission: same _uuid as row ")
                                   + self.ctx.user_row(du._first).cast("string") + where))
        return parts

    def identifier_columns(self) -> list[str]:
        """Headers of the columns that identify a row's location or record: P-codes, site ids,
        submission ids. Names are not identifiers (two villages may share one)."""
        roles = {"site_id", "kobo_uuid", "kobo_key"} | {f"adm{lv}_pcode" for lv in LEVELS}
        return [c.header for c in self.plan.columns if c.role in roles]

    def without_notes(self, w: ir.Table, parts: list[ir.Table]) -> list[ir.Table]:
        plan = self.plan
        """Notes under a table ("Source: IOM DTM, Round 40", "Note: …"): rows below a sheet's
        last row with a count, with no count and no place that resolves. Each is quarantined with
        one finding, note-row, naming its text, instead of the date, P-code and area findings its
        words would raise (a "Round 40." cell read as a P-code of Romania)."""
        values = plan.values()
        if not values:
            return parts
        has = any_of([w[f"v{c.index}"].notnull() | w[f"b{c.index}"] for c in values])
        sheet = (w._row // ROW_BASE).name("_sheet")
        last = w.filter(has).group_by(sheet).aggregate(_last=w._row.max())
        cand = w.filter(~has & ~w._area_placed.fill_null(False)).mutate(_sheet=w._row // ROW_BASE)
        cand = cand.left_join(last, "_sheet")
        cand = cand.filter(cand._row > cand._last.fill_null(-1)).select("_row")
        notes = self.ctx.materialize(cand)
        if not int(notes.count().execute()):
            return parts
        r = self.raw
        n = r.filter(r._row.isin(notes._row))
        text = ibis.coalesce(*[clean_text(n[f"c{j}"]) for j in range(self.ncols)])
        note = n.select(row=n._row, column_name=ibis.literal(None, "string"),
                        value=text.substr(0, 200), code=ibis.literal("note-row"),
                        severity=ibis.literal(CATALOGUE["note-row"].severity),
                        message=ibis.literal("a note under the table, not data: ")
                        + text.substr(0, 80))
        return [p.filter(~p.row.isin(notes._row)) for p in parts] + [note]

    def _row_checks(self, w: ir.Table, plan: ColumnPlan) -> list[tuple]:
        """The checks of one row on its own: (condition, code, column, value, message), as
        expressions on ``w``. Values and messages are functions: they may use the raw cells
        (``c0``…), which only the flagged rows joined to the staged table have."""
        checks: list[tuple] = []

        def issue(cond: ir.BooleanValue, code: str, column: str | None, value, message) -> None:
            checks.append((cond, code, column, value if callable(value) else lambda: value,
                           message if callable(message) else lambda: message))

        lo, hi = self.ctx.options.household_size_range
        values = plan.values()
        for c in values:
            v, bad = w[f"v{c.index}"], w[f"b{c.index}"]

            def raw(c=c):
                return w[f"c{c.index}"]
            issue(bad, "non-numeric-count", c.header, raw,
                  lambda c=c, raw=raw: ibis.literal(f"{c.header}: ") + raw()
                  + ibis.literal(" is not a number"))
            issue(v < 0, "negative-count", c.header, raw,
                  lambda c=c, raw=raw: ibis.literal(f"{c.header}: negative count ") + raw())
        # dates
        dc = plan.first("reporting_date") or plan.first("reporting_year")
        if dc is not None:
            issue(w.reporting_date.isnull() & w._date_raw.notnull(), "invalid-date", dc.header,
                  w._date_raw, ibis.literal("not a date: ") + w._date_raw)
            issue(w.reporting_date.isnull() & w._date_raw.isnull(), "invalid-date", dc.header,
                  NULL_STR, "reporting date is missing")
        if self._has_area_columns(plan):
            # a blank area in a file with area columns: placed at the country level, but said
            issue(~w._area_given.fill_null(False), "missing-area", None, NULL_STR,
                  "no P-code and no area name")
        # causes
        cc = plan.first("cause_text")
        if cc is not None:
            issue(w._multi, "multiple-causes", cc.header, lambda: w[f"c{cc.index}"],
                  lambda: ibis.literal("several causes in one cell: ") + w[f"c{cc.index}"])
        # households vs individuals, parts vs totals
        by_key: dict[tuple, dict[str, ColumnAssignment]] = {}
        for c in values:
            v = c.value
            by_key.setdefault((v.population_group, v.metric, v.cause, v.cause_detail, v.sex,
                               v.age_group), {})[v.unit] = c
        for k, units in by_key.items():
            if "households" in units and "individuals" in units:
                hh, ind = w[f"v{units['households'].index}"], w[f"v{units['individuals'].index}"]
                ratio = ind / hh
                exceed = (hh > 0) & ind.notnull() & (hh > ind)
                issue(exceed, "households-exceed-individuals", units["households"].header, hh,
                      ibis.literal(f"{units['households'].header} ") + num_text(hh)
                      + ibis.literal(f" > {units['individuals'].header} ")
                      + num_text(ind))
                cond = (hh > 0) & ind.notnull() & ~exceed & ((ratio < lo) | (ratio > hi))
                issue(cond, "implausible-household-size", units["individuals"].header,
                      ratio.round(2), ibis.literal(f"{units['individuals'].header} ÷ "
                                                   f"{units['households'].header} = ")
                      + ratio.round(2).cast("string")
                      + ibis.literal(f" individuals per household (expected {lo:g}–{hi:g})"))
        for (group, unit, metric), total, parts_by_dim in part_groups(values):
            for dim, cols in parts_by_dim.items():
                s = sum_of([w[f"v{c.index}"].fill_null(0) for c in cols])
                tot = w[f"v{total.index}"]
                issue(tot.notnull() & (s > tot + 0.5), "parts-exceed-total", total.header,
                      tot, ibis.literal(f"{dim} parts of {total.header} add up to ")
                      + num_text(s) + ibis.literal(", more than the total ") + num_text(tot))
        # formula-like text in name columns
        for c in formula_columns(plan):
            issue(w[f"_fx{c.index}"], "formula-injection", c.header, lambda c=c: w[f"c{c.index}"],
                  lambda c=c: ibis.literal("text starts like a spreadsheet formula: ")
                  + w[f"c{c.index}"].substr(0, 60))
        for role in ("latitude", "longitude"):
            lim = 90 if role == "latitude" else 180
            c = plan.first(role)
            if c is not None:
                issue(w[f"_{role}_bad"] | (w[role].abs() > lim), "invalid-coordinates", c.header,
                      lambda c=c: w[f"c{c.index}"],
                      lambda c=c, role=role: ibis.literal(f"{role} out of range: ")
                      + w[f"c{c.index}"])
        if values:
            none = all_of([w[f"v{c.index}"].isnull() & ~w[f"b{c.index}"] for c in values])
            issue(none, "no-values", None, NULL_STR, "no count in this row")
        return checks

    @staticmethod
    def _has_area_columns(plan: ColumnPlan) -> bool:
        return any(plan.first(f"adm{lv}_{k}") is not None for lv in LEVELS for k in ("pcode", "name"))

    def _unlabelled_totals(self, w: ir.Table, plan: ColumnPlan) -> ir.Table | None:
        """Rows that name no area and whose every count equals the sum of the file's other rows
        (labelled totals left out): a total row that lost its "Total" label (labelled ones are
        found with the areas). At least two other rows must add up to it, and one count be above
        0, so a lone row without its area is not taken for a total."""
        values = plan.values()
        if not values or not self._has_area_columns(plan):
            return None
        base = w.filter(~w._area_total.fill_null(False))
        sums = base.aggregate(**{k: e for c in values for k, e in (
            (f"_s{c.index}", base[f"v{c.index}"].sum()), (f"_n{c.index}", base[f"v{c.index}"].count()))})
        rows = base.filter(~base._area_given.fill_null(False)).cross_join(sums)
        matches, somes = [], []
        for c in values:
            v, s, n = rows[f"v{c.index}"], rows[f"_s{c.index}"], rows[f"_n{c.index}"]
            matches.append(v.isnull() | ((n >= 3) & ((s - 2 * v).abs() <= 0.5)))
            somes.append((v > 0).fill_null(False))
        match, some = all_of(matches), any_of(somes)
        hit = rows.filter(match & some)
        first = max(values, key=lambda c: (c.value.unit == "individuals", not c.value.is_part))
        return hit.select(
            row=hit._row, column_name=ibis.literal(first.header, "string"),
            value=num_text(hit[f"v{first.index}"]), code=ibis.literal("total-row"),
            severity=ibis.literal(CATALOGUE["total-row"].severity),
            message=ibis.literal("no area, and every count equals the sum of the other rows: a "
                                 "total row, not data"))



def jump_findings(ctx: ImportContext, stats: ir.Table) -> ir.Table:
    """A place's total jumping by more than the factor from its previous date (this file's
    totals, from ``stats``, after those already stored)."""
    f, m = ctx.options.jump_factor, ctx.options.jump_minimum
    keys = ["iso3", "area_pcode", "reported_level", "population_group", "unit", "metric"]

    def totals(t: ir.Table, new: bool, value: str, row: str) -> ir.Table:
        # stocks only: a flow (the new displacements of one event, a month's arrivals) is not
        # expected to resemble the one before
        t = t.filter((t.sex == "all") & (t.age_group == "all") & t.reporting_date.notnull()
                     & t.area_pcode.notnull() & (t.metric == "present_stock"))
        t = t.mutate(reported_level=t.reported_level.cast("int16"))  # one type on every engine
        g = t.group_by([*keys, "reporting_date"]).aggregate(v=t[value].sum(), row=t[row].min())
        return g.mutate(new=ibis.literal(new))

    obs = ctx.wh.table("observations")
    newt = totals(stats, True, "v", "row")
    oldt = totals(obs.filter(obs.area_pcode.isin(stats.select("area_pcode").distinct().area_pcode)),
                  False, "value", "source_row")
    u = newt.union(oldt)
    win = ibis.window(group_by=[u[k] for k in keys], order_by=[u.reporting_date, u.new])
    u = u.mutate(prev=u.v.lag().over(win), prev_date=u.reporting_date.lag().over(win))
    cond = u.new & u.prev.notnull() & (u.prev_date < u.reporting_date) & (
        ibis.greatest(u.v, u.prev) >= m) & ((u.v > u.prev * f) | (u.v * f < u.prev))
    j = u.filter(cond)
    return j.select(
        row=j.row, column_name=ibis.literal(None, "string"),
        value=num_text(j.v), code=ibis.literal("value-jump"),
        severity=ibis.literal("warning"),
        message=ibis.literal("") + j.population_group + ibis.literal(" ") + j.unit
        + ibis.literal(" in ") + j.area_pcode + ibis.literal(": ") + num_text(j.prev)
        + ibis.literal(" on ") + j.prev_date.cast("string") + ibis.literal(" -> ")
        + num_text(j.v) + ibis.literal(f" (more than ×{f:g})"))
