"""Controlled vocabularies used everywhere (tables, CLI, API, exports).

These strings are public: add values, never rename them.
"""

from __future__ import annotations

POPULATION_GROUPS: tuple[str, ...] = ("idps", "returnees", "host_community", "refugees", "migrants")
UNITS: tuple[str, ...] = ("individuals", "households")
CAUSES: tuple[str, ...] = ("conflict", "disaster", "other", "unknown")
SEXES: tuple[str, ...] = ("all", "female", "male")
# Metrics say what a number counts. A stock is a count at the reporting date; the others are flows
# over the period the round covers (IRIS terminology).
METRICS: tuple[str, ...] = (
    "present_stock",
    "arrivals",
    "departures",
    "returns",
    "new_displacement",
    "secondary_displacement",
)
ASSESSMENT_TYPES: tuple[str, ...] = (
    "baseline_area",
    "site",
    "flow_monitoring",
    "registration",
    "survey",
    "other",
)
SITE_TYPES: tuple[str, ...] = (
    "camp",
    "collective_centre",
    "informal_settlement",
    "host_community",
    "village_ward",
    "other",
)
# Hazard types reported for disaster displacement (IDMC / EM-DAT vocabulary, simplified).
HAZARDS: tuple[str, ...] = (
    "flood",
    "drought",
    "storm",
    "earthquake",
    "landslide",
    "wildfire",
    "volcano",
    "epidemic",
    "other",
)
