"""Public columns of figure tables: their order, HXL hashtags and Frictionless Table Schema.

Why one place: the CSV header, the HXL row and the ``.schema.json`` beside a CSV must never drift
apart, and they are part of the public interface partners build on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

GROUP_ATTR = {"idps": "idps", "returnees": "returnees", "host_community": "host",
              "refugees": "refugees", "migrants": "migrants"}


def stock_columns(level: int, by: Sequence[str], all_sources: bool = False) -> list[str]:
    cols = [f"adm{level}_pcode", f"adm{level}_name", "population_group", "cause", "unit",
            "reference_date", "value", "source_date", "stale", "coverage"]
    if "site_type" in by:
        cols.append("site_type")
    if all_sources:
        cols += ["source", "role", "sources", "range_min", "range_max"]
    return cols


_TAGS: dict[str, str] = {
    "population_group": "#population+type",
    "cause": "#cause+type",
    "unit": "#indicator+unit",
    "reference_date": "#date+reported",
    "value": "#affected+num",
    "source_date": "#date+source",
    "stale": "#status+stale",
    "coverage": "#indicator+coverage+pct",
    "site_type": "#loc+type",
    "source": "#meta+source",
    "role": "#meta+role",
    "sources": "#meta+sources+num",
    "range_min": "#affected+num+min",
    "range_max": "#affected+num+max",
    "flow": "#indicator+flow",
    "from_date": "#date+start",
    "to_date": "#date+end",
    "derived": "#status+derived",
    "origin_pcode": "#loc+code+origin",
    "destination_pcode": "#loc+code+dest",
    "suppressed": "#status+suppressed",
}


def hxl_tag(column: str, *, group: str | None = None, unit: str | None = None) -> str:
    """The hashtag of a public column. ``value`` is tagged by the table's population group and unit
    when the table holds one of each (``#affected+idps+ind``), as HDX users expect."""
    import re

    m = re.fullmatch(r"(origin_)?adm(\d)_(pcode|name)", column)
    if m:
        kind = "code" if m.group(3) == "pcode" else "name"
        tag = f"#adm{m.group(2)}+{kind}" if m.group(2) != "0" else f"#country+{kind}"
        return tag + ("+origin" if m.group(1) else "")
    if column == "value" and group in GROUP_ATTR:
        return f"#affected+{GROUP_ATTR[group]}" + {"individuals": "+ind", "households": "+hh"}.get(
            unit or "", "")
    return _TAGS.get(column, "#meta+" + column.replace("_", ""))


_TYPES: dict[str, str] = {
    "value": "number", "range_min": "number", "range_max": "number", "coverage": "number",
    "sources": "integer", "stale": "boolean", "derived": "boolean", "suppressed": "boolean",
    "reference_date": "date", "source_date": "date", "from_date": "date", "to_date": "date",
}
_DESCRIPTIONS: dict[str, str] = {
    "value": "Number of people (or households, see unit); empty when nothing is known or the cell "
             "is suppressed.",
    "stale": "true when the newest round of the source is older than the staleness window.",
    "coverage": "Share (0-1) of child areas the source assessed within the window.",
    "source_date": "Date of the round the value comes from.",
    "derived": "true when the flow was computed from round-to-round changes, not reported.",
}


def table_schema(columns: Sequence[str], *, group: str | None = None,
                 unit: str | None = None) -> dict[str, Any]:
    """A Frictionless Table Schema for a figure CSV (with its HXL tags as ``rdfType``-free
    custom ``hxl`` properties, which Frictionless tools keep)."""
    fields = []
    for c in columns:
        f: dict[str, Any] = {"name": c, "type": _TYPES.get(c, "string"),
                             "hxl": hxl_tag(c, group=group, unit=unit)}
        if c in _DESCRIPTIONS:
            f["description"] = _DESCRIPTIONS[c]
        if _TYPES.get(c) == "boolean":
            f["trueValues"], f["falseValues"] = ["true"], ["false"]
        fields.append(f)
    return {"fields": fields, "missingValues": [""]}
