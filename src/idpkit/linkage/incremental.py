"""Link new registrations against the existing register, without re-running everything.

Why: a register of a million people is deduplicated once; afterwards each week's registrations
(a few thousand) must be checked against it quickly, with the model already trained. The saved
Splink model scores new-to-existing and new-to-new pairs only; existing clusters are kept as
they are (a new record can join a cluster, or bridge two, never split one), and the same household
logic applies: registrations linked by a confident member have all their member pairs scored,
members are matched one to one, and two members of one registration never become one person.
"""

from __future__ import annotations

import json
import logging

import pandas as pd

from idpkit.linkage.dedup import (P_ASSIGN, _components, _household_blocks, _no_shared_registration,
                                  _ordered, _resolve, default_db_api, household_odds)
from idpkit.linkage.model import MODEL_COLUMNS


def link_new(existing: pd.DataFrame, new: pd.DataFrame, clusters: pd.DataFrame, model: dict, *,
             threshold: float, decisions: pd.DataFrame | None = None) -> tuple[pd.DataFrame,
                                                                               pd.DataFrame]:
    """Cluster ids for ``existing`` + ``new`` records (model frames with ``unique_id`` and
    ``household_key``) given the existing ``clusters`` (unique_id, cluster_id). Returns
    (clusters of all records: unique_id, cluster_id or None for new singletons to be named,
    scored pairs: a, b, match_probability, linked)."""
    from splink import Linker, block_on

    logging.getLogger("splink").setLevel(logging.WARNING)
    db_api = default_db_api()
    old_t = db_api.register(existing[MODEL_COLUMNS].reset_index(drop=True))
    new_t = db_api.register(new[MODEL_COLUMNS].reset_index(drop=True))
    linker = Linker(old_t, model)
    for col in ("first_norm", "father_norm"):
        linker.table_management.compute_tf_table(col)
    floor = P_ASSIGN
    parts = [
        linker.inference.predict_between(new_t, old_t, link_type="link_only",
                                         threshold_match_probability=floor),
        linker.inference.predict_within(new_t, threshold_match_probability=floor),
    ]
    frames = [p.as_pandas_dataframe()[["unique_id_l", "unique_id_r", "match_probability"]]
              for p in parts]
    allrec = pd.concat([existing, new], ignore_index=True)
    hh = pd.Series(allrec.household_key.values, index=allrec.unique_id.values)
    first = pd.concat(frames, ignore_index=True)
    blocks = _household_blocks(first, hh, threshold)
    if blocks is not None:
        blocked_new = db_api.register(new[MODEL_COLUMNS].assign(
            hh_block=new.unique_id.map(blocks).values).reset_index(drop=True))
        blocked_old = db_api.register(existing[MODEL_COLUMNS].assign(
            hh_block=existing.unique_id.map(blocks).values).reset_index(drop=True))
        rule = [block_on("hh_block")]
        more = [linker.inference.predict_between(blocked_new, blocked_old, link_type="link_only",
                                                 blocking_rules_to_generate_predictions=rule),
                linker.inference.predict_within(blocked_new,
                                                blocking_rules_to_generate_predictions=rule)]
        first = pd.concat([first] + [m.as_pandas_dataframe()[
            ["unique_id_l", "unique_id_r", "match_probability"]] for m in more])
    pairs = _ordered(first, hh)
    linked = _resolve(pairs, allrec.groupby("household_key").size(), threshold,
                      household_odds(model.get("probability_two_random_records_match", 0.0),
                                     len(allrec)))
    pairs["linked"] = pairs.index.isin(linked.index)
    edges = linked[["a", "b", "match_probability"]]
    # existing clusters stay whole: chain each cluster's records with fixed edges
    c = clusters.sort_values("unique_id")
    firsts = c.groupby("cluster_id").unique_id.transform("first")
    keep = [edges, pd.DataFrame({"a": firsts.values, "b": c.unique_id.values,
                                 "match_probability": 3.0})[lambda d: d.a != d.b]]
    if decisions is not None and not decisions.empty:
        keep.insert(0, decisions.loc[decisions.decision == "match", ["a", "b"]].assign(
            match_probability=4.0))
        nonmatch = set(zip(decisions.a[decisions.decision == "non-match"],
                           decisions.b[decisions.decision == "non-match"]))
        keep[-2] = keep[-2][[(x, y) not in nonmatch for x, y in zip(keep[-2].a, keep[-2].b)]]
    edges = pd.concat(keep).sort_values("match_probability", ascending=False, kind="stable")
    edges = _no_shared_registration(edges.reset_index(drop=True), hh)
    comp = _components(allrec.unique_id, edges.a, edges.b)
    comp.columns = ["unique_id", "root"]
    old_id = dict(zip(clusters.unique_id, clusters.cluster_id, strict=True))
    comp["old"] = comp.unique_id.map(old_id)
    named = comp.dropna(subset=["old"]).groupby("root").old.min()
    comp["cluster_id"] = comp.root.map(named)
    return comp[["unique_id", "cluster_id", "root"]], pairs


def model_json(model: dict) -> str:
    return json.dumps(model)
