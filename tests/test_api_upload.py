"""POST /api/datasets: the CLI's ingestion behind an admin-only upload, answered with its report."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from idpkit.api.auth import create_token


@pytest.fixture()
def upload_api(tmp_path, demo_operation):
    from idpkit.api.app import create_app
    from idpkit.warehouse import connect
    from idpkit.warehouse.areas import load_areas, read_gazetteer_csv

    db = str(tmp_path / "w.duckdb")
    with connect(db) as wh:
        load_areas(wh, read_gazetteer_csv(demo_operation.gazetteer_csv))
        tokens = {r: create_token(wh, f"t-{r}", r) for r in ("admin", "analyst")}
    return TestClient(create_app(db), raise_server_exceptions=False), tokens


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _datasets(client: TestClient, token: str) -> list[dict]:
    return client.get("/api/datasets", headers=_auth(token)).json()["data"]


def test_admin_upload_ingests_and_reports(upload_api, demo_operation):
    client, tokens = upload_api
    f = demo_operation.all_assessment_files()[0]
    before = _datasets(client, tokens["admin"])
    with f.open("rb") as fh:
        r = client.post("/api/datasets", headers=_auth(tokens["admin"]),
                        files={"file": (f"../../etc/{f.name}", fh)}, data={"source": "Demo DTM"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "imported" and body["dataset_id"]
    task = body["report"]["tasks"][0]
    assert task["file"] == f.name  # base name only: no client path, no server temp path
    assert task["stats"]["rows_read"] > 0
    after = _datasets(client, tokens["admin"])
    assert len(after) == len(before) + 1
    assert body["dataset_id"] in {d["dataset_id"] for d in after}
    with f.open("rb") as fh:  # the same file again is recognised by its hash
        again = client.post("/api/datasets", headers=_auth(tokens["admin"]),
                            files={"file": (f.name, fh)})
    assert again.status_code == 200 and again.json()["status"] == "already-imported"


def test_upload_needs_admin(upload_api, demo_operation):
    client, tokens = upload_api
    f = demo_operation.all_assessment_files()[0]
    for headers, status in (({}, 403), (_auth(tokens["analyst"]), 403),
                            (_auth("not-a-token"), 401)):
        r = client.post("/api/datasets", headers=headers, files={"file": (f.name, f.read_bytes())})
        assert r.status_code == status
        assert r.json()["error"]["code"] in {"forbidden", "invalid-token"}


def test_bad_uploads_are_clear_4xx_and_store_nothing(upload_api, monkeypatch):
    import idpkit.api.upload as upload

    client, tokens = upload_api
    h = _auth(tokens["admin"])
    cases = [
        ({"file": ("broken.xlsx", b"PK\x03\x04 not really a workbook")}, {}, 422),
        ({"file": ("empty.csv", b"")}, {}, 422),
        ({"file": ("a.csv", b"x,y\n1,2\n")}, {"kind": "nonsense"}, 422),
        ({"file": ("a.csv", b"x,y\n1,2\n")}, {"reporting_date": "31/12/2024"}, 422),
        ({}, {}, 422),
    ]
    for files, data, status in cases:
        r = client.post("/api/datasets", headers=h, files=files or None, data=data)
        assert r.status_code == status, (files, data, r.text)
        err = r.json()["error"]
        assert err["code"] and err["message"]
    monkeypatch.setattr(upload, "MAX_UPLOAD_BYTES", 10)
    r = client.post("/api/datasets", headers=h, files={"file": ("big.csv", b"a,b\n" * 100)})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too-large"
    assert _datasets(client, tokens["admin"]) == []


def test_an_anonymous_upload_is_refused_before_its_body_is_read(upload_api, monkeypatch,
                                                                 tmp_path):
    """Issue 22: the role is checked first. On the old code FastAPI parsed the whole form —
    spooling the file into the shared temporary folder — before the endpoint refused with 403."""
    import tempfile

    import idpkit.api.upload as upload

    client, tokens = upload_api
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    reads: list[int] = []
    real = upload.read_upload

    async def counting(*a, **k):
        reads.append(1)
        return await real(*a, **k)

    monkeypatch.setattr(upload, "read_upload", counting)
    big = b"x" * (3 << 20)  # 3 MiB: above Starlette's 1 MiB in-memory spool
    for headers in ({}, _auth(tokens["analyst"])):
        r = client.post("/api/datasets", headers=headers, files={"file": ("big.csv", big)})
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert reads == [] and list(spool.iterdir()) == []
    # an admin's too-large upload is refused by its length, again before reading
    monkeypatch.setattr(upload, "MAX_UPLOAD_BYTES", 1 << 20)
    r = client.post("/api/datasets", headers=_auth(tokens["admin"]),
                    files={"file": ("big.csv", big)})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too-large"
    assert reads == [] and list(spool.iterdir()) == []


def test_multipart_errors_have_the_one_error_shape(upload_api):
    client, tokens = upload_api
    h = _auth(tokens["admin"])
    for ctype, body, status in (("multipart/form-data", b"--x\r\n", 422),  # no boundary
                                ("multipart/form-data; boundary=x", b"garbage", 422),
                                ("text/plain", b"a,b\n1,2\n", 415)):
        r = client.post("/api/datasets", headers={**h, "Content-Type": ctype}, content=body)
        assert r.status_code == status, r.text
        err = r.json()["error"]
        assert set(err) == {"code", "message", "location"} and "/tmp" not in err["message"]
