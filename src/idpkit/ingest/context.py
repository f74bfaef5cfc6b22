"""What every stage of one import shares: the warehouse, the file, the options, and the engine
helpers that keep intermediate results in staging tables.

The stages (:mod:`~idpkit.ingest.plan` → :mod:`~idpkit.ingest.stage` → :mod:`~idpkit.ingest.clean`
→ :mod:`~idpkit.ingest.check` → :mod:`~idpkit.ingest.reshape` → :mod:`~idpkit.ingest.commit`) build
Ibis expressions; the helpers here are the only place they are run before the final transaction.
Staging tables are TEMP tables of this connection, dropped when the import ends, so a failed or
killed import leaves the warehouse exactly as it was.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from idpkit.ingest.mapping import Mapping
from idpkit.ingest.readers import SourceFile
from idpkit.ingest.sheets import sheet_of_row, user_row
from idpkit.validate.issues import Issue
from idpkit.warehouse.warehouse import Warehouse

Progress = Callable[[str], None]
PROFILE = bool(os.environ.get("IDPKIT_PROFILE"))
NULL_KEY = "\u2400"  # stands for a missing cell inside join keys


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
    country: str | None = None  # ISO3 of the whole file, when it names no country or area
    # longest cell accepted (characters): any text, and codes (P-codes, site/country codes);
    # a longer cell refuses the file (idpkit.ingest.cell_limits)
    max_text_chars: int = 10_000
    max_code_chars: int = 100
    household_size_range: tuple[float, float] = (1.0, 20.0)
    jump_factor: float = 10.0
    jump_minimum: float = 100.0  # changes between smaller numbers are not flagged
    # store an import the plausibility checks stop (idpkit.ingest.plausibility), as it is
    accept_as_is: bool = False
    # replace the datasets imported before from the same file (same content, else same name)
    replace: bool = False


def missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and v != v) or v is pd.NaT


def safe_name(path: Path) -> str:
    """File name as stored: base name only, control characters removed (no path tricks)."""
    return "".join(ch for ch in Path(path).name if ch.isprintable())[:255] or "unnamed"


@dataclass
class Decision:
    """One decision a stage made, with its evidence: what ``idpkit inspect`` shows. ``subject``
    names what was decided about (a sheet, a column, the date); ``confidence`` is ``high``
    (tag, mapping, values agree), ``medium`` (header words) or ``low`` (a guess a user should
    confirm)."""

    stage: str
    subject: str
    decision: str
    evidence: str = ""
    confidence: str = "high"

    def to_dict(self) -> dict[str, str]:
        return {"stage": self.stage, "subject": self.subject, "decision": self.decision,
                "evidence": self.evidence, "confidence": self.confidence}


@dataclass
class ImportContext:
    """One import in progress. Stages read and add to it; nothing here is written to the
    warehouse's core tables (only TEMP staging tables) until :mod:`idpkit.ingest.commit`."""

    wh: Warehouse
    path: Path
    source: SourceFile
    digest: str
    options: IngestOptions
    say: Progress
    file_name: str = ""
    dataset_id: str = ""
    stages: list[str] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)  # findings about the file, not a row
    sheet_names: list[str] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    replaces: list[str] = field(default_factory=list)  # datasets this import replaces (--replace)

    def decide(self, stage: str, subject: str, decision: str, evidence: str = "",
               confidence: str = "high") -> None:
        self.decisions.append(Decision(stage, subject, decision, evidence, confidence))

    def __post_init__(self) -> None:
        self.file_name = self.file_name or safe_name(self.path)
        self.dataset_id = self.dataset_id or "ds_" + uuid.uuid4().hex[:12]

    # ------------------------------------------------------------------ rows of several sheets
    def sheet_of(self, row: ir.IntegerValue) -> ir.StringValue:
        return sheet_of_row(row, self.sheet_names)

    def user_row(self, row: ir.IntegerValue) -> ir.IntegerValue:
        return user_row(row, self.sheet_names)

    # ------------------------------------------------------------------ staging tables
    def new_stage(self) -> str:
        name = self.wh.backend.new_stage_name()
        self.stages.append(name)
        return name

    def drop_stages(self) -> None:
        self.wh.backend.drop_stages(self.stages)
        self.stages = []

    def materialize(self, expr: ir.Table) -> ir.Table:
        return self.materialize_sql(self.wh.backend.sql(expr))

    def materialize_parts(self, parts: list[ir.Table]) -> ir.Table:
        """The union of ``parts`` (same columns) as a staging table: the first creates it, the
        others are inserted one by one, each compiled on its own (findings of a wide sheet are
        ~40 small selects; compiling their union as one expression took longer than running it)."""
        t = self.materialize(parts[0])
        cols = ", ".join(f'"{c}"' for c in t.columns)
        for part in parts[1:]:
            sql = self.wh.backend.sql(part.select(*t.columns))
            self.execute(f'INSERT INTO "{t.get_name()}" ({cols}) ', sql)
        if len(parts) > 1:
            self.wh.backend.analyze(t.get_name())
        return t

    def materialize_sql(self, select_sql: str) -> ir.Table:
        name = self.new_stage()
        self.execute(f'CREATE TEMP TABLE "{name}" AS ', select_sql)
        self.wh.backend.analyze(name)
        return self.wh.table(name)

    def execute(self, head: str, select_sql: str) -> None:
        """Run ``head + select_sql``; with ``IDPKIT_PROFILE`` set, say how long it took and who
        asked (``=explain``: also write the executed plan of the SELECT to /tmp)."""
        t0 = time.perf_counter()
        self.wh.backend.ibis.raw_sql(head + select_sql)
        if PROFILE:
            caller = sys._getframe(2).f_code.co_name
            print(f"[profile] {time.perf_counter() - t0:7.2f}s {head[:12].strip()} for {caller}",
                  file=sys.stderr)
            if os.environ.get("IDPKIT_PROFILE") == "explain":
                out = Path(f"/tmp/idpkit-explain-{caller}-{uuid.uuid4().hex[:6]}.txt")
                out.write_text(self.wh.backend.explain(select_sql))

    def lookup(self, df: pd.DataFrame, schema: dict[str, str]) -> ir.Table:
        """A small table worked out in Python (one row per distinct value) as a staging table."""
        name = self.new_stage()
        arrow_schema = ibis.schema(schema).to_pyarrow()
        # from Python lists, not pandas' inferred dtypes (an all-missing date column is float64)
        table = pa.Table.from_pydict(
            {f.name: pa.array([None if missing(v) else v for v in df[f.name].tolist()], f.type)
             for f in arrow_schema}, schema=arrow_schema)
        self.wh.backend.load_arrow(name, table)
        self.wh.backend.analyze(name)
        return self.wh.table(name)

    @staticmethod
    def distinct(t: ir.Table, cols: list[str]) -> pd.DataFrame:
        return t.select(*cols).distinct().execute()
