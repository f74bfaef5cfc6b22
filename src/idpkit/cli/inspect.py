"""``idpkit inspect FILE`` — what an import would decide about a file, and why; the mapping that
changes any decision (``--write-mapping``). Builds :mod:`idpkit.ingest.inspect`'s Inspection from
a dry run and renders it as a table or JSON."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from idpkit.errors import IdpkitError


class InspectFmt(str, Enum):
    table = "table"
    json = "json"


@contextlib.contextmanager
def _warehouse(db: str | None) -> Iterator[Any]:
    """The warehouse a dry run reads: the one named by ``--db`` (its areas and earlier rounds),
    else a throwaway DuckDB file (the embedded gazetteer). A dry run never writes to it."""
    from idpkit.cli.console import dry_run_warehouse

    with dry_run_warehouse(db, throwaway=True) as wh:
        yield wh


def inspect(
    file: Annotated[Path, typer.Argument(help="File to inspect (CSV, XLSX, JSON, a ZIP or folder "
                                               "of ODK CSV files).")],
    mapping: Annotated[Path | None, typer.Option(help="YAML mapping to apply (see "
                                                 "docs/mapping.md).")] = None,
    sheet: Annotated[list[str] | None, typer.Option(help="Sheet to inspect; repeat for several "
                                                    "sheets of one table.")] = None,
    on_date: Annotated[str | None, typer.Option("--date", help="Reporting date (YYYY-MM-DD) "
                                                "when the file has none.")] = None,
    country: Annotated[str | None, typer.Option(help="ISO3 country of a file that names "
                                                "none.")] = None,
    fmt: Annotated[InspectFmt, typer.Option("--format", help="table, or json on standard "
                                            "output.")] = InspectFmt.table,
    write_mapping: Annotated[Path | None, typer.Option(
        "--write-mapping", help="Write the mapping that reproduces these decisions, to edit and "
                                "give to `ingest --mapping`.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the --write-mapping "
                                        "file.")] = False,
    db: Annotated[str | None, typer.Option("--db", help="Warehouse whose areas and earlier "
                                           "rounds to check against (read, never written; "
                                           "default: a throwaway one).")] = None,
) -> None:
    """Show what `ingest` would decide about FILE — sheets, header and HXL rows, each column's
    role with its evidence, the date, row classes, totals — without importing. Exit 1 when the
    file would be refused."""
    from idpkit.cli.console import STATE, console, err, parse_country, parse_date, print_unexpected
    from idpkit.ingest.inspect import inspect_file
    from idpkit.ingest.mapping import Mapping
    from idpkit.ingest.pipeline import IngestOptions

    if write_mapping is not None and write_mapping.exists() and not force:
        err.print(f"[red]Error:[/red] {escape(str(write_mapping))}: exists; give --force to "
                  "overwrite it")
        raise typer.Exit(1)
    asked = None if not sheet else sheet[0] if len(sheet) == 1 else list(sheet)
    try:
        opts = IngestOptions(sheet=asked, mapping=Mapping.load(mapping) if mapping else None,
                             reporting_date=parse_date(on_date), country=parse_country(country))
        with _warehouse(db) as wh:
            insp = inspect_file(wh, file, opts)
    except IdpkitError as exc:  # the mapping or the warehouse: not about the file's content
        if STATE["debug"]:
            raise
        err.print(f"[red]Error:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from None
    except typer.Exit:
        raise
    except Exception as exc:  # a bug: a crash report, never a traceback
        print_unexpected(exc, command="inspect", file=file)
        raise typer.Exit(2) from None
    if fmt == InspectFmt.json:
        print(json.dumps(insp.to_dict(), indent=2, ensure_ascii=False, default=str))
    else:
        for part in render(insp, hint=write_mapping is None):
            console.print(part)
    if write_mapping is not None and insp.mapping:
        write_mapping.parent.mkdir(parents=True, exist_ok=True)
        write_mapping.write_text(insp.mapping.replace("THIS_FILE.yml", write_mapping.name),
                                 encoding="utf-8")
        err.print(f"Mapping written to {escape(str(write_mapping))}: edit it, then "
                  f"idpkit ingest {escape(file.name)} --mapping {escape(str(write_mapping))}")
    elif write_mapping is not None:
        err.print("[yellow]No mapping written[/yellow]: no sheet with a table was found.")
    if insp.status != "ok":
        raise typer.Exit(1)


def render(insp, hint: bool = True) -> list[Any]:
    """The Rich renderables of an Inspection, top to bottom (``hint``: say how to write a
    mapping)."""
    out: list[Any] = [f"[bold]{escape(insp.file)}[/bold]"
                      + (f" ({insp.format}, {len(insp.sheets)} sheet(s))" if insp.format else "")]
    if insp.sheets:
        t = Table("sheet", "rows × columns", "imported", "why", title="Sheets", title_justify="left",
                  show_edge=False, pad_edge=False)
        for s in insp.sheets:
            t.add_row(escape(s["name"]), f"{s['rows']:,} × {s['columns']}",
                      "[green]yes[/green]" if s["imported"] else "no", escape(s["note"] or ""))
        out.append(t)
    if insp.status != "ok":
        out += _render_candidates(insp)
        out.append(f"[red]Refused:[/red] {escape(insp.error or '')}")
        if insp.mapping and hint:
            out.append("[dim]Write a mapping to start from with --write-mapping MAP.yml, name the "
                       "counts in it, then: idpkit ingest FILE --mapping MAP.yml[/dim]")
        return out
    lay = insp.layout
    out.append(f"Rows: {escape(lay['decision'])}  [dim]({escape(lay['evidence'])}; in a "
               f"mapping: {_rows_line(lay)})[/dim]")
    t = Table("#", "header", "role", "level", "evidence", "confidence", title="Columns",
              title_justify="left", show_edge=False, pad_edge=False)
    for c in insp.columns:
        conf = c["confidence"]
        style = {"high": "green", "medium": "yellow", "low": "red"}.get(conf, "")
        t.add_row(str(c["position"]), escape(c["header"]), escape(c["description"]),
                  str(c["admin_level"] or ""), escape(c["evidence"]),
                  f"[{style}]{conf}[/{style}]" if style else conf)
    out.append(t)
    if insp.ignored_columns:
        out.append(f"Ignored columns ({len(insp.ignored_columns)}): "
                   + escape(_compact(insp.ignored_columns)))
    if insp.date:
        d = insp.date
        out.append(f"Reporting date: {escape(d['decision'])}  [dim]({escape(d['evidence'])})[/dim]"
                   + ("" if d["confidence"] == "high" else
                      "  [yellow]check: set it with 'date: YYYY-MM-DD' in the mapping[/yellow]"))
    if insp.kind:
        out.append(f"Assessment type: {insp.kind}")
    r = insp.rows
    cls = r["classes"]
    unplaced = sum(cls[c] for c in ("unknown-area", "unknown-pcode", "missing-area"))
    out.append(f"Rows: {r['read']:,} read, [green]{r['accepted']:,} accepted[/green], "
               f"[red]{r['quarantined']:,} quarantined[/red]; "
               + ", ".join(f"{c} {cls[c]:,}" for c in ("total-row", "note-row", "duplicate-row",
                                                        "no-values"))
               + f"; unplaced {unplaced:,} (" + ", ".join(
                   f"{c} {cls[c]:,}" for c in ("unknown-area", "unknown-pcode", "missing-area"))
               + ")")
    t = Table("country", "date", "group", "unit", "metric", "total", show_edge=False,
              pad_edge=False, title="Totals the import would store", title_justify="left")
    for x in insp.totals:
        v = x["value"]
        t.add_row(x["iso3"] or "", x["reporting_date"] or "", x["population_group"], x["unit"],
                  x["metric"], f"{v:,}" if isinstance(v, int) else f"{v:,.2f}")
    out.append(t)
    others = [i for i in insp.issues if i["code"] not in
              ("total-row", "note-row", "duplicate-row", "no-values", "unknown-area",
               "unknown-pcode", "missing-area", "column-ignored")]
    if others:
        out.append("Other findings: " + ", ".join(f"{i['code']} ({i['severity']}) {i['count']:,}"
                                                  for i in others))
    for n in insp.notes:
        out.append(f"  [dim]{escape(n)}[/dim]")
    if hint:
        out.append("[dim]To change a decision: --write-mapping MAP.yml, edit it, then idpkit "
                   "ingest FILE --mapping MAP.yml (docs/mapping.md)[/dim]")
    return out


def _compact(columns: list[dict[str, Any]], most: int = 30) -> str:
    """Ignored columns in little space: ``2 'Date Occurred', 14 'Year'``; columns without a
    header as runs of positions (``19-31``)."""
    bits: list[str] = []
    run: list[int] = []

    def flush() -> None:
        if run:
            bits.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
            run.clear()

    for c in columns:
        if c["header"] == f"column {c['position']}" and not c["tag"]:
            if run and run[-1] != c["position"] - 1:
                flush()
            run.append(c["position"])
        else:
            flush()
            bits.append(f"{c['position']} {c['header']!r}")
    flush()
    return ", ".join(bits[:most]) + (f" … and {len(bits) - most} more" if len(bits) > most else "")


def _rows_line(lay: dict[str, Any]) -> str:
    h = lay["header_rows"]
    head = (f"header_rows: {h}" if len(h) == 2 else f"header_row: {h[0]}" if h else
            "header: none")
    return escape(f"{head}, hxl_row: {lay['hxl_row'] or 'none'}")


def _render_candidates(insp) -> list[Any]:
    out: list[Any] = []
    for c in insp.candidates:
        if not c["columns"]:
            out.append(f"Sheet {escape(repr(c['sheet']))}: no table found")
            continue
        h = c["header_rows"]
        where = (f"header row(s) {', '.join(map(str, h))}" if h else "no header row") + \
            (f", HXL row {c['hxl_row']}" if c["hxl_row"] else "") + \
            f", data from row {c['data_start_row']}"
        out.append(f"Sheet {escape(repr(c['sheet']))}: {where}")
        named = [col for col in c["columns"] if col["role"] != "ignore" or col["tag"] or
                 col["header"] != f"column {col['position']}"]
        if named:
            t = Table("#", "header", "tag", "guessed role", show_edge=False, pad_edge=False)
            for col in named[:60]:
                t.add_row(str(col["position"]), escape(col["header"]), escape(col["tag"] or ""),
                          escape(col["description"]))
            out.append(t)
        rest = len(c["columns"]) - min(len(named), 60)
        if rest:
            out.append(f"  {rest} {'more ' if named else ''}column(s) without a header or a "
                       "recognised role" if len(named) < 60 else f"  … {rest} more columns")
    return out
