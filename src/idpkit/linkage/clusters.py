"""The people found by deduplication, as a table: one row per record with its person id.

Why an export: the one-line run summary says how many people there are, but a protection
officer planning distributions, or correcting a case file, needs to know *which* records are one
person, how big each cluster is, and why a record was put there (the pair that linked it, or a
clerk's decision) so a doubtful link can be checked. It reads the protected store only (record
ids are protected: they are what the pseudonyms hide), so it belongs to the protected role like
``dedup review``; nothing here writes to the warehouse or to public outputs.
"""

from __future__ import annotations

import pandas as pd

from idpkit.linkage.register import RegisterError
from idpkit.warehouse.warehouse import Warehouse

CLUSTER_COLUMNS = ["record_id", "person_id", "cluster_size", "household_cluster",
                   "linked_record", "link_probability", "link_source"]
"""``link_source``: ``model`` (the best-scored pair that linked the record), ``decision`` (a
clerk's match; no probability) or empty for a record that is a person on its own."""


def cluster_table(prot: Warehouse) -> pd.DataFrame:
    """:data:`CLUSTER_COLUMNS` for every record of the last run, biggest clusters first."""
    if "reg_clusters" not in prot.con.list_tables():
        raise RegisterError("no deduplication run yet: run `idpkit dedup run` first")
    c = prot.table("reg_clusters").execute()
    for col in ("linked_record", "link_probability", "link_source"):
        if col not in c.columns:  # clusters stored before links were kept
            c[col] = None
    c = c.rename(columns={"cluster_id": "person_id"})
    c["cluster_size"] = c.groupby("person_id").record_id.transform("size").astype("int64")
    c.loc[c.cluster_size == 1, ["linked_record", "link_probability", "link_source"]] = None
    c["link_probability"] = pd.to_numeric(c.link_probability, errors="coerce").round(6)
    c = c.sort_values(["cluster_size", "person_id", "record_id"],
                      ascending=[False, True, True], kind="stable")
    return c[CLUSTER_COLUMNS].reset_index(drop=True)
