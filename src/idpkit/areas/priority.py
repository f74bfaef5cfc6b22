"""Priority ranking of areas, and how much it depends on the weights chosen.

Why the stability check: any ranking by a weighted score is only as good as its weights, and
weights are a judgement. Showing how the ranking moves under other reasonable weights (each weight
halved and doubled, each criterion left out, all equal) tells a planner whether "area X is the top
priority" is a finding or an artefact: Spearman's and Kendall's rank correlations with the chosen
ranking, and how many of its top 10 stay in the top 10.

Criteria per area (from the stored needs results, so any needs source works):

``severity``   inter-sectoral area phase of the worst-off group (1-5);
``pin``        people in need (inter-sectoral), all groups;
``pin_share``  people in need ÷ population assessed;
``unmet``      people in need not reached by any activity (needs 4W data; 0 otherwise); reach
               reported in sub-areas counts in the area of the needs results.

Each criterion is scaled to 0-1 across the ranked areas (min-max; a constant criterion scores 0),
the score is the weighted sum, and ties share the best rank. The table is small (one row per area),
so this runs in pandas on the aggregated results.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from scipy.stats import kendalltau, spearmanr

from idpkit.errors import IdpkitError

DEFAULT_WEIGHTS: dict[str, float] = {"severity": 0.4, "pin": 0.3, "pin_share": 0.2, "unmet": 0.1}
TOP = 10


@dataclass
class Ranking:
    table: pd.DataFrame  # area_pcode, criteria, score, rank
    stability: pd.DataFrame  # one row per alternative weight set
    weights: dict[str, float]


def parse_weights(text: str | None) -> dict[str, float]:
    """``"severity=0.5,pin=0.5"`` -> weights (criteria not named get 0)."""
    if not text:
        return dict(DEFAULT_WEIGHTS)
    out = dict.fromkeys(DEFAULT_WEIGHTS, 0.0)
    for part in text.split(","):
        name, _, value = part.partition("=")
        name = name.strip()
        if name not in DEFAULT_WEIGHTS:
            raise IdpkitError(f"unknown criterion {name!r}; use {', '.join(DEFAULT_WEIGHTS)}")
        try:
            out[name] = float(value)
        except ValueError:
            raise IdpkitError(f"weight of {name!r} is not a number: {value!r}") from None
    if any(v < 0 for v in out.values()) or not sum(out.values()):
        raise IdpkitError("weights must be non-negative and not all zero")
    return out


def scores(criteria: pd.DataFrame, weights: dict[str, float]) -> pd.DataFrame:
    """Score and rank (1 = highest priority; ties share the best rank; then by P-code)."""
    out = criteria.copy()
    total = sum(weights.values())
    score = np.zeros(len(out))
    for name, w in weights.items():
        x = out[name].astype(float).fillna(0.0).to_numpy()
        span = x.max() - x.min() if len(x) else 0.0
        scaled = (x - x.min()) / span if span > 0 else np.zeros_like(x)
        score += (w / total) * scaled
    out["score"] = np.round(score, 12)
    out["rank"] = out["score"].rank(method="min", ascending=False).astype(int)
    return out.sort_values(["rank", "area_pcode"]).reset_index(drop=True)


def alternatives(weights: dict[str, float]) -> dict[str, dict[str, float]]:
    """Other reasonable weight sets: each weight halved and doubled, each criterion left out
    (when others remain), and equal weights."""
    alts: dict[str, dict[str, float]] = {}
    used = [k for k, v in weights.items() if v > 0]
    for k in used:
        for f, label in ((0.5, "halved"), (2.0, "doubled")):
            alts[f"{k} {label}"] = {**weights, k: weights[k] * f}
        if len(used) > 1:
            alts[f"without {k}"] = {**weights, k: 0.0}
    alts["equal weights"] = dict.fromkeys(weights, 1.0)
    return alts


def stability(criteria: pd.DataFrame, weights: dict[str, float], top: int = TOP
              ) -> pd.DataFrame:
    base = scores(criteria, weights).set_index("area_pcode")
    top_base = set(base.index[base["rank"] <= top])
    rows = []
    for name, alt in alternatives(weights).items():
        other = scores(criteria, alt).set_index("area_pcode").reindex(base.index)
        if len(base) > 1:
            rho = spearmanr(base["rank"], other["rank"]).statistic
            tau = kendalltau(base["rank"], other["rank"]).statistic
        else:
            rho = tau = np.nan
        top_other = set(other.index[other["rank"] <= top])
        rows.append({"weights": name, "spearman": float(rho), "kendall": float(tau),
                     "top_kept": len(top_base & top_other), "top_size": len(top_base),
                     "top_area": other["rank"].idxmin()})
    return pd.DataFrame(rows)


def criteria_frame(wh, source_id: str | None = None, *, level: int | None = None,
                   start: date | None = None, end: date | None = None) -> pd.DataFrame:
    """The criteria of every area of the stored needs results (``need_severity``, ``need_pin``)
    and, when 4W data exist, reach (see :mod:`idpkit.areas.activities`; only activities running
    in ``start``-``end`` when given)."""
    from idpkit.areas.needs import load_source
    from idpkit.areas.rules import INTERSECTORAL

    src = load_source(wh, source_id)
    sev = wh.table("need_severity")
    pin = wh.table("need_pin")
    sev = sev.filter((sev.source_id == src.source_id) & (sev.sector == INTERSECTORAL))
    pin = pin.filter((pin.source_id == src.source_id) & (pin.sector == INTERSECTORAL))
    if level is not None:
        sev, pin = sev.filter(sev.admin_level == level), pin.filter(pin.admin_level == level)
    s = sev.group_by("area_pcode").aggregate(severity=sev.phase.max())
    p = pin.group_by("area_pcode").aggregate(pin=pin.people_in_need.sum(),
                                             population=pin.population.sum(),
                                             admin_level=pin.admin_level.max())
    df = s.inner_join(p, "area_pcode").execute()
    if df.empty:
        raise IdpkitError(f"no stored needs results for {src.source_id!r}: run `idpkit areas "
                          "needs severity` first")
    df["pin_share"] = df.pin / df.population.where(df.population > 0)
    df["unmet"] = df["pin"]
    from idpkit.areas.activities import has_activities

    if has_activities(wh):
        df = df.merge(reach_at_need_levels(wh, df, start=start, end=end), on="area_pcode",
                      how="left")
        df["unmet"] = (df.pin - df.unique_reached.fillna(0)).clip(lower=0)
        df = df.drop(columns="unique_reached")
    return df[["area_pcode", "severity", "pin", "pin_share", "unmet", "population"]]


def reach_at_need_levels(wh, needs: pd.DataFrame, *, start: date | None = None,
                         end: date | None = None) -> pd.DataFrame:
    """Unique people reached per area of ``needs`` (``area_pcode``, ``admin_level``), all groups.

    Why roll up: partners often report at a finer level (a village) than the needs were assessed
    at (a district); reach read at its own P-codes would then miss the needs' areas and ``unmet``
    would be too high. Reach is rolled up to each admin level the needs results hold (a handful
    of levels, one query each); areas with no known level are matched on their own P-code."""
    from idpkit.areas.activities import reach_by_area

    frames = []
    levels = needs.admin_level.dropna().astype(int).unique().tolist()
    for level in [*sorted(levels), None]:
        areas = needs.area_pcode[needs.admin_level.isna() if level is None
                                 else needs.admin_level == level]
        if not len(areas):
            continue
        r = reach_by_area(wh, level=level, start=start, end=end)
        frames.append(r[r.area_pcode.isin(areas)].groupby(
            "area_pcode", as_index=False).unique_reached.sum())
    if not frames:
        return pd.DataFrame({"area_pcode": pd.Series([], dtype=object),
                             "unique_reached": pd.Series([], dtype=float)})
    return pd.concat(frames, ignore_index=True)


def rank_areas(wh, source_id: str | None = None, weights: dict[str, float] | None = None, *,
               level: int | None = None, top: int = TOP, start: date | None = None,
               end: date | None = None) -> Ranking:
    w = weights or dict(DEFAULT_WEIGHTS)
    crit = criteria_frame(wh, source_id, level=level, start=start, end=end)
    return Ranking(scores(crit, w), stability(crit, w, top), w)
