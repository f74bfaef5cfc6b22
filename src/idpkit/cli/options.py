"""Command-line options shared by several command groups (one wording, one behaviour)."""

from __future__ import annotations

from datetime import date
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from idpkit.model.vocabulary import ASSESSMENT_TYPES

DbOpt = Annotated[str | None, typer.Option("--db", help="Warehouse: DuckDB file or postgresql:// "
                                           "URL (default $IDPKIT_DB or ./idpkit.duckdb)")]
OutOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file.")]


class TableOrJson(str, Enum):
    """Where a command has no CSV form: ``--format csv`` is refused, not printed as a table."""

    table = "table"
    json = "json"


Kind = Enum("Kind", {k: k for k in ASSESSMENT_TYPES}, type=str)  # type: ignore[misc]
"""``ingest --kind``: one of the assessment types; anything else is refused with the list."""


def parse_day(text: str | None, hint: str) -> date | None:
    """A ``YYYY-MM-DD`` option value, or a usage error naming the option (never a traceback)."""
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)", param_hint=hint) from None


def parse_period(start: str | None, end: str | None) -> tuple[date | None, date | None]:
    """``--from``/``--to`` as dates; a period that ends before it starts is a usage error."""
    d0, d1 = parse_day(start, "--from"), parse_day(end, "--to")
    if d0 is not None and d1 is not None and d1 < d0:
        raise typer.BadParameter(f"{end} is before --from {start}", param_hint="--to")
    return d0, d1


PeriodFromOpt = Annotated[str | None, typer.Option(
    "--from", help="Count reach only from activities running on or after this date "
    "(YYYY-MM-DD).")]
PeriodToOpt = Annotated[str | None, typer.Option(
    "--to", help="Count reach only from activities running on or before this date "
    "(YYYY-MM-DD).")]
