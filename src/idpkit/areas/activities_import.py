"""Importing real 3W/4W/5W files: operational presence (organisation × area × sector [× period])
as a first-class kind, with people targeted/reached stored by population group where given.

Why presence needs no people: most OCHA 3Ws say who works where in which sector and nothing
more. Demanding idpkit's own schema (phase, dates, group, people reached) quarantined every row
of them. Here a row needs an organisation, a sector and an area (a P-code or a name at some admin
level); everything else is kept when present.

Counts by group. ``IDP_Reached``, ``Returnees Targeted``, ``#reached+idps``, ``PDI atteintes``…
become one stored row per group (``population_group`` = idps, returnees…); a total column
(``G. Reached``, ``#reached``) is stored as its own row with the group the file's group column
names (``Beneficiary Type: Out-of-camp IDPs``), or none (all groups). Breakdowns by sex, age,
households or an ``other`` group are left out (never added to a total).

P-codes. A code is repaired where the country prefix is written ISO3 for ISO2 or the reverse
(``NGA036`` -> ``NG036``, ingest's rule). A code of a country and level the gazetteer covers must
be in it (``unknown-pcode``, the row is quarantined); a code of a country or level it does not
cover (admin 3 codes, countries missing from the embedded list) is added to ``areas`` from the
file itself (its name, and its parent from the row's coarser code or the longest known prefix),
in the import's transaction. An empty warehouse is first seeded with the embedded OCHA list, as
``idpkit ingest`` does.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pycountry

from idpkit.areas.activities_columns import COUNT_ROLES, LEVELS, group_of
from idpkit.areas.activities_read import ActivitiesMapping, ActivitiesTable, find_table
from idpkit.areas.importing import Checked, RowFile, StoredFile, parse_dates, store
from idpkit.areas.tables import ACTIVITIES
from idpkit.ingest.places import repair_pcode
from idpkit.model.tables import AREAS
from idpkit.model.vocabulary import POPULATION_GROUPS
from idpkit.warehouse.areas import Gazetteer, ensure_gazetteer
from idpkit.warehouse.warehouse import Warehouse


def row_file(t: ActivitiesTable, mapping: ActivitiesMapping) -> RowFile:
    """The table as canonical role columns (organisation coalesced from acronym, plain and
    name columns) plus every other column under its header, for quarantine."""
    cols: dict[str, pd.Series] = {}
    headers: dict[str, str] = {}
    f = t.frame
    for role, j in t.roles.columns.items():
        if role.startswith("organisation"):
            continue
        cols[role] = f[j]
        headers[role] = t.headers[j] or f"column {j + 1}"
    if t.roles.organisation_columns:
        org = f[t.roles.organisation_columns[0]]
        for j in t.roles.organisation_columns[1:]:
            org = org.fillna(f[j])
        cols["organisation"] = org
        headers["organisation"] = t.headers[t.roles.organisation_columns[0]] or "organisation"
    for role, v in mapping.values.items():
        cols[role] = pd.Series(v, index=f.index, dtype=object)
        headers[role] = f"(mapping: {role} = {v})"
    used = set(t.roles.columns.values()) | set(t.roles.organisation_columns)
    for j in f.columns:
        if j not in used and isinstance(j, int) and j < len(t.headers):
            cols[f"_raw{j}"] = f[j]
            headers[f"_raw{j}"] = t.headers[j] or f"column {j + 1}"
    frame = pd.DataFrame(cols, index=f.index).reset_index(drop=True)
    return RowFile(t.path, frame, headers, t.rows, sheet=t.sheet)


def _prefix(code: str) -> str:
    m = re.match(r"[A-Z]+", code)
    return m.group(0) if m else ""


def _country_prefix(code: str) -> bool:
    """A P-code starts with a country's ISO2 or ISO3 code and goes on with digits (or with its
    parent's code: Iraq's ``IQG01Q01N01``); ``31`` or ``N/A`` are never added to the gazetteer."""
    m = re.fullmatch(r"([A-Z]{2,3})[0-9][0-9A-Z]*", code)
    if m is None:
        return False
    p = m.group(1)
    return (pycountry.countries.get(alpha_2=p) if len(p) == 2 else
            pycountry.countries.get(alpha_3=p)) is not None


def _covered(gaz: Gazetteer) -> set[tuple[str, int]]:
    """(country prefix, level) pairs the gazetteer holds, ISO2 and ISO3 spellings both."""
    cached = getattr(gaz, "_prefix_levels", None)
    if cached is not None:
        return cached
    out = {(_prefix(p), a.level) for p, a in gaz.by_pcode.items()}
    for iso2, iso3 in gaz.iso2_to_iso3.items():
        for lv in range(1, 6):
            if (iso2, lv) in out or (iso3, lv) in out:
                out |= {(iso2, lv), (iso3, lv)}
    gaz._prefix_levels = out  # type: ignore[attr-defined]
    return out


class AreaCodes:
    """Resolves the file's codes level by level (distinct values only, never rows)."""

    def __init__(self, gaz: Gazetteer) -> None:
        self.gaz = gaz
        self.covered = _covered(gaz)
        self.new: dict[str, dict] = {}  # pcode -> area row to add

    def level(self, n: int, codes: pd.Series, names: pd.Series, parents: pd.Series
              ) -> tuple[pd.Series, pd.Series]:
        """Resolved codes (None where unknown) and a mask of unknown ones."""
        resolved: dict[str, str | None] = {}
        pairs = pd.DataFrame({"c": codes, "n": names, "p": parents}).dropna(subset=["c"])
        first = pairs.drop_duplicates("c")
        for code, name, parent in first.itertuples(index=False):
            fixed = repair_pcode(self.gaz, code, None)
            if fixed is not None or code in self.new:
                resolved[code] = fixed or code
            elif (_prefix(code), n) in self.covered or not (
                    _country_prefix(code) or isinstance(parent, str) and code != parent
                    and code.startswith(parent)):
                resolved[code] = None  # a covered country's unknown code, or not a P-code
            else:
                resolved[code] = code
                self.new[code] = {"pcode": code, "name": name if isinstance(name, str) else None,
                                  "admin_level": n, "parent_pcode": self._parent(code, n, parent),
                                  "iso3": None, "source": "activities file"}
        out = codes.map(lambda c: resolved.get(c) if isinstance(c, str) else None)
        return out, codes.notna() & out.isna()

    def _parent(self, code: str, n: int, parent: object) -> str | None:
        if isinstance(parent, str) and parent != code:
            return parent
        for k in range(len(code) - 1, 1, -1):
            cand = code[:k]
            a = self.gaz.known(cand)
            if a is not None and a.level < n or cand in self.new and \
                    self.new[cand]["admin_level"] < n:
                return cand
        return None

    def ancestor(self, code: str, level: int) -> str | None:
        steps = 0
        while code is not None and steps < 6:
            a = self.gaz.known(code)
            lv, parent = (a.level, a.parent) if a is not None else (
                (self.new[code]["admin_level"], self.new[code]["parent_pcode"])
                if code in self.new else (None, None))
            if lv is None or lv < level:
                return None
            if lv == level:
                return code
            code, steps = parent, steps + 1
        return None

    def areas_frame(self) -> pd.DataFrame:
        df = pd.DataFrame(list(self.new.values()), columns=["pcode", "name", "admin_level",
                                                            "parent_pcode", "iso3", "source"])
        iso = {p: (self.gaz.known(p).iso3 if self.gaz.known(p) else None)
               for p in df.parent_pcode.dropna().unique()}
        df["iso3"] = df.parent_pcode.map(iso)
        return df


def import_presence(wh: Warehouse, path: Path, digest: str,
                    mapping: ActivitiesMapping | None = None) -> StoredFile:
    """Read, check and store a real 3W/4W/5W file (see the module docstring)."""
    mapping = mapping or ActivitiesMapping()
    t = find_table(path, mapping)
    rf = row_file(t, mapping)
    c = Checked(rf)
    org = c.text("organisation", required=True)
    sector = c.text("sector", required=True, lower=True)
    activity = c.text("activity")
    seed = int(wh.table("areas").count().execute()) == 0
    gaz = Gazetteer.from_embedded() if seed else Gazetteer.from_warehouse(wh)
    codes = AreaCodes(gaz)
    n_rows = len(rf.frame)
    empty = pd.Series([None] * n_rows, dtype=object)
    resolved: dict[int, pd.Series] = {}
    names: dict[int, pd.Series] = {}
    parent = empty
    for n in LEVELS:
        raw = c.text(f"adm{n}_code").map(lambda v: re.sub(r"\s+", "", v).upper()
                                         if isinstance(v, str) else v)
        names[n] = c.text(f"adm{n}_name")
        if f"adm{n}_code" in rf.frame:
            r, unknown = codes.level(n, raw, names[n], parent)
            c.flag(unknown & parent.isna(), "unknown-pcode", f"adm{n}_code",
                   "the P-code is not in the gazetteer, which lists this country's areas at "
                   "this level")
            c.flag(unknown & parent.notna(), "unknown-pcode-kept-coarser", f"adm{n}_code",
                   "the P-code is not in the gazetteer, which lists this country's areas at "
                   "this level; the row is kept in the coarser area its other code names")
            resolved[n] = r
            parent = r.fillna(parent)
    area_pcode, area_name = empty.copy(), empty.copy()
    admin_level = pd.Series(np.nan, index=empty.index)
    for n in LEVELS:  # the finest code given is the row's area
        if n in resolved:
            has = resolved[n].notna()
            area_pcode = area_pcode.where(~has, resolved[n])
            admin_level = admin_level.where(~has, float(n))
    coded = admin_level.notna()
    for n in LEVELS:  # its name at that level; with no code, the finest name given
        has = names[n].notna()
        area_name = area_name.where(~(has & ((coded & (admin_level == n)) | ~coded)), names[n])
        admin_level = admin_level.where(~(has & ~coded), float(n))
    no_area = area_pcode.isna() & area_name.isna() & ~c.rejected
    area_roles = [k for k in rf.headers if re.fullmatch(r"adm[1-4]_(code|name)", k)]
    c.flag(no_area, "missing-value", area_roles[0] if area_roles else "area",
           "an area is required: a P-code or a name at some admin level")
    adm1 = resolved.get(1, empty)
    missing1 = adm1.isna() & area_pcode.notna()
    if missing1.any():
        anc = {p: codes.ancestor(p, 1) for p in area_pcode[missing1].unique()}
        adm1 = adm1.where(~missing1, area_pcode.map(anc))
    adm1_name = names[1]  # the file's own words; a name-only file is counted by them
    start = _lenient_date(c, "start_date")
    end = _lenient_date(c, "end_date")
    period = c.text("period")
    raw_group = c.text("population_group")
    group = raw_group.map(group_of)
    c.flag(raw_group.notna() & group.isna(), "group-not-recognised", "population_group",
           f"not one of idpkit's population groups ({', '.join(POPULATION_GROUPS)}); the row is "
           "kept with no group")
    counts = {k: c.number(k) for k in [*COUNT_ROLES,
                                       *(f"{r}_{g}" for r in COUNT_ROLES
                                         for g in POPULATION_GROUPS)] if k in rf.frame}
    dup = t.frame.duplicated(keep="first").to_numpy()  # every cell of the file's row
    counted = np.zeros(n_rows, dtype=bool)
    for v in counts.values():
        counted |= v.notna().to_numpy()
    c.flag(dup & counted, "duplicate-row", "organisation", "the row repeats an earlier row of "
           "the file cell for cell")
    c.flag(dup & ~counted, "repeated-presence", "organisation", "the row repeats an earlier "
           "row of the file cell for cell; it counts no people, so presence is unchanged")
    ok = ~c.rejected
    base = pd.DataFrame({
        "source_row": rf.rows, "organisation": org.to_numpy(), "sector": sector.to_numpy(),
        "activity": activity.to_numpy(), "phase": None, "area_pcode": area_pcode.to_numpy(),
        "start_date": start.to_numpy(), "end_date": end.to_numpy(),
        "population_group": group.to_numpy(), "sex": "all", "age_group": "all",
        "period": period.to_numpy(), "area_name": area_name.to_numpy(),
        "admin_level": admin_level.to_numpy(), "adm1_pcode": adm1.to_numpy(),
        "adm1_name": adm1_name.to_numpy()})[ok].reset_index(drop=True)
    accepted = _by_group(base, {k: v[ok].reset_index(drop=True) for k, v in counts.items()})
    if seed:
        ensure_gazetteer(wh)  # only now: a refused file writes nothing
    extra = [("areas", AREAS, codes.areas_frame())] if codes.new else []
    stored = store(wh, c, "activities", ACTIVITIES, accepted, kind="activities",
                   digest=digest, extra=extra,
                   reporting_date=max((d for d in end if d), default=None))
    if codes.new:
        wh._gazetteer = None
    return stored


def _lenient_date(c: Checked, name: str) -> pd.Series:
    """Dates are optional for presence: one that cannot be read is left empty, with a warning."""
    s = c.text(name)
    d = parse_dates(s)
    c.flag(s.notna() & d.isna(), "date-not-read", name, f"{name} is not a date; left empty")
    return d


def _by_group(base: pd.DataFrame, counts: dict[str, pd.Series]) -> pd.DataFrame:
    """One stored row per source row and group with counts (the row's totals under its own
    group, or none), or one presence row where the file gives no counts."""
    if not counts:
        return base.assign(targeted=np.nan, reached=np.nan)
    parts = []
    total_t = counts.get("targeted", pd.Series(np.nan, index=base.index))
    total_r = counts.get("reached", pd.Series(np.nan, index=base.index))
    any_group = pd.Series(False, index=base.index)
    for g in POPULATION_GROUPS:
        tg = counts.get(f"targeted_{g}")
        rg = counts.get(f"reached_{g}")
        if tg is None and rg is None:
            continue
        tg = tg if tg is not None else pd.Series(np.nan, index=base.index)
        rg = rg if rg is not None else pd.Series(np.nan, index=base.index)
        has = tg.notna() | rg.notna()
        any_group |= has
        parts.append(base[has].assign(population_group=g, targeted=tg[has], reached=rg[has]))
    totals = total_t.notna() | total_r.notna() | ~any_group
    parts.insert(0, base[totals].assign(targeted=total_t[totals], reached=total_r[totals]))
    out = pd.concat(parts)
    return out.sort_values("source_row", kind="stable").reset_index(drop=True)
