"""Writing figure tables as CSV, HXL-tagged CSV and JSON, with a Frictionless Table Schema.

Why here and not in the CLI: the API (issue 6) serves the very same bytes, so the formatting rules
(integers without ``.0``, empty cells for missing, ``true``/``false``, ISO dates) live in one place.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from idpkit.figures.schema import hxl_tag, table_schema
from idpkit.model.formula_cells import neutralise_frame


def _single(df: pd.DataFrame, col: str) -> str | None:
    if col not in df.columns:
        return None
    vals = df[col].dropna().unique()
    return str(vals[0]) if len(vals) == 1 else None


def _cell_text(s: pd.Series) -> pd.Series:
    if s.dtype == bool or s.dtype == "boolean":
        return s.map(lambda v: "" if pd.isna(v) else ("true" if v else "false"))
    if pd.api.types.is_numeric_dtype(s):
        return s.map(_number_text)
    return s.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else
                 (v.isoformat()[:10] if hasattr(v, "isoformat") else str(v)))


def _number_text(x: object) -> str:
    if x is None or pd.isna(x):
        return ""
    f = float(x)  # type: ignore[arg-type]
    return f"{f:.0f}" if f.is_integer() else f"{f:.10g}"


def to_text_frame(df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({c: _cell_text(df[c]) for c in df.columns}, index=df.index)


def to_csv(df: pd.DataFrame, *, hxl: bool = False, tags: dict[str, str] | None = None) -> str:
    """CSV text; with ``hxl`` the hashtag row follows the header (HXL standard).

    The one writer of CSV and HXL for the CLI, the API, the dashboard's downloads and the release:
    every output formats cells alike (integers without ``.0``, ISO dates, ``true``/``false``,
    empty for missing) and tags every column. ``tags`` names a column's hashtag where the
    figure vocabulary (:func:`idpkit.figures.schema.hxl_tag`) does not know it. Text a
    spreadsheet would run as a formula (an area named ``=HYPERLINK(…)``) is written with a
    leading quote (:mod:`idpkit.model.formula_cells`): CSVs are opened in spreadsheets."""
    df = neutralise_frame(df)
    text = to_text_frame(df)
    if hxl:
        group, unit = _single(df, "population_group"), _single(df, "unit")
        given = tags or {}
        row = [given.get(c) or hxl_tag(c, group=group, unit=unit) for c in df.columns]
        text = pd.concat([pd.DataFrame([row], columns=df.columns), text], ignore_index=True)
    return text.to_csv(index=False, lineterminator="\n")


def to_json(df: pd.DataFrame) -> str:
    recs = []
    for row in to_text_frame(df).to_dict(orient="records"):
        rec = {}
        for c, v in row.items():
            src = df[c]
            if v == "":
                rec[c] = None
            elif src.dtype == bool:
                rec[c] = v == "true"
            elif pd.api.types.is_numeric_dtype(src):
                f = float(v)
                rec[c] = int(f) if f.is_integer() else f
            else:
                rec[c] = v
        recs.append(rec)
    return json.dumps(recs, ensure_ascii=False)


def write_with_schema(df: pd.DataFrame, path: Path, *, hxl: bool) -> Path:
    """Write ``path`` (CSV) and ``<stem>.schema.json`` beside it; returns the schema's path."""
    path.write_text(to_csv(df, hxl=hxl), encoding="utf-8")
    schema = table_schema(list(df.columns), group=_single(df, "population_group"),
                          unit=_single(df, "unit"))
    if hxl:
        schema["dialect"] = {"headerRows": [1], "commentRows": [2]}
    spath = path.with_name(path.stem + ".schema.json")
    spath.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return spath
