"""Deduplicate a register: individuals with Splink, then households from their members.

``prepare`` turns a register (one row per person) into the model's columns; ``deduplicate`` trains
the model without labels, predicts candidate pairs, and clusters them at a threshold;
``household_clusters`` links two household registrations when enough of their members are the same
people; ``pairwise_metrics`` scores clusters against a ground truth.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from idpkit.linkage.normalise import clean_id, dates_column, names_column, phones_column

DEFAULT_THRESHOLD = 0.9
REVIEW_BAND = (0.5, 0.97)
"""Pairs scored in this band go to the review queue: the model is unsure either way."""


def prepare(records: pd.DataFrame, *, phone_region: str | None = None,
            id_column: str = "record_id") -> pd.DataFrame:
    """The model's columns (see :data:`idpkit.linkage.model.MODEL_COLUMNS`) from a register."""
    out = pd.DataFrame({"unique_id": records[id_column].astype(str).values})
    for src, name in (("first_name", "first"), ("father_name", "father"),
                      ("family_name", "family")):
        col = records[src] if src in records else pd.Series([None] * len(records))
        norm, skel = names_column(col.astype("object").where(col.notna(), None))
        out[f"{name}_norm"] = norm.values
        out[f"{name}_skel"] = skel.values
    sex = records.get("sex", pd.Series([None] * len(records))).astype("string").str.upper()
    out["sex"] = sex.str[:1].where(sex.str[:1].isin(["M", "F"])).astype("object").values
    dob = dates_column(records["date_of_birth"]) if "date_of_birth" in records else \
        pd.DataFrame({"dob": [None] * len(records)})
    out["dob"] = dob["dob"].astype("string").values
    for c in ("dob_year", "dob_month", "dob_day"):
        out[c] = dob[c].values if c in dob else pd.array([pd.NA] * len(records), "Int64")
    if "dob_estimated" in records:  # a year written as 1 January is not a day and a month
        est = records["dob_estimated"].fillna(False).astype(bool).values
        out.loc[est, ["dob", "dob_month", "dob_day"]] = None
    out["phone"] = phones_column(records["phone"], phone_region).values \
        if "phone" in records else None
    out["id_number"] = clean_id(records["id_number"]).astype("object").values \
        if "id_number" in records else None
    out["area_pcode"] = records.get("area_pcode", pd.Series([None] * len(records))).values
    out["household_key"] = records.get("household_ref",
                                       pd.Series([None] * len(records))).astype(str).values
    return out


@dataclass
class DedupResult:
    clusters: pd.DataFrame  # unique_id, cluster_id
    pairs: pd.DataFrame  # unique_id_l, unique_id_r, match_probability (scored candidate pairs)
    threshold: float


def deduplicate(df: pd.DataFrame, *, threshold: float = DEFAULT_THRESHOLD, db_api=None,
                max_pairs: float = 2e6, seed: int = 1, pair_floor: float = 0.2) -> DedupResult:
    """Train, predict and cluster with Splink (DuckDB unless another ``db_api`` is given)."""
    from splink import DuckDBAPI, Linker

    from idpkit.linkage import model

    logging.getLogger("splink").setLevel(logging.WARNING)
    db_api = db_api or DuckDBAPI()
    table = db_api.register(df[model.MODEL_COLUMNS])
    linker = Linker(table, model.settings())
    model.train(linker, max_pairs=max_pairs, seed=seed)
    pred = linker.inference.predict(threshold_match_probability=pair_floor)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        pred, threshold_match_probability=threshold)
    c = clusters.as_pandas_dataframe()[["unique_id", "cluster_id"]]
    pairs = pred.as_pandas_dataframe()[["unique_id_l", "unique_id_r", "match_probability"]]
    return DedupResult(c, pairs, threshold)


def _pair_count(sizes: pd.Series) -> int:
    s = sizes.to_numpy(dtype=np.int64)
    return int((s * (s - 1) // 2).sum())


def pairwise_metrics(pred_cluster: pd.Series, true_cluster: pd.Series) -> dict[str, float]:
    """Pairwise precision, recall and F1 of a clustering against the truth (same index)."""
    df = pd.DataFrame({"p": pred_cluster.values, "t": true_cluster.values})
    predicted = _pair_count(df.groupby("p").size())
    actual = _pair_count(df.groupby("t").size())
    both = _pair_count(df.groupby(["p", "t"]).size())
    precision = both / predicted if predicted else 1.0
    recall = both / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "predicted_pairs": predicted,
            "true_pairs": actual, "correct_pairs": both}


def household_clusters(people: pd.DataFrame, *, min_share: float = 0.5) -> pd.DataFrame:
    """Household registrations that are one household: ``people`` has ``household_key`` and
    ``cluster_id`` (person clusters). Two registrations are linked when the people they share
    make up at least ``min_share`` of the smaller one; linked registrations form a household
    cluster (connected components). Returns household_key, household_cluster."""
    size = people.groupby("household_key").size().rename("size")
    pc = people[["household_key", "cluster_id"]].drop_duplicates()
    j = pc.merge(pc, on="cluster_id", suffixes=("_a", "_b"))
    j = j[j.household_key_a < j.household_key_b]
    shared = j.groupby(["household_key_a", "household_key_b"]).size().rename("shared")
    shared = shared.reset_index()
    shared["smaller"] = np.minimum(size.loc[shared.household_key_a].values,
                                   size.loc[shared.household_key_b].values)
    links = shared[shared.shared >= min_share * shared.smaller]
    return _components(size.index.to_series(), links.household_key_a, links.household_key_b)


def _components(keys: pd.Series, a: pd.Series, b: pd.Series) -> pd.DataFrame:
    """Connected components by union-find over the (few) linked pairs."""
    parent = {k: k for k in keys}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for x, y in zip(a, b, strict=True):
        rx, ry = find(x), find(y)
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)
    return pd.DataFrame({"household_key": list(parent),
                         "household_cluster": [find(k) for k in parent]})
