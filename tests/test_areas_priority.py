"""Priority ranking (issue 7): scores and ranks hand-computed, ties, stability measures."""

from __future__ import annotations

import pandas as pd
import pytest

from idpkit.areas.priority import alternatives, parse_weights, scores, stability
from idpkit.errors import IdpkitError

pytestmark = pytest.mark.core


def _criteria() -> pd.DataFrame:
    return pd.DataFrame({
        "area_pcode": ["A", "B", "C", "D"],
        "severity": [4, 3, 4, 2],
        "pin": [1000.0, 3000.0, 1000.0, 0.0],
        "pin_share": [0.5, 0.5, 0.5, 0.5],      # constant: scores 0 for everyone
        "unmet": [1000.0, 0.0, 1000.0, 0.0],
    })


def test_scores_hand_computed_with_ties():
    w = {"severity": 0.5, "pin": 0.5, "pin_share": 0.0, "unmet": 0.0}
    s = scores(_criteria(), w).set_index("area_pcode")
    # severity scaled (x-2)/2: A 1, B .5, C 1, D 0; pin scaled /3000: A 1/3, B 1, C 1/3, D 0
    assert s.loc["A", "score"] == pytest.approx(0.5 * 1 + 0.5 / 3)
    assert s.loc["B", "score"] == pytest.approx(0.75)
    assert s.loc["D", "score"] == 0
    # A and C tie: both rank 2 after B (min method), D is 4th; P-code order within a tie
    assert (s.loc["B", "rank"], s.loc["A", "rank"], s.loc["C", "rank"], s.loc["D", "rank"]) == \
        (1, 2, 2, 4)
    assert list(scores(_criteria(), w).area_pcode) == ["B", "A", "C", "D"]


def test_weights_are_normalised():
    a = scores(_criteria(), {"severity": 1, "pin": 1, "pin_share": 0, "unmet": 0})
    b = scores(_criteria(), {"severity": 5, "pin": 5, "pin_share": 0, "unmet": 0})
    pd.testing.assert_frame_equal(a, b)


def test_stability_lists_alternatives_and_top_kept():
    w = {"severity": 0.5, "pin": 0.5, "pin_share": 0.0, "unmet": 0.0}
    alts = alternatives(w)
    assert set(alts) == {"severity halved", "severity doubled", "without severity",
                         "pin halved", "pin doubled", "without pin", "equal weights"}
    st = stability(_criteria(), w, top=2).set_index("weights")
    # the top 2 by rank is {B, A, C}: a tie at rank 2 keeps both
    assert (st.top_size == 3).all()
    # severity weighs 2/3: A and C (score 7/9) pass B (2/3); B leaves the top 2
    doubled = st.loc["severity doubled"]
    assert (doubled.top_area, doubled.top_kept) == ("A", 2)
    assert doubled.spearman < 1
    # pin alone, or severity halved, order the areas as the chosen weights do
    for name in ("without severity", "severity halved"):
        assert st.loc[name].spearman == pytest.approx(1.0)
        assert st.loc[name].kendall == pytest.approx(1.0)
        assert (st.loc[name].top_area, st.loc[name].top_kept) == ("B", 3)


def test_parse_weights():
    assert parse_weights("severity=1,pin=2") == {"severity": 1, "pin": 2, "pin_share": 0,
                                                 "unmet": 0}
    for bad in ("nope=1", "pin=x", "pin=-1", "pin=0"):
        with pytest.raises(IdpkitError):
            parse_weights(bad)
