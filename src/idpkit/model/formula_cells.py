"""The one rule for text a spreadsheet would run as a formula, and its neutraliser.

Why one rule: the ingest-time ``formula-injection`` finding and every tabular output (CSV, HXL,
XLSX; CLI, API, release) must agree on what is dangerous, or a value the import passed silently
becomes a live ``=HYPERLINK(…)`` cell in a published workbook. The rule follows OWASP's
CSV-injection guidance: a text cell is dangerous when it starts with ``=``, ``+``, ``-``, ``@``
(or their full-width forms ``＝＋－＠``, which some spreadsheets fold to ASCII), possibly after
blanks, or when it starts with a tab or a carriage return. A plain number (``-12``, ``-1.5``,
``+3e5``) is never dangerous: it is what a spreadsheet would store anyway.

The patterns are written for every engine idpkit runs them on (Python's ``re``, DuckDB's RE2,
PostgreSQL): blanks are spelled out, never ``\\s``, whose meaning differs between engines.
Neutralising prefixes a single quote, which spreadsheets show as text and never evaluate.
"""

from __future__ import annotations

import pandas as pd

#: Text that starts like a formula: a sign or ``@`` (ASCII or full-width) after optional blanks,
#: or a leading tab / carriage return.
TRIGGER = "^[ \t\n\r\x0b\x0c]*[-=+@\uff1d\uff0b\uff0d\uff20]|^[\t\r]"
#: A plain decimal number, optionally signed, with optional exponent and surrounding spaces.
PLAIN_NUMBER = r"^ *[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)? *$"
#: What a neutralised cell starts with.
QUOTE = "'"


def formula_like_values(values: pd.Series) -> pd.Series:
    """True where a text value would run as a formula (see the module's rule); False for
    missing values and non-text values (numbers, dates)."""
    text = values.map(lambda v: v if isinstance(v, str) else None)  # only on distinct values
    as_str = text.fillna("")
    hit = as_str.str.contains(TRIGGER, regex=True) & ~as_str.str.match(PLAIN_NUMBER)
    return hit & text.notna()


def neutralise_series(s: pd.Series) -> pd.Series:
    """``s`` with every formula-like text value prefixed by a single quote; other values (numbers,
    plain-number text, missing) unchanged. Works on the distinct values, then maps back: a column
    of a million rows holds a few thousand names."""
    if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s) \
            or pd.api.types.is_datetime64_any_dtype(s) or s.empty:
        return s
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    distinct = pd.Series(uniques, dtype=object)
    hit = formula_like_values(distinct)
    if not hit.any():
        return s
    fixed = distinct.where(~hit, QUOTE + distinct.astype(str))
    out = pd.Series(fixed.to_numpy(dtype=object)[codes], index=s.index, name=s.name, dtype=object)
    return out.where(codes >= 0, s)


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` safe to open in a spreadsheet: text columns and column names neutralised,
    number columns untouched (a number is never a formula)."""
    out = pd.DataFrame({i: neutralise_series(df.iloc[:, i]) for i in range(df.shape[1])},
                       index=df.index)
    names = pd.Series([str(c) for c in df.columns], dtype=object)
    safe = neutralise_series(names)
    out.columns = [s if h else c for c, s, h in zip(df.columns, safe, formula_like_values(names))]
    return out
