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

from idpkit.linkage.distinct import distinct, take, trimmed
from idpkit.linkage.normalise import (clean_id, dates_column, names_column, phones_column,
                                      split_full_name)

DEFAULT_THRESHOLD = 0.9
REVIEW_BAND = (0.5, 0.97)
"""Pairs scored in this band go to the review queue: the model is unsure either way."""


def _clean_text(values: pd.Series) -> pd.Series:
    """Trimmed text; a number read as a float (``123.0``, an id or a phone) loses its ``.0``."""
    s = trimmed(values)
    as_float = s.str.fullmatch(r"\d+\.0").fillna(False).to_numpy(dtype=bool)
    if as_float.any():
        s = s.where(~as_float, s.str.slice(stop=-2))
    return s


def _text(records: pd.DataFrame, name: str) -> pd.Series:
    """A register column as trimmed text (object, None for empty), whatever its dtype; an absent
    column is all None. Numbers read as floats lose their ``.0`` (an id or a phone)."""
    if name not in records.columns:
        return pd.Series([None] * len(records), index=records.index, dtype=object)
    codes, uniques = distinct(records[name])
    return take(codes, _clean_text(uniques), records.index)


def _text_map(values: pd.Series, fn) -> pd.Series:
    """``fn`` (vectorised over a string Series) applied to the distinct values of ``values``."""
    codes, uniques = distinct(values)
    return take(codes, fn(uniques.astype("string[pyarrow]")), values.index)


def _dates(values: pd.Series) -> pd.DataFrame:
    codes, uniques = distinct(values)
    return take(codes, dates_column(uniques), values.index)


def _number(records: pd.DataFrame, name: str) -> pd.Series:
    if name not in records.columns:
        return pd.Series(np.nan, index=records.index)
    codes, uniques = distinct(records[name])
    num = pd.to_numeric(uniques.astype("string").str.strip(), errors="coerce").astype(float)
    return pd.Series(np.append(num.to_numpy(dtype=float), np.nan)[
        np.where(codes >= 0, codes, len(num))], index=records.index)


def _birth_year(records: pd.DataFrame, dob_year: pd.Series) -> pd.Series:
    """The year of birth, else ``year_of_birth``, else registration year minus age.

    Why: one record in five may carry an age instead of a date of birth. ``registration year -
    age`` is the birth year or the one after (the birthday may not have come yet that year);
    the model compares birth years within one year, which holds both."""
    yob = _number(records, "year_of_birth")
    reg_year = _dates(_text(records, "registration_date"))["dob_year"].astype("Float64")
    age = _number(records, "age")
    age = age.where((age >= 0) & (age < 120))
    est = pd.Series(reg_year.to_numpy(dtype=float, na_value=np.nan) - age.to_numpy(dtype=float),
                    index=records.index)
    year = pd.Series(dob_year.to_numpy(dtype=float, na_value=np.nan), index=records.index)
    year = year.fillna(yob.where(yob.between(1880, 2100))).fillna(est)
    return year.round().astype("Int64")


def _names_key(skels: pd.DataFrame) -> pd.Series:
    """The name's parts' skeletons, sorted and joined: the same for "Ali Guled Hassan" and
    "Hassan Guled Ali" (order mistakes), None below two parts (one name says too little).
    Computed once per distinct combination of parts."""
    group = skels.fillna("\uffff").groupby(list(skels.columns), sort=False).ngroup().to_numpy()
    first = pd.Series(np.arange(len(group))).groupby(group).first().sort_index().to_numpy()
    per = _names_key_rows(skels.iloc[first].reset_index(drop=True))
    return pd.Series(per.to_numpy(dtype=object)[group], index=skels.index, dtype=object)


def _names_key_rows(skels: pd.DataFrame) -> pd.Series:
    arr = skels.to_numpy(dtype=object)
    filled = pd.notna(arr)
    arr = np.where(filled, arr, "\uffff").astype(str)
    arr.sort(axis=1)
    key = pd.Series(arr[:, 0], index=skels.index, dtype=object)
    for j in range(1, arr.shape[1]):
        key = key + " " + arr[:, j]
    key = key.str.replace(" \uffff", "", regex=False).str.replace("\uffff", "", regex=False)
    return key.where(filled.sum(axis=1) >= 2, None)


NAME_PARTS = (("first_name", "first"), ("father_name", "father"),
              ("grandfather_name", "gfather"), ("family_name", "family"))


def prepare(records: pd.DataFrame, *, phone_region: str | None = None,
            id_column: str = "record_id") -> pd.DataFrame:
    """The model's columns (see :data:`idpkit.linkage.model.MODEL_COLUMNS`) from a register.

    Every register column is optional (except the id) and may be empty or of any dtype: the
    result always has every model column, None/NA where the register says nothing."""
    from idpkit.linkage.events import registration_events

    records = records.reset_index(drop=True)
    ids = _text(records, id_column)
    out = pd.DataFrame({"unique_id": ids.where(ids.notna(), pd.Series(
        records.index.astype(str), dtype=object)).to_numpy(dtype=object)})
    written = {part: _text(records, src) for src, part in NAME_PARTS}
    whole = _text(records, "full_name")
    only_whole = whole.notna() & pd.concat(written.values(), axis=1).isna().all(axis=1)
    if only_whole.any():
        split = split_full_name(whole.where(only_whole, None))
        for part, src in (("first", "first"), ("father", "father"), ("gfather", "grandfather")):
            written[part] = written[part].where(~only_whole, split[src])
    for part, values in written.items():
        norm, skel = names_column(values)
        out[f"{part}_norm"] = norm.astype(object).where(norm.notna(), None).values
        out[f"{part}_skel"] = skel.astype(object).where(skel.notna(), None).values
    out["last_skel"] = out.family_skel.where(out.family_skel.notna(), out.gfather_skel)
    out["names_key"] = _names_key(out[[f"{p}_skel" for p in written]]).values
    def sex_code(s: pd.Series) -> pd.Series:
        first = s.str.upper().str[:1]
        return first.where(first.isin(["M", "F"]).fillna(False))

    out["sex"] = _text_map(_text(records, "sex"), sex_code).values
    dob = _dates(_text(records, "date_of_birth"))
    out["dob"] = dob["dob"].astype("string").astype(object).where(dob["dob"].notna(), None).values
    for c in ("dob_year", "dob_month", "dob_day"):
        out[c] = dob[c].values
    if "dob_estimated" in records:  # a year written as 1 January is not a day and a month
        codes, flags = distinct(records["dob_estimated"])
        yes = (trimmed(flags).str.lower().isin(["true", "1", "yes", "y", "oui"])
               .fillna(False).to_numpy(dtype=bool))
        est = np.append(yes, False)[np.where(codes >= 0, codes, len(yes))]
        out.loc[est, ["dob", "dob_month", "dob_day"]] = None
    out["birth_year"] = _birth_year(records, out["dob_year"]).values
    regions = records["phone_region"] if "phone_region" in records else None
    out["phone"] = phones_column(_text(records, "phone"), phone_region, regions).values
    out["id_number"] = _text_map(_text(records, "id_number"), clean_id).values
    out["area_pcode"] = _text(records, "area_pcode").values
    def place(s: pd.Series) -> pd.Series:
        s = s.str.lower().str.replace(r"[^0-9a-z\s]", "", regex=True).str.replace(
            r"\s+", " ", regex=True).str.strip()
        return s.where(s.str.len() > 0)

    def postcode(s: pd.Series) -> pd.Series:
        s = s.str.upper().str.replace(r"[^0-9A-Z]", "", regex=True)
        return s.where(s.str.len() > 0)

    for src in ("address", "locality"):
        out[f"{src}_norm"] = _text_map(_text(records, src), place).values
    out["postcode"] = _text_map(_text(records, "postcode"), postcode).values
    if "registration_event" in records and _text(records, "registration_event").notna().any():
        event = _text(records, "registration_event")
        key = event.where(event.notna(), "~" + out.unique_id)
    else:
        with_id = records.assign(**{id_column: out.unique_id.values})
        key = registration_events(with_id, id_column=id_column)
    out["household_key"] = pd.Series(key).astype(str).values
    return out


def model_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The model columns typed for Splink: text as text (even when empty or read back from a
    store as numbers), years and months as integers; absent columns added empty."""
    from idpkit.linkage.model import MODEL_COLUMNS, TEXT_COLUMNS

    data = pd.DataFrame(index=range(len(df)))
    for c in MODEL_COLUMNS:
        values = df[c].reset_index(drop=True) if c in df.columns else \
            pd.Series([None] * len(df), dtype=object)
        if c in TEXT_COLUMNS:
            data[c] = values.astype("string")
        else:
            data[c] = pd.to_numeric(values, errors="coerce").round().astype("Int64")
    # a record without an event is an event of its own (never merged with another's members)
    data["household_key"] = data.household_key.fillna("~" + data.unique_id)
    return data


@dataclass
class DedupResult:
    clusters: pd.DataFrame  # unique_id, cluster_id
    pairs: pd.DataFrame  # unique_id_l, unique_id_r, match_probability, linked (scored pairs)
    threshold: float
    model: dict | None = None  # the trained Splink model (to link new records later)
    by_threshold: dict[float, pd.DataFrame] | None = None  # clusters per ``sweep`` threshold


P_ASSIGN = 0.003
"""Within two registrations of one household, a member pair scored at least this is the same
person (the household evidence carries the rest)."""
HOUSEHOLD_SHARE = 0.3
"""Two registrations are one household when their one-to-one member matches add up to this share
of the smaller registration, with at least one confident (``>= threshold``) member match."""
LONE_LINK = 0.995
"""A pair between two registrations that are not one household still links at this score: people
move between households (issue 19: a person re-registered inside a relative's household). On the
habits register (10k, seeds 1 and 2) 77 of 193 missed pairs were such people, most scored above
0.99 and never linked; with this rule recall went from 0.905 to 0.928 (seed 1) at the same
precision, and the standard register's F1 did not move. Kept above 0.99 so that one confident
member between two registrations whose other members disagree still does not link on its own
when it is merely 0.99 (``test_household_decisions_do_not_depend_on_the_register_size``)."""
HOUSEHOLD_REFERENCE_RECORDS = 10_000
"""Register size at which the household thresholds apply to Splink's probabilities as they are
(see :func:`household_odds`); measured on hardest 1M/200k registers, 10k gave the best F1 of
10k, 20k and 50k at both sizes."""


PREDICT_CHUNK_ROWS = 2_000_000
"""Above this many records, prediction blocks one slice of the right-hand records at a time (each
slice joins the whole left side again, so slices cost time: at 1M records two slices took 34 s
against 29 s for one). Below it DuckDB's memory limit bounds the blocked pairs instead."""

SPLINK_MEMORY_LIMIT = "1500MB"
"""DuckDB's memory limit for the default Splink connection (``IDPKIT_DEDUP_MEMORY_LIMIT`` to
change). DuckDB's own default is 80% of the machine's RAM, and it keeps what it may: at 1M records
a one-off run peaked at 4.4 GiB, 3.4 GiB with this limit at the same speed (bigger work spills
to a temporary folder)."""


def default_db_api():
    """Splink's DuckDB API on an in-memory database with bounded memory, spilling to a private
    temporary folder (mode 0700: spilled rows hold names and phones) that is removed with the
    connection."""
    import os
    import tempfile
    import weakref

    import duckdb
    from splink import DuckDBAPI

    limit = os.environ.get("IDPKIT_DEDUP_MEMORY_LIMIT", SPLINK_MEMORY_LIMIT).replace("'", "")
    spill = tempfile.mkdtemp(prefix="idpkit-dedup-spill-")
    con = duckdb.connect(config={"memory_limit": limit, "temp_directory": spill})
    threads = os.environ.get("IDPKIT_THREADS")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    api = DuckDBAPI(con)
    weakref.finalize(api, _close_and_remove, con, spill)
    return api


def _close_and_remove(con, folder: str) -> None:
    import shutil

    try:
        con.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def deduplicate(df: pd.DataFrame, *, threshold: float = DEFAULT_THRESHOLD, db_api=None,
                max_pairs: float = 2e6, seed: int = 1, pair_floor: float = 0.05,
                timings: dict[str, float] | None = None,
                sweep: list[float] | None = None) -> DedupResult:
    """Individuals and households, with the household structure modelled explicitly:

    1. Splink scores candidate pairs of people (blocking rules of :mod:`.model`);
    2. registrations linked by a confident pair become *household blocks*, and every pair of
       their members is scored too (a duplicate whose own fields are too damaged for any
       blocking rule is still compared with the members of its other registration);
    3. two people of the *same* registration are never one person; between two registrations,
       members are matched one to one (best pairs first: one child is not two children);
    4. registrations are one household when their matched members carry enough evidence, and
       within them the one-to-one pairs above ``P_ASSIGN`` link people; between registrations
       that are not one household, a one-to-one pair links alone above :data:`LONE_LINK` (a
       person who moved into another family's registration).

    The columns present decide the model (:func:`idpkit.linkage.model.comparisons`): a register
    without phones, fathers' names or dates of birth is compared on what it has; one with
    nothing to compare on gives one person per record and no model.

    ``sweep``: further thresholds to cluster at from the same scored pairs (one training and
    prediction for a precision/recall curve), in ``by_threshold``.

    ``timings``, when given, receives the seconds spent in each phase (``train``, ``predict``,
    ``blocks``, ``predict_within``, ``resolve``); the result does not depend on it.
    """
    import time

    from splink import Linker, block_on

    from idpkit.linkage import model

    logging.getLogger("splink").setLevel(logging.WARNING)
    clock = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        if timings is not None:
            timings[name] = timings.get(name, 0.0) + now - clock[0]
        clock[0] = now

    data = model_frame(df)
    filled = {c for c in model.MODEL_COLUMNS if c not in ("unique_id", "household_key")
              and data[c].notna().any()}
    comparisons = model.comparisons(filled)
    if not comparisons or not model.blocking_rules(filled) or len(data) < 2:
        # nothing to compare people on: every record is a person of its own
        lap("setup")
        ids = data.unique_id
        clusters = pd.DataFrame({"unique_id": ids.to_numpy(dtype=object),
                                 "cluster_id": ids.to_numpy(dtype=object)})
        return DedupResult(clusters, pd.DataFrame(
            columns=["unique_id_l", "unique_id_r", "match_probability", "linked"]), threshold,
            None, {t: clusters for t in sweep or []})
    # only the columns the model uses: an all-empty column has no type a backend can infer
    # (Spark refuses it), and nothing compares on it
    data = data[[c for c in data.columns if c in filled or c in ("unique_id", "household_key")]]
    db_api = db_api or default_db_api()
    table = db_api.register(data)
    linker = Linker(table, model.settings(filled))
    lap("setup")
    model.train(linker, max_pairs=max_pairs, seed=seed, filled=filled)
    lap("train")
    chunks = max(1, -(-len(data) // PREDICT_CHUNK_ROWS))  # blocked pairs held one chunk at a time
    first = linker.inference.predict(
        threshold_match_probability=pair_floor,
        **({"num_chunks_left": 1, "num_chunks_right": chunks} if chunks > 1 else {}),
    ).as_pandas_dataframe()
    first = first[["unique_id_l", "unique_id_r", "match_probability"]]
    lap("predict")
    hh = pd.Series(data.household_key.to_numpy(dtype=object),
                   index=data.unique_id.to_numpy(dtype=object))
    # blocks at the lowest threshold asked for: a higher threshold's blocks are parts of them, and
    # the extra member pairs change nothing there (a household pair needs a member pair above the
    # threshold, which would have put both registrations in one block)
    blocks = _household_blocks(first, hh, min([threshold, *(sweep or [])]))
    lap("blocks")
    pairs = first
    if blocks is not None:
        blocked = db_api.register(data.assign(hh_block=data.unique_id.map(blocks)))
        for col in ("first_norm", "father_norm", "gfather_norm"):
            if col in filled:
                linker.table_management.compute_tf_table(col)
        second = linker.inference.predict_within(
            blocked, blocking_rules_to_generate_predictions=[block_on("hh_block")]
        ).as_pandas_dataframe()  # every member pair of linked registrations, however low
        pairs = pd.concat([first, second[["unique_id_l", "unique_id_r", "match_probability"]]])
        lap("predict_within")
    pairs = _ordered(pairs, hh)
    odds = household_odds(linker._settings_obj._probability_two_random_records_match, len(data))
    size = data.groupby("household_key").size()
    clusters, linked = _link(pairs, data.unique_id, hh, size, threshold, odds)
    pairs["linked"] = pairs.index.isin(linked.index)
    by_threshold = {t: _link(pairs, data.unique_id, hh, size, t, odds)[0] for t in sweep or []}
    lap("resolve")
    return DedupResult(clusters, pairs.rename(columns={"a": "unique_id_l", "b": "unique_id_r"})[
        ["unique_id_l", "unique_id_r", "match_probability", "linked"]], threshold,
        linker.misc.save_model_to_json(), by_threshold)


def _link(pairs: pd.DataFrame, ids: pd.Series, hh: pd.Series, size: pd.Series,
          threshold: float, odds: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Clusters (unique_id, cluster_id) and the linking pairs at one threshold."""
    linked = _no_shared_registration(_resolve(pairs, size, threshold, odds), hh)
    comp = _components(ids, linked.a, linked.b)
    return comp.rename(columns={"household_key": "unique_id",
                                "household_cluster": "cluster_id"}), linked


def _ordered(pairs: pd.DataFrame, hh: pd.Series) -> pd.DataFrame:
    """One row per unordered pair (highest score kept), oriented by household key, with the
    households; pairs inside one registration dropped.

    Done on integer codes (record position, household rank): millions of pairs at 1M records,
    and sorting or de-duplicating text keys in pandas was most of the resolution step."""
    rec = pd.Index(hh.index)
    li = rec.get_indexer(pairs.unique_id_l.to_numpy(dtype=object))
    ri = rec.get_indexer(pairs.unique_id_r.to_numpy(dtype=object))
    if (li < 0).any() or (ri < 0).any():
        raise KeyError("scored pair with a record not in the register")
    hcode, hnames = pd.factorize(hh.to_numpy(dtype=object), sort=True)  # codes keep key order
    ha, hb = hcode[li], hcode[ri]
    swap = ha > hb
    a, b = np.where(swap, ri, li), np.where(swap, li, ri)
    ha, hb = np.where(swap, hb, ha), np.where(swap, ha, hb)
    prob = pairs.match_probability.to_numpy(dtype=float)
    keep = np.flatnonzero(ha != hb)
    keep = keep[np.argsort(-prob[keep], kind="stable")]  # best first
    key = a[keep].astype(np.int64) * len(rec) + b[keep]
    _, first = np.unique(key, return_index=True)
    keep = keep[np.sort(first)]
    ids = rec.to_numpy(dtype=object)
    return pd.DataFrame({"a": ids[a[keep]], "b": ids[b[keep]], "ha": hnames[ha[keep]],
                         "hb": hnames[hb[keep]], "match_probability": prob[keep]})


def _household_blocks(pairs: pd.DataFrame, hh: pd.Series, threshold: float) -> pd.Series | None:
    """Record -> block id: registrations joined by a confident pair of members."""
    strong = pairs[pairs.match_probability >= threshold]
    ha, hb = hh.loc[strong.unique_id_l].values, hh.loc[strong.unique_id_r].values
    keep = ha != hb
    if not keep.any():
        return None
    comp = _components(pd.Series(hh.unique()), pd.Series(ha[keep]), pd.Series(hb[keep]))
    block_of = dict(zip(comp.household_key, comp.household_cluster, strict=True))
    linked_blocks = set(comp.household_cluster[comp.household_key != comp.household_cluster])
    return pd.Series([block_of[h] if block_of[h] in linked_blocks else None for h in hh.values],
                     index=hh.index)


def household_odds(prior: float, n_records: int) -> float:
    """The factor on a member pair's odds for the household decisions of :func:`_resolve`.

    Why: Splink's probability carries the prior that two *random* records of the register are one
    person, and that prior falls with the register's size (about 1/n). Whether two registrations
    are one household, and which of their members are the same people, is a question about the few
    members of those two registrations, not about the whole register; the thresholds for it
    (:data:`P_ASSIGN`, :data:`HOUSEHOLD_SHARE`) were chosen on registers of about
    :data:`HOUSEHOLD_REFERENCE_RECORDS` records. Above that size the member odds are scaled back
    to that reference, so the same member evidence decides the same way in a register of 1M
    records (without it, recall fell from 0.92 at 200k to 0.86 at 1M with precision at 0.99).
    The confident pair that joins two registrations still needs ``threshold`` on Splink's own
    probability: namesakes across the whole register are real."""
    if not prior or n_records <= HOUSEHOLD_REFERENCE_RECORDS:
        return 1.0
    q = min(prior * n_records / HOUSEHOLD_REFERENCE_RECORDS, 0.5)
    return (q / (1 - q)) / (prior / (1 - prior))


def _resolve(pairs: pd.DataFrame, size: pd.Series, threshold: float,
             odds: float = 1.0) -> pd.DataFrame:
    """The pairs that link people (see :func:`deduplicate`, steps 3-4); ``odds`` from
    :func:`household_odds`."""
    prob = pairs.match_probability.to_numpy(dtype=float)
    member = prob * odds / (prob * odds + (1 - prob))
    p = pairs[member >= P_ASSIGN]
    pos = p.index[_greedy_one_to_one(p)]
    one = pairs.loc[pos].assign(member=member[pairs.index.get_indexer(pos)])
    g = one.groupby(["ha", "hb"]).agg(sum=("member", "sum"),
                                      max=("match_probability", "max")).reset_index()
    smaller = np.minimum(size.loc[g.ha].values, size.loc[g.hb].values)
    ok = g[(g["sum"] >= HOUSEHOLD_SHARE * smaller) & (g["max"] >= threshold)]
    in_ok = one.set_index(["ha", "hb"]).index.isin(ok.set_index(["ha", "hb"]).index)
    # a person who moved: registered again inside another family's registration, so the two
    # registrations are not one household, yet the pair itself is near-certain
    lone = ~in_ok & (one.match_probability.to_numpy() >= max(threshold, LONE_LINK))
    return one[in_ok | lone].drop(columns="member")


def _greedy_one_to_one(p: pd.DataFrame) -> np.ndarray:
    """Positions of the pairs a greedy one-to-one matching keeps, per household pair: rows are
    taken in order and a row is kept unless an earlier kept row of the same (ha, hb) already uses
    its ``a`` or its ``b``. Done in rounds: a row that comes first, among the rows still open, for
    both its endpoints is kept by the greedy pass (every earlier row on its endpoints was closed by
    a kept row); the rows sharing an endpoint with it are closed; repeat until none is open."""
    n = len(p)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    ends = pd.DataFrame({"ha": np.concatenate([p.ha.values, p.ha.values]),
                         "hb": np.concatenate([p.hb.values, p.hb.values]),
                         "node": np.concatenate([p.a.values, p.b.values])})
    node = ends.groupby(["ha", "hb", "node"], sort=False).ngroup().to_numpy()
    na, nb = node[:n], node[n:]
    used = np.zeros(node.max() + 1, dtype=bool)
    kept = []
    open_ = np.arange(n)
    while len(open_):
        ka, kb = na[open_], nb[open_]
        first_a = np.zeros(len(open_), dtype=bool)
        first_a[np.unique(ka, return_index=True)[1]] = True
        first_b = np.zeros(len(open_), dtype=bool)
        first_b[np.unique(kb, return_index=True)[1]] = True
        win = open_[first_a & first_b]
        kept.append(win)
        used[na[win]] = True
        used[nb[win]] = True
        open_ = open_[~(used[ka] | used[kb])]
    return np.sort(np.concatenate(kept))


def _no_shared_registration(links: pd.DataFrame, hh: pd.Series) -> pd.DataFrame:
    """Drop the links that would put two members of one registration in one cluster through a
    chain (A1~C1, C1~B1, B1~A2): links are added best first, and a link is skipped when the two
    clusters it joins already hold a member of the same registration (a cannot-link rule).

    Why in two steps: the rule can only skip a link inside a connected component (of all the
    links) that holds two members of one registration. Components without such a pair — nearly
    all of them — keep every link, found with one vectorised component search; only the links of
    the other components go through the sequential, order-dependent pass. Same result as running
    the pass over every link, without a Python loop over hundreds of thousands of links."""
    if links.empty:
        return links
    a = links.a.to_numpy(dtype=object)
    b = links.b.to_numpy(dtype=object)
    nodes, label = _component_labels(pd.Series(np.concatenate([a, b])), a, b)
    members = pd.DataFrame({"component": label, "reg": hh.loc[nodes].to_numpy(dtype=object)})
    conflicted = np.zeros(label.max() + 1, dtype=bool)
    conflicted[members.component[members.duplicated(["component", "reg"])].to_numpy()] = True
    if not conflicted.any():
        return links
    hard = conflicted[label[pd.Index(nodes).get_indexer(a)]]
    kept = _no_shared_registration_greedy(links[hard].reset_index(drop=True), hh)
    mask = ~hard
    mask[np.flatnonzero(hard)[kept.index.to_numpy()]] = True
    return links[mask]


def _no_shared_registration_greedy(links: pd.DataFrame, hh: pd.Series) -> pd.DataFrame:
    """The sequential pass of :func:`_no_shared_registration` (union-find, best link first)."""
    parent: dict[str, str] = {}
    regs: dict[str, set[str]] = {}
    nodes = pd.unique(np.concatenate([links.a.to_numpy(dtype=object),
                                      links.b.to_numpy(dtype=object)]))
    reg_of = dict(zip(nodes, hh.loc[nodes].to_numpy(dtype=object), strict=True))

    def find(x: str) -> str:
        if x not in parent:
            parent[x], regs[x] = x, {reg_of[x]}
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    keep = []
    for i, a, b in zip(links.index, links.a, links.b, strict=True):
        ra, rb = find(a), find(b)
        if ra == rb:
            keep.append(i)
            continue
        if regs[ra] & regs[rb]:
            continue
        if len(regs[ra]) < len(regs[rb]):
            ra, rb = rb, ra
        parent[rb] = ra
        regs[ra] |= regs.pop(rb)
        keep.append(i)
    return links.loc[keep]


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


def cluster_metrics(pred_cluster: pd.Series, true_cluster: pd.Series) -> dict[str, float]:
    """Cluster precision, recall and F1: the share of predicted clusters that are exactly a true
    cluster (same records, no more, no fewer), the share of true clusters found exactly, and
    their harmonic mean. Stricter than pairwise: one missed member spoils a whole family's
    person cluster, which is what a clerk sees."""
    df = pd.DataFrame({"p": pred_cluster.values, "t": true_cluster.values})
    both = df.groupby(["p", "t"]).size().rename("n").reset_index()
    both["p_size"] = both.p.map(df.groupby("p").size())
    both["t_size"] = both.t.map(df.groupby("t").size())
    exact = int(((both.n == both.p_size) & (both.n == both.t_size)).sum())
    n_pred, n_true = int(df.p.nunique()), int(df.t.nunique())
    precision = exact / n_pred if n_pred else 1.0
    recall = exact / n_true if n_true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "exact_clusters": exact,
            "predicted_clusters": n_pred, "true_clusters": n_true}


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


def _component_labels(keys: pd.Series, a, b) -> tuple[np.ndarray, np.ndarray]:
    """The distinct keys and their connected-component labels (0..k-1) for the linked pairs
    ``a``-``b`` (scipy's sparse graph search)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    uniq = pd.Index(pd.unique(pd.Series(keys).to_numpy(dtype=object)))
    n = len(uniq)
    ia = uniq.get_indexer(np.asarray(a, dtype=object))
    ib = uniq.get_indexer(np.asarray(b, dtype=object))
    if (ia < 0).any() or (ib < 0).any():
        raise KeyError("linked pair with a key not in keys")
    graph = coo_matrix((np.ones(len(ia), dtype=np.int8), (ia, ib)), shape=(n, n)).tocsr()
    _, label = connected_components(graph, directed=False)
    return uniq.to_numpy(dtype=object), label


def _components(keys: pd.Series, a: pd.Series, b: pd.Series) -> pd.DataFrame:
    """Connected components of the linked pairs; each component is named by its smallest key
    (found by one sort, not a per-group minimum over text, which pandas does in Python)."""
    nodes, label = _component_labels(keys, a, b)
    text = pd.api.types.infer_dtype(nodes, skipna=False) == "string"
    order = np.argsort(nodes.astype(str) if text else nodes, kind="stable")
    _, first = np.unique(label[order], return_index=True)  # labels are 0..k-1, sorted
    names = nodes[order[first]]
    return pd.DataFrame({"household_key": nodes, "household_cluster": names[label]})
