"""Read household-survey microdata from the formats survey teams export: CSV, XLSX, Stata ``.dta``,
SPSS ``.sav`` and KoboToolbox/XLSForm exports (CSV or XLSX, group paths in headers, repeat groups
as extra sheets linked by ``_parent_index``).

Why column names are cleaned: the design spec and SQL must be able to name every column. Kobo
headers carry group paths (``hh_roster/income/total_income``), Stata and SPSS allow case-only
differences, and SQL folds case; so names become lower-case ``snake_case``, group paths are dropped
where the last part is unique, and the original header is kept for provenance.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa

from idpkit.errors import UnreadableFileError

SUPPORTED = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls", ".dta", ".sav", ".zsav")
KOBO_PARENT = "_parent_index"


@dataclass
class SurveyFile:
    """Households (one row each) and, when the export has a repeat group, their members."""

    households: pa.Table
    members: pa.Table | None = None
    sheet: str | None = None
    members_sheet: str | None = None
    columns: dict[str, str] = field(default_factory=dict)  # clean name -> original header


def clean_names(headers: list[object]) -> dict[str, str]:
    """Original header -> SQL-safe unique name (lower-case snake_case; Kobo group paths dropped
    where the last part alone is unique)."""
    originals = [str(h) if h is not None else "" for h in headers]
    parts = [re.split(r"[/:]", h) for h in originals]
    last = [p[-1] for p in parts]
    out: dict[str, str] = {}
    seen: set[str] = set()
    for i, (orig, p) in enumerate(zip(originals, parts, strict=True)):
        name = p[-1] if last.count(p[-1]) == 1 else "_".join(p[-2:]) if len(p) > 1 else p[-1]
        name = re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower() or f"column_{i + 1}"
        if name[0].isdigit():
            name = f"c_{name}"
        base, k = name, 2
        while name in seen:
            name, k = f"{base}_{k}", k + 1
        seen.add(name)
        out[orig if orig not in out else f"{orig}#{i}"] = name
    return out


def _sniff_delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _read_csv(path: Path) -> pd.DataFrame:
    raw = path.read_bytes()
    if not raw.strip():
        raise UnreadableFileError("the file is empty", location=str(path))
    for enc in ("utf-8-sig", None):
        try:
            if enc is None:
                from charset_normalizer import from_bytes

                best = from_bytes(raw[:200_000]).best()
                if best is None:
                    raise UnreadableFileError("unknown text encoding", location=str(path))
                enc = best.encoding
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    delim = _sniff_delimiter(text[:65536])
    try:
        return pd.read_csv(io.StringIO(text), sep=delim, dtype_backend="pyarrow",
                           na_values=["", "NA", "N/A", "n/a", "NaN", "null", "NULL", "."],
                           keep_default_na=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise UnreadableFileError(f"cannot read as CSV: {exc}", location=str(path)) from exc


def _read_excel(path: Path, sheet: str | None) -> tuple[pd.DataFrame, str, pd.DataFrame | None,
                                                          str | None]:
    try:
        sheets = pd.read_excel(path, sheet_name=None, engine="calamine")
    except Exception as exc:  # calamine raises its own error types for broken workbooks
        raise UnreadableFileError(f"cannot read the workbook: {exc}", location=str(path)) from exc
    if sheet is not None and sheet not in sheets:
        raise UnreadableFileError(f"no sheet {sheet!r} (sheets: {', '.join(sheets)})",
                                  location=str(path))
    main = sheet or next((n for n, df in sheets.items() if len(df.columns)
                          and KOBO_PARENT not in df.columns), None)
    if main is None:
        raise UnreadableFileError("the workbook has no data sheet", location=str(path))
    members = next(((n, df) for n, df in sheets.items() if n != main and KOBO_PARENT in df.columns),
                   (None, None))
    return sheets[main], main, members[1], members[0]


def _read_stata(path: Path) -> pd.DataFrame:
    try:
        return pd.read_stata(path, convert_categoricals=True)
    except ValueError:  # value labels that are not unique: keep the codes
        return pd.read_stata(path, convert_categoricals=False)


def _read_spss(path: Path) -> pd.DataFrame:
    import pyreadstat

    try:
        df, _meta = pyreadstat.read_sav(str(path), apply_value_formats=True)
    except Exception as exc:  # pyreadstat.ReadstatError and friends
        raise UnreadableFileError(f"cannot read as SPSS: {exc}", location=str(path)) from exc
    return df


def _to_arrow(df: pd.DataFrame, names: dict[str, str]) -> pa.Table:
    df = df.copy()
    df.columns = list(names.values())
    for c in df.columns:  # label-converted categoricals and mixed objects become text
        if isinstance(df[c].dtype, pd.CategoricalDtype):
            df[c] = df[c].astype("string")
        elif df[c].dtype == object:
            df[c] = df[c].map(lambda v: None if v is None or (isinstance(v, float) and v != v)
                              else str(v)).astype("string")
    table = pa.Table.from_pandas(df, preserve_index=False)
    rows = pa.array(range(2, len(df) + 2), pa.int64())  # as a spreadsheet shows them
    return table.append_column("_row", rows)


def read_survey(path: str | Path, sheet: str | None = None) -> SurveyFile:
    """Read one survey export; raises :class:`UnreadableFileError` with the file named."""
    path = Path(path)
    if not path.is_file():
        raise UnreadableFileError("no such file", location=str(path))
    ext = path.suffix.lower()
    members = members_sheet = None
    if ext in (".csv", ".txt", ".tsv"):
        df = _read_csv(path)
    elif ext in (".xlsx", ".xlsm", ".xls"):
        df, sheet, members, members_sheet = _read_excel(path, sheet)
    elif ext == ".dta":
        df = _read_stata(path)
    elif ext in (".sav", ".zsav"):
        df = _read_spss(path)
    else:
        raise UnreadableFileError(f"unsupported survey format {ext or '(none)'}; use one of "
                                  f"{', '.join(SUPPORTED)}", location=str(path))
    if df.empty:
        raise UnreadableFileError("the file has no data rows", location=str(path))
    names = clean_names(list(df.columns))
    out = SurveyFile(_to_arrow(df, names), sheet=sheet, columns={v: k for k, v in names.items()})
    if members is not None and not members.empty:
        out.members = _to_arrow(members, clean_names(list(members.columns)))
        out.members_sheet = members_sheet
    return out
