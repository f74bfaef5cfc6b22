"""The :class:`Warehouse`: one connection, the core tables, and atomic writes."""

from __future__ import annotations

import contextlib

import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import ibis
import ibis.expr.types as ir

from idpkit.model.tables import CORE_TABLES
from idpkit.warehouse.backends import Backend, open_backend

DEFAULT_DB = "idpkit.duckdb"


def _fault_point() -> None:
    """Test hook: with ``IDPKIT_PAUSE_IN_TRANSACTION=FILE`` set, write FILE and wait inside the
    open transaction, so a test can SIGKILL the process mid-import and prove nothing lands."""
    marker = os.environ.get("IDPKIT_PAUSE_IN_TRANSACTION")
    if marker:
        import time

        Path(marker).write_text("in transaction")
        time.sleep(60)


def default_target() -> str:
    """``IDPKIT_DB`` if set, else ``./idpkit.duckdb``."""
    return os.environ.get("IDPKIT_DB") or DEFAULT_DB


class Warehouse:
    """The tables every part reads and writes, on one backend.

    Writes of an import go through :meth:`atomic_insert`, which runs all of them in one transaction:
    a failed or killed import leaves the warehouse exactly as it was.
    """

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.con: ibis.BaseBackend = backend.ibis
        self._gazetteer = None  # in-memory copy of the areas table (see warehouse.areas.Gazetteer)
        self._temporaries: list[str] = []  # TEMP tables made by materialize(), dropped by scratch()
        self.ensure_tables()

    @property
    def backend_name(self) -> str:
        return self.backend.name

    def ensure_tables(self, tables: dict[str, ibis.Schema] | None = None) -> None:
        existing = set(self.con.list_tables())
        for name, schema in (tables or CORE_TABLES).items():
            if name not in existing:
                self.backend.create_empty(name, schema)

    def ensure_columns(self, name: str, schema: ibis.Schema) -> None:
        """Add the columns of ``schema`` that table ``name`` lacks, as nullable columns.

        Why: a warehouse made by an older idpkit keeps its tables; when a part's table gains a
        column, writing a new run into the old table must not fail (old rows read as missing)."""
        from ibis.backends.sql.datatypes import DuckDBType, PostgresType

        if name not in set(self.con.list_tables()):
            self.backend.create_empty(name, schema)
            return
        have = set(self.con.table(name).columns)
        missing = [(c, t) for c, t in schema.items() if c not in have]
        if not missing or self.backend_name not in ("duckdb", "postgres"):
            return  # the Spark replica is read-only: it is refreshed from the main warehouse
        types = DuckDBType if self.backend_name == "duckdb" else PostgresType
        for col, typ in missing:
            self.backend.run(f'ALTER TABLE "{name}" ADD COLUMN "{col}" '
                             f"{types.from_ibis(typ).sql(self.backend_name)}")

    def table(self, name: str) -> ir.Table:
        return self.con.table(name)

    def materialize(self, expr: ir.Table) -> ir.Table:
        """Compute ``expr`` once into a TEMP table (private to this connection, gone when it
        closes) and return it. Why: a query that reads one intermediate result many times (figures
        join a table with its own aggregates) is planned far better over a stored table; PostgreSQL
        otherwise re-evaluates the whole chain for each reference."""
        import uuid

        name = f"_idpkit_tmp_{uuid.uuid4().hex[:12]}"
        self.backend.create_temp(name, expr)
        t = self.con.table(name)
        self._temporaries.append(name)
        if self.backend_name == "postgres":
            with contextlib.closing(self.con.raw_sql(f'ANALYZE "{name}"')):
                pass
        return t

    @contextlib.contextmanager
    def scratch(self) -> Iterator[None]:
        """Drop the TEMP tables :meth:`materialize` made inside this block when it ends. Why: a
        long-lived connection (the API server) would otherwise keep one per figure request."""
        mark = len(self._temporaries)
        try:
            yield
        finally:
            made, self._temporaries = self._temporaries[mark:], self._temporaries[:mark]
            self.backend.drop_stages(made)

    def atomic_insert(self, inserts: Sequence[tuple[str, ir.Table | str]],
                      before: Sequence[str] = ()) -> None:
        """Insert each expression's rows into its table, all in one transaction.

        The SQL is generated from Ibis expressions (portable) and only executed here. A string is
        a SELECT already compiled for this backend, giving the table's columns in order.
        ``before`` are statements run first in the same transaction: ``ingest --replace`` removes
        the dataset it replaces there (:func:`idpkit.warehouse.datasets.removal_statements`), so
        a reader sees the old dataset or the new one, never both and never neither.
        """
        statements = list(before)
        for table_name, expr in inserts:
            target_cols = list(self.table(table_name).schema().names)
            cols = ", ".join(f'"{c}"' for c in target_cols)
            select = expr if isinstance(expr, str) else self.backend.sql(expr.select(*target_cols))
            statements.append(f'INSERT INTO "{table_name}" ({cols}) {select}')
        pause_after = min(len(before), len(statements) - 1)  # the first insert: all `before` ran
        with self.backend.transaction() as execute:
            for i, sql in enumerate(statements):
                t0 = time.perf_counter()
                execute(sql)
                if os.environ.get("IDPKIT_PROFILE"):
                    print(f"[profile] insert {time.perf_counter() - t0:7.2f}s {sql[:40]}",
                          file=sys.stderr)
                if i == pause_after:
                    _fault_point()

    def execute_atomically(self, statements: Sequence[str]) -> None:
        with self.backend.transaction() as execute:
            for sql in statements:
                execute(sql)

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(target: str | os.PathLike[str] | None = None) -> Warehouse:
    """Open (and if new, create) the warehouse at a path or URL."""
    if target is None:
        target = default_target()
    if isinstance(target, Path):
        target = str(target)
    return Warehouse(open_backend(target))
