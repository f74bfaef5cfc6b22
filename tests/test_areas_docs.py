"""docs/areas.md stays in step with the code: every area table column and finding code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from idpkit.areas.findings import CODES
from idpkit.areas.tables import AREA_TABLES

pytestmark = pytest.mark.core
DOC = (Path(__file__).resolve().parent.parent / "docs" / "areas.md").read_text(encoding="utf-8")


def _section(name: str) -> str:
    m = re.search(rf"^### {name}\s*$(.*?)(?=^##|\Z)", DOC, re.MULTILINE | re.DOTALL)
    assert m, f"docs/areas.md has no '### {name}' section"
    return m.group(1)


@pytest.mark.parametrize("table", sorted(AREA_TABLES))
def test_every_column_documented(table):
    fields = set(re.findall(r"^\|\s*`([a-z_0-9]+)`\s*\|", _section(table), re.MULTILINE))
    schema = set(AREA_TABLES[table].names)
    assert schema - fields == set(), f"undocumented: {sorted(schema - fields)}"
    assert fields - schema == set(), f"stale: {sorted(fields - schema)}"


def test_every_finding_code_documented():
    rows = dict(re.findall(r"^\|\s*`([a-z-]+)`\s*\|\s*(error|warning|info)\s*\|", DOC, re.MULTILINE))
    for code, (severity, _) in CODES.items():
        assert rows.get(code) == severity, code
