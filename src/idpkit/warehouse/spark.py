"""Spark as a *compute replica* of the warehouse: when figures, survey estimates or deduplication
outgrow one machine, the same Ibis expressions and generated SQL run on a Spark cluster.

Why a replica and not a third warehouse of record: imports need multi-table transactions, deletes
and updates (areas are upserted, survey results replaced). Plain Spark over Parquet has none of
these, and the table formats that add them (Delta, Iceberg) fetch their jars from Maven at run
time. So the warehouse of record stays on DuckDB or PostgreSQL; ``idpkit export-parquet DIR``
writes every table as Parquet (one folder per table), and ``--db spark:DIR`` opens that folder on
Spark. Every read path — figures, the survey engine, Splink — then runs unchanged; writes are
refused with a clear message instead of half-happening.

Connection settings come from the environment: ``IDPKIT_SPARK_MASTER`` (default ``local[*]``;
a ``spark://host:7077`` URL for a cluster) and ``IDPKIT_SPARK_CONF`` (``key=value;key=value``).
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.parquet as pq

from idpkit.errors import WarehouseError
from idpkit.warehouse.backends import Backend

_CREATE_TEMP = re.compile(r"^\s*CREATE\s+TEMP(?:ORARY)?\s+TABLE\s+(\S+)\s+AS\s+(.*)$",
                          re.IGNORECASE | re.DOTALL)
_DOUBLE_PRECISION = re.compile(r"\bDOUBLE\s+PRECISION\b", re.IGNORECASE)
READ_ONLY = ("the Spark warehouse is a read-only compute replica: import into the DuckDB or "
             "PostgreSQL warehouse of record, then refresh the replica with "
             "`idpkit export-parquet DIR`")


def _spark_sql(sql: str) -> str:
    """Portable SQL as parts generate it (it runs on DuckDB and PostgreSQL) in Spark's dialect.
    The session reads double-quoted identifiers (ANSI); the one spelling Spark lacks is the
    standard type name ``DOUBLE PRECISION``. (Not a full transpile: the portable SQL embeds
    Ibis-compiled subqueries that are already in Spark's dialect.)"""
    return _DOUBLE_PRECISION.sub("DOUBLE", sql)


def spark_session(app_name: str = "idpkit"):
    """A Spark session for idpkit (created once per process, as Spark wants)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise WarehouseError("Spark needs pyspark: pip install 'idpkit[spark]'") from exc
    builder = (SparkSession.builder.appName(app_name)
               .master(os.environ.get("IDPKIT_SPARK_MASTER", "local[*]"))
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", os.environ.get(
                   "IDPKIT_SPARK_PARTITIONS", "8"))
               # the portable SQL that parts generate quotes identifiers with double quotes
               .config("spark.sql.ansi.enabled", "true")
               .config("spark.sql.ansi.doubleQuotedIdentifiers", "true")
               .config("spark.sql.session.timeZone", "UTC"))
    try:  # Splink's string-similarity UDFs (a jar inside the splink package: no download)
        from splink.backends.spark import similarity_jar_location

        builder = builder.config("spark.jars", similarity_jar_location())
    except ImportError:  # pragma: no cover
        pass
    for item in filter(None, os.environ.get("IDPKIT_SPARK_CONF", "").split(";")):
        key, _, value = item.partition("=")
        builder = builder.config(key.strip(), value.strip())
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # Java missing, bad master URL …
        raise WarehouseError(f"cannot start Spark: {exc}") from exc
    session.sparkContext.setLogLevel("ERROR")
    return session


class SparkBackend(Backend):
    """Tables are temporary views over the replica's Parquet folders."""

    name = "spark"
    dialect = "pyspark"

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder).expanduser().resolve()
        if not self.folder.is_dir():
            raise WarehouseError(f"no Parquet replica at {self.folder} (write one with "
                                 "`idpkit export-parquet DIR`)")
        self.session = spark_session()
        con = ibis.pyspark.connect(self.session)
        super().__init__(con)
        for sub in sorted(p for p in self.folder.iterdir() if p.is_dir()):
            if any(sub.glob("*.parquet")):
                self.session.read.parquet(str(sub)).createOrReplaceTempView(sub.name)

    # -- reads --------------------------------------------------------------------------------
    def run(self, sql: str) -> None:
        """Run one statement. Spark has no TEMP tables; the portable ``CREATE TEMP TABLE x AS
        SELECT …`` that parts generate becomes a checkpointed temporary view (see :meth:`_keep`)."""
        head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
        if head in {"INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE", "ALTER"}:
            raise WarehouseError(READ_ONLY)
        m = _CREATE_TEMP.match(sql)
        if m:
            self._keep(m.group(1).strip('"`'), self.session.sql(_spark_sql(m.group(2))))
            return
        if head == "CREATE":
            raise WarehouseError(READ_ONLY)
        else:
            sql = _spark_sql(sql)
        self.session.sql(sql)

    def fetch_df(self, sql: str):  # -> pandas.DataFrame
        return self.session.sql(_spark_sql(sql)).toPandas()

    def create_temp(self, name: str, expr: ibis.Expr) -> None:
        """A checkpointed temporary view: Spark's counterpart of a TEMP table."""
        self.ibis._run_pre_execute_hooks(expr)  # registers in-memory tables (ibis memtables)
        self._keep(name, self.session.sql(self.sql(expr)))

    def _keep(self, name: str, df) -> None:
        """Compute now and cut the lineage (a local checkpoint), then name it. Why: a figure
        joins intermediate results with themselves several times; with lazy views Spark re-plans
        the whole chain at every reference, and planning time grows with the depth of the chain
        (minutes for the flows query). A checkpointed result is a leaf in later plans."""
        df.localCheckpoint(eager=True).createOrReplaceTempView(name)

    def create_empty(self, name: str, schema: ibis.Schema) -> None:
        """A part asks for a table the replica does not have: an empty view, so reads work."""
        from ibis.backends.pyspark.datatypes import PySparkSchema

        self.session.createDataFrame([], PySparkSchema.from_ibis(schema)) \
            .createOrReplaceTempView(name)

    def load_arrow(self, name: str, table: pa.Table | pa.RecordBatchReader) -> None:
        """Staging data is how every import and result write begins: refuse it up front, before
        any work is done, rather than fail half-way."""
        raise WarehouseError(READ_ONLY)

    def drop_stages(self, names: list[str]) -> None:
        for n in names:
            with contextlib.suppress(Exception):
                self.session.sql(f"UNCACHE TABLE IF EXISTS `{n}`")
                self.session.catalog.dropTempView(n)

    # -- writes -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[Callable[[str], None]]:
        raise WarehouseError(READ_ONLY)
        yield  # pragma: no cover

    def close(self) -> None:
        """Views go; the session stays (Spark allows one per process, and restarting costs
        seconds)."""
        for t in self.session.catalog.listTables():
            if t.isTemporary:
                with contextlib.suppress(Exception):
                    self.session.catalog.dropTempView(t.name)


def export_parquet(wh, folder: str | os.PathLike[str], *,
                   progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Write every table of ``wh`` as Parquet, one folder per table, replacing the folder
    atomically per table (written beside it, then renamed). Returns rows per table."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for name in sorted(wh.con.list_tables()):
        if name.startswith(("_idpkit_", "ibis_")):
            continue
        if progress:
            progress(name)
        t = wh.table(name)
        schema = t.schema().to_pyarrow()
        tmp = out / f".{name}.{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        n = 0
        with pq.ParquetWriter(tmp / "part-0.parquet", schema) as writer:
            for batch in t.to_pyarrow_batches(chunk_size=500_000):
                writer.write_batch(batch.cast(schema) if batch.schema != schema else batch)
                n += batch.num_rows
        final = out / name
        if final.exists():
            old = out / f".{name}.old.{uuid.uuid4().hex[:8]}"
            final.rename(old)
            tmp.rename(final)
            import shutil

            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(final)
        counts[name] = n
    return counts
