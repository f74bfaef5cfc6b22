"""Publication rules for public figure tables: IDMC-style rounding and small-cell suppression.

Why: published displacement figures are estimates; rounding them says so, and stops readers from
differencing two tables to recover a handful of identifiable people. Suppression hides cells small
enough to point at individual households. Authorised users keep the unrounded numbers
(``--public`` is a choice at output time; the warehouse never stores rounded values).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DEFAULT_SUPPRESS_BELOW = 5
"""Cells with 0 < value < this are suppressed in public tables (configurable)."""


def idmc_round(values: pd.Series | np.ndarray) -> np.ndarray:
    """Round like IDMC's Global Report: up to 100 exact; up to 1,000 to the nearest 10; below
    10,000 to the nearest 100; otherwise to the nearest 1,000. Halves go to the even neighbour
    (banker's rounding, as numpy does). Missing stays missing; signs are kept.

    A true 0 stays 0 (it used to become missing): "assessed, nobody displaced" is a finding,
    and a public table or the dashboard must not show it as "not assessed" (issue 21 item 5)."""
    v = np.asarray(values, dtype="float64")
    a = np.abs(v)
    step = np.select([a <= 100, a <= 1000, a < 10000], [1.0, 10.0, 100.0], default=1000.0)
    out = np.sign(v) * np.round(a / step) * step
    out[np.isnan(v)] = np.nan
    return out


def apply_publication_rules(df: pd.DataFrame, columns: tuple[str, ...] = ("value",),
                            suppress_below: int = DEFAULT_SUPPRESS_BELOW) -> pd.DataFrame:
    """A public copy of a figure table: small cells suppressed (``suppressed = true``, value empty),
    then every number column rounded. ``range_min``/``range_max`` follow the same rules."""
    out = df.copy()
    main = out[columns[0]].astype("float64")
    small = (main.abs() > 0) & (main.abs() < suppress_below)
    for c in columns:
        if c not in out.columns:
            continue
        v = out[c].astype("float64")
        v = v.mask((v.abs() > 0) & (v.abs() < suppress_below))
        out[c] = idmc_round(v)
    out["suppressed"] = small.to_numpy()
    return out
