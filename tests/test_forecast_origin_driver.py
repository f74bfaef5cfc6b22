"""The origin-area driver: departures from an area's known origins to elsewhere, by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd

from idpkit.forecast.drivers import origin_driver
from idpkit.forecast.series import Panel


def _panel() -> Panel:
    keys = pd.DataFrame({"area_pcode": ["D1", "D2"], "area_name": ["d1", "d2"],
                         "admin_level": [2, 2], "parent_pcode": ["R", "R"],
                         "target": ["arrivals"] * 2, "population_group": ["idps"] * 2,
                         "unit": ["individuals"] * 2})
    months = pd.period_range("2024-01", "2024-05", freq="M")
    return Panel(keys, months, np.zeros((2, 5)))


def _od(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["origin", "dest", "month", "value"])
    df["month"] = pd.PeriodIndex(df["month"], freq="M")
    return df


def test_origin_outflow_by_hand():
    od = _od([
        ("O1", "D1", "2024-02", 10.0),   # O1 becomes an origin of D1 in February
        ("O1", "D2", "2024-01", 5.0),    # ... and of D2 in January
        ("O1", "D2", "2024-02", 7.0),
        ("O1", "X", "2024-03", 30.0),    # O1 sends people elsewhere in March
        ("O2", "D2", "2024-03", 4.0),
        ("O2", "X", "2024-04", 9.0),
    ])
    d = origin_driver(_panel(), od)["origin_outflow"]
    # D1: origin O1 from Feb. Jan: O1 not yet an origin -> 0; Feb: O1 out 17 - own 10 = 7;
    # Mar: 30; Apr: O1 sent nothing -> 0; May: not covered by the flow data -> unknown
    np.testing.assert_array_equal(d[0, :4], [0.0, 7.0, 30.0, 0.0])
    assert np.isnan(d[0, 4])
    # D2: O1 from Jan (Jan: 5-5=0; Feb: 17-7=10; Mar: 30), O2 from Mar (Mar: 4-4=0; Apr: 9)
    np.testing.assert_array_equal(d[1, :4], [0.0, 10.0, 30.0, 9.0])


def test_no_look_ahead():
    """Changing flows after month m never changes the driver at or before m."""
    base = [("O1", "D1", "2024-01", 3.0), ("O1", "X", "2024-02", 8.0)]
    later = base + [("O2", "D1", "2024-04", 50.0), ("O2", "X", "2024-02", 99.0),
                    ("O1", "X", "2024-05", 70.0)]
    a = origin_driver(_panel(), _od(base))["origin_outflow"]
    b = origin_driver(_panel(), _od(later))["origin_outflow"]
    # O2 became D1's origin only in April: its February departures must not count for D1
    np.testing.assert_array_equal(a[0, :2], b[0, :2])
    assert b[0, 1] == 8.0


def test_empty_flows_give_unknown():
    d = origin_driver(_panel(), _od([]))["origin_outflow"]
    assert np.isnan(d).all()
