"""Any register imports (issue 19): any subset of the optional columns, each empty or holding
integers, floats with gaps, booleans, text or dates, imports through the CLI — or is refused with
a RegisterError that says what is missing — and then ``dedup run`` completes. Never a traceback.

Hypothesis draws the registers; examples are few and small so the file runs in about a minute.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from idpkit.cli.app import app
from idpkit.errors import IdpkitError

OPTIONAL = ["household_ref", "organisation", "registration_date", "site_id", "area_pcode",
            "relationship", "first_name", "father_name", "grandfather_name", "family_name",
            "full_name", "sex", "date_of_birth", "year_of_birth", "age", "phone", "id_number",
            "address", "locality", "postcode"]
IDENTIFYING = {"first_name", "father_name", "grandfather_name", "family_name", "full_name",
               "date_of_birth", "phone", "id_number"}
NAMES = ["Ali", "Amina", "Guled", "John", "Garang", "محمد", "Fatima", "Abdel Rahman", "Nyakim"]
KINDS = ["empty", "int", "float", "bool", "text", "date"]


def _column(kind: str, n: int, draw) -> list[object]:
    if kind == "empty":
        return [None] * n
    if kind == "int":
        return draw(st.lists(st.integers(0, 10**10), min_size=n, max_size=n))
    if kind == "float":
        return draw(st.lists(st.one_of(st.none(), st.floats(0, 1e6, allow_nan=False)),
                             min_size=n, max_size=n))
    if kind == "bool":
        return draw(st.lists(st.booleans(), min_size=n, max_size=n))
    if kind == "text":
        return draw(st.lists(st.one_of(st.none(), st.sampled_from(NAMES)), min_size=n,
                             max_size=n))
    return draw(st.lists(st.one_of(st.none(), st.dates().map(str),
                                   st.dates().map(lambda d: d.strftime("%d/%m/%Y")),
                                   st.dates().map(lambda d: d.strftime("%Y%m%d")),
                                   st.just("not a date")), min_size=n, max_size=n))


@st.composite
def registers(draw) -> pd.DataFrame:
    n = draw(st.integers(2, 30))
    cols = draw(st.lists(st.sampled_from(OPTIONAL), unique=True, max_size=len(OPTIONAL)))
    df = pd.DataFrame({"record_id": [f"R{i}" for i in range(n)]})
    for c in cols:
        df[c] = _column(draw(st.sampled_from(KINDS)), n, draw)
    return df


def _invoke(folder: Path, *args: str):
    env = {"IDPKIT_PSEUDONYM_KEY_FILE": str(folder / "key"),
           "IDPKIT_REGISTER_DB": str(folder / "p.duckdb"), "IDPKIT_LOG": str(folder / "log"),
           "IDPKIT_CRASH_DIR": str(folder / "crash")}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        return CliRunner().invoke(app, [*args, "--db", str(folder / "w.duckdb")])


def _import(folder: Path, df: pd.DataFrame) -> bool:
    """Import ``df`` written as CSV; True when imported, False when refused with a clear
    RegisterError; anything else fails the test."""
    df.to_csv(folder / "r.csv", index=False)
    r = _invoke(folder, "register", "import", str(folder / "r.csv"), "--phone-region", "SO")
    if r.exit_code == 0:
        return True
    assert isinstance(r.exception, IdpkitError), (r.exception, r.output)
    filled = [c for c in IDENTIFYING & set(df.columns) if df[c].notna().any()]
    assert not filled, f"refused although {filled} hold values: {r.exception}"
    assert "nothing to match records by" in str(r.exception)
    return False


@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(df=registers())
def test_any_columns_import_or_are_refused_clearly(df):
    with tempfile.TemporaryDirectory() as tmp:
        _import(Path(tmp), df)


@settings(max_examples=8, deadline=None, derandomize=True,
          phases=[Phase.explicit, Phase.generate],  # no shrinking: each example trains a model
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(df=registers())
def test_any_imported_register_deduplicates(df):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if not _import(folder, df):
            return
        r = _invoke(folder, "dedup", "run")
        assert r.exit_code == 0, (r.exception, r.output)
        assert "people" in r.output


def _stand_in_model(frame: pd.DataFrame, *, threshold: float, **_) -> object:
    """A stand-in for Splink: links each record to the next one (probability 0.95) so that the
    run's own steps — events, cannot-link, clusters, households, units — are exercised on
    every register, whatever the model side does with its columns."""
    from idpkit.linkage.dedup import DedupResult

    ids = frame.unique_id.tolist()
    pairs = pd.DataFrame({"unique_id_l": ids[:-1], "unique_id_r": ids[1:],
                          "match_probability": 0.95, "linked": True})
    return DedupResult(pd.DataFrame({"unique_id": ids, "cluster_id": ids}), pairs, threshold,
                       {})


@settings(max_examples=15, deadline=None, derandomize=True,
          phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(df=registers())
def test_the_run_around_the_model_takes_any_register(df, monkeypatch):
    """``dedup run`` and ``dedup clusters`` with the model replaced: every record in one row of
    the export, no two records of one registration event in one person."""
    import io

    import idpkit.linkage.runs as runs

    monkeypatch.setattr(runs, "deduplicate", _stand_in_model)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if not _import(folder, df):
            return
        r = _invoke(folder, "dedup", "run")
        assert r.exit_code == 0, (r.exception, r.output)
        c = _invoke(folder, "dedup", "clusters")
        assert c.exit_code == 0, (c.exception, c.output)
        out = pd.read_csv(io.StringIO(c.stdout), dtype=str)
        # every record with something to match by is registered (the rest are quarantined)
        ident = [col for col in IDENTIFYING if col in df.columns]
        kept = df.record_id[df[ident].notna().any(axis=1)] if ident else df.record_id[:0]
        assert sorted(out.record_id) == sorted(kept)
        import duckdb

        con = duckdb.connect(str(folder / "p.duckdb"), read_only=True)
        ev = con.execute("SELECT record_id, registration_event FROM reg_people").df()
        con.close()
        m = out.merge(ev, on="record_id")
        assert not m.duplicated(["person_id", "registration_event"]).any()
