"""The generated demo operation ingests exactly as its ground truth says.

Every injected error row is quarantined, every warning row accepted, rows read = accepted +
quarantined for every file, and accepted totals per file and admin 1 equal the generator's
``file_totals.csv``. Runs on every selected backend.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from idpkit.ingest.pipeline import ingest_file
from idpkit.testing.demo import generate_operation
from idpkit.warehouse.areas import load_areas, read_boundaries_geojson, read_gazetteer_csv
from idpkit.warehouse.summary import summary_expr


@pytest.fixture(scope="module")
def operation(tmp_path_factory) -> object:
    return generate_operation(tmp_path_factory.mktemp("demo"), rounds=5)


def test_demo_operation_matches_truth(wh, operation):
    load_areas(wh, read_gazetteer_csv(operation.gazetteer_csv))
    for level, path in sorted(operation.boundaries.items()):
        load_areas(wh, read_boundaries_geojson(path, level))
    results = {}
    for f in operation.all_assessment_files():
        r = ingest_file(wh, f)
        assert r.status == "imported"
        assert r.rows_read == r.rows_accepted + r.rows_quarantined
        results[Path(f).name] = r

    injected = pd.read_csv(operation.truth_dir / "injected_errors.csv")
    injected = injected[injected.file.isin(results)]
    q = wh.table("quarantine").execute()
    ds = wh.table("datasets").select("dataset_id", "file_name").execute()
    q = q.merge(ds, on="dataset_id")
    quarantined = set(zip(q.file_name, q.source_row.astype(int)))
    errors = injected[(injected.severity == "error") & (injected.code != "duplicate_row")]
    assert len(errors) > 0
    expected_q = set(zip(errors.file, errors.row.astype(int)))
    # of two identical rows, the later one is the duplicate (either copy gives the same totals)
    dups = injected[injected.code == "duplicate_row"]
    issues = wh.table("issues").execute()
    dup_found = issues[issues.code == "duplicate-row"]
    assert sorted(dup_found.file_name) == sorted(dups.file)
    quarantined -= set(zip(dup_found.file_name, dup_found.row.astype(int)))
    assert quarantined == expected_q
    warned = injected[injected.severity == "warning"]
    assert not set(zip(warned.file, warned.row.astype(int))) & quarantined

    # the flow-monitoring file is read as arrivals, not as a stock
    kinds = wh.table("datasets").select("file_name", "assessment_type").execute()
    assert set(kinds[kinds.file_name == "flow_monitoring.csv"].assessment_type) == {"flow_monitoring"}
    o = wh.table("observations").execute().merge(ds, on="dataset_id")
    assert set(o[o.file_name == "flow_monitoring.csv"].metric) == {"arrivals"}
    totals = pd.read_csv(operation.truth_dir / "file_totals.csv")
    totals = totals[totals.file.isin(results)]
    got = summary_expr(wh).execute().merge(ds, left_on="dataset", right_on="dataset_id")
    for name in results:
        exp = totals[totals.file == name].set_index(["adm1_pcode", "population_group", "unit"])["value"]
        g = got[got.file_name == name].set_index(["adm1_pcode", "population_group", "unit"])["value"]
        g = g[g.index.isin(exp.index)]
        assert g.sort_index().to_dict() == pytest.approx(exp.sort_index().astype(float).to_dict()), name
