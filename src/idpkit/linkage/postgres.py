"""The same Splink model on PostgreSQL: what Splink's PostgreSQL backend lacks, supplied here.

Why this module exists: Splink 5 runs on PostgreSQL, but its PostgreSQL dialect names no
Jaro-Winkler function (PostgreSQL has none, and ``fuzzystrmatch`` offers only Levenshtein and
phonetic codes), and it loads pandas tables through DuckDB's ``postgres`` extension, which DuckDB
downloads on first use (idpkit never downloads at run time). So:

* :data:`JARO_WINKLER_SQL` installs ``jaro_winkler_similarity(text, text)`` in the database, the
  same measure as DuckDB's (Jaro with the Winkler prefix bonus, up to 4 characters, scale 0.1,
  applied when the Jaro similarity exceeds 0.7; like DuckDB it compares UTF-8 bytes, which for
  the model's normalised names, plain ``a-z``, are the letters); the dialect is told its name;
* :class:`PostgresLinkageAPI` loads tables with ``COPY`` through the SQLAlchemy engine, and
  looks tables and columns up in its own schema only (Splink's lookups ignore the schema, so a
  second linkage in another schema of the same database saw both tables' columns twice).

Everything else (comparisons, blocking, training, prediction) is Splink's own SQL, so
:func:`idpkit.linkage.dedup.deduplicate` runs unchanged with ``db_api=postgres_db_api(url)``.
"""

from __future__ import annotations

import io
from typing import Any

JARO_WINKLER_SQL = r"""
CREATE OR REPLACE FUNCTION jaro_winkler_similarity(s1 text, s2 text) RETURNS float8
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
DECLARE
  x bytea := convert_to(s1, 'UTF8');
  y bytea := convert_to(s2, 'UTF8');
  l1 int := length(x);
  l2 int := length(y);
  window_ int;
  m int := 0;
  t int := 0;
  k int := 1;
  prefix int := 0;
  lo int;
  hi int;
  f1 bool[];
  f2 bool[];
  a int[];
  b int[];
  jaro float8;
BEGIN
  IF s1 IS NULL OR s2 IS NULL THEN RETURN NULL; END IF;
  IF l1 = 0 OR l2 = 0 THEN RETURN 0.0; END IF;  -- DuckDB's answer, even for two empty strings
  a := ARRAY(SELECT get_byte(x, g) FROM generate_series(0, l1 - 1) g);
  b := ARRAY(SELECT get_byte(y, g) FROM generate_series(0, l2 - 1) g);
  window_ := greatest(greatest(l1, l2) / 2 - 1, 0);
  f1 := array_fill(false, ARRAY[l1]);
  f2 := array_fill(false, ARRAY[l2]);
  FOR i IN 1..l1 LOOP
    lo := greatest(1, i - window_);
    hi := least(l2, i + window_);
    FOR j IN lo..hi LOOP
      IF NOT f2[j] AND a[i] = b[j] THEN
        f1[i] := true; f2[j] := true; m := m + 1;
        EXIT;
      END IF;
    END LOOP;
  END LOOP;
  IF m = 0 THEN RETURN 0.0; END IF;
  FOR i IN 1..l1 LOOP
    IF f1[i] THEN
      WHILE NOT f2[k] LOOP k := k + 1; END LOOP;
      IF a[i] <> b[k] THEN t := t + 1; END IF;
      k := k + 1;
    END IF;
  END LOOP;
  jaro := (m::float8 / l1 + m::float8 / l2 + (m - t / 2)::float8 / m) / 3.0;
  IF jaro > 0.7 THEN
    WHILE prefix < least(4, l1, l2) AND a[prefix + 1] = b[prefix + 1] LOOP
      prefix := prefix + 1;
    END LOOP;
    jaro := jaro + prefix * 0.1 * (1.0 - jaro);
  END IF;
  RETURN jaro;
END
$fn$;
"""


def _teach_dialect() -> None:
    """Tell Splink's PostgreSQL dialect the name of the function :data:`JARO_WINKLER_SQL`
    installs (its base class raises "does not have a 'Jaro-Winkler' function")."""
    from splink.internals.dialects import PostgresDialect

    if "jaro_winkler_function_name" not in PostgresDialect.__dict__:
        PostgresDialect.jaro_winkler_function_name = property(  # type: ignore[assignment]
            lambda self: "jaro_winkler_similarity")


def postgres_db_api(url: str, *, schema: str = "splink") -> Any:
    """A Splink database API on the PostgreSQL database at ``url`` (``postgresql://...``), with
    the functions the model needs installed."""
    import sqlalchemy

    _teach_dialect()
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as con:
        con.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS fuzzystrmatch")
        con.exec_driver_sql(JARO_WINKLER_SQL)
    return _api_class()(engine, schema=schema)


def _api_class() -> type:
    from splink.backends.postgres import PostgresAPI
    from splink.internals.input_column import InputColumn
    from splink.internals.postgres.dataframe import PostgresDataFrame

    class SchemaDataFrame(PostgresDataFrame):
        @property
        def columns(self) -> list[InputColumn]:
            res = self.db_api._execute_sql_against_backend(
                "SELECT column_name FROM information_schema.columns "
                f"WHERE table_name = '{self.physical_name}' "
                f"AND table_schema = '{self.db_api._db_schema}' ORDER BY ordinal_position"
            ).mappings().all()
            return [InputColumn(r["column_name"], sqlglot_dialect_str="postgres") for r in res]

    class PostgresLinkageAPI(PostgresAPI):
        """Splink's PostgresAPI loading pandas tables with ``COPY`` (no DuckDB extension).
        In CSV, an unquoted empty field is NULL: missing values, and empty text too (which the
        model treats as missing anyway)."""

        def table_to_splink_dataframe(self, templated_name: str, physical_name: str) -> Any:
            return SchemaDataFrame(templated_name, physical_name, self)

        def table_exists_in_database(self, table_name: str) -> bool:
            return bool(self._execute_sql_against_backend(
                "SELECT 1 FROM information_schema.tables "
                f"WHERE table_name = '{table_name}' AND table_schema = '{self._db_schema}'"
            ).mappings().all())

        def _table_registration(self, input: Any, table_name: str) -> None:
            import pandas as pd

            frame = input if isinstance(input, pd.DataFrame) else pd.DataFrame(input)
            frame.head(0).to_sql(table_name, con=self._engine, index=False,
                                 if_exists="replace", schema=self._db_schema)
            buf = io.StringIO()
            frame.to_csv(buf, index=False, header=False, lineterminator="\n")  # missing: empty
            cols = ", ".join(f'"{c}"' for c in frame.columns)
            copy = f'COPY "{self._db_schema}"."{table_name}" ({cols}) FROM STDIN (FORMAT csv)'
            raw = self._engine.raw_connection()
            try:
                with raw.cursor() as cur, cur.copy(copy) as cp:
                    cp.write(buf.getvalue())
                raw.commit()
            finally:
                raw.close()

    return PostgresLinkageAPI
