"""``idpkit`` — Typer app. Commands only parse options, call the parts, and print with Rich.

Every :class:`~idpkit.errors.IdpkitError` becomes ``Error: …`` and exit code 1 (``--debug`` shows
the traceback). ``validate`` exits 1 when the data has errors, like ``frictionless validate``. Any
other exception is a bug: it becomes one line naming a crash report (:mod:`idpkit.crashreport`)
and exit code 2, never a traceback — in ``ingest``/``validate`` for each file on its own (the next
file is still read), in :func:`main` for every command.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from idpkit.cli.console import (STATE, console, dry_run_warehouse, err, open_warehouse,
                                parse_country, parse_date, print_unexpected, progress,
                                self_command)
from idpkit.cli import area_view
from idpkit.cli.area_view import areas_app
from idpkit.cli.datasets import datasets_app
from idpkit.cli.figures import figures_app
from idpkit.cli.forecast import forecast_app
from idpkit.cli.help_text import quiet_type_labels
from idpkit.cli.inspect import inspect
from idpkit.cli.options import Kind, OutOpt, TableOrJson
from idpkit.cli.register import dedup_app, register_app
from idpkit.cli.serve import serve, tokens_app
from idpkit.cli.solutions import solutions_app
from idpkit.errors import IdpkitError

quiet_type_labels()
app = typer.Typer(help="idpkit — internal-displacement data, end to end.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
app.add_typer(areas_app, name="areas")

DbOption = Annotated[str | None, typer.Option("--db", help="Warehouse: DuckDB file or postgresql:// URL "
                                              "(default $IDPKIT_DB or ./idpkit.duckdb)")]


class Fmt(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


def _print_version(value: bool) -> None:
    if value:
        from idpkit import __version__

        console.print(f"idpkit {__version__}")
        raise typer.Exit()


@app.callback()
def _main(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
          create: Annotated[bool, typer.Option(
              "--create", help="Let any command create a new, empty warehouse where --db names "
              "none (imports create one anyway).")] = False,
          verbose: Annotated[bool, typer.Option(
              "--verbose", help="Show library logs (Splink's training …) on stderr too; they "
              "always go to the log file ($IDPKIT_LOG or ~/.cache/idpkit/idpkit.log).")] = False,
          version: Annotated[bool, typer.Option("--version", help="Print the version and exit.",
                                                is_eager=True, callback=_print_version)] = False
          ) -> None:
    from idpkit.logs import setup

    STATE["debug"] = debug
    STATE["create"] = create
    setup(verbose=verbose)


@dataclass
class Failures:
    """Files that failed in one command: ``errors`` (an IdpkitError: bad input, exit 1) and
    ``crashes`` (a bug, reported with a crash report: exit 2, which wins)."""

    errors: int = 0
    crashes: int = 0

    def __bool__(self) -> bool:
        return bool(self.errors or self.crashes)

    @property
    def exit_code(self) -> int:
        return 2 if self.crashes else 1 if self.errors else 0


def _ingest(files: list[Path], db: str | None, *, dry_run: bool, kind: str | None,
            mapping: Path | None, source: str | None, sheet: list[str] | None,
            on_date: str | None,
            report: Path | None, quiet: bool = False, household_size: str | None = None,
            jump_factor: float | None = None, country: str | None = None,
            accept_as_is: bool = False, replace: bool = False):
    from idpkit.ingest.mapping import Mapping
    from idpkit.ingest.pipeline import IngestOptions, ingest_file

    asked = None if not sheet else sheet[0] if len(sheet) == 1 else list(sheet)
    opts = IngestOptions(kind=kind, source=source, sheet=asked, dry_run=dry_run,
                         mapping=Mapping.load(mapping) if mapping else None,
                         reporting_date=parse_date(on_date), country=parse_country(country),
                         accept_as_is=accept_as_is, replace=replace)
    if household_size:
        opts.household_size_range = _range(household_size)
    if jump_factor is not None:
        if jump_factor <= 1:
            raise typer.BadParameter("must be above 1", param_hint="--jump-factor")
        opts.jump_factor = jump_factor
    results = []
    failures = Failures()
    command = "validate" if dry_run else "ingest"
    with (dry_run_warehouse(db) if dry_run else open_warehouse(db)) as wh, progress() as prog:
        for f in files:
            task = prog.add_task(f"{escape(f.name)}: starting", total=None)
            try:
                r = ingest_file(wh, f, opts, progress=lambda m, t=task, n=f.name:
                                prog.update(t, description=f"{escape(n)}: {m}"))
            except IdpkitError as exc:
                prog.remove_task(task)
                err.print(f"[red]Error:[/red] {escape(str(exc))}")
                failures.errors += 1
                continue
            except Exception as exc:  # a bug: reported, and the next file is still read
                prog.update(task, description=f"{escape(f.name)}: writing a crash report")
                try:
                    print_unexpected(exc, command=command, file=f)
                finally:
                    prog.remove_task(task)
                failures.crashes += 1
                continue
            prog.remove_task(task)
            results.append(r)
            if not quiet:
                _print_result(r)
    if report is not None and results:
        from idpkit.validate.report import write_html, write_json

        report.parent.mkdir(parents=True, exist_ok=True)
        if report.suffix.lower() == ".json":
            write_json(results, report)
        else:
            write_html(results, report)
        console.print(f"Validation report: {escape(str(report))}")
    return results, failures


def _range(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(x) for x in text.split("-", 1))
    except ValueError:
        raise typer.BadParameter(f"{text!r}: expected MIN-MAX, e.g. 1-20",
                                 param_hint="--household-size") from None
    if not 0 < lo < hi:
        raise typer.BadParameter("expected 0 < MIN < MAX", param_hint="--household-size")
    return lo, hi


HouseholdSize = Annotated[str | None, typer.Option(
    "--household-size", help="Plausible individuals per household, MIN-MAX (default 1-20).")]
Country = Annotated[str | None, typer.Option(
    "--country", help="ISO3 country of a file that names no country or P-code (e.g. NGA).")]
JumpFactor = Annotated[float | None, typer.Option(
    "--jump-factor", help="Flag a location whose value changes more than this factor since its "
                          "previous round (default 10).")]


def _print_result(r) -> None:
    if r.status == "already-imported":
        console.print(f"[yellow]{escape(r.file.name)}[/yellow]: {escape(r.notes[0])}")
        return
    verb = "checked (dry run)" if r.status == "dry-run" else f"imported as {r.dataset_id}"
    console.print(f"[bold]{escape(r.file.name)}[/bold] {verb} — sheet {escape(repr(r.sheet))}: "
                  f"{r.rows_read} rows read, "
                  f"[green]{r.rows_accepted} accepted[/green], "
                  f"[red]{r.rows_quarantined} quarantined[/red], {r.observations} observations")
    for n in r.notes:
        console.print(f"  [dim]{escape(n)}[/dim]")
    if r.issue_counts:
        t = Table(title=None, show_edge=False, pad_edge=False)
        t.add_column("rule")
        t.add_column("severity")
        t.add_column("count", justify="right")
        t.add_column("first example")
        for (code, sev), n in sorted(r.issue_counts.items(), key=lambda x: ({"error": 0, "warning": 1}.get(x[0][1], 2), x[0][0])):
            ex = next((i for i in r.issues if i.code == code), None)
            where = ""
            if ex is not None:
                where = ", ".join(p for p in [f"row {ex.row}" if ex.row else "",
                                              f"column {ex.column!r}" if ex.column else ""] if p)
                where = f"{where}: {ex.message}" if where else ex.message
            style = {"error": "red", "warning": "yellow"}.get(sev, "dim")
            t.add_row(code, f"[{style}]{sev}[/{style}]", str(n), escape(where[:110]))
        console.print(t)


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="Files to import (CSV, XLSX, DTM API JSON/CSV, a ZIP or folder of ODK CSV files).")],
    kind: Annotated[Kind | None, typer.Option(help="Assessment type: baseline_area, site, "
                                              "flow_monitoring, registration, survey or other "
                                              "(default: recognised from the file).")] = None,
    mapping: Annotated[Path | None, typer.Option(help="YAML mapping overriding column guesses.")] = None,
    source: Annotated[str | None, typer.Option(help="Source organisation, e.g. 'IOM DTM'.")] = None,
    sheet: Annotated[list[str] | None, typer.Option(help="Sheet to import; repeat for several sheets of one table (default: the data sheet and the sheets that continue it, found automatically).")] = None,
    on_date: Annotated[str | None, typer.Option("--date", help="Reporting date (YYYY-MM-DD) when the file has none.")] = None,
    report: Annotated[Path | None, typer.Option(help="Write the validation report (.html or .json).")] = None,
    household_size: HouseholdSize = None,
    jump_factor: JumpFactor = None,
    country: Country = None,
    accept_as_is: Annotated[bool, typer.Option(
        "--accept-as-is", help="Store an import that the plausibility checks stop (most rows "
                               "quarantined by one rule, areas not found, no date or country, "
                               "counts from weak evidence) as it is.")] = False,
    replace: Annotated[bool, typer.Option(
        "--replace", help="Replace the dataset(s) imported before from this file (same content, "
                          "else same file name), e.g. to re-import it with a corrected "
                          "--mapping; atomic and recorded in the audit table.")] = False,
    db: DbOption = None,
) -> None:
    """Import assessment files into the warehouse: validated, atomic, never double counted."""
    _, failures = _ingest(files, db, dry_run=False, kind=kind.value if kind else None,
                          mapping=mapping, source=source,
                          sheet=sheet, on_date=on_date, report=report,
                          household_size=household_size, jump_factor=jump_factor,
                          country=country, accept_as_is=accept_as_is, replace=replace)
    if failures:
        raise typer.Exit(failures.exit_code)


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Files to check.")],
    mapping: Annotated[Path | None, typer.Option(help="YAML mapping overriding column guesses.")] = None,
    sheet: Annotated[list[str] | None, typer.Option(help="Sheet to check; repeat for several.")] = None,
    fmt: Annotated[TableOrJson, typer.Option("--format", help="table, or json on standard "
                                             "output.")] = TableOrJson.table,
    report: Annotated[Path | None, typer.Option(help="Also write the report (.html or .json).")] = None,
    household_size: HouseholdSize = None,
    jump_factor: JumpFactor = None,
    on_date: Annotated[str | None, typer.Option("--date", help="Reporting date (YYYY-MM-DD) when the file has none.")] = None,
    country: Country = None,
    db: DbOption = None,
) -> None:
    """Dry run: check files as `ingest` would, change nothing. Exit 1 if any row has an error."""
    results, failures = _ingest(files, db, dry_run=True, kind=None, mapping=mapping, source=None,
                                sheet=sheet, on_date=on_date, report=report,
                                quiet=fmt == TableOrJson.json,
                                household_size=household_size, jump_factor=jump_factor,
                                country=country)
    if fmt == TableOrJson.json:
        from idpkit.validate.report import report_dict

        print(json.dumps(report_dict(results), indent=2, ensure_ascii=False, default=str))
    if failures or any(r.errors for r in results):
        raise typer.Exit(failures.exit_code or 1)


@app.command()
def summary(
    dataset: Annotated[str | None, typer.Option(help="Only this dataset id.")] = None,
    fmt: Annotated[Fmt, typer.Option("--format", help="table, csv or json.")] = Fmt.table,
    output: OutOpt = None,
    db: DbOption = None,
) -> None:
    """Accepted totals per dataset, admin 1, population group and unit (-o writes CSV, or JSON
    with --format json)."""
    from idpkit.warehouse.summary import SUMMARY_COLUMNS, summary_expr

    with open_warehouse(db) as wh:
        df = summary_expr(wh, dataset).execute()
    df = df[SUMMARY_COLUMNS]
    text = None
    if fmt == Fmt.json:
        text = df.to_json(orient="records", force_ascii=False) + "\n"
    elif fmt == Fmt.csv or output is not None:
        out = df.copy()
        out["value"] = out["value"].map(lambda v: f"{v:.0f}" if float(v).is_integer() else f"{v}")
        from idpkit.model.formula_cells import neutralise_frame  # no live formulas
        text = neutralise_frame(out).to_csv(index=False)
    if text is not None:
        if output is not None:
            output.write_text(text, encoding="utf-8")
            err.print(f"Wrote {escape(str(output))} ({len(df)} rows)")
        else:
            sys.stdout.write(text)
        return
    t = Table(*SUMMARY_COLUMNS)
    for row in df.itertuples(index=False):
        t.add_row(*["" if v is None or v != v else (f"{v:,.0f}" if isinstance(v, float)
                                                    else escape(str(v))) for v in row])
    console.print(t)


@areas_app.command("load")
def areas_load(
    files: Annotated[list[Path], typer.Argument(help="OCHA P-code CSV or COD-AB GeoJSON files.")],
    level: Annotated[int | None, typer.Option(help="Admin level of a GeoJSON file (default: finest found).")] = None,
    db: DbOption = None,
) -> None:
    """Load P-code gazetteers and boundaries into the areas table."""
    from idpkit.warehouse.areas import load_areas, read_boundaries_geojson, read_gazetteer_csv

    with open_warehouse(db) as wh:
        for f in files:
            df = read_boundaries_geojson(f, level) if f.suffix.lower() in (".geojson", ".json") \
                else read_gazetteer_csv(f)
            n = load_areas(wh, df)
            console.print(f"{escape(f.name)}: {n} areas loaded")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the generated operation.")] = Path("demo"),
    scale: Annotated[int, typer.Option(help="Large version for benchmarks: adds a DTM-API-shaped "
                                       "extract of SCALE million rows (about 2.4 observations "
                                       "each) to the operation.")] = 0,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    db: DbOption = None,
) -> None:
    """Generate a fictional operation, ingest it, and print a summary and the report's path."""
    from idpkit.testing.demo import generate_operation
    from idpkit.warehouse.areas import load_areas, read_boundaries_geojson, read_gazetteer_csv

    out.mkdir(parents=True, exist_ok=True)
    db = db or os.environ.get("IDPKIT_DB") or str(out / "idpkit.duckdb")
    for suffix in ("", ".wal"):
        Path(db + suffix).unlink(missing_ok=True) if "://" not in db else None
    with err.status("generating the demo operation"):
        op = generate_operation(out / "files", seed=seed)
    files = op.all_assessment_files()
    large_gazetteer = None
    if scale > 0:
        from idpkit.testing.demo import write_large_gazetteer_csv, write_large_observations_csv

        with err.status(f"writing a {scale}M-row DTM API extract"):
            big = write_large_observations_csv(out / "files" / "assessments" /
                                               f"dtm_api_extract_{scale}M.csv", scale * 1_000_000,
                                               seed=seed)
            large_gazetteer = write_large_gazetteer_csv(out / "files" / "gazetteer" /
                                                        "large_pcodes.csv")
        files.append(big)
    with open_warehouse(db) as wh:
        if large_gazetteer is not None:  # same fictional country, more units; demo names win
            load_areas(wh, read_gazetteer_csv(large_gazetteer))
        load_areas(wh, read_gazetteer_csv(op.gazetteer_csv))
        for level, path in sorted(op.boundaries.items()):
            load_areas(wh, read_boundaries_geojson(path, level))
    report = out / "validation-report.html"
    results, failures = _ingest(files, db, dry_run=False, kind=None,
                                mapping=None, source="Demo DTM", sheet=None, on_date=None,
                                report=report, quiet=True)
    total = sum(r.rows_read for r in results)
    q = sum(r.rows_quarantined for r in results)
    console.print(f"Imported {len(results)} files: {total} rows read, {total - q} accepted, "
                  f"{q} quarantined.")
    summary(dataset=None, fmt=Fmt.table, db=db) if len(results) <= 3 else _short_summary(db)
    _demo_survey(out, op.gazetteer_csv, db, seed)
    _demo_register(out, op.gazetteer_csv, db, seed)
    __import__("idpkit.cli.forecast", fromlist=["x"]).demo_forecast(out, op, db, seed)
    area_view.demo_areas(out, op, db, seed)  # issue 7: needs, sites, 4W, consultations
    from idpkit.publish.package import publish as do_publish

    with open_warehouse(db) as wh, err.status("writing the public release"):
        rel = do_publish(wh, out / "release")
    console.print(f"Warehouse: {db}\nValidation report: {report}\nGround truth: {op.truth_dir}\n"
                  f"Public release ({len(rel.resources)} tables, datapackage.json): "
                  f"{out / 'release'}\nDashboard: {self_command()} serve --db {db}  then open "
                  f"http://127.0.0.1:8000/ (API docs: http://127.0.0.1:8000/docs)",
                  soft_wrap=True)
    if failures:
        raise typer.Exit(failures.exit_code)


def _demo_survey(out: Path, gazetteer_csv: Path, db: str, seed: int) -> None:
    """Generate the demo's durable-solutions survey, import it and show the progress measure."""
    from idpkit.solutions.progress import progress_measure
    from idpkit.solutions.results import analyse
    from idpkit.solutions.store import SurveySpec, import_survey, load_survey
    from idpkit.testing.demo_survey import generate_survey
    from idpkit.warehouse.areas import read_gazetteer_csv

    areas = read_gazetteer_csv(gazetteer_csv)
    adm2 = sorted(areas[areas.admin_level == 2].pcode)[:8]
    with err.status("generating and analysing the demo survey"):
        survey = generate_survey(out / "files" / "survey", adm2, seed=seed)
        with open_warehouse(db) as wh:
            res = import_survey(wh, survey.households_csv, SurveySpec.from_yaml(survey.spec_yaml),
                                replace=True)
            stored = load_survey(wh, res.survey_id)
            analyse(wh, stored)  # results tables for the API and dashboard
            pm = progress_measure(wh, stored)
    console.print(f"Imported survey {res.survey_id}: {res.households:,} households "
                  f"(stratified two-stage design). Progress measure (IRIS), IDPs vs "
                  f"non-displaced residents:")
    for line in pm.areas.summary:
        console.print(f"  • {escape(line)}")


def _demo_register(out: Path, gazetteer_csv: Path, db: str, seed: int) -> None:
    """Generate a registration list with known duplicates, import it (personal data into the
    protected store beside the warehouse) and deduplicate it."""
    from idpkit.linkage.dedup import pairwise_metrics
    from idpkit.linkage.register import import_register, open_protected, protected_target
    from idpkit.linkage.runs import run
    from idpkit.testing.demo_register import generate_register, write_register_csv
    from idpkit.warehouse.areas import read_gazetteer_csv

    os.environ.setdefault("IDPKIT_PSEUDONYM_KEY_FILE", str(out / "keys" / "pseudonym.key"))
    areas = read_gazetteer_csv(gazetteer_csv)
    adm2 = sorted(areas[areas.admin_level == 2].pcode)[:10]
    with err.status("generating, importing and deduplicating the demo register"):
        reg = generate_register(5_000, seed=seed, areas=adm2)
        path = write_register_csv(reg, out / "files" / "register" / "registrations.csv")
        target = protected_target(db)
        for suffix in ("", ".wal"):
            Path(target + suffix).unlink(missing_ok=True) if "://" not in target else None
        with open_warehouse(db) as wh:
            wh.con.raw_sql('DROP TABLE IF EXISTS "register_units"')
            import_register(wh, path, phone_region="SD", warehouse_target=db)
            prot = open_protected(db)
            try:
                s = run(wh, prot)
                clusters = prot.table("reg_clusters").execute()
            finally:
                prot.close()
    m = clusters.merge(reg.truth, on="record_id")
    f1 = pairwise_metrics(m.cluster_id, m.person_id)
    console.print(f"Register: {s.records:,} records → {s.person_clusters:,} people, "
                  f"{s.household_clusters:,} households (pairwise F1 against the generator's "
                  f"truth: {f1['f1']:.3f}); {s.review_queue} pairs to review. Personal data: "
                  f"{target}")


def _short_summary(db: str) -> None:
    """Latest baseline totals per admin 1 (the whole per-dataset table is long for a demo)."""
    from idpkit.warehouse.summary import summary_expr

    with open_warehouse(db) as wh:
        df = summary_expr(wh).execute()
        ds = wh.table("datasets").select("dataset_id", "file_name", "reporting_date").execute()
    df = df.merge(ds, left_on="dataset", right_on="dataset_id")
    base = df[df.file_name.str.startswith("baseline")]
    if base.empty:
        base = df
    last = base[base.reporting_date == base.reporting_date.max()]
    name = escape(str(last.file_name.iloc[0])) if len(last) else ""
    t = Table("adm1_pcode", "adm1_name", "population_group", "unit", "value",
              title=f"Accepted totals of the latest baseline round ({name})")
    for r in last.itertuples():
        t.add_row(r.adm1_pcode or "", escape(r.adm1_name or ""), r.population_group, r.unit,
                  f"{r.value:,.0f}")
    console.print(t)


app.add_typer(figures_app, name="figures")


app.add_typer(datasets_app, name="datasets")


app.add_typer(solutions_app, name="solutions")


app.add_typer(register_app, name="register")
app.add_typer(dedup_app, name="dedup")



@app.command()
def publish(
    out: Annotated[Path, typer.Option("--out", help="Folder for the release.")] = Path("release"),
    on: Annotated[str | None, typer.Option("--date", help="Reference date YYYY-MM-DD (default: "
                                           "the newest in the warehouse).")] = None,
    suppress_below: Annotated[int, typer.Option("--suppress-below", min=1, help="Cells below "
                                                "this are suppressed.")] = 5,
    pdf: Annotated[bool | None, typer.Option("--pdf/--no-pdf", help="Situation report as PDF "
                                             "too: --pdf requires Chromium, --no-pdf skips it "
                                             "(default: when Chromium is installed).")] = None,
    db: DbOption = None,
) -> None:
    """Write a public, HDX-ready release: HXL-tagged CSVs, GeoJSON, XLSX, a Frictionless
    datapackage.json and the situation report in HTML and PDF (rounded, suppressed; no
    personal data)."""
    from idpkit.publish.package import publish as do_publish

    ref = None
    if on:
        try:
            ref = date.fromisoformat(on)
        except ValueError:
            raise typer.BadParameter(f"{on!r} is not a date (YYYY-MM-DD)",
                                     param_hint="--date") from None
    with open_warehouse(db) as wh, err.status("publishing"):
        rel = do_publish(wh, out, on=ref, suppress_below=suppress_below, pdf=pdf)
    for note in rel.notes:
        err.print(f"[yellow]note[/yellow] {escape(note)}")
    report = "sitrep.html and sitrep.pdf" if rel.sitrep_pdf else "sitrep.html"
    console.print(f"Wrote {len(rel.resources)} tables, GeoJSON, XLSX and {report} to "
                  f"{escape(str(out))} (datapackage.json; reference date "
                  f"{rel.reference_date or 'none'}).")


@app.command("export-parquet")
def export_parquet_cmd(
    out: Annotated[Path, typer.Argument(help="Folder for the replica (one sub-folder per table).")],
    db: DbOption = None,
) -> None:
    """Write every warehouse table as Parquet: the compute replica that Spark opens with
    --db spark:DIR when figures, surveys or deduplication outgrow one machine."""
    from idpkit.warehouse.spark import export_parquet

    with open_warehouse(db) as wh, progress() as prog:
        task = prog.add_task("exporting", total=None)
        counts = export_parquet(wh, out, progress=lambda n: prog.update(
            task, description=f"exporting {escape(n)}"))
    table = Table("table", "rows", title=f"Parquet replica in {escape(str(out))}")
    for name, n in counts.items():
        table.add_row(name, f"{n:,}")
    console.print(table)
    console.print(f"Open it on Spark: idpkit … --db spark:{escape(str(out))}  "
                  "(read-only; IDPKIT_SPARK_MASTER picks the cluster)")


app.command("serve")(serve)

app.command("inspect")(inspect)

app.add_typer(forecast_app, name="forecast")
app.add_typer(tokens_app, name="tokens")


def _command_name(argv: list[str]) -> str:
    """The command path (``idpkit figures stock``) from the arguments: command names only, never
    a file, a value or an option."""
    names = ["idpkit"]
    try:
        cmd = typer.main.get_command(app)
        for token in argv:
            if token.startswith("-"):
                continue
            sub = (getattr(cmd, "commands", None) or {}).get(token)
            if sub is None:
                break
            names.append(token)
            cmd = sub
    except Exception:  # a name for a report, not a reason to fail
        pass
    return " ".join(names)


def _crash_exit(exc: Exception) -> None:
    """Last resort for a bug in any command: one line naming a crash report, exit 2."""
    from idpkit.crashreport import report_unexpected

    line = report_unexpected(exc, command=_command_name(sys.argv[1:]))
    err.print(f"[red]Error:[/red] {escape(line.removeprefix('Error: '))}")
    sys.exit(2)


def main() -> None:
    try:
        app()
    except IdpkitError as exc:
        if STATE["debug"]:
            raise
        err.print(f"[red]Error:[/red] {escape(str(exc))}")
        sys.exit(1)
    except OSError as exc:
        # A file named on the command line that is missing, a folder, or not readable: one line
        # naming it, not a traceback (every command, whichever part opened the file).
        if STATE["debug"]:
            raise
        if exc.filename is None:
            _crash_exit(exc)
        err.print(f"[red]Error:[/red] {escape(str(exc.filename))}: "
                  f"{escape(exc.strerror or type(exc).__name__)}")
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("Interrupted; nothing was half-written (imports are atomic).")
        sys.exit(130)
    except Exception as exc:  # a bug: a crash report, never a traceback (--debug shows it)
        if STATE["debug"]:
            raise
        _crash_exit(exc)
