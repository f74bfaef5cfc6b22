"""What differs between backends, and nothing else (Splink's ``DatabaseAPI`` pattern).

Table logic is written once as Ibis expressions; a backend only knows how to open a connection,
run a transaction, and bulk-load a staging table. Everything else goes through Ibis.
"""

from __future__ import annotations

import contextlib
import io
import os
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.csv as pacsv

from idpkit.errors import WarehouseError

STAGE_PREFIX = "_idpkit_stage_"


class Backend(ABC):
    """A connected warehouse backend."""

    name: str
    dialect: str
    has_try_cast: bool = False  # TRY_CAST available: a fast path for parsing numbers

    def __init__(self, con: ibis.BaseBackend) -> None:
        self.ibis = con

    @abstractmethod
    def transaction(self) -> contextlib.AbstractContextManager[Callable[[str], None]]:
        """Run statements atomically: all of them are committed or none."""

    @abstractmethod
    def load_arrow(self, name: str, table: pa.Table | pa.RecordBatchReader) -> None:
        """Create staging table ``name`` from Arrow data (replacing it)."""

    def stage_csv(self, name: str, select_sql: str, *, first_row: int = 1,
                  columns: list[str] | None = None) -> bool:
        """Create staging table ``name`` natively from DuckDB CSV-reading SQL (without row numbers),
        numbering rows from ``first_row`` and dropping rows where all ``columns`` are empty.

        Returns False when the backend has no native reader, and the caller streams Arrow batches.
        """
        return False

    def new_stage_name(self) -> str:
        return f"{STAGE_PREFIX}{uuid.uuid4().hex[:12]}"

    def drop_stages(self, names: list[str]) -> None:
        """Drop staging tables early. Staging tables are TEMP tables, private to this connection:
        a killed import leaves none behind, and one user's import never sees (or drops) another's
        on a shared server."""
        for n in names:
            # raw SQL: ibis' drop_table is broken with some sqlglot releases (ibis#12101)
            with contextlib.suppress(Exception):
                self.ibis.raw_sql(f'DROP TABLE IF EXISTS "{n}"')

    def sql(self, expr: ibis.Expr) -> str:
        return ibis.to_sql(expr, dialect=self.dialect)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ibis.disconnect()


class DuckDBBackend(Backend):
    name = "duckdb"
    dialect = "duckdb"
    has_try_cast = True

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            con = ibis.duckdb.connect(path)
        except Exception as exc:  # duckdb raises IOException for locks and corrupt files
            raise WarehouseError(f"cannot open DuckDB warehouse {path}: {exc}") from exc
        super().__init__(con)
        threads = os.environ.get("IDPKIT_THREADS")
        if threads:
            con.raw_sql(f"SET threads = {int(threads)}")
        # Bounded memory: big imports spill to a temp folder instead of growing without limit.
        limit = os.environ.get("IDPKIT_MEMORY_LIMIT", "4GB").replace("'", "")
        con.raw_sql(f"SET memory_limit = '{limit}'")
        # Let big imports spill to disk rather than run out of memory.
        con.raw_sql("SET preserve_insertion_order = true")

    @property
    def raw(self):  # the duckdb.DuckDBPyConnection
        return self.ibis.con

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Callable[[str], None]]:
        raw = self.raw
        raw.execute("BEGIN TRANSACTION")
        try:
            yield lambda sql: raw.execute(sql)
        except BaseException:
            raw.execute("ROLLBACK")
            raise
        else:
            raw.execute("COMMIT")

    def load_arrow(self, name: str, table: pa.Table | pa.RecordBatchReader) -> None:
        view = f"_arrow_{uuid.uuid4().hex[:8]}"
        self.raw.register(view, table)
        try:
            self.raw.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT * FROM "{view}"')
        finally:
            self.raw.unregister(view)

    def stage_csv(self, name: str, select_sql: str, *, first_row: int = 1,
                  columns: list[str] | None = None) -> bool:
        """Read into a temp table; row numbers from rowid (insertion order is kept), which
        is much cheaper than a window over the read; blank rows dropped in the same pass."""
        self.raw.execute(f'CREATE OR REPLACE TEMP TABLE "{name}_r" AS {select_sql}')
        where = ""
        if columns:
            ws = "' ' || chr(9) || chr(10) || chr(13) || chr(160)"  # blanks, tabs, newlines, nbsp
            where = " WHERE coalesce(" + ", ".join(f"nullif(trim(\"{c}\", {ws}), '')"
                                                   for c in columns) + ") IS NOT NULL"
        self.raw.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT (rowid + {first_row})'
                         f'::BIGINT AS _row, * FROM "{name}_r"{where}')
        self.raw.execute(f'DROP TABLE "{name}_r"')
        return True


class PostgresBackend(Backend):
    name = "postgres"
    dialect = "postgres"

    def __init__(self, url: str) -> None:
        try:
            con = ibis.connect(url)
        except Exception as exc:
            raise WarehouseError(f"cannot connect to PostgreSQL: {_redact(url)}: {exc}") from exc
        super().__init__(con)

    @property
    def raw(self):  # the psycopg.Connection
        return self.ibis.con

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Callable[[str], None]]:
        raw = self.raw
        with raw.transaction(), raw.cursor() as cur:
            yield lambda sql: cur.execute(sql)

    def load_arrow(self, name: str, table: pa.Table | pa.RecordBatchReader) -> None:
        schema = table.schema
        cols = ", ".join(f'"{f.name}" {_pg_type(f.type)}' for f in schema)
        batches = table.to_batches() if isinstance(table, pa.Table) else table
        with self.raw.transaction(), self.raw.cursor() as cur:
            cur.execute(f'DROP TABLE IF EXISTS "{name}"')
            cur.execute(f'CREATE TEMP TABLE "{name}" ({cols})')
            quoted = ", ".join(f'"{f.name}"' for f in schema)
            with cur.copy(f'COPY "{name}" ({quoted}) FROM STDIN (FORMAT csv, HEADER false)') as copy:
                for batch in batches:
                    # small slices: memory stays bounded whatever the batch size
                    for off in range(0, batch.num_rows, 50_000):
                        buf = io.BytesIO()
                        pacsv.write_csv(pa.Table.from_batches([batch.slice(off, 50_000)]), buf,
                                        write_options=pacsv.WriteOptions(include_header=False))
                        copy.write(buf.getbuffer())


def _pg_type(t: pa.DataType) -> str:
    if pa.types.is_int8(t) or pa.types.is_int16(t):
        return "SMALLINT"
    if pa.types.is_int32(t):
        return "INTEGER"
    if pa.types.is_integer(t):
        return "BIGINT"
    if pa.types.is_floating(t):
        return "DOUBLE PRECISION"
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    if pa.types.is_date(t):
        return "DATE"
    if pa.types.is_timestamp(t):
        return "TIMESTAMP"
    return "TEXT"


def _redact(url: str) -> str:
    """Hide passwords of a connection URL or DSN before they reach a message or a log."""
    import re

    url = re.sub(r"(?i)(password=)[^&\s]*", r"\1***", url)
    m = re.match(r"^([a-z][a-z0-9+.-]*://)([^/?#@]*)@", url)
    if m and ":" in m.group(2):
        user = m.group(2).split(":", 1)[0]
        url = f"{m.group(1)}{user}:***@{url[m.end():]}"
    return url


def open_backend(target: str | os.PathLike[str]) -> Backend:
    """Open a warehouse from a path (DuckDB file) or a URL (``duckdb://…``, ``postgresql://…``)."""
    text = os.fspath(target)
    if text.startswith(("postgres://", "postgresql://")):
        if text.startswith("postgresql://"):
            text = "postgres://" + text[len("postgresql://"):]
        return PostgresBackend(text)
    if text.startswith("duckdb://"):
        text = text[len("duckdb://"):] or ":memory:"
    if text != ":memory:":
        parent = Path(text).expanduser().resolve().parent
        if not parent.exists():
            raise WarehouseError(f"folder of the warehouse file does not exist: {parent}")
    return DuckDBBackend(text)
