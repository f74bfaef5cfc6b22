"""Command-line options shared by several command groups (one wording, one behaviour)."""

from __future__ import annotations

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
