"""Schemas of the area-view tables (documented in ``docs/areas.md``).

Why separate tables and not more observations: needs, site conditions, activities and consultations
are not counts of displaced people; putting them in ``observations`` would let a stock query add
them up. They share the core tables only where the meaning is the same: every import has a
``datasets`` row (file hash, rows read/accepted/quarantined), its rejected rows go to
``quarantine`` and its findings to ``issues``.
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt

S, F, I, D, T, B = dt.string, dt.float64, dt.int64, dt.date, dt.timestamp, dt.boolean

NEEDS_SOURCES = ibis.schema({
    "source_id": dt.String(nullable=False), "title": S, "kind": S, "table_name": S,
    "survey_id": S, "file_name": S, "file_hash": S, "weight_column": S, "size_column": S,
    "unit": S, "rules": S, "reference_date": D, "records": I, "imported_at": T,
    "analysed_at": T})
"""One row per needs data set: a household survey (``kind = households``, stored by the survey
importer as ``survey_<id>``) or key-informant locations (``kind = locations``, ``needs_<id>``)."""

NEED_SEVERITY = ibis.schema({
    "source_id": S, "area_pcode": S, "admin_level": I, "population_group": S, "sector": S,
    "phase": I, "share_phase_2": F, "share_phase_3": F, "share_phase_4": F, "share_phase_5": F,
    "population": F, "records": I, "rule": S})
"""Area phase per group and sector (``intersectoral`` included), with the shares behind it."""

NEED_PIN = ibis.schema({
    "source_id": S, "area_pcode": S, "admin_level": I, "population_group": S, "sector": S,
    "unit": S, "people_in_need": F, "se": F, "ci_low": F, "ci_high": F, "population": F})
"""People in need per area, group and sector; SE and CI when the source is a weighted survey."""

SITE_CONDITIONS = ibis.schema({
    "dataset_id": S, "source_row": I, "site_id": S, "round": S, "assessment_date": D,
    "area_pcode": S, "individuals": F, "covered_area_m2": F, "site_area_m2": F,
    "water_litres_per_day": F, "latrines": F, "handwashing_stations": F,
    "health_facility_km": F, "isolation_spaces": F})

ACTIVITIES = ibis.schema({
    "dataset_id": S, "source_row": I, "organisation": S, "sector": S, "activity": S, "phase": S,
    "area_pcode": S, "start_date": D, "end_date": D, "population_group": S, "sex": S,
    "age_group": S, "targeted": F, "reached": F, "period": S, "area_name": S, "admin_level": I,
    "adm1_pcode": S, "adm1_name": S})
"""One row per activity (or organisation's presence) and group. Real 3W files give presence only
(organisation, sector, area): phase, dates, group and counts are then empty."""

CONSULTATIONS = ibis.schema({
    "dataset_id": S, "source_row": I, "area_pcode": S, "consultation_date": D, "method": S,
    "population_group": S, "participants": F, "organisation": S, "priorities": S, "notes": S})

CONSULTATION_PRIORITIES = ibis.schema({
    "dataset_id": S, "source_row": I, "area_pcode": S, "consultation_date": D,
    "population_group": S, "rank": I, "priority": S})

AREA_TABLES: dict[str, ibis.Schema] = {
    "needs_sources": NEEDS_SOURCES,
    "need_severity": NEED_SEVERITY,
    "need_pin": NEED_PIN,
    "site_conditions": SITE_CONDITIONS,
    "activities": ACTIVITIES,
    "consultations": CONSULTATIONS,
    "consultation_priorities": CONSULTATION_PRIORITIES,
}

PHASES: tuple[str, ...] = ("preparedness", "humanitarian_response", "transition_recovery",
                           "development_peace")
"""The humanitarian-development-peace continuum, in order (public values of ``activities.phase``)."""
