"""Figures engine: all-level stocks for every round plus the flow identity, beside pandas and SQL.

    .venv/bin/python benchmarks/figures.py [--rows 10000000] [--rounds 24] [--profile]

The input is a DuckDB warehouse generated directly with SQL (not through ``idpkit ingest``, which
would take minutes for 10M rows), shaped like a multi-round DTM operation of a fictional country
(``ZDL``: 4 admin 1, 20 admin 2, 2,000 admin 3), ``--rows`` observations in all:

* *baseline* (``baseline_area``, monthly rounds, month-end dates): one source row per location
  (several per admin 3) giving 7 observations: IDP individuals by cause (conflict, disaster; 1 in 40
  stored as ``other`` + ``multiple-causes`` as ingestion does; 1 in 97 names an unlisted first
  cause and stays ``other``), IDP households, returnee
  individuals and households, and male/female breakdowns that must not be added. In each round
  one admin 3 in 11 is not assessed. Four rounds were imported twice (an older copy with other
  numbers, which rule 3 must ignore).
* *sites* (``site``, the first half of the rounds, dates spread over days 10-15 of the month): IDP
  individuals/households and sex breakdowns per site, in 500 admin 3; they are triangulation where
  the baseline has the area, recommended where it does not, and stale in the last rounds.
* *API extract* (``baseline_area`` of another source, quarterly): the same people repeated at
  admin 0, 1 and 2 (one admin 1 only at admin 1), by cause and origin (rule 4: finest level).
* *flow monitoring*: daily arrivals, departures (IDPs) and returns (returnees) at admin 2, with
  sex breakdowns and multiple-cause rows.

What is timed, each in its own child process on the same file (peak memory: the child's own peak
RSS, ``ru_maxrss``):

* idpkit: the rows chosen once for every round date (``chosen_rows``), the stocks at admin 0, 1,
  2 and 3 from them (one ``stock_frames`` call) and the identity of every pair of consecutive
  round dates (one ``identity_periods_frame`` call per level of ``--identity-levels``, default:
  admin 2, where the flows are reported), reading the same stored rows;
* pandas: the needed columns of ``observations`` (and ``datasets``, ``areas``) read with
  ``duckdb ... .df()`` (timed separately and included in the total), then the same rules written
  straightforwardly with pandas; the identity is built from its own stock table;
* SQL: hand-written DuckDB SQL, the floor: one statement for the rows the stocks are built from
  (rules 1-4 and the latest round), one for the stocks at every level, one for the identity of
  every period.

All three must give the same tables (every stock cell: value, source date, staleness, coverage;
every identity row); the run fails when they differ.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

from _harness import answer, peak_rss, run_child

LEVELS = (0, 1, 2, 3)
MAX_AGE_DAYS = 180  # StockQuery's default
PRIORITY = ("baseline_area", "site", "registration", "survey", "flow_monitoring", "other")
FLOW_OF_METRIC = {"arrivals": "arrival", "departures": "departure", "returns": "return",
                  "new_displacement": "new_displacement",
                  "secondary_displacement": "secondary_displacement"}
CAUSES = ("conflict", "disaster", "other", "unknown")
N_ADM1, ADM2_PER_ADM1, ADM3_PER_ADM2 = 4, 5, 100
N_ADM2 = N_ADM1 * ADM2_PER_ADM1
N_ADM3 = N_ADM2 * ADM3_PER_ADM2
N_SITES = 500
FIRST_MONTH = date(2024, 1, 1)


# ------------------------------------------------------------------------------------ input
def round_dates(rounds: int) -> list[date]:
    out = []
    for r in range(rounds):
        y, m = divmod(FIRST_MONTH.month - 1 + r + 1, 12)
        out.append(date(FIRST_MONTH.year + y, m + 1, 1) - timedelta(days=1))
    return out


def build_warehouse(path: Path, rows: int, rounds: int) -> dict[str, int]:
    """Create the warehouse at ``path`` (idpkit's own schema) and fill it with generated rows."""
    from idpkit.warehouse import connect

    connect(str(path)).close()  # creates the core tables with idpkit's schemas
    import duckdb

    con = duckdb.connect(str(path))
    con.execute("SET preserve_insertion_order = true")
    fm = f"DATE '{FIRST_MONTH.isoformat()}'"
    month_end = f"last_day({fm} + to_months(CAST(r AS INTEGER)))"  # r: 0-based round
    # areas: admin 1-3 (the OCHA gazetteer has no admin-0 row; its name comes from the ISO code)
    con.execute(f"""
        INSERT INTO areas (pcode, name, admin_level, parent_pcode, iso3, valid_from_date, source)
        SELECT 'ZD' || lpad(CAST(a1 + 1 AS VARCHAR), 2, '0'), 'Province ' || (a1 + 1), 1, 'ZDL',
               'ZDL', DATE '2020-01-01', 'generated'
        FROM range({N_ADM1}) t(a1)""")
    con.execute(f"""
        INSERT INTO areas (pcode, name, admin_level, parent_pcode, iso3, valid_from_date, source)
        SELECT 'ZD' || lpad(CAST(a2 // {ADM2_PER_ADM1} + 1 AS VARCHAR), 2, '0')
                    || lpad(CAST(a2 % {ADM2_PER_ADM1} + 1 AS VARCHAR), 2, '0'),
               'District ' || (a2 + 1), 2,
               'ZD' || lpad(CAST(a2 // {ADM2_PER_ADM1} + 1 AS VARCHAR), 2, '0'), 'ZDL',
               DATE '2020-01-01', 'generated'
        FROM range({N_ADM2}) t(a2)""")
    con.execute(f"""
        INSERT INTO areas (pcode, name, admin_level, parent_pcode, iso3, valid_from_date, source)
        SELECT p.pcode || lpad(CAST(a3 % {ADM3_PER_ADM2} + 1 AS VARCHAR), 3, '0'),
               'Ward ' || (a3 + 1), 3, p.pcode, 'ZDL', DATE '2020-01-01', 'generated'
        FROM range({N_ADM3}) t(a3)
        JOIN (SELECT CAST(row_number() OVER (ORDER BY pcode) - 1 AS BIGINT) AS i, pcode
              FROM areas WHERE admin_level = 2) p ON p.i = a3 // {ADM3_PER_ADM2}""")
    # helpers: admin 3 / admin 2 index -> codes
    con.execute("""
        CREATE TEMP TABLE a3 AS
        SELECT CAST(row_number() OVER (ORDER BY pcode) - 1 AS BIGINT) AS ai, pcode AS adm3,
               parent_pcode AS adm2, left(pcode, 4) AS adm1
        FROM areas WHERE admin_level = 3""")
    con.execute("""
        CREATE TEMP TABLE a2 AS
        SELECT CAST(row_number() OVER (ORDER BY pcode) - 1 AS BIGINT) AS ai, pcode AS adm2,
               parent_pcode AS adm1
        FROM areas WHERE admin_level = 2""")

    dup_rounds = [r for r in range(rounds) if r % 6 == 2]
    n_sites_rounds = max(1, rounds // 2)
    quarters = [r for r in range(rounds) if r % 3 == 2]
    n_c = len(quarters) * (1 + N_ADM1 + N_ADM2 - ADM2_PER_ADM1) * 2 * N_ADM2 * 3
    n_d = rows // 10
    n_b = rows * 12 // 100
    n_a = rows - n_b - n_c - n_d
    files_a = rounds + len(dup_rounds)
    if n_a < files_a * 7 * N_ADM3:
        raise SystemExit("--rows too small: each baseline file needs a row per admin 3")

    # datasets: one per file
    ds = []
    base_at = "TIMESTAMP '2026-01-01 00:00:00'"
    for r in range(rounds):
        ds.append(f"('ds_a_r{r + 1:02d}', 'baseline_round_{r + 1:02d}.csv', 'IOM DTM', "
                  f"'baseline_area', '{r + 1}', {r}, {base_at} + INTERVAL ({r * 10}) MINUTE)")
    for r in dup_rounds:
        ds.append(f"('ds_a_r{r + 1:02d}_xlsx', 'baseline_round_{r + 1:02d}.xlsx', 'IOM DTM', "
                  f"'baseline_area', '{r + 1}', {r}, {base_at} + INTERVAL ({r * 10 - 5}) MINUTE)")
    for r in range(n_sites_rounds):
        ds.append(f"('ds_b_r{r + 1:02d}', 'sites_round_{r + 1:02d}.csv', 'IOM DTM', 'site', "
                  f"'S{r + 1:02d}', {r}, {base_at} + INTERVAL ({r * 10 + 1}) MINUTE)")
    for r in quarters:
        ds.append(f"('ds_c_r{r + 1:02d}', 'dtm_api_round_{r + 1:02d}.csv', NULL, "
                  f"'baseline_area', '{r + 1}', {r}, {base_at} + INTERVAL ({r * 10 + 2}) MINUTE)")
    ds.append(f"('ds_d_fm', 'flow_monitoring.csv', 'IOM DTM', 'flow_monitoring', NULL, NULL, "
              f"{base_at} + INTERVAL (999) MINUTE)")
    con.execute(f"""
        INSERT INTO datasets (dataset_id, file_name, sheet, source_organisation, assessment_type,
                              operation, round, reporting_date, iso3, imported_at, idpkit_version)
        SELECT id, fname, fname, org, kind, 'Zedland crisis', rnd,
               CASE WHEN r IS NULL THEN NULL ELSE {month_end} END, 'ZDL', imp_at, 'bench'
        FROM (VALUES {", ".join(ds)}) t(id, fname, org, kind, rnd, r, imp_at)""")

    cols = ("dataset_id, source_sheet, source_row, operation, round, reporting_date, iso3, "
            "area_pcode, reported_level, adm1_pcode, adm2_pcode, adm3_pcode, adm4_pcode, site_id, "
            "population_group, metric, cause, hazard, cause_detail, origin_pcode, origin_name, "
            "unit, sex, age_group, value, flags")
    # kinds of a source row: (group, unit, cause, sex)
    kinds_a = [("idps", "individuals", "conflict", "all"), ("idps", "individuals", "disaster", "all"),
               ("idps", "households", "unknown", "all"), ("returnees", "individuals", "unknown", "all"),
               ("returnees", "households", "unknown", "all"), ("idps", "individuals", "unknown", "male"),
               ("idps", "individuals", "unknown", "female")]
    kinds_b = [("idps", "individuals", "unknown", "all"), ("idps", "households", "unknown", "all"),
               ("idps", "individuals", "unknown", "male"), ("idps", "individuals", "unknown", "female")]

    def kinds_table(name: str, kinds: list[tuple[str, str, str, str]]) -> None:
        vals = ", ".join(f"({i}, '{g}', '{u}', '{c}', '{s}')" for i, (g, u, c, s) in enumerate(kinds))
        con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM (VALUES {vals}) t(k, grp, unit, "
                    "cause, sex)")

    kinds_table("ka", kinds_a)
    kinds_table("kb", kinds_b)
    dup_list = ", ".join(str(r) for r in dup_rounds) or "NULL"
    # A: baseline. row i -> file f (the rounds, then the older copies), j = row within the file
    per_a = n_a // files_a
    con.execute(f"""
        INSERT INTO observations ({cols})
        WITH x AS (
            SELECT i, f, i - f * {per_a} AS j,
                   CASE WHEN f < {rounds} THEN f
                        ELSE list_extract([{dup_list}], CAST(f - {rounds} + 1 AS INTEGER)) END AS r
            FROM (SELECT i, least(i // {per_a}, {files_a - 1}) AS f FROM range({n_a}) t(i))),
        y AS (SELECT *, j % 7 AS k, (j // 7) % {N_ADM3} AS a, hash(i, 11) AS h FROM x),
        z AS (SELECT *, CASE WHEN (a + r) % 11 = 0 THEN (a + 1) % {N_ADM3} ELSE a END AS a_ok
              FROM y)
        SELECT CASE WHEN f < {rounds} THEN 'ds_a_r' || lpad(CAST(r + 1 AS VARCHAR), 2, '0')
                    ELSE 'ds_a_r' || lpad(CAST(r + 1 AS VARCHAR), 2, '0') || '_xlsx' END,
               'Baseline Assessment Dataset', j // 7 + 6, 'Zedland crisis', CAST(r + 1 AS VARCHAR),
               {month_end}, 'ZDL', a3.adm3, 3, a3.adm1, a3.adm2, a3.adm3, NULL, NULL,
               ka.grp, 'present_stock',
               CASE WHEN ka.k < 2 AND (h % 40 = 0 OR h % 97 = 1) THEN 'other' ELSE ka.cause END,
               CASE WHEN ka.k = 1 THEN 'flood' END,
               CASE WHEN ka.k < 2 AND h % 40 = 0 THEN
                    CASE WHEN ka.k = 0 THEN 'conflict; disaster' ELSE 'disaster; conflict' END
                    WHEN ka.k < 2 AND h % 97 = 1 THEN 'violence; conflict' END,
               NULL, NULL, ka.unit, ka.sex, 'all',
               CAST(1 + hash(i, CASE WHEN f < {rounds} THEN 1 ELSE 2 END) % 400 AS DOUBLE),
               CASE WHEN ka.k < 2 AND (h % 40 = 0 OR h % 97 = 1) THEN 'multiple-causes'
                    WHEN ka.k = 3 AND h % 97 = 1 THEN 'formula-injection' END
        FROM z JOIN a3 ON a3.ai = z.a_ok JOIN ka ON ka.k = z.k
        ORDER BY i""")
    # B: sites, the first half of the rounds
    per_b = n_b // n_sites_rounds
    con.execute(f"""
        INSERT INTO observations ({cols})
        WITH x AS (
            SELECT i, least(i // {per_b}, {n_sites_rounds - 1}) AS r FROM range({n_b}) t(i)),
        y AS (SELECT *, i - r * {per_b} AS j FROM x),
        z AS (SELECT *, j % 4 AS k, (j // 4) % {N_SITES} AS s FROM y)
        SELECT 'ds_b_r' || lpad(CAST(r + 1 AS VARCHAR), 2, '0'), 'sites', j // 4 + 3,
               'Zedland crisis', 'S' || lpad(CAST(r + 1 AS VARCHAR), 2, '0'),
               make_date(year({month_end}), month({month_end}), CAST(10 + s % 6 AS INTEGER)),
               'ZDL', a3.adm3, 3, a3.adm1, a3.adm2, a3.adm3, NULL,
               'ZDL-S-' || lpad(CAST(s + 1 AS VARCHAR), 4, '0'),
               kb.grp, 'present_stock', kb.cause, NULL, NULL, NULL, NULL, kb.unit, kb.sex, 'all',
               CAST(1 + hash(i, 3) % 300 AS DOUBLE), NULL
        FROM z JOIN a3 ON a3.ai = (z.s * 4) % {N_ADM3} JOIN kb ON kb.k = z.k
        ORDER BY i""")
    # C: API extract, quarterly, the same people at admin 0, 1 and 2 (ZD04 only at admin 1)
    q_list = ", ".join(str(r) for r in quarters) or "NULL"
    con.execute(f"""
        INSERT INTO observations ({cols})
        WITH lv AS (
            SELECT 0 AS lvl, 'ZDL' AS area, NULL AS adm1, NULL AS adm2
            UNION ALL SELECT 1, pcode, pcode, NULL FROM areas WHERE admin_level = 1
            UNION ALL SELECT 2, pcode, parent_pcode, pcode FROM areas
                      WHERE admin_level = 2 AND parent_pcode <> 'ZD04'),
        q AS (SELECT unnest([{q_list}]) AS r),
        x AS (
            SELECT q.r, lv.*, reason.c, a2.adm2 AS origin, k.k,
                   row_number() OVER (ORDER BY q.r, lv.lvl, lv.area, reason.c, a2.adm2, k.k) AS n
            FROM q, lv, (VALUES ('conflict'), ('disaster')) reason(c), a2, range(3) k(k))
        SELECT 'ds_c_r' || lpad(CAST(r + 1 AS VARCHAR), 2, '0'), 'dtm_api', n + 2,
               'Zedland crisis', CAST(r + 1 AS VARCHAR), {month_end}, 'ZDL', area, lvl, adm1, adm2,
               NULL, NULL, NULL, 'idps', 'present_stock',
               CASE WHEN k = 0 THEN c ELSE 'unknown' END, NULL, NULL, origin, NULL, 'individuals',
               CASE k WHEN 0 THEN 'all' WHEN 1 THEN 'male' ELSE 'female' END, 'all',
               CAST(1 + hash(n, r, 5) % 2000 AS DOUBLE), NULL
        FROM x ORDER BY n""")
    # D: flow monitoring, daily, admin 2
    last = round_dates(rounds)[-1]
    n_days = (last - FIRST_MONTH).days + 1
    con.execute(f"""
        INSERT INTO observations ({cols})
        WITH x AS (SELECT i, i % {n_days} AS d, (i // {n_days}) % {N_ADM2} AS a,
                          hash(i, 7) % 10 AS k FROM range({n_d}) t(i))
        SELECT 'ds_d_fm', 'flow_monitoring', i + 3, 'Zedland crisis', NULL,
               CAST({fm} + CAST(d AS INTEGER) AS DATE), 'ZDL', a2.adm2, 2, a2.adm1, a2.adm2, NULL,
               NULL, NULL,
               CASE WHEN k = 7 THEN 'returnees' ELSE 'idps' END,
               CASE WHEN k IN (5, 6) THEN 'departures' WHEN k = 7 THEN 'returns'
                    ELSE 'arrivals' END,
               CASE WHEN k IN (3, 4, 6) THEN 'disaster' WHEN k = 7 THEN 'unknown'
                    WHEN k = 9 THEN 'other' ELSE 'conflict' END,
               NULL,
               CASE WHEN k = 9 THEN 'disaster; conflict' END,
               NULL, NULL, 'individuals',
               CASE WHEN k = 8 THEN 'male' ELSE 'all' END, 'all',
               CAST(1 + hash(i, 9) % 50 AS DOUBLE),
               CASE WHEN k = 9 THEN 'multiple-causes' END
        FROM x JOIN a2 ON a2.ai = x.a ORDER BY i""")
    n = con.execute("SELECT count(*) FROM observations").fetchone()[0]
    con.execute("CHECKPOINT")
    con.close()
    return {"observations": n, "baseline": n_a, "sites": n_b, "api": n_c, "flows": n_d,
            "files": files_a + n_sites_rounds + len(quarters) + 1}


# ------------------------------------------------------------------------------------ children
_rss = peak_rss


def _dates(cfg: dict) -> list[date]:
    return [date.fromisoformat(d) for d in cfg["dates"]]


def child_engine(db: str, out: Path, cfg: dict) -> dict:
    """idpkit's one-call APIs: the rows are chosen once (``chosen_rows``), the stocks of every
    level come from ``stock_frames`` and the identity of every period from one
    ``identity_periods_frame`` call per level, all reading the same stored rows."""
    import pandas as pd

    from idpkit.figures.flows import identity_periods_frame
    from idpkit.figures.stock import StockQuery, chosen_rows, stock_frames
    from idpkit.warehouse import connect

    dates = _dates(cfg)
    t0 = time.perf_counter()
    wh = connect(db)
    times = {}
    ident = []
    with wh.scratch():
        t = time.perf_counter()
        rows = chosen_rows(wh, StockQuery(dates))
        times["rows"] = time.perf_counter() - t
        t = time.perf_counter()
        stocks = stock_frames(wh, StockQuery(dates), LEVELS, rows=rows)
        times["stocks"] = time.perf_counter() - t
        t = time.perf_counter()
        for lv in cfg["identity_levels"]:
            df = identity_periods_frame(wh, dates, lv, rows=rows)
            ident.append(df.rename(columns={f"adm{lv}_pcode": "area"}).assign(level=lv))
        times["identity"] = time.perf_counter() - t
    times["total"] = time.perf_counter() - t0
    wh.close()
    for lv, df in stocks.items():
        df.rename(columns={f"adm{lv}_pcode": "area"}).to_parquet(out / f"stock_L{lv}.parquet")
    pd.concat(ident, ignore_index=True).to_parquet(out / "identity.parquet")
    return times


def child_engine_profile(db: str, out: Path, cfg: dict) -> dict:
    """Where the engine's time goes, timed from the outside (best of 2; of 1 above 5M rows):
    compiling the rows step (rules 1-4 and the latest round) to SQL and running it into a TEMP
    table (``chosen_rows``), then each level's stock query and the all-period identity over the
    stored rows, each split into compiling (Ibis to SQL) and the rest."""
    import ibis

    from idpkit.figures.flows import identity_periods_expr, identity_periods_frame
    from idpkit.figures.stock import StockQuery, chosen_rows, source_rows, stock_expr, stock_frame
    from idpkit.warehouse import connect

    def best(fn, n: int = 2) -> float:
        ts = []
        for _ in range(n):
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
        return min(ts)

    dates = _dates(cfg)
    n = cfg.get("profile_repeats", 2)
    wh = connect(db)
    times = {}
    q = StockQuery(dates)
    with wh.scratch():
        times["compile rows"] = best(lambda: ibis.to_sql(source_rows(wh, q), "duckdb"))
        times["chosen_rows"] = best(lambda: chosen_rows(wh, q), n)
        rows = chosen_rows(wh, q)
        for lv in LEVELS:
            ql = StockQuery(dates, level=lv)
            times[f"L{lv} compile stock"] = best(
                lambda ql=ql: ibis.to_sql(stock_expr(wh, ql, rows=rows), "duckdb"))
            times[f"L{lv} stock_frame"] = best(lambda ql=ql: stock_frame(wh, ql, rows=rows), n)
        times["compile identity"] = best(
            lambda: ibis.to_sql(identity_periods_expr(wh, dates, 2, rows=rows), "duckdb"))
        times["identity_periods_frame"] = best(
            lambda: identity_periods_frame(wh, dates, 2, rows=rows), n)
    wh.close()
    return times


def child_pandas(db: str, out: Path, cfg: dict) -> dict:
    import duckdb
    import numpy as np
    import pandas as pd

    dates = [pd.Timestamp(d) for d in cfg["dates"]]
    times = {}
    t0 = time.perf_counter()
    con = duckdb.connect(db, read_only=True)
    obs = con.execute(
        "SELECT dataset_id, operation, round, reporting_date, iso3, reported_level, adm1_pcode, "
        "adm2_pcode, adm3_pcode, adm4_pcode, population_group, metric, cause, cause_detail, unit, "
        "sex, age_group, value, flags FROM observations").df()
    ds = con.execute("SELECT dataset_id, assessment_type, source_organisation, imported_at "
                     "FROM datasets").df()
    areas = con.execute("SELECT pcode, admin_level, parent_pcode, iso3 FROM areas").df()
    con.close()
    times["read"] = time.perf_counter() - t0
    t1 = time.perf_counter()

    def primary_cause(df: pd.DataFrame) -> pd.Series:
        first = df.cause_detail.str.split(";").str[0].str.strip()
        multi = (df["flags"].fillna("").str.contains("multiple-causes", regex=False)
                 & (df.cause == "other") & first.isin(CAUSES))
        return df.cause.where(~multi, first)

    # rule 1: present-population totals of each source
    o = obs[(obs.metric == "present_stock") & (obs.sex == "all") & (obs.age_group == "all")
            & obs.value.notna() & obs.reporting_date.notna() & (obs.reporting_date <= max(dates))]
    o = o.merge(ds, on="dataset_id")
    o["cause"] = primary_cause(o)
    o["source"] = (o.source_organisation.fillna("") + " | " + o.operation.fillna("") + " | "
                   + o.assessment_type.fillna("other") + " | " + o.iso3.fillna(""))
    o["round_key"] = o["round"].fillna(o.reporting_date.dt.strftime("%Y-%m-%d"))
    # rule 3: one file per round (the latest imported)
    files = o.groupby(["source", "round_key", "dataset_id"], as_index=False).imported_at.max()
    files = files.sort_values(["imported_at", "dataset_id"], ascending=False)
    files = files.drop_duplicates(["source", "round_key"])
    o = o.merge(files[["source", "round_key", "dataset_id"]], on=["source", "round_key", "dataset_id"])
    # rule 4: the finest level per admin 1 of each file; admin-0 rows only if nothing finer
    key = ["dataset_id", "source", "round_key"]
    o["_a1"] = o.adm1_pcode.fillna("")
    finest = o.groupby(key + ["_a1"]).reported_level.transform("max")
    o = o[o.reported_level.fillna(-1) == finest.fillna(-1)]
    finer = (o._a1 != "").groupby([o[k] for k in key]).transform("any")
    o = o[(o._a1 != "") | ~finer]
    # rule 2: the latest round of each source at or before each reference date
    rounds = o.groupby(["source", "round_key"], as_index=False).reporting_date.max()
    rounds = rounds.rename(columns={"reporting_date": "source_date"})
    rounds = rounds.merge(pd.DataFrame({"reference_date": dates}), how="cross")
    rounds = rounds[rounds.source_date <= rounds.reference_date]
    rounds = rounds.assign(_len=rounds.round_key.str.len()).sort_values(
        ["reference_date", "source", "source_date", "_len", "round_key"],
        ascending=[True, True, False, False, False])
    latest = rounds.drop_duplicates(["reference_date", "source"]).drop(columns="_len")
    o = o.merge(latest, on=["source", "round_key"])
    o["stale"] = o.source_date < o.reference_date - pd.Timedelta(days=MAX_AGE_DAYS)

    def prio(per: pd.DataFrame) -> pd.Series:
        r = pd.Series(len(PRIORITY), index=per.index)
        for i, name in reversed(list(enumerate(PRIORITY))):
            r = r.mask((per.assessment_type == name) | (per.source_organisation == name), i)
        return r

    # rules 5-7 at each level: roll-up with coverage, one recommended source per cell
    stocks = {}
    cell = ["reference_date", "source", "area", "population_group", "unit"]
    for lv in LEVELS:
        area = "iso3" if lv == 0 else f"adm{lv}_pcode"
        x = o[o.reported_level.fillna(0) >= lv]
        x = x.assign(area=x[area])
        x = x[x.area.notna()]
        x["_child"] = x[f"adm{lv + 1}_pcode"].where(x.reported_level.fillna(0) > lv)
        x["_whole"] = x._child.isna()
        per = x.groupby(cell, as_index=False, dropna=False).agg(
            _covered=("_child", "nunique"), _whole=("_whole", "any"),
            source_date=("source_date", "max"), stale=("stale", "max"),
            assessment_type=("assessment_type", "max"),
            source_organisation=("source_organisation", "max"))
        kids = areas[areas.admin_level == lv + 1]
        kids = kids.groupby("iso3" if lv == 0 else "parent_pcode").pcode.nunique()
        n_kids = per.area.map(kids)
        cov = (per._covered / n_kids).round(4).where(n_kids.fillna(0) > 0)
        per["coverage"] = cov.mask(per._whole, 1.0)
        per["_prio"] = prio(per)
        per["_cov"] = per.coverage.fillna(0)
        per = per.sort_values(["reference_date", "area", "population_group", "unit", "stale",
                               "_prio", "source_date", "_cov", "source"],
                              ascending=[True, True, True, True, True, True, False, False, True])
        rec = per.drop_duplicates(["reference_date", "area", "population_group", "unit"])
        g = x.groupby(cell + ["cause"], as_index=False, dropna=False).value.sum()
        stocks[lv] = g.merge(rec[cell + ["source_date", "stale", "coverage"]], on=cell)
    times["stocks"] = time.perf_counter() - t1

    # the identity at the identity levels, for each pair of consecutive dates
    t2 = time.perf_counter()
    fl = obs[obs.metric.isin(list(FLOW_OF_METRIC)) & (obs.sex == "all") & (obs.age_group == "all")
             & (obs.unit == "individuals") & obs.value.notna()]
    fl = fl.assign(cause=primary_cause(fl), flow=fl.metric.map(FLOW_OF_METRIC))
    ident = []
    keys = ["area", "population_group", "cause"]
    for lv in cfg["identity_levels"]:
        area = "iso3" if lv == 0 else f"adm{lv}_pcode"
        f_lv = fl[fl.reported_level.fillna(0) >= lv]
        f_lv = f_lv.assign(area=f_lv[area])
        f_lv = f_lv[f_lv.area.notna()]
        s_lv = stocks[lv]
        s_lv = s_lv[(s_lv.unit == "individuals") & ~s_lv.stale.astype(bool)]
        for d0, d1 in pairwise(dates):
            s = s_lv[s_lv.reference_date.isin([d0, d1])]
            s = s.assign(k=np.where(s.reference_date == d0, "s0", "s1"))
            both_src = set(s.source[s.k == "s0"]) & set(s.source[s.k == "s1"])
            f = f_lv[(f_lv.reporting_date > d0) & (f_lv.reporting_date <= d1)]
            f = f.groupby(keys + ["flow"], as_index=False).value.sum().rename(columns={"flow": "k"})
            u = pd.concat([s[keys + ["source", "k", "value"]], f.assign(source=None)],
                          ignore_index=True)
            u["_both"] = u.source.isin(both_src)
            p = u.pivot_table(index=keys, columns="k", values="value", aggfunc="sum")
            p = p.reindex(columns=["s0", "s1", "arrival", "departure", "return"]).fillna(0.0)
            src = u.dropna(subset=["source"]).pivot_table(index=keys, columns="k", values="source",
                                                           aggfunc="max")
            src0 = src["s0"].reindex(p.index) if "s0" in src else pd.Series(None, index=p.index)
            src1 = src["s1"].reindex(p.index) if "s1" in src else pd.Series(None, index=p.index)
            both = u.groupby(keys)._both.any().reindex(p.index)
            same = src0.isna() | src1.isna() | (src0 == src1)
            idp = p.index.get_level_values("population_group") == "idps"
            t = pd.DataFrame({
                "from_date": d0, "to_date": d1, "stock_from": p.s0,
                "inflows": np.where(idp, p.arrival, p["return"]),
                "outflows": np.where(idp, p.departure, 0.0), "stock_to": p.s1,
                "complete": both & same}, index=p.index)
            t["residual"] = t.stock_to - (t.stock_from + t.inflows - t.outflows)
            ident.append(t.reset_index().assign(level=lv))
    times["identity"] = time.perf_counter() - t2
    times["compute"] = time.perf_counter() - t1
    times["total"] = time.perf_counter() - t0
    for lv, df in stocks.items():
        df.to_parquet(out / f"stock_L{lv}.parquet")
    pd.concat(ident, ignore_index=True).to_parquet(out / "identity.parquet")
    times["pandas_version"] = pd.__version__
    return times


def sql_rows(dates: list[date]) -> str:
    """Rules 1-4 and the latest round: the rows every stock is built from, per reference date."""
    refs = ", ".join(f"(DATE '{d}', DATE '{d - timedelta(days=MAX_AGE_DAYS)}')" for d in dates)
    causes = ", ".join(f"'{c}'" for c in CAUSES)
    return f"""
    CREATE TEMP TABLE r AS
    WITH refs AS (SELECT * FROM (VALUES {refs}) t(reference_date, oldest_fresh)),
    base AS (
        SELECT o.dataset_id, o.reporting_date, o.reported_level, o.iso3, o.adm1_pcode,
               o.adm2_pcode, o.adm3_pcode, o.adm4_pcode, o.population_group, o.unit, o.value,
               CASE WHEN coalesce(o.flags, '') LIKE '%multiple-causes%' AND o.cause = 'other'
                         AND trim(split_part(o.cause_detail, ';', 1)) IN ({causes})
                    THEN trim(split_part(o.cause_detail, ';', 1)) ELSE o.cause END AS cause,
               coalesce(d.source_organisation, '') || ' | ' || coalesce(o.operation, '') || ' | '
                 || coalesce(d.assessment_type, 'other') || ' | ' || coalesce(o.iso3, '') AS source,
               coalesce(o.round, CAST(o.reporting_date AS VARCHAR)) AS round_key,
               d.assessment_type, d.source_organisation, d.imported_at
        FROM observations o JOIN datasets d USING (dataset_id)
        WHERE o.metric = 'present_stock' AND o.sex = 'all' AND o.age_group = 'all'
          AND o.value IS NOT NULL AND o.reporting_date <= DATE '{max(dates)}'),
    one_file AS (
        SELECT source, round_key, dataset_id FROM base GROUP BY source, round_key, dataset_id
        QUALIFY row_number() OVER (PARTITION BY source, round_key
                                   ORDER BY max(imported_at) DESC, dataset_id DESC) = 1),
    finest AS (
        SELECT * FROM (
            SELECT b.*,
                   max(reported_level) OVER (PARTITION BY dataset_id, round_key,
                                             coalesce(adm1_pcode, '')) AS lvl,
                   bool_or(coalesce(adm1_pcode, '') <> '') OVER (PARTITION BY dataset_id,
                                                                 round_key) AS has_a1
            FROM base b SEMI JOIN one_file f USING (source, round_key, dataset_id))
        WHERE coalesce(reported_level, -1) = coalesce(lvl, -1)
          AND (coalesce(adm1_pcode, '') <> '' OR NOT has_a1)),
    latest AS (
        SELECT r.source, r.round_key, f.reference_date, r.round_date AS source_date,
               r.round_date < f.oldest_fresh AS stale
        FROM (SELECT source, round_key, max(reporting_date) AS round_date FROM finest
              GROUP BY source, round_key) r
        JOIN refs f ON r.round_date <= f.reference_date
        QUALIFY row_number() OVER (PARTITION BY f.reference_date, r.source
                                   ORDER BY r.round_date DESC, length(r.round_key) DESC,
                                            r.round_key DESC) = 1)
    SELECT l.reference_date, l.source_date, l.stale, x.source, x.reported_level, x.iso3,
           x.adm1_pcode, x.adm2_pcode, x.adm3_pcode, x.adm4_pcode, x.population_group, x.unit,
           x.cause, x.value, x.assessment_type, x.source_organisation
    FROM finest x JOIN latest l USING (source, round_key)"""


def sql_stocks() -> str:
    """The recommended stock at every level: one GROUP BY per level over the rows, then a choice
    per cell on the (small) grouped table."""
    prio = " ".join(f"WHEN assessment_type = '{p}' OR source_organisation = '{p}' THEN {i}"
                    for i, p in enumerate(PRIORITY))
    parts = []
    for lv in LEVELS:
        area = "iso3" if lv == 0 else f"adm{lv}_pcode"
        kids_key = "iso3" if lv == 0 else "parent_pcode"
        parts.append(f"""
        g{lv} AS (
            SELECT reference_date, source, {area} AS area, population_group, unit, cause,
                   CASE WHEN coalesce(reported_level, 0) > {lv} THEN adm{lv + 1}_pcode END AS child,
                   sum(value) AS value, max(source_date) AS source_date, bool_or(stale) AS stale,
                   max(assessment_type) AS assessment_type,
                   max(source_organisation) AS source_organisation
            FROM r WHERE coalesce(reported_level, 0) >= {lv} AND {area} IS NOT NULL GROUP BY ALL),
        k{lv} AS (SELECT {kids_key} AS area, count(DISTINCT pcode) AS n FROM areas
                  WHERE admin_level = {lv + 1} GROUP BY ALL),
        c{lv} AS (
            SELECT p.*, CASE WHEN whole THEN 1.0
                             WHEN coalesce(k.n, 0) > 0 THEN round(covered / k.n, 4) END AS coverage
            FROM (SELECT reference_date, source, area, population_group, unit,
                         count(DISTINCT child) AS covered, bool_or(child IS NULL) AS whole,
                         max(source_date) AS source_date, bool_or(stale) AS stale,
                         CASE {prio} ELSE {len(PRIORITY)} END AS prio
                  FROM g{lv} GROUP BY reference_date, source, area, population_group, unit,
                                      assessment_type, source_organisation) p
            LEFT JOIN k{lv} k USING (area)
            QUALIFY row_number() OVER (
                PARTITION BY reference_date, area, population_group, unit
                ORDER BY stale, prio, source_date DESC, coalesce(coverage, 0) DESC, source) = 1),
        s{lv} AS (
            SELECT {lv} AS level, g.reference_date, g.area, g.population_group, g.unit, g.cause,
                   sum(g.value) AS value, c.source, c.source_date, c.stale, c.coverage
            FROM g{lv} g JOIN c{lv} c USING (reference_date, source, area, population_group, unit)
            GROUP BY ALL)""")
    union = " UNION ALL ".join(f"SELECT * FROM s{lv}" for lv in LEVELS)
    return f"CREATE TEMP TABLE s AS WITH {','.join(parts)} {union}"


def sql_identity(dates: list[date], levels: list[int]) -> str:
    periods = ", ".join(f"(DATE '{a}', DATE '{b}')" for a, b in pairwise(dates))
    causes = ", ".join(f"'{c}'" for c in CAUSES)
    flows = ", ".join(f"'{m}'" for m in FLOW_OF_METRIC)
    cases = " ".join(f"WHEN '{m}' THEN '{f}'" for m, f in FLOW_OF_METRIC.items())
    lv_list = ", ".join(map(str, levels))
    area = "CASE lv.level " + " ".join(
        f"WHEN {lv} THEN {'iso3' if lv == 0 else f'adm{lv}_pcode'}" for lv in levels) + " END"
    return f"""
    WITH periods AS (SELECT * FROM (VALUES {periods}) t(d0, d1)),
    st AS (
        SELECT s.level, p.d0, p.d1, s.area, s.population_group, s.cause, s.source,
               CASE WHEN s.reference_date = p.d0 THEN 's0' ELSE 's1' END AS k, s.value
        FROM s JOIN periods p ON s.reference_date = p.d0 OR s.reference_date = p.d1
        WHERE s.level IN ({lv_list}) AND s.unit = 'individuals' AND NOT s.stale),
    srcs AS (SELECT level, d0, source FROM st GROUP BY ALL
             HAVING bool_or(k = 's0') AND bool_or(k = 's1')),
    fl AS (
        SELECT lv.level, p.d0, p.d1, {area} AS area, o.population_group,
               CASE WHEN coalesce(o.flags, '') LIKE '%multiple-causes%' AND o.cause = 'other'
                         AND trim(split_part(o.cause_detail, ';', 1)) IN ({causes})
                    THEN trim(split_part(o.cause_detail, ';', 1)) ELSE o.cause END AS cause,
               NULL AS source, CASE o.metric {cases} END AS k, sum(o.value) AS value
        FROM observations o
        JOIN periods p ON o.reporting_date > p.d0 AND o.reporting_date <= p.d1
        JOIN (SELECT unnest([{lv_list}]) AS level) lv ON coalesce(o.reported_level, 0) >= lv.level
        WHERE o.metric IN ({flows}) AND o.sex = 'all' AND o.age_group = 'all'
          AND o.unit = 'individuals' AND o.value IS NOT NULL AND {area} IS NOT NULL
        GROUP BY ALL),
    p AS (
        SELECT u.level, u.d0, u.d1, u.area, u.population_group, u.cause,
               coalesce(sum(value) FILTER (k = 's0'), 0) AS s0,
               coalesce(sum(value) FILTER (k = 's1'), 0) AS s1,
               coalesce(sum(value) FILTER (k = 'arrival'), 0) AS arrival,
               coalesce(sum(value) FILTER (k = 'departure'), 0) AS departure,
               coalesce(sum(value) FILTER (k = 'return'), 0) AS ret,
               max(u.source) FILTER (k = 's0') AS src0, max(u.source) FILTER (k = 's1') AS src1,
               bool_or(b.source IS NOT NULL) AS both_ends
        FROM (SELECT * FROM st UNION ALL SELECT * FROM fl) u
        LEFT JOIN srcs b ON b.level = u.level AND b.d0 = u.d0 AND b.source = u.source
        GROUP BY ALL)
    SELECT level, area, population_group, cause, d0 AS from_date, d1 AS to_date,
           s0 AS stock_from,
           CASE WHEN population_group = 'idps' THEN arrival ELSE ret END AS inflows,
           CASE WHEN population_group = 'idps' THEN departure ELSE 0 END AS outflows,
           s1 AS stock_to,
           s1 - (s0 + CASE WHEN population_group = 'idps' THEN arrival ELSE ret END
                 - CASE WHEN population_group = 'idps' THEN departure ELSE 0 END) AS residual,
           both_ends AND (src0 IS NULL OR src1 IS NULL OR src0 = src1) AS complete
    FROM p"""


def child_sql(db: str, out: Path, cfg: dict) -> dict:
    import duckdb

    dates = _dates(cfg)
    times = {}
    t0 = time.perf_counter()
    con = duckdb.connect(db, read_only=True)
    # the same settings as idpkit's DuckDB backend
    con.execute(f"SET memory_limit = '{os.environ.get('IDPKIT_MEMORY_LIMIT', '4GB')}'")
    con.execute("SET preserve_insertion_order = true")
    con.execute(sql_rows(dates))
    times["rows"] = time.perf_counter() - t0
    t = time.perf_counter()
    con.execute(sql_stocks())
    stocks = con.execute("SELECT * FROM s").df()
    times["stocks"] = time.perf_counter() - t
    t = time.perf_counter()
    ident = con.execute(sql_identity(dates, cfg["identity_levels"])).df()
    times["identity"] = time.perf_counter() - t
    times["total"] = time.perf_counter() - t0
    con.close()
    for lv in LEVELS:
        stocks[stocks.level == lv].drop(columns="level").to_parquet(out / f"stock_L{lv}.parquet")
    ident.to_parquet(out / "identity.parquet")
    return times


CHILDREN = {"engine": child_engine, "engine-profile": child_engine_profile, "pandas": child_pandas,
            "sql": child_sql}


# ------------------------------------------------------------------------------------ compare
STOCK_KEY = ["reference_date", "area", "population_group", "unit", "cause"]
STOCK_VALS = ["value", "source_date", "stale", "coverage"]
ID_KEY = ["level", "from_date", "area", "population_group", "cause"]
ID_VALS = ["stock_from", "inflows", "outflows", "stock_to", "residual", "complete"]


def _norm(df, key: list[str], vals: list[str]):
    import pandas as pd

    df = df[key + vals].copy()
    for c in ("reference_date", "source_date", "from_date"):
        if c in df:
            df[c] = pd.to_datetime(df[c]).dt.strftime("%Y-%m-%d")
    for c in ("stale", "complete"):
        if c in df:
            df[c] = df[c].astype(bool)
    for c in df.columns:
        if c not in key and df[c].dtype.kind in "iuf":
            df[c] = df[c].astype(float)
    return df.set_index(key).sort_index()


def compare(dirs: dict[str, Path]) -> list[str]:
    """Differences between the engine's tables and each peer's (empty when they agree)."""
    import numpy as np
    import pandas as pd

    problems = []
    tables = [(f"stock_L{lv}", STOCK_KEY, STOCK_VALS) for lv in LEVELS]
    tables.append(("identity", ID_KEY, ID_VALS))
    for name, key, vals in tables:
        ref = _norm(pd.read_parquet(dirs["engine"] / f"{name}.parquet"), key, vals)
        if ref.empty:
            problems.append(f"{name}: idpkit's table is empty")
        for peer in [p for p in ("pandas", "sql") if p in dirs]:
            got = _norm(pd.read_parquet(dirs[peer] / f"{name}.parquet"), key, vals)
            if not ref.index.is_unique or not got.index.is_unique:
                problems.append(f"{name}: duplicate keys (idpkit {not ref.index.is_unique}, "
                                f"{peer} {not got.index.is_unique})")
                continue
            only_e, only_p = ref.index.difference(got.index), got.index.difference(ref.index)
            if len(only_e) or len(only_p):
                problems.append(f"{name}: {len(only_e)} rows only in idpkit, {len(only_p)} only in "
                                f"{peer} (e.g. {list(only_e[:2]) or list(only_p[:2])})")
            both = ref.index.intersection(got.index)
            a, b = ref.loc[both], got.loc[both]
            for c in vals:
                if a[c].dtype.kind == "f":
                    bad = ~np.isclose(a[c].to_numpy(float), b[c].to_numpy(float), rtol=0,
                                      atol=1e-9, equal_nan=True)
                else:
                    bad = a[c].to_numpy() != b[c].to_numpy()
                if bad.any():
                    i = int(np.argmax(bad))
                    problems.append(f"{name}.{c}: {int(bad.sum())} cells differ from {peer} (e.g. "
                                    f"{a.index[i]}: idpkit {a[c].iloc[i]!r}, {peer} {b[c].iloc[i]!r})")
            # the headline check: per-date totals by group and unit
            sa = ref.groupby(level=["reference_date" if "reference_date" in key else "from_date",
                                    "population_group"]).agg("sum", numeric_only=True)
            sb = got.groupby(level=["reference_date" if "reference_date" in key else "from_date",
                                    "population_group"]).agg("sum", numeric_only=True)
            col = "value" if "value" in vals else "stock_to"
            if not sa[col].round(6).equals(sb[col].round(6)):
                problems.append(f"{name}: per-date totals differ from {peer}")
    return problems


# ------------------------------------------------------------------------------------ main
def run(kind: str, db: Path, out: Path, cfg: dict, python: str | None = None) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    return run_child(__file__, kind, str(db), str(out), json.dumps(cfg), python=python)


PEER_PYTHON = Path(__file__).resolve().parent.parent / ".venv-peer" / "bin" / "python"
"""The pandas peer's interpreter (``make peer-venv``: the newest pandas, 3.x). idpkit itself runs
on pandas 2.3 (statsforecast pins pandas < 3), and pandas 3 (Arrow-backed strings by default) is
2-2.5 times faster on this script's peer; comparing with the slower one would flatter idpkit."""


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, db, out, cfg = sys.argv[2:6]
        answer(CHILDREN[kind](db, Path(out), json.loads(cfg)))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000, help="observations in the warehouse")
    ap.add_argument("--rounds", type=int, default=24, help="monthly rounds of the baseline")
    ap.add_argument("--identity-levels", default="2",
                    help="admin levels of the flow identity, comma-separated (default 2)")
    ap.add_argument("--warehouse", type=Path,
                    help="build the warehouse here, or reuse it if it exists (default: a temp dir)")
    ap.add_argument("--skip-pandas", action="store_true")
    ap.add_argument("--pandas-python", default=os.environ.get("IDPKIT_PEER_PYTHON"),
                    help="interpreter for the pandas peer (default: .venv-peer/bin/python made "
                    "by `make peer-venv` when it exists, else this one)")
    ap.add_argument("--profile", action="store_true",
                    help="also time the engine's pieces (rows step vs the rest)")
    args = ap.parse_args()
    identity_levels = [int(x) for x in args.identity_levels.split(",")]
    print(f"load average (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"{os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory(prefix="idpkit-bench-fig-") as tmp:
        d = Path(tmp)
        db = args.warehouse or d / "w.duckdb"
        t = time.perf_counter()
        if db.exists():
            print(f"reusing {db}")
        else:
            info = build_warehouse(db, args.rows, args.rounds)
            print(f"generated {info['observations']:,} observations in {info['files']} files "
                  f"(baseline {info['baseline']:,}, sites {info['sites']:,}, API {info['api']:,}, "
                  f"flows {info['flows']:,}), {db.stat().st_size / 1e6:,.0f} MB, "
                  f"in {time.perf_counter() - t:.1f} s (not timed below)")
        dates = round_dates(args.rounds)
        cfg = {"dates": [x.isoformat() for x in dates], "identity_levels": identity_levels}
        print(f"{len(dates)} reference dates ({dates[0]} .. {dates[-1]}), stocks at admin "
              f"{', '.join(map(str, LEVELS))}; identity for {len(dates) - 1} periods at admin "
              f"{', '.join(map(str, identity_levels))}", flush=True)
        res, dirs = {}, {}
        for kind in ["engine", "sql"] + ([] if args.skip_pandas else ["pandas"]):
            dirs[kind] = d / kind
            py = None
            if kind == "pandas":
                py = args.pandas_python or (str(PEER_PYTHON) if PEER_PYTHON.exists() else None)
            res[kind] = r = run(kind, db, dirs[kind], cfg, python=py)
            mib = r["peak_rss"] / 2**20
            if kind == "engine":
                print(f"idpkit:  {r['total']:7.1f} s  (rows {r['rows']:.1f} s, stocks "
                      f"{r['stocks']:.1f} s, identity {r['identity']:.1f} s)  peak RSS {mib:,.0f} MiB")
            elif kind == "sql":
                print(f"SQL:     {r['total']:7.1f} s  (rows {r['rows']:.1f} s, stocks "
                      f"{r['stocks']:.1f} s, identity {r['identity']:.1f} s)  peak RSS {mib:,.0f} MiB")
            else:
                print(f"pandas {r['pandas_version']}: {r['total']:5.1f} s  (read {r['read']:.1f} s, stocks "
                      f"{r['stocks']:.1f} s, identity {r['identity']:.1f} s; without the read "
                      f"{r['compute']:.1f} s)  peak RSS {mib:,.0f} MiB")
            sys.stdout.flush()
        e = res["engine"]["total"]
        if "pandas" in res:
            p = res["pandas"]
            print(f"ratio idpkit/pandas (time): {e / p['total']:.3f} (goal <= 0.1, i.e. 10x faster; "
                  f"speed-up now {p['total'] / e:.2f}x); without the pandas read "
                  f"{e / p['compute']:.3f}")
        print(f"ratio idpkit/SQL (time): {e / res['sql']['total']:.2f} (goal <= 2)")
        es = res["engine"]["rows"] + res["engine"]["stocks"]
        ss = res["sql"]["rows"] + res["sql"]["stocks"]
        line = f"stocks alone: idpkit {es:.1f} s, SQL {ss:.1f} s (ratio {es / ss:.2f})"
        if "pandas" in res:
            ps = res["pandas"]["read"] + res["pandas"]["stocks"]
            line += f", pandas {ps:.1f} s with the read (ratio {es / ps:.3f})"
        print(line + f"; identity alone: idpkit {res['engine']['identity']:.1f} s, "
              f"SQL {res['sql']['identity']:.1f} s (both reusing their rows table)")
        print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if args.profile:
            reps = 2 if args.rows < 5_000_000 else 1
            pr = run("engine-profile", db, d / "profile", {**cfg, "profile_repeats": reps})
            print(f"idpkit profile (best of {reps}): " + ", ".join(
                f"{k} {v:.2f} s" for k, v in pr.items() if k != "peak_rss"))
        problems = compare(dirs)
        if problems:
            print("MISMATCH:\n  " + "\n  ".join(problems))
            sys.exit(1)
        import pandas as pd

        n = sum(len(pd.read_parquet(dirs["engine"] / f"stock_L{lv}.parquet")) for lv in LEVELS)
        n_id = len(pd.read_parquet(dirs["engine"] / "identity.parquet"))
        print(f"check: idpkit, SQL{' and pandas' if 'pandas' in dirs else ''} give the same "
              f"{n:,} stock cells (value, source date, stale, coverage) and {n_id:,} identity rows")


if __name__ == "__main__":
    main()
