"""Community voice (issue 7): consultations stored with their priorities, counted per group,
shown in the profile, on every backend."""

from __future__ import annotations

from pathlib import Path

from idpkit.areas.profile import area_profile, profiles_table
from idpkit.areas.voice import consultations, import_consultations, priorities
from idpkit.warehouse.areas import load_areas, read_gazetteer_csv

FIX = Path(__file__).parent / "fixtures" / "areas"
CSV = """pcode,date,method,group,participants,organisation,priorities,notes
XQ010101,2025-03-01,focus group discussion,IDPs,12,Org A,water; Shelter ; jobs,first meeting
XQ010102,2025-04-02,community meeting,Host residents,30,Org B,jobs|water,hosts worried
XQ0101,2025-05-03,key informant,IDPs,1,Org A,water,
XQ0201,2025-05-03,key informant,nobody,1,Org A,water,
XQ0201,2025-05-03,key informant,idps,1,Org A,,
"""


def test_consultations_priorities_and_profile(wh, tmp_path):
    load_areas(wh, read_gazetteer_csv(FIX / "gazetteer.csv"))
    p = tmp_path / "c.csv"
    p.write_text(CSV, encoding="utf-8")
    s = import_consultations(wh, p)
    assert (s.rows_accepted, s.rows_quarantined) == (3, 2)
    assert {(f.code, f.row) for f in s.findings} == {("unknown-group", 5), ("missing-value", 6)}
    pr = priorities(wh, "XQ0101").set_index(["population_group", "priority"])
    assert pr.loc[("idps", "water")].times_raised == 2
    assert pr.loc[("idps", "water")].times_first == 2
    assert pr.loc[("idps", "shelter")].times_first == 0
    assert pr.loc[("host_community", "jobs")].times_first == 1
    c = consultations(wh, "XQ0101", with_notes=False)
    assert len(c) == 3 and "notes" not in c
    prof = area_profile(wh, "XQ0101", public=True)
    assert len(prof["voice"]) == 3 and all("notes" not in v for v in prof["voice"])
    first = {(r["population_group"], r["priority"]): r["times_first"] for r in prof["priorities"]}
    assert first[("idps", "water")] == 2
    assert "needs: no needs results for this area (run `idpkit areas needs severity`)" in \
        prof["notes"]
    table = profiles_table(wh, 2).set_index("area_pcode")
    assert table.loc["XQ0101", "consultations"] == 3
    assert table.loc["XQ0102"].isna()["consultations"]
