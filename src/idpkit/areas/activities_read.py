"""Finding the who-does-what-where table in a real 3W/4W/5W file: which sheet, which header row,
which HXL row, which rows are data; summary (pivoted) tables unpivoted or refused.

Why not the first sheet: real workbooks open on instructions, lists, admin boundaries and pivot
tables (a 5-row metadata sheet before a 21,000-row data sheet). Each sheet's candidate header rows
are scored by evidence — the roles their columns name (organisation, sector, area, counts) and
the rows under them — and the sheet whose table names organisation, sector and area wins. The HXL
row under a header (or a header that is itself an HXL row) is used for roles and never read as
data; blank rows and repeated HXL rows are not data rows. A sheet with one column per sector
(``WASH | Health | Education``) is a summary: unpivoted into one row per organisation, area and
sector where an organisation column exists, refused otherwise (counts of organisations name none).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from idpkit.areas.activities_columns import ROLES, Assignment, assign_roles, fold, parse_tags
from idpkit.errors import MappingError, NoDataFoundError, UnreadableFileError
from idpkit.ingest.hxl import looks_like_hxl_row
from idpkit.ingest.readers import cell_text, open_source

HEADER_SEARCH_ROWS = 30
HXL_TAG = r"#[A-Za-z][A-Za-z0-9_]*(?:\s*\+\s*[A-Za-z0-9_]+)*\s*"
SECTOR_NAMES = (
    "wash", "eha", "epah", "water sanitation", "agua", "health", "sante", "salud", "saude",
    "education", "educacion", "educacao", "protection", "proteccion", "protecao", "nutrition",
    "nutricion", "nutricao", "shelter", "abris", "abri", "alojamiento", "abrigo", "nfi", "ame",
    "cccm", "camp coordination", "food security", "food", "fsl", "fss", "fsc", "secal",
    "securite alimentaire", "seguridad alimentaria", "seguranca alimentar", "logistics",
    "logistique", "cp", "child protection", "gbv", "vbg", "mpc", "cash", "early recovery",
    "relevement precoce", "livelihoods", "mine action", "hlp", "etc", "coordination",
    "agriculture", "ccs", "pc cp", "pc gbv", "pc ma", "pc pc", "explosive hazard",
    "protection total", "recuperacion temprana", "multi sector", "multisector")


@dataclass
class ActivitiesMapping:
    """A user's mapping for an activities file (``--mapping MAP.yml``): the sheet, the header
    row (as the spreadsheet numbers it), columns by role, constant values (a one-sector file's
    sector). Everything left out is still detected."""

    sheet: str | None = None
    header_row: int | None = None
    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path) -> ActivitiesMapping:
        p = Path(path)
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise MappingError(f"cannot read the mapping: {exc}", location=str(p)) from None
        if not isinstance(data, dict):
            raise MappingError("a mapping is a YAML dictionary (sheet, header_row, columns, "
                               "values)", location=str(p))
        unknown = set(data) - {"sheet", "header_row", "columns", "values"}
        if unknown:
            raise MappingError(f"unknown keys {sorted(unknown)}; allowed: sheet, header_row, "
                               "columns, values", location=str(p))
        cols = {str(k): str(v) for k, v in (data.get("columns") or {}).items()}
        vals = {str(k): str(v) for k, v in (data.get("values") or {}).items()}
        bad = sorted((set(cols) | set(vals)) - set(ROLES))
        if bad:
            raise MappingError(f"unknown roles {bad}; roles are: {', '.join(ROLES)}",
                               location=str(p))
        hr = data.get("header_row")
        if hr is not None and (not isinstance(hr, int) or hr < 1):
            raise MappingError("header_row is the spreadsheet's row number (1 or more)",
                               location=str(p))
        return cls(data.get("sheet"), hr, cols, vals)


@dataclass
class ActivitiesTable:
    """The table found: text cells of the role columns, and where each row is in the file."""

    path: Path
    sheet: str | None
    header_row: int  # as the spreadsheet numbers it
    hxl: bool
    headers: list[str]
    roles: Assignment
    frame: pd.DataFrame  # one column per source column used (by index), text or None
    rows: np.ndarray  # row number as the spreadsheet shows it
    passed_over: dict[str, str] = field(default_factory=dict)  # sheet -> why not chosen
    unpivoted: bool = False


def _grids(path: Path) -> list[tuple[str | None, list[list[Any]]]]:
    """Every sheet as a grid of cells (CSV: one sheet, read in its detected encoding and
    delimiter; XLSX, XLS, ODS through calamine)."""
    try:
        source = open_source(path)
    except UnreadableFileError as exc:
        if "spans" not in str(exc):
            raise
        return _stream_workbook(path)  # a sheet that claims far more columns than it fills
    try:
        if source.kind == "csv":
            p = source.utf8_path or path
            try:
                df = pd.read_csv(p, header=None, dtype=str, keep_default_na=False,
                                 sep=source.delimiter or ",", engine="c", encoding="utf-8-sig",
                                 skip_blank_lines=False, on_bad_lines="skip")
            except Exception as exc:  # pandas raises many types for broken CSVs
                raise UnreadableFileError(f"cannot read the CSV: {exc}", location=str(path)) \
                    from None
            return [(None, df.to_numpy(dtype=object).tolist())]
        if source.kind != "xlsx":
            raise UnreadableFileError(f"a {source.kind} source; activities are read from CSV, "
                                      "XLSX, XLS or ODS files", location=str(path))
        return [(s.name, s.rows or []) for s in source.sheets]
    finally:
        source.cleanup()


MAX_STREAMED_COLUMNS = 500


def _stream_workbook(path: Path) -> list[tuple[str | None, list[list[Any]]]]:
    """Row by row (openpyxl, read-only), each row cut after its last filled cell: a sheet whose
    declared extent (275,847 rows × 1,021 columns) would not fit in memory as a grid but whose
    cells do. Refused when its rows really are wider than ``MAX_STREAMED_COLUMNS``."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for broken workbooks
        raise UnreadableFileError(f"cannot read workbook ({exc})", location=str(path)) from None
    out: list[tuple[str | None, list[list[Any]]]] = []
    try:
        for ws in wb.worksheets:
            rows = []
            for r in ws.iter_rows(values_only=True):
                r = list(r)
                while r and (r[-1] is None or r[-1] == ""):
                    r.pop()
                if len(r) > MAX_STREAMED_COLUMNS:
                    raise UnreadableFileError(
                        f"sheet {ws.title!r} has rows of {len(r):,} filled columns; export "
                        "it as CSV", location=str(path))
                rows.append(r)
            out.append((ws.title, rows))
    finally:
        wb.close()
    return out


def _text_row(row: list[Any]) -> list[str]:
    return [cell_text(c) or "" for c in row]


@dataclass
class _Candidate:
    sheet: str | None
    header_index: int
    data_start: int
    hxl: bool
    headers: list[str]
    roles: Assignment
    score: tuple


def _complete(a: Assignment, values: dict[str, str]) -> bool:
    has = set(a.columns) | set(values)
    org = bool(a.organisation_columns) or "organisation" in values
    area = any(k.startswith("adm") for k in has)
    return org and "sector" in has and area


def _candidates(name: str | None, grid: list[list[Any]], mapping: ActivitiesMapping
                ) -> list[_Candidate]:
    out = []
    top = [_text_row(r) for r in grid[:HEADER_SEARCH_ROWS + 2]]
    rows = range(len(top)) if mapping.header_row is None else [mapping.header_row - 1]
    for i in rows:
        if i >= len(top):
            continue
        head = top[i]
        if sum(1 for c in head if c) < 2:
            continue
        if looks_like_hxl_row(head):  # a header that is itself the HXL row
            tags, start, hxl = parse_tags(head), i + 1, True
        elif i + 1 < len(top) and looks_like_hxl_row(top[i + 1]):
            tags, start, hxl = parse_tags(top[i + 1]), i + 2, True
        else:
            tags, start, hxl = None, i + 1, False
        if mapping.header_row is None and i > 0 and looks_like_hxl_row(head) and \
                sum(1 for c in top[i - 1] if c) >= 2:
            continue  # the HXL row under a header: that header is the candidate
        roles = _with_mapping(assign_roles(head, tags), head, mapping, name)
        if "sector" not in roles.columns and "sector" not in mapping.values and \
                roles.organisation_columns and any(k.startswith("adm") for k in roles.columns):
            roles = _sector_by_values(roles, grid[start:start + 200], head)  # the only gap
        n_rows = len(grid) - start
        essentials = sum((bool(roles.organisation_columns) or "organisation" in mapping.values,
                          "sector" in roles.columns or "sector" in mapping.values,
                          any(k.startswith("adm") for k in roles.columns)))
        score = (essentials, len(roles.columns), hxl, min(n_rows, 1000), -i)
        out.append(_Candidate(name, i, start, hxl, head, roles, score))
    return out


def _with_mapping(a: Assignment, headers: list[str], mapping: ActivitiesMapping,
                  sheet: str | None) -> Assignment:
    if not mapping.columns:
        return a
    cols, ev = dict(a.columns), dict(a.evidence)
    folded = [fold(h) for h in headers]
    for role, header in mapping.columns.items():
        if fold(header) not in folded:
            continue  # checked when the table is chosen: a mapped header must exist there
        cols[role] = folded.index(fold(header))
        ev[role] = f"mapping: {header!r}"
        if role.startswith("organisation"):
            for k in ("organisation", "organisation_acronym", "organisation_name"):
                if k != role and k not in mapping.columns:
                    cols.pop(k, None)
    org = [cols[k] for k in ("organisation_acronym", "organisation", "organisation_name")
           if k in cols]
    return Assignment(cols, ev, org)


def _sector_by_values(a: Assignment, sample: list[list[Any]], head: list[str]) -> Assignment:
    """A column no header or tag names, whose values are sector names (``CCCM``, ``Health``,
    ``WASH`` under a header ``Name``): the sector, by evidence of at least 80% of its values."""
    taken = set(a.columns.values())
    for j in range(len(head)):
        if j in taken:
            continue
        vals = [v for v in (cell_text(r[j]) for r in sample if j < len(r)) if v]
        if len(vals) >= 5 and sum(_is_sector_header(v) for v in vals) >= 0.8 * len(vals):
            return Assignment({**a.columns, "sector": j},
                              {**a.evidence, "sector": f"values of column {head[j]!r} are "
                               "sector names"}, a.organisation_columns)
    return a


@functools.lru_cache(maxsize=4096)
def _is_sector_header(h: str) -> bool:
    f = fold(h)
    return bool(f) and (f in SECTOR_NAMES or any(f.startswith(s + " ") for s in SECTOR_NAMES
                                                 if len(s) > 3))


def _pivot(name: str | None, grid: list[list[Any]]) -> tuple[int, list[int]] | None:
    """A header row (index) with three or more sector columns: a summary table."""
    for i, r in enumerate(grid[:HEADER_SEARCH_ROWS]):
        head = _text_row(r)
        sectors = [j for j, h in enumerate(head) if _is_sector_header(h)]
        if len(sectors) >= 3:
            return i, sectors
    return None


def find_table(path: str | Path, mapping: ActivitiesMapping | None = None) -> ActivitiesTable:
    """The who-does-what-where table of a file, or a refusal that says what was seen and the
    mapping line that fixes it."""
    path = Path(path)
    mapping = mapping or ActivitiesMapping()
    grids = _grids(path)
    names = [n for n, _ in grids]
    if mapping.sheet is not None:
        if mapping.sheet not in names:
            raise MappingError(f"the mapping names sheet {mapping.sheet!r}; the file has "
                               f"{names}", location=str(path))
        grids = [(n, g) for n, g in grids if n == mapping.sheet]
    cands = [c for n, g in grids for c in _candidates(n, g, mapping)]
    by_sheet = {n: g for n, g in grids}
    complete = [c for c in cands if _complete(c.roles, mapping.values)]
    passed: dict[str, str] = {}
    if complete:
        best = max(complete, key=lambda c: c.score)
        for n, g in grids:
            if n != best.sheet:
                passed[str(n)] = f"{len(g)} rows; no table naming organisation, sector and area " \
                    "scored higher"
        _check_mapped_headers(path, best, mapping)
        return _table(path, best, by_sheet[best.sheet], passed)
    # no long table: a summary with one column per sector?
    for n, g in grids:
        piv = _pivot(n, g)
        if piv is None:
            continue
        i, sectors = piv
        head = _text_row(g[i])
        roles = assign_roles(head, None)
        where = f"sheet {n!r}, row {i + 1}" if n else f"row {i + 1}"
        has_area = any(k.startswith("adm") for k in roles.columns)
        if roles.organisation_columns and has_area:
            return _unpivot(path, n, g, i, head, roles, sectors, passed)
        raise NoDataFoundError(
            f"{where} is a summary table (one column per sector: "
            f"{', '.join(head[j] for j in sectors[:5])}…), not who does what where: it counts, "
            "it does not name the organisations in each area. Import the long table it was "
            "made from (one row per organisation, area and sector)", location=str(path))
    best = max(cands, key=lambda c: c.score, default=None)
    if best is None:
        raise NoDataFoundError("no table found: no sheet has a header row of two or more "
                               "columns", location=str(path))
    raise NoDataFoundError(_missing_message(best, mapping), location=str(path))


def _missing_message(c: _Candidate, mapping: ActivitiesMapping) -> str:
    a = c.roles
    missing = []
    if not a.organisation_columns and "organisation" not in mapping.values:
        missing.append(("organisation", "columns: {organisation: <header of the "
                        "organisation column>}"))
    if "sector" not in a.columns and "sector" not in mapping.values:
        missing.append(("sector", "values: {sector: <the sector>} (a file of one sector) or "
                        "columns: {sector: <header>}"))
    if not any(k.startswith("adm") for k in a.columns):
        missing.append(("area", "columns: {adm1_code: <header>} or {adm1_name: <header>} "
                        "(adm2_…, adm3_… for finer levels)"))
    where = f"sheet {c.sheet!r}, row {c.header_index + 1}" if c.sheet else \
        f"row {c.header_index + 1}"
    seen = ", ".join(f"{r} = {c.headers[i]!r}" for r, i in a.columns.items()) or "nothing"
    heads = ", ".join(repr(h) for h in c.headers if h)[:300]
    fixes = "; ".join(f"{m}: {fix}" for m, fix in missing)
    return (f"cannot read this as who does what where with certainty: no "
            f"{' or '.join(m for m, _ in missing)} column. Best table: {where} (columns "
            f"{heads}); recognised {seen}. Say it in a mapping (--mapping MAP.yml): {fixes}")


def _check_mapped_headers(path: Path, c: _Candidate, mapping: ActivitiesMapping) -> None:
    folded = [fold(h) for h in c.headers]
    for role, header in mapping.columns.items():
        if fold(header) not in folded:
            raise MappingError(f"the mapping's column {header!r} (for {role}) is not in the "
                               f"header row of sheet {c.sheet!r} (row {c.header_index + 1}): "
                               f"{[h for h in c.headers if h]}", location=str(path))


def _table(path: Path, c: _Candidate, grid: list[list[Any]], passed: dict[str, str]
           ) -> ActivitiesTable:
    used = sorted(set(c.roles.columns.values()))
    body = grid[c.data_start:]
    width = len(c.headers)
    raw = pd.DataFrame([(list(r) + [None] * width)[:width] for r in body],
                       columns=range(width), dtype=object) if body else \
        pd.DataFrame(columns=range(width), dtype=object)
    frame = pd.DataFrame({j: raw[j].map(cell_text) for j in range(width)}, index=raw.index)
    # not data: rows blank in every column read (trailing lines, spacers) and repeated HXL rows
    # (two or more tags, 80% of the row's cells: "# people" or "#N/A" in a cell is data)
    filled = frame[used].notna().any(axis=1).to_numpy() if used else \
        np.zeros(len(frame), bool)
    tag = frame.apply(lambda col: col.astype("string").str.fullmatch(HXL_TAG).fillna(False))
    n_tags = tag.sum(axis=1).to_numpy()
    tagged = (n_tags >= 2) & (n_tags >= 0.8 * frame.notna().sum(axis=1).to_numpy())
    keep = filled & ~tagged
    frame = frame[keep].reset_index(drop=True)
    rows = (np.arange(len(body)) + c.data_start + 1)[keep]
    return ActivitiesTable(path, c.sheet, c.header_index + 1, c.hxl, c.headers, c.roles,
                           frame, rows, passed)


def _unpivot(path: Path, sheet: str | None, grid: list[list[Any]], i: int, head: list[str],
             roles: Assignment, sectors: list[int], passed: dict[str, str]) -> ActivitiesTable:
    """One row per organisation, area and sector column whose cell is marked (``x``, a count
    above zero, ``yes``/``oui``/``sí``)."""
    c = _Candidate(sheet, i, i + 1, False, head, roles, ())
    keep_cols = Assignment({k: v for k, v in roles.columns.items() if k != "sector"},
                           roles.evidence, roles.organisation_columns)
    c.roles = Assignment({**keep_cols.columns, **{f"_s{j}": j for j in sectors}},
                         keep_cols.evidence, keep_cols.organisation_columns)
    wide = _table(path, c, grid, passed)
    parts = []
    for j in sectors:
        v = wide.frame[j]
        num = pd.to_numeric(v, errors="coerce")
        marked = (num > 0) | v.fillna("").str.strip().str.lower().isin(
            ["x", "yes", "oui", "si", "sí", "sim", "✓", "✔"])
        part = wide.frame.loc[marked, [k for k in wide.frame.columns if k not in sectors]]
        part = part.assign(_sector=head[j], _row=wide.rows[marked.to_numpy()])
        parts.append(part)
    long = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    long = long.sort_values("_row", kind="stable").reset_index(drop=True)
    width = len(head)
    long[width] = long.pop("_sector")
    rows = long.pop("_row").to_numpy()
    cols = {**keep_cols.columns, "sector": width}
    ev = {**keep_cols.evidence, "sector": "unpivoted: one column per sector"}
    return ActivitiesTable(path, sheet, i + 1, False, [*head, "sector"],
                           Assignment(cols, ev, keep_cols.organisation_columns), long, rows,
                           passed, unpivoted=True)
