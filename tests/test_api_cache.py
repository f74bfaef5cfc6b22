"""The API's response cache: ETags from a cheap warehouse version, replayed anonymous answers,
gzip, and never a stale or wrong-role answer after an import or with a token."""

from __future__ import annotations

import shutil
import threading

import pytest
from fastapi.testclient import TestClient

from idpkit.api.auth import create_token


@pytest.fixture(scope="module")
def base_warehouse(tmp_path_factory, demo_operation):
    """One baseline round, admin 1 boundaries and an analyst token, built once; each test works
    on its own copy (tests import more files)."""
    from idpkit.ingest.pipeline import ingest_file
    from idpkit.warehouse import connect
    from idpkit.warehouse.areas import load_areas, read_boundaries_geojson, read_gazetteer_csv

    db = tmp_path_factory.mktemp("cache") / "w.duckdb"
    baseline = [f for f in demo_operation.all_assessment_files()
                if f.name.startswith("baseline")][0]
    with connect(str(db)) as wh:
        load_areas(wh, read_gazetteer_csv(demo_operation.gazetteer_csv))
        load_areas(wh, read_boundaries_geojson(demo_operation.boundaries[1], 1))
        ingest_file(wh, baseline)
        token = create_token(wh, "t", "analyst")
    return db, token


@pytest.fixture()
def api(tmp_path, base_warehouse, demo_operation):
    from idpkit.api.app import create_app

    db, token = base_warehouse
    copy = tmp_path / "w.duckdb"
    shutil.copyfile(db, copy)
    sites = [f for f in demo_operation.all_assessment_files() if f.name.startswith("sites")]
    app = create_app(str(copy))
    client = TestClient(app, raise_server_exceptions=False)
    return client, app.state.idpkit, token, sites


def _same_response(a, b) -> None:
    assert a.status_code == b.status_code == 200
    assert a.content == b.content
    for h in ("etag", "content-type", "content-encoding", "vary", "cache-control"):
        assert a.headers.get(h) == b.headers.get(h), h


def test_repeated_anonymous_answer_is_replayed_identically(api):
    client, state, _, _ = api
    first = client.get("/api/figures/stock", params={"level": 1, "by": "group"})
    assert state.front, "the endpoint's answer was not kept for replay"
    second = client.get("/api/figures/stock", params={"level": 1, "by": "group"})
    _same_response(first, second)
    again = client.get("/api/figures/stock", params={"level": 1, "by": "group"},
                       headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.headers["etag"] == first.headers["etag"]


def test_a_token_never_gets_the_replayed_public_answer(api):
    client, _, token, _ = api
    public = client.get("/api/figures/stock", params={"level": 1, "by": "group"})
    client.get("/api/figures/stock", params={"level": 1, "by": "group"})  # now replayed
    exact = client.get("/api/figures/stock", params={"level": 1, "by": "group"},
                       headers={"Authorization": f"Bearer {token}"})
    assert public.json()["public_rules"] is True and exact.json()["public_rules"] is False
    assert exact.headers["etag"] != public.headers["etag"]
    bad = client.get("/api/figures/stock", params={"level": 1, "by": "group"},
                     headers={"Authorization": "Bearer idp_wrong"})
    assert bad.status_code == 401


def test_gzip_when_accepted_and_worth_it(api):
    client, _, _, _ = api
    plain = client.get("/api/areas", headers={"Accept-Encoding": "identity"})
    packed = client.get("/api/areas", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.content == plain.content  # httpx decodes; the bytes on the wire were gzip
    assert packed.num_bytes_downloaded < plain.num_bytes_downloaded / 2
    small = client.get("/api/figures/stock", params={"level": 1, "by": "group", "limit": 1},
                       headers={"Accept-Encoding": "gzip"})
    assert len(small.content) < 1400 and "content-encoding" not in small.headers


def test_an_import_in_this_process_changes_the_etag_at_once(api):
    from idpkit.ingest.pipeline import ingest_file

    client, state, _, files = api
    state.version_ttl = 3600.0  # only changed() may make it re-read
    before = client.get("/api/datasets")
    client.get("/api/datasets")  # replayed from now on
    with state.lock:
        ingest_file(state.wh, files[0])
    assert client.get("/api/datasets").headers["etag"] == before.headers["etag"]  # not yet seen
    state.cache.clear()  # what an import through the API does
    after = client.get("/api/datasets")
    assert after.headers["etag"] != before.headers["etag"]
    assert after.json()["total"] == before.json()["total"] + 1


def test_an_import_by_another_process_is_seen_after_the_ttl(api):
    from idpkit.ingest.pipeline import ingest_file

    client, state, _, files = api
    state.version_ttl = 0.0  # every request re-checks (what the TTL bounds)
    before = client.get("/api/datasets")
    client.get("/api/datasets")
    with state.lock:
        ingest_file(state.wh, files[0])  # the cache is not told
    after = client.get("/api/datasets")
    assert after.headers["etag"] != before.headers["etag"]
    assert after.json()["total"] == before.json()["total"] + 1


def test_a_busy_warehouse_does_not_queue_cache_hits(api):
    client, state, _, _ = api
    v = state.version()
    state.version_ttl = 0.0  # the version is due for a re-check ...
    held, release = threading.Event(), threading.Event()

    def hold() -> None:  # ... while another request computes under the lock
        with state.lock:
            held.set()
            release.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    held.wait(10)
    try:
        assert state.version() == v  # the last known version, without waiting
    finally:
        release.set()
        t.join()
