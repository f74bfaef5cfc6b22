"""Deduplication engine: a generated register of 1M records, and the `recordlinkage` package beside it.

    .venv/bin/python benchmarks/dedup.py [--records 1000000] [--peer-records 20000] [--seed 3]
                                         [--generator standard|habits]

The input is ``generate_register(--records, seed=--seed, hardest=True)`` (every duplicate carries
1-4 errors: typos, transliterations, Arabic script, swapped day/month, changed phones, dropped or
swapped family names ...), written once to Parquet with its ground truth (not timed).
``--generator habits`` uses ``generate_habits_register(--records, seed=--seed)`` instead
(another organisation's habits: reused household ids, swapped name order, mixed phone
countries, ages instead of dates, namesakes; :mod:`idpkit.testing.demo_register_habits`),
deduplicated without a default phone region (its records carry their own).

What is timed, each in its own child process on the same file (peak memory: the child's own peak
RSS, ``ru_maxrss``, which includes DuckDB's memory):

* idpkit on all records: ``prepare`` + ``deduplicate`` end to end, with the phases ``deduplicate``
  reports (training, Splink prediction, household blocks, second ``predict_within`` pass,
  one-to-one resolution and clusters);
* idpkit on the first ``--peer-records`` records (the same rows as below);
* ``recordlinkage`` on the same first ``--peer-records`` records, a standard unsupervised set-up:
  its own ``clean`` on names, phone digits; candidate pairs from the union of four blocks
  (first+family name, first name+date of birth, family name+date of birth, phone); Jaro-Winkler
  (>= 0.85) on first, father's and family name, exact date of birth, birth year, phone, sex and
  ID number; the unsupervised ``ECMClassifier``; clusters are the connected components of the
  predicted links. Also shown: the same comparisons with a fixed score rule instead of ECM
  (a pair matches when at least 5 of the 8 comparisons agree).

Accuracy is pairwise precision / recall / F1 of the clusters against the generator's person ids
(``pairwise_metrics``), computed outside the timed section.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from _harness import answer, peak_rss, run_child


# ------------------------------------------------------------------------------------ children
_rss = peak_rss


def _load(data: str, n: int | None):
    import pandas as pd

    suffix = f"_{n}" if n else ""  # the subset has its own files: its child's RSS is its own
    return (pd.read_parquet(Path(data) / f"records{suffix}.parquet"),
            pd.read_parquet(Path(data) / f"truth{suffix}.parquet"))


def _score(clusters, truth) -> dict:
    from idpkit.linkage.dedup import pairwise_metrics

    m = clusters.merge(truth, left_on="unique_id", right_on="record_id")
    assert len(m) == len(truth), (len(m), len(truth))
    return pairwise_metrics(m.cluster_id, m.person_id)


def child_idpkit(data: str, cfg: dict) -> dict:
    from idpkit.linkage.dedup import deduplicate, prepare

    rec, truth = _load(data, cfg.get("n"))
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    frame = prepare(rec, phone_region=cfg.get("phone_region", "SD"))
    times["prepare"] = time.perf_counter() - t0
    res = deduplicate(frame, timings=times)
    times["total"] = time.perf_counter() - t0
    out = {"records": len(rec), "times": times, "pairs_scored": len(res.pairs)}
    out.update(_score(res.clusters, truth))
    return out


SCORE_MIN = 5
"""recordlinkage's second classifier: a pair is a match when this many of its 8 comparisons
agree."""


def child_recordlinkage(data: str, cfg: dict) -> dict:
    import numpy as np
    import pandas as pd
    import recordlinkage as rl
    from recordlinkage.preprocessing import clean
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    rec, truth = _load(data, cfg.get("n"))
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    df = pd.DataFrame(index=rec.record_id.values)
    for c in ("first_name", "father_name", "family_name"):
        df[c] = clean(rec[c].fillna("").astype(str)).replace("", np.nan).values
    df["dob"] = rec.date_of_birth.values
    df["dob_year"] = rec.date_of_birth.str[:4].values
    df["phone"] = rec.phone.str.replace(r"\D", "", regex=True).str[-9:].values
    df["sex"] = rec.sex.str.upper().str[:1].values
    df["id_number"] = rec.id_number.values
    times["prepare"] = time.perf_counter() - t0
    t = time.perf_counter()
    idx = rl.Index()
    for keys in (["first_name", "family_name"], ["first_name", "dob"], ["family_name", "dob"],
                 ["phone"]):
        idx.block(keys)
    cand = idx.index(df)
    times["index"] = time.perf_counter() - t
    t = time.perf_counter()
    cmp = rl.Compare()
    for c in ("first_name", "father_name", "family_name"):
        cmp.string(c, c, method="jarowinkler", threshold=0.85, label=c)
    for c in ("dob", "dob_year", "phone", "sex", "id_number"):
        cmp.exact(c, c, label=c)
    features = cmp.compute(cand, df)
    times["compare"] = time.perf_counter() - t
    t = time.perf_counter()
    ecm = rl.ECMClassifier(binarize=None)
    links = ecm.fit_predict(features)
    times["classify"] = time.perf_counter() - t
    pos = pd.Series(np.arange(len(df)), index=df.index)

    def clusters_of(links: pd.MultiIndex) -> pd.DataFrame:
        a = pos.loc[links.get_level_values(0)].to_numpy()
        b = pos.loc[links.get_level_values(1)].to_numpy()
        g = coo_matrix((np.ones(len(a)), (a, b)), shape=(len(df), len(df)))
        _, lab = connected_components(g, directed=False)
        return pd.DataFrame({"unique_id": df.index.values, "cluster_id": lab})

    t = time.perf_counter()
    clusters = clusters_of(links)
    times["clusters"] = time.perf_counter() - t
    times["total"] = time.perf_counter() - t0
    out = {"records": len(rec), "times": times, "pairs_scored": len(cand),
           "links": len(links)}
    out.update(_score(clusters, truth))
    # the other unsupervised rule: at least SCORE_MIN of the 8 comparisons agree (fixed a priori)
    t = time.perf_counter()
    rule = clusters_of(features.index[features.sum(axis=1) >= SCORE_MIN])
    out["score_rule"] = {"seconds": times["total"] - times["classify"] +
                         time.perf_counter() - t, **_score(rule, truth)}
    return out


def child_generate(data: str, cfg: dict) -> dict:
    d, t = Path(data), time.perf_counter()
    if cfg.get("generator") == "habits":
        from idpkit.testing.demo_register_habits import generate_habits_register

        reg = generate_habits_register(cfg["records"], seed=cfg["seed"])
    else:
        from idpkit.testing.demo_register import generate_register

        reg = generate_register(cfg["records"], seed=cfg["seed"], hardest=True)
    truth = reg.truth[["record_id", "person_id", "household_id"]]
    reg.records.to_parquet(d / "records.parquet")
    truth.to_parquet(d / "truth.parquet")
    if n := cfg["peer_records"]:
        reg.records.head(n).to_parquet(d / f"records_{n}.parquet")
        truth.head(n).to_parquet(d / f"truth_{n}.parquet")
    return {"records": len(reg.records), "people": int(truth.person_id.nunique()),
            "seconds": time.perf_counter() - t}


CHILDREN = {"generate": child_generate, "idpkit": child_idpkit, "recordlinkage": child_recordlinkage}


# ------------------------------------------------------------------------------------ main
def run(kind: str, data: Path, cfg: dict) -> dict:
    return run_child(__file__, kind, str(data), json.dumps(cfg))


def _line(name: str, r: dict) -> str:
    t = r["times"]
    phases = ", ".join(f"{k} {v:.1f}" for k, v in t.items() if k != "total")
    return (f"{name:<22} {r['records']:>9,} {t['total']:8.1f} s {r['peak_rss'] / 2**20:8,.0f} MiB "
            f"{r['precision']:6.4f} {r['recall']:6.4f} {r['f1']:6.4f}  ({phases})")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, data, cfg = sys.argv[2:5]
        answer(CHILDREN[kind](data, json.loads(cfg)))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=1_000_000, help="records in the register")
    ap.add_argument("--peer-records", type=int, default=20_000,
                    help="first records given to recordlinkage (and idpkit again); 0: skip")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--skip-full", action="store_true", help="only the side-by-side subset")
    ap.add_argument("--generator", choices=["standard", "habits"], default="standard",
                    help="the register generator (habits: demo_register_habits)")
    args = ap.parse_args()
    print(f"load average (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"{os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory(prefix="idpkit-bench-dedup-") as tmp:
        d = Path(tmp)
        # generated in a child too: a child's ru_maxrss starts at its parent's RSS at fork time
        g = run("generate", d, {"records": args.records, "seed": args.seed,
                                "peer_records": args.peer_records, "generator": args.generator})
        region = {"phone_region": None} if args.generator == "habits" else {}
        print(f"generated {g['records']:,} records of {g['people']:,} people "
              f"({args.generator} generator, seed {args.seed}) in {g['seconds']:.1f} s "
              "(not timed)", flush=True)
        print(f"{'contender':<22} {'records':>9} {'time':>10} {'peak RSS':>12} "
              f"{'prec':>6} {'recall':>6} {'F1':>6}  (phases, s)", flush=True)
        res = {}
        if not args.skip_full:
            res["full"] = run("idpkit", d, {**region})
            print(_line("idpkit", res["full"]), flush=True)
        if args.peer_records:
            cfg = {"n": args.peer_records, **region}
            res["sub"] = run("idpkit", d, cfg)
            print(_line("idpkit (subset)", res["sub"]), flush=True)
            res["rl"] = run("recordlinkage", d, cfg)
            print(_line("recordlinkage (subset)", res["rl"]) +
                  f" candidate pairs {res['rl']['pairs_scored']:,}", flush=True)
            sr = res["rl"]["score_rule"]
            print(f"{'recordlinkage, score>=' + str(SCORE_MIN):<22} {res['rl']['records']:>9,} "
                  f"{sr['seconds']:8.1f} s {'(same)':>12} {sr['precision']:6.4f} "
                  f"{sr['recall']:6.4f} {sr['f1']:6.4f}  (the same comparisons, "
                  f"no ECM: a pair matches when >= {SCORE_MIN} of 8 agree)", flush=True)
            s, r = res["sub"], res["rl"]
            print(f"ratio idpkit/recordlinkage on {s['records']:,} records: time "
                  f"{s['times']['total'] / r['times']['total']:.2f}, peak RSS "
                  f"{s['peak_rss'] / r['peak_rss']:.2f}, F1 {s['f1']:.4f} vs {r['f1']:.4f}")
        if "full" in res:
            f = res["full"]
            ok = (f["times"]["total"] <= 120, f["peak_rss"] <= 4 * 2**30, f["f1"] >= 0.95)
            print(f"goal (<= 120 s, <= 4 GiB, F1 >= 0.95) at {f['records']:,} records: "
                  f"time {'met' if ok[0] else 'NOT met'}, memory {'met' if ok[1] else 'NOT met'}, "
                  f"F1 {'met' if ok[2] else 'NOT met'}; anchor (expert Splink/DuckDB set-up) "
                  f"216 s, 3.7 GB: ratio {f['times']['total'] / 216:.2f}")
        print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print("JSON " + json.dumps(res))


if __name__ == "__main__":
    main()
