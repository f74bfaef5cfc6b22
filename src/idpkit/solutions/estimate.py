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

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import ibis
import ibis.expr.types as ir
import pandas as pd

from idpkit.solutions.design import DesignError, SurveyDesign

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
    ``focal / reference``."""

    column: str
    focal: str
    reference: str


@dataclass
class Estimates:
    """Tidy results: one row per domain and indicator; one per contrast, domain and indicator."""

    estimates: pd.DataFrame
    contrasts: pd.DataFrame = field(default_factory=pd.DataFrame)


_STRATUM, _PSU, _SSU, _W = "_h", "_p", "_s", "_w"


def _num(e: ir.Value) -> ir.FloatingValue:
    return e.cast("float64")


def _value(t: ir.Table, ind: Indicator) -> ir.FloatingValue:
    """The indicator's per-row value, NULL where missing."""
    col = t[ind.variable]
    if ind.level is not None:
        text = col.cast("string")
        return text.isnull().ifelse(ibis.null("float64"),
                                    (text == str(ind.level)).ifelse(1.0, 0.0))
    if col.type().is_boolean():
        return col.ifelse(1.0, 0.0)
    return _num(col)


def prepare(t: ir.Table, design: SurveyDesign, indicators: Sequence[Indicator],
            by_columns: Sequence[str]) -> ir.Table:
    """The microdata reduced to what estimation reads: weight, stratum, PSU (SSU), the domain
    columns as text, and per indicator ``y{i}`` (NULL where missing) and ``x{i}`` (ratios)."""
    cols: dict[str, ir.Value] = {}
    cols[_STRATUM] = t[design.strata].cast("string") if design.strata else ibis.literal("1")
    if design.psu:
        cols[_PSU] = t[design.psu].cast("string")
    else:
        cols[_PSU] = ibis.row_number().cast("string")
    if design.ssu:
        cols[_SSU] = t[design.ssu].cast("string")
    cols[_W] = _num(t[design.weights]) if design.weights else ibis.literal(1.0)
    for i, col in enumerate(design.fpc):
        cols[f"_fpc{i + 1}"] = _num(t[col])
    for c in by_columns:
        cols[c] = t[c].cast("string")
    for i, ind in enumerate(indicators):
        y = _value(t, ind)
        if ind.statistic == "ratio":
            x = _num(t[ind.denominator])
            both = y.notnull() & x.notnull()
            cols[f"y{i}"] = both.ifelse(y, ibis.null("float64"))
            cols[f"x{i}"] = both.ifelse(x, ibis.null("float64"))
        else:
            cols[f"y{i}"] = y
    return t.select(**cols)


def _fraction(sampled: ir.NumericValue, fpc: ir.NumericValue | None) -> ir.FloatingValue:
    """Sampling fraction from an fpc column holding population sizes (or fractions <= 1)."""
    if fpc is None:
        return ibis.literal(0.0)
    return (fpc <= 1).ifelse(_num(fpc), _num(sampled) / fpc)


@dataclass
class _DesignInfo:
    strata: ir.Table  # _h, n_h, f_h (sampling fraction)
    psus: ir.Table | None  # _h, _p, n2, f2, f1 (two-stage with stage-1 fpc only)
    n_strata: int
    n_ok_strata: int
    n_psu_total: int


def _design_info(wh, base: ir.Table, design: SurveyDesign) -> _DesignInfo:
    fpc1 = base["_fpc1"] if design.fpc else None
    agg = {"n_h": base[_PSU].nunique()}
    if fpc1 is not None:
        agg["fpc_h"] = fpc1.max()
    strata = base.group_by(_STRATUM).aggregate(**agg)
    strata = strata.mutate(f_h=_fraction(strata.n_h, strata.fpc_h if fpc1 is not None else None))
    strata = wh.materialize(strata.select(_STRATUM, "n_h", "f_h"))
    counts = strata.aggregate(n=strata.count(), ok=(strata.n_h > 1).ifelse(1, 0).sum(),
                              psus=strata.n_h.sum()).execute().iloc[0]
    psus = None
    if design.ssu and design.fpc:
        agg2 = {"n2": base[_SSU].nunique()}
        if len(design.fpc) > 1:
            agg2["fpc2"] = base["_fpc2"].max()
        psus = base.group_by([_STRATUM, _PSU]).aggregate(**agg2)
        psus = psus.mutate(f2=_fraction(psus.n2, psus.fpc2 if len(design.fpc) > 1 else None))
        psus = psus.join(strata, _STRATUM).select(_STRATUM, _PSU, "n2", "f2", f1="f_h")
        psus = wh.materialize(psus)
    return _DesignInfo(strata, psus, int(counts["n"]), int(counts["ok"]), int(counts["psus"]))


def _derive_weights(base: ir.Table, info: _DesignInfo, design: SurveyDesign) -> ir.Table:
    """Weights from population sizes when the design gives none: ``Π N_stage / n_stage``."""
    if design.weights:
        return base
    t = base.join(info.strata, _STRATUM).mutate(_w=1.0 / ibis._.f_h)
    if info.psus is not None and len(design.fpc) > 1:
        t = t.join(info.psus.select(_STRATUM, _PSU, "f2"), [_STRATUM, _PSU])
        t = t.mutate(_w=t._w / t.f2)
    return t.select(base.columns)


def _sums(t: ir.Table, keys: Sequence[str], indicators: Sequence[Indicator]) -> ir.Table:
    """Per-key weighted sums for every indicator (the one pass over the microdata)."""
    w = t[_W]
    agg: dict[str, ir.Value] = {}
    for i, ind in enumerate(indicators):
        y = t[f"y{i}"]
        ok = y.notnull()
        agg[f"Y{i}"] = ok.ifelse(w * y, 0.0).sum()
        agg[f"W{i}"] = ok.ifelse(w, 0.0).sum()
        agg[f"Q{i}"] = ok.ifelse(w * y * y, 0.0).sum()
        agg[f"n{i}"] = ok.ifelse(1, 0).sum()
        if ind.statistic == "ratio":
            agg[f"X{i}"] = ok.ifelse(w * t[f"x{i}"], 0.0).sum()
    return t.group_by(list(keys)).aggregate(**agg)


def _resum(t: ir.Table, keys: Sequence[str]) -> ir.Table:
    """Roll sums up to coarser keys (PSU totals are additive over domains)."""
    value_cols = [c for c in t.columns if c[0] in "YWQnX" and c[1:].isdigit()]
    agg = {c: t[c].sum() for c in value_cols}
    return t.group_by(list(keys)).aggregate(**agg) if keys else t.aggregate(**agg)


def _estimate_cols(e: ir.Table, indicators: Sequence[Indicator]) -> ir.Table:
    """Point estimates ``R{i}`` and the linearisation denominators ``D{i}`` per domain."""
    cols = {}
    for i, ind in enumerate(indicators):
        Y, W = e[f"Y{i}"], e[f"W{i}"]
        if ind.statistic == "total":
            cols[f"R{i}"], cols[f"D{i}"] = Y, ibis.literal(1.0)
        elif ind.statistic == "ratio":
            X = e[f"X{i}"]
            cols[f"R{i}"], cols[f"D{i}"] = Y / X.nullif(0), X
        else:
            cols[f"R{i}"], cols[f"D{i}"] = Y / W.nullif(0), W
    return e.mutate(**cols)


def _linearised(s: ir.Table, est: ir.Table, keys: Sequence[str], unit_keys: Sequence[str],
                indicators: Sequence[Indicator]) -> ir.Table:
    """``u{i}`` per sampling unit and domain: the unit's influence on the domain's estimate."""
    r_cols = [f"R{i}" for i in range(len(indicators))] + [f"D{i}" for i in range(len(indicators))]
    j = s.join(est.select(*keys, *r_cols), list(keys)) if keys else s.cross_join(est.select(*r_cols))
    u = {}
    for i, ind in enumerate(indicators):
        Y, R, D = j[f"Y{i}"], j[f"R{i}"], j[f"D{i}"]
        if ind.statistic == "total":
            u[f"u{i}"] = Y
        elif ind.statistic == "ratio":
            u[f"u{i}"] = ((Y - R * j[f"X{i}"]) / D).fill_null(0.0)
        else:
            u[f"u{i}"] = ((Y - R * j[f"W{i}"]) / D).fill_null(0.0)
    return j.select(*unit_keys, *keys, **u)


def _stage_variance(u: ir.Table, groups: ir.Table, group_keys: Sequence[str],
                    keys: Sequence[str], cols: Sequence[str], *, n: str, f: str,
                    multiplier: str | None, policy: str, center: ir.Table | None) -> ir.Table:
    """``Σ_groups scale·(Σu² − (Σu)²/n)`` per domain key, where a *group* is a stratum (stage 1)
    or a PSU (stage 2) and ``n`` its number of sampled units in the whole design.

    A group with one unit (a lonely PSU) follows R: ``remove``/``certainty`` contribute 0,
    ``adjust`` contributes ``(1 − f)·(u − c)²`` with c the ``center`` (R centres at the mean
    PSU total of the stage), ``average`` contributes nothing here and the caller rescales.
    """
    g = u.group_by([*group_keys, *keys]).aggregate(
        **{f"s1_{c}": u[c].sum() for c in cols}, **{f"s2_{c}": (u[c] * u[c]).sum() for c in cols})
    g = g.join(groups, list(group_keys))
    nn = _num(g[n])
    scale = (1.0 - g[f]) * nn / (nn - 1.0).nullif(0.0)
    if multiplier:
        scale = scale * g[multiplier]
    parts = {}
    for c in cols:
        s1, s2 = g[f"s1_{c}"], g[f"s2_{c}"]
        regular = scale * (s2 - s1 * s1 / nn)
        parts[c] = (nn > 1).ifelse(regular, 0.0)
    v = g.mutate(**parts)
    v = v.group_by(list(keys)).aggregate(**{c: v[c].sum() for c in cols}) if keys else \
        v.aggregate(**{c: v[c].sum() for c in cols})
    if policy == "adjust":
        v = _add_adjusted_lonely(v, u, groups, group_keys, keys, cols, n=n, f=f,
                                 multiplier=multiplier, center=center)
    return v


def _add_adjusted_lonely(v: ir.Table, u: ir.Table, groups: ir.Table, group_keys: Sequence[str],
                         keys: Sequence[str], cols: Sequence[str], *, n: str, f: str,
                         multiplier: str | None, center: ir.Table | None) -> ir.Table:
    """R's ``lonely.psu = "adjust"``: a lonely unit's total is compared with the centre (the
    average unit total), also where the domain has no row in it (its total is then 0)."""
    lonely = groups.filter(groups[n] == 1)
    domains = v.select(*keys) if keys else None
    grid = lonely.cross_join(domains) if domains is not None else lonely
    tot = u.group_by([*group_keys, *keys]).aggregate(**{c: u[c].sum() for c in cols})
    on = [*group_keys, *keys]
    g = grid.left_join(tot, on).select(*[grid[k] for k in group_keys],
                                       *[grid[k] for k in keys], grid[f],
                                       *([grid[multiplier]] if multiplier else []),
                                       **{c: tot[c].fill_null(0.0) for c in cols})
    if center is not None:
        g = g.join(center, list(keys)) if keys else g.cross_join(center)
    parts = {}
    for c in cols:
        m = g[f"c_{c}"] if center is not None else 0.0
        d = g[c] - m
        scale = 1.0 - g[f]
        if multiplier:
            scale = scale * g[multiplier]
        parts[c] = scale * d * d
    g = g.mutate(**parts)
    extra = g.group_by(list(keys)).aggregate(**{f"a_{c}": g[c].sum() for c in cols}) if keys else \
        g.aggregate(**{f"a_{c}": g[c].sum() for c in cols})
    j = v.left_join(extra, list(keys)) if keys else v.cross_join(extra)
    return j.select(*[v[k] for k in keys],
                    **{c: v[c] + j[f"a_{c}"].fill_null(0.0) for c in cols})


def _variance(wh, u1: ir.Table, u2: ir.Table | None, info: _DesignInfo, design: SurveyDesign,
              keys: Sequence[str], cols: Sequence[str]) -> ir.Table:
    """Design variance of each ``cols`` per domain key, from stage-1 (and stage-2) unit totals."""
    policy = design.lonely_psu
    center = None
    if policy == "adjust":
        agg = {f"c_{c}": u1[c].sum() / info.n_psu_total for c in cols}
        center = u1.group_by(list(keys)).aggregate(**agg) if keys else u1.aggregate(**agg)
    v = _stage_variance(u1, info.strata, [_STRATUM], keys, cols, n="n_h", f="f_h",
                        multiplier=None, policy=policy, center=center)
    if policy == "average" and info.n_ok_strata:
        factor = info.n_strata / info.n_ok_strata
        v = v.mutate(**{c: v[c] * factor for c in cols})
    if u2 is not None and info.psus is not None:
        v2 = _stage_variance(u2, info.psus, [_STRATUM, _PSU], keys, cols, n="n2", f="f2",
                             multiplier="f1", policy="remove" if policy == "adjust" else policy,
                             center=None)
        j = v.left_join(v2.rename(**{f"v2_{c}": c for c in cols}), list(keys)) if keys else \
            v.cross_join(v2.rename(**{f"v2_{c}": c for c in cols}))
        v = j.select(*[v[k] for k in keys], **{c: v[c] + j[f"v2_{c}"].fill_null(0.0) for c in cols})
    return v


def _check_lonely(info: _DesignInfo, design: SurveyDesign) -> None:
    if design.lonely_psu == "fail" and info.n_ok_strata < info.n_strata:
        lonely = info.strata.filter(info.strata.n_h < 2)[_STRATUM].execute().tolist()
        raise DesignError(
            f"{len(lonely)} stratum/strata with a single PSU ({', '.join(map(str, lonely[:5]))}"
            f"{', …' if len(lonely) > 5 else ''}): their variance cannot be estimated. Set "
            "lonely_psu to remove, certainty, adjust or average in the design")


def estimate(wh, table: ir.Table, design: SurveyDesign, indicators: Sequence[Indicator],
             domains: Sequence[Sequence[str]] = ((),), contrasts: Sequence[Contrast] = (), *,
             confidence: float = 0.95) -> Estimates:
    """Every indicator for every domain of every domain set, and the contrasts, in one pass.

    ``wh`` is the :class:`~idpkit.warehouse.Warehouse` that holds ``table`` (its TEMP tables keep
    PostgreSQL from re-planning the shared intermediate results; they are dropped at the end).
    """
    domains = [tuple(d) for d in domains]
    finest = list(dict.fromkeys(c for d in domains for c in d))
    missing = [c for c in {*finest, *design.columns(),
                           *(i.variable for i in indicators),
                           *(i.denominator for i in indicators if i.denominator)}
               if c not in table.columns]
    if missing:
        raise DesignError(f"column(s) not in the survey data: {', '.join(sorted(missing))}")
    z = _z(confidence)
    with wh.scratch():
        base = prepare(table, design, indicators, finest)
        info = _design_info(wh, base, design)
        _check_lonely(info, design)
        base = _derive_weights(base, info, design)
        psu_sums = wh.materialize(_sums(base, [_STRATUM, _PSU, *finest], indicators))
        ssu_sums = None
        if info.psus is not None:
            ssu_sums = wh.materialize(_sums(base, [_STRATUM, _PSU, _SSU, *finest], indicators))
        frames, contrast_frames = [], []
        for keys in domains:
            res = _domain_set(wh, psu_sums, ssu_sums, info, design, indicators, keys, finest,
                              contrasts, z)
            frames.append(res.estimates)
            if not res.contrasts.empty:
                contrast_frames.append(res.contrasts)
    est = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    con = pd.concat(contrast_frames, ignore_index=True) if contrast_frames else pd.DataFrame()
    return Estimates(est, con)


def _z(confidence: float) -> float:
    if confidence == 0.95:
        return Z95
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + confidence / 2)


def _filter_keys(t: ir.Table, keys: Sequence[str]) -> ir.Table:
    """Rows whose domain value is missing belong to no domain of this set (they stay in the
    design: their PSUs were counted when the design was read)."""
    cond = [t[k].notnull() for k in keys]
    return t.filter(*cond) if cond else t


def _domain_set(wh, psu_sums: ir.Table, ssu_sums: ir.Table | None, info: _DesignInfo,
                design: SurveyDesign, indicators: Sequence[Indicator], keys: tuple[str, ...],
                finest: list[str], contrasts: Sequence[Contrast], z: float) -> Estimates:
    k = len(indicators)
    s1 = _filter_keys(psu_sums if list(keys) == finest else
                      _resum(psu_sums, [_STRATUM, _PSU, *keys]), keys)
    s2 = None
    if ssu_sums is not None:
        s2 = _filter_keys(ssu_sums if list(keys) == finest else
                          _resum(ssu_sums, [_STRATUM, _PSU, _SSU, *keys]), keys)
    est = wh.materialize(_estimate_cols(_resum(s1, keys), indicators))
    u1 = wh.materialize(_linearised(s1, est, keys, [_STRATUM, _PSU], indicators))
    u2 = None
    if s2 is not None:
        u2 = _linearised(s2, est, keys, [_STRATUM, _PSU, _SSU], indicators)
    ucols = [f"u{i}" for i in range(k)]
    var = _variance(wh, u1, u2, info, design, keys, ucols)
    table = est.join(var, list(keys)) if keys else est.cross_join(var)
    frame = table.execute()
    out = _tidy(frame, indicators, keys, z)
    cons = [c for c in contrasts if c.column in keys]
    cframes = [_contrast(wh, u1, u2, est, info, design, indicators, keys, c, z) for c in cons]
    return Estimates(out, pd.concat(cframes, ignore_index=True) if cframes else pd.DataFrame())


def _tidy(frame: pd.DataFrame, indicators: Sequence[Indicator], keys: Sequence[str],
          z: float) -> pd.DataFrame:
    """Wide per-domain results -> one row per domain and indicator, with SE, CI, CV, deff."""
    rows = []
    for i, ind in enumerate(indicators):
        part = pd.DataFrame({k: frame[k].values for k in keys}, index=range(len(frame)))
        est = frame[f"R{i}"].astype(float)
        var = frame[f"u{i}"].astype(float).clip(lower=0)
        se = var ** 0.5
        n = frame[f"n{i}"].astype("int64")
        wsum = frame[f"W{i}"].astype(float)
        part["indicator"] = ind.name
        part["statistic"] = ind.statistic
        part["level"] = ind.level
        part["estimate"] = est.values
        part["se"] = se.values
        part["ci_low"] = (est - z * se).values
        part["ci_high"] = (est + z * se).values
        part["cv"] = (se / est.abs().where(est != 0)).values
        part["deff"] = _deff(frame, i, ind, var).values
        part["n"] = n.values
        part["weighted_n"] = wsum.values
        rows.append(part)
    out = pd.concat(rows, ignore_index=True)
    out.insert(0, "by", "+".join(keys))
    return out


def _deff(frame: pd.DataFrame, i: int, ind: Indicator, var: pd.Series) -> pd.Series:
    """Design effect against simple random sampling without replacement of the same number of
    households (R's ``deff=TRUE``): ``V / (s²/n·(1 − n/N̂))``, ``s²`` the weighted variance with
    R's ``n/(n−1)``. Not defined for ratios."""
    if ind.statistic == "ratio":
        return pd.Series([math.nan] * len(frame), index=frame.index)
    n = frame[f"n{i}"].astype(float)
    W = frame[f"W{i}"].astype(float)
    Y = frame[f"Y{i}"].astype(float)
    Q = frame[f"Q{i}"].astype(float)
    mean = Y / W
    s2 = (Q / W - mean * mean) * n / (n - 1)
    srs = s2 / n * (1 - n / W)
    if ind.statistic == "total":
        srs = srs * W * W
    return (var / srs.where(srs > 0)).astype(float)


def _contrast(wh, u1: ir.Table, u2: ir.Table | None, est: ir.Table, info: _DesignInfo,
              design: SurveyDesign, indicators: Sequence[Indicator], keys: tuple[str, ...],
              c: Contrast, z: float) -> pd.DataFrame:
    """Difference and parity ratio between two domains, with SEs from their joint linearisation:
    the PSU totals ``u_focal − u_reference`` (and ``u_f/R_r − R_f·u_r/R_r²``) carry the
    covariance of two domains that share PSUs."""
    other = [k for k in keys if k != c.column]
    k = len(indicators)
    e = est.filter(est[c.column].isin([c.focal, c.reference]))
    ef = e.filter(e[c.column] == c.focal).select(
        *other, **{f"Rf{i}": e[f"R{i}"] for i in range(k)})
    er = e.filter(e[c.column] == c.reference).select(
        *other, **{f"Rr{i}": e[f"R{i}"] for i in range(k)})
    pair = ef.join(er, other) if other else ef.cross_join(er)
    pair = wh.materialize(pair.select(*other, *[f"Rf{i}" for i in range(k)],
                                      *[f"Rr{i}" for i in range(k)]))

    def combine(u: ir.Table, unit_keys: list[str]) -> ir.Table:
        uf = u[c.column] == c.focal
        ur = u[c.column] == c.reference
        piv = u.filter(uf | ur).group_by([*unit_keys, *other]).aggregate(
            **{f"f{i}": uf.ifelse(u[f"u{i}"], 0.0).sum() for i in range(k)},
            **{f"r{i}": ur.ifelse(u[f"u{i}"], 0.0).sum() for i in range(k)})
        j = piv.join(pair, other) if other else piv.cross_join(pair)
        cols = {}
        for i in range(k):
            cols[f"d{i}"] = j[f"f{i}"] - j[f"r{i}"]
            rr = j[f"Rr{i}"].nullif(0.0)
            cols[f"q{i}"] = (j[f"f{i}"] / rr - j[f"Rf{i}"] * j[f"r{i}"] / (rr * rr)).fill_null(0.0)
        return j.select(*unit_keys, *other, **cols)

    lin1 = combine(u1, [_STRATUM, _PSU])
    lin2 = combine(u2, [_STRATUM, _PSU, _SSU]) if u2 is not None else None
    vcols = [f"d{i}" for i in range(k)] + [f"q{i}" for i in range(k)]
    var = _variance(wh, lin1, lin2, info, design, other, vcols)
    frame = (pair.join(var, other) if other else pair.cross_join(var)).execute()
    rows = []
    for i, ind in enumerate(indicators):
        part = pd.DataFrame({kk: frame[kk].values for kk in other}, index=range(len(frame)))
        f, r = frame[f"Rf{i}"].astype(float), frame[f"Rr{i}"].astype(float)
        d_se = frame[f"d{i}"].astype(float).clip(lower=0) ** 0.5
        q_se = frame[f"q{i}"].astype(float).clip(lower=0) ** 0.5
        diff = f - r
        ratio = f / r.where(r != 0)
        part["indicator"] = ind.name
        part["statistic"] = ind.statistic
        part["level"] = ind.level
        part["column"] = c.column
        part["focal"] = c.focal
        part["reference"] = c.reference
        part["focal_estimate"] = f.values
        part["reference_estimate"] = r.values
        part["difference"] = diff.values
        part["difference_se"] = d_se.values
        part["difference_ci_low"] = (diff - z * d_se).values
        part["difference_ci_high"] = (diff + z * d_se).values
        part["significant"] = ((diff - z * d_se > 0) | (diff + z * d_se < 0)).values
        part["parity_ratio"] = ratio.values
        part["parity_ratio_se"] = q_se.values
        rows.append(part)
    out = pd.concat(rows, ignore_index=True)
    out.insert(0, "by", "+".join(other))
    return out
