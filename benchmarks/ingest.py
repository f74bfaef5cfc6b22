"""Ingest + validate a generated DTM-API-shaped CSV with idpkit, beside pandas read_csv + to_sql.

    .venv/bin/python benchmarks/ingest.py [--rows 10000000]
    .venv/bin/python benchmarks/ingest.py --backend postgres --rows 1000000

All contenders run in child processes in the same run, on the same file; peak memory is the
child's peak RSS (ru_maxrss). The pandas peer only parses and stores (no validation, no long
format), so it is a floor for "load the file", not the same work.

On DuckDB a third contender measures the floor of the machine: hand-written DuckDB SQL that reads
the same CSV and stores it in idpkit's long ``observations`` layout (the same 26 columns, one row
per count) with no checks at all — no P-code, date or cause resolution, no quarantine, no
duplicate check, row numbers taken from the file's own ``id`` column. No importer that stores the
file in that layout with DuckDB on this machine can be faster than it, so its rows/s is the
ceiling for the issue's goal (``--skip-floor`` leaves it out). ``--narrow-floor`` adds the floor of
a layout idpkit does not use, to tell whether a redesign could reach the goal: one row of place,
date and cause per source row plus one narrow (row, part, value) row per count, again with no
checks.

``--backend postgres`` brings up a throwaway PostgreSQL cluster (Debian's server binaries, as
``make test`` does; installed when missing and run as root), ingests into it, and gives the pandas
peer the same server (``to_sql`` through SQLAlchemy and psycopg). The server's own memory is not in
the children's peak RSS.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

IDPKIT = """
import sys, time
from idpkit.warehouse import connect
from idpkit.warehouse.areas import load_areas, read_gazetteer_csv
from idpkit.ingest.pipeline import ingest_file
wh = connect(sys.argv[1])
load_areas(wh, read_gazetteer_csv(sys.argv[3]))
t = time.perf_counter()
r = ingest_file(wh, sys.argv[2])
dt = time.perf_counter() - t
import resource
print(f"RESULT {dt:.3f} {r.rows_read} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")
"""

PANDAS = """
import sys, time, sqlite3
import pandas as pd
t = time.perf_counter()
if sys.argv[1].startswith("postgresql://"):
    import sqlalchemy
    con = sqlalchemy.create_engine(sys.argv[1].replace("postgresql://", "postgresql+psycopg://", 1))
else:
    con = sqlite3.connect(sys.argv[1])
n = 0
for chunk in pd.read_csv(sys.argv[2], skiprows=[1], chunksize=1_000_000, dtype=str):
    chunk.to_sql("observations", con, if_exists="append", index=False)
    n += len(chunk)
if hasattr(con, "commit"):
    con.commit()
dt = time.perf_counter() - t
import resource
print(f"RESULT {dt:.3f} {n} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")
"""


# The floors' shared parts: the CSV as DuckDB reads it (no checks, row numbers from the file's own
# ``id`` column), and the result line every child prints.
_FLOOR_SOURCE = """
import sys, time, duckdb
db, path = sys.argv[1], sys.argv[2]
names = open(path, encoding="utf-8").readline().strip().split(",")
src = ("(SELECT (id::BIGINT + 2) AS source_row, * FROM read_csv('" + path.replace("'", "''")
       + "', skip=2, header=false, all_varchar=true, names=" + repr(names) + "))")
t = time.perf_counter()
con = duckdb.connect(db)
con.execute("SET memory_limit = '4GB'")  # idpkit's default limit
"""
_FLOOR_RESULT = """
con.close()
dt = time.perf_counter() - t
n = sum(1 for _ in open(path, "rb")) - 2
import resource
print(f"RESULT {dt:.3f} {n} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")
"""

FLOOR = _FLOOR_SOURCE + """
common = \"\"\"'ds_1' AS dataset_id, 'observations' AS source_sheet, source_row, operation,
  roundNumber AS round, TRY_CAST(left(reportingDate, 10) AS DATE) AS reporting_date,
  admin0Pcode AS iso3, admin2Pcode AS area_pcode, 2::SMALLINT AS reported_level,
  admin1Pcode AS adm1_pcode, admin2Pcode AS adm2_pcode, NULL::VARCHAR AS adm3_pcode,
  NULL::VARCHAR AS adm4_pcode, NULL::VARCHAR AS site_id, 'idps' AS population_group,
  'present_stock' AS metric, lower(displacementReason) AS cause, NULL::VARCHAR AS hazard,
  NULL::VARCHAR AS cause_detail, idpOriginAdmin1Pcode AS origin_pcode,
  idpOriginAdmin1Name AS origin_name, 'individuals' AS unit\"\"\"
parts = (("all", "numPresentIdpInd"), ("male", "numberMales"), ("female", "numberFemales"))
select = " UNION ALL ".join(
    f"SELECT {common}, '{sex}' AS sex, 'all' AS age_group, TRY_CAST({c} AS DOUBLE) AS value, "
    f"NULL::VARCHAR AS flags FROM {src} WHERE {c} IS NOT NULL" for sex, c in parts)
con.execute("CREATE TABLE observations AS " + select)
""" + _FLOOR_RESULT

NARROW_FLOOR = _FLOOR_SOURCE + """
con.execute("CREATE TEMP VIEW r AS SELECT * FROM " + src)
con.execute(\"\"\"CREATE TABLE obs_rows AS SELECT 'ds_1' AS dataset_id, source_row, operation,
  roundNumber AS round, TRY_CAST(left(reportingDate, 10) AS DATE) AS reporting_date,
  admin0Pcode AS iso3, admin2Pcode AS area_pcode, 2::SMALLINT AS reported_level,
  admin1Pcode AS adm1_pcode, admin2Pcode AS adm2_pcode, lower(displacementReason) AS cause,
  idpOriginAdmin1Pcode AS origin_pcode, idpOriginAdmin1Name AS origin_name FROM r\"\"\")
con.execute(\"\"\"CREATE TABLE obs_values AS
  SELECT source_row, 0::TINYINT AS part, TRY_CAST(numPresentIdpInd AS DOUBLE) AS value FROM r
  WHERE numPresentIdpInd IS NOT NULL
  UNION ALL SELECT source_row, 1::TINYINT, TRY_CAST(numberMales AS DOUBLE) FROM r
  WHERE numberMales IS NOT NULL
  UNION ALL SELECT source_row, 2::TINYINT, TRY_CAST(numberFemales AS DOUBLE) FROM r
  WHERE numberFemales IS NOT NULL\"\"\")
""" + _FLOOR_RESULT


def run(code: str, *args: str) -> tuple[float, int, int]:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(out.stderr[-2000:])
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("RESULT"))
    _, secs, read, peak_kib = line.split()
    return float(secs), int(read), int(peak_kib) * 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--skip-pandas", action="store_true")
    ap.add_argument("--skip-floor", action="store_true",
                    help="leave out the DuckDB floor (hand-written SQL, no checks)")
    ap.add_argument("--narrow-floor", action="store_true",
                    help="also the floor of a narrower layout (rows + values tables, no checks)")
    ap.add_argument("--backend", choices=["duckdb", "postgres"], default="duckdb")
    args = ap.parse_args()
    from idpkit.testing.demo import write_large_gazetteer_csv, write_large_observations_csv

    with tempfile.TemporaryDirectory(prefix="idpkit-bench-") as tmp:
        d = Path(tmp)
        csv_path = d / "observations.csv"
        t = time.perf_counter()
        write_large_observations_csv(csv_path, args.rows)
        gaz = write_large_gazetteer_csv(d / "gazetteer.csv")
        size = csv_path.stat().st_size
        print(f"generated {args.rows:,} rows ({size / 1e6:,.0f} MB) in {time.perf_counter() - t:.1f} s")
        with _targets(args.backend, d) as (idpkit_db, pandas_db, label, peer_label):
            secs, read, peak = run(IDPKIT, idpkit_db, str(csv_path), str(gaz))
            print(f"idpkit ingest+validate ({label}): {secs:8.1f} s  {read / secs:12,.0f} rows/s  "
                  f"peak RSS {peak / 2**20:,.0f} MiB")
            if not args.skip_pandas:
                psecs, pread, ppeak = run(PANDAS, pandas_db, str(csv_path))
                print(f"pandas read_csv + to_sql ({peer_label}): {psecs:6.1f} s  "
                      f"{pread / psecs:12,.0f} rows/s  peak RSS {ppeak / 2**20:,.0f} MiB")
                print(f"ratio (idpkit rows/s ÷ pandas rows/s): {(read / secs) / (pread / psecs):.2f}")
            if args.backend == "duckdb" and not args.skip_floor:
                fsecs, fread, fpeak = run(FLOOR, str(d / "floor.duckdb"), str(csv_path))
                print(f"DuckDB floor (same long layout, no checks): {fsecs:6.1f} s  "
                      f"{fread / fsecs:12,.0f} rows/s  peak RSS {fpeak / 2**20:,.0f} MiB")
                print(f"ratio (idpkit rows/s ÷ floor rows/s): {(read / secs) / (fread / fsecs):.2f}; "
                      f"the goal of 1,000,000 rows/s is {1e6 / (fread / fsecs):.1f}x the floor")
            if args.backend == "duckdb" and args.narrow_floor:
                nsecs, nread, npeak = run(NARROW_FLOOR, str(d / "narrow.duckdb"), str(csv_path))
                print(f"DuckDB floor of a narrow layout (rows + values, no checks): {nsecs:6.1f} s  "
                      f"{nread / nsecs:12,.0f} rows/s  peak RSS {npeak / 2**20:,.0f} MiB")


@contextlib.contextmanager
def _targets(backend: str, d: Path):
    """Where idpkit and the peer write: two files, or two databases of a throwaway server."""
    if backend == "duckdb":
        yield str(d / "w.duckdb"), str(d / "p.sqlite"), "DuckDB", "SQLite"
        return
    scripts = Path(__file__).resolve().parent.parent / "scripts"
    subprocess.run(["bash", str(scripts / "ensure-postgres.sh")], check=True)
    pg_dir = Path(tempfile.mkdtemp(prefix="idpkit-bench-pg-"))
    url = subprocess.run(["bash", str(scripts / "pg-test-cluster.sh"), "start", str(pg_dir)],
                         check=True, capture_output=True, text=True).stdout.strip()
    try:
        import psycopg

        with psycopg.connect(url, autocommit=True) as con:
            con.execute("CREATE DATABASE idpkit_peer")
        yield url, url.rsplit("/", 1)[0] + "/idpkit_peer", "PostgreSQL", "PostgreSQL"
    finally:
        subprocess.run(["bash", str(scripts / "pg-test-cluster.sh"), "stop", str(pg_dir)],
                       check=False)

if __name__ == "__main__":
    main()
