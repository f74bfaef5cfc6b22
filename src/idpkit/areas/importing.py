"""Reading, checking and storing the area view's row files (4W activities, site measurements,
consultations) the way ``idpkit ingest`` does: every row is checked, rows with an ``error`` are
quarantined with their raw cells, rows with a ``warning`` are kept, and the import (``datasets``
row, accepted rows, quarantined rows, findings) is one transaction. A file whose content was
imported before is refused (its hash is in ``datasets``).

Checks are column-wise pandas operations over the whole file (a 4W file has thousands of rows, not
millions; the warehouse does the analysis), each returning the offending rows with their positions.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa

from idpkit import __version__
from idpkit.areas.findings import Finding
from idpkit.errors import AlreadyImportedError, UnreadableFileError
from idpkit.model.vocabulary import POPULATION_GROUPS
from idpkit.warehouse.sqltext import literal, quote
from idpkit.warehouse.warehouse import Warehouse

MAX_FINDINGS_PER_CODE = 200

GROUP_WORDS: dict[str, str] = {
    **{g: g for g in POPULATION_GROUPS},
    "idp": "idps", "internally displaced": "idps", "displaced": "idps",
    "returnee": "returnees", "returned": "returnees",
    "host": "host_community", "host community": "host_community", "hosts": "host_community",
    "host residents": "host_community", "residents": "host_community",
    "non displaced": "host_community", "non_displaced": "host_community",
    "refugee": "refugees", "migrant": "migrants",
}
"""Group labels seen in 4W and consultation files, lower-cased, to idpkit's vocabulary. The area
view counts never-displaced residents as the host community."""


@dataclass
class RowFile:
    """A file read as text cells, with headers mapped to canonical field names."""

    path: Path
    frame: pd.DataFrame  # canonical field -> text (NaN where empty)
    headers: dict[str, str]  # canonical field -> header as in the file
    rows: np.ndarray  # row number as a text editor shows it (header is row 1)
    sheet: str | None = None  # the sheet the rows come from (workbooks)


@dataclass
class Checked:
    """The result of checking a file: typed columns, findings, and which rows are rejected."""

    file: RowFile
    values: dict[str, pd.Series] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    rejected: np.ndarray | None = None
    counts: dict[str, int] = field(default_factory=dict)
    error_rows: dict[str, np.ndarray] = field(default_factory=dict)  # code -> rows it rejects

    def __post_init__(self) -> None:
        if self.rejected is None:
            self.rejected = np.zeros(len(self.file.frame), dtype=bool)

    def flag(self, mask: pd.Series | np.ndarray, code: str, field_name: str, message: str) -> None:
        """Record a finding for every row where ``mask`` is true (errors reject the row)."""
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        f = Finding(code, message)
        if f.severity == "error":
            self.rejected |= mask
            # every rejected row keeps its codes, also past the findings cap below
            self.error_rows[code] = self.error_rows.get(code, np.zeros_like(mask)) | mask
        self.counts[code] = self.counts.get(code, 0) + int(mask.sum())
        idx = np.flatnonzero(mask)
        column = self.file.headers.get(field_name, field_name)
        raw = self.file.frame.get(field_name, None)
        for i in idx[:MAX_FINDINGS_PER_CODE]:
            v = None if raw is None or pd.isna(raw.iloc[i]) else str(raw.iloc[i])
            self.findings.append(Finding(code, message, file=self.file.path.name,
                                         sheet=self.file.sheet, row=int(self.file.rows[i]),
                                         column=column, value=v))
        if len(idx) > MAX_FINDINGS_PER_CODE:
            self.findings.append(Finding(code, f"{message} ({len(idx) - MAX_FINDINGS_PER_CODE} "
                                         "more rows)", file=self.file.path.name,
                                         sheet=self.file.sheet, column=column))

    # ------------------------------------------------------------------ typed columns
    def text(self, name: str, *, required: bool = False, lower: bool = False) -> pd.Series:
        s = self.file.frame.get(name, pd.Series([np.nan] * len(self.file.frame)))
        s = s.astype("object").where(s.notna(), None)
        s = s.map(lambda v: v.strip() if isinstance(v, str) else v).replace({"": None})
        if lower:
            s = s.map(lambda v: re.sub(r"[\s\-/]+", "_", v.lower()) if isinstance(v, str) else v)
        if required:
            self.flag(s.isna(), "missing-value", name, f"{name} is required")
        self.values[name] = s
        return s

    def number(self, name: str, *, required: bool = False) -> pd.Series:
        s = self.text(name, required=required)
        cleaned = s.map(lambda v: v.replace(",", "").replace(" ", "") if isinstance(v, str) else v)
        num = pd.to_numeric(cleaned, errors="coerce")
        self.flag(s.notna() & num.isna(), "non-numeric-count", name, f"{name} is not a number")
        self.flag(num < 0, "negative-count", name, f"{name} cannot be negative")
        self.values[name] = num.astype("float64")
        return self.values[name]

    def day(self, name: str, *, required: bool = False) -> pd.Series:
        s = self.text(name, required=required)
        d = parse_dates(s)
        self.flag(s.notna() & d.isna(), "invalid-date", name, f"{name} is not a date")
        self.values[name] = d
        return d

    def group(self, name: str = "population_group", *, required: bool = True) -> pd.Series:
        s = self.text(name, required=required)
        g = s.map(lambda v: GROUP_WORDS.get(re.sub(r"[_\s]+", " ", v.lower()).strip(),
                                            GROUP_WORDS.get(v.lower())) if isinstance(v, str)
                  else None)
        self.flag(s.notna() & g.isna(), "unknown-group", name,
                  f"not a population group ({', '.join(POPULATION_GROUPS)})")
        self.values[name] = g
        return g

    def pcode(self, wh: Warehouse, name: str = "area_pcode", *, required: bool = True
              ) -> pd.Series:
        s = self.text(name, required=required).map(lambda v: v.upper() if isinstance(v, str)
                                                    else v)
        distinct = sorted({v for v in s if isinstance(v, str)})
        known: set[str] = set()
        if distinct:
            a = wh.table("areas")
            known = set(a.filter(a.pcode.isin(distinct)).pcode.execute())
        self.flag(s.notna() & ~s.isin(known), "unknown-pcode", name,
                  "the P-code is not in the gazetteer")
        self.values[name] = s
        return s

    def duplicates(self) -> None:
        dup = self.file.frame.duplicated(keep="first").to_numpy()
        self.flag(dup, "duplicate-row", next(iter(self.file.headers), ""),
                  "the row repeats an earlier row")

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]


def parse_dates(s: pd.Series) -> pd.Series:
    """ISO dates, then day-first dates, then Excel serial numbers; NaT where none fits."""
    text = s.astype("object").where(s.notna(), None)
    iso = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    iso = iso.fillna(pd.to_datetime(text, format="ISO8601", errors="coerce"))
    dayfirst = pd.to_datetime(text, format="%d/%m/%Y", errors="coerce")
    serial = pd.to_numeric(text, errors="coerce")
    plausible = (serial > 20000) & (serial < 80000)
    excel = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    if plausible.any():  # only real serials: converting NaN to days warns of an overflow
        excel[plausible] = pd.Timestamp("1899-12-30") + pd.to_timedelta(serial[plausible],
                                                                        unit="D")
    out = iso.fillna(dayfirst).fillna(excel)
    ok = out.notna() & (out.dt.year >= 1900) & (out.dt.year <= 2200)
    return pd.Series(np.where(ok, out.dt.date, None), index=s.index, dtype=object)


def read_rows(path: str | Path, synonyms: dict[str, Sequence[str]], *,
              sheet: str | None = None) -> RowFile:
    """A CSV or XLSX as text; headers matched to fields by :func:`normal_header` and
    ``synonyms`` (field -> accepted headers); unknown columns are kept under their own names."""
    path = Path(path)
    if not path.exists():
        raise UnreadableFileError("no such file", location=str(path))
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
            df = pd.read_excel(path, sheet_name=sheet or 0, dtype=str)
        else:
            raw = path.read_bytes()
            if not raw.strip():
                raise UnreadableFileError("the file is empty", location=str(path))
            if b"\x00" in raw[:4096]:
                raise UnreadableFileError("binary content, not a CSV file", location=str(path))
            df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""],
                             sep=None, engine="python", encoding="utf-8-sig")
    except UnreadableFileError:
        raise
    except Exception as exc:  # pandas/openpyxl raise many types for broken files
        raise UnreadableFileError(f"cannot read the file: {exc}", location=str(path)) from exc
    if df.empty and not len(df.columns):
        raise UnreadableFileError("no header row", location=str(path))
    lookup: dict[str, str] = {}
    for canon, names in synonyms.items():
        for n in (canon, *names):
            lookup[normal_header(n)] = canon
    headers: dict[str, str] = {}
    rename: dict[str, str] = {}
    for h in df.columns:
        key = normal_header(str(h))
        canon = lookup.get(key, key)
        if canon in headers:  # a second column for the same field is ignored
            continue
        headers[canon] = str(h)
        rename[h] = canon
    df = df[list(rename)].rename(columns=rename)
    return RowFile(path, df.reset_index(drop=True), headers, np.arange(len(df)) + 2)


def normal_header(h: str) -> str:
    """``"Admin 2 P-code"`` -> ``admin_2_p_code``; HXL rows are not expected in these files."""
    return re.sub(r"[^0-9a-z]+", "_", h.strip().lower()).strip("_")


def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def refuse_reimport(wh: Warehouse, path: Path, digest: str) -> None:
    d = wh.table("datasets")
    prior = d.filter(d.file_hash == digest).select("dataset_id").limit(1).execute()
    if len(prior):
        raise AlreadyImportedError(f"this file was already imported as {prior.dataset_id[0]}",
                                   location=str(path))


def arrow_of(df: pd.DataFrame, schema: ibis.Schema) -> pa.Table:
    """A frame as Arrow with exactly ``schema``'s columns and types (missing -> null)."""
    arrow = schema.to_pyarrow()
    cols = {}
    for f in arrow:
        values = df[f.name].tolist() if f.name in df else [None] * len(df)
        values = [None if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT
                  else v for v in values]
        cols[f.name] = pa.array(values, f.type, from_pandas=True)
    return pa.Table.from_pydict(cols, schema=arrow)


@dataclass
class StoredFile:
    dataset_id: str
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    findings: list[Finding]


def store(wh: Warehouse, checked: Checked, table: str, schema: ibis.Schema,
          accepted: pd.DataFrame, *, kind: str, digest: str,
          extra: Sequence[tuple[str, ibis.Schema, pd.DataFrame]] = (),
          reporting_date: object = None) -> StoredFile:
    """Write the import in one transaction: datasets row, accepted rows (``table``, plus
    ``extra`` tables), quarantined rows with their raw cells, and findings."""
    path = checked.file.path
    dsid = f"ds_{uuid.uuid4().hex[:12]}"
    rej = checked.rejected
    n, n_bad = len(checked.file.frame), int(rej.sum())
    raw = checked.file.frame[rej]
    codes = np.full(n_bad, "", dtype=object)
    for code in sorted(checked.error_rows):  # from the masks: findings stop at a cap
        hit = checked.error_rows[code][rej]
        codes = np.where(hit, np.where(codes == "", code, codes + "," + code), codes)
    quarantine = pd.DataFrame({
        "dataset_id": dsid, "source_sheet": checked.file.sheet,
        "source_row": checked.file.rows[rej],
        "raw": [json.dumps({checked.file.headers.get(k, k): (None if pd.isna(v) else v)
                            for k, v in r.items()}, ensure_ascii=False)
                for r in raw.to_dict("records")],
        "codes": codes})
    issues = pd.DataFrame([{"dataset_id": dsid, "file_name": f.file, "sheet": f.sheet,
                            "row": f.row, "column_name": f.column, "value": f.value,
                            "code": f.code, "severity": f.severity, "message": f.message}
                           for f in checked.findings],
                          columns=["dataset_id", "file_name", "sheet", "row", "column_name",
                                   "value", "code", "severity", "message"])
    from idpkit.model.tables import ISSUES, QUARANTINE

    frames = [(table, schema, accepted.assign(dataset_id=dsid)),
              *((t, s, f.assign(dataset_id=dsid)) for t, s, f in extra),
              ("quarantine", QUARANTINE, quarantine), ("issues", ISSUES, issues)]
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    row = {"dataset_id": dsid, "file_name": path.name, "file_hash": digest,
           "file_bytes": path.stat().st_size, "sheet": checked.file.sheet,
           "source_organisation": None,
           "assessment_type": "other", "operation": None, "round": None,
           "reporting_date": reporting_date, "iso3": None, "rows_read": n,
           "rows_accepted": n - n_bad, "rows_quarantined": n_bad, "observations": 0,
           "warnings": sum(1 for f in checked.findings if f.severity == "warning"),
           "column_mapping": json.dumps({"kind": kind, "columns": {
               k: v for k, v in checked.file.headers.items() if not str(k).startswith("_raw")}},
                                        ensure_ascii=False),
           "imported_at": now, "idpkit_version": __version__}
    stages: list[str] = []
    statements = [(f"INSERT INTO datasets ({', '.join(quote(c) for c in row)}) VALUES "
                  f"({', '.join(literal(v) for v in row.values())})")]
    try:
        for name, sch, df in frames:
            if df.empty:
                continue
            stage = wh.backend.new_stage_name()
            wh.backend.load_arrow(stage, arrow_of(df, sch))
            stages.append(stage)
            cols = ", ".join(quote(c) for c in sch.names)
            statements.append(f"INSERT INTO {quote(name)} ({cols}) SELECT {cols} FROM "
                              f"{quote(stage)}")
        wh.execute_atomically(statements)
    finally:
        wh.backend.drop_stages(stages)
    return StoredFile(dsid, n, n - n_bad, n_bad, checked.findings)
