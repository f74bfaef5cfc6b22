"""The SQL behind :func:`idpkit.solutions.estimate.estimate`: Taylor linearisation as GROUP BYs.

Why generated SQL rather than Ibis expressions here (Splink's approach): a survey has dozens of
indicators, each needing five sums and a linearised value, so the queries are hundreds of columns
wide; building and compiling such expressions with Ibis took seconds per call, more than running
them. The SQL below is plain and portable (``CAST … AS DOUBLE PRECISION``, ``CASE``, ``NULLIF``,
``COUNT(DISTINCT)``, CTEs), generated once per call and run as-is on DuckDB and PostgreSQL.

The steps (see :mod:`idpkit.solutions.estimate` for the statistics):

``_st``  per stratum: ``n_h`` (PSUs in the design) and ``f_h`` (sampling fraction, 0 without fpc);
``_pi``  per PSU (two-stage designs with stage-1 fpc): ``n2``, ``f2`` and ``f1``;
``_ps``  per stratum × PSU × finest domain: ``Y`` (Σw·y), ``W`` (Σw over non-missing), ``X``
         (Σw·x, ratios), ``Q`` (Σw·y², design effects) and ``n`` per indicator: the one pass over
         the microdata;
``_ss``  the same per SSU (two-stage designs with fpc only);
then per domain set: estimates ``R`` with denominators ``D``, linearised unit totals ``u``, and
the stratum (and PSU) variance sums.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from idpkit.warehouse.sqltext import literal, quote

DOUBLE = "DOUBLE PRECISION"


q = quote  # short names: the generated SQL below uses them on every line
lit = literal


@dataclass
class Plan:
    """Everything the generated SQL needs to know, decided once per call."""

    source: str  # SQL of the microdata (a table name or a subquery)
    weights: str | None
    strata: str | None
    psu: str | None
    ssu: str | None
    fpc: list[str]
    lonely: str
    by: list[str]  # finest domain columns
    values: list[str]  # SQL expressions of each indicator's value (NULL where missing)
    denominators: list[str | None]  # SQL expressions of ratio denominators
    kinds: list[str]  # mean | total | ratio | proportion
    temps: list[str] = field(default_factory=list)
    extras: bool = True  # also Σw·y² and counts (design effects, unweighted n)

    @property
    def k(self) -> int:
        return len(self.values)

    @property
    def two_stage(self) -> bool:
        return bool(self.ssu and self.fpc)


class Runner:
    """Runs the statements on one warehouse and drops its temp tables afterwards."""

    def __init__(self, wh) -> None:
        self.wh = wh
        self.temps: list[str] = []

    def create(self, name: str, select: str) -> str:
        import uuid

        full = f"_idpkit_sv_{name}_{uuid.uuid4().hex[:8]}"
        self.wh.backend.run(f"CREATE TEMP TABLE {q(full)} AS {select}")
        if self.wh.backend_name == "postgres":
            self.wh.backend.run(f"ANALYZE {q(full)}")
        self.temps.append(full)
        return q(full)

    def fetch(self, sql: str) -> pd.DataFrame:
        return self.wh.backend.fetch_df(sql)

    def close(self) -> None:
        self.wh.backend.drop_stages(self.temps)
        self.temps = []


def _base(p: Plan) -> str:
    """The microdata reduced to design columns, domain columns and indicator values."""
    cols = [f"{q(p.strata) if p.strata else lit('1')} AS _h"]
    cols.append(f"{q(p.psu)} AS _p" if p.psu else "ROW_NUMBER() OVER () AS _p")
    if p.ssu:
        cols.append(f"{q(p.ssu)} AS _s")
    cols.append(f"CAST({q(p.weights)} AS {DOUBLE}) AS _w" if p.weights else "1.0 AS _w")
    cols += [f"CAST({q(c)} AS {DOUBLE}) AS _fpc{i + 1}" for i, c in enumerate(p.fpc)]
    cols += [f"{q(c)} AS {q(c)}" for c in p.by]
    for i, (v, d) in enumerate(zip(p.values, p.denominators, strict=True)):
        if d is None:
            cols.append(f"{v} AS y{i}")
        else:  # a ratio uses rows where both parts are present
            cols.append(f"CASE WHEN ({d}) IS NULL THEN NULL ELSE {v} END AS y{i}")
            cols.append(f"CASE WHEN ({v}) IS NULL THEN NULL ELSE {d} END AS x{i}")
    return f"SELECT {', '.join(cols)} FROM {p.source} AS src"


def _fraction(sampled: str, fpc: str | None) -> str:
    if fpc is None:
        return "0.0"
    return f"CASE WHEN {fpc} <= 1 THEN {fpc} ELSE CAST({sampled} AS {DOUBLE}) / {fpc} END"


def design_tables(p: Plan, run: Runner, base: str) -> tuple[str, str | None, dict[str, int]]:
    """``_st`` (strata) and ``_pi`` (PSUs, two-stage) temp tables, and design counts."""
    fpc1 = "MAX(_fpc1)" if p.fpc else None
    st = run.create("st", f"SELECT _h, n_h, {_fraction('n_h', 'fpc_h' if fpc1 else None)} AS f_h "
                          f"FROM (SELECT _h, COUNT(DISTINCT _p) AS n_h"
                          f"{', ' + fpc1 + ' AS fpc_h' if fpc1 else ''} FROM ({base}) b "
                          f"GROUP BY _h) s")
    counts = run.fetch(f"SELECT COUNT(*) AS n, SUM(CASE WHEN n_h > 1 THEN 1 ELSE 0 END) AS ok, "
                       f"SUM(n_h) AS psus FROM {st}").iloc[0]
    info = {"n_strata": int(counts["n"]), "ok_strata": int(counts["ok"] or 0),
            "psus": int(counts["psus"] or 0)}
    pi = None
    if p.two_stage:
        fpc2 = "MAX(_fpc2)" if len(p.fpc) > 1 else None
        pi = run.create("pi", f"SELECT x._h, x._p, x.n2, "
                              f"{_fraction('x.n2', 'x.fpc2' if fpc2 else None)} AS f2, "
                              f"st.f_h AS f1 FROM (SELECT _h, _p, COUNT(DISTINCT _s) AS n2"
                              f"{', ' + fpc2 + ' AS fpc2' if fpc2 else ''} FROM ({base}) b "
                              f"GROUP BY _h, _p) x JOIN {st} st ON st._h = x._h")
    return st, pi, info


def _weighted_base(p: Plan, base: str, st: str, pi: str | None) -> str:
    """Weights derived from population sizes when the design gives none (``Π N/n``)."""
    if p.weights:
        return base
    w = "1.0 / st.f_h"
    join = f"JOIN {st} st ON st._h = b._h"
    if pi is not None and len(p.fpc) > 1:
        w += " / pi.f2"
        join += f" JOIN {pi} pi ON pi._h = b._h AND pi._p = b._p"
    others = ", ".join(f"b.{c}" for c in _base_columns(p) if c != "_w")
    return f"SELECT {others}, {w} AS _w FROM ({base}) b {join}"


def _base_columns(p: Plan) -> list[str]:
    cols = ["_h", "_p"] + (["_s"] if p.ssu else []) + ["_w"]
    cols += [f"_fpc{i + 1}" for i in range(len(p.fpc))] + [q(c) for c in p.by]
    for i, d in enumerate(p.denominators):
        cols.append(f"y{i}")
        if d is not None:
            cols.append(f"x{i}")
    return cols


def sums_select(p: Plan, base: str, units: Sequence[str]) -> str:
    """Per-unit and domain weighted sums for every indicator (the pass over the microdata)."""
    keys = [*units, *[q(c) for c in p.by]]
    agg = []
    for i, d in enumerate(p.denominators):
        ok = f"y{i} IS NOT NULL"
        agg += [f"SUM(CASE WHEN {ok} THEN _w * y{i} ELSE 0.0 END) AS Y{i}",
                f"SUM(CASE WHEN {ok} THEN _w ELSE 0.0 END) AS W{i}"]
        if p.extras:
            agg += [f"SUM(CASE WHEN {ok} THEN _w * y{i} * y{i} ELSE 0.0 END) AS Q{i}",
                    f"SUM(CASE WHEN {ok} THEN 1 ELSE 0 END) AS n{i}"]
        if d is not None:
            agg.append(f"SUM(CASE WHEN {ok} THEN _w * x{i} ELSE 0.0 END) AS X{i}")
    return f"SELECT {', '.join(keys)}, {', '.join(agg)} FROM ({base}) b GROUP BY {', '.join(keys)}"


def sum_columns(p: Plan) -> list[str]:
    cols = []
    for i, d in enumerate(p.denominators):
        cols += [f"Y{i}", f"W{i}"] + ([f"Q{i}", f"n{i}"] if p.extras else []) + \
            ([f"X{i}"] if d is not None else [])
    return cols


def rollup(p: Plan, table: str, units: Sequence[str], keys: Sequence[str]) -> str:
    """Sums per unit and (coarser) domain, rows without a domain value left out."""
    kq = [q(c) for c in keys]
    where = " AND ".join(f"{c} IS NOT NULL" for c in kq)
    group = [*units, *kq]
    sums = ", ".join(f"SUM({c}) AS {c}" for c in sum_columns(p))
    return (f"SELECT {', '.join(group)}{', ' if group else ''}{sums} FROM {table}"
            f"{' WHERE ' + where if where else ''}"
            f"{' GROUP BY ' + ', '.join(group) if group else ''}")


def estimates_select(p: Plan, unit_sums: str, keys: Sequence[str]) -> str:
    """Per domain: the sums, the estimate ``R{i}`` and the linearisation denominator ``D{i}``."""
    kq = [q(c) for c in keys]
    inner = (f"SELECT {', '.join(kq)}{', ' if kq else ''}"
             f"{', '.join(f'SUM({c}) AS {c}' for c in sum_columns(p))} FROM ({unit_sums}) s"
             f"{' GROUP BY ' + ', '.join(kq) if kq else ''}")
    cols = []
    for i, kind in enumerate(p.kinds):
        if kind == "total":
            cols += [f"Y{i} AS R{i}", f"1.0 AS D{i}"]
        elif kind == "ratio":
            cols += [f"Y{i} / NULLIF(X{i}, 0) AS R{i}", f"X{i} AS D{i}"]
        else:
            cols += [f"Y{i} / NULLIF(W{i}, 0) AS R{i}", f"W{i} AS D{i}"]
    return f"SELECT e.*, {', '.join(cols)} FROM ({inner}) e"


def _on(keys: Sequence[str], a: str, b: str) -> str:
    return " AND ".join(f"{a}.{q(c)} = {b}.{q(c)}" for c in keys) or "TRUE"


def linearised_select(p: Plan, unit_sums: str, est: str, units: Sequence[str],
                      keys: Sequence[str]) -> str:
    """``u{i}`` per unit and domain: the unit's influence on the domain's estimate."""
    cols = []
    for i, kind in enumerate(p.kinds):
        if kind == "total":
            cols.append(f"s.Y{i} AS u{i}")
        else:
            other = f"s.X{i}" if kind == "ratio" else f"s.W{i}"
            cols.append(f"COALESCE((s.Y{i} - e.R{i} * {other}) / NULLIF(e.D{i}, 0), 0.0) AS u{i}")
    sel = [f"s.{u}" for u in units] + [f"s.{q(c)}" for c in keys]
    return (f"SELECT {', '.join(sel)}, {', '.join(cols)} FROM ({unit_sums}) s "
            f"JOIN {est} e ON {_on(keys, 's', 'e')}")


def variance_select(p: Plan, lin: str, st: str, pi: str | None, info: dict[str, int],
                    keys: Sequence[str], cols: Sequence[str], lin2: str | None = None) -> str:
    """Design variance of each of ``cols`` per domain, from stage-1 unit totals ``lin`` (and
    stage-2 ``lin2``): ``Σ_h (1−f_h)·n_h/(n_h−1)·(Σu² − (Σu)²/n_h)`` with R's lonely-PSU rules."""
    kq = [q(c) for c in keys]
    kcomma = ", ".join(kq) + (", " if kq else "")
    g = (f"SELECT _h, {kcomma}{', '.join(f'SUM({c}) AS a_{c}, SUM({c} * {c}) AS b_{c}' for c in cols)}"
         f" FROM ({lin}) l GROUP BY _h{', ' + ', '.join(kq) if kq else ''}")
    parts = []
    for c in cols:
        regular = (f"CASE WHEN st.n_h > 1 THEN (1.0 - st.f_h) * st.n_h / (st.n_h - 1.0) * "
                   f"(g.b_{c} - g.a_{c} * g.a_{c} / st.n_h) ELSE 0.0 END")
        parts.append(f"SUM({regular}) AS {c}")
    gk = ", ".join(f"g.{k}" for k in kq)
    v = (f"SELECT {gk}{', ' if kq else ''}{', '.join(parts)} FROM ({g}) g JOIN {st} st "
         f"ON st._h = g._h{' GROUP BY ' + gk if kq else ''}")
    terms = {c: f"v.{c}" for c in cols}
    joins = ""
    if p.lonely == "average" and info["ok_strata"]:
        factor = info["n_strata"] / info["ok_strata"]
        terms = {c: f"{t} * {factor!r}" for c, t in terms.items()}
    if p.lonely == "adjust" and info["ok_strata"] < info["n_strata"]:
        joins += f" LEFT JOIN ({_adjust_select(lin, st, keys, cols)}) a ON {_on(keys, 'v', 'a')}"
        terms = {c: f"{t} + COALESCE(a.{c}, 0.0)" for c, t in terms.items()}
    if lin2 is not None and pi is not None:
        stage2 = _stage2_select(lin2, pi, keys, cols, adjust=p.lonely == "adjust")
        joins += (f" LEFT JOIN ({stage2}) t2 "
                  f"ON {_on(keys, 'v', 't2')}")
        terms = {c: f"{t} + COALESCE(t2.{c}, 0.0)" for c, t in terms.items()}
    vk = ", ".join(f"v.{k}" for k in kq)
    return (f"SELECT {vk}{', ' if kq else ''}{', '.join(f'{t} AS {c}' for c, t in terms.items())}"
            f" FROM ({v}) v{joins}")


def _adjust_select(lin: str, st: str, keys: Sequence[str], cols: Sequence[str]) -> str:
    """R's ``lonely.psu = "adjust"`` (survey 4.1): a lonely PSU's total is not centred on its
    stratum mean (which is itself) but on 0, scaled by ``1 − f_h``: ``(1 − f_h)·u²``."""
    kq = [q(c) for c in keys]
    kcomma = ", ".join(kq) + (", " if kq else "")
    tot = (f"SELECT _h, {kcomma}{', '.join(f'SUM({c}) AS {c}' for c in cols)} FROM ({lin}) l "
           f"GROUP BY _h{', ' + ', '.join(kq) if kq else ''}")
    parts = ", ".join(f"SUM((1.0 - st.f_h) * t.{c} * t.{c}) AS {c}" for c in cols)
    tk = ", ".join(f"t.{k}" for k in kq)
    return (f"SELECT {tk}{', ' if kq else ''}{parts} FROM ({tot}) t JOIN {st} st "
            f"ON st._h = t._h WHERE st.n_h = 1{' GROUP BY ' + tk if kq else ''}")


def _stage2_select(lin2: str, pi: str, keys: Sequence[str], cols: Sequence[str], *,
                   adjust: bool) -> str:
    """R's second-stage term: ``Σ_PSU f1·(1−f2)·n2/(n2−1)·(Σv² − (Σv)²/n2)`` over SSU totals ``v``
    (only where stage 1 has a population size; R's default ``survey.ultimate.cluster = FALSE``).
    A PSU with a single SSU adds ``f1·(1−f2)·v²`` under ``adjust`` and nothing otherwise."""
    kq = [q(c) for c in keys]
    kcomma = ", ".join(kq) + (", " if kq else "")
    g = (f"SELECT _h, _p, {kcomma}"
         f"{', '.join(f'SUM({c}) AS a_{c}, SUM({c} * {c}) AS b_{c}' for c in cols)} FROM ({lin2}) l"
         f" GROUP BY _h, _p{', ' + ', '.join(kq) if kq else ''}")
    lonely = "pi.f1 * (1.0 - pi.f2) * g.b_{c}" if adjust else "0.0"
    parts = ", ".join(
        f"SUM(CASE WHEN pi.n2 > 1 THEN pi.f1 * (1.0 - pi.f2) * pi.n2 / (pi.n2 - 1.0) * "
        f"(g.b_{c} - g.a_{c} * g.a_{c} / pi.n2) ELSE {lonely.format(c=c)} END) AS {c}"
        for c in cols)
    gk = ", ".join(f"g.{k}" for k in kq)
    return (f"SELECT {gk}{', ' if kq else ''}{parts} FROM ({g}) g JOIN {pi} pi "
            f"ON pi._h = g._h AND pi._p = g._p{' GROUP BY ' + gk if kq else ''}")


def contrast_select(lin: str, est: str, units: Sequence[str], column: str, focal: str,
                    reference: str, other: Sequence[str], k: int, literal_of) -> tuple[str, str]:
    """Linearised unit totals of ``focal − reference`` (``d{i}``) and of ``focal / reference``
    (``q{i}``), and the pair of estimates per remaining domain (``Rf{i}``, ``Rr{i}``)."""
    c = q(column)
    f_lit, r_lit = literal_of(focal), literal_of(reference)
    oq = [q(x) for x in other]
    ocomma = ", ".join(oq) + (", " if oq else "")
    pair = (f"SELECT {', '.join(f'f.{x}' for x in oq)}{', ' if oq else ''}"
            f"{', '.join(f'f.R{i} AS Rf{i}, r.R{i} AS Rr{i}' for i in range(k))} "
            f"FROM {est} f JOIN {est} r ON {_on(other, 'f', 'r')} "
            f"WHERE f.{c} = {f_lit} AND r.{c} = {r_lit}")
    piv = (f"SELECT {', '.join(units)}, {ocomma}"
           + ", ".join(f"SUM(CASE WHEN {c} = {f_lit} THEN u{i} ELSE 0.0 END) AS f{i}, "
                       f"SUM(CASE WHEN {c} = {r_lit} THEN u{i} ELSE 0.0 END) AS r{i}"
                       for i in range(k))
           + f" FROM {lin} l WHERE {c} IN ({f_lit}, {r_lit}) GROUP BY {', '.join(units)}"
           + (f", {', '.join(oq)}" if oq else ""))
    cols = []
    for i in range(k):
        cols.append(f"v.f{i} - v.r{i} AS d{i}")
        rr = f"NULLIF(pr.Rr{i}, 0)"
        cols.append(f"COALESCE(v.f{i} / {rr} - pr.Rf{i} * v.r{i} / ({rr} * {rr}), 0.0) AS q{i}")
    sel = [f"v.{u}" for u in units] + [f"v.{x}" for x in oq]
    lin_pair = (f"SELECT {', '.join(sel)}, {', '.join(cols)} FROM ({piv}) v "
                f"JOIN ({pair}) pr ON {_on(other, 'v', 'pr')}")
    return lin_pair, pair


NATIONAL = "*"
"""A contrast's reference meaning every household of the survey (IRIS' national comparison)."""


def contrast_national_select(lin: str, lin_all: str, est: str, est_all: str,
                             units: Sequence[str], column: str, focal: str,
                             other: Sequence[str], k: int, literal_of) -> tuple[str, str]:
    """Like :func:`contrast_select`, with the whole survey as the reference domain: each focal
    domain (e.g. IDPs of one area) against all households. Every PSU of the survey carries the
    reference's linearised total, so the grid is PSUs × focal domains."""
    c = q(column)
    f_lit = literal_of(focal)
    oq = [q(x) for x in other]
    ocomma = ", ".join(oq) + (", " if oq else "")
    pair = (f"SELECT {', '.join(f'f.{x}' for x in oq)}{', ' if oq else ''}"
            f"{', '.join(f'f.R{i} AS Rf{i}, a.R{i} AS Rr{i}' for i in range(k))} "
            f"FROM {est} f CROSS JOIN {est_all} a WHERE f.{c} = {f_lit}")
    piv = (f"SELECT {', '.join(units)}, {ocomma}"
           + ", ".join(f"SUM(u{i}) AS f{i}" for i in range(k))
           + f" FROM {lin} l WHERE {c} = {f_lit} GROUP BY {', '.join(units)}"
           + (f", {', '.join(oq)}" if oq else ""))
    doms = f"SELECT DISTINCT {', '.join(oq)} FROM ({pair}) p0" if oq else "SELECT 1 AS one"
    grid = (f"SELECT {', '.join(f'a.{u}' for u in units)}{', ' if oq else ''}"
            f"{', '.join(f'd.{x}' for x in oq)}, "
            f"{', '.join(f'a.u{i} AS r{i}' for i in range(k))} FROM {lin_all} a "
            f"CROSS JOIN ({doms}) d")
    unit_on = " AND ".join(f"g.{u} = v.{u}" for u in units)
    keys_on = "".join(f" AND g.{x} = v.{x}" for x in oq)
    cols = []
    for i in range(k):
        f = f"COALESCE(v.f{i}, 0.0)"
        cols.append(f"{f} - g.r{i} AS d{i}")
        rr = f"NULLIF(pr.Rr{i}, 0)"
        cols.append(f"COALESCE({f} / {rr} - pr.Rf{i} * g.r{i} / ({rr} * {rr}), 0.0) AS q{i}")
    sel = [f"g.{u}" for u in units] + [f"g.{x}" for x in oq]
    lin_pair = (f"SELECT {', '.join(sel)}, {', '.join(cols)} FROM ({grid}) g "
                f"LEFT JOIN ({piv}) v ON {unit_on}{keys_on} "
                f"JOIN ({pair}) pr ON {_on(other, 'g', 'pr')}")
    return lin_pair, pair
