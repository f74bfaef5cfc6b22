"""Survey estimation engine: domain means with SEs and group gaps, beside svy, samplics, R and SQL.

    .venv/bin/python benchmarks/survey.py [--households 1000000] [--repeat 3] [--peer-rows N]
        [--samplics-rows 10000 --samplics-indicators 2] [--r-rows 5000 --r-indicators 2] [--profile]

The input is a DuckDB warehouse holding one household table ``households``, generated with SQL
(deterministic: every value is a hash of the household number), shaped like a durable-solutions
survey of a fictional country:

* a stratified one-stage cluster design: 200 strata (areas, P-code-like ``ZD01001``), 10-20 PSUs
  (enumeration areas ``EA001`` ...) per area, PSU ids repeated across strata (``nest``), weights
  varying by PSU and household; households fall into the PSUs of their area unevenly;
* ``population_group`` in {idps, returnees, non_displaced}, the three groups living in the same
  PSUs (so their estimates are correlated);
* 20 indicators ``y01`` ... ``y20``: odd ones 0/1 (proportions), even ones continuous, each with its
  own 2-10 % missing values (NULL), and with area and group effects.

The workload: the mean of each indicator for every area x group (600 domains) with its SE, and for
every area the differences idps - non_displaced and returnees - non_displaced with SEs that include
the covariance of the two domains (they share PSUs). Missing values: R's ``na.rm=TRUE`` (a missing
row leaves the domain of that indicator, the design keeps its PSU).

What is timed, each in its own child process on the same file (peak memory: the child's peak RSS,
``ru_maxrss``):

* idpkit: one ``estimate`` call (20 indicators, domains area+group, two contrasts);
* SQL: one hand-written DuckDB SQL linearisation (the engine floor): PSU x domain sums, domain
  estimates, linearised PSU totals, stratum variances with n_h counting every PSU of the stratum,
  and the gaps from the PSU-wise differences of the linearised totals;
* svy (``svy.Sample(...).estimation.mean(y, by=("area", "population_group"), drop_nulls=True)``
  per indicator, then ``.contrast`` of the 400 gaps, which uses svy's full domain covariance);
* samplics (``TaylorEstimator("mean").estimate(..., domain=area|group, remove_nan=True)`` per
  indicator): it gives no covariance between domains, so no gap SEs;
* R ``survey`` (where ``Rscript -e 'library(survey)'`` works), on ``--r-rows`` households:
  ``svyby(~y, ~area+population_group, subset(design, !is.na(y)), svymean, covmat=TRUE)`` and
  ``svycontrast`` per indicator.

Peers that are slow run on the first ``--peer-rows`` (svy, default all), ``--samplics-rows`` or
``--r-rows`` households (a table of its own in the same file) and, for samplics and R, on the
first few indicators (their time is extrapolated linearly to 20); idpkit is run again on that same
subset and compared there. The run fails
when idpkit and SQL differ (relative 1e-9) or idpkit and a peer differ (relative 1e-6).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import answer, peak_rss, run_child

N_AREAS = 200
GROUPS = ("idps", "returnees", "non_displaced")
N_IND = 20
CONTRASTS = (("idps", "non_displaced"), ("returnees", "non_displaced"))
IND = [f"y{i:02d}" for i in range(1, N_IND + 1)]


def _u(*parts: str) -> str:
    """A deterministic uniform number in [0, 1) from a hash of the SQL expressions ``parts``."""
    return f"(hash({', '.join(parts)}) % 1000003) / 1000003.0"


# ------------------------------------------------------------------------------------ input
def build_warehouse(path: Path, households: int) -> dict:
    from idpkit.warehouse import connect

    connect(str(path)).close()  # an idpkit warehouse (core tables), like a real one
    import duckdb

    con = duckdb.connect(str(path))
    con.execute("SET preserve_insertion_order = true")
    # areas and their PSUs: 10-20 PSUs per area, PSU ids EA001.. repeated in every area
    con.execute(f"""
        CREATE TEMP TABLE areas_g AS
        SELECT a, 'ZD' || lpad(CAST(a // 20 + 1 AS VARCHAR), 2, '0')
                      || lpad(CAST(a % 20 + 1 AS VARCHAR), 3, '0') AS area,
               CAST(10 + hash(a, 'npsu') % 11 AS BIGINT) AS n_psu,
               {_u("a", "'area'")} AS ae
        FROM range({N_AREAS}) t(a)""")
    con.execute("""
        CREATE TEMP TABLE psus_g AS
        SELECT a, area, ae, k, 'EA' || lpad(CAST(k + 1 AS VARCHAR), 3, '0') AS ea,
               CAST(row_number() OVER (ORDER BY a, k) - 1 AS BIGINT) AS g,
               40 + hash(a, k, 'w') % 400 AS base_w,
               hash(a, k, 'size') % 3 + 1 AS size
        FROM areas_g, range(20) r(k) WHERE k < n_psu""")
    # uneven PSU sizes: a PSU of size s covers s slots of a slot table
    con.execute("""
        CREATE TEMP TABLE slots AS
        SELECT CAST(row_number() OVER (ORDER BY g, j) - 1 AS BIGINT) AS s, p.*
        FROM psus_g p, range(3) r(j) WHERE j < size""")
    n_slots = con.execute("SELECT count(*) FROM slots").fetchone()[0]
    ind_cols = []
    for i in range(1, N_IND + 1):
        miss = 0.02 + 0.08 * ((i * 7) % 20) / 19  # 2-10 %, its own per indicator
        u_miss, u_val = _u("i", f"'m{i}'"), _u("i", f"'v{i}'")
        u_psu = _u("a", "k", f"'p{i}'")  # a PSU effect
        if i % 2:  # proportion: probability depends on area, group and PSU
            p = (f"least(0.95, greatest(0.05, 0.2 + 0.5 * ae + 0.1 * gi + 0.05 * {i % 5}"
                 f" + 0.2 * ({u_psu} - 0.5)))")
            v = f"CAST({u_val} < {p} AS INTEGER)"
        else:  # continuous: a skewed amount with area, group and PSU effects
            v = f"round({10 * i} * (1 + ae + 0.3 * gi + 0.5 * {u_psu}) * -ln(1 - {u_val}), 2)"
        ind_cols.append(f"CASE WHEN {u_miss} < {miss:.4f} THEN NULL ELSE {v} END AS y{i:02d}")
    groups = ", ".join(f"'{g}'" for g in GROUPS)
    u_grp, u_w = _u("i", "'grp'"), _u("i", "'hw'")
    con.execute(f"""
        CREATE TABLE households AS
        WITH h AS (
            SELECT i, hash(i, 'slot') % {n_slots} AS s,
                   CASE WHEN {u_grp} < 0.3 THEN 0
                        WHEN {u_grp} < 0.5 THEN 1 ELSE 2 END AS gi
            FROM range({households}) t(i))
        SELECT CAST(h.i AS BIGINT) AS hh_id, sl.area, sl.ea,
               round(sl.base_w * (0.75 + 0.5 * {u_w}), 4) AS weight,
               list_extract([{groups}], CAST(gi + 1 AS INTEGER)) AS population_group,
               {", ".join(ind_cols)}
        FROM h JOIN (SELECT s, area, ea, a, k, ae, base_w FROM slots) sl USING (s)
        ORDER BY h.i""")
    info = con.execute("""
        SELECT count(*) AS households, count(DISTINCT area) AS areas,
               count(DISTINCT (area, ea)) AS psus,
               (SELECT min(n) FROM (SELECT count(DISTINCT ea) n FROM households GROUP BY area))
                   AS min_psu,
               (SELECT max(n) FROM (SELECT count(DISTINCT ea) n FROM households GROUP BY area))
                   AS max_psu
        FROM households""").df().iloc[0].to_dict()
    con.close()
    return {k: int(v) for k, v in info.items()}


def make_subset(path: Path, rows: int) -> str:
    """The first ``rows`` households as a table of their own (a smaller survey of the same
    design; idpkit and the peer both read it)."""
    import duckdb

    name = f"households_{rows}"
    con = duckdb.connect(str(path))
    con.execute(f"CREATE TABLE IF NOT EXISTS {name} AS "
                f"SELECT * FROM households WHERE hh_id < {rows} ORDER BY hh_id")
    con.close()
    return name


# ------------------------------------------------------------------------------------ children
_rss = peak_rss


def _save(out: Path, est, con) -> None:
    """Tidy outputs: est (area, population_group, indicator, estimate, se) and con (area,
    contrast, indicator, difference, se)."""
    est.to_parquet(out / "estimates.parquet")
    if con is not None:
        con.to_parquet(out / "contrasts.parquet")


def child_engine(db: str, out: Path, cfg: dict) -> dict:
    from idpkit.solutions.design import SurveyDesign
    from idpkit.solutions.estimate import Contrast, Indicator, estimate
    from idpkit.warehouse import connect

    t0 = time.perf_counter()
    wh = connect(db)
    design = SurveyDesign(weights="weight", strata="area", psu="ea", nest=True,
                          lonely_psu=cfg["lonely_psu"])
    inds = [Indicator(y, "mean", y) for y in IND]
    res = estimate(wh, wh.table(cfg["table"]), design, inds,
                   domains=[("area", "population_group")],
                   contrasts=[Contrast("population_group", f, r) for f, r in CONTRASTS],
                   design_effects=cfg.get("design_effects", False))
    times = {"total": time.perf_counter() - t0}
    wh.close()
    e = res.estimates[["area", "population_group", "indicator", "estimate", "se"]]
    c = res.contrasts.assign(contrast=res.contrasts.focal + "-" + res.contrasts.reference)
    c = c[["area", "contrast", "indicator", "difference", "difference_se"]].rename(
        columns={"difference_se": "se"})
    _save(out, e, c)
    return times


def child_engine_profile(db: str, out: Path, cfg: dict) -> dict:
    """Every SQL statement the engine sends to DuckDB, timed (the Python between them is the
    rest)."""
    import duckdb

    from idpkit.solutions.design import SurveyDesign
    from idpkit.solutions.estimate import Contrast, Indicator, estimate
    from idpkit.warehouse import connect

    wh = connect(db)
    raw = wh.backend.raw
    stats: dict[str, list[float]] = {}
    orig_exec = duckdb.DuckDBPyConnection.execute

    class Timed:
        def __init__(self, con):
            self._con = con

        def __getattr__(self, name):
            return getattr(self._con, name)

        def execute(self, q, *a, **k):
            t = time.perf_counter()
            r = orig_exec(self._con, q, *a, **k)
            key = " ".join(str(q).split())[:60]
            stats.setdefault(key, []).append(time.perf_counter() - t)
            return r

    wh.con.con = Timed(raw)
    design = SurveyDesign(weights="weight", strata="area", psu="ea", nest=True,
                          lonely_psu=cfg["lonely_psu"])
    t0 = time.perf_counter()
    estimate(wh, wh.table(cfg["table"]), design, [Indicator(y, "mean", y) for y in IND],
             domains=[("area", "population_group")],
             contrasts=[Contrast("population_group", f, r) for f, r in CONTRASTS])
    total = time.perf_counter() - t0
    wh.close()
    top = sorted(stats.items(), key=lambda kv: -sum(kv[1]))
    sql_total = sum(sum(v) for v in stats.values())
    return {"total": total, "sql": sql_total, "statements": sum(len(v) for v in stats.values()),
            "top": [[k, len(v), sum(v)] for k, v in top[:12]]}


def sql_script(table: str, full: bool = False) -> list[str]:
    """The hand-written linearisation (the floor). Stratum = area, PSU = (area, ea). ``full``
    also computes what idpkit returns beside estimates and SEs: per domain and indicator the
    number of rows, and ``Σw·y²`` (for the design effect)."""
    k = range(1, N_IND + 1)
    sums = ", ".join(f"sum(weight * y{i:02d}) AS Y{i}, sum(weight) FILTER (y{i:02d} IS NOT NULL) "
                     f"AS W{i}" for i in k)
    est = ", ".join(f"sum(Y{i}) / sum(W{i}) AS R{i}, sum(W{i}) AS D{i}" for i in k)
    if full:
        sums += ", " + ", ".join(f"sum(weight * y{i:02d} * y{i:02d}) AS Q{i}, count(y{i:02d}) AS n{i}"
                                 for i in k)
        est += ", " + ", ".join(f"sum(Q{i}) AS Q{i}, sum(n{i}) AS n{i}" for i in k)
    u = ", ".join(f"coalesce((coalesce(Y{i}, 0) - R{i} * coalesce(W{i}, 0)) / D{i}, 0) AS u{i}"
                  for i in k)
    var = ", ".join(f"sum(n_h / (n_h - 1.0) * (s2_{i} - s1_{i} * s1_{i} / n_h)) AS v{i}" for i in k)
    st = ", ".join(f"sum(u{i}) AS s1_{i}, sum(u{i} * u{i}) AS s2_{i}" for i in k)
    piv = []
    for f, r in CONTRASTS:
        piv.append(", ".join(
            f"sum(CASE population_group WHEN '{f}' THEN u{i} WHEN '{r}' THEN -u{i} END) AS d{i}"
            for i in k))
    cst = ", ".join(f"sum(d{i}) AS s1_{i}, sum(d{i} * d{i}) AS s2_{i}" for i in k)
    con_sel = " UNION ALL ".join(
        f"SELECT '{f}-{r}' AS contrast, area, ea, {piv[j]} FROM u "
        f"WHERE population_group IN ('{f}', '{r}') GROUP BY area, ea"
        for j, (f, r) in enumerate(CONTRASTS))
    return [
        f"""CREATE TEMP TABLE ps AS
            SELECT area, ea, population_group, {sums} FROM {table}
            GROUP BY area, ea, population_group""",
        f"""CREATE TEMP TABLE nh AS SELECT area, count(DISTINCT ea) AS n_h FROM {table}
            GROUP BY area""",
        f"""CREATE TEMP TABLE est AS SELECT area, population_group, {est} FROM ps
            GROUP BY area, population_group""",
        f"""CREATE TEMP TABLE u AS SELECT area, ea, population_group, {u}
            FROM ps JOIN est USING (area, population_group)""",
        f"""CREATE TEMP TABLE var AS
            SELECT area, population_group, {var}
            FROM (SELECT area, population_group, {st} FROM u GROUP BY area, population_group)
            JOIN nh USING (area) GROUP BY area, population_group""",
        f"""CREATE TEMP TABLE cvar AS
            SELECT area, contrast, {var}
            FROM (SELECT area, contrast, {cst} FROM ({con_sel}) GROUP BY area, contrast)
            JOIN nh USING (area) GROUP BY area, contrast""",
    ]


def child_sql(db: str, out: Path, cfg: dict) -> dict:
    import duckdb
    import pandas as pd

    t0 = time.perf_counter()
    con = duckdb.connect(db, read_only=True)
    con.execute(f"SET memory_limit = '{os.environ.get('IDPKIT_MEMORY_LIMIT', '4GB')}'")
    con.execute("SET preserve_insertion_order = true")
    for q in sql_script(cfg["table"], cfg.get("full", False)):
        con.execute(q)
    k = range(1, N_IND + 1)
    e = con.execute("SELECT * FROM est JOIN var USING (area, population_group)").df()
    diffs = ", ".join(f"f.R{i} - r.R{i} AS diff{i}" for i in k)
    joins = " UNION ALL ".join(
        f"SELECT '{f}-{r}' AS contrast, f.area, {diffs} FROM est f JOIN est r "
        f"ON f.area = r.area AND f.population_group = '{f}' AND r.population_group = '{r}'"
        for f, r in CONTRASTS)
    c = con.execute(f"SELECT * FROM ({joins}) JOIN cvar USING (area, contrast)").df()
    times = {"total": time.perf_counter() - t0}
    con.close()
    est = pd.concat([pd.DataFrame({"area": e.area, "population_group": e.population_group,
                                   "indicator": f"y{i:02d}", "estimate": e[f"R{i}"],
                                   "se": e[f"v{i}"].clip(lower=0) ** 0.5}) for i in k])
    cc = pd.concat([pd.DataFrame({"area": c.area, "contrast": c.contrast,
                                  "indicator": f"y{i:02d}", "difference": c[f"diff{i}"],
                                  "se": c[f"v{i}"].clip(lower=0) ** 0.5}) for i in k])
    _save(out, est, cc)
    return times


def _read_frame(db: str, table: str, kind: str):
    import duckdb

    con = duckdb.connect(db, read_only=True)
    rel = con.sql(f"SELECT area, ea, weight, population_group, {', '.join(IND)} FROM {table}")
    df = rel.pl() if kind == "polars" else rel.df()
    con.close()
    return df


def child_svy(db: str, out: Path, cfg: dict) -> dict:
    import pandas as pd
    import svy

    t0 = time.perf_counter()
    data = _read_frame(db, cfg["table"], "polars")
    t_read = time.perf_counter() - t0
    sample = svy.Sample(data, svy.Design(stratum="area", psu="ea", wgt="weight"))
    areas = sorted(data["area"].unique().to_list())
    ests, cons = [], []
    for y in cfg["indicators"]:
        r = sample.estimation.mean(y, by=("area", "population_group"), drop_nulls=True)
        ests.append(r.to_polars().to_pandas().assign(indicator=y))
        keys = {tuple(kk) if isinstance(kk, tuple) else kk for kk in r.keys()}  # noqa: SIM118 (svy's method)
        spec = {}
        for f, rf in CONTRASTS:
            for a in areas:
                if (a, f) in keys and (a, rf) in keys:
                    spec[f"{a}|{f}-{rf}"] = svy.estd((a, f)) - svy.estd((a, rf))
        c = r.contrast(spec).to_polars().to_pandas()
        cons.append(c.assign(indicator=y))
    times = {"read": t_read, "total": time.perf_counter() - t0}
    e = pd.concat(ests, ignore_index=True)
    e = e[["area", "population_group", "indicator", "est", "se"]].rename(
        columns={"est": "estimate"})
    c = pd.concat(cons, ignore_index=True)
    parts = c["contrast"].str.split("|", n=1, expand=True)
    c = pd.DataFrame({"area": parts[0], "contrast": parts[1], "indicator": c.indicator,
                      "difference": c["est"], "se": c["se"]})
    _save(out, e, c)
    return times


def child_samplics(db: str, out: Path, cfg: dict) -> dict:
    import numpy as np
    import pandas as pd
    from samplics.estimation import TaylorEstimator
    from samplics.utils.types import PopParam

    t0 = time.perf_counter()
    df = _read_frame(db, cfg["table"], "pandas")
    t_read = time.perf_counter() - t0
    dom = (df["area"] + "|" + df["population_group"]).to_numpy()
    rows, failed = [], {}
    for y in cfg["indicators"]:
        # R's na.rm: samplics' remove_nan=True drops the rows from the design (a PSU whose rows
        # are all missing disappears, and n_h with it), so instead the missing rows go to a domain
        # of their own (value 1, not 0: samplics divides by each domain's estimate), dropped below
        v = df[y].to_numpy(dtype=float, na_value=np.nan)
        miss = np.isnan(v)
        est = TaylorEstimator(PopParam.mean)
        try:
            est.estimate(y=np.where(miss, 1.0, v), samp_weight=df["weight"].to_numpy(),
                         stratum=df["area"].to_numpy(), psu=df["ea"].to_numpy(),
                         domain=np.where(miss, "~missing", dom))
        except ZeroDivisionError as exc:  # a domain whose estimate is 0: its CV is 1/0
            failed[y] = f"ZeroDivisionError: {exc} (a domain whose estimate is 0)"
            continue
        for d, v in est.point_est.items():
            if d == "~missing":
                continue
            a, g = d.split("|")
            rows.append((a, g, y, float(v), float(est.stderror[d])))
    times = {"read": t_read, "total": time.perf_counter() - t0, "failed": failed}
    e = pd.DataFrame(rows, columns=["area", "population_group", "indicator", "estimate", "se"])
    _save(out, e, None)
    return times


R_SCRIPT = r"""
suppressMessages(library(survey))
args <- commandArgs(TRUE)
t0 <- Sys.time()
d <- read.csv(args[1], stringsAsFactors = FALSE)
t_read <- as.numeric(Sys.time() - t0, units = "secs")
des <- svydesign(ids = ~ea, strata = ~area, weights = ~weight, nest = TRUE, data = d)
ys <- strsplit(args[2], ",")[[1]]
contr <- list(c("idps", "non_displaced"), c("returnees", "non_displaced"))
est <- list(); con <- list()
for (y in ys) {
  dy <- subset(des, !is.na(d[[y]]))   # R's na.rm: the rows leave, the design keeps its PSUs
  r <- svyby(as.formula(paste0("~", y)), ~area + population_group, dy, svymean, covmat = TRUE)
  est[[y]] <- data.frame(area = r$area, population_group = r$population_group, indicator = y,
                         estimate = coef(r), se = SE(r))
  nm <- names(coef(r))
  spec <- list(); lab <- c(); ar <- c()
  for (p in contr) {
    for (a in unique(r$area)) {
      f <- paste(a, p[1], sep = "."); g <- paste(a, p[2], sep = ".")
      if (f %in% nm && g %in% nm) {
        v <- setNames(c(1, -1), c(f, g))
        spec[[length(spec) + 1]] <- v
        lab <- c(lab, paste(p[1], p[2], sep = "-")); ar <- c(ar, a)
      }
    }
  }
  k <- svycontrast(r, spec)
  con[[y]] <- data.frame(area = ar, contrast = lab, indicator = y,
                         difference = as.numeric(coef(k)), se = as.numeric(SE(k)))
}
write.csv(do.call(rbind, est), file.path(args[3], "estimates.csv"), row.names = FALSE)
write.csv(do.call(rbind, con), file.path(args[3], "contrasts.csv"), row.names = FALSE)
cat(sprintf("RREAD %.6f\n", t_read))
"""


def r_available() -> bool:
    if not shutil.which("Rscript"):
        return False
    p = subprocess.run(["Rscript", "-e", "suppressMessages(library(survey))"],
                       capture_output=True, text=True, check=False)
    return p.returncode == 0


def child_r(db: str, out: Path, cfg: dict) -> dict:
    """R runs as a grandchild (Rscript); its peak RSS is read from RUSAGE_CHILDREN. The CSV it
    reads is written by DuckDB before the clock starts."""
    import duckdb
    import pandas as pd

    csv = out / "data.csv"
    con = duckdb.connect(db, read_only=True)
    con.execute(f"COPY (SELECT area, ea, weight, population_group, {', '.join(IND)} "
                f"FROM {cfg['table']}) TO '{csv}' (HEADER, DELIMITER ',')")
    con.close()
    script = out / "bench.R"
    script.write_text(R_SCRIPT)
    t0 = time.perf_counter()
    p = subprocess.run(["Rscript", str(script), str(csv), ",".join(cfg["indicators"]), str(out)],
                       capture_output=True, text=True, check=False)
    total = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"R failed ({p.returncode}):\n{p.stdout[-1500:]}\n{p.stderr[-3000:]}")
    read = float(next(ln.split()[1] for ln in p.stdout.splitlines() if ln.startswith("RREAD")))
    e = pd.read_csv(out / "estimates.csv")
    c = pd.read_csv(out / "contrasts.csv")
    _save(out, e, c)
    return {"read": read, "total": total,
            "r_rss": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}


CHILDREN = {"engine": child_engine, "engine-profile": child_engine_profile, "sql": child_sql,
            "svy": child_svy, "samplics": child_samplics, "r": child_r}


# ------------------------------------------------------------------------------------ compare
EST_KEY = ["area", "population_group", "indicator"]
CON_KEY = ["area", "contrast", "indicator"]


def compare(ref_dir: Path, peer_dir: Path, peer: str, rtol: float) -> tuple[list[str], dict]:
    """Differences between idpkit's tables and a peer's (empty when they agree), and the largest
    relative differences seen."""
    import numpy as np
    import pandas as pd

    problems, worst = [], {}
    for name, key, vals in (("estimates", EST_KEY, ["estimate", "se"]),
                            ("contrasts", CON_KEY, ["difference", "se"])):
        f = peer_dir / f"{name}.parquet"
        if not f.exists():
            continue
        a = pd.read_parquet(ref_dir / f"{name}.parquet")
        b = pd.read_parquet(f)
        a = a[a.indicator.isin(b.indicator.unique())]  # a peer may run fewer indicators
        for df in (a, b):
            for c in key:
                df[c] = df[c].astype(str)
        a, b = a.set_index(key).sort_index(), b.set_index(key).sort_index()
        if not a.index.is_unique or not b.index.is_unique:
            problems.append(f"{name}: duplicate keys")
            continue
        only_a, only_b = a.index.difference(b.index), b.index.difference(a.index)
        # a domain with no non-missing value: idpkit gives NaN, a peer may leave it out
        empty = a.loc[only_a, vals[0]].isna()
        if empty.any():
            worst[f"{name}.empty"] = int(empty.sum())
            only_a = only_a[~empty.to_numpy()]
        if len(only_a) or len(only_b):
            problems.append(f"{name}: {len(only_a)} rows only in idpkit, {len(only_b)} only in "
                            f"{peer} (e.g. {list(only_a[:2]) or list(only_b[:2])})")
        both = a.index.intersection(b.index)
        x, y = a.loc[both], b.loc[both]
        for c in vals:
            xa, ya = x[c].to_numpy(float), y[c].to_numpy(float)
            # relative difference; two values both within 1e-12 of 0 are equal (an SE of 0 is
            # 1e-17 in a peer that sums rounding noise)
            size = np.maximum(np.abs(xa), np.abs(ya))
            if c == "difference":  # a gap near 0 cancels digits: measure it against its SE
                size = np.fmax(size, x["se"].to_numpy(float))
            rel = np.where(size <= 1e-12, 0.0, np.abs(xa - ya) / np.where(size > 0, size, 1.0))
            rel = np.where(np.isnan(xa) & np.isnan(ya), 0.0, rel)
            rel = np.where(np.isnan(xa) ^ np.isnan(ya), np.inf, rel)
            worst[f"{name}.{c}"] = float(np.max(rel)) if len(rel) else 0.0
            bad = rel > rtol
            if bad.any():
                i = int(np.argmax(rel))
                problems.append(f"{name}.{c}: {int(bad.sum())} of {len(rel)} cells differ from "
                                f"{peer} by more than {rtol:g} relative (worst {both[i]}: idpkit "
                                f"{xa[i]!r}, {peer} {ya[i]!r}, rel {rel[i]:.2e})")
        worst[f"{name}.rows"] = len(both)
    return problems, worst


# ------------------------------------------------------------------------------------ main
def run(kind: str, db: Path, out: Path, cfg: dict) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    return run_child(__file__, kind, str(db), str(out), json.dumps(cfg))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, db, out, cfg = sys.argv[2:6]
        answer(CHILDREN[kind](db, Path(out), json.loads(cfg)))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--households", type=int, default=1_000_000)
    ap.add_argument("--peer-rows", type=int, default=0,
                    help="run svy and samplics on the first N households (default: all)")
    ap.add_argument("--samplics-rows", type=int, default=10_000,
                    help="run samplics on the first N households (0: all; it is very slow)")
    ap.add_argument("--samplics-indicators", type=int, default=2,
                    help="run samplics on the first K indicators (its time is per indicator)")
    ap.add_argument("--r-rows", type=int, default=5_000,
                    help="run R survey on the first N households (0: skip R)")
    ap.add_argument("--r-indicators", type=int, default=2,
                    help="run R on the first K indicators (its time is per indicator)")
    ap.add_argument("--skip", default="", help="comma-separated: svy,samplics,r")
    ap.add_argument("--lonely-psu", default="adjust",
                    help="idpkit's lonely_psu (no stratum has one PSU here; default adjust)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="run idpkit and the SQL floor N times (alternating) and keep the best "
                         "time (the machine is shared)")
    ap.add_argument("--warehouse", type=Path,
                    help="build the warehouse here, or reuse it if it exists (default: temp dir)")
    ap.add_argument("--profile", action="store_true", help="also time idpkit's SQL statements")
    ap.add_argument("--design-effects", action="store_true",
                    help="idpkit also computes design effects and unweighted n (compare with "
                         "the 'SQL + n, Σw·y²' floor); off: the issue's workload, estimates, SEs "
                         "and gaps")
    args = ap.parse_args()
    skip = {s for s in args.skip.split(",") if s}
    print(f"load average (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"{os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory(prefix="idpkit-bench-survey-") as tmp:
        d = Path(tmp)
        db = args.warehouse or d / "w.duckdb"
        t = time.perf_counter()
        if db.exists():
            print(f"reusing {db}")
        else:
            info = build_warehouse(db, args.households)
            print(f"generated {info['households']:,} households, {info['areas']} areas, "
                  f"{info['psus']:,} PSUs ({info['min_psu']}-{info['max_psu']} per area), "
                  f"{N_IND} indicators, {db.stat().st_size / 1e6:,.0f} MB, in "
                  f"{time.perf_counter() - t:.1f} s (not timed below)", flush=True)
        cfg = {"table": "households", "lonely_psu": args.lonely_psu,
               "design_effects": args.design_effects}
        res: dict[str, dict] = {}
        problems: list[str] = []
        agree: list[str] = []

        def show(label: str, r: dict, extra: str = "") -> None:
            mib = r["peak_rss"] / 2**20
            print(f"{label:<44} {r['total']:8.2f} s  peak RSS {mib:7,.0f} MiB{extra}", flush=True)

        def check(ref: str, peer: str, rtol: float, what: str) -> None:
            p, w = compare(d / ref, d / peer, peer, rtol)
            problems.extend(p)
            desc = ", ".join(f"{k} {v:.1e}" for k, v in w.items()
                             if not k.endswith(("rows", "empty")))
            rows = ", ".join(f"{w[k]:,} {k.split('.')[0]}" for k in w if k.endswith("rows"))
            empty = sum(v for k, v in w.items() if k.endswith("empty"))
            agree.append(f"{what}: {rows}; largest relative difference {desc}"
                         + (f"; {empty} domain(s) with no non-missing value (NaN in idpkit) "
                            f"absent from {peer}" if empty else ""))

        runs: dict[str, list[dict]] = {"engine": [], "sql": [], "sql_full": []}
        for _ in range(args.repeat):  # alternate, so that a burst of load hits all three
            runs["engine"].append(run("engine", db, d / "engine", cfg))
            runs["sql"].append(run("sql", db, d / "sql", cfg))
            runs["sql_full"].append(run("sql", db, d / "sql_full", {**cfg, "full": True}))
        for name, rs in runs.items():
            res[name] = {**min(rs, key=lambda r: r["total"]),
                         "peak_rss": max(r["peak_rss"] for r in rs),
                         "all": [round(r["total"], 3) for r in rs]}
        rep = f" (best of {args.repeat})" if args.repeat > 1 else ""
        for name, label in (("engine", f"idpkit ({args.households:,})"),
                            ("sql", f"hand-written SQL ({args.households:,})"),
                            ("sql_full", "SQL + n and Σw·y² (as idpkit)")):
            show(label + rep, res[name],
                 f"  (runs: {', '.join(f'{t:.2f}' for t in res[name]['all'])})" if rep else "")
        check("engine", "sql", 1e-9, "idpkit vs SQL")
        check("engine", "sql_full", 1e-9, "idpkit vs SQL + n, Σw·y²")

        refs: dict[str, str] = {}  # peer -> the idpkit run on the same rows

        def ref_for(rows: int) -> tuple[str, dict]:
            if rows >= args.households:
                return "engine", cfg
            c = {**cfg, "table": make_subset(db, rows)}
            name = f"engine_{rows}"
            if name not in res:
                res[name] = run("engine", db, d / name, c)
                show(f"idpkit ({rows:,})", res[name])
            return name, c

        peers = [("svy", args.peer_rows, N_IND), ("samplics", args.samplics_rows,
                                                   args.samplics_indicators)]
        for peer, rows, k in peers:
            if peer in skip:
                continue
            rows = min(rows or args.households, args.households)
            ref, pcfg = ref_for(rows)
            refs[peer] = ref
            res[peer] = run(peer, db, d / peer, {**pcfg, "indicators": IND[:k]})
            what = f"{peer} ({rows:,}{'' if k == N_IND else f', {k} indicators'})"
            show(what, res[peer], f"  (read {res[peer]['read']:.2f} s)")
            for y, err in res[peer].get("failed", {}).items():
                print(f"  {peer} failed on {y}: {err}")
            check(ref, peer, 1e-6, f"idpkit vs {what}")
        if "samplics" in res:
            print("samplics: no covariance between domains, so no SEs for the gaps "
                  "(estimates and SEs compared)")

        if "r" not in skip and args.r_rows > 0:
            if r_available():
                r_rows = min(args.r_rows, args.households)
                ref, rcfg = ref_for(r_rows)
                refs["r"] = ref
                k = args.r_indicators
                res["r"] = run("r", db, d / "r", {**rcfg, "indicators": IND[:k]})
                r = res["r"]
                what = f"R survey ({r_rows:,}{'' if k == N_IND else f', {k} indicators'})"
                print(f"{what:<44} {r['total']:8.2f} s  peak RSS "
                      f"{r['r_rss'] / 2**20:7,.0f} MiB  (read {r['read']:.2f} s)", flush=True)
                check(ref, "r", 1e-6, f"idpkit vs {what}")
            else:
                print("R survey not installed, skipped")

        e, s = res["engine"], res["sql"]
        print(f"ratio idpkit/SQL: time {e['total'] / s['total']:.2f} (goal <= 2), "
              f"memory {e['peak_rss'] / s['peak_rss']:.2f}; idpkit peak RSS "
              f"{e['peak_rss'] / 2**20:,.0f} MiB (goal < 1 GiB); against SQL with n and Σw·y² "
              f"{e['total'] / res['sql_full']['total']:.2f}")
        for peer in ("svy", "samplics", "r"):
            if peer in res:
                ref = res[refs[peer]]
                pr = res[peer]
                k = {"samplics": args.samplics_indicators,
                     "r": args.r_indicators}.get(peer, N_IND)
                if k < N_IND:
                    pr = {**pr, "total": pr["read"] + (pr["total"] - pr["read"]) * N_IND / k}
                    print(f"{peer} for {N_IND} indicators (extrapolated from {k}): "
                          f"{pr['total']:.1f} s")
                rss = pr.get("r_rss", pr["peak_rss"])
                print(f"ratio idpkit/{peer} (same rows): time {ref['total'] / pr['total']:.4f} "
                      f"(speed-up {pr['total'] / ref['total']:,.1f}x), memory "
                      f"{ref['peak_rss'] / rss:.3f}")
        print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if args.profile:
            pr = run("engine-profile", db, d / "profile", cfg)
            print(f"idpkit profile: {pr['total']:.2f} s in all, {pr['sql']:.2f} s in "
                  f"{pr['statements']} SQL statements; the slowest:")
            for q, n, tsum in pr["top"]:
                print(f"  {tsum:6.2f} s  x{n}  {q}")
        print("\n".join(agree))
        if problems:
            print("MISMATCH:\n  " + "\n  ".join(problems))
            sys.exit(1)
        print("check: all numbers agree within tolerance")


if __name__ == "__main__":
    main()
