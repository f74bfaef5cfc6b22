"""Community voice: what consultations with IDPs and host residents said, per area.

Why stored beside the data: an area profile that shows severity and coverage without what people
asked for invites planning *for* communities instead of *with* them. Each consultation keeps its
date, method, group, number of participants and organisation; its priorities (a list in one cell,
separated by ``;`` or ``|``, most important first) are also stored one per row
(``consultation_priorities``) so they can be counted per area and group in SQL.
"""

from __future__ import annotations

import re
from pathlib import Path

import ibis
import pandas as pd

from idpkit.areas.importing import (
    Checked,
    StoredFile,
    file_hash,
    read_rows,
    refuse_reimport,
    store,
)
from idpkit.areas.tables import AREA_TABLES, CONSULTATION_PRIORITIES, CONSULTATIONS
from idpkit.warehouse.warehouse import Warehouse

SYNONYMS = {
    "area_pcode": ["pcode", "admin_pcode", "location_pcode"],
    "consultation_date": ["date", "consulted_on"], "method": ["consultation_method", "tool"],
    "population_group": ["group", "participants_group", "community"],
    "participants": ["people", "number_of_participants"],
    "organisation": ["organization", "org", "facilitator"],
    "priorities": ["priorities_raised", "priority", "top_priorities"], "notes": ["comments"],
}


def import_consultations(wh: Warehouse, path: str | Path) -> StoredFile:
    wh.ensure_tables(AREA_TABLES)
    f = read_rows(path, SYNONYMS)
    digest = file_hash(f.path)
    refuse_reimport(wh, f.path, digest)
    c = Checked(f)
    pc = c.pcode(wh)
    day = c.day("consultation_date", required=True)
    method = c.text("method", required=True)
    group = c.group()
    people = c.number("participants")
    org = c.text("organisation")
    pri = c.text("priorities", required=True)
    notes = c.text("notes")
    c.duplicates()
    ok = ~c.rejected
    lists = pri[ok].map(lambda v: [p.strip().lower() for p in re.split(r"[;|]", v) if p.strip()])
    accepted = pd.DataFrame({
        "source_row": f.rows[ok], "area_pcode": pc[ok].to_numpy(),
        "consultation_date": day[ok].to_numpy(), "method": method[ok].to_numpy(),
        "population_group": group[ok].to_numpy(), "participants": people[ok].to_numpy(),
        "organisation": org[ok].to_numpy(), "priorities": lists.map("; ".join).to_numpy(),
        "notes": notes[ok].to_numpy()})
    long = accepted[["source_row", "area_pcode", "consultation_date", "population_group"]].assign(
        priority=lists.to_numpy()).explode("priority").dropna(subset=["priority"])
    long["rank"] = long.groupby("source_row").cumcount() + 1
    return store(wh, c, "consultations", CONSULTATIONS, accepted, kind="consultations",
                 digest=digest, extra=[("consultation_priorities", CONSULTATION_PRIORITIES, long)],
                 reporting_date=max((d for d in day if d), default=None))


def priorities(wh: Warehouse, area: str | None = None) -> pd.DataFrame:
    """How often each priority was raised per area and group, and how often first."""
    wh.ensure_tables(AREA_TABLES)
    p = wh.table("consultation_priorities")
    if area:
        p = p.filter(p.area_pcode.startswith(area))
    g = p.group_by(["population_group", "priority"]).aggregate(
        times_raised=p.count(), times_first=(p["rank"] == 1).sum().cast("int64"),
        areas=p.area_pcode.nunique(), last_date=p.consultation_date.max())
    return g.order_by(["population_group", ibis.desc("times_raised"), "priority"]).execute()


def consultations(wh: Warehouse, area: str | None = None, *, with_notes: bool = True
                  ) -> pd.DataFrame:
    wh.ensure_tables(AREA_TABLES)
    t = wh.table("consultations")
    if area:
        t = t.filter(t.area_pcode.startswith(area))
    cols = ["area_pcode", "consultation_date", "method", "population_group", "participants",
            "organisation", "priorities", *(["notes"] if with_notes else [])]
    return t.select(*cols).order_by([t.consultation_date.desc(), "area_pcode"]).execute()
