"""One import, end to end, as a sequence of named stages — one module each:

1. *read* (:mod:`~idpkit.ingest.readers`): open the file safely, sheets as grids of text;
2. *detect* (:mod:`~idpkit.ingest.plan`): the data sheet(s), header rows, each column's role;
3. *stage* (:mod:`~idpkit.ingest.stage`): every data row, as text, in a staging table;
4. *clean* (:mod:`~idpkit.ingest.clean`): rows typed, areas/dates/causes resolved;
5. *check* (:mod:`~idpkit.ingest.check`): every finding; errors quarantine their row;
6. *reshape* (:mod:`~idpkit.ingest.reshape`): accepted rows as long-format observations;
7. *commit* (:mod:`~idpkit.ingest.commit`): everything stored in one transaction.

The heavy work runs in the warehouse engine over the staged rows; Python only looks at headers, a
sample of rows, and distinct values. ``idpkit inspect`` runs the same stages as a dry run and shows
what each decided.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from idpkit.errors import ImplausibleImportError
from idpkit.ingest.check import jump_findings, row_findings
from idpkit.ingest.cell_limits import refuse_overlong_cells
from idpkit.ingest.clean import clean_rows
from idpkit.ingest.commit import Outcome, commit
from idpkit.ingest.context import Decision, ImportContext, IngestOptions, Progress, safe_name
from idpkit.ingest.plan import ImportPlan, plan_import
from idpkit.ingest.plausibility import assess
from idpkit.ingest.readers import open_source, source_sha256
from idpkit.ingest.reshape import long_rows
from idpkit.ingest.sheets import ROW_BASE
from idpkit.ingest.stage import stage_rows
from idpkit.validate.issues import Issue

__all__ = ["ImportResult", "IngestOptions", "ingest_file"]

MAX_ISSUE_EXAMPLES = 2000
# what the checks after the long format need of it (see run_import)
STAT_KEYS = ["iso3", "area_pcode", "reported_level", "population_group", "unit", "metric",
             "reporting_date", "sex", "age_group", "operation", "round"]


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
    # what ``idpkit inspect`` shows: every stage's decisions, the detect stage's plan, and the
    # totals the import stores (national: the coarsest level each country and date reports)
    decisions: list[Decision] = field(default_factory=list)
    plan: ImportPlan | None = None
    totals: pd.DataFrame | None = None

    @property
    def errors(self) -> int:
        return sum(n for (c, s), n in self.issue_counts.items() if s == "error")

    @property
    def warnings(self) -> int:
        return sum(n for (c, s), n in self.issue_counts.items() if s == "warning")


def national_totals(stats) -> pd.DataFrame:
    """Totals per country, date, group, unit and metric that the import stores, counting each
    (country, date) at the coarsest admin level it reports (the DTM API repeats the same people
    at admin 0, 1 and 2); sex and age breakdowns left out."""
    t = stats.filter((stats.sex == "all") & (stats.age_group == "all"))
    g = t.group_by(["iso3", "reporting_date", "reported_level", "population_group", "unit",
                    "metric"]).aggregate(value=t.v.sum()).execute()
    if g.empty:
        return g.drop(columns=["reported_level"])
    lv = pd.to_numeric(g.reported_level, errors="coerce").fillna(-1)
    coarsest = lv.groupby([g.iso3.fillna(""), g.reporting_date.astype(str)]).transform("min")
    g = g[lv == coarsest]
    keys = ["iso3", "reporting_date", "population_group", "unit", "metric"]
    return g.groupby(keys, dropna=False, as_index=False).value.sum().sort_values(keys)


def _text_or_none(v: object) -> str | None:
    return None if v is None or (isinstance(v, float) and v != v) else str(v)


def ingest_file(wh, path: Path, options: IngestOptions | None = None,
                progress: Progress | None = None) -> ImportResult:
    options = options or IngestOptions()
    if options.mapping is not None:  # its date, country, round… where no option gave one
        options = options.mapping.fill_options(options)
    say = progress or (lambda _msg: None)
    path = Path(path)
    say("reading file")
    source = open_source(path)  # raises a clear IdpkitError for empty/binary/hostile files
    try:
        digest = source_sha256(path)
        prior = _prior_datasets(wh, path, digest, options)
        if prior and not options.dry_run and not options.replace:
            return ImportResult(path, "already-imported", dataset_id=prior[0],
                                notes=[f"same content already imported as dataset {prior[0]}; "
                                       "nothing changed (to import it again, e.g. with another "
                                       "mapping, add --replace)"])
        ctx = ImportContext(wh, path, source, digest, options, say)
        if options.replace:
            ctx.replaces = prior or _prior_datasets(wh, path, None, options)
        try:
            return run_import(ctx)
        finally:
            ctx.drop_stages()
    finally:
        source.cleanup()


def _prior_datasets(wh, path: Path, digest: str | None, options: IngestOptions) -> list[str]:
    """Datasets imported before from this file: the same content (``digest``), or with
    ``digest`` None the same file name — and the same sheet(s) when a sheet is asked for
    (another sheet of a workbook is another dataset)."""
    ds = wh.table("datasets")
    same = ds.file_hash == digest if digest is not None else \
        ds.file_name == safe_name(path)
    if options.sheet is not None:
        asked = [options.sheet] if isinstance(options.sheet, str) else list(options.sheet)
        same = same & (ds.sheet.fill_null("") == "; ".join(asked))
    found = ds.filter(same).order_by(ds.imported_at.desc()).select("dataset_id").execute()
    return [str(x) for x in found.dataset_id]


def run_import(ctx: ImportContext, plan: ImportPlan | None = None) -> ImportResult:
    """Every stage after *read*; commits unless the options ask for a dry run."""
    opt, wh, say = ctx.options, ctx.wh, ctx.say
    plan = plan or plan_import(ctx)
    notes = list(plan.notes)
    say("staging rows")
    raw = stage_rows(ctx, plan)
    refuse_overlong_cells(ctx, plan, raw)  # before any stage reads a 10 MB "P-code"
    say("checking areas, dates and causes")
    cleaned = clean_rows(ctx, plan, raw)
    cleaned.wide = wide = ctx.materialize(cleaned.wide)
    say("validating rows")
    row_issues = row_findings(ctx, plan, raw, cleaned)
    errors = row_issues.filter(row_issues.severity == "error").select("row").distinct()
    accepted = wide.filter(~wide._row.isin(errors.row))
    flags = row_issues.filter(row_issues.severity == "warning").group_by("row").aggregate(
        flags=row_issues.code.group_concat(","))
    say("building observations")
    # The long rows are not stored in a staging table (24M rows of 26 columns at 10M rows read):
    # they go straight into the warehouse at commit. What is needed before that — counts, the
    # dataset's round and date, totals for the jump check — comes from one small aggregate,
    # compiled to SQL once (a union of one select per count column) and used twice.
    long_sql = wh.backend.sql(long_rows(ctx, plan, accepted, flags))
    keys = ", ".join(f'"{k}"' for k in STAT_KEYS)
    stats = ctx.materialize_sql(
        f'SELECT {keys}, count(*) AS "n", sum("value") AS "v", min("_irow") AS "row" '
        f'FROM ({long_sql}) AS "l" GROUP BY {keys}')
    jumps = ctx.materialize(jump_findings(ctx, stats))
    all_issues = row_issues.union(jumps)

    rows_read = int(raw.count().execute())
    n_quarantined = int(errors.count().execute())
    n_obs = int(stats.n.sum().fill_null(0).execute())
    counts = all_issues.group_by(["code", "severity"]).aggregate(n=all_issues.count()).execute()
    issue_counts = {(r.code, r.severity): int(r.n) for r in counts.itertuples()}
    for i in ctx.issues:
        issue_counts[(i.code, i.severity)] = issue_counts.get((i.code, i.severity), 0) + 1
    problems = [] if opt.accept_as_is else assess(ctx, plan, cleaned, all_issues, rows_read,
                                                     n_quarantined)
    if problems and not opt.dry_run:
        raise ImplausibleImportError(
            "not imported, the result looks wrong: " + "; and ".join(p.message for p in problems)
            + ". To store it as it is, add --accept-as-is.", location=str(ctx.path))
    for p in problems:  # a dry run (validate, inspect) reports them as errors of the file
        ctx.issues.append(Issue("implausible-import", p.message, "error", ctx.file_name,
                                plan.layout.sheet))
        issue_counts[("implausible-import", "error")] = \
            issue_counts.get(("implausible-import", "error"), 0) + 1
    examples = all_issues.order_by(["row", "code"]).limit(MAX_ISSUE_EXAMPLES).execute()
    row_examples = [Issue(r.code, r.message, r.severity, ctx.file_name,
                          ctx.sheet_names[int(r.row) // ROW_BASE], int(r.row) % ROW_BASE,
                          _text_or_none(r.column_name), _text_or_none(r.value))
                    for r in examples.itertuples()]
    result = ImportResult(
        ctx.path, "dry-run" if opt.dry_run else "imported", ctx.dataset_id, plan.sheet_label,
        rows_read, rows_read - n_quarantined, n_quarantined, n_obs, issue_counts,
        ctx.issues + row_examples, plan.columns.as_mapping(), notes, ctx.decisions, plan,
        national_totals(stats))
    if opt.dry_run:
        return result
    say("committing")
    warnings_n = sum(n for (c, s), n in issue_counts.items() if s == "warning")
    outcome = Outcome(raw, wide, all_issues, errors, stats, long_sql, rows_read, n_quarantined,
                      n_obs, warnings_n)
    commit(ctx, plan, outcome, notes)
    if ctx.replaces:
        notes.append("replaced dataset(s) " + ", ".join(ctx.replaces)
                     + " imported before from this file (recorded in dataset_audit)")
    result.notes = notes
    return result
