"""Who does what where (4W) across the humanitarian-development-peace continuum: import, coverage
against need, gaps, overlaps, de-duplicated reach and continuity.

Counting rules (each exists because 4W reports break the naive sum):

* *Totals.* A report row with ``sex = all`` and ``age_group = all`` is an activity's total for a
  group; other rows are breakdowns. Where an activity gives only a sex breakdown, its total is the
  sum of the ``female`` and ``male`` rows (age ``all``). Breakdowns are never added to totals.
* *Reach within a sector* is the sum over its activities (organisations report different people;
  where they overlap, ``overlap`` says so).
* *Unique people reached* in an area and group cannot be the sum over sectors: the same family gets
  food, water and a tent. Without registration data the best defensible figure is the **maximum
  across sectors** (a lower bound of the people reached; the sum is the upper bound, shown as
  ``reported_reach``). Where the registry holds people in the area (``register_units``), their
  number is shown beside it (``registered_people``).
* *Coverage* is reached ÷ people in need (``need_pin``) per area, sector and group; ``gap`` when
  people are in need and nobody reached them, ``low`` under the coverage threshold, ``no_need``
  when nobody is in need and nobody was reached.
* *Continuity.* Time is cut into periods (quarters by default). An area where humanitarian
  activities end in a period and no transition/recovery or development/peace activity runs in the
  next one is a ``gap``; ``humanitarian_only`` when humanitarian aid goes on but nothing longer
  term follows; ``continued`` when longer-term programming follows; ``open`` when the next period
  is beyond the data.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from idpkit.areas.importing import (
    Checked,
    StoredFile,
    file_hash,
    read_rows,
    refuse_reimport,
    store,
)
from idpkit.areas.levels import ancestors
from idpkit.areas.tables import ACTIVITIES, AREA_TABLES, PHASES
from idpkit.errors import IdpkitError, UnreadableFileError
from idpkit.warehouse.areas import ensure_gazetteer
from idpkit.warehouse.warehouse import Warehouse

SYNONYMS = {
    "organisation": ["organization", "org", "partner", "implementing_partner", "agency"],
    "sector": ["cluster", "sector_cluster"], "activity": ["activity_name", "intervention"],
    "phase": ["continuum_phase", "programme_phase", "nexus_phase"],
    "area_pcode": ["pcode", "admin_pcode", "location_pcode", "adm2_pcode", "adm3_pcode"],
    "start_date": ["start", "from", "period_start"], "end_date": ["end", "to", "period_end"],
    "population_group": ["group", "beneficiary_group", "target_group"],
    "sex": ["gender"], "age_group": ["age"],
    "targeted": ["people_targeted", "target"], "reached": ["people_reached", "beneficiaries"],
}
PHASE_WORDS = {
    "preparedness": "preparedness", "humanitarian_response": "humanitarian_response",
    "humanitarian": "humanitarian_response", "response": "humanitarian_response",
    "emergency": "humanitarian_response", "transition_recovery": "transition_recovery",
    "transition": "transition_recovery", "recovery": "transition_recovery",
    "early_recovery": "transition_recovery", "transition_and_recovery": "transition_recovery",
    "development_peace": "development_peace", "development": "development_peace",
    "peace": "development_peace", "development_and_peace": "development_peace",
}
SEX_WORDS = {"all": "all", "total": "all", "both": "all", "female": "female", "f": "female",
             "women": "female", "girls": "female", "male": "male", "m": "male", "men": "male",
             "boys": "male"}
EXTRA_SECTORS = ("livelihoods", "nutrition", "cccm", "logistics", "early_recovery", "cash",
                 "multi_sector", "emergency_telecommunications", "governance", "peacebuilding")
LONG_TERM = ("transition_recovery", "development_peace")
KEY = ["dataset_id", "organisation", "sector", "activity", "phase", "area_pcode", "start_date",
       "end_date", "population_group"]


OWN_SCHEMA = ("phase", "start_date", "end_date", "population_group", "reached")
"""The fields that make a file idpkit's own 4W schema (activities along the continuum, with
people reached per group); any other file is read as a real 3W/4W/5W (``activities_import``)."""


def ensure_activity_columns(wh: Warehouse) -> None:
    """Add columns that later versions added to ``activities`` to a warehouse made before them."""
    have = set(wh.table("activities").columns)
    missing = [n for n in ACTIVITIES.names if n not in have]
    if missing:
        from idpkit.warehouse.sqltext import quote

        types = {"string": "VARCHAR", "int64": "BIGINT", "float64": "DOUBLE", "date": "DATE"}
        wh.execute_atomically([
            f"ALTER TABLE activities ADD COLUMN {quote(n)} "
            f"{types[str(ACTIVITIES[n]).rstrip('!')]}" for n in missing])


def _is_own_schema(path: Path) -> bool:
    if path.suffix.lower() not in (".csv", ".txt", ".tsv"):
        return False
    try:
        f = read_rows(path, SYNONYMS)
    except IdpkitError:
        return False
    return all(k in f.headers for k in OWN_SCHEMA)


def import_activities(wh: Warehouse, path: str | Path, *, sectors: tuple[str, ...] | None = None,
                      mapping: str | Path | None = None) -> StoredFile:
    """Check and store one 4W file; rows with errors are quarantined, the rest kept (atomic).

    A file in idpkit's own schema (``OWN_SCHEMA`` columns, CSV) is checked against it; any other
    file — OCHA 3W/4W/5W as published, any sheet, HXL or not, CSV/XLSX/XLS/ODS — is read as
    operational presence with people by group where given, or refused with what to map."""
    from idpkit.areas.activities_import import import_presence
    from idpkit.areas.activities_read import ActivitiesMapping
    from idpkit.areas.rules import SeverityRules

    wh.ensure_tables(AREA_TABLES)
    ensure_activity_columns(wh)
    path = Path(path)
    if not path.exists():
        raise UnreadableFileError("no such file", location=str(path))
    m = ActivitiesMapping.load(mapping) if mapping is not None else None
    digest = file_hash(path)
    refuse_reimport(wh, path, digest)
    if m is not None or not _is_own_schema(path):
        return import_presence(wh, path, digest, m)
    ensure_gazetteer(wh)  # a new warehouse checks P-codes against the embedded OCHA list
    f = read_rows(path, SYNONYMS)
    c = Checked(f)
    for name in ("organisation", "activity"):
        c.text(name, required=True)
    sector = c.text("sector", required=True, lower=True)
    known = set(sectors or SeverityRules.load().sectors) | set(EXTRA_SECTORS)
    c.flag(sector.notna() & ~sector.isin(known), "unknown-sector", "sector",
           "not a sector of the severity rules; coverage against need is not computed for it")
    raw_phase = c.text("phase", required=True, lower=True)
    phase = raw_phase.map(lambda v: PHASE_WORDS.get(v) if isinstance(v, str) else None)
    c.flag(raw_phase.notna() & phase.isna(), "unknown-phase", "phase",
           f"not a phase of the continuum ({', '.join(PHASES)})")
    pc = c.pcode(wh)
    start = c.day("start_date", required=True)
    end = c.day("end_date", required=True)
    c.flag(start.notna() & end.notna() & (pd.Series(end) < pd.Series(start)).fillna(False),
           "end-before-start", "end_date", "the activity ends before it starts")
    group = c.group()
    raw_sex = c.text("sex", lower=True)
    sex = raw_sex.map(lambda v: SEX_WORDS.get(v) if isinstance(v, str) else "all")
    age = c.text("age_group").map(lambda v: re.sub(r"\s+", "", v.lower()) if isinstance(v, str)
                                  else "all")
    bad_age = age.map(lambda v: not (v == "all" or re.fullmatch(r"\d+-\d+|\d+\+", v)))
    c.flag(sex.isna() | bad_age, "bad-sex-or-age", "sex", "sex must be all/female/male and age "
           "a band like 0-17, 60+ or all")
    targeted = c.number("targeted")
    reached = c.number("reached", required=True)
    c.flag((reached > targeted).fillna(False), "reached-exceeds-targeted", "reached",
           "more people reached than targeted")
    c.duplicates()
    ok = ~c.rejected
    accepted = pd.DataFrame({
        "source_row": f.rows[ok], "organisation": c.values["organisation"][ok].to_numpy(),
        "sector": sector[ok].to_numpy(), "activity": c.values["activity"][ok].to_numpy(),
        "phase": phase[ok].to_numpy(), "area_pcode": pc[ok].to_numpy(),
        "start_date": start[ok].to_numpy(), "end_date": end[ok].to_numpy(),
        "population_group": group[ok].to_numpy(), "sex": sex[ok].to_numpy(),
        "age_group": age[ok].to_numpy(), "targeted": targeted[ok].to_numpy(),
        "reached": reached[ok].to_numpy()})
    return store(wh, c, "activities", ACTIVITIES, accepted, kind="activities", digest=digest,
                 reporting_date=max((d for d in end if d), default=None))


def has_activities(wh: Warehouse) -> bool:
    return "activities" in wh.con.list_tables() and \
        int(wh.table("activities").count().execute()) > 0


def check_period(start: date | None, end: date | None) -> None:
    """A period that ends before it starts is a mistake, not an empty answer."""
    if start is not None and end is not None and end < start:
        raise IdpkitError(f"the period ends ({end.isoformat()}) before it starts "
                          f"({start.isoformat()}): check --from and --to")


def totals_expr(wh: Warehouse, *, level: int | None = None, start: date | None = None,
                end: date | None = None) -> ir.Table:
    """One row per activity and group with its total targeted and reached (rules above), its
    area rolled up to ``level``, restricted to activities running at some time in the period
    ``start``-``end`` (inclusive; an activity overlapping it counts whole: 4W reports give one
    figure per activity, not per day). With a period, rows without dates (presence-only 3W rows)
    are left out: nothing says they ran in it."""
    check_period(start, end)
    wh.ensure_tables(AREA_TABLES)
    a = wh.table("activities")
    if start is not None:
        a = a.filter(a.end_date >= start)
    if end is not None:
        a = a.filter(a.start_date <= end)
    total = (a.sex == "all") & (a.age_group == "all")
    by_sex = (a.sex != "all") & (a.age_group == "all")
    g = a.group_by(KEY).aggregate(
        t_all=ibis.ifelse(total, a.targeted, ibis.null("float64")).sum(),
        r_all=ibis.ifelse(total, a.reached, ibis.null("float64")).sum(),
        n_all=ibis.ifelse(total, 1, 0).sum(),
        t_sex=ibis.ifelse(by_sex, a.targeted, ibis.null("float64")).sum(),
        r_sex=ibis.ifelse(by_sex, a.reached, ibis.null("float64")).sum())
    has_total = g.n_all > 0
    out = g.select(*KEY, targeted=ibis.ifelse(has_total, g.t_all, g.t_sex),
                   reached=ibis.ifelse(has_total, g.r_all, g.r_sex))
    if level is not None:
        anc = ancestors(wh, level)
        j = out.inner_join(anc, out.area_pcode == anc.pcode)
        out = j.mutate(area_pcode=j.ancestor_pcode).drop("pcode", "ancestor_pcode")
    return out


def sector_reach_expr(wh: Warehouse, **kw) -> ir.Table:
    """Reached per area, sector and group; organisations and activities behind it."""
    t = totals_expr(wh, **kw)
    return t.group_by(["area_pcode", "sector", "population_group"]).aggregate(
        reached=t.reached.sum(), targeted=t.targeted.sum(),
        organisations=t.organisation.nunique(), activities=t.count())


def reach_by_area(wh: Warehouse, **kw) -> pd.DataFrame:
    """Unique people reached per area and group: max across sectors (lower bound), the sum
    across sectors (``reported_reach``, double counts), and registry counts where available."""
    s = sector_reach_expr(wh, **kw)
    r = s.group_by(["area_pcode", "population_group"]).aggregate(
        unique_reached=s.reached.max(), reported_reach=s.reached.sum(), sectors=s.count())
    df = r.order_by(["area_pcode", "population_group"]).execute()
    df["method"] = "max across sectors"
    df["registered_people"] = np.nan
    if "register_units" in wh.con.list_tables() and len(df):
        u = wh.table("register_units")
        reg = u.group_by("area_pcode").aggregate(registered_people=u.person_cluster.nunique())
        level = kw.get("level")
        if level is not None:
            anc = ancestors(wh, level)
            j = u.inner_join(anc, u.area_pcode == anc.pcode)
            reg = j.group_by(area_pcode=j.ancestor_pcode).aggregate(
                registered_people=j.person_cluster.nunique())
        reg = reg.execute()
        df = df.drop(columns="registered_people").merge(reg, on="area_pcode", how="left")
    return df


def coverage(wh: Warehouse, source_id: str | None = None, *, level: int | None = None,
             start: date | None = None, end: date | None = None, low_below: float = 0.5
             ) -> pd.DataFrame:
    """Reached ÷ people in need per area, sector and group (the need's areas, or ``level``), with
    ``status`` (gap, low, covered, no_need, no_need_data) and ``overlap`` (several
    organisations)."""
    from idpkit.areas.needs import load_source

    check_period(start, end)
    src = load_source(wh, source_id)
    pin = wh.table("need_pin")
    pin = pin.filter((pin.source_id == src.source_id) & (pin.sector != "intersectoral"))
    if level is not None:
        anc = ancestors(wh, level)
        j = pin.inner_join(anc, pin.area_pcode == anc.pcode)
        pin = j.group_by(area_pcode=j.ancestor_pcode, sector=j.sector,
                         population_group=j.population_group).aggregate(
            people_in_need=j.people_in_need.sum())
        reach_level = level
    else:
        pin = pin.select("area_pcode", "sector", "population_group", "people_in_need")
        levels = wh.table("need_pin").filter(wh.table("need_pin").source_id == src.source_id
                                             ).admin_level.max().execute()
        reach_level = None if levels is None or pd.isna(levels) else int(levels)
    reach = sector_reach_expr(wh, level=reach_level, start=start, end=end)
    j = pin.outer_join(reach, [pin.area_pcode == reach.area_pcode, pin.sector == reach.sector,
                               pin.population_group == reach.population_group])
    out = j.select(
        area_pcode=j.area_pcode.fill_null(j.area_pcode_right),
        sector=j.sector.fill_null(j.sector_right),
        population_group=j.population_group.fill_null(j.population_group_right),
        people_in_need=j.people_in_need, reached=j.reached.fill_null(0.0),
        targeted=j.targeted, organisations=j.organisations.fill_null(0),
        activities=j.activities.fill_null(0))
    cov = out.reached / out.people_in_need.nullif(0.0)
    out = out.mutate(
        coverage=cov,
        status=ibis.cases((out.people_in_need.isnull(), ibis.literal("no_need_data")),
                          # nobody in need and nobody reached: nothing is "covered"
                          ((out.people_in_need <= 0) & (out.reached <= 0),
                           ibis.literal("no_need")),
                          ((out.people_in_need > 0) & (out.reached <= 0), ibis.literal("gap")),
                          (cov < low_below, ibis.literal("low")),
                          else_=ibis.literal("covered")),
        overlap=out.organisations >= 2)
    return out.order_by(["area_pcode", "sector", "population_group"]).execute()


def _period(d: ir.DateValue, months: int) -> ir.IntegerValue:
    return ((d.year().cast("int64") * 12 + d.month().cast("int64") - 1) // months).cast("int64")


def period_label(p: int, months: int) -> str:
    first = p * months
    y, m = divmod(first, 12)
    if months == 3:
        return f"{y}-Q{m // 3 + 1}"
    return f"{y}-{m + 1:02d}" + (f"+{months - 1}m" if months > 1 else "")


def continuity(wh: Warehouse, *, level: int | None = None, months: int = 3,
               by_sector: bool = False) -> pd.DataFrame:
    """Per area (and sector) and period in which humanitarian activities end: what runs in the
    next period (status ``gap``, ``humanitarian_only``, ``continued`` or ``open``)."""
    t = totals_expr(wh, level=level)
    t = t.mutate(p0=_period(t.start_date, months), p1=_period(t.end_date, months))
    last = t.p1.max().execute()
    keys = ["area_pcode", *(["sector"] if by_sector else [])]
    hum = t.filter(t.phase == "humanitarian_response")
    ending = hum.group_by([*keys, "p1"]).aggregate(
        ending_activities=hum.activity.nunique(), last_end_date=hum.end_date.max(),
        organisations=hum.organisation.nunique())
    nxt = t.view()
    cond = [ending[k] == nxt[k] for k in keys] + [nxt.p0 <= ending.p1 + 1,
                                                   nxt.p1 >= ending.p1 + 1]
    j = ending.left_join(nxt, cond)
    long_term = j.phase.isin(LONG_TERM)
    agg = j.group_by([*keys, "p1", "ending_activities", "last_end_date", "organisations"]
                     ).aggregate(
        following_long_term=ibis.ifelse(long_term, j.activity, ibis.null("string")).nunique(),
        following_humanitarian=ibis.ifelse(j.phase == "humanitarian_response", j.activity,
                                           ibis.null("string")).nunique())
    df = agg.order_by([*keys, "p1"]).execute()
    if df.empty:
        return df.assign(period="", next_period="", status="")
    last = int(last)
    df["period"] = df.p1.map(lambda p: period_label(int(p), months))
    df["next_period"] = df.p1.map(lambda p: period_label(int(p) + 1, months))
    df["status"] = np.select(
        [df.p1 >= last, df.following_long_term > 0, df.following_humanitarian > 0],
        ["open", "continued", "humanitarian_only"], default="gap")
    return df.drop(columns="p1")[[*keys, "period", "next_period", "ending_activities",
                                  "organisations", "last_end_date", "following_humanitarian",
                                  "following_long_term", "status"]]
