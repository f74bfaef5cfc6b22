"""Shared fixtures: the backends a run covers, a throwaway PostgreSQL cluster, fresh warehouses.

``--backends`` (default: ``$IDPKIT_TEST_BACKENDS``, else ``duckdb``) selects the backends; every test
that takes ``backend``, ``warehouse_url`` or ``wh`` runs once per selected backend (ids ``duckdb`` and
``postgres``). PostgreSQL tests get a fresh database each in a cluster that this session starts with
``scripts/pg-test-cluster.sh`` (each pytest-xdist worker starts its own) and stops at the end.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KNOWN_BACKENDS = ("duckdb", "postgres")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backends",
        default=os.environ.get("IDPKIT_TEST_BACKENDS") or "duckdb",
        help="comma-separated warehouse backends to test: duckdb,postgres "
        "(default: $IDPKIT_TEST_BACKENDS, else duckdb)",
    )


def selected_backends(config: pytest.Config) -> list[str]:
    names = [b.strip().lower() for b in str(config.getoption("--backends")).split(",") if b.strip()]
    unknown = [b for b in names if b not in KNOWN_BACKENDS]
    if unknown:
        raise pytest.UsageError(
            f"--backends: unknown backend(s) {', '.join(unknown)}; choose from {', '.join(KNOWN_BACKENDS)}"
        )
    if not names:
        raise pytest.UsageError("--backends: give at least one backend")
    return list(dict.fromkeys(names))


def pytest_configure(config: pytest.Config) -> None:
    selected_backends(config)  # fail early on a bad --backends


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # `wh` depends on `warehouse_url`, which depends on `backend`: all of them appear in fixturenames.
    if "backend" in metafunc.fixturenames:
        names = selected_backends(metafunc.config)
        metafunc.parametrize("backend", names, ids=names, scope="module")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of a throwaway PostgreSQL cluster, started once per session (per xdist worker)."""
    script = ROOT / "scripts" / "pg-test-cluster.sh"
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    tmp = tempfile.mkdtemp(prefix=f"idpkit-pg-{worker}-", dir="/tmp")
    try:
        proc = subprocess.run(
            ["bash", str(script), "start", tmp],
            capture_output=True, text=True, timeout=180, check=False,
        )
    except subprocess.TimeoutExpired as exc:
        subprocess.run(["bash", str(script), "stop", tmp], capture_output=True, check=False)
        pytest.fail(f"{script.name} start timed out: {exc.stderr or ''}", pytrace=False)
    url = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    if proc.returncode != 0 or not url.startswith("postgresql://"):
        logs = ""
        for log in ("initdb.log", "pg_ctl.log", "server.log"):
            with contextlib.suppress(OSError):
                logs += f"\n--- {log}:\n" + (Path(tmp) / log).read_text(errors="replace")[-2000:]
        subprocess.run(["bash", str(script), "stop", tmp], capture_output=True, check=False)
        pytest.fail(
            f"could not start a PostgreSQL test cluster ({script.name} exited {proc.returncode}):\n"
            f"{proc.stderr.strip()}{logs}",
            pytrace=False,
        )
    try:
        yield url
    finally:
        subprocess.run(["bash", str(script), "stop", tmp], capture_output=True, check=False)


def _with_database(url: str, dbname: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{dbname}"


def dataset_rows(wh, table: str, dataset_id: str):
    """One dataset's rows of a warehouse table (``observations``, ``issues``, ``quarantine``) as a
    DataFrame: what ingestion tests compare with the numbers they wrote."""
    t = wh.table(table)
    return t.filter(t.dataset_id == dataset_id).execute()


@contextlib.contextmanager
def new_warehouse_url(backend: str, request: pytest.FixtureRequest, folder: Path) -> Iterator[str]:
    """A URL (or path) of a new, empty warehouse on ``backend``; dropped afterwards."""
    if backend == "duckdb":
        yield str(folder / f"w_{uuid.uuid4().hex[:8]}.duckdb")
        return
    import psycopg

    server = request.getfixturevalue("pg_url")
    admin = _with_database(server, "postgres")
    dbname = f"t_{uuid.uuid4().hex}"
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{dbname}"')
    try:
        yield _with_database(server, dbname)
    finally:
        with contextlib.suppress(Exception), psycopg.connect(admin, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


@pytest.fixture
def warehouse_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL (or path) of an empty warehouse on ``backend``, private to this test."""
    with new_warehouse_url(backend, request, tmp_path) as url:
        yield url


@pytest.fixture
def wh(warehouse_url: str):
    """A connected :class:`idpkit.warehouse.Warehouse` on a fresh warehouse."""
    from idpkit.warehouse import connect

    warehouse = connect(warehouse_url)
    try:
        yield warehouse
    finally:
        warehouse.close()


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return ROOT / "tests" / "fixtures"


@pytest.fixture(scope="session")
def demo_operation(tmp_path_factory: pytest.TempPathFactory):
    """A 5-round demo operation (files and ground truth), generated once per session."""
    from idpkit.testing.demo import generate_operation

    return generate_operation(tmp_path_factory.mktemp("demo"), rounds=5)


@pytest.fixture(scope="module")
def demo_wh(backend: str, request: pytest.FixtureRequest, demo_operation,
            tmp_path_factory: pytest.TempPathFactory):
    """The demo operation ingested once per test module and backend (read-only for tests)."""
    from idpkit.ingest.pipeline import ingest_file
    from idpkit.warehouse import connect
    from idpkit.warehouse.areas import load_areas, read_gazetteer_csv

    with new_warehouse_url(backend, request, tmp_path_factory.mktemp("wh")) as url:
        wh = connect(url)
        load_areas(wh, read_gazetteer_csv(demo_operation.gazetteer_csv))
        for f in demo_operation.all_assessment_files():
            assert ingest_file(wh, f).status == "imported"
        yield wh
        wh.close()
