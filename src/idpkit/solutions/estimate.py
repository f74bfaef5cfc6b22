"""Design-based estimation by Taylor linearisation, as aggregations over the warehouse.

What R's ``survey`` package does row by row in memory, written as a few GROUP BYs (Ibis, compiled
for DuckDB and PostgreSQL), so that a census-scale survey never leaves the database:

1. *One pass over the microdata*: per stratum, PSU and finest domain, the weighted sums every
   estimator needs (``Σw·y``, ``Σw`` over non-missing rows, ``Σw·x`` for ratios, ``Σw·y²`` and
   counts for design effects), for every indicator at once. Coarser domains are sums of these
   (PSU totals are additive over domains), so all domain sets share that one pass.
2. *Estimates*: sums of the PSU sums per domain.
3. *Linearised PSU totals* ``u`` (the influence of each PSU on each estimate): ``Σw·y`` for a
   total, ``(Σw·y − R·Σw)/N̂`` for a mean or proportion, ``(Σw·y − R·Σw·x)/X̂`` for a ratio.
4. *Variance*: within each stratum, ``(1 − f_h)·n_h/(n_h − 1)·Σ_j (u_hj − ū_h)²``, summed over
   strata; ``n_h`` counts every PSU of the design, including PSUs with no row in the domain
   (their ``u`` is 0): domains are estimated inside the full design, never by subsetting it.
   Two-stage designs with population sizes at stage 1 add R's second-stage term
   ``Σ_PSU (n_h/N_h)·V_PSU``.
5. *Contrasts* (IDPs minus a comparison group, and their ratio): the linearised PSU totals of the
   two domains are combined PSU by PSU before step 4, which carries their covariance.

Missing values follow R's ``na.rm=TRUE``: a row missing an indicator leaves that indicator's
domain (its weight is zeroed), but its PSU still counts. Lonely PSUs follow R's
``survey.lonely.psu`` options.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from idpkit.solutions import engine
from idpkit.solutions.design import DesignError, SurveyDesign
from idpkit.solutions.engine import DOUBLE, Plan, lit, q

Statistic = Literal["mean", "total", "ratio", "proportion"]
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Indicator:
    """One quantity to estimate. ``proportion`` with a ``level`` is the share of non-missing rows
    whose ``variable`` equals that level; without one, ``variable`` is already 0/1 (a mean)."""

    name: str
    statistic: Statistic
    variable: str
    denominator: str | None = None
    level: str | None = None

    def __post_init__(self) -> None:
        if self.statistic == "ratio" and not self.denominator:
            raise DesignError(f"indicator {self.name!r}: a ratio needs a denominator")


@dataclass(frozen=True)
class Contrast:
    """Compare the domains where ``column`` is ``focal`` with those where it is ``reference``
    (same values of every other domain column): difference ``focal − reference`` and parity ratio
    ``focal / reference``. ``reference="*"`` compares with every household of the survey (IRIS'
    national comparison)."""

    column: str
    focal: str
    reference: str


@dataclass
class Estimates:
    """Tidy results: one row per domain and indicator; one per contrast, domain and indicator."""

    estimates: pd.DataFrame
    contrasts: pd.DataFrame = field(default_factory=pd.DataFrame)


def _value_sql(t: ir.Table, ind: Indicator) -> str:
    """The indicator's per-row value as SQL, NULL where missing."""
    col = t[ind.variable]
    ref = q(ind.variable)
    if ind.level is not None:
        if col.type().is_numeric():
            try:
                level = lit(float(ind.level))
            except ValueError:
                return f"CASE WHEN {ref} IS NULL THEN NULL ELSE 0.0 END"
            return f"CASE WHEN {ref} IS NULL THEN NULL WHEN {ref} = {level} THEN 1.0 ELSE 0.0 END"
        return (f"CASE WHEN {ref} IS NULL THEN NULL WHEN CAST({ref} AS VARCHAR) = "
                f"{lit(str(ind.level))} THEN 1.0 ELSE 0.0 END")
    if col.type().is_boolean():
        return f"CASE WHEN {ref} THEN 1.0 WHEN NOT {ref} THEN 0.0 END"
    if not col.type().is_numeric():
        raise DesignError(f"indicator {ind.name!r}: column {ind.variable!r} holds text; give a "
                          "level to estimate the share of one of its values")
    return f"CAST({ref} AS {DOUBLE})"


def _plan(wh, table: ir.Table, design: SurveyDesign, indicators: Sequence[Indicator],
          finest: list[str], extras: bool = True) -> Plan:
    source = f"({wh.backend.sql(table)})"
    values = [_value_sql(table, i) for i in indicators]
    dens = [f"CAST({q(i.denominator)} AS {DOUBLE})" if i.statistic == "ratio" else None
            for i in indicators]
    return Plan(source, design.weights, design.strata, design.psu, design.ssu, list(design.fpc),
                design.lonely_psu, finest, values, dens, [i.statistic for i in indicators],
                extras=extras)


def estimate(wh, table: ir.Table, design: SurveyDesign, indicators: Sequence[Indicator],
             domains: Sequence[Sequence[str]] = ((),), contrasts: Sequence[Contrast] = (), *,
             confidence: float = 0.95, design_effects: bool = True) -> Estimates:
    """Every indicator for every domain of every domain set, and the contrasts, in one pass.

    ``design_effects=False`` skips the sums that only design effects and unweighted counts need
    (``deff`` and ``n`` are then missing): the pass over the data has half the aggregates.

    ``wh`` is the :class:`~idpkit.warehouse.Warehouse` holding ``table`` (any Ibis table
    expression over it); intermediate results are TEMP tables, dropped at the end.
    """
    domains = [tuple(d) for d in domains]
    finest = list(dict.fromkeys(c for d in domains for c in d))
    missing = [c for c in {*finest, *design.columns(),
                           *(i.variable for i in indicators),
                           *(i.denominator for i in indicators if i.denominator)}
               if c not in table.columns]
    if missing:
        raise DesignError(f"column(s) not in the survey data: {', '.join(sorted(missing))}")
    if not indicators:
        raise DesignError("no indicators to estimate")
    z = _z(confidence)
    plan = _plan(wh, table, design, indicators, finest, design_effects)
    run = engine.Runner(wh)
    try:
        base = engine._base(plan)
        st, pi, info = engine.design_tables(plan, run, base)
        _check_lonely(run, st, info, design)
        base = engine._weighted_base(plan, base, st, pi)
        ps = run.create("ps", engine.sums_select(plan, base, ["_h", "_p"]))
        ss = run.create("ss", engine.sums_select(plan, base, ["_h", "_p", "_s"])) \
            if pi is not None else None
        frames, contrast_frames = [], []
        for keys in domains:
            est, con = _domain_set(run, plan, table, ps, ss, st, pi, info, indicators, keys,
                                   contrasts, z)
            frames.append(est)
            contrast_frames += con
    finally:
        run.close()
    est = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    cons = pd.concat(contrast_frames, ignore_index=True) if contrast_frames else pd.DataFrame()
    return Estimates(est, cons)


def _check_lonely(run: engine.Runner, st: str, info: dict[str, int], design: SurveyDesign) -> None:
    if design.lonely_psu == "fail" and info["ok_strata"] < info["n_strata"]:
        lonely = run.fetch(f"SELECT _h FROM {st} WHERE n_h < 2 ORDER BY _h")["_h"].tolist()
        raise DesignError(
            f"{len(lonely)} stratum/strata with a single PSU ({', '.join(map(str, lonely[:5]))}"
            f"{', …' if len(lonely) > 5 else ''}): their variance cannot be estimated. Set "
            "lonely_psu to remove, certainty, adjust or average in the design")


def _domain_set(run: engine.Runner, plan: Plan, table: ir.Table, ps: str, ss: str | None,
                st: str, pi: str | None, info: dict[str, int], indicators: Sequence[Indicator],
                keys: tuple[str, ...], contrasts: Sequence[Contrast], z: float
                ) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    k = len(indicators)
    s1 = engine.rollup(plan, ps, ["_h", "_p"], keys)
    est = run.create("est", engine.estimates_select(plan, s1, keys))
    cons = [c for c in contrasts if c.column in keys]
    u1 = engine.linearised_select(plan, s1, est, ["_h", "_p"], keys)
    if cons:
        u1 = run.create("u", u1)
    u2 = None
    if ss is not None:
        s2 = engine.rollup(plan, ss, ["_h", "_p", "_s"], keys)
        u2 = engine.linearised_select(plan, s2, est, ["_h", "_p", "_s"], keys)
        if cons:
            u2 = run.create("u2", u2)
    ucols = [f"u{i}" for i in range(k)]
    var = engine.variance_select(plan, _from(u1), st, pi, info, keys, ucols, _from(u2))
    frame = run.fetch(f"SELECT e.*, {', '.join(f'v.u{i} AS V{i}' for i in range(k))} FROM {est} e "
                      f"JOIN ({var}) v ON {engine._on(keys, 'e', 'v')}")
    frame.columns = [c if c in keys else c.lower() for c in frame.columns]
    out = _tidy(frame, indicators, keys, z)
    cframes = []
    for c in cons:
        cframes.append(_contrast(run, plan, table, ps, ss, u1, u2, est, st, pi, info, indicators,
                                 keys, c, z))
    return out, cframes


def _from(sql_or_table: str | None) -> str | None:
    """A temp table name or a SELECT, usable after FROM (...)."""
    if sql_or_table is None:
        return None
    return f"SELECT * FROM {sql_or_table}" if sql_or_table.startswith('"') else sql_or_table


def _z(confidence: float) -> float:
    if confidence == 0.95:
        return Z95
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + confidence / 2)


def _col(frame: pd.DataFrame, name: str) -> np.ndarray:
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _long(frame: pd.DataFrame, keys: Sequence[str], indicators: Sequence[Indicator],
          columns: dict[str, list[np.ndarray]]) -> pd.DataFrame:
    """Stack per-indicator arrays into one row per domain and indicator (domain-major order)."""
    m, k = len(frame), len(indicators)
    data: dict[str, object] = {}
    for key in keys:  # each domain repeated once per indicator
        data[key] = np.repeat(frame[key].to_numpy(), k)
    data["indicator"] = np.tile(np.array([i.name for i in indicators], dtype=object), m)
    data["statistic"] = np.tile(np.array([i.statistic for i in indicators], dtype=object), m)
    data["level"] = np.tile(np.array([i.level for i in indicators], dtype=object), m)
    for name, arrays in columns.items():
        data[name] = np.column_stack(arrays).reshape(-1) if m else np.array([], dtype=float)
    return pd.DataFrame(data)


def _tidy(frame: pd.DataFrame, indicators: Sequence[Indicator], keys: Sequence[str],
          z: float) -> pd.DataFrame:
    """Wide per-domain results -> one row per domain and indicator, with SE, CI, CV, deff."""
    if keys:
        frame = frame.sort_values(list(keys), kind="stable").reset_index(drop=True)
    cols: dict[str, list[np.ndarray]] = {c: [] for c in (
        "estimate", "se", "ci_low", "ci_high", "cv", "deff", "n", "weighted_n")}
    for i, ind in enumerate(indicators):
        est = _col(frame, f"r{i}")
        var = np.clip(_col(frame, f"v{i}"), 0, None)
        se = np.sqrt(var)
        cols["estimate"].append(est)
        cols["se"].append(se)
        cols["ci_low"].append(est - z * se)
        cols["ci_high"].append(est + z * se)
        with np.errstate(divide="ignore", invalid="ignore"):
            cols["cv"].append(np.where(est != 0, se / np.abs(est), np.nan))
        extras = f"n{i}" in frame
        cols["deff"].append(_deff(frame, i, ind, var) if extras else np.full(len(frame), np.nan))
        cols["n"].append(_col(frame, f"n{i}") if extras else np.full(len(frame), np.nan))
        cols["weighted_n"].append(_col(frame, f"w{i}"))
    out = _long(frame, keys, indicators, cols)
    out["n"] = out["n"].astype("Int64")
    out.insert(0, "by", "+".join(keys))
    return out


def _deff(frame: pd.DataFrame, i: int, ind: Indicator, var: np.ndarray) -> np.ndarray:
    """Design effect against simple random sampling without replacement of the same number of
    households (R's ``deff=TRUE``): ``V / (s²/n·(1 − n/N̂))``, ``s²`` the weighted variance with
    R's ``n/(n−1)``. Not defined for ratios."""
    if ind.statistic == "ratio":
        return np.full(len(frame), np.nan)
    n, W = _col(frame, f"n{i}"), _col(frame, f"w{i}")
    Y, Q = _col(frame, f"y{i}"), _col(frame, f"q{i}")
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = Y / W
        s2 = (Q / W - mean * mean) * n / (n - 1)
        srs = s2 / n * (1 - n / W)
        if ind.statistic == "total":
            srs = srs * W * W
        return np.where(srs > 0, var / srs, np.nan)


def _national(run: engine.Runner, plan: Plan, ps: str, ss: str | None, u1: str,
              u2: str | None, est: str, c: Contrast, other: list[str], k: int, literal_of
              ) -> tuple[str, str, str | None]:
    """Linearised totals of ``focal − whole survey``: the whole survey's estimates and unit
    totals are computed from the same PSU sums (one more small aggregation)."""
    s1 = engine.rollup(plan, ps, ["_h", "_p"], [])
    est_all = run.create("est_all", engine.estimates_select(plan, s1, []))
    lin_all = run.create("u_all", engine.linearised_select(plan, s1, est_all, ["_h", "_p"], []))
    lin1, pair = engine.contrast_national_select(u1, lin_all, est, est_all, ["_h", "_p"],
                                                 c.column, c.focal, other, k, literal_of)
    lin2 = None
    if u2 is not None and ss is not None:
        s2 = engine.rollup(plan, ss, ["_h", "_p", "_s"], [])
        lin2_all = run.create("u2_all", engine.linearised_select(plan, s2, est_all,
                                                                 ["_h", "_p", "_s"], []))
        lin2, _ = engine.contrast_national_select(u2, lin2_all, est, est_all,
                                                  ["_h", "_p", "_s"], c.column, c.focal, other,
                                                  k, literal_of)
    return lin1, pair, lin2


def _contrast(run: engine.Runner, plan: Plan, table: ir.Table, ps: str, ss: str | None,
              u1: str, u2: str | None,
              est: str, st: str, pi: str | None, info: dict[str, int],
              indicators: Sequence[Indicator], keys: tuple[str, ...], c: Contrast, z: float
              ) -> pd.DataFrame:
    """Difference and parity ratio between two domains, with SEs from their joint linearisation:
    the PSU totals ``u_focal − u_reference`` (and ``u_f/R_r − R_f·u_r/R_r²``) carry the
    covariance of two domains that share PSUs."""
    other = [kk for kk in keys if kk != c.column]
    k = len(indicators)
    col_type = table[c.column].type()

    def literal_of(v: str) -> str:
        if col_type.is_numeric():
            return lit(float(v))
        return lit(str(v))

    if c.reference == engine.NATIONAL:
        lin1, pair, lin2 = _national(run, plan, ps, ss, u1, u2, est, c, other, k, literal_of)
    else:
        lin1, pair = engine.contrast_select(u1, est, ["_h", "_p"], c.column, c.focal,
                                            c.reference, other, k, literal_of)
        lin2 = None
        if u2 is not None:
            lin2, _ = engine.contrast_select(u2, est, ["_h", "_p", "_s"], c.column, c.focal,
                                             c.reference, other, k, literal_of)
    vcols = [f"d{i}" for i in range(k)] + [f"q{i}" for i in range(k)]
    var = engine.variance_select(plan, lin1, st, pi, info, other, vcols, lin2)
    frame = run.fetch(f"SELECT p.*, {', '.join(f'v.{x} AS V{x}' for x in vcols)} FROM ({pair}) p "
                      f"JOIN ({var}) v ON {engine._on(other, 'p', 'v')}")
    frame.columns = [x if x in other else x.lower() for x in frame.columns]
    if other:
        frame = frame.sort_values(other, kind="stable").reset_index(drop=True)
    names = ("focal_estimate", "reference_estimate", "difference", "difference_se",
             "difference_ci_low", "difference_ci_high", "significant", "parity_ratio",
             "parity_ratio_se")
    cols: dict[str, list[np.ndarray]] = {n: [] for n in names}
    for i in range(k):
        f, r = _col(frame, f"rf{i}"), _col(frame, f"rr{i}")
        d_se = np.sqrt(np.clip(_col(frame, f"vd{i}"), 0, None))
        q_se = np.sqrt(np.clip(_col(frame, f"vq{i}"), 0, None))
        diff = f - r
        lo, hi = diff - z * d_se, diff + z * d_se
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(r != 0, f / r, np.nan)
        for name, arr in zip(names, (f, r, diff, d_se, lo, hi, (lo > 0) | (hi < 0), ratio,
                                     q_se), strict=True):
            cols[name].append(arr)
    out = _long(frame, other, indicators, cols)
    out["significant"] = out["significant"].astype(bool)
    out.insert(len(other) + 4, "column", c.column)
    out.insert(len(other) + 5, "focal", c.focal)
    out.insert(len(other) + 6, "reference", c.reference)
    out.insert(0, "by", "+".join(other))
    return out
