"""Spark runs the same table logic: figures and the survey engine give the same numbers on a
Parquet replica computed by Spark as on the DuckDB warehouse of record; writes are refused.

One Spark session for the module (starting the JVM costs seconds). Java and pyspark are installed
by the project's set-up (`make test`); where they are missing the tests fail.
"""

from __future__ import annotations

import os
import shutil
from datetime import date

import pandas as pd
import pytest

from idpkit.errors import WarehouseError

# one worker runs them all: one JVM and one replica instead of one per xdist worker
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("spark")]


def _need_spark() -> None:
    """`make test` installs both (the `spark` extra, scripts/ensure-java.sh): missing is a
    failure, never a skip."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        pytest.fail("pyspark is missing: install the project with its `spark` extra (make test)")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.fail("Java is missing (Spark needs it): run scripts/ensure-java.sh")


@pytest.fixture(scope="module")
def replica(tmp_path_factory, demo_operation):
    """(DuckDB warehouse, Spark replica of it) over part of the demo operation and its survey."""
    _need_spark()
    os.environ.setdefault("IDPKIT_SPARK_MASTER", "local[2]")
    os.environ.setdefault("IDPKIT_SPARK_PARTITIONS", "1")  # tiny data: one task per stage
    from idpkit.ingest.pipeline import ingest_file
    from idpkit.solutions.store import SurveySpec, import_survey
    from idpkit.testing.demo_survey import generate_survey
    from idpkit.warehouse import connect
    from idpkit.warehouse.areas import load_areas, read_gazetteer_csv
    from idpkit.warehouse.spark import export_parquet

    folder = tmp_path_factory.mktemp("spark")
    db = str(folder / "w.duckdb")
    with connect(db) as wh:
        load_areas(wh, read_gazetteer_csv(demo_operation.gazetteer_csv))
        for f in demo_operation.all_assessment_files():
            if "flow" in f.name or f.stem.endswith(("_01", "_02")):  # two rounds and flows
                ingest_file(wh, f)
        sv = generate_survey(folder / "sv", ["ZD0101", "ZD0102"], psus_per_stratum=4,
                             households_per_psu=8)
        import_survey(wh, sv.households_csv, SurveySpec.from_yaml(sv.spec_yaml))
        counts = export_parquet(wh, folder / "parquet")
    assert counts["observations"] > 0
    dwh = connect(db)
    swh = connect(f"spark:{folder / 'parquet'}")
    yield dwh, swh
    swh.close()
    dwh.close()


def _same(a: pd.DataFrame, b: pd.DataFrame, key: list[str]) -> None:
    assert len(a) > 0
    a = a.sort_values(key).reset_index(drop=True)
    b = b.sort_values(key).reset_index(drop=True)[list(a.columns)]
    pd.testing.assert_frame_equal(a, b, check_dtype=False, check_exact=False, rtol=1e-9)


def _dates(wh) -> list[date]:
    o = wh.table("observations")
    return sorted(o.select(d=o.reporting_date.cast("date")).distinct().d.execute().tolist())


def test_stock_is_the_same_on_spark(replica):
    from idpkit.figures.stock import StockQuery, stock_frame

    dwh, swh = replica
    dates = _dates(dwh)
    q = StockQuery(dates[-3:], level=2, by=("group", "cause"))
    a, b = stock_frame(dwh, q), stock_frame(swh, q)
    _same(a, b, [c for c in a.columns if c not in ("value",)])


def test_flows_are_the_same_on_spark(replica):
    from idpkit.figures.flows import flows_frame

    dwh, swh = replica
    dates = _dates(dwh)
    a, b = flows_frame(dwh, dates[0], dates[-1], 1), flows_frame(swh, dates[0], dates[-1], 1)
    _same(a, b, list(a.columns[:3]))


def test_od_is_the_same_on_spark(replica):
    from idpkit.figures.od import od_frame

    dwh, swh = replica
    dates = _dates(dwh)
    a, b = od_frame(dwh, dates[0], dates[-1], 1), od_frame(swh, dates[0], dates[-1], 1)
    _same(a, b, list(a.columns[:4]))


def test_monthly_series_is_the_same_on_spark(replica):
    from idpkit.figures.series import monthly_series

    dwh, swh = replica
    dates = _dates(dwh)
    a = monthly_series(dwh, dates[0], dates[-1], level=1)
    b = monthly_series(swh, dates[0], dates[-1], level=1)
    _same(a, b, ["adm1_pcode", "population_group", "unit", "month"])


def test_survey_estimates_are_the_same_on_spark(replica):
    """The generated SQL of the survey engine: a two-stage design with fpc, a proportion, a mean
    and a ratio, by group and by area x group, and an IDP-vs-non-displaced contrast."""
    from idpkit.solutions.estimate import Contrast, estimate
    from idpkit.solutions.store import load_survey

    dwh, swh = replica
    out = []
    for wh in (dwh, swh):
        sv = load_survey(wh, "demo_solutions")
        picked = {i.engine().statistic: i for i in sv.indicators}  # one of each kind
        assert {"mean", "ratio"} <= set(picked)
        group = sv.design.group
        res = estimate(wh, sv.table, sv.design, [i.engine() for i in picked.values()],
                       [(group,), (sv.design.area, group)],
                       [Contrast(group, "idps", "non_displaced")])
        out.append(res)
    a, b = out
    _same(a.estimates, b.estimates, ["indicator", "by", "domain"] if "domain" in
          a.estimates.columns else list(a.estimates.columns[:3]))
    _same(a.contrasts, b.contrasts, list(a.contrasts.columns[:3]))


def test_writes_are_refused_with_a_clear_message(replica, demo_operation, tmp_path):
    from idpkit.ingest.pipeline import ingest_file

    _, swh = replica
    before = swh.table("observations").count().execute()
    src = next(f for f in demo_operation.all_assessment_files() if f.suffix == ".csv")
    new = tmp_path / f"new_{src.name}"
    new.write_bytes(src.read_bytes() + b"\n")  # another file (hash) with the same rows
    with pytest.raises(WarehouseError, match="read-only compute replica"):
        ingest_file(swh, new)
    with pytest.raises(WarehouseError, match="read-only"):
        swh.execute_atomically(["DELETE FROM observations"])
    assert swh.table("observations").count().execute() == before


def test_missing_replica_is_a_clear_error(tmp_path):
    _need_spark()
    from idpkit.warehouse import connect

    with pytest.raises(WarehouseError, match="no Parquet replica"):
        connect(f"spark:{tmp_path / 'nowhere'}")


def test_dedup_runs_the_same_splink_settings_on_spark(tmp_path):
    """Issue 5: the Splink model (settings, blocking, training, prediction, household blocks)
    runs on Spark unchanged, with accuracy like DuckDB's on the same generated register."""
    _need_spark()
    from splink import SparkAPI
    from splink.backends.spark import similarity_jar_location

    from idpkit.linkage.dedup import deduplicate, pairwise_metrics, prepare
    from idpkit.testing.demo_register import generate_register
    from idpkit.warehouse.spark import spark_session

    session = spark_session()
    assert similarity_jar_location() in session.conf.get("spark.jars", "")
    session.sparkContext.setCheckpointDir(str(tmp_path / "checkpoints"))
    reg = generate_register(2000, seed=7)
    df = prepare(reg.records, phone_region="SD")
    truth = reg.truth.set_index("record_id").loc[df.unique_id, "person_id"]
    f1 = {}
    for name, api in (("duckdb", None), ("spark", SparkAPI(spark_session=session))):
        res = deduplicate(df, db_api=api)
        clusters = res.clusters.set_index("unique_id").loc[df.unique_id, "cluster_id"]
        f1[name] = pairwise_metrics(clusters, truth)["f1"]
    assert f1["spark"] >= 0.9, f1
    assert abs(f1["spark"] - f1["duckdb"]) <= 0.03, f1
