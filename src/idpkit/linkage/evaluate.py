"""Accuracy you can show: precision, recall and F1 against a generated register's ground truth,
pairwise and per cluster, across thresholds, and the threshold they point to.

Why on a generated register: a real register has no ground truth. The generator
(:mod:`idpkit.testing.demo_register`) writes known duplicates with the errors registration
clerks make, so the curves say how the model behaves on that kind of data; one training and one
prediction serve every threshold (``deduplicate(..., sweep=...)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from idpkit.linkage.dedup import (DEFAULT_THRESHOLD, cluster_metrics, deduplicate,
                                  pairwise_metrics, prepare)

THRESHOLDS = [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.97, 0.99]


@dataclass
class Curve:
    rows: pd.DataFrame  # threshold, pair_precision, pair_recall, pair_f1, cluster_...
    best: float  # the threshold with the best pairwise F1 (ties: the higher threshold)
    records: int
    default: float = DEFAULT_THRESHOLD


def threshold_curve(records: int = 10_000, *, seed: int = 7, hardest: bool = True,
                    thresholds: list[float] | None = None) -> Curve:
    """Deduplicate a generated register once and score the clusters at every threshold."""
    from idpkit.testing.demo_register import generate_register

    ts = sorted(set(thresholds or THRESHOLDS))
    reg = generate_register(records, seed=seed, hardest=hardest)
    frame = prepare(reg.records, phone_region="SD")
    res = deduplicate(frame, threshold=ts[-1], sweep=ts)
    truth = reg.truth.set_index("record_id").person_id
    rows = []
    for t in ts:
        c = res.by_threshold[t].set_index("unique_id").cluster_id.loc[frame.unique_id]
        tr = truth.loc[frame.unique_id]
        pw, cl = pairwise_metrics(c, tr), cluster_metrics(c, tr)
        rows.append({"threshold": t, **{f"pair_{k}": pw[k] for k in ("precision", "recall", "f1")},
                     **{f"cluster_{k}": cl[k] for k in ("precision", "recall", "f1")}})
    df = pd.DataFrame(rows)
    best = float(df.sort_values(["pair_f1", "threshold"], ascending=False).threshold.iloc[0])
    return Curve(df, best, len(frame))
