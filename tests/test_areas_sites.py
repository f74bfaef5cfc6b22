"""Site risk (issue 7): tiers, reasons, missing checks, trends and flags against hand-computed
cases, and the import's row checks, on every backend."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from idpkit.areas.sites import RiskConfig, import_sites, reason_text, site_risk
from idpkit.errors import AlreadyImportedError
from idpkit.warehouse.areas import load_areas, read_gazetteer_csv

FIX = Path(__file__).parent / "fixtures" / "areas"
HEADER = ("site_id,round,date,pcode,individuals,covered_area_m2,site_area_m2,"
          "water_litres_per_day,latrines,handwashing_stations,health_facility_km,"
          "isolation_spaces\n")
ROWS = [
    "S1,R1,2025-04-15,XQ010101,100,400,5000,2000,5,5,2,1",      # every check met
    "S1,R2,15/05/2025,XQ010101,200,400,5000,2000,5,5,2,1",      # crowded: 2+1+2+1 = 6
    "S2,R1,2025-04-15,XQ010201,100,,6000,1400,0,3,7,0",         # no latrine, water 14, far
    "S3,R1,2025-04-15,XQ020101,0,100,100,100,1,1,1,1",          # nobody counted: unknown
    "S9,R1,2025-04-15,XQ020101,50,200,3000,1000,2,2,1,1",       # not in sites: warning
    "S4,R1,2025-04-15,XQ020101,-5,200,3000,1000,2,2,1,1",       # negative: quarantined
    "S4,R1,someday,XQ020101,50,200,3000,1000,2,2,1,1",          # bad date: quarantined
    "S5,R1,2025-04-15,XQ777777,50,200,3000,1000,2,2,1,1",       # unknown P-code
]


@pytest.fixture
def risk_wh(wh, tmp_path):
    load_areas(wh, read_gazetteer_csv(FIX / "gazetteer.csv"))
    wh.execute_atomically([
        ("INSERT INTO sites (site_id, site_name, site_type, area_pcode) VALUES "
        "('S1', 'Camp One', 'camp', 'XQ010101'), ('S2', 'School', 'collective_centre', "
        "'XQ010201'), ('S3', 'Field', 'informal_settlement', 'XQ020101'), "
        "('S4', 'Four', 'camp', 'XQ020101'), ('S5', 'Five', 'camp', 'XQ020101')")])
    path = tmp_path / "sites.csv"
    path.write_text(HEADER + "\n".join(ROWS) + "\n", encoding="utf-8")
    stored = import_sites(wh, path)
    return wh, stored, path


def test_import_checks_rows_and_is_not_repeated(risk_wh):
    wh, stored, path = risk_wh
    assert (stored.rows_read, stored.rows_accepted, stored.rows_quarantined) == (8, 5, 3)
    found = {(f.code, f.row, f.column) for f in stored.findings}
    assert ("negative-count", 7, "individuals") in found
    assert ("invalid-date", 8, "date") in found
    assert ("unknown-pcode", 9, "pcode") in found
    assert ("unknown-site", 6, "site_id") in found
    q = wh.table("quarantine").filter(lambda t: t.dataset_id == stored.dataset_id).execute()
    assert sorted(q.source_row) == [7, 8, 9]
    assert '"individuals": "-5"' in q[q.source_row == 7].raw.iloc[0]
    with pytest.raises(AlreadyImportedError):
        import_sites(wh, path)


def test_tiers_reasons_trends_and_flags(risk_wh):
    wh = risk_wh[0]
    every = site_risk(wh, latest=False).set_index(["site_id", "round"])
    r1 = every.loc[("S1", "R1")]
    assert (r1.points, r1.tier, r1.trend, bool(r1.flagged)) == (0, "low", "new", False)
    assert pd.isna(r1.reasons)
    r2 = every.loc[("S1", "R2")]
    assert r2.covered_space == pytest.approx(2.0) and r2.water == pytest.approx(10.0)
    assert r2.latrines == pytest.approx(40.0)
    assert set(r2.reasons.split(",")) == {"covered_space", "site_space", "water", "latrines"}
    assert (r2.points, r2.tier, r2.previous_tier, r2.trend) == (6, "high", "low", "worse")
    assert bool(r2.flagged) and bool(r2.latest) and not bool(r1.latest)
    s2 = every.loc[("S2", "R1")]
    # no latrine breaches the maximum; handwashing per latrine and covered space are unknown
    assert set(s2.reasons.split(",")) == {"latrines", "water", "health_distance", "isolation"}
    assert set(s2.missing.split(",")) == {"covered_space", "handwashing"}
    assert pd.isna(s2.latrines)
    assert (s2.points, s2.tier, bool(s2.flagged)) == (5, "high", True)
    s3 = every.loc[("S3", "R1")]
    assert s3.tier == "unknown" and not bool(s3.flagged)
    latest = site_risk(wh)
    assert list(latest.site_id[:2]) == ["S1", "S2"]  # worst first
    assert set(site_risk(wh, flagged_only=True).site_id) == {"S1", "S2"}
    assert set(site_risk(wh, area="XQ0102").site_id) == {"S2"}


def test_thresholds_are_configurable(risk_wh, tmp_path):
    wh = risk_wh[0]
    cfg = tmp_path / "t.yaml"
    cfg.write_text("checks:\n  water: {min: 9, points: 5}\ntiers: {high: 5, medium: 1, low: 0}\n"
                   "flag_worsening: false\n", encoding="utf-8")
    c = RiskConfig.load(cfg)
    df = site_risk(wh, c, latest=False).set_index(["site_id", "round"])
    assert df.loc[("S1", "R2")].tier == "low"  # water 10 L >= 9
    assert df.loc[("S2", "R1")].tier == "low"
    assert "water" in reason_text("water", c)


def test_bad_thresholds_file_is_an_error(tmp_path):
    from idpkit.errors import IdpkitError

    p = tmp_path / "t.yaml"
    p.write_text("checks:\n  crowding: {min: 1}\ntiers: {high: 1, medium: 1, low: 0}\n")
    with pytest.raises(IdpkitError, match="unknown check"):
        RiskConfig.load(p)


def test_risk_help_states_the_order_the_list_has(risk_wh):
    from typer.testing import CliRunner

    from idpkit.cli.app import app

    out = CliRunner().invoke(app, ["areas", "sites", "risk", "--help"], terminal_width=200)
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())
    assert "flagged sites first" not in text
    assert "by tier (high, medium, low, unknown), then points" in text
    # the order the help states, computed in pandas: tier rank, then points descending
    df = site_risk(risk_wh[0], latest=False)
    rank = df.tier.map({"high": 0, "medium": 1, "low": 2, "unknown": 3})
    key = list(zip(rank, -df.points.fillna(0), strict=True))
    assert key == sorted(key)
