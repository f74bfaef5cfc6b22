"""``idpkit datasets list|show|remove`` — the imported datasets, one by one."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console, RenderableType
from rich.markup import escape
from rich.table import Table

from idpkit.cli.options import DbOpt, OutOpt
from idpkit.errors import IdpkitError

datasets_app = typer.Typer(help="Imported datasets: list them, show one, remove them.",
                           no_args_is_help=True)


class Fmt(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


FmtOpt = Annotated[Fmt, typer.Option("--format", help="table, csv or json.")]


@contextlib.contextmanager
def _one_line_errors() -> Iterator[None]:
    """``Error: …`` and exit 1 here too, not only in ``main()`` (also under a test runner)."""
    from idpkit.cli.console import STATE, err

    try:
        yield
    except IdpkitError as exc:
        if STATE["debug"]:
            raise
        err.print(f"[red]Error:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from None


def _emit(text: str | None, renderables: list[RenderableType], output: Path | None) -> None:
    """Write CSV/JSON ``text``, or else the Rich ``renderables``, to ``output`` or the console."""
    from idpkit.cli.console import console, err

    if output is None:
        if text is not None:
            console.out(text, end="", highlight=False)
        else:
            for r in renderables:
                console.print(r)
        return
    if text is None:
        buf = io.StringIO()
        plain = Console(file=buf, width=200, no_color=True, highlight=False)
        for r in renderables:
            plain.print(r)
        text = buf.getvalue()
    output.write_text(text, encoding="utf-8")
    err.print(f"Wrote {escape(str(output))}")


def _cell(v: object) -> str:
    from idpkit.warehouse.datasets import plain

    v = plain(v)
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


def _table(df, title: str | None = None, headers: dict[str, str] | None = None) -> Table:
    t = Table(title=title)
    for c in df.columns:
        numeric = str(df[c].dtype).startswith(("int", "float"))
        t.add_column((headers or {}).get(c, c), justify="right" if numeric else "left",
                     overflow="fold", no_wrap=c in ("dataset_id", "replaced_by"))
    for row in df.itertuples(index=False):
        t.add_row(*[escape(_cell(v)) for v in row])
    return t


def _json(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n"


@datasets_app.command("list")
def list_cmd(fmt: FmtOpt = Fmt.table, output: OutOpt = None, db: DbOpt = None) -> None:
    """One row per imported dataset, newest first: file, sheet, round, date and row counts."""
    from idpkit.cli.console import open_warehouse
    from idpkit.warehouse.datasets import list_datasets, records

    with _one_line_errors(), open_warehouse(db) as wh:
        df = list_datasets(wh)
    if fmt == Fmt.csv:
        import pandas as pd

        from idpkit.model.formula_cells import neutralise_frame  # no live formulas
        _emit(neutralise_frame(pd.DataFrame(records(df), columns=df.columns)).to_csv(index=False),
              [], output)
    elif fmt == Fmt.json:
        _emit(_json(records(df)), [], output)
    elif df.empty:
        _emit(None, ["No datasets yet: import files with idpkit ingest FILE."], output)
    else:
        _emit(None, [_list_table(df)], output)


def _list_table(df) -> Table:
    """The list on a terminal: the columns that tell datasets apart (CSV and JSON have all)."""
    from rich import box

    t = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    columns = [("dataset_id", "dataset"), ("file_name", "file"), ("assessment_type", "type"),
               ("reporting_date", "date"), ("rows_read", "rows"),
               ("rows_quarantined", "quar."), ("observations", "obs."),
               ("imported_at", "imported (UTC)")]
    for c, header in columns:
        numeric = c in ("rows_read", "rows_quarantined", "observations")
        t.add_column(header, justify="right" if numeric else "left", overflow="fold",
                     no_wrap=numeric or c in ("dataset_id", "reporting_date"))
    for r in df.to_dict("records"):
        t.add_row(*[escape(_cell(r[c])[:16] if c == "imported_at" else _cell(r[c]))
                    for c, _ in columns])
    return t


def _show_csv(details) -> str:
    """``section,key,value`` rows: the dataset's fields, column mapping, issue counts (key
    code/severity), quarantined rows, totals (key date/level/group/unit/metric), history."""
    from idpkit.warehouse.datasets import plain, records

    rows = [("dataset", k, plain(v)) for k, v in details.dataset.items()]
    rows += [("column_mapping", k, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
             for k, v in (details.column_mapping or {}).items()]
    rows += [("issues", f"{r['code']}/{r['severity']}", r["count"])
             for r in records(details.issues)]
    rows += [("quarantine", "rows", details.quarantined_rows)]
    rows += [("totals", "/".join(str(r[k]) for k in ("reporting_date", "reported_level",
                                                    "population_group", "unit", "metric")),
              r["value"]) for r in records(details.totals)]
    rows += [("history", f"{r['audited_at']}/{r['action']}", r["note"])
             for r in records(details.history)]
    import pandas as pd

    df = pd.DataFrame(rows, columns=["section", "key", "value"])
    df["value"] = [("" if v is None else f"{v:.0f}" if isinstance(v, float) and v.is_integer()
                    else str(v)) for v in df["value"]]
    from idpkit.model.formula_cells import neutralise_frame  # no live formulas
    return neutralise_frame(df).to_csv(index=False)


def _show_tables(d) -> list[RenderableType]:
    about = Table.grid(padding=(0, 2))
    about.add_column(style="bold")
    about.add_column()
    for k, v in d.dataset.items():
        about.add_row(k, escape(_cell(v)))
    out: list[RenderableType] = [f"[bold]Dataset {escape(d.dataset_id)}[/bold]", about, ""]
    if d.column_mapping:
        mapping = Table("column", "read as", title="Column mapping")
        for k, v in d.column_mapping.items():
            mapping.add_row(escape(str(k)), escape(v if isinstance(v, str) else json.dumps(v)))
        out.append(mapping)
    out.append(_table(d.issues, "Issues") if len(d.issues) else "No issues.")
    out.append(f"Quarantined rows: {d.quarantined_rows:,}")
    if len(d.totals):
        out.append(_table(d.totals, "Stored totals (sex and age 'all'; one row per date and "
                                    "reported level, never added across them)",
                          headers={"reporting_date": "date", "reported_level": "level"}))
    else:
        out.append("No observations stored.")
    if len(d.history):
        out.append(_table(d.history[["audited_at", "action", "dataset_id", "replaced_by",
                                     "os_user", "note"]], "History"))
    return out


@datasets_app.command("show")
def show_cmd(
    dataset_id: Annotated[str, typer.Argument(metavar="ID", help="Dataset id (see datasets list).")],
    fmt: Annotated[Fmt, typer.Option("--format", help="table, csv (section,key,value rows) or "
                                     "json.")] = Fmt.table,
    output: OutOpt = None,
    db: DbOpt = None,
) -> None:
    """One dataset: its file and counts, column mapping, issues, quarantine and stored totals."""
    from idpkit.cli.console import open_warehouse
    from idpkit.warehouse.datasets import show_dataset

    with _one_line_errors(), open_warehouse(db) as wh:
        details = show_dataset(wh, dataset_id)
    if fmt == Fmt.csv:
        _emit(_show_csv(details), [], output)
    elif fmt == Fmt.json:
        _emit(_json(details.to_dict()), [], output)
    else:
        _emit(None, _show_tables(details), output)


def _interactive() -> bool:
    """A person at a terminal who can answer a question."""
    return sys.stdin.isatty()


@datasets_app.command("remove")
def remove_cmd(
    dataset_ids: Annotated[list[str], typer.Argument(metavar="ID...", help="Dataset ids to "
                                                     "remove (see datasets list).")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Remove without asking (required "
                                      "when not on a terminal).")] = False,
    note: Annotated[str | None, typer.Option("--note", help="Why, for the audit trail.")] = None,
    db: DbOpt = None,
) -> None:
    """Remove datasets: their observations, issues, quarantined rows, sites no other dataset
    reports, and rows of every other table, in one transaction; recorded in dataset_audit."""
    from idpkit.cli.console import console, err, open_warehouse
    from idpkit.warehouse.datasets import list_datasets, remove_datasets, require_datasets

    with _one_line_errors(), open_warehouse(db) as wh:
        ids = require_datasets(wh, dataset_ids)
        if not yes:
            if not _interactive():
                err.print("[red]Error:[/red] removing datasets cannot be undone: add --yes to "
                          "remove them without a terminal to confirm")
                raise typer.Exit(1)
            listed = list_datasets(wh)
            shown = listed[listed.dataset_id.isin(ids)][["dataset_id", "file_name", "sheet",
                                                         "reporting_date", "observations",
                                                         "rows_quarantined", "imported_at"]]
            err.print(_table(shown, "To remove"))
            if not typer.confirm(f"Remove {len(ids)} dataset(s) and every row they imported?",
                                 default=False, err=True):
                err.print("Nothing removed.")
                raise typer.Exit(1)
        gone = remove_datasets(wh, ids, note=note)
    for r in gone.itertuples():
        console.print(f"Removed {escape(r.dataset_id)} ({escape(str(r.file_name))}: "
                      f"{_cell(r.observations)} observations, {_cell(r.rows_quarantined)} "
                      "quarantined rows)")
