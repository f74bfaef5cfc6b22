"""What deduplication gives a protection officer (issue 19): the clusters as a table, a review
queue in a clerk's words with each comparison's share of the score, and a quiet terminal with
library logs in a log file.

Expected values are computed beside the tests with plain pandas/python (cluster sizes by
counting, the score as prior odds times the factors), never read back from the code under test.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from idpkit.cli.app import app
from idpkit.testing.demo_register import generate_register, write_register_csv

LOG_NOISE = ("splink", "Iteration", "EM ", "u probabilities", "Estimating", "m probabilities")


def _env(folder: Path) -> dict[str, str]:
    return {"IDPKIT_PSEUDONYM_KEY_FILE": str(folder / "key"),
            "IDPKIT_REGISTER_DB": str(folder / "protected.duckdb"),
            "IDPKIT_LOG": str(folder / "idpkit.log"), "IDPKIT_CRASH_DIR": str(folder / "crash")}


def _cli(env: dict[str, str], *args: str):
    db = str(Path(env["IDPKIT_REGISTER_DB"]).with_name("w.duckdb"))
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        return CliRunner().invoke(app, [*args, "--db", db])


@pytest.fixture(scope="module")
def register(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reg")
    env = _env(folder)
    # 600 records: some registers of 400 and fewer fail Splink's training (model side, issue 19)
    reg = generate_register(600, seed=2, hardest=True)
    csv = write_register_csv(reg, folder / "register.csv")
    r = _cli(env, "register", "import", str(csv), "--phone-region", "SD")
    assert r.exit_code == 0, r.output
    run = _cli(env, "dedup", "run")
    assert run.exit_code == 0, run.output
    return env, reg, run


def _clusters(env) -> pd.DataFrame:
    r = _cli(env, "dedup", "clusters")
    assert r.exit_code == 0, r.output
    return pd.read_csv(io.StringIO(r.stdout), dtype={"record_id": str, "linked_record": str})


def test_dedup_run_prints_no_library_logs(register):
    env, _, run = register
    assert "people" in run.output
    noisy = [ln for ln in run.output.splitlines() if any(w in ln for w in LOG_NOISE)]
    assert not noisy, noisy[:5]
    assert "Estimating u" in Path(env["IDPKIT_LOG"]).read_text(encoding="utf-8")


def test_clusters_one_row_per_record_with_sizes_and_links(register):
    env, reg, _ = register
    c = _clusters(env)
    assert sorted(c.record_id) == sorted(reg.records.record_id)
    sizes = Counter(c.person_id)  # counted here, independently of the export
    assert (c.cluster_size == c.person_id.map(sizes)).all()
    con = duckdb.connect(env["IDPKIT_REGISTER_DB"], read_only=True)
    stored = dict(con.execute("SELECT record_id, cluster_id FROM reg_clusters").fetchall())
    con.close()
    assert dict(zip(c.record_id, c.person_id, strict=True)) == stored
    person = dict(zip(c.record_id, c.person_id, strict=True))
    linked = c[c.cluster_size > 1]
    assert len(linked) > 0 and set(linked.link_source) <= {"model", "decision"}
    assert all(person[r] == p for r, p in zip(linked.linked_record, linked.person_id,
                                              strict=True))
    model = linked[linked.link_source == "model"]
    assert model.link_probability.between(0, 1).all()
    alone = c[c.cluster_size == 1]
    assert alone.linked_record.isna().all() and alone.link_source.isna().all()
    # no column holds a personal field of the register
    assert set(c.columns) == {"record_id", "person_id", "cluster_size", "household_cluster",
                              "linked_record", "link_probability", "link_source"}


def test_clusters_json_equals_csv_and_file_output(register, tmp_path):
    env, _, _ = register
    csv = _clusters(env)
    r = _cli(env, "dedup", "clusters", "--format", "json", "-o", str(tmp_path / "c.json"))
    assert r.exit_code == 0, r.output
    js = pd.DataFrame(json.loads((tmp_path / "c.json").read_text(encoding="utf-8")))
    assert list(js.columns) == list(csv.columns) and len(js) == len(csv)
    assert list(js.record_id) == list(csv.record_id)
    assert list(js.person_id) == list(csv.person_id)


def test_clusters_before_any_run_is_a_clear_error(tmp_path):
    from idpkit.linkage.register import RegisterError

    r = _cli(_env(tmp_path), "dedup", "clusters")
    assert r.exit_code == 1
    assert isinstance(r.exception, RegisterError)
    assert "no deduplication run yet" in str(r.exception)


def test_review_list_in_a_clerks_words_with_factors_that_make_the_score(register):
    env, _, _ = register
    r = _cli(env, "dedup", "review", "--list", "--limit", "3")
    assert r.exit_code == 0, r.output
    if "queue is empty" in r.output:
        pytest.skip("no pair in the review band for this register")
    out = r.output
    assert "Given name" in out and "Why this score" in out and "Date of birth" in out
    for internal in ("sex_as_written", "phone_as_written", "first_norm", "_skel", "dob_year",
                     "family_name "):
        assert internal not in out, internal
    # the factors explain the score: prior odds × every factor = the run's match odds
    from idpkit.linkage.explain import Explainer
    from idpkit.linkage.model import MODEL_COLUMNS
    from idpkit.linkage.runs import model_frame

    con = duckdb.connect(env["IDPKIT_REGISTER_DB"], read_only=True)
    model = json.loads(con.execute("SELECT model FROM reg_model").fetchone()[0])
    people = con.execute("SELECT * FROM reg_people").df()
    pairs = con.execute("SELECT record_l, record_r, match_probability FROM reg_pairs "
                        "WHERE in_review_queue LIMIT 3").df()
    con.close()
    ex = Explainer(model, model_frame(people)[MODEL_COLUMNS])
    prior = model["probability_two_random_records_match"]
    for p in pairs.itertuples():
        odds = prior / (1 - prior)
        for c in ex.explain(p.record_l, p.record_r).contributions:
            odds *= c.bayes_factor
        assert odds / (1 + odds) == pytest.approx(p.match_probability, rel=1e-6)


def test_a_clerks_match_shows_as_the_link(register):
    env, _, _ = register
    c = _clusters(env)
    con = duckdb.connect(env["IDPKIT_REGISTER_DB"], read_only=True)
    ev = dict(con.execute("SELECT record_id, registration_event FROM reg_people").fetchall())
    con.close()
    alone = c[c.cluster_size == 1].record_id.tolist()
    a = alone[0]
    b = next(x for x in alone[1:] if ev[x] != ev[a])
    assert _cli(env, "dedup", "decide", a, b, "match", "--reason", "same card").exit_code == 0
    assert _cli(env, "dedup", "run").exit_code == 0
    c = _clusters(env).set_index("record_id")
    assert c.person_id[a] == c.person_id[b]
    assert c.link_source[a] == "decision" and c.linked_record[a] == b
    assert pd.isna(c.link_probability[a])


@pytest.mark.parametrize("label, words", [
    ("first_norm is NULL", "given name missing"),
    ("Exact match on first_skel", "given name sounds the same"),
    ("Jaro-Winkler distance of father_norm >= 0.92", "father's name very similar"),
    ("(Exact match on dob_year) AND (Exact match on dob_month)",
     "same birth year and same birth month"),
    ("Match on reversed cols: father_skel and family_skel (one direction)",
     "father's name and family name swapped"),
    ("Absolute difference of 'dob_year' <= 1", "birth year within 1"),
    ("All other comparisons", "different"),
])
def test_level_labels_in_words(label, words):
    from idpkit.linkage.explain import level_label

    assert level_label(label) == words


def test_verbose_shows_library_logs_and_default_keeps_them_in_the_file(tmp_path):
    env = {**os.environ, **_env(tmp_path)}
    reg = generate_register(500, seed=7, hardest=True)
    csv = write_register_csv(reg, tmp_path / "r.csv")
    db = str(tmp_path / "w.duckdb")

    def idpkit(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", "from idpkit.cli.app import main; main()",
                               *args], capture_output=True, text=True, env=env, timeout=600)

    assert idpkit("register", "import", str(csv), "--db", db).returncode == 0
    quiet = idpkit("dedup", "run", "--db", db)
    assert quiet.returncode == 0, quiet.stderr
    noisy = [ln for ln in (quiet.stdout + quiet.stderr).splitlines()
             if any(w in ln for w in LOG_NOISE)]
    assert not noisy, noisy[:5]
    log = Path(env["IDPKIT_LOG"])
    text = log.read_text(encoding="utf-8")
    assert "Estimating u" in text
    assert (log.stat().st_mode & 0o077) == 0  # private, like the pseudonymisation key
    personal = set()
    for col in ("first_name", "father_name", "family_name", "phone", "id_number",
                "date_of_birth"):
        personal |= {v for v in reg.records[col].dropna().astype(str) if len(v) >= 5}
    assert not [v for v in personal if v in text]  # log lines name columns, never values
    loud = idpkit("--verbose", "dedup", "run", "--db", db)
    assert loud.returncode == 0, loud.stderr
    assert "Estimating u" in loud.stderr


def test_run_reports_its_stages_in_order(register, monkeypatch):
    from idpkit.linkage.register import open_protected
    from idpkit.warehouse import connect

    env, _, _ = register
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    stages: list[str] = []
    db = str(Path(env["IDPKIT_REGISTER_DB"]).with_name("w.duckdb"))
    from idpkit.linkage.runs import run

    with connect(db) as wh:
        prot = open_protected(db)
        try:
            run(wh, prot, progress=stages.append)
        finally:
            prot.close()
    assert stages == ["preparing", "training", "scoring", "clustering"]


def test_the_protected_store_is_readable_by_its_owner_only(tmp_path, monkeypatch):
    """Issue 22: the register store was created 0644 — any local user could read names and
    phones. It is 0600, also when it existed before with looser permissions."""
    import os
    import stat

    from idpkit.linkage.register import open_protected, protected_target

    monkeypatch.delenv("IDPKIT_REGISTER_DB", raising=False)
    old = os.umask(0o022)
    try:
        db = str(tmp_path / "w.duckdb")
        open_protected(db).close()
        store = protected_target(db)
        assert stat.S_IMODE(os.stat(store).st_mode) == 0o600
        os.chmod(store, 0o644)  # a store made before the fix
        open_protected(db).close()
        assert stat.S_IMODE(os.stat(store).st_mode) == 0o600
        assert os.umask(0o022) == 0o022  # the process's umask is left as it was
    finally:
        os.umask(old)
