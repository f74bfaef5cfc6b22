"""Schemas of the warehouse's core tables (documented in ``docs/data-model.md``).

Observations are stored in long format: one row per reported number. Two rules keep sums honest:

* within one source row, population group, metric and unit, the rows with ``sex = 'all'`` and
  ``age_group = 'all'`` are *disjoint parts by cause* whose sum is the row's total (a total whose cause
  split is partial gets an ``unknown`` remainder), so summing them never double counts;
* rows with ``sex`` or ``age_group`` other than ``'all'`` are breakdowns of those parts and are never
  added to totals.

``reported_level`` keeps the admin level a row was *reported at*: some exports (the DTM API) repeat the
same population at admin 0, 1 and 2 in one file, and totals use one level only.
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt

AREAS = ibis.schema(
    {
        "pcode": dt.String(nullable=False),
        "name": dt.string,
        "admin_level": dt.int16,
        "parent_pcode": dt.string,
        "iso3": dt.string,
        "valid_from_date": dt.date,
        "valid_to_date": dt.date,
        "source": dt.string,
        "geometry": dt.string,  # GeoJSON geometry as text: portable across backends
    }
)

SITES = ibis.schema(
    {
        "site_id": dt.String(nullable=False),
        "site_name": dt.string,
        "site_type": dt.string,
        "area_pcode": dt.string,
        "latitude": dt.float64,
        "longitude": dt.float64,
        "dataset_id": dt.string,
    }
)

DATASETS = ibis.schema(
    {
        "dataset_id": dt.String(nullable=False),
        "file_name": dt.string,
        "file_hash": dt.string,
        "file_bytes": dt.int64,
        "sheet": dt.string,
        "source_organisation": dt.string,
        "assessment_type": dt.string,
        "operation": dt.string,
        "round": dt.string,
        "reporting_date": dt.date,
        "iso3": dt.string,
        "rows_read": dt.int64,
        "rows_accepted": dt.int64,
        "rows_quarantined": dt.int64,
        "observations": dt.int64,
        "warnings": dt.int64,
        "column_mapping": dt.string,  # JSON: column -> role, as used (provenance)
        "imported_at": dt.timestamp,
        "idpkit_version": dt.string,
    }
)

OBSERVATIONS = ibis.schema(
    {
        "dataset_id": dt.String(nullable=False),
        "source_sheet": dt.string,
        "source_row": dt.int64,
        "operation": dt.string,
        "round": dt.string,
        "reporting_date": dt.date,
        "iso3": dt.string,
        "area_pcode": dt.string,
        "reported_level": dt.int16,
        "adm1_pcode": dt.string,
        "adm2_pcode": dt.string,
        "adm3_pcode": dt.string,
        "adm4_pcode": dt.string,
        "site_id": dt.string,
        "population_group": dt.string,
        "metric": dt.string,
        "cause": dt.string,
        "hazard": dt.string,
        "cause_detail": dt.string,
        "origin_pcode": dt.string,
        "origin_name": dt.string,
        "unit": dt.string,
        "sex": dt.string,
        "age_group": dt.string,
        "value": dt.float64,
        "flags": dt.string,
    }
)

QUARANTINE = ibis.schema(
    {
        "dataset_id": dt.String(nullable=False),
        "source_sheet": dt.string,
        "source_row": dt.int64,
        "raw": dt.string,  # JSON object: column header -> raw cell text
        "codes": dt.string,  # comma-separated issue codes that rejected the row
    }
)

ISSUES = ibis.schema(
    {
        "dataset_id": dt.String(nullable=False),
        "file_name": dt.string,
        "sheet": dt.string,
        "row": dt.int64,
        "column_name": dt.string,
        "value": dt.string,
        "code": dt.string,
        "severity": dt.string,
        "message": dt.string,
    }
)

SURVEYS = ibis.schema(
    {
        "survey_id": dt.String(nullable=False),
        "title": dt.string,
        "table_name": dt.string,  # the microdata: one row per household (survey_<id>)
        "members_table": dt.string,  # household members (repeat group), when the export has one
        "file_name": dt.string,
        "file_hash": dt.string,
        "file_bytes": dt.int64,
        "sheet": dt.string,
        "design": dt.string,  # JSON: the SurveyDesign as stored (columns as in the table)
        "indicators": dt.string,  # JSON: list of indicator specs
        "column_names": dt.string,  # JSON: stored column -> original header (provenance)
        "households": dt.int64,
        "members": dt.int64,
        "reference_date": dt.date,
        "imported_at": dt.timestamp,
        "idpkit_version": dt.string,
    }
)

DATASET_AUDIT = ibis.schema(
    {
        "audited_at": dt.timestamp,
        "action": dt.String(nullable=False),  # import | remove | replace
        "dataset_id": dt.String(nullable=False),
        "replaced_by": dt.string,  # replace: the dataset imported in its place
        "file_name": dt.string,
        "file_hash": dt.string,
        "os_user": dt.string,
        "idpkit_version": dt.string,
        "note": dt.string,
    }
)

CORE_TABLES: dict[str, ibis.Schema] = {
    "areas": AREAS,
    "sites": SITES,
    "datasets": DATASETS,
    "observations": OBSERVATIONS,
    "quarantine": QUARANTINE,
    "issues": ISSUES,
    "surveys": SURVEYS,
    "dataset_audit": DATASET_AUDIT,
}
