"""Issue 5: the same Splink model on PostgreSQL (a real throwaway server, never skipped).

Splink's PostgreSQL backend has no Jaro-Winkler function; idpkit installs one
(:mod:`idpkit.linkage.postgres`). These tests check that it is DuckDB's measure and that the whole
deduplication (training, prediction, household blocks) gives DuckDB's result on PostgreSQL."""

from __future__ import annotations

import uuid

import duckdb
import pytest
import sqlalchemy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idpkit.linkage.dedup import deduplicate, pairwise_metrics, prepare
from idpkit.linkage.postgres import postgres_db_api
from idpkit.testing.demo_register import generate_register


@pytest.fixture(scope="module")
def pg_linkage(pg_url):
    api = postgres_db_api(pg_url, schema=f"splink_{uuid.uuid4().hex[:8]}")
    engine = sqlalchemy.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    yield api, engine
    engine.dispose()


_NAMES = ["mohammed", "muhammad", "mohamed", "fatima", "fatma", "abdalrahman", "abdulrahman",
          "martha", "marhta", "dwayne", "duane", "dixon", "dicksonx", "a", "ab", "ba", "",
          "zainab", "zeinab", "élise", "elise", "محمد", "jellyfish", "smellyfish"]


def _jw_duckdb(pairs):
    con = duckdb.connect()
    return [con.execute("SELECT jaro_winkler_similarity(?, ?)", [a, b]).fetchone()[0]
            for a, b in pairs]


def _jw_postgres(engine, pairs):
    with engine.connect() as con:
        return [con.exec_driver_sql("SELECT jaro_winkler_similarity(%s, %s)", (a, b)).scalar()
                for a, b in pairs]


def test_jaro_winkler_is_duckdbs_measure(pg_linkage):
    _, engine = pg_linkage
    pairs = [(a, b) for a in _NAMES for b in _NAMES[::3]]
    for (a, b), d, p in zip(pairs, _jw_duckdb(pairs), _jw_postgres(engine, pairs), strict=True):
        assert p == pytest.approx(d, abs=1e-9), (a, b, d, p)
    assert _jw_postgres(engine, [(None, "x")]) == [None]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.text("abcdeéhmnrst", max_size=12), st.text("abcdeéhmnrst", max_size=12)),
                min_size=1, max_size=10))
def test_jaro_winkler_agrees_on_any_strings(pg_linkage, pairs):
    _, engine = pg_linkage
    for (a, b), d, p in zip(pairs, _jw_duckdb(pairs), _jw_postgres(engine, pairs), strict=True):
        assert p == pytest.approx(d, abs=1e-9), (a, b, d, p)


def test_dedup_runs_the_same_splink_settings_on_postgres(pg_linkage):
    """Training, prediction and the household passes run on PostgreSQL with DuckDB's result."""
    api, _ = pg_linkage
    reg = generate_register(1000, seed=7)
    df = prepare(reg.records, phone_region="SD")
    truth = reg.truth.set_index("record_id").loc[df.unique_id, "person_id"]
    scores = {}
    for name, db_api in (("duckdb", None), ("postgres", api)):
        res = deduplicate(df, db_api=db_api, max_pairs=3e5)  # u sample: JW is PL/pgSQL there
        clusters = res.clusters.set_index("unique_id").loc[df.unique_id, "cluster_id"]
        scores[name] = pairwise_metrics(clusters, truth)["f1"]
    assert scores["postgres"] >= 0.95, scores
    assert abs(scores["postgres"] - scores["duckdb"]) <= 0.01, scores


def test_dedup_run_engine_postgres_keeps_splink_in_the_protected_database(request, tmp_path):
    """``idpkit dedup run --engine postgres`` runs Splink in the protected register's PostgreSQL
    database (schema ``splink``): the register is deduplicated, the warehouse gets pseudonymised
    units; with a DuckDB register the option is refused with a clear message."""
    import os
    import subprocess
    import sys

    import psycopg

    from conftest import new_warehouse_url
    from idpkit.testing.demo_register import write_register_csv

    def idpkit(*args: str, env: dict) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", "from idpkit.cli.app import main; main()",
                               *args, "--db", db], capture_output=True, text=True, timeout=900,
                              env=env)

    reg = generate_register(400, seed=5)
    csv = write_register_csv(reg, tmp_path / "register.csv")
    db = str(tmp_path / "w.duckdb")
    keys = {"IDPKIT_PSEUDONYM_KEY_FILE": str(tmp_path / "k" / "key")}
    local = {**os.environ, **keys, "IDPKIT_REGISTER_DB": str(tmp_path / "register.duckdb")}
    assert idpkit("register", "import", str(csv), env=local).returncode == 0
    r = idpkit("dedup", "run", "--engine", "postgres", env=local)
    assert r.returncode == 1 and "IDPKIT_REGISTER_DB" in r.stderr and "Traceback" not in r.stderr

    with new_warehouse_url("postgres", request, tmp_path) as protected:
        env = {**os.environ, **keys, "IDPKIT_REGISTER_DB": protected}
        db = str(tmp_path / "w2.duckdb")
        r = idpkit("register", "import", str(csv), "--phone-region", "SD", env=env)
        assert r.returncode == 0, r.stderr
        r = idpkit("dedup", "run", "--engine", "postgres", env=env)
        assert r.returncode == 0, r.stderr
        assert "people" in r.stdout
        with psycopg.connect(protected) as con:
            clusters = con.execute("SELECT count(DISTINCT cluster_id), count(*) "
                                   "FROM reg_clusters").fetchone()
            splink_tables = con.execute("SELECT count(*) FROM information_schema.tables "
                                        "WHERE table_schema = 'splink'").fetchone()[0]
        people = reg.truth.person_id.nunique()
        assert clusters[1] == 400 and abs(clusters[0] - people) <= 0.05 * people, (clusters, people)
        assert splink_tables > 0  # Splink's tables (personal fields) stayed in this database
