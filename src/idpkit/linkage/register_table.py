"""Reading a registration export into the register's columns: as text, with its rows numbered as
the user sees them, columns found by a mapping or by header aliases, dates parsed.

Why everything is read as text: a register column may be empty, numeric (phones, ids), boolean or
a mix; typed reading would turn ``0912…`` into a number and an empty column into floats that
later comparisons choke on. Dates are then parsed by the formats the mapping gives (else ISO,
d/m/Y and 8-digit YYYYMMDD); a value that does not parse is kept out (empty) *and reported*
with its file row and column, never dropped silently. Columns that map to nothing are reported
in one warning, and the error for a missing record id lists the file's own headers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from idpkit.errors import MappingError
from idpkit.linkage.register_mapping import DATE_FIELDS, RegisterMapping
from idpkit.validate.issues import Issue

DEFAULT_DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%Y%m%d"]
"""Tried in order when the mapping gives no ``date_formats`` (a date-time keeps its date)."""


@dataclass
class RegisterTable:
    frame: pd.DataFrame  # register columns (all of REGISTER_COLUMNS), text or None
    rows: pd.Series  # each record's row number in the file, as a spreadsheet shows it
    issues: list[Issue] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)  # the file's headers as written


def _error(message: str, path: Path):
    from idpkit.linkage.register import RegisterError

    return RegisterError(message, location=str(path))


def _raw(path: Path, sheet: str | None) -> pd.DataFrame:
    """Every cell as text ('' for empty), no header interpreted."""
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
            df = pd.read_excel(path, sheet_name=sheet or 0, header=None, dtype=str)
        else:
            try:
                df = _csv(path, "utf-8-sig")
            except UnicodeDecodeError:  # exports saved by Excel on Windows: cp1252
                df = _csv(path, "cp1252")
    except ValueError as exc:
        if sheet and "not found" in str(exc).lower():
            raise _error(f"no sheet {sheet!r} in the workbook", path) from exc
        raise _error(f"cannot read the register: {exc}", path) from exc
    except Exception as exc:  # pandas raises many types for broken files
        raise _error(f"cannot read the register: {exc}", path) from exc
    return df


def _csv(path: Path, encoding: str) -> pd.DataFrame:
    return pd.read_csv(path, header=None, dtype=str, keep_default_na=False, na_values=[],
                       encoding=encoding, skip_blank_lines=False)


def _unique(headers: list[str]) -> list[str]:
    """Headers as written, made unique (a repeated header gets ' (2)') and never blank."""
    seen: dict[str, int] = {}
    out = []
    for i, h in enumerate(headers):
        h = h.strip() or f"column {i + 1}"
        n = seen.get(h, 0) + 1
        seen[h] = n
        out.append(h if n == 1 else f"{h} ({n})")
    return out


def _text(df: pd.DataFrame) -> pd.DataFrame:
    """Trimmed text; empty cells as None (object dtype throughout). Arrow's string kernels, one
    column at a time: pandas' ``str.strip`` was half of reading a 200k-record register."""
    import pyarrow as pa
    import pyarrow.compute as pc

    out = {}
    for i in range(df.shape[1]):
        a = pa.array(df.iloc[:, i].to_numpy(dtype=object), type=pa.string(), from_pandas=True)
        a = pc.utf8_trim_whitespace(a)
        a = pc.if_else(pc.equal(a, ""), pa.scalar(None, pa.string()), a)
        out[i] = a.to_numpy(zero_copy_only=False)
    return pd.DataFrame(out, index=df.index).set_axis(df.columns, axis=1).astype(object)


def read_register(path: Path, mapping: RegisterMapping | None = None) -> RegisterTable:
    """The register columns of ``path`` (see the module docstring)."""
    from idpkit.linkage.register import IDENTIFYING, REGISTER_COLUMNS, REQUIRED, alias_fields

    path = Path(path)
    if not path.is_file():
        raise _error("no such file" if not path.exists() else "not a file", path)
    m = mapping or RegisterMapping()
    raw = _raw(path, m.sheet)
    h = m.header_row - 1
    if len(raw) <= h:
        raise _error(f"no header at row {m.header_row}: the file has {len(raw)} row(s)", path)
    headers = _unique(["" if pd.isna(c) else str(c) for c in raw.iloc[h].tolist()])
    below = raw.iloc[h + 1:h + 2]
    row = ["" if pd.isna(c) else str(c) for c in below.iloc[0].tolist()] if len(below) else []
    cells = [c for c in row if c.strip()]
    has_hxl = bool(cells) and sum(c.strip().startswith("#") for c in cells) * 2 >= len(cells)
    tags = [t.strip().lower().replace(" ", "") for t in row] if has_hxl else []
    start = h + 1 + int(has_hxl)
    data = _text(raw.iloc[start:].set_axis(headers, axis=1))
    data = data[data.notna().any(axis=1)]
    rows = pd.Series(data.index + 1, index=data.index)  # spreadsheet row numbers (1-based)
    data, rows = data.reset_index(drop=True), rows.reset_index(drop=True)

    out = pd.DataFrame(index=data.index)
    used: set[str] = set()
    for fld, refs in m.columns.items():
        cols = [_find(ref, headers, tags, path, m) for ref in
                (refs if isinstance(refs, list) else [refs])]
        used.update(cols)
        out[fld] = _joined(data[cols])
    ignored = {_find(ref, headers, tags, path, m) for ref in m.ignore}
    rest = [c for c in headers if c not in used and c not in ignored]
    for col, fld in alias_fields(rest, taken=set(out.columns)).items():
        out[fld] = data[col]
        used.add(col)
    issues: list[Issue] = []
    unmapped = [c for c in rest if c not in used]
    if unmapped:
        issues.append(Issue("register-unmapped-columns",
                            f"{len(unmapped)} column(s) map to no register field and were not "
                            f"imported: {', '.join(unmapped)} (map them or list them under "
                            "'ignore:' in a mapping)", file=path.name,
                            row=m.header_row, column=", ".join(unmapped)))
    missing = [c for c in REQUIRED if c not in out.columns]
    if missing:
        raise _error(f"missing column(s) {', '.join(missing)} (headers read: "
                     f"{', '.join(headers[:12])}{'…' if len(headers) > 12 else ''}); name it "
                     "in a mapping (--mapping, columns: {record_id: HEADER})", path)
    if not any(c in out.columns and out[c].notna().any() for c in IDENTIFYING):
        raise _error("nothing to match records by: the register needs at least one of a name, "
                     "date of birth, phone or document number column with values (headers "
                     f"read: {', '.join(headers[:12])}{'…' if len(headers) > 12 else ''})", path)
    for c in REGISTER_COLUMNS:
        if c not in out.columns:
            out[c] = None
    formats = m.date_formats or DEFAULT_DATE_FORMATS
    for c in DATE_FIELDS:
        written = out[c]
        out[c], bad = parse_dates(written, formats)
        if c == "date_of_birth":  # a year alone is a year of birth, not a date
            year = bad & written.astype("string").str.fullmatch(r"\d{4}").fillna(False)
            fill = year & out["year_of_birth"].isna()
            out.loc[fill, "year_of_birth"] = written[fill]
            bad &= ~year
        issues += _date_issues(bad, rows, path.name, c, formats)
    return RegisterTable(out[REGISTER_COLUMNS], rows, issues, headers)


def _find(ref: str | int, headers: list[str], tags: list[str], path: Path,
          m: RegisterMapping) -> str:
    """The file column a mapping names: position, HXL tag or header (exact, then ignoring case
    and spaces). Not found: a mapping error listing the file's own headers."""
    if isinstance(ref, int):
        if ref <= len(headers):
            return headers[ref - 1]
        what = f"column {ref}, but the file has {len(headers)} column(s)"
    elif ref.strip().startswith("#"):
        tag = ref.strip().lower().replace(" ", "")
        if tag in tags:
            return headers[tags.index(tag)]
        what = f"HXL tag {ref!r}, which is not in the file's HXL row" if tags else \
            f"HXL tag {ref!r}, but the file has no HXL row under its header"
    else:
        if ref in headers:
            return ref
        loose = {h.strip().casefold(): h for h in headers}
        if ref.strip().casefold() in loose:
            return loose[ref.strip().casefold()]
        what = f"column {ref!r}, which is not in the file"
    raise MappingError(f"mapping names {what} (headers read: {', '.join(headers[:12])}"
                       f"{'…' if len(headers) > 12 else ''})", location=m.path or str(path))


def _joined(cols: pd.DataFrame) -> pd.Series:
    """One text per row from several columns (their non-empty values, space-separated)."""
    if cols.shape[1] == 1:
        return cols.iloc[:, 0]
    parts = cols.fillna("").astype(str)
    s = parts.iloc[:, 0].str.cat([parts.iloc[:, i] for i in range(1, parts.shape[1])], sep=" ")
    s = s.str.replace(r"\s+", " ", regex=True).str.strip()
    return s.where(s != "", None).astype(object)


def parse_dates(values: pd.Series, formats: list[str]) -> tuple[pd.Series, pd.Series]:
    """ISO text ('YYYY-MM-DD') for each value that one of ``formats`` reads (first wins), and
    the mask of non-empty values none reads. Works on the distinct values."""
    distinct = pd.Series(values.dropna().unique(), dtype=object)
    if distinct.empty:
        return values.astype(object), pd.Series(False, index=values.index)
    text = distinct.astype(str).str.strip()
    # a date-time written by a spreadsheet ('2020-03-01 00:00:00') keeps its date
    text = text.str.replace(r"^(\d{4}-\d{2}-\d{2})[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$", r"\1",
                            regex=True)
    parsed = pd.Series(pd.NaT, index=distinct.index, dtype="datetime64[ns]")
    for f in formats:
        todo = parsed.isna()
        if not todo.any():
            break
        parsed[todo] = pd.to_datetime(text[todo], format=f, errors="coerce")
    iso = parsed.dt.strftime("%Y-%m-%d")
    lookup = dict(zip(distinct, iso.where(parsed.notna(), None), strict=True))
    out = values.map(lookup).astype(object)
    out = out.where(out.notna(), None)
    return out, values.notna() & out.isna()


def _date_issues(bad: pd.Series, rows: pd.Series, file: str, column: str,
                 formats: list[str]) -> list[Issue]:
    """One issue per unread value (the first 50 of a column; the message gives the count).
    The value itself is not repeated: a date of birth is personal."""
    n = int(bad.sum())
    if not n:
        return []
    msg = (f"not a date in the format(s) {', '.join(formats)}; stored empty "
           f"({n:,} value(s) in this column; set date_formats in a mapping)")
    return [Issue("register-unparsed-date", msg, file=file, row=int(rows[r]), column=column)
            for r in bad.index[bad][:50]]
