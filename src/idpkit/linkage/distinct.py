"""Register columns worked on once per distinct value, then taken back to every record.

Why: a register column of a million rows has a few thousand (or a few hundred thousand) distinct
values, and pandas string methods on object columns run per row in Python. Every text clean-up of
:mod:`idpkit.linkage` factorizes the column, cleans the distinct values (as Arrow strings, whose
methods run in C++), and takes the result back by code.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ARROW_TEXT = "string[pyarrow]"
"""Text dtype for the clean-ups: Arrow compute kernels instead of a Python loop per value."""


def distinct(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """``(codes, uniques)`` of a column; code -1 is a missing value."""
    codes, uniques = pd.factorize(values.reset_index(drop=True), use_na_sentinel=True)
    return codes, pd.Series(uniques)


def take(codes: np.ndarray, per_unique: pd.Series | pd.DataFrame, index: pd.Index):
    """Values per record from values per distinct value (missing for code -1); a Series comes
    back as object with None for missing."""
    if isinstance(per_unique, pd.DataFrame):
        frame = pd.concat([per_unique, per_unique.iloc[:0].reindex([len(per_unique)])])
        out = frame.iloc[np.where(codes >= 0, codes, len(per_unique))]
        out.index = index
        return out
    arr = np.append(per_unique.astype(object).where(per_unique.notna(), None)
                    .to_numpy(dtype=object), None)
    return pd.Series(arr[np.where(codes >= 0, codes, len(per_unique))], index=index,
                     dtype=object)


def trimmed(values: pd.Series) -> pd.Series:
    """Distinct values as trimmed Arrow text, empty text as missing (any input dtype)."""
    s = values.astype(ARROW_TEXT).str.strip()
    return s.where(s.str.len() > 0)


def trimmed_text(values: pd.Series) -> pd.Series:
    """A column as trimmed text (object, None for missing or empty), computed per distinct
    value."""
    codes, uniques = distinct(values)
    return take(codes, trimmed(uniques), values.index)
