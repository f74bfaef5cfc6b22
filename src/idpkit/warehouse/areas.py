"""The ``areas`` table: P-codes, names, levels, parents and boundaries.

Loaded from OCHA's P-code gazetteer CSV and from COD-AB GeoJSON. A warehouse with no areas is seeded
with the OCHA global admin 1-2 list embedded in the package, so P-codes are checked out of the box.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path

import ibis
import pandas as pd
import pyarrow as pa

from idpkit.errors import UnreadableFileError
from idpkit.model.tables import AREAS
from idpkit.warehouse.warehouse import Warehouse

EMBEDDED_GAZETTEER = "global-pcodes-adm1-2.csv"


def embedded_gazetteer_path() -> Path:
    return Path(str(resources.files("idpkit.data").joinpath(EMBEDDED_GAZETTEER)))


def read_gazetteer_csv(path: Path) -> pd.DataFrame:
    """OCHA's P-code list (``Location,Admin Level,P-Code,Name,Parent P-Code,Valid from date``)."""
    try:
        df = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    except Exception as exc:
        raise UnreadableFileError(f"cannot read gazetteer CSV: {exc}", location=str(path)) from None
    if len(df) and str(df.iloc[0, 0]).startswith("#"):
        df = df.iloc[1:]
    cols = {c.lower().replace("-", "").replace(" ", ""): c for c in df.columns}

    def col(*names: str) -> str:
        for n in names:
            if n in cols:
                return cols[n]
        raise UnreadableFileError(f"gazetteer CSV lacks a column {names[0]!r}", location=str(path))

    out = pd.DataFrame({
        "pcode": df[col("pcode", "adm_pcode", "code")].str.strip().str.upper(),
        "name": df[col("name", "adm_name")].str.strip(),
        "admin_level": pd.to_numeric(df[col("adminlevel", "level", "admlevel")], errors="coerce"),
        "parent_pcode": df[col("parentpcode", "parent")].str.strip().str.upper(),
        "iso3": df[col("location", "iso3", "countrycode")].str.strip().str.upper(),
    })
    vf = cols.get("validfromdate") or cols.get("validon")
    out["valid_from_date"] = pd.to_datetime(df[vf], errors="coerce").dt.date if vf else None
    out["valid_to_date"] = None
    out["source"] = Path(path).name
    out["geometry"] = None
    out = out[out["pcode"] != ""].dropna(subset=["admin_level"])
    out["admin_level"] = out["admin_level"].astype("int16")
    return out


def read_boundaries_geojson(path: Path, level: int | None = None) -> pd.DataFrame:
    """COD-AB GeoJSON (properties like ``admin1Pcod``/``ADM1_PCODE``/``adm1_pcode``)."""
    try:
        with open(path, encoding="utf-8") as fh:
            fc = json.load(fh)
    except Exception as exc:
        raise UnreadableFileError(f"cannot read GeoJSON: {exc}", location=str(path)) from None
    feats = fc.get("features") if isinstance(fc, dict) else None
    if not feats:
        raise UnreadableFileError("GeoJSON has no features", location=str(path))
    keys = {k for f in feats for k in (f.get("properties") or {})}

    def find(pattern: str) -> dict[int, str]:
        found: dict[int, str] = {}
        for k in keys:
            m = re.fullmatch(pattern, k, flags=re.I)
            if m:
                found.setdefault(int(m.group(1)), k)
        return found

    pcode_keys = find(r"adm(?:in)?_?([0-4])_?p?cod(?:e)?")
    name_keys = find(r"adm(?:in)?_?([0-4])_?(?:name|en|nam)(?:_en)?")
    if not pcode_keys:
        raise UnreadableFileError("GeoJSON features have no admin P-code property "
                                  "(e.g. admin1Pcode, ADM1_PCODE)", location=str(path))
    lvl = level if level is not None else max(pcode_keys)
    rows = []
    for f in feats:
        p = f.get("properties") or {}
        pcode = str(p.get(pcode_keys[lvl]) or "").strip().upper()
        if not pcode:
            continue
        parent = p.get(pcode_keys[lvl - 1]) if lvl - 1 in pcode_keys else None
        valid = p.get("validOn") or p.get("date") or p.get("VALIDON")
        rows.append({
            "pcode": pcode,
            "name": p.get(name_keys.get(lvl, ""), None),
            "admin_level": lvl,
            "parent_pcode": str(parent).strip().upper() if parent else None,
            "iso3": None,
            "valid_from_date": pd.to_datetime(str(valid).replace("/", "-"), errors="coerce").date()
            if valid else None,
            "valid_to_date": None,
            "source": Path(path).name,
            "geometry": json.dumps(f.get("geometry"), separators=(",", ":")),
        })
    return pd.DataFrame(rows)


def load_areas(wh: Warehouse, df: pd.DataFrame) -> int:
    """Add or update areas (by P-code) in one transaction; boundaries keep existing names."""
    if df.empty:
        return 0
    df = df.drop_duplicates("pcode", keep="last").copy()
    for c in AREAS.names:
        if c not in df:
            df[c] = None
    table = pa.Table.from_pandas(df[list(AREAS.names)], schema=AREAS.to_pyarrow(),
                                 preserve_index=False)
    stage = wh.backend.new_stage_name()
    wh.backend.load_arrow(stage, table)
    try:
        new = wh.table(stage)
        old = wh.table("areas")
        j = new.left_join(old, new.pcode == old.pcode)
        merged = j.select(
            pcode=new.pcode,
            name=ibis.coalesce(new.name, old.name),
            admin_level=new.admin_level,
            parent_pcode=ibis.coalesce(new.parent_pcode, old.parent_pcode),
            iso3=ibis.coalesce(new.iso3, old.iso3),
            valid_from_date=ibis.coalesce(new.valid_from_date, old.valid_from_date),
            valid_to_date=ibis.coalesce(new.valid_to_date, old.valid_to_date),
            source=new.source,
            geometry=ibis.coalesce(new.geometry, old.geometry),
        )
        merged_sql = wh.backend.sql(merged)
        cols = ", ".join(f'"{c}"' for c in AREAS.names)
        wh.execute_atomically([
            f'CREATE TEMP TABLE "{stage}_m" AS {merged_sql}',
            f'DELETE FROM areas WHERE pcode IN (SELECT pcode FROM "{stage}")',
            f'INSERT INTO areas ({cols}) SELECT {cols} FROM "{stage}_m"',
            f'DROP TABLE "{stage}_m"',
        ])
    finally:
        wh.backend.drop_stages([stage])
    # derive iso3 of areas loaded from boundaries (their admin-0 parent chain)
    _fill_iso3(wh)
    wh._gazetteer = None  # the in-memory copy is stale now
    return len(df)


def _fill_iso3(wh: Warehouse) -> None:
    areas = wh.table("areas")
    missing = areas.filter(areas.iso3.isnull()).count().execute()
    if not missing:
        return
    df = areas.select("pcode", "parent_pcode", "iso3").execute()
    known = dict(zip(df.pcode, df.iso3))
    parent = dict(zip(df.pcode, df.parent_pcode))
    prefix_iso = {}
    for pc, iso in known.items():
        if isinstance(iso, str) and iso:
            prefix_iso.setdefault(re.match(r"[A-Z]*", pc).group(0), iso)
    updates = []
    for pc, iso in known.items():
        if isinstance(iso, str) and iso:
            continue
        p, seen = parent.get(pc), 0
        while p and seen < 6 and not (isinstance(known.get(p), str) and known.get(p)):
            p, seen = parent.get(p), seen + 1
        iso3 = known.get(p) if p else None
        if not iso3:
            iso3 = prefix_iso.get(re.match(r"[A-Z]*", pc).group(0))
        if iso3:
            updates.append((pc, iso3))
    if updates:
        values = ", ".join(f"('{a}', '{b}')" for a, b in updates if "'" not in a + b)
        wh.execute_atomically([
            f"UPDATE areas SET iso3 = v.iso3 FROM (VALUES {values}) AS v(pcode, iso3) "
            "WHERE areas.pcode = v.pcode"])


@functools.lru_cache(maxsize=1)
def embedded_gazetteer() -> pd.DataFrame:
    """The embedded OCHA list, parsed once per process (33,000 rows: parsing it for every import
    of a small file cost more than the import itself)."""
    return read_gazetteer_csv(embedded_gazetteer_path())


def ensure_gazetteer(wh: Warehouse) -> bool:
    """Seed an empty ``areas`` table with the embedded OCHA list. Returns True when it did."""
    if wh.table("areas").count().execute() > 0:
        return False
    df = embedded_gazetteer().copy()
    for c in AREAS.names:
        if c not in df:
            df[c] = None
    # straight in: an empty table has nothing to merge with (load_areas' update path)
    table = pa.Table.from_pandas(df[list(AREAS.names)], schema=AREAS.to_pyarrow(),
                                 preserve_index=False)
    stage = wh.backend.new_stage_name()
    wh.backend.load_arrow(stage, table)
    try:
        cols = ", ".join(f'"{c}"' for c in AREAS.names)
        wh.execute_atomically([f'INSERT INTO areas ({cols}) SELECT {cols} FROM "{stage}" '
                               'WHERE NOT EXISTS (SELECT 1 FROM areas)'])
    finally:
        wh.backend.drop_stages([stage])
    wh._gazetteer = None
    return True


@dataclass
class Area:
    pcode: str
    name: str | None
    level: int
    parent: str | None
    iso3: str | None


class Gazetteer:
    """The areas table held in memory for profiling columns and matching names (tens of thousands
    of rows at most; rows of data are never looped over here, only distinct values)."""

    def __init__(self, areas: list[Area]) -> None:
        self.by_pcode = {a.pcode: a for a in areas}
        self.children: dict[str | None, list[Area]] = {}
        self.by_country_level: dict[tuple[str | None, int], list[Area]] = {}
        for a in areas:
            self.children.setdefault(a.parent, []).append(a)
            self.by_country_level.setdefault((a.iso3, a.level), []).append(a)
        self.iso3s = {a.iso3 for a in areas if a.iso3}
        self.iso2_to_iso3: dict[str, str] = {}
        for a in areas:
            if a.iso3 and a.level == 1:
                m = re.match(r"[A-Z]+", a.pcode)
                if m and len(m.group(0)) == 2:
                    self.iso2_to_iso3.setdefault(m.group(0), a.iso3)

    @classmethod
    def from_warehouse(cls, wh: Warehouse) -> Gazetteer:
        """Read once per warehouse connection; :func:`load_areas` invalidates the copy."""
        cached = getattr(wh, "_gazetteer", None)
        if cached is not None:
            return cached
        t = wh.table("areas").select("pcode", "name", "admin_level", "parent_pcode", "iso3")
        cols = t.to_pyarrow().to_pydict()
        areas = [Area(p, n or None, int(lv), pp or None, i or None)
                 for p, n, lv, pp, i in zip(cols["pcode"], cols["name"], cols["admin_level"],
                                            cols["parent_pcode"], cols["iso3"])]
        gaz = cls(areas)
        wh._gazetteer = gaz
        return gaz

    @classmethod
    def from_embedded(cls) -> Gazetteer:
        """The embedded OCHA list, without writing it anywhere (dry runs on an empty warehouse)."""
        cached = getattr(cls, "_embedded", None)
        if cached is not None:
            return cached
        df = embedded_gazetteer()
        cls._embedded = cls([Area(p, n or None, int(lv), pp or None, i or None)
                             for p, n, lv, pp, i in zip(
                                 df.pcode.tolist(), df.name.tolist(), df.admin_level.tolist(),
                                 df.parent_pcode.tolist(), df.iso3.tolist())])
        return cls._embedded

    def __len__(self) -> int:
        return len(self.by_pcode)

    def known(self, pcode: str) -> Area | None:
        return self.by_pcode.get(pcode)

    def ancestor(self, pcode: str, level: int) -> str | None:
        a = self.by_pcode.get(pcode)
        steps = 0
        while a is not None and a.level > level and steps < 6:
            a = self.by_pcode.get(a.parent) if a.parent else None
            steps += 1
        return a.pcode if a is not None and a.level == level else None

    def covers(self, iso3: str | None, level: int) -> bool:
        return bool(self.by_country_level.get((iso3, level)))

    def today(self) -> date:
        return date.today()


EMBEDDED_LENGTHS = "global-pcode-lengths.csv"


class PcodeLengths:
    """How long each admin level's P-codes are, per country (OCHA's ``global-pcode-lengths.csv``:
    country prefix length, then each level's segment). Why: the gazetteer stops at admin 2, but a
    column of admin-3 codes is still recognisable as admin 3 by its length — a level decided from
    the codes, never from a header word such as "Province"."""

    def __init__(self, rows: dict[str, list[int]]) -> None:
        self.rows = rows  # iso3 -> [country length, admin 1 length, admin 2 length, ...]

    @classmethod
    def embedded(cls) -> PcodeLengths:
        cached = getattr(cls, "_embedded", None)
        if cached is not None:
            return cached
        path = Path(str(resources.files("idpkit.data").joinpath(EMBEDDED_LENGTHS)))
        df = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
        df = df[~df.iloc[:, 0].str.startswith("#")]
        rows: dict[str, list[int]] = {}
        for r in df.itertuples(index=False):
            lens = []
            for v in list(r)[1:]:
                if not str(v).strip().isdigit():
                    break
                lens.append(int(v))
            if lens:
                rows[str(r[0]).strip().upper()] = lens
        cls._embedded = cls(rows)
        return cls._embedded

    def level(self, code: str, iso3: str | None, prefix_len: int | None = None) -> int | None:
        """The admin level a code of ``iso3`` has by its length, or None when no level fits.
        ``prefix_len``: the length of the code's country prefix when it differs from the list's
        (a COD that writes ISO3 where the list counts two letters)."""
        lens = self.rows.get(iso3 or "")
        if not lens:
            return None
        total = prefix_len if prefix_len is not None else lens[0]
        for level, n in enumerate(lens[1:], 1):
            total += n
            if len(code) == total:
                return level
        return None
