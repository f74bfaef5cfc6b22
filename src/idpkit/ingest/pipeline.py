"""One import, end to end: read -> detect -> stage -> check -> long format -> commit atomically.

The heavy work runs in the warehouse engine over a staged copy of the sheet; Python only looks at
headers, a sample of rows, and distinct values. Nothing reaches the core tables until the final
transaction, so a failed or killed import leaves the warehouse exactly as it was.
"""

from __future__ import annotations

import csv
import functools
import itertools
import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from idpkit import __version__
from idpkit.errors import IdpkitError, NoDataFoundError
from idpkit.ingest.area_resolve import LEVELS, AreaResolver
from idpkit.ingest.columns import ColumnAssignment, ColumnPlan
from idpkit.ingest.detect import Layout, candidate_layouts, choose_layout
from idpkit.ingest.kobo import is_kobo_export, prepare_repeat_sheet
from idpkit.ingest.mapping import Mapping
from idpkit.ingest.normalise import (find_date_in_text, find_round_in_text, normalise_cause,
                                     normalise_round, normalise_site_type, parse_dates)
from idpkit.ingest.profile import PLACEHOLDERS, resolve_columns
from idpkit.ingest.readers import (SourceFile, cell_text, csv_batches, csv_select_sql, grid_to_arrow,
                                   open_source, source_bytes, source_sha256)
from idpkit.ingest.sheets import (ROW_BASE, SheetPart, order_and_describe, select_parts,
                                  sheet_of_row, unify, user_row)
from idpkit.ingest.transform import (KEY_SEP, NULL_STR, clean_text, formula_like, parse_count, parse_decimal, row_key, sql_json_object)
from idpkit.validate.issues import CATALOGUE, Issue
from idpkit.warehouse.areas import Gazetteer, ensure_gazetteer
from idpkit.warehouse.warehouse import Warehouse

Progress = Callable[[str], None]
MAX_ISSUE_EXAMPLES = 2000
PROFILE = bool(os.environ.get("IDPKIT_PROFILE"))
# what the checks after the long format need of it (see _run)
STAT_KEYS = ["iso3", "area_pcode", "reported_level", "population_group", "unit", "metric",
             "reporting_date", "sex", "age_group", "operation", "round"]
CLEAN_LOOKUP_MAX = 100_000  # distinct values above which text is cleaned per row


@dataclass
class IngestOptions:
    kind: str | None = None  # assessment type; guessed when None
    source: str | None = None  # source organisation
    mapping: Mapping | None = None
    # the sheet to import, or several sheets of one table (the first sets the columns); None: the
    # data sheet and every sheet that is a part of the same table (idpkit.ingest.sheets)
    sheet: str | list[str] | None = None
    dry_run: bool = False
    reporting_date: date | None = None
    round: str | None = None
    operation: str | None = None
    household_size_range: tuple[float, float] = (1.0, 20.0)
    jump_factor: float = 10.0
    jump_minimum: float = 100.0  # changes between smaller numbers are not flagged


@dataclass
class ImportResult:
    file: Path
    status: str  # imported | dry-run | already-imported
    dataset_id: str | None = None
    sheet: str | None = None
    rows_read: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    observations: int = 0
    issue_counts: dict[tuple[str, str], int] = field(default_factory=dict)  # (code, severity) -> n
    issues: list[Issue] = field(default_factory=list)  # examples, capped
    columns: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(n for (c, s), n in self.issue_counts.items() if s == "error")

    @property
    def warnings(self) -> int:
        return sum(n for (c, s), n in self.issue_counts.items() if s == "warning")


NULL_KEY = "\u2400"  # stands for a missing cell inside join keys


def _clean_cell(v: object) -> str | None:
    """A raw cell as the resolvers want it: stripped, placeholders and blanks as None."""
    if not isinstance(v, str) or v == NULL_KEY:
        return None
    v = v.strip()
    return None if v.lower() in PLACEHOLDERS else v


def _missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and v != v) or v is pd.NaT


def _text_or_none(v: object) -> str | None:
    return None if _missing(v) else str(v)


def _num_text(v: ir.NumericValue) -> ir.StringValue:
    """A number as text for messages: whole numbers without '.0', never an overflowing cast."""
    return ibis.cases(((v.abs() < 1e15) & (v == v.round(0)), v.round(0).cast("int64").cast("string")),
                      else_=v.cast("string"))


def _safe_name(path: Path) -> str:
    """File name as stored: base name only, control characters removed (no path tricks)."""
    return "".join(ch for ch in Path(path).name if ch.isprintable())[:255] or "unnamed"


def ingest_file(wh: Warehouse, path: Path, options: IngestOptions | None = None,
                progress: Progress | None = None) -> ImportResult:
    options = options or IngestOptions()
    say = progress or (lambda _msg: None)
    path = Path(path)
    say("reading file")
    source = open_source(path)  # raises a clear IdpkitError for empty/binary/hostile files
    try:
        digest = source_sha256(path)
        ds = wh.table("datasets")
        same = ds.file_hash == digest
        if options.sheet is not None:  # another sheet of an imported file is another dataset
            asked = [options.sheet] if isinstance(options.sheet, str) else list(options.sheet)
            same = same & (ds.sheet.fill_null("") == "; ".join(asked))
        prior = ds.filter(same).select("dataset_id").limit(1).execute()
        if len(prior) and not options.dry_run:
            return ImportResult(path, "already-imported", dataset_id=str(prior.dataset_id.iloc[0]),
                                notes=[f"same content already imported as dataset "
                                       f"{prior.dataset_id.iloc[0]}; nothing changed"])
        return _Import(wh, path, source, digest, options, say).run()
    finally:
        source.cleanup()


class _Import:
    def __init__(self, wh: Warehouse, path: Path, source: SourceFile, digest: str,
                 options: IngestOptions, say: Progress) -> None:
        self.wh, self.path, self.source, self.digest, self.opt, self.say = (
            wh, path, source, digest, options, say)
        self.file_name = _safe_name(path)
        self.dataset_id = "ds_" + uuid.uuid4().hex[:12]
        self.stages: list[str] = []
        self.issues: list[Issue] = []

    # ------------------------------------------------------------------ helpers
    def _stage(self) -> str:
        name = self.wh.backend.new_stage_name()
        self.stages.append(name)
        return name

    def _materialize(self, expr: ir.Table) -> ir.Table:
        return self._materialize_sql(self.wh.backend.sql(expr))

    def _materialize_parts(self, parts: list[ir.Table]) -> ir.Table:
        """The union of ``parts`` (same columns) as a staging table: the first creates it, the
        others are inserted one by one, each compiled on its own (findings of a wide sheet are
        ~40 small selects; compiling their union as one expression took longer than running it)."""
        t = self._materialize(parts[0])
        cols = ", ".join(f'"{c}"' for c in t.columns)
        for part in parts[1:]:
            sql = self.wh.backend.sql(part.select(*t.columns))
            self._execute(f'INSERT INTO "{t.get_name()}" ({cols}) ', sql)
        if len(parts) > 1:
            self.wh.backend.analyze(t.get_name())
        return t

    def _materialize_sql(self, select_sql: str) -> ir.Table:
        name = self._stage()
        self._execute(f'CREATE TEMP TABLE "{name}" AS ', select_sql)
        self.wh.backend.analyze(name)
        return self.wh.table(name)

    def _execute(self, head: str, select_sql: str) -> None:
        """Run ``head + select_sql``; with ``IDPKIT_PROFILE`` set, say how long it took and who
        asked (``=explain``: also write the executed plan of the SELECT to /tmp)."""
        t0 = time.perf_counter()
        self.wh.backend.ibis.raw_sql(head + select_sql)
        if PROFILE:
            import sys
            caller = sys._getframe(2).f_code.co_name
            print(f"[profile] {time.perf_counter() - t0:7.2f}s {head[:12].strip()} for {caller}",
                  file=sys.stderr)
            if os.environ.get("IDPKIT_PROFILE") == "explain":
                out = Path(f"/tmp/idpkit-explain-{caller}-{uuid.uuid4().hex[:6]}.txt")
                out.write_text(self.wh.backend.explain(select_sql))

    def _lookup(self, df: pd.DataFrame, schema: dict[str, str]) -> ir.Table:
        name = self._stage()
        arrow_schema = ibis.schema(schema).to_pyarrow()
        # from Python lists, not pandas' inferred dtypes (an all-missing date column is float64)
        table = pa.Table.from_pydict(
            {f.name: pa.array([None if _missing(v) else v for v in df[f.name].tolist()], f.type)
             for f in arrow_schema}, schema=arrow_schema)
        self.wh.backend.load_arrow(name, table)
        self.wh.backend.analyze(name)
        return self.wh.table(name)

    def _distinct(self, t: ir.Table, cols: list[str]) -> pd.DataFrame:
        return t.select(*cols).distinct().execute()

    # ------------------------------------------------------------------ steps
    def run(self) -> ImportResult:
        try:
            return self._run()
        finally:
            self.wh.backend.drop_stages(self.stages)

    def _data_rows(self, layout: Layout) -> list[list[object]]:
        """Every data row of a workbook sheet, cells as read (workbooks are in memory already)."""
        sheet = next(s for s in self.source.sheets if s.name == layout.sheet)
        return sheet.rows[layout.data_start:] if sheet.rows is not None else []

    def _sample(self, layout: Layout) -> list[list[str | None]]:
        sheet = next(s for s in self.source.sheets if s.name == layout.sheet)
        if sheet.rows is not None:
            rows = sheet.rows[layout.data_start:layout.data_start + 3000]
            return [[cell_text(c) for c in r] for r in rows]
        out: list[list[str | None]] = []
        csv.field_size_limit(1 << 30)  # long free-text cells exist; never a bare csv.Error
        with open(self.source.utf8_path, encoding="utf-8-sig", errors="replace", newline="") as fh:
            reader = csv.reader(fh, delimiter=self.source.delimiter or ",")
            for row in itertools.islice(reader, layout.data_start, layout.data_start + 3000):
                out.append([c.strip() or None for c in row])
        return out

    def _run(self) -> ImportResult:
        opt, wh = self.opt, self.wh
        asked = [opt.sheet] if isinstance(opt.sheet, str) else list(opt.sheet or [])
        repeat_notes = prepare_repeat_sheet(self.source, asked[0]) if len(asked) == 1 else []
        self.repeat_sheet = bool(repeat_notes) and "joined to its submission" in repeat_notes[0]
        if self.repeat_sheet and not opt.kind:
            repeat_notes.append("assessment type 'other' (an origin breakdown): figures keep "
                                "using the main sheet's totals; give --kind to change it")
        layout = choose_layout(self.source, asked[0] if asked else None)
        notes = list(self.source.notes) + repeat_notes
        seed_areas = wh.table("areas").count().execute() == 0
        gaz = Gazetteer.from_embedded() if seed_areas else Gazetteer.from_warehouse(wh)
        overrides = opt.mapping.overrides(layout) if opt.mapping else {}
        main_sample = self._sample(layout)
        plan, col_issues = resolve_columns(layout, main_sample, gaz, self.file_name, overrides)
        self.issues.extend(col_issues)
        self.parts = [SheetPart(layout, plan, list(range(layout.ncols)))]
        if plan.values() and (len(asked) != 1) and self.source.kind in ("xlsx", "zip", "folder"):
            layout, plan, sheet_notes = self._gather_parts(layout, plan, main_sample, gaz, asked)
            notes += sheet_notes
        else:
            notes += layout.notes
        self.sheet_names = [p.layout.sheet for p in self.parts]
        if not plan.values():
            why = "; ".join(i.message for i in col_issues if i.code == "tag-contradicts-values")
            raise NoDataFoundError(
                f"sheet {layout.sheet!r} has no count column holding numbers"
                + (f" ({why})" if why else "") + "; give a mapping with --mapping",
                location=str(self.path))
        notes += plan.notes
        self.plan = plan
        self.layout = layout

        self.say("staging rows")
        raw = self._stage_raw(layout)
        self.say("checking areas, dates and causes")
        wide = self._materialize(self._wide(raw, plan, gaz, layout))
        self.say("validating rows")
        row_issues = self._materialize_parts(self._without_notes(wide, plan,
                                                                self._row_issues(wide, plan)))
        errors = row_issues.filter(row_issues.severity == "error").select("row").distinct()
        accepted = wide.filter(~wide._row.isin(errors.row))
        flags = row_issues.filter(row_issues.severity == "warning").group_by("row").aggregate(
            flags=row_issues.code.group_concat(","))
        self.say("building observations")
        # The long rows are not stored in a staging table (24M rows of 26 columns at 10M rows read):
        # they go straight into the warehouse at commit. What is needed before that — counts, the
        # dataset's round and date, totals for the jump check — comes from one small aggregate.
        # compiled to SQL once (a union of one select per count column), used twice
        long_sql = self.wh.backend.sql(self._long(accepted, flags, plan))
        keys = ", ".join(f'"{k}"' for k in STAT_KEYS)
        stats = self._materialize_sql(
            f'SELECT {keys}, count(*) AS "n", sum("value") AS "v", min("_irow") AS "row" '
            f'FROM ({long_sql}) AS "l" GROUP BY {keys}')
        jumps = self._materialize(self._jumps(stats))
        all_issues = row_issues.union(jumps)

        rows_read = int(raw.count().execute())
        n_quarantined = int(errors.count().execute())
        n_obs = int(stats.n.sum().fill_null(0).execute())
        counts = all_issues.group_by(["code", "severity"]).aggregate(n=all_issues.count()).execute()
        issue_counts = {(r.code, r.severity): int(r.n) for r in counts.itertuples()}
        for i in self.issues:
            issue_counts[(i.code, i.severity)] = issue_counts.get((i.code, i.severity), 0) + 1
        examples = all_issues.order_by(["row", "code"]).limit(MAX_ISSUE_EXAMPLES).execute()
        row_examples = [Issue(r.code, r.message, r.severity, self.file_name,
                              self.sheet_names[int(r.row) // ROW_BASE], int(r.row) % ROW_BASE,
                              _text_or_none(r.column_name), _text_or_none(r.value))
                        for r in examples.itertuples()]

        result = ImportResult(
            self.path, "dry-run" if opt.dry_run else "imported", self.dataset_id, self.sheet_label,
            rows_read, rows_read - n_quarantined, n_quarantined, n_obs, issue_counts,
            self.issues + row_examples, plan.as_mapping(), notes)
        if opt.dry_run:
            return result

        self.say("committing")
        if seed_areas and ensure_gazetteer(wh):  # only now: a failed import writes nothing
            notes.append("areas table was empty: loaded the embedded OCHA P-code list (admin 1-2)")
            result.notes = notes
        meta = self._dataset_meta(stats)
        warnings_n = sum(n for (c, s), n in issue_counts.items() if s == "warning")
        dataset_row = ibis.memtable(pd.DataFrame([{
            "dataset_id": self.dataset_id, "file_name": self.file_name, "file_hash": self.digest,
            "file_bytes": source_bytes(self.path), "sheet": self.sheet_label,
            "source_organisation": opt.source, "assessment_type": opt.kind or self._kind(plan),
            "operation": meta.get("operation"), "round": meta.get("round"),
            "reporting_date": meta.get("reporting_date"), "iso3": meta.get("iso3"),
            "rows_read": rows_read, "rows_accepted": rows_read - n_quarantined,
            "rows_quarantined": n_quarantined, "observations": n_obs, "warnings": warnings_n,
            "column_mapping": json.dumps(plan.as_mapping(), ensure_ascii=False),
            "imported_at": datetime.now(timezone.utc).replace(tzinfo=None),
            "idpkit_version": __version__,
        }]))
        ds_stage = self._lookup(dataset_row.execute(), dict(wh.table("datasets").schema().items()))
        col_issue_stage = self._lookup(pd.DataFrame([{
            "dataset_id": self.dataset_id, "file_name": self.file_name, "sheet": i.sheet,
            "row": None, "column_name": i.column, "value": i.value, "code": i.code,
            "severity": i.severity, "message": i.message} for i in self.issues],
            columns=list(wh.table("issues").schema().names)), dict(wh.table("issues").schema().items()))
        quarantine = self._raw.filter(self._raw._row.isin(errors.row))
        codes = row_issues.filter(row_issues.severity == "error").group_by("row").aggregate(
            codes=row_issues.code.group_concat(","))
        q = quarantine.left_join(codes, quarantine._row == codes.row)
        raw_cols = [(h, f"c{j}") for j, h in enumerate(layout.headers)]
        q = q.select(dataset_id=ibis.literal(self.dataset_id), source_sheet=self._sheet_of(q._row),
                     source_row=self._user_row(q._row), raw=sql_json_object(q, raw_cols),
                     codes=q.codes)
        iss = all_issues.select(dataset_id=ibis.literal(self.dataset_id),
                                file_name=ibis.literal(self.file_name),
                                sheet=self._sheet_of(all_issues.row),
                                row=self._user_row(all_issues.row),
                                column_name=all_issues.column_name, value=all_issues.value,
                                code=all_issues.code, severity=all_issues.severity,
                                message=all_issues.message)
        obs_cols = ", ".join(f'"{c}"' for c in self._obs_columns)
        obs = f'SELECT {obs_cols} FROM ({long_sql}) AS "l"'
        inserts = [("observations", obs), ("quarantine", q), ("issues", iss),
                   ("issues", col_issue_stage), ("datasets", ds_stage)]
        sites = self._sites(wide, plan)
        if sites is not None:
            inserts.insert(0, ("sites", sites))
        wh.atomic_insert(inserts)
        return result

    # ------------------------------------------------------------------ several sheets
    @property
    def sheet_label(self) -> str:
        """The sheet(s) imported, as stored in ``datasets.sheet``."""
        return "; ".join(self.sheet_names)

    def _sheet_of(self, row: ir.IntegerValue) -> ir.StringValue:
        return sheet_of_row(row, self.sheet_names)

    def _user_row(self, row: ir.IntegerValue) -> ir.IntegerValue:
        return user_row(row, self.sheet_names)

    def _gather_parts(self, layout: Layout, plan: ColumnPlan, sample: list[list[str | None]],
                      gaz: Gazetteer, asked: list[str]) -> tuple[Layout, ColumnPlan, list[str]]:
        """The other sheets of the same table (``idpkit.ingest.sheets``), or the sheets asked for."""
        if asked:
            cands = []
            for name in asked[1:]:
                lay = choose_layout(self.source, name)
                cands.append(lay)
        else:
            cands = [lay for lay in candidate_layouts(self.source)[0] if lay.sheet != layout.sheet]
        others = []
        col_issues: dict[str, list[Issue]] = {}
        for lay in cands:
            ov = self.opt.mapping.overrides(lay) if self.opt.mapping else {}
            smp = self._sample(lay)
            p, iss = resolve_columns(lay, smp, gaz, self.file_name, ov)
            if p.values():
                others.append((lay, p, self._data_rows(lay)))
                col_issues[lay.sheet] = iss
        parts, passed_over = select_parts(layout, plan, self._data_rows(layout), others,
                                          cell=cell_text)
        notes = list(passed_over.values())
        if asked and len(parts) < len(asked) - 1:
            names = {lay.sheet for lay, _ in parts}
            bad = [n for n in asked[1:] if n not in names]
            raise NoDataFoundError(f"sheet(s) {', '.join(map(repr, bad))} are not parts of the "
                                   f"table in sheet {layout.sheet!r}: "
                                   + "; ".join(notes or ["no recognisable counts"]),
                                   location=str(self.path))
        for lay, _ in parts:
            self.issues.extend(col_issues[lay.sheet])
        unified, uplan, self.parts = unify(layout, plan, parts)
        workbook = [s.name for s in self.source.sheets]
        return unified, uplan, order_and_describe(self.parts, workbook, passed_over, layout.notes)

    def _kind(self, plan: ColumnPlan) -> str:
        """The assessment type when not given. A Kobo repeat sheet is an origin breakdown of the
        main sheet, not a baseline of its own: as ``other`` it is a separate, least-trusted
        source in figures, so it never replaces (nor adds to) the main sheet's numbers."""
        if self.repeat_sheet:
            return "other"
        return self._guess_kind(plan)

    def _guess_kind(self, plan: ColumnPlan) -> str:
        roles = {c.role for c in plan.columns}
        if "site_id" in roles or "site_name" in roles or "site_type" in roles:
            return "site"
        stock = any(c.value and c.value.metric == "present_stock" for c in plan.values())
        if any(c.value and c.value.metric in ("arrivals", "departures") for c in plan.values()) or \
                any(r.startswith("origin_") for r in roles) and not stock or \
                plan.values() and not stock:  # only flows: new displacements, returns
            return "flow_monitoring"
        return "baseline_area"

    def _dataset_meta(self, stats: ir.Table) -> dict[str, object]:
        meta: dict[str, object] = {}
        for col in ("operation", "round", "reporting_date", "iso3"):
            vals = stats.select(col).distinct().limit(2).execute()[col].dropna().tolist()
            meta[col] = vals[0] if len(vals) == 1 else None
        return meta

    # ------------------------------------------------------------------ staging
    def _stage_raw(self, layout: Layout) -> ir.Table:
        name = self._stage()
        sheet = next(s for s in self.source.sheets if s.name == layout.sheet)
        if sheet.rows is not None:
            tables = []
            for k, part in enumerate(self.parts):
                sh = next(s for s in self.source.sheets if s.name == part.layout.sheet)
                t = grid_to_arrow(sh.rows, part.layout.data_start, part.layout.ncols)
                cols = {"_row": pc.add(t["_row"], k * ROW_BASE) if k else t["_row"]}
                for i in range(layout.ncols):
                    j = part.columns[i] if i < len(part.columns) else None
                    cols[f"c{i}"] = t[f"c{j}"] if j is not None else pa.nulls(t.num_rows, pa.string())
                tables.append(pa.table(cols))
            table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
            self.wh.backend.load_arrow(name, table)
            self.wh.backend.analyze(name)
        else:
            cols = [f"c{j}" for j in range(layout.ncols)]
            native = csv_select_sql(self.source.utf8_path, delimiter=self.source.delimiter or ",",
                                    skip_rows=layout.data_start, ncols=layout.ncols,
                                    row_numbers=False)
            try:
                if self.wh.backend.stage_csv(name, native, first_row=layout.data_start + 1,
                                             columns=cols):
                    return self.wh.table(name)
                self.wh.backend.load_arrow(name, csv_batches(
                    self.source.utf8_path, delimiter=self.source.delimiter or ",",
                    skip_rows=layout.data_start, ncols=layout.ncols))
            except IdpkitError:
                raise
            except Exception as exc:  # the CSV parser's own message names the line
                msg = str(exc).splitlines()[0][:300]
                raise IdpkitError(f"cannot parse CSV: {msg}", location=str(self.path)) from None
            t = self.wh.table(name)
            # blank rows are not data rows (the CSV reader gives NULL for empty cells)
            return self._materialize(t.filter(ibis.coalesce(
                *[t[c].strip().nullif("") for c in cols]).notnull()))
        return self.wh.table(name)

    # ------------------------------------------------------------------ wide
    def _col(self, t: ir.Table, plan: ColumnPlan, role: str) -> ir.StringValue | None:
        c = plan.first(role)
        return t[f"c{c.index}"] if c is not None else None

    def _wide(self, t: ir.Table, plan: ColumnPlan, gaz: Gazetteer, layout: Layout) -> ir.Table:
        opt = self.opt
        self._raw = t  # distinct values are read from the staged rows, before any join
        cols: dict[str, ir.Value] = {}
        # -- dates
        date_col = plan.first("reporting_date")
        fallback_date = opt.reporting_date
        if fallback_date is None:
            texts = [self.file_name] + [s.name for s in self.source.sheets]
            for s in self.source.sheets:
                texts += [str(c) for r in s.preview[:6] for c in r if c]
            fallback_date = find_date_in_text(texts)
            if date_col is None:
                if fallback_date is not None:
                    self.issues.append(Issue("invalid-date", f"no reporting-date column; using "
                                             f"{fallback_date.isoformat()} found in the file's titles",
                                             severity="warning", file=self.file_name,
                                             sheet=layout.sheet))
                else:
                    self.issues.append(Issue("invalid-date", "no reporting-date column and no date "
                                             "in the file's titles; give one with --date",
                                             severity="warning", file=self.file_name,
                                             sheet=layout.sheet))
        if date_col is not None:
            raw = t[f"c{date_col.index}"]
            distinct = [v for v in self._distinct(self._raw, [f"c{date_col.index}"]).iloc[:, 0].dropna()]
            mapping, ambiguous = parse_dates([str(v) for v in distinct])
            if ambiguous:
                self.issues.append(Issue("ambiguous-date-format", "dates read as day/month/year",
                                         file=self.file_name, sheet=layout.sheet,
                                         column=date_col.header))
            # the cleaned text rides along in the lookup: no per-row string work
            lk = self._lookup(pd.DataFrame({"k": distinct, "d": [mapping.get(str(v)) for v in distinct],
                                            "dr": [_clean_cell(v) for v in distinct]}),
                              {"k": "string", "d": "date", "dr": "string"})
            t = t.left_join(lk, raw == lk.k).drop("k")
            cols["reporting_date"] = ibis.coalesce(t.d, ibis.literal(fallback_date, "date")) \
                if opt.reporting_date else t.d
            cols["_date_raw"] = t.dr
        else:
            cols["reporting_date"] = ibis.literal(fallback_date, "date")
            cols["_date_raw"] = NULL_STR
        # -- round and operation
        round_col = plan.first("round")
        if round_col is not None:
            distinct = self._distinct(self._raw, [f"c{round_col.index}"]).iloc[:, 0].dropna().tolist()
            lk = self._lookup(pd.DataFrame({"rk": distinct,
                                            "rv": [normalise_round(str(v)) for v in distinct]}),
                              {"rk": "string", "rv": "string"})
            t = t.left_join(lk, t[f"c{round_col.index}"] == lk.rk).drop("rk")
            cols["round"] = t.rv if opt.round is None else ibis.literal(opt.round)
        else:
            texts = [self.file_name] + [s.name for s in self.source.sheets] + \
                    [str(c) for s in self.source.sheets for r in s.preview[:3] for c in r if c]
            file_round = opt.round or find_round_in_text(texts)
            cols["round"] = ibis.literal(file_round, "string")
            per_sheet = [find_round_in_text([n]) for n in self.sheet_names]
            if opt.round is None and len(self.sheet_names) > 1 and any(per_sheet):
                # one sheet per round ("Round 37", "Round 38"): each row takes its sheet's round,
                # never one round for all (figures would add the rounds together)
                k = (t._row // ROW_BASE).cast("int64")
                cols["round"] = ibis.cases(
                    *[(k == i, ibis.literal(r or file_round, "string"))
                      for i, r in enumerate(per_sheet)], else_=NULL_STR)
        op = plan.first("operation")
        if opt.operation:
            cols["operation"] = ibis.literal(opt.operation, "string")
        elif op is not None:
            t, cols["operation"] = self._cleaned(t, op.index, "_op")
        else:
            cols["operation"] = NULL_STR
        # -- causes
        cause_col = plan.first("cause_text")
        if cause_col is not None:
            distinct = self._distinct(self._raw, [f"c{cause_col.index}"]).iloc[:, 0].dropna().tolist()
            kobo = is_kobo_export({c.role for c in plan.columns})
            norm = [normalise_cause(str(v), choice_list=kobo) for v in distinct]
            lk = self._lookup(pd.DataFrame({
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
        t, area_cols = self._join_areas(t, plan, gaz, "")
        cols.update(area_cols)
        t, origin_cols = self._join_areas(t, plan, gaz, "origin_")
        cols.update(origin_cols)
        # -- sites
        sid, sname, stype = (self._col(t, plan, r) for r in ("site_id", "site_name", "site_type"))
        cols["site_id"] = clean_text(sid) if sid is not None else NULL_STR
        cols["site_name"] = clean_text(sname) if sname is not None else NULL_STR
        if stype is not None:
            distinct = self._distinct(self._raw, [f"c{plan.first('site_type').index}"]).iloc[:, 0].dropna().tolist()
            lk = self._lookup(pd.DataFrame({"sk": distinct,
                                            "sv": [normalise_site_type(str(v)) for v in distinct]}),
                              {"sk": "string", "sv": "string"})
            t = t.left_join(lk, stype == lk.sk).drop("sk")
            cols["site_type"] = t.sv
        else:
            cols["site_type"] = NULL_STR
        for role in ("latitude", "longitude"):
            c = self._col(t, plan, role)
            if c is not None:
                v, bad = parse_decimal(c)
                cols[role], cols[f"_{role}_bad"] = v, bad
            else:
                cols[role], cols[f"_{role}_bad"] = ibis.null("float64"), ibis.literal(False)
        # -- counts
        for c in plan.values():
            v, bad = parse_count(t[f"c{c.index}"], try_cast=self.wh.backend.has_try_cast)
            cols[f"v{c.index}"], cols[f"b{c.index}"] = v, bad
        # text that starts like a spreadsheet formula, in name columns (a flag: the raw cells stay
        # in the staged table and are joined back only for the rows that have findings)
        for c in self._formula_columns(plan):
            cols[f"_fx{c.index}"] = formula_like(t[f"c{c.index}"])
        if "_h" in self._raw.columns:  # hashed by the CSV staging (DuckDB)
            cols["_h"] = t._h
        elif self.wh.backend.has_try_cast:
            # DuckDB: a 64-bit hash of every cell, for the duplicate check, while the raw rows are
            # read anyway (a second pass over them costs much more once they spill to disk)
            cols["_h"] = ibis.struct({f"c{j}": t[f"c{j}"] for j in range(layout.ncols)}).hash()
        return t.select("_row", **cols)

    @staticmethod
    def _formula_columns(plan: ColumnPlan) -> list[ColumnAssignment]:
        return [c for c in plan.columns
                if c.role.endswith("_name") or c.role in ("site_name", "site_id", "operation")]

    def _cleaned(self, t: ir.Table, index: int, name: str) -> tuple[ir.Table, ir.StringValue]:
        """Column ``c{index}`` trimmed, placeholders missing: worked out once per distinct value
        and joined back (per-row trimming of a million cells costs more than the join); per row
        when the column is nearly unique."""
        distinct = self._raw.select(k=self._raw[f"c{index}"]).distinct().limit(CLEAN_LOOKUP_MAX + 1)
        keys = distinct.execute()["k"].dropna().tolist()
        if len(keys) > CLEAN_LOOKUP_MAX:
            return t, clean_text(t[f"c{index}"])
        lk = self._lookup(pd.DataFrame({f"{name}_k": keys, name: [_clean_cell(k) for k in keys]}),
                          {f"{name}_k": "string", name: "string"})
        t = t.left_join(lk, t[f"c{index}"] == lk[f"{name}_k"]).drop(f"{name}_k")
        return t, t[name]

    def _join_areas(self, t: ir.Table, plan: ColumnPlan, gaz: Gazetteer, prefix: str
                    ) -> tuple[ir.Table, dict[str, ir.Value]]:
        roles = [f"{prefix}adm{lv}_{k}" for lv in LEVELS for k in ("pcode", "name")]
        if not prefix:
            roles = ["country_code"] + roles
        present = [(r, plan.first(r)) for r in roles if plan.first(r) is not None]
        out: dict[str, ir.Value] = {}
        if not [r for r, _ in present if r != "country_code"]:
            if prefix:
                return t, {"origin_pcode": NULL_STR, "origin_name": NULL_STR, "_origin_id": ibis.null("int64")}
            iso = None
            cc = plan.first("country_code")
            if cc is not None:
                vals = self._distinct(self._raw, [f"c{cc.index}"]).iloc[:, 0].dropna().tolist()
                iso = vals[0].strip().upper() if len(vals) == 1 else None
            out.update({"iso3": ibis.literal(iso, "string"), "area_pcode": ibis.literal(iso, "string"),
                        "reported_level": ibis.literal(0 if iso else None, "int16"),
                        "_area_id": ibis.null("int64"), "_area_given": ibis.literal(True),
                        "_area_total": ibis.literal(False), "_area_placed": ibis.literal(True)})
            out.update({f"adm{lv}_pcode": NULL_STR for lv in LEVELS})
            return t, out
        keys = [f"c{c.index}" for _, c in present]
        r = self._raw
        combos = r.select(*[r[k].fill_null(NULL_KEY).name(k) for k in keys]).distinct().execute()
        resolver = AreaResolver(gaz, prefix)
        by_role = {r: combos[f"c{c.index}"].map(_clean_cell) for r, c in present}
        # the origin's name as reported (finest level given), cleaned once per combination
        name_role = next((r for lv in (4, 3, 2, 1) if (r := f"{prefix}adm{lv}_name") in by_role),
                         None) if prefix else None
        frame = pd.DataFrame(by_role)
        iso_hint = resolver.guess_country(frame)
        records, findings = [], []
        key_rows = list(zip(*[combos[k].tolist() for k in keys]))
        for i, row in enumerate(frame.itertuples(index=False)):
            res = resolver.resolve({k: (x if isinstance(x, str) and x else None)
                                    for k, x in zip(frame.columns, row)}, iso_hint)
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
        lk = self._lookup(pd.DataFrame(records, columns=list(schema)), schema)
        pred = [row_key([t[k] for k in keys]) == lk["_key"]]
        lk_cols = {c: f"{prefix}{c}" for c in lk.columns if c.startswith("_")}
        lk = lk.rename({v: k for k, v in lk_cols.items()})
        t = t.left_join(lk, pred).drop(f"{prefix}_key")
        fschema = {"aid": "int64", "code": "string", "column_name": "string", "value": "string",
                   "message": "string"}
        self._area_findings = getattr(self, "_area_findings", {})
        self._area_findings[prefix] = self._lookup(pd.DataFrame(findings, columns=list(fschema)), fschema)
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

    # ------------------------------------------------------------------ checks
    def _row_issues(self, w: ir.Table, plan: ColumnPlan) -> list[ir.Table]:
        """Every finding on the rows. The per-row checks run in one pass that keeps only the
        flagged rows (a narrow table of booleans); values and messages are then built from that
        small set. One filtered scan per check over a million wide rows cost seconds."""
        parts: list[ir.Table] = []
        conds = [c[0] for c in self._row_checks(w, plan)]
        if conds:
            flags = {f"_k{i}": c.fill_null(False) for i, c in enumerate(conds)}
            anyk = functools.reduce(lambda a, b: a | b, flags.values())
            flagged = self._materialize(w.select(w._row, **flags).filter(anyk))
            sub = w.inner_join(flagged, "_row")
            # only the raw cells messages quote (fewer columns read from the staged rows)
            quoted = sorted({c.index for c in plan.values()} | {
                c.index for c in self._formula_columns(plan)} | {
                c.index for role in ("cause_text", "latitude", "longitude")
                if (c := plan.first(role)) is not None})
            raw = self._raw.select("_row", *[f"c{j}" for j in quoted])
            sub = self._materialize(sub.inner_join(raw, "_row"))
            for i, (_, code, column, value, message) in enumerate(self._row_checks(sub, plan)):
                sel = sub.filter(sub[f"_k{i}"])
                value, message = value(), message()
                parts.append(sel.select(
                    row=sel._row, column_name=ibis.literal(column, "string"),
                    value=value.cast("string") if not isinstance(value, str) else ibis.literal(value),
                    code=ibis.literal(code), severity=ibis.literal(CATALOGUE[code].severity),
                    message=message if not isinstance(message, str) else ibis.literal(message)))
        # areas
        for prefix in ("", "origin_"):
            f = self._area_findings.get(prefix)
            if f is None:
                continue
            idcol = "_area_id" if not prefix else "_origin_id"
            j = w.inner_join(f, w[idcol] == f.aid)
            sev = ibis.cases(*[(j.code == code, t.severity) for code, t in CATALOGUE.items()
                               if code in ("unknown-pcode", "pcode-repaired", "pcode-parent-mismatch",
                                           "pcode-name-mismatch", "area-name-unmatched",
                                           "area-from-name", "unknown-area", "total-row")],
                             else_="warning")
            parts.append(j.filter(j.code != "area-from-name").select(
                row=j._row, column_name=j.column_name, value=j.value, code=j.code, severity=sev,
                message=j.message))
        totals = self._unlabelled_totals(w, plan)
        if totals is not None:
            parts.append(totals)
        # duplicates: identical in every cell to an earlier row. Candidates first, by a 64-bit hash
        # where the engine has one (a cheap aggregate), then the exact check on those rows only.
        raw_cols = [f"c{j}" for j in range(self.layout.ncols)]
        r = self._raw
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
        parts.append(d.select(row=d._row, column_name=ibis.literal(None, "string"),
                              value=NULL_STR, code=ibis.literal("duplicate-row"),
                              severity=ibis.literal("error"),
                              message=ibis.literal("exact duplicate of row ")
                              + self._user_row(d._first).cast("string")
                              + (ibis.literal(" of sheet '") + self._sheet_of(d._first)
                                 + ibis.literal("'") if len(self.sheet_names) > 1
                                 else ibis.literal(""))))
        # Kobo: the same submission (_uuid) twice, e.g. sent again from a device after a timeout
        uc = plan.first("kobo_uuid")
        if uc is not None:
            u = clean_text(self._raw[f"c{uc.index}"])
            wu = self._raw.select("_row", _u=u).filter(lambda t: t._u.notnull())
            uw = ibis.window(group_by=wu._u, order_by=wu._row)
            du = wu.mutate(_n=ibis.row_number().over(uw), _first=wu._row.min().over(uw))
            du = du.filter(du._n > 0)
            where = (ibis.literal(" of sheet '") + self._sheet_of(du._first) + ibis.literal("'")
                     if len(self.sheet_names) > 1 else ibis.literal(""))
            parts.append(du.select(row=du._row, column_name=ibis.literal(uc.header, "string"),
                                   value=du._u, code=ibis.literal("duplicate-submission"),
                                   severity=ibis.literal("error"),
                                   message=ibis.literal("duplicate submission: same _uuid as row ")
                                   + self._user_row(du._first).cast("string") + where))
        return parts

    def _without_notes(self, w: ir.Table, plan: ColumnPlan, parts: list[ir.Table]
                       ) -> list[ir.Table]:
        """Notes under a table ("Source: IOM DTM, Round 40", "Note: …"): rows below a sheet's
        last row with a count, with no count and no place that resolves. Each is quarantined with
        one finding, note-row, naming its text, instead of the date, P-code and area findings its
        words would raise (a "Round 40." cell read as a P-code of Romania)."""
        values = plan.values()
        if not values:
            return parts
        has = functools.reduce(lambda a, b: a | b,
                               [w[f"v{c.index}"].notnull() | w[f"b{c.index}"] for c in values])
        sheet = (w._row // ROW_BASE).name("_sheet")
        last = w.filter(has).group_by(sheet).aggregate(_last=w._row.max())
        cand = w.filter(~has & ~w._area_placed.fill_null(False)).mutate(_sheet=w._row // ROW_BASE)
        cand = cand.left_join(last, "_sheet")
        cand = cand.filter(cand._row > cand._last.fill_null(-1)).select("_row")
        notes = self._materialize(cand)
        if not int(notes.count().execute()):
            return parts
        r = self._raw
        n = r.filter(r._row.isin(notes._row))
        text = ibis.coalesce(*[clean_text(n[f"c{j}"]) for j in range(self.layout.ncols)])
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

        lo, hi = self.opt.household_size_range
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
        dc = plan.first("reporting_date")
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
                      ibis.literal(f"{units['households'].header} ") + _num_text(hh)
                      + ibis.literal(f" > {units['individuals'].header} ")
                      + _num_text(ind))
                cond = (hh > 0) & ind.notnull() & ~exceed & ((ratio < lo) | (ratio > hi))
                issue(cond, "implausible-household-size", units["individuals"].header,
                      ratio.round(2), ibis.literal(f"{units['individuals'].header} ÷ "
                                                   f"{units['households'].header} = ")
                      + ratio.round(2).cast("string")
                      + ibis.literal(f" individuals per household (expected {lo:g}–{hi:g})"))
        for (group, unit, metric), total, parts_by_dim in self._part_groups(values):
            for dim, cols in parts_by_dim.items():
                s = None
                for c in cols:
                    x = w[f"v{c.index}"].fill_null(0)
                    s = x if s is None else s + x
                tot = w[f"v{total.index}"]
                issue(tot.notnull() & (s > tot + 0.5), "parts-exceed-total", total.header,
                      tot, ibis.literal(f"{dim} parts of {total.header} add up to ")
                      + _num_text(s) + ibis.literal(", more than the total ") + _num_text(tot))
        # formula-like text in name columns
        for c in self._formula_columns(plan):
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
            none = ibis.literal(True)
            for c in values:
                none = none & w[f"v{c.index}"].isnull() & ~w[f"b{c.index}"]
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
        match, some = ibis.literal(True), ibis.literal(False)
        for c in values:
            v, s, n = rows[f"v{c.index}"], rows[f"_s{c.index}"], rows[f"_n{c.index}"]
            match = match & (v.isnull() | ((n >= 3) & ((s - 2 * v).abs() <= 0.5)))
            some = some | (v > 0).fill_null(False)
        hit = rows.filter(match & some)
        first = max(values, key=lambda c: (c.value.unit == "individuals", not c.value.is_part))
        return hit.select(
            row=hit._row, column_name=ibis.literal(first.header, "string"),
            value=_num_text(hit[f"v{first.index}"]), code=ibis.literal("total-row"),
            severity=ibis.literal(CATALOGUE["total-row"].severity),
            message=ibis.literal("no area, and every count equals the sum of the other rows: a "
                                 "total row, not data"))

    @staticmethod
    def _part_groups(values: list[ColumnAssignment]):
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

    # ------------------------------------------------------------------ long
    def _long(self, w: ir.Table, flags: ir.Table, plan: ColumnPlan) -> ir.Table:
        w = w.left_join(flags, w._row == flags.row).drop("row")
        values = plan.values()
        cause_parts: dict[tuple, list[ColumnAssignment]] = {}
        for key, total, dims in self._part_groups(values):
            if "cause" in dims:
                cause_parts[key] = dims["cause"]
        row_cause = w._cause.fill_null("unknown")
        common = dict(
            dataset_id=ibis.literal(self.dataset_id), source_sheet=ibis.literal(self.layout.sheet),
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
                s = None
                for p in cause_parts[key]:
                    x = w[f"v{p.index}"].fill_null(0)
                    s = x if s is None else s + x
                val = ibis.cases((val - s > 0.5, val - s), else_=ibis.null("float64"))
                cause, hazard, detail = row_cause, w._hazard, w._cause_detail
            pieces.append(self._piece(w, common, val, v, cause, hazard, detail))
        out = ibis.union(*pieces) if len(pieces) > 1 else pieces[0]
        return out

    @functools.cached_property
    def _obs_columns(self) -> list[str]:
        return list(self.wh.table("observations").schema().names)

    def _piece(self, w, common, val, v, cause, hazard, detail) -> ir.Table:
        """One count column's observations: the columns of ``observations`` (rows as the user sees
        them) and ``_irow``, the internal row number findings refer to."""
        t = w.mutate(_val=val, _c=cause, _h=hazard, _d=detail)
        t = t.filter(t._val.notnull())
        sel = {k: (e if k == "dataset_id" else t[k]) for k, e in common.items()
               if k not in ("source_sheet", "source_row")}
        return t.select(
            **sel, source_sheet=self._sheet_of(t._row), source_row=self._user_row(t._row),
            population_group=ibis.literal(v.population_group), metric=ibis.literal(v.metric),
            cause=t._c, hazard=t._h, cause_detail=t._d, unit=ibis.literal(v.unit),
            sex=ibis.literal(v.sex), age_group=ibis.literal(v.age_group), value=t._val,
            _irow=t._row,
        ).select(*self._obs_columns, "_irow")

    # ------------------------------------------------------------------ jumps
    def _jumps(self, stats: ir.Table) -> ir.Table:
        """A place's total jumping by more than the factor from its previous date (this file's
        totals, from ``stats``, after those already stored)."""
        f, m = self.opt.jump_factor, self.opt.jump_minimum
        keys = ["iso3", "area_pcode", "reported_level", "population_group", "unit", "metric"]

        def totals(t: ir.Table, new: bool, value: str, row: str) -> ir.Table:
            t = t.filter((t.sex == "all") & (t.age_group == "all") & t.reporting_date.notnull()
                         & t.area_pcode.notnull())
            g = t.group_by([*keys, "reporting_date"]).aggregate(v=t[value].sum(), row=t[row].min())
            return g.mutate(new=ibis.literal(new))

        obs = self.wh.table("observations")
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
            value=_num_text(j.v), code=ibis.literal("value-jump"),
            severity=ibis.literal("warning"),
            message=ibis.literal("") + j.population_group + ibis.literal(" ") + j.unit
            + ibis.literal(" in ") + j.area_pcode + ibis.literal(": ") + _num_text(j.prev)
            + ibis.literal(" on ") + j.prev_date.cast("string") + ibis.literal(" -> ")
            + _num_text(j.v) + ibis.literal(f" (more than ×{f:g})"))

    # ------------------------------------------------------------------ sites
    def _sites(self, w: ir.Table, plan: ColumnPlan) -> ir.Table | None:
        if plan.first("site_id") is None:
            return None
        t = w.filter(w.site_id.notnull())
        g = t.group_by("site_id").aggregate(
            site_name=t.site_name.max(), site_type=t.site_type.max(), area_pcode=t.area_pcode.max(),
            latitude=t.latitude.max(), longitude=t.longitude.max())
        existing = self.wh.table("sites")
        g = g.filter(~g.site_id.isin(existing.site_id))
        return g.mutate(dataset_id=ibis.literal(self.dataset_id))
