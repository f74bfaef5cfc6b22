"""The standard indicator library: coverage of IRIS and IASC, and how specs use it."""

from __future__ import annotations

import pytest

from idpkit.solutions.design import DesignError
from idpkit.solutions.indicators import IASC_CRITERIA, IRIS_CODES, library
from idpkit.solutions.store import SurveySpec

pytestmark = pytest.mark.core


def test_library_covers_every_iris_sub_criterion_and_the_iasc_criteria():
    lib = library()
    assert len(lib) >= 20
    assert {i["iris"] for i in lib.values() if i.get("iris")} == set(IRIS_CODES)
    assert {i["iasc"] for i in lib.values()} == set(IASC_CRITERIA)
    for ind in lib.values():
        assert ind["question"] and ind["label"] and ind["demo"]["variable"]
        assert ind["better"] in ("higher", "lower")


def test_specs_use_library_indicators_with_their_own_columns():
    spec = SurveySpec.from_dict({"design": {"weights": "w"}, "indicators": [
        {"use": "employment_rate", "variable": "q12_worked"},
        {"use": "school_attendance", "variable": "kids_school", "denominator": "kids_6_17"},
        {"name": "own_indicator", "variable": "x", "statistic": "mean",
         "sub_criterion": "food_security"}]})
    emp, school, own = spec.indicators
    assert (emp.variable, emp.iris, emp.iasc, emp.criterion) == (
        "q12_worked", "3.1", 3, "livelihoods_employment")
    assert emp.benchmark == 1 and emp.library_id == "employment_rate"
    assert school.statistic == "ratio" and school.denominator == "kids_6_17"
    assert own.iris == "2.1" and own.library_id is None


@pytest.mark.parametrize("item,message", [
    ({"use": "happiness", "variable": "x"}, "no standard indicator 'happiness'"),
    ({"use": "employment_rate"}, "give the survey's column"),
    ({"name": "x", "variable": "x", "iris": "9.9"}, "IRIS sub-criterion code"),
])
def test_bad_library_use_is_a_clear_error(item, message):
    with pytest.raises(DesignError, match=message):
        SurveySpec.from_dict({"design": {"weights": "w"}, "indicators": [item]})
