"""A deduplication run over the protected register, with the clerks' decisions applied.

Why decisions are applied after clustering, as edges: a clerk's *non-match* must hold even when
the model scores the pair 0.99 on the next run, and a *match* must hold even when one record's
phone changes. So clusters are the connected components of (model pairs at or above the threshold
− pairs decided non-match + pairs decided match). A non-match decision separates two records only
as a direct edge; if a chain of other confident pairs still joins them, they stay in one cluster
and the pair is listed in ``conflicts`` for review.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from idpkit.linkage.dedup import (DEFAULT_THRESHOLD, REVIEW_BAND, _components,
                                  _no_shared_registration, deduplicate, household_clusters)
from idpkit.linkage.events import registration_events
from idpkit.linkage.model import MODEL_COLUMNS
from idpkit.linkage.protect import pseudonym_key, pseudonymise
from idpkit.linkage.register import PROTECTED_TABLES, UNITS, RegisterError, _age_group, _append, \
    _audit, as_registered, prepare_by_region
from idpkit.warehouse.warehouse import Warehouse


@dataclass
class RunSummary:
    records: int
    person_clusters: int
    household_registrations: int
    household_clusters: int
    review_queue: int
    threshold: float


def _decisions(prot: Warehouse) -> pd.DataFrame:
    """The latest decision per pair (a clerk may correct an earlier one)."""
    d = prot.table("reg_decisions").execute()
    if d.empty:
        return d
    d["a"] = d[["record_l", "record_r"]].min(axis=1)
    d["b"] = d[["record_l", "record_r"]].max(axis=1)
    return d.sort_values("decided_at").groupby(["a", "b"], as_index=False).last()


ENGINES = ("duckdb", "postgres")


def splink_api(engine: str, protected_target: str) -> Any:
    """Splink's database API for ``engine``. Splink's tables hold the personal fields, so on
    PostgreSQL they go to the protected register's own database (schema ``splink``), never to
    the warehouse or any other server."""
    if engine == "duckdb":
        return None
    if engine != "postgres":
        raise RegisterError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
    if not protected_target.startswith(("postgresql://", "postgres://")):
        raise RegisterError(
            "--engine postgres runs Splink in the protected register's database, which is not "
            f"PostgreSQL here ({protected_target}); set IDPKIT_REGISTER_DB to a postgresql:// URL")
    from idpkit.linkage.postgres import postgres_db_api

    return postgres_db_api(protected_target.replace("postgres://", "postgresql://", 1))


def model_frame(people: pd.DataFrame) -> pd.DataFrame:
    """The model's columns for ``reg_people`` rows, prepared afresh from the records as written
    (so every run uses the current normalisation and model columns, whatever version imported
    them), keyed by registration event: two records of one event are two people, and a family
    registered again in a later round under the same household id is a different event."""
    records = as_registered(people)
    if "registration_event" not in records or records.registration_event.isna().all():
        records["registration_event"] = registration_events(records)  # imported before events
    frame = prepare_by_region(records)
    frame["household_key"] = records.registration_event.astype(str).values
    return frame


class _Stages(dict):
    """``deduplicate``'s ``timings`` dict, turned into progress: it records each phase when the
    phase ends, so the end of ``setup`` starts training and the end of ``train`` scoring."""

    NEXT = {"setup": "training", "train": "scoring"}

    def __init__(self, step: Callable[[str], None]) -> None:
        super().__init__()
        self._step = step

    def __setitem__(self, key: str, value: float) -> None:
        super().__setitem__(key, value)
        if key in self.NEXT:
            self._step(self.NEXT[key])


def best_links(edges: pd.DataFrame) -> pd.DataFrame:
    """Per record, the best link that joined it to its cluster: the other record, the match
    probability, and ``model`` or ``decision`` (a clerk's match, stored with probability 2)."""
    both = pd.concat([edges[["a", "b", "match_probability"]],
                      edges[["b", "a", "match_probability"]].set_axis(
                          ["a", "b", "match_probability"], axis=1)])
    best = both.sort_values("match_probability", ascending=False, kind="stable") \
        .drop_duplicates("a")
    by_clerk = best.match_probability > 1
    return pd.DataFrame({"record_id": best.a.values, "linked_record": best.b.values,
                         "link_probability": best.match_probability.where(~by_clerk).values,
                         "link_source": np.where(by_clerk, "decision", "model")})


def run(wh: Warehouse, prot: Warehouse, *, threshold: float = DEFAULT_THRESHOLD,
        review_band: tuple[float, float] = REVIEW_BAND, seed: int = 1,
        max_pairs: float = 2e6, db_api: Any = None,
        progress: Callable[[str], None] | None = None) -> RunSummary:
    """Deduplicate the whole register; store pairs, clusters and the review queue. ``db_api``:
    where Splink's SQL runs (default an in-memory DuckDB; see :func:`splink_api`).
    ``progress`` is told each stage as it starts: preparing, training, scoring, clustering."""
    if "reg_people" not in prot.con.list_tables():
        raise RegisterError("the register is empty: import registrations first "
                            "(idpkit register import FILE)")
    step = progress or (lambda stage: None)
    step("preparing")
    people = prot.table("reg_people").execute()
    if people.empty:  # every row of every import was quarantined: nothing to deduplicate
        return RunSummary(0, 0, 0, 0, 0, threshold)
    frame = model_frame(people)
    res = deduplicate(frame[MODEL_COLUMNS], threshold=threshold, seed=seed, max_pairs=max_pairs,
                      pair_floor=min(review_band[0], threshold), db_api=db_api,
                      timings=_Stages(step))
    step("clustering")
    pairs = res.pairs.copy()
    pairs["a"] = pairs[["unique_id_l", "unique_id_r"]].min(axis=1)
    pairs["b"] = pairs[["unique_id_l", "unique_id_r"]].max(axis=1)
    dec = _decisions(prot)
    decided = pairs.merge(dec[["a", "b", "decision"]], on=["a", "b"], how="left") \
        if not dec.empty else pairs.assign(decision=None)
    # the model's links (household-aware, see dedup.deduplicate) minus clerks' non-matches,
    # plus their matches; a decided match outranks any score
    keep = decided.linked & (decided.decision != "non-match")
    edges = decided.loc[keep, ["a", "b", "match_probability"]]
    if not dec.empty:
        edges = pd.concat([dec.loc[dec.decision == "match", ["a", "b"]].assign(
            match_probability=2.0), edges])
    edges = edges.sort_values("match_probability", ascending=False, kind="stable")
    hh = pd.Series(frame.household_key.values, index=people.record_id.values)
    edges = _no_shared_registration(edges.reset_index(drop=True), hh)
    comp = _components(people.record_id, edges.a, edges.b).rename(
        columns={"household_key": "record_id", "household_cluster": "root"})
    people = people.merge(comp, on="record_id").merge(best_links(edges), on="record_id",
                                                      how="left")
    people["cluster_id"] = pseudonymise(people.root, pseudonym_key(), prefix="c")
    queue = decided[(decided.match_probability >= review_band[0]) &
                    (decided.match_probability < review_band[1]) & decided.decision.isna()]
    stored_pairs = decided[["a", "b", "match_probability", "decision"]].rename(
        columns={"a": "record_l", "b": "record_r"})
    stored_pairs["in_review_queue"] = stored_pairs.index.isin(queue.index)
    stored_pairs["linked"] = decided.linked.fillna(False).astype(bool).values
    _replace(prot, "reg_pairs", stored_pairs)
    _replace(prot, "reg_model", pd.DataFrame([{
        "model": json.dumps(res.model), "threshold": threshold,
        "trained_at": datetime.now(timezone.utc).replace(tzinfo=None)}]))
    people["registration_event"] = frame.household_key.values
    summary = _store(wh, prot, people, threshold, len(queue))
    _audit(prot, "dedup run", f"{summary}")
    return summary


def _store(wh: Warehouse, prot: Warehouse, people: pd.DataFrame, threshold: float,
           queue: int) -> RunSummary:
    """Household clusters from person clusters; clusters to the protected store, pseudonymised
    units to the warehouse."""
    hh = household_clusters(people[["household_key", "cluster_id"]])
    hh["household_cluster"] = pseudonymise(hh.household_cluster, pseudonym_key(), prefix="g")
    people = people.merge(hh, on="household_key")
    for c, kind in (("linked_record", object), ("link_probability", float),
                    ("link_source", object)):
        if c not in people.columns:
            people[c] = pd.Series(None, index=people.index, dtype=kind)
    _replace(prot, "reg_clusters", people[["record_id", "cluster_id", "household_cluster",
                                           *CLUSTER_LINK_COLUMNS]])
    units = pd.DataFrame({
        "person_key": people.person_key, "household_key": people.household_key,
        "person_cluster": people.cluster_id, "household_cluster": people.household_cluster,
        "area_pcode": people.area_pcode, "site_id": people.site_id, "sex": people.sex,
        "age_group": _age_group(people.age), "organisation": people.organisation,
        "registration_date": pd.to_datetime(people.registration_date, errors="coerce").dt.date})
    wh.ensure_tables({"register_units": UNITS})
    _replace(wh, "register_units", units, schema=UNITS)
    events = people.registration_event if "registration_event" in people else \
        people.household_key
    return RunSummary(len(people), people.cluster_id.nunique(), events.nunique(),
                      people.household_cluster.nunique(), queue, threshold)


def link_new_records(wh: Warehouse, prot: Warehouse, *,
                     review_band: tuple[float, float] = REVIEW_BAND) -> RunSummary:
    """Link records imported since the last run against the register with the saved model."""
    from idpkit.linkage.incremental import link_new

    tables = set(prot.con.list_tables())
    if not {"reg_model", "reg_clusters"} <= tables:
        raise RegisterError("no trained model yet: run `idpkit dedup run` once on the register")
    people = prot.table("reg_people").execute()
    clusters = prot.table("reg_clusters").execute()
    saved = prot.table("reg_model").execute().iloc[0]
    if json.loads(saved.model) is None:
        raise RegisterError("the last run had no field to compare people on (no name, date of "
                            "birth, phone or document number with values), so there is no "
                            "model to link new records with: run `idpkit dedup run` again")
    threshold = float(saved.threshold)
    is_old = people.record_id.isin(clusters.record_id)
    if is_old.all():
        kept = [c for c in ("record_id", "cluster_id", *CLUSTER_LINK_COLUMNS)
                if c in clusters.columns]
        return _store(wh, prot, people.merge(clusters[kept]), threshold, 0)
    frame = model_frame(people)
    dec = _decisions(prot)
    comp, pairs = link_new(frame[is_old.values], frame[~is_old.values],
                           clusters.rename(columns={"record_id": "unique_id"})[
                               ["unique_id", "cluster_id"]],
                           json.loads(saved.model), threshold=threshold,
                           decisions=dec if not dec.empty else None)
    fresh = pseudonymise(comp.root, pseudonym_key(), prefix="c")
    comp["cluster_id"] = comp.cluster_id.fillna(fresh)
    people = people.merge(comp.rename(columns={"unique_id": "record_id"})[
        ["record_id", "cluster_id"]], on="record_id")
    people["registration_event"] = frame.household_key.values
    people = people.merge(_links_after_link_new(clusters, pairs, dec), on="record_id", how="left")
    queue = pairs[(pairs.match_probability >= review_band[0]) &
                  (pairs.match_probability < review_band[1])]
    new_pairs = pairs[["a", "b", "match_probability"]].rename(
        columns={"a": "record_l", "b": "record_r"}).assign(decision=None)
    new_pairs["in_review_queue"] = new_pairs.index.isin(queue.index)
    old_pairs = prot.table("reg_pairs").execute() if "reg_pairs" in tables else None
    _replace(prot, "reg_pairs", pd.concat([old_pairs, new_pairs], ignore_index=True)
             if old_pairs is not None else new_pairs)
    summary = _store(wh, prot, people, threshold, len(queue))
    _audit(prot, "dedup link-new", f"{int((~is_old).sum())} new records; {summary}")
    return summary


CLUSTER_LINK_COLUMNS = ("linked_record", "link_probability", "link_source")


def _links_after_link_new(clusters: pd.DataFrame, pairs: pd.DataFrame,
                          dec: pd.DataFrame) -> pd.DataFrame:
    """The best link per record after linking new records: a new linked pair or a clerk's
    match outranks the link an existing record had (it may now join a bigger cluster)."""
    edges = pairs.loc[pairs.linked, ["a", "b", "match_probability"]] if "linked" in pairs \
        else pairs.iloc[:0][["a", "b", "match_probability"]]
    if not dec.empty:
        edges = pd.concat([dec.loc[dec.decision == "match", ["a", "b"]].assign(
            match_probability=2.0), edges])
    fresh = best_links(edges)
    old = clusters[[c for c in ("record_id", *CLUSTER_LINK_COLUMNS) if c in clusters.columns]]
    if "linked_record" not in old.columns:
        return fresh
    old = old[old.linked_record.notna() & ~old.record_id.isin(fresh.record_id)]
    return pd.concat([fresh, old], ignore_index=True)


def _replace(wh: Warehouse, table: str, df: pd.DataFrame, *, schema=None) -> None:
    """Replace a table's rows in one transaction."""
    import pyarrow as pa

    arrow = pa.Table.from_pandas(df[list(schema.names)] if schema is not None else df,
                                 schema=schema.to_pyarrow() if schema is not None else None,
                                 preserve_index=False)
    stage = wh.backend.new_stage_name()
    wh.backend.load_arrow(stage, arrow)
    try:
        stmts = [f'DROP TABLE IF EXISTS "{table}"',
                 f'CREATE TABLE "{table}" AS SELECT * FROM "{stage}"']
        wh.execute_atomically(stmts)
    finally:
        wh.backend.drop_stages([stage])


def review_queue(prot: Warehouse, limit: int = 20) -> pd.DataFrame:
    """Uncertain pairs not yet decided, most uncertain first, with both records side by side."""
    if "reg_pairs" not in prot.con.list_tables():
        raise RegisterError("no deduplication run yet: run `idpkit dedup run` first")
    pairs = prot.table("reg_pairs")
    q = pairs.filter(pairs.in_review_queue & pairs.decision.isnull()).execute()
    dec = _decisions(prot)
    if not dec.empty:
        q = q.merge(dec[["a", "b"]], left_on=["record_l", "record_r"], right_on=["a", "b"],
                    how="left", indicator=True)
        q = q[q._merge == "left_only"].drop(columns=["a", "b", "_merge"])
    q["uncertainty"] = (q.match_probability - 0.5).abs()
    return q.sort_values("uncertainty").head(limit).drop(columns="uncertainty")


def record(prot: Warehouse, record_id: str) -> pd.Series:
    t = prot.table("reg_people")
    rows = t.filter(t.record_id == record_id).execute()
    if rows.empty:
        raise RegisterError(f"no record {record_id!r} in the register")
    return rows.iloc[0]


def decide(prot: Warehouse, record_l: str, record_r: str, decision: str, *, clerk: str | None,
           reason: str | None) -> None:
    """Store a clerk's decision (``match`` or ``non-match``) and audit it."""
    if decision not in ("match", "non-match"):
        raise RegisterError("decision must be 'match' or 'non-match'")
    record(prot, record_l), record(prot, record_r)  # both must exist
    clerk = clerk or os.environ.get("USER", "unknown")
    row = pd.DataFrame([{"record_l": min(record_l, record_r), "record_r": max(record_l, record_r),
                         "decision": decision, "clerk": clerk, "reason": reason,
                         "decided_at": datetime.now(timezone.utc).replace(tzinfo=None)}])
    _append(prot, "reg_decisions", row, schema=PROTECTED_TABLES["reg_decisions"])
    _audit(prot, f"decision {decision}", f"{record_l} ~ {record_r}: {reason or ''}", actor=clerk)
