"""Command-line options shared by several command groups (one wording, one behaviour)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DbOpt = Annotated[str | None, typer.Option("--db", help="Warehouse: DuckDB file or postgresql:// "
                                           "URL (default $IDPKIT_DB or ./idpkit.duckdb)")]
OutOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file.")]
