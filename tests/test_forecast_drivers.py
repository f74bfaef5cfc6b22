"""Driver files: ACLED-shaped conflict events and monthly indicators, aligned to a panel."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idpkit.forecast.drivers import (
    conflict_drivers,
    indicator_drivers,
    read_conflict_events,
    read_indicators,
    sibling_driver,
)
from idpkit.forecast.series import ForecastError, Panel

AREAS = pd.DataFrame({"pcode": ["X01", "X0101", "X0102"], "name": ["North", "Alpha", "Beta"],
                      "admin_level": [1, 2, 2], "parent_pcode": ["X", "X01", "X01"]})


def _panel() -> Panel:
    keys = pd.DataFrame({"area_pcode": ["X0101", "X0102"], "area_name": ["Alpha", "Beta"],
                         "admin_level": 2, "parent_pcode": "X01", "target": "arrivals",
                         "population_group": "idps", "unit": "individuals"})
    return Panel(keys, pd.period_range("2024-01", periods=3, freq="M"),
                 np.array([[1.0, np.nan, 3.0], [10.0, 20.0, np.nan]]))


def _write(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return path


def test_conflict_events_by_name_per_month(tmp_path):
    f = _write(tmp_path / "acled.csv", [
        ["event_date", "event_type", "admin1", "admin2", "fatalities"],
        ["2024-01-05", "Battles", "North", "alpha", "3"],
        ["14 January 2024", "Violence against civilians", "North", "Alpha", ""],
        ["2024-02-02", "Protests", "North", "Alpha", "0"],  # not counted as an event
        ["2024-02-09", "Battles", "North", "Nowhere", "7"],  # unknown area: dropped
    ])
    d = conflict_drivers(_panel(), read_conflict_events(f), AREAS)
    ev, fat = d["conflict_events"], d["conflict_fatalities"]
    np.testing.assert_array_equal(ev[0, :2], [2, 0])
    np.testing.assert_array_equal(fat[0, :2], [3, 0])
    assert np.isnan(ev[0, 2])  # March is outside the file: unknown, not zero
    np.testing.assert_array_equal(ev[1, :2], [0, 0])


def test_bad_rows_are_named(tmp_path):
    f = _write(tmp_path / "acled.csv", [["event_date", "admin2", "fatalities"],
                                        ["2024-01-05", "Alpha", "1"], ["yesterday", "Alpha", "1"]])
    with pytest.raises(ForecastError, match=r"row 3, field 'event_date': 'yesterday'"):
        read_conflict_events(f)
    g = _write(tmp_path / "acled2.csv", [["event_date", "admin2", "fatalities"],
                                         ["2024-01-05", "Alpha", "-4"]])
    with pytest.raises(ForecastError, match=r"acled2.csv: row 2, field 'fatalities'"):
        read_conflict_events(g)
    h = _write(tmp_path / "rain.csv", [["pcode", "month", "rainfall_anomaly"],
                                       ["X01", "2024-01", "0.5"], ["X01", "2024-02", "wet"]])
    with pytest.raises(ForecastError, match=r"row 3, field 'rainfall_anomaly': 'wet'"):
        read_indicators(h)


def test_indicators_parent_value_applies_to_children(tmp_path):
    f = _write(tmp_path / "hz.csv", [["pcode", "month", "rainfall_anomaly", "note"],
                                     ["X01", "2024-01", "1.5", "regional"],
                                     ["X0102", "2024-01", "-0.5", "own"]])
    d = indicator_drivers(_panel(), read_indicators(f))
    assert list(d) == ["rainfall_anomaly"]  # the text column is not a driver
    np.testing.assert_array_equal(d["rainfall_anomaly"][:, 0], [1.5, -0.5])
    assert np.isnan(d["rainfall_anomaly"][0, 1])


def test_sibling_driver():
    d = sibling_driver(_panel())["neighbour_target"]
    np.testing.assert_array_equal(d[0, :2], [10, 20])
    assert np.isnan(d[0, 2]) and d[1, 2] == 3  # row 0's only sibling is a gap in March
    assert d[1, 0] == 1 and np.isnan(d[1, 1])  # and row 1's in February


@given(st.lists(st.lists(st.text(max_size=12), min_size=3, max_size=3), max_size=6))
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_readers_never_crash_on_garbage(tmp_path, rows):
    f = _write(tmp_path / "g.csv", [["event_date", "admin2", "fatalities"], *rows])
    for reader in (read_conflict_events, read_indicators):
        try:
            out = reader(f)
        except ForecastError as exc:
            assert "g.csv" in str(exc)
        else:
            assert isinstance(out, pd.DataFrame)
