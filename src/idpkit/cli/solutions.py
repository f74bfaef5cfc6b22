"""``idpkit solutions …`` — household surveys: import with their design, estimates, progress measure."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from idpkit.cli.options import DbOpt, OutOpt
from rich.markup import escape
from rich.table import Table

solutions_app = typer.Typer(help="Durable solutions: household surveys, design-based estimates, "
                            "IDPs compared with non-displaced residents (IRIS).",
                            no_args_is_help=True)


class Fmt(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


class View(str, Enum):
    summary = "summary"
    criteria = "criteria"
    gaps = "gaps"


FmtOpt = Annotated[Fmt, typer.Option("--format", help="table, csv or json.")]
SurveyArg = Annotated[str, typer.Argument(help="Survey id (see `idpkit solutions list`).")]


def _open(db: str | None):
    from idpkit.warehouse import connect

    return connect(db)


def _emit(df, fmt: Fmt, output: Path | None, title: str, *, digits: int = 4) -> None:
    from idpkit.cli.console import console, err

    if fmt == Fmt.json:
        text = df.to_json(orient="records", force_ascii=False, indent=1, date_format="iso")
    elif fmt == Fmt.csv:
        from idpkit.model.formula_cells import neutralise_frame  # no live formulas
        text = neutralise_frame(df).to_csv(index=False, lineterminator="\n")
    else:
        text = None
    if output is not None:
        if text is None:
            from idpkit.model.formula_cells import neutralise_frame  # no live formulas
            text = neutralise_frame(df).to_csv(index=False, lineterminator="\n")
        output.write_text(text, encoding="utf-8")
        err.print(f"Wrote {escape(str(output))} ({len(df)} rows)")
        return
    if text is not None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    t = Table(title=title)
    for c in df.columns:
        t.add_column(str(c), overflow="fold")
    for row in df.itertuples(index=False):
        t.add_row(*[escape(_cell(v, digits)) for v in row])
    console.print(t)


def _cell(v: object, digits: int) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.{digits}g}"
    return str(v)


@solutions_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="Household microdata: CSV, XLSX, Stata .dta, SPSS "
                                         ".sav or a KoboToolbox export.")],
    spec: Annotated[Path, typer.Option("--spec", help="Survey spec (YAML): design and "
                                       "indicators.")],
    survey_id: Annotated[str | None, typer.Option("--id", help="Survey id (default: from the "
                                                  "spec, else the file name).")] = None,
    sheet: Annotated[str | None, typer.Option("--sheet", help="Workbook sheet with the "
                                              "households.")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Replace a survey with this id.")] = False,
    db: DbOpt = None,
) -> None:
    """Import a survey with its design: every design problem is listed; nothing is stored unless
    the whole file fits the design."""
    from idpkit.cli.console import console, err
    from idpkit.solutions.store import SurveyImportError, SurveySpec, import_survey

    s = SurveySpec.from_yaml(spec)
    with _open(db) as wh, err.status(f"importing {file.name}"):
        try:
            res = import_survey(wh, file, s, survey_id=survey_id, sheet=sheet, replace=replace)
        except SurveyImportError as exc:
            _issues_table(exc.issues)
            raise
    for i in res.warnings:
        err.print(f"[yellow]warning[/yellow] {i.code}: {escape(i.message)}")
    console.print(f"Imported survey [bold]{res.survey_id}[/bold]: {res.households:,} households"
                  + (f", {res.members:,} members" if res.members else "") +
                  f" (table {res.table_name}).")


def _issues_table(issues) -> None:
    """One line per problem, like a compiler: file, row, column, value, code, message."""
    from idpkit.cli.console import err

    for i in issues:
        where = i.file or ""
        if i.row is not None:
            where += f", row {i.row}"
        if i.column:
            where += f", column {i.column!r}"
        value = f" (value {i.value!r})" if i.value is not None else ""
        colour = "red" if i.severity == "error" else "yellow"
        err.print(f"[{colour}]{i.severity}[/{colour}] {escape(where)}{escape(value)}: "
                  f"{i.code}: {escape(i.message)}", soft_wrap=True)


@solutions_app.command("list")
def list_(db: DbOpt = None, fmt: FmtOpt = Fmt.table, output: OutOpt = None) -> None:
    """Surveys in the warehouse."""
    from idpkit.solutions.store import list_surveys

    with _open(db) as wh:
        df = list_surveys(wh)
    _emit(df, fmt, output, "Surveys")


@solutions_app.command("estimate")
def estimate_cmd(
    survey: SurveyArg,
    by: Annotated[str, typer.Option("--by", help="Domains, comma-separated: area, group, or "
                                    "any survey column; '' for the whole survey.")] = "group",
    indicator: Annotated[list[str] | None, typer.Option("--indicator", "-i", help="Only these "
                                                        "indicators (default: all).")] = None,
    confidence: Annotated[float, typer.Option("--confidence", min=0.5, max=0.999,
                                              help="Confidence level of the intervals.")] = 0.95,
    fmt: FmtOpt = Fmt.table,
    output: OutOpt = None,
    db: DbOpt = None,
) -> None:
    """Weighted estimates with design-based SEs, CIs, CV, design effect, n and weighted N."""
    from idpkit.cli.console import err
    from idpkit.solutions.estimate import estimate
    from idpkit.solutions.store import AREA_COLUMN, GROUP_COLUMN, load_survey

    with _open(db) as wh:
        s = load_survey(wh, survey)
        alias = {"area": AREA_COLUMN, "group": GROUP_COLUMN}
        keys = tuple(alias.get(b.strip(), b.strip()) for b in by.split(",") if b.strip())
        specs = [i for i in s.indicators if not indicator or i.name in indicator]
        unknown = set(indicator or []) - {i.name for i in s.indicators}
        if unknown:
            raise typer.BadParameter(f"unknown indicator(s) {', '.join(sorted(unknown))}; the "
                                     f"survey has {', '.join(i.name for i in s.indicators)}",
                                     param_hint="--indicator")
        with err.status("estimating"):
            res = estimate(wh, s.table, s.design, [i.engine() for i in specs], [keys],
                           confidence=confidence)
    df = res.estimates.drop(columns=["by", "level"])
    _emit(df, fmt, output, f"{s.title or s.survey_id}: estimates by {by or 'whole survey'}")


@solutions_app.command("progress")
def progress_cmd(
    survey: SurveyArg,
    comparison: Annotated[str, typer.Option("--comparison", help="Comparison group: "
                                            "non_displaced (IRIS default), host_community, "
                                            "returnees, …, or national (every household of "
                                            "the survey, IDPs included).")] = "non_displaced",
    focal: Annotated[str, typer.Option("--focal", help="Group assessed.")] = "idps",
    view: Annotated[View, typer.Option("--view", help="summary (a sentence per area), criteria "
                                       "or gaps (every indicator).")] = View.summary,
    confidence: Annotated[float, typer.Option("--confidence", min=0.5, max=0.999)] = 0.95,
    fmt: FmtOpt = Fmt.table,
    output: OutOpt = None,
    db: DbOpt = None,
) -> None:
    """IRIS progress measure: per area and indicator, IDPs vs the comparison group — both
    estimates, the gap with its CI, significance, and a per-criterion summary."""
    from idpkit.cli.console import err
    from idpkit.solutions.progress import progress_measure
    from idpkit.solutions.store import load_survey

    with _open(db) as wh:
        s = load_survey(wh, survey)
        with err.status("estimating gaps"):
            pm = progress_measure(wh, s, focal=focal, comparison=comparison,
                                  confidence=confidence)
    df = {View.summary: pm.areas, View.criteria: pm.criteria, View.gaps: pm.gaps}[view]
    if view == View.summary and fmt == Fmt.table and output is None:
        from idpkit.cli.console import console

        for line in df.summary:
            console.print(f"• {escape(line)}")
        return
    _emit(df, fmt, output, f"{s.title or s.survey_id}: {focal} vs {comparison}")


class ExitMethod(str, Enum):
    full = "full"
    per_criterion = "per_criterion"
    cells = "cells"


@solutions_app.command("exit")
def exit_cmd(
    survey: SurveyArg,
    method: Annotated[ExitMethod, typer.Option("--method", help="full (composite of every "
                                               "sub-criterion), per_criterion, or cells "
                                               "(homogeneous cells).")] = ExitMethod.full,
    people: Annotated[str | None, typer.Option("--people", help="Household-size column: count "
                                               "people instead of households.")] = None,
    comparison: Annotated[str, typer.Option("--comparison")] = "non_displaced",
    focal: Annotated[str, typer.Option("--focal")] = "idps",
    fmt: FmtOpt = Fmt.table,
    output: OutOpt = None,
    db: DbOpt = None,
) -> None:
    """EXPERIMENTAL IRIS exit measure: estimated number of IDPs who overcame displacement-related
    vulnerabilities, with CIs (households missing a sub-criterion are not assessed)."""
    from idpkit.cli.console import err
    from idpkit.solutions.exit import exit_measure
    from idpkit.solutions.store import load_survey

    with _open(db) as wh:
        s = load_survey(wh, survey)
        with err.status("estimating the exit measure"):
            em = exit_measure(wh, s, method=method.value, people=people, focal=focal,
                              comparison=comparison)
    err.print("[yellow]Experimental:[/yellow] IRIS leaves the exit metric open; see "
              "docs/solutions.md for what this method counts.")
    shown = em.table.drop(columns=["status"]) if fmt == Fmt.table and output is None else em.table
    _emit(shown, fmt, output,
          f"{s.title or s.survey_id}: exit measure ({method.value}, experimental)")


@solutions_app.command("analyse")
def analyse_cmd(
    survey: SurveyArg,
    comparison: Annotated[str, typer.Option("--comparison")] = "non_displaced",
    focal: Annotated[str, typer.Option("--focal")] = "idps",
    db: DbOpt = None,
) -> None:
    """Compute the survey's estimates, progress and exit measures and store them in the
    warehouse (tables solution_estimates, solution_gaps, solution_criteria, solution_exit) for
    the API, dashboard and exports."""
    from idpkit.cli.console import console, err
    from idpkit.solutions.results import analyse
    from idpkit.solutions.store import load_survey

    with _open(db) as wh:
        s = load_survey(wh, survey)
        with err.status("analysing"):
            res = analyse(wh, s, focal=focal, comparison=comparison)
    console.print(f"Stored results of {res.survey_id}: " +
                  ", ".join(f"{n} {t}" for t, n in res.rows.items()) + ".")
