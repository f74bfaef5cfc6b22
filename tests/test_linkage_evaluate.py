"""Issue 5, accuracy you can show: cluster metrics, one scoring for many thresholds, and the
``idpkit dedup evaluate`` curve."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

from idpkit.linkage.dedup import cluster_metrics, deduplicate, prepare
from idpkit.testing.demo_register import generate_register


def test_cluster_metrics_count_exact_clusters():
    truth = pd.Series(["p1", "p1", "p1", "p2", "p2", "p3"])
    pred = pd.Series(["a", "a", "b", "c", "c", "d"])  # p1 split, p2 and p3 exact
    m = cluster_metrics(pred, truth)
    assert (m["exact_clusters"], m["predicted_clusters"], m["true_clusters"]) == (2, 4, 3)
    assert m["precision"] == 0.5 and abs(m["recall"] - 2 / 3) < 1e-12
    same = cluster_metrics(truth, truth)
    assert same["f1"] == 1.0
    merged = cluster_metrics(pd.Series(["x"] * 6), truth)  # everything in one cluster
    assert merged["exact_clusters"] == 0 and merged["f1"] == 0.0


def test_a_sweep_gives_the_clusters_of_separate_runs():
    """Clusters at each threshold of one sweep are exactly those of a run at that threshold
    (household blocks built at the lowest threshold change nothing at the higher ones)."""
    reg = generate_register(2500, seed=4, hardest=True)
    frame = prepare(reg.records, phone_region="SD")
    swept = deduplicate(frame, threshold=0.97, sweep=[0.6, 0.97])
    for t in (0.6, 0.97):
        alone = deduplicate(frame, threshold=t)
        a = alone.clusters.set_index("unique_id").cluster_id.sort_index()
        b = swept.by_threshold[t].set_index("unique_id").cluster_id.sort_index()
        assert a.equals(b), t
    assert swept.clusters.set_index("unique_id").cluster_id.sort_index().equals(
        swept.by_threshold[0.97].set_index("unique_id").cluster_id.sort_index())


def test_dedup_evaluate_prints_the_curve(tmp_path):
    out = tmp_path / "curve.csv"
    r = subprocess.run([sys.executable, "-c", "from idpkit.cli.app import main; main()", "dedup",
                        "evaluate", "--records", "1500", "--out", str(out)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "pairwise F1" in r.stdout and "best" in r.stdout
    curve = pd.read_csv(out)
    assert list(curve.columns[:4]) == ["threshold", "pair_precision", "pair_recall", "pair_f1"]
    assert len(curve) == 9 and curve.threshold.is_monotonic_increasing
    assert (curve.pair_f1 > 0.9).all() and (curve.cluster_f1 > 0.9).all()
    assert curve.pair_recall.iloc[0] >= curve.pair_recall.iloc[-1]  # lower threshold, more links


def test_default_connection_spills_to_a_private_folder_removed_afterwards():
    """Spilled rows hold names and phones: the folder is the process owner's alone (0700) and
    goes with the connection."""
    import gc
    import os
    import stat

    from idpkit.linkage.dedup import default_db_api

    api = default_db_api()
    folder = api.duckdb_con.execute("SELECT current_setting('temp_directory')").fetchone()[0]
    assert os.path.isdir(folder)
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    del api
    gc.collect()
    assert not os.path.exists(folder)
