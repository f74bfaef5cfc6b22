"""IDP stock at a reference date, by admin area (IRIS: a stock is a count at a reference date).

The rules, in the order they are applied (each one exists because real data breaks the naive sum):

1. *Sources.* A source is one stream of assessments: organisation, operation, assessment type and
   country (``source`` in the output). Only present-population counts are used, and only totals
   (sex/age rows are breakdowns; cause parts are disjoint, so they add up).
2. *Latest round.* For each source, the latest round dated at or before the reference date. A round
   is its round code. A file without round codes whose dates span at most
   :data:`ONE_ROUND_SPAN_DAYS` is one round (field teams collect over days or weeks and date each
   row); otherwise each reporting date is a round. A round's date is the latest reporting date in
   it. Different rounds are never added together, and areas missing from that round are not
   filled in from older rounds: a source's old numbers are never carried forward.
3. *One file per round.* When several files carry the same round of one source (the XLSX and the
   CSV of one publication), only the latest imported is used.
4. *One level per file.* A file that repeats the same people at admin 0, 1 and 2 (the DTM API) is
   read at the finest level it gives in each admin-1 area. Rows reported at admin 1 or finer
   whose area is unknown (*unplaced*) are parts, not repeats: they count in the national total.
5. *Roll-up.* Rows are added up to the requested level; a row reported at a coarser level than
   requested cannot be placed and is left out (``explain`` lists it). Rows reported at the level
   or finer whose area is unknown there (*unplaced*) form one cell per country with no P-code
   and the name "(area unknown)", so every level adds up to the national total. ``coverage`` is the share of
   the area's child areas (one level down in the gazetteer) that the round assessed; a number
   reported for the area as a whole has coverage 1.
6. *Staleness.* A round older than ``max_age_days`` before the reference date is *stale*: it is
   shown with ``stale = true`` only where no fresh source exists, and never as fresh.
7. *One source per cell.* Where several sources give a number for the same area, population group
   and unit, one is *recommended* — fresh before stale, then by source priority (assessment type or
   organisation, configurable), then the most recent, then the best coverage — and the others are
   *triangulation*: reported with their spread (``sources``, ``range_min``, ``range_max``) but never
   added into totals.

Everything is Ibis, compiled per backend (DuckDB, PostgreSQL). Rules 1-4 are decided on a few
hundred *raw parts* of files (:data:`_RAW_KEY`), not on every observation; the chosen rows are
stored once in TEMP tables (each observation once with its own columns, and its part's columns
per reference date, see :func:`chosen_rows`) and dropped by the ``*_frame`` functions. Choosing them reads the whole observations table and is most of a
figure's cost, so :func:`stock_frames` builds the stocks of several levels from one stored copy,
and a caller can pass one :class:`ChosenRows` to several tables (stocks and the flow identity).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

import ibis
import ibis.expr.types as ir
import pandas as pd

from idpkit.warehouse.rounds import ONE_ROUND_SPAN_DAYS, with_round_key  # noqa: F401 (rule 2; re-exported)
from idpkit.warehouse.warehouse import Warehouse

DEFAULT_PRIORITY: tuple[str, ...] = ("baseline_area", "site", "registration", "survey",
                                     "flow_monitoring", "other")
"""Default source priority by assessment type: an area baseline counts every IDP in the area, a site
assessment only those living in sites, so the baseline is preferred where both exist."""

BY_CHOICES = ("group", "cause", "site_type")
UNPLACED = "unplaced:"
"""Internal key of a country's *unplaced* cell (rows whose area is unknown at the level asked);
public tables show it with no P-code and the name "(area unknown, ISO3)"."""
UNPLACED_NAME = "(area unknown)"
LEVELS = (0, 1, 2, 3, 4)


@dataclass(frozen=True)
class StockQuery:
    """What a stock table is asked for. ``priority`` lists assessment types or organisation names,
    most trusted first; anything unlisted comes after them."""

    reference_date: date | Sequence[date]
    level: int = 1
    by: Sequence[str] = ("group", "cause")
    max_age_days: int = 180
    priority: Sequence[str] = DEFAULT_PRIORITY
    operation: str | None = None
    dataset: str | None = None
    iso3: str | None = None
    convert_households: bool = False
    household_size: float | None = None  # used where a source gives no size of its own
    # and no rule of household_sizes matches (idpkit.figures.units.HouseholdSizeRule)
    household_sizes: tuple = ()

    @property
    def dates(self) -> list[date]:
        """The reference dates: one table can hold the stock at many dates (one query)."""
        d = self.reference_date
        return sorted(set([d] if isinstance(d, date) else d))

    def __post_init__(self) -> None:
        if not self.dates:
            raise ValueError("give at least one reference date")
        if self.level not in LEVELS:
            raise ValueError(f"admin level must be one of {', '.join(map(str, LEVELS))}, not {self.level}")
        bad = [b for b in self.by if b not in BY_CHOICES]
        if bad:
            raise ValueError(f"--by: unknown {', '.join(bad)}; choose from {', '.join(BY_CHOICES)}")
        if self.household_size is not None and not 0 < self.household_size <= 50:
            raise ValueError("--household-size must be a number of people above 0 (at most 50)")
        if self.max_age_days < 0:
            raise ValueError("the staleness window cannot be negative")


def primary_cause(t: ir.Table) -> ir.StringValue:
    """The cause a figure counts a row under. A cell naming several causes was stored as ``other``
    with the causes in ``cause_detail`` and flagged ``multiple-causes``; figures count it under the
    first cause named (the *primary* reason, as DTM and IDMC report one reason per movement)."""
    first = t.cause_detail.split(";")[0].strip()
    # nested, cheapest test outside: engines evaluate a CASE branch only for the rows that reach
    # it, so the text splitting runs on the few multi-cause rows, not on every row (1.4 s of 4.7
    # at 10M rows when it was one condition)
    named = ibis.ifelse(first.isin(["conflict", "disaster", "other", "unknown"]), first, t.cause)
    return ibis.ifelse((t.cause == "other") & t.flags.contains("multiple-causes"), named,
                       t.cause)


def area_column(level: int) -> str:
    return "iso3" if level == 0 else f"adm{level}_pcode"


def _stock_observations(wh: Warehouse, q: StockQuery) -> ir.Table:
    """Present-population totals (rule 1)."""
    o = wh.table("observations")
    o = o.filter((o.metric == "present_stock") & (o.sex == "all") & (o.age_group == "all")
                 & o.value.notnull() & o.reporting_date.notnull())
    if q.operation is not None:
        o = o.filter(o.operation == q.operation)
    if q.dataset is not None:
        o = o.filter(o.dataset_id == q.dataset)
    if q.iso3 is not None:
        o = o.filter(o.iso3 == q.iso3.upper())
    return o


def _with_raw_key(t: ir.Table) -> ir.Table:
    """``t`` with the columns of :data:`_RAW_KEY`."""
    return t.mutate(_op=t.operation.fill_null(""), _i3=t.iso3.fill_null(""),
                    _rd=t["round"].fill_null(""), _rnull=t["round"].isnull(),
                    _a1=t.adm1_pcode.fill_null(""), _lv=t.reported_level.fill_null(-1))


_RAW_KEY = ["dataset_id", "_op", "_i3", "_rd", "_rnull", "reporting_date", "_a1", "_lv"]
"""A *raw part*: the observations of one file, operation, country, round code, reporting date,
admin-1 area and reported level. Everything rules 1-4 decide is constant within a raw part, so they
are decided on a few hundred raw parts (464 in the 10M-observation benchmark) and the observations
are joined to the chosen ones once, on plain columns, instead of computing ``source`` and
``round_key`` text for millions of rows."""


def _raw_parts(wh: Warehouse, o: ir.Table) -> ir.Table:
    """One row per raw part of ``o`` (from :func:`_stock_observations`) with ``_pid``, the
    file's ``assessment_type``, ``source_organisation`` and ``imported_at``, ``source`` and
    ``round_key`` (rules 1 and 2)."""
    # grouped on the plain columns (GROUP BY puts NULLs together), the key's fill-ins (a key
    # never holds NULL: NULL is not equal to NULL in a join) computed per part, not per row
    raw = ["dataset_id", "operation", "iso3", "round", "reporting_date", "adm1_pcode",
           "reported_level"]
    rp = _with_raw_key(o.group_by(raw).aggregate(_n=o.count()))
    rp = rp.group_by(_RAW_KEY).aggregate(_n=rp._n.sum())
    d = wh.table("datasets").select("dataset_id", "assessment_type", "source_organisation",
                                     "imported_at")
    rp = rp.inner_join(d, "dataset_id")
    rp = rp.mutate(source=rp.source_organisation.fill_null("").concat(
        " | ", rp._op, " | ", rp.assessment_type.fill_null("other"), " | ", rp._i3),
        round=ibis.ifelse(rp._rnull, ibis.null("string"), rp._rd))
    rp = with_round_key(wh, rp).drop("round", "_n")
    return rp.mutate(_pid=ibis.row_number())


_PART = ["source", "round_key", "dataset_id", "_a1", "_lv"]
"""A part of a file: one source, round, file, admin-1 area and reported level. Rules 2-4 choose
whole parts, so they are decided on one small row per part instead of on every observation."""


def _chosen_parts(parts: ir.Table, q: StockQuery) -> ir.Table:
    """Rules 3, 4 and 2 on the parts table (``_at`` import time, ``_d`` latest date per part):
    the parts each reference date reads, with ``reference_date``, ``source_date`` and ``stale``."""
    p = parts
    # rule 3: one file per round (the latest import)
    files = p.group_by(["source", "round_key", "dataset_id"]).aggregate(_fat=p._at.max())
    files = files.mutate(_rn=ibis.row_number().over(
        group_by=[files.source, files.round_key], order_by=[files._fat.desc(),
                                                            files.dataset_id.desc()]))
    one = files.filter(files._rn == 0).select("source", "round_key", "dataset_id")
    p = p.inner_join(one, ["source", "round_key", "dataset_id"])
    # rule 4: finest reported level per admin-1 area of each file and round; a file that gives
    # admin 1 somewhere does not also count its rows without admin 1 — unless they were reported
    # at admin 1 or finer and their area is unknown (unplaced parts, kept in the national total)
    key = ["dataset_id", "source", "round_key"]
    finest = p.group_by([*key, "_a1"]).aggregate(_top=p._lv.max())
    p = p.inner_join(finest, [*key, "_a1"])
    p = p.filter(p._lv == p._top)
    finer = p.filter(p._a1 != "").select(*key).distinct().mutate(_has=True)
    p = p.left_join(finer, key).drop(*[k + "_right" for k in key])
    p = p.filter((p._a1 != "") | p._has.isnull() | (p._lv >= 1))
    # rule 2: latest round per source and reference date
    rounds = p.group_by(["source", "round_key"]).aggregate(round_date=p._d.max())
    refs = ibis.memtable(pd.DataFrame({
        "reference_date": pd.to_datetime(q.dates).date,
        "_oldest_fresh": [d - timedelta(days=q.max_age_days) for d in q.dates]}),
        schema={"reference_date": "date", "_oldest_fresh": "date"})
    rounds = rounds.cross_join(refs).filter(lambda t: t.round_date <= t.reference_date)
    rounds = rounds.mutate(_rn=ibis.row_number().over(
        group_by=[rounds.reference_date, rounds.source],
        order_by=[rounds.round_date.desc(), rounds.round_key.length().desc(),
                  rounds.round_key.desc()]))
    latest = rounds.filter(rounds._rn == 0)
    latest = latest.select("source", "round_key", "reference_date", source_date=latest.round_date,
                           stale=latest.round_date < latest._oldest_fresh)
    p = p.inner_join(latest, ["source", "round_key"])
    return p.select(*_PART, "reference_date", "source_date", "stale")


def _chosen_raw_parts(wh: Warehouse, q: StockQuery, o: ir.Table) -> ir.Table:
    """The raw parts each reference date reads (rules 2-4), one row per raw part and date, with
    ``_pid``, ``reference_date``, ``source_date``, ``stale``, ``source``, ``round_key`` and the
    file's attributes.

    Why in two steps: rules 2-4 are decided per *part* of a file (:data:`_PART`; 224 parts for
    the 1M-observation benchmark), which the raw parts roll up into."""
    rp = _raw_parts(wh, o)
    parts = rp.group_by(_PART).aggregate(_at=rp.imported_at.max(), _d=rp.reporting_date.max())
    chosen = rp.inner_join(_chosen_parts(parts, q), _PART)
    return chosen.drop(*[c for c in chosen.columns if c.endswith("_right")])


_PART_COLUMNS = ("reference_date", "source", "round_key", "dataset_id", "assessment_type",
                 "source_organisation", "source_date", "stale")
"""What a chosen row takes from its part (the rest is the observation's own)."""


def source_rows(wh: Warehouse, q: StockQuery) -> ir.Table:
    """Observation rows that the stock at ``q.reference_date`` is built from (rules 1-4), with
    ``reference_date``, ``source``, ``round_key``, ``source_date``, ``stale``, the file's
    ``assessment_type`` and ``source_organisation``, and the primary ``cause``. ``explain`` reads
    this; figures read the stored :func:`chosen_rows`."""
    o = _stock_observations(wh, q)
    chosen = _chosen_raw_parts(wh, q, o).select(*dict.fromkeys([*_RAW_KEY, *_PART_COLUMNS]))
    j = _with_raw_key(o).inner_join(chosen, _RAW_KEY)
    j = j.drop(*[c for c in j.columns if c.endswith("_right")],
               *[k for k in _RAW_KEY if k.startswith("_")])
    return j.mutate(cause=primary_cause(j))


def _children(wh: Warehouse, level: int) -> ir.Table:
    """Number of child areas (level + 1) per area of ``level`` in the gazetteer."""
    a = wh.table("areas")
    kids = a.filter(a.admin_level == level + 1)
    if level == 0:
        return kids.group_by(area=kids.iso3).aggregate(n_children=kids.pcode.nunique())
    return kids.group_by(area=kids.parent_pcode).aggregate(n_children=kids.pcode.nunique())


def _priority_rank(t: ir.Table, priority: Sequence[str]) -> ir.IntegerValue:
    rank: ir.IntegerValue = ibis.literal(len(priority))
    for i, name in reversed(list(enumerate(priority))):
        rank = ibis.ifelse((t.assessment_type == name) | (t.source_organisation == name), i, rank)
    return rank


_FIGURE_COLUMNS = ("reference_date", "source", "round_key", "dataset_id", "source_row",
                   "assessment_type", "source_organisation", "iso3", "adm1_pcode", "adm2_pcode",
                   "adm3_pcode", "adm4_pcode", "reported_level", "site_id", "population_group",
                   "unit", "cause", "value", "source_date", "stale")
"""What stock tables read from the chosen rows."""

_ROW_COLUMNS = ("source_row", "iso3", "adm1_pcode", "adm2_pcode", "adm3_pcode", "adm4_pcode",
                "reported_level", "site_id", "population_group", "unit", "cause", "value")
"""What :func:`chosen_rows` stores per observation: the figure columns that are not its part's.
A row chosen for several reference dates is stored once."""


@dataclass(frozen=True)
class ChosenRows:
    """The rows rules 1-4 chose for some reference dates, stored in a TEMP table.

    Why a value of its own: stocks at several levels and the flow identity of every period are
    built from the same chosen rows; storing them once instead of once per table is most of the
    difference between one figure request and many. Made by :func:`chosen_rows`; valid until the
    enclosing :meth:`Warehouse.scratch` block ends.

    ``rows`` holds each chosen observation once with its own columns (:data:`_ROW_COLUMNS`) and
    ``_pid``; ``parts`` one row per raw part and reference date with ``_pid`` and the part's
    columns (:data:`_PART_COLUMNS`). ``table`` is their join: every figure column, one row per
    observation and reference date."""

    rows: ir.Table
    parts: ir.Table
    dates: tuple[date, ...]
    scope: tuple[object, ...]  # what else the choice depends on, see _row_scope

    @property
    def table(self) -> ir.Table:
        return join_parts(self.rows, self.parts).select(*_FIGURE_COLUMNS)


def join_parts(rows: ir.Table, parts: ir.Table) -> ir.Table:
    """``rows`` (anything with ``_pid``) with their part's columns, once per reference date."""
    return rows.inner_join(parts.select("_pid", *_PART_COLUMNS), "_pid")


def _row_scope(q: StockQuery) -> tuple[object, ...]:
    """The parts of a query (besides the dates) that change which rows are chosen."""
    return (q.max_age_days, q.operation, q.dataset, q.iso3)


def chosen_rows(wh: Warehouse, q: StockQuery) -> ChosenRows:
    """Choose the rows of ``q.dates`` (rules 1-4) and store them once, for any number of tables.

    Call it inside ``with wh.scratch():`` so the TEMP tables are dropped afterwards. ``q.level``,
    ``q.by`` and ``q.priority`` do not matter here: the rows serve every level and breakdown.

    Two TEMP tables: the chosen raw parts (small: one row per raw part and reference date) and the
    observations of those parts with only their own columns (:data:`_ROW_COLUMNS`) and the part
    number. The table figures read is their join on that number, which is cheap; storing every
    figure column for every row and date took 3-4 times longer (10M-observation benchmark)."""
    o = _stock_observations(wh, q)
    parts = wh.materialize(_chosen_raw_parts(wh, q, o).select(
        *dict.fromkeys(["_pid", *_RAW_KEY, *_PART_COLUMNS])))
    keys = parts.select("_pid", *_RAW_KEY).distinct()
    j = _with_raw_key(o).inner_join(keys, _RAW_KEY)
    rows = wh.materialize(j.select("_pid", *[c for c in _ROW_COLUMNS if c != "cause"],
                                   cause=primary_cause(j)))
    return ChosenRows(rows, parts, tuple(q.dates), _row_scope(q))


def _rows_for(wh: Warehouse, q: StockQuery, rows: ChosenRows | None
              ) -> tuple[ir.Table, ir.Table]:
    """The chosen rows and parts of ``q``: ``rows`` when given (checked to fit ``q``), else
    stored now."""
    if rows is None:
        rows = chosen_rows(wh, q)
    elif rows.scope != _row_scope(q) or not set(q.dates) <= set(rows.dates):
        raise ValueError("these chosen rows were stored for other dates or filters than the query")
    p = rows.parts
    if set(q.dates) != set(rows.dates):
        p = p.filter(p.reference_date.isin([ibis.literal(d) for d in q.dates]))
    return rows.rows, p


def stock_expr(wh: Warehouse, q: StockQuery, *, all_sources: bool = False,
               rows: ChosenRows | None = None) -> ir.Table:
    """The stock table (rules 5-7); one row per area, group, unit and ``--by`` breakdown.

    With ``all_sources``, triangulation rows are kept too (``role = 'triangulation'``). ``rows``:
    rows already chosen by :func:`chosen_rows` for (at least) these dates and filters."""
    o, parts = _rows_for(wh, q, rows)
    if q.convert_households:
        from idpkit.figures.units import add_derived_individuals, resolve_levels

        o = add_derived_individuals(join_parts(o, parts).select("_pid", *_FIGURE_COLUMNS),
                                    q.household_size, resolve_levels(wh, q.household_sizes)
                                    ).select("_pid", *_ROW_COLUMNS, "derived")
    else:
        o = o.mutate(derived=ibis.literal(False))
    area = area_column(q.level)
    o = o.filter(o.reported_level.fill_null(0) >= q.level)
    # rows reported at this level or finer whose area is unknown at it (unplaced: "Residence
    # location unknown", an unknown P-code) form one cell per country, so every level adds up to
    # the national total
    o = o.mutate(area=o[area] if q.level == 0 else ibis.coalesce(
        o[area], ibis.literal(UNPLACED) + o.iso3)).filter(lambda t: t.area.notnull())
    if "site_type" in q.by:
        s = wh.table("sites")
        s = s.group_by("site_id").aggregate(site_type=s.site_type.max())
        o = o.left_join(s, "site_id").drop("site_id_right")
        o = o.mutate(site_type=o.site_type.fill_null(""))
    child = "iso3" if q.level == 0 else None
    if q.level < 4:
        child = f"adm{q.level + 1}_pcode"
    o = o.mutate(_child=ibis.ifelse(o.reported_level.fill_null(0) > q.level, o[child], None)
                 if child else ibis.null("string"))
    cell = ["reference_date", "source", "area", "population_group", "unit"]
    keys = cell + [b for b in ("cause", "site_type") if b in q.by]
    # one pass over the rows: per raw part, cell, breakdown and child area (short keys: the
    # part's long texts are joined to this much smaller table, then once per reference date);
    # the per-cell totals, coverage and the table's values are then added up from it
    own = [k for k in keys if k not in ("reference_date", "source")]
    pre = o.group_by(["_pid", *own, "_child"]).aggregate(value=o.value.sum(),
                                                         derived=o.derived.any())
    p = join_parts(pre, parts)
    fine = p.group_by([*keys, "_child"]).aggregate(
        value=p.value.sum(), derived=p.derived.any(), source_date=p.source_date.max(),
        stale=p.stale.max(), assessment_type=p.assessment_type.max(),
        source_organisation=p.source_organisation.max())
    per = _per_source(wh, fine, cell, q, all_sources)
    g = fine.group_by(keys).aggregate(value=fine.value.sum(), derived=fine.derived.any())
    g = g.inner_join(per.select(cell + ["source_date", "stale", "coverage", "sources", "range_min",
                                        "range_max", "role"]), cell)
    g = g.drop(*[c + "_right" for c in cell if c + "_right" in g.columns])
    if "cause" not in q.by:
        g = g.mutate(cause=ibis.literal("all"))
    names = wh.table("areas").filter(lambda a: a.admin_level == q.level).select(
        _pc="pcode", area_name="name")
    return g.left_join(names, g.area == names._pc).drop("_pc")


def _per_source(wh: Warehouse, fine: ir.Table, cell: list[str], q: StockQuery,
                all_sources: bool) -> ir.Table:
    """Per source and cell: total, coverage and ``role`` (rule 7). ``sources``, ``range_min`` and
    ``range_max`` (the spread of the fresh sources) are computed only with ``all_sources``, the
    only table that shows them (null otherwise: three window passes saved)."""
    per = fine.group_by(cell).aggregate(
        _total=fine.value.sum(), _covered=fine._child.nunique(),
        _whole=(fine._child.isnull()).any(), source_date=fine.source_date.max(),
        stale=fine.stale.max(), assessment_type=fine.assessment_type.max(),
        source_organisation=fine.source_organisation.max())
    kids = _children(wh, q.level)
    per = per.left_join(kids, "area").drop("area_right")
    per = per.mutate(coverage=ibis.ifelse(
        per._whole, 1.0,
        ibis.ifelse(per.n_children.fill_null(0) > 0,
                    (per._covered.cast("float64") / per.n_children.cast("float64")).round(4),
                    ibis.null("float64"))))
    per = per.mutate(_prio=_priority_rank(per, q.priority))
    same_cell = [per.reference_date, per.area, per.population_group, per.unit]
    w = ibis.window(group_by=same_cell,
                    order_by=[ibis.ifelse(per.stale, 1, 0), per._prio, per.source_date.desc(),
                              per.coverage.fill_null(0).desc(), per.source])
    per = per.mutate(_rank=ibis.row_number().over(w))
    if all_sources:
        fresh_total = ibis.ifelse(per.stale, ibis.null("float64"), per._total)
        spread = ibis.window(group_by=same_cell)
        per = per.mutate(sources=fresh_total.count().over(spread),
                         range_min=fresh_total.min().over(spread),
                         range_max=fresh_total.max().over(spread))
    else:
        per = per.mutate(sources=ibis.null("int64"), range_min=ibis.null("float64"),
                         range_max=ibis.null("float64"))
    per = per.mutate(role=ibis.ifelse(per._rank == 0, "recommended", "triangulation"))
    return per if all_sources else per.filter(per.role == "recommended")


def stock_frame(wh: Warehouse, q: StockQuery, *, all_sources: bool = False,
                rows: ChosenRows | None = None) -> pd.DataFrame:
    """The stock table as the public columns, sorted (see :data:`idpkit.figures.schema`)."""
    with wh.scratch():
        df = stock_expr(wh, q, all_sources=all_sources, rows=rows).execute()
    return _public_stock(df, q, all_sources)


def stock_frames(wh: Warehouse, q: StockQuery, levels: Sequence[int], *,
                 all_sources: bool = False, rows: ChosenRows | None = None
                 ) -> dict[int, pd.DataFrame]:
    """The stock table at each admin level of ``levels`` (``q.level`` is not used), as
    :func:`stock_frame` gives it for that level.

    Why: the rows are chosen and stored once for all levels instead of once per level (choosing
    them is most of a stock table's cost)."""
    for lv in levels:
        if lv not in LEVELS:
            raise ValueError(f"admin level must be one of {', '.join(map(str, LEVELS))}, not {lv}")
    out: dict[int, pd.DataFrame] = {}
    with wh.scratch():
        if rows is None:
            rows = chosen_rows(wh, q)
        for lv in dict.fromkeys(levels):
            ql = replace(q, level=lv)
            out[lv] = _public_stock(stock_expr(wh, ql, all_sources=all_sources, rows=rows)
                                    .execute(), ql, all_sources)
    return out


def _public_stock(df: pd.DataFrame, q: StockQuery, all_sources: bool) -> pd.DataFrame:
    """Rename, type and sort an executed :func:`stock_expr` into the public columns."""
    from idpkit.figures.schema import stock_columns

    n = q.level
    unplaced = df["area"].astype(str).str.startswith(UNPLACED)
    df = df[~unplaced | (df["value"].fillna(0) != 0)].copy()  # an empty unplaced cell says nothing
    unplaced = df["area"].astype(str).str.startswith(UNPLACED)
    df.loc[unplaced, "area_name"] = [f"{UNPLACED_NAME[:-1]}, {a[len(UNPLACED):]})"
                                     for a in df.loc[unplaced, "area"]]
    df.loc[unplaced, "area"] = None
    df = df.rename(columns={"area": f"adm{n}_pcode", "area_name": f"adm{n}_name"})
    if n == 0:
        df[f"adm{n}_name"] = df[f"adm{n}_name"].fillna(df[f"adm{n}_pcode"].map(_country_name))
    cols = stock_columns(n, q.by, all_sources) + (["derived"] if q.convert_households else [])
    df["stale"] = df["stale"].astype(bool)
    df["derived"] = df["derived"].astype(bool)
    df = df.sort_values(["reference_date", f"adm{n}_pcode", "population_group", "unit", "cause"]
                        + (["site_type"] if "site_type" in q.by else []) + ["source"])
    return df[cols].reset_index(drop=True)


def _country_name(iso3: object) -> object:
    import pycountry

    c = pycountry.countries.get(alpha_3=str(iso3)) if isinstance(iso3, str) else None
    return c.name if c else None
