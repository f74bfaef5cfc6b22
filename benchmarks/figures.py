"""Benchmark: all-level stocks for every round plus the flow identity, idpkit vs pandas vs hand SQL.

Usage: ``.venv/bin/python benchmarks/figures.py [--rows 10000000]`` (``make bench-figures``).

The warehouse is generated straight into DuckDB (generation is timed separately, not compared): one
fictional country, 4 admin 1, 20 admin 2, 2,000 admin 3; 12 monthly rounds of two sources (an area
baseline and a site assessment, so the recommended/triangulation rule works), IDPs and returnees,
individuals and households, cause parts, sex breakdowns (to be excluded), and flow-monitoring arrivals
at admin 2. Three contenders compute the same thing on the same table in the same run, each in a
child process (peak RSS = ``ru_maxrss``):

* idpkit: ``stock_frame`` for levels 0-3 with every round date in one query per level, and
  ``identity_frame`` at admin 2 for each pair of consecutive rounds;
* pandas: the same rules written straightforwardly (read the columns, filter, pick rounds, sum);
* SQL: one hand-written DuckDB query per level (the engine's floor) plus one for the identity.

Their results are compared (per level, date, group and unit totals) before timings are printed.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
ROUNDS = 12
N_A3 = 2000


def generate(path: Path, rows: int) -> float:
    import duckdb

    from idpkit.warehouse import connect

    t0 = time.perf_counter()
    if path.exists():
        path.unlink()
    connect(str(path)).close()  # creates the tables
    con = duckdb.connect(str(path))
    con.execute(f"""
    INSERT INTO areas (pcode, name, admin_level, parent_pcode, iso3)
    SELECT 'ZD0' || (i + 1), 'Region ' || i, 1, 'ZD', 'ZDL' FROM range(4) t(i)
    UNION ALL SELECT 'ZD0' || (i // 5 + 1) || lpad(((i % 5) + 1)::VARCHAR, 2, '0'), 'District ' || i, 2,
                     'ZD0' || (i // 5 + 1), 'ZDL' FROM range(20) t(i)
    UNION ALL SELECT 'ZD0' || (i // 500 + 1) || lpad((((i // 100) % 5) + 1)::VARCHAR, 2, '0')
                     || lpad(((i % 100) + 1)::VARCHAR, 3, '0'), 'Ward ' || i, 3,
                     'ZD0' || (i // 500 + 1) || lpad((((i // 100) % 5) + 1)::VARCHAR, 2, '0'), 'ZDL'
              FROM range({N_A3}) t(i);
    INSERT INTO datasets (dataset_id, file_name, assessment_type, source_organisation, round,
                          reporting_date, imported_at)
    SELECT 'ds_' || k || '_' || r, k || '_' || r || '.csv',
           CASE k WHEN 'b' THEN 'baseline_area' WHEN 's' THEN 'site' ELSE 'flow_monitoring' END,
           'Bench DTM', (r + 1)::VARCHAR,
           (DATE '2025-01-31' + INTERVAL (r) MONTH)::DATE, now()::TIMESTAMP
    FROM (VALUES ('b'), ('s'), ('f')) k(k), range({ROUNDS}) t(r);
    """)
    # rows: i -> round, kind, ward, group, unit, cause or sex breakdown
    con.execute(f"""
    INSERT INTO observations
    WITH g AS (
      SELECT i, i % {ROUNDS} AS r, (i // {ROUNDS}) % {N_A3} AS w, (i // ({ROUNDS} * {N_A3})) AS k
      FROM range({rows}) t(i)),
    a AS (SELECT pcode, parent_pcode, row_number() OVER (ORDER BY pcode) - 1 AS w
          FROM areas WHERE admin_level = 3),
    x AS (
      SELECT g.*, a.pcode AS a3, a.parent_pcode AS a2, substr(a.pcode, 1, 4) AS a1,
             CASE WHEN k % 20 = 19 THEN 'f' WHEN k % 5 = 3 THEN 's' ELSE 'b' END AS kind,
             k % 8 AS part
      FROM g JOIN a USING (w))
    SELECT 'ds_' || kind || '_' || r, 'data', i, NULL, (r + 1)::VARCHAR,
           (DATE '2025-01-31' + INTERVAL (r) MONTH)::DATE - CAST(CASE WHEN kind = 'f' THEN i % 27 ELSE 0 END AS INTEGER),
           'ZDL', CASE WHEN kind = 'f' THEN a2 ELSE a3 END, CASE WHEN kind = 'f' THEN 2 ELSE 3 END,
           a1, a2, CASE WHEN kind = 'f' THEN NULL ELSE a3 END, NULL,
           CASE WHEN kind = 's' THEN 'S' || w ELSE NULL END,
           CASE WHEN kind <> 'f' AND part IN (4, 5) THEN 'returnees' ELSE 'idps' END,
           CASE WHEN kind = 'f' THEN 'arrivals' ELSE 'present_stock' END,
           CASE WHEN part % 2 = 0 THEN 'conflict' ELSE 'disaster' END, NULL, NULL, NULL, NULL,
           CASE WHEN kind <> 'f' AND part = 6 THEN 'households' ELSE 'individuals' END,
           CASE WHEN kind <> 'f' AND part = 7 THEN 'male' ELSE 'all' END, 'all',
           (1 + (i * 7919) % 500)::DOUBLE, NULL
      FROM x
    """)
    con.close()
    return time.perf_counter() - t0


def dates() -> list:
    import pandas as pd

    return [d.date() for d in pd.date_range("2025-01-31", periods=ROUNDS, freq="ME")]


def run_idpkit(path: str) -> dict:
    from idpkit.figures.flows import identity_frame
    from idpkit.figures.stock import StockQuery, stock_frame
    from idpkit.warehouse import connect

    ds = dates()
    out = {}
    with connect(path) as wh:
        for lv in (0, 1, 2, 3):
            df = stock_frame(wh, StockQuery(ds, level=lv, by=()))
            out[lv] = df.groupby([df.reference_date.astype(str), "population_group", "unit"]
                                 ).value.sum().round(3).to_dict()
        res = 0.0
        for d0, d1 in zip(ds, ds[1:]):
            idf = identity_frame(wh, d0, d1, 2)
            res += float(idf.residual.abs().sum())
        out["identity"] = round(res, 3)
    return out


PRIORITY = {"baseline_area": 0, "site": 1}


def run_pandas(path: str) -> dict:
    import duckdb
    import pandas as pd

    con = duckdb.connect(path, read_only=True)
    o = con.execute("SELECT dataset_id, round, reporting_date, iso3, reported_level, adm1_pcode, "
                    "adm2_pcode, adm3_pcode, population_group, metric, cause, unit, sex, age_group, "
                    "value, operation FROM observations").df()
    d = con.execute("SELECT dataset_id, assessment_type, source_organisation FROM datasets").df()
    con.close()
    ds = dates()
    o = o.merge(d, on="dataset_id")
    o["source"] = (o.source_organisation.fillna("") + "|" + o.operation.fillna("") + "|"
                   + o.assessment_type + "|" + o.iso3.fillna(""))
    st = o[(o.metric == "present_stock") & (o.sex == "all") & (o.age_group == "all")].copy()
    st["reporting_date"] = pd.to_datetime(st.reporting_date).dt.date
    rd = st.groupby(["source", "round"]).reporting_date.max().rename("round_date").reset_index()
    st = st.merge(rd, on=["source", "round"])
    lvl = st.groupby(["dataset_id", "adm1_pcode"]).reported_level.transform("max")
    st = st[st.reported_level == lvl]
    out: dict = {}
    frames = {}
    for d0 in ds:
        c = rd[rd.round_date <= d0].sort_values("round_date").groupby("source").tail(1)
        frames[d0] = st.merge(c[["source", "round"]], on=["source", "round"])
    for lv in (0, 1, 2, 3):
        area = "iso3" if lv == 0 else f"adm{lv}_pcode"
        res = {}
        for d0, f in frames.items():
            per = f.groupby([area, "population_group", "unit", "source", "assessment_type"],
                            as_index=False).value.sum()
            per["prio"] = per.assessment_type.map(PRIORITY).fillna(9)
            per = per.sort_values(["prio", "source"]).groupby([area, "population_group", "unit"]
                                                               ).head(1)
            for (g, u), v in per.groupby(["population_group", "unit"]).value.sum().items():
                res[(str(d0), g, u)] = round(float(v), 3)
        out[lv] = res
    # identity at admin 2: stock(t1) - stock(t0) - arrivals, per area, group and cause
    fl = o[(o.metric == "arrivals") & (o.sex == "all")].copy()
    fl["reporting_date"] = pd.to_datetime(fl.reporting_date).dt.date
    total = 0.0
    for d0, d1 in zip(ds, ds[1:]):
        s = []
        for d in (d0, d1):
            f = frames[d][frames[d].unit == "individuals"]
            per = f.groupby(["adm2_pcode", "population_group", "cause", "source", "assessment_type"],
                            as_index=False).value.sum()
            tot = per.groupby(["adm2_pcode", "population_group", "source", "assessment_type"],
                              as_index=False).value.sum()
            tot["prio"] = tot.assessment_type.map(PRIORITY).fillna(9)
            best = tot.sort_values(["prio", "source"]).groupby(["adm2_pcode", "population_group"]
                                                               ).head(1)
            s.append(per.merge(best[["adm2_pcode", "population_group", "source"]])
                     .groupby(["adm2_pcode", "population_group", "cause"]).value.sum())
        a = fl[(fl.reporting_date > d0) & (fl.reporting_date <= d1)].groupby(
            ["adm2_pcode", "population_group", "cause"]).value.sum()
        j = pd.concat([s[0].rename("s0"), s[1].rename("s1"), a.rename("a")], axis=1).fillna(0)
        idp = j.index.get_level_values("population_group") == "idps"
        inflow = j.a.where(idp, 0.0)
        total += float((j.s1 - (j.s0 + inflow)).abs().sum())
    out["identity"] = round(total, 3)
    return out


def run_sql(path: str) -> dict:
    import duckdb

    con = duckdb.connect(path, read_only=True)
    ds = dates()
    refs = ", ".join(f"(DATE '{d}')" for d in ds)
    con.execute(f"""
    CREATE TEMP TABLE s AS
    WITH o AS (
      SELECT o.*, d.assessment_type,
             coalesce(d.source_organisation, '') || '|' || coalesce(o.operation, '') || '|' ||
             d.assessment_type || '|' || coalesce(o.iso3, '') AS source
      FROM observations o JOIN datasets d USING (dataset_id)
      WHERE o.metric = 'present_stock' AND o.sex = 'all' AND o.age_group = 'all'),
    r AS (SELECT source, round, max(reporting_date) AS rd FROM o GROUP BY ALL),
    pick AS (SELECT ref, source, arg_max(round, rd) AS round
             FROM r JOIN (VALUES {refs}) v(ref) ON rd <= ref GROUP BY ALL)
    SELECT pick.ref, o.* FROM o JOIN pick USING (source, round)
    QUALIFY reported_level = max(reported_level) OVER (PARTITION BY ref, dataset_id, adm1_pcode)
    """)
    out: dict = {}
    for lv in (0, 1, 2, 3):
        area = "iso3" if lv == 0 else f"adm{lv}_pcode"
        rows = con.execute(f"""
        WITH per AS (SELECT ref, {area} AS area, population_group, unit, source, assessment_type,
                            sum(value) AS v FROM s GROUP BY ALL),
        best AS (SELECT * FROM per QUALIFY row_number() OVER (
                   PARTITION BY ref, area, population_group, unit
                   ORDER BY CASE assessment_type WHEN 'baseline_area' THEN 0 WHEN 'site' THEN 1
                            ELSE 9 END, source) = 1)
        SELECT ref, population_group, unit, sum(v) FROM best GROUP BY ALL""").fetchall()
        out[lv] = {(str(r), g, u): round(float(v), 3) for r, g, u, v in rows}
    total = con.execute(f"""
    WITH per AS (SELECT ref, adm2_pcode, population_group, cause, source, assessment_type,
                        sum(value) AS v FROM s WHERE unit = 'individuals' GROUP BY ALL),
    tot AS (SELECT ref, adm2_pcode, population_group, source, assessment_type, sum(v) AS t
            FROM per GROUP BY ALL),
    best AS (SELECT * FROM tot QUALIFY row_number() OVER (PARTITION BY ref, adm2_pcode,
             population_group ORDER BY CASE assessment_type WHEN 'baseline_area' THEN 0
             WHEN 'site' THEN 1 ELSE 9 END, source) = 1),
    st AS (SELECT per.ref, per.adm2_pcode, per.population_group, per.cause, sum(per.v) AS v
           FROM per JOIN best USING (ref, adm2_pcode, population_group, source) GROUP BY ALL),
    periods AS (SELECT ref AS d0, lead(ref) OVER (ORDER BY ref) AS d1
                FROM (SELECT DISTINCT ref FROM s)),
    arr AS (SELECT p.d0, o.adm2_pcode, o.population_group, o.cause, sum(o.value) AS a
            FROM observations o JOIN periods p ON o.reporting_date > p.d0 AND o.reporting_date <= p.d1
            WHERE o.metric = 'arrivals' AND o.sex = 'all' GROUP BY ALL),
    j AS (SELECT p.d0, k.adm2_pcode, k.population_group, k.cause,
                 coalesce(s0.v, 0) AS s0, coalesce(s1.v, 0) AS s1, coalesce(arr.a, 0) AS a
          FROM periods p
          JOIN (SELECT DISTINCT adm2_pcode, population_group, cause FROM st) k ON true
          LEFT JOIN st s0 ON s0.ref = p.d0 AND s0.adm2_pcode = k.adm2_pcode
               AND s0.population_group = k.population_group AND s0.cause = k.cause
          LEFT JOIN st s1 ON s1.ref = p.d1 AND s1.adm2_pcode = k.adm2_pcode
               AND s1.population_group = k.population_group AND s1.cause = k.cause
          LEFT JOIN arr ON arr.d0 = p.d0 AND arr.adm2_pcode = k.adm2_pcode
               AND arr.population_group = k.population_group AND arr.cause = k.cause
          WHERE p.d1 IS NOT NULL)
    SELECT sum(abs(s1 - (s0 + CASE WHEN population_group = 'idps' THEN a ELSE 0 END))) FROM j
    """).fetchone()[0]
    out["identity"] = round(float(total), 3)
    con.close()
    return out


def _child(name: str, path: str, q: mp.Queue) -> None:
    fn = {"idpkit": run_idpkit, "pandas": run_pandas, "sql": run_sql}[name]
    t0 = time.perf_counter()
    res = fn(path)
    q.put((time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, res))


def measure(name: str, path: str) -> tuple[float, float, dict]:
    q: mp.Queue = mp.Queue()
    p = mp.get_context("fork").Process(target=_child, args=(name, path, q))
    p.start()
    out = q.get()
    p.join()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    path = OUT / f"figures-{args.rows}.duckdb"
    gen = generate(path, args.rows)
    print(f"generated {args.rows:,} observations in {gen:.1f} s ({path}); "
          f"load average {os.getloadavg()[0]:.2f}")
    results = {n: measure(n, str(path)) for n in ("idpkit", "pandas", "sql")}
    ref = results["sql"][2]
    for n, (_, _, res) in results.items():
        for k in ref:
            if k == "identity":
                assert abs(res[k] - ref[k]) < 1e-6 * max(1.0, abs(ref[k])), (n, k, res[k], ref[k])
            else:
                assert res[k] == ref[k], (n, k)
    print("all three agree on every level, date, group and unit total and on the identity")
    t_i = results["idpkit"][0]
    for n, (t, rss, _) in results.items():
        print(f"{n:7s} {t:8.2f} s  peak RSS {rss:,.0f} MiB  idpkit/{n} time ratio {t_i / t:.2f}")
    print(f"speed-up over pandas: {results['pandas'][0] / t_i:.1f}x (goal >= 10x); "
          f"idpkit vs hand SQL: {t_i / results['sql'][0]:.1f}x slower (goal <= 2x)")


if __name__ == "__main__":
    main()
