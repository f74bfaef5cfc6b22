"""The docs stay in step with the code: every table column documented, every issue code listed."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from idpkit.model.tables import CORE_TABLES
from idpkit.validate.issues import CATALOGUE

pytestmark = pytest.mark.core

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _sections(markdown: str) -> dict[str, str]:
    """Level-2 sections of a Markdown page: heading text (backticks stripped, lower case) -> body."""
    out: dict[str, str] = {}
    for m in re.finditer(r"^## +(.+?)\s*$(.*?)(?=^## |\Z)", markdown, re.M | re.S):
        out[m.group(1).strip().strip("`").strip().lower()] = m.group(2)
    return out


def _documented_fields(section: str) -> set[str]:
    """Names in the first cell of the section's Markdown table rows (`` `name` `` or plain)."""
    names = set()
    for line in section.splitlines():
        m = re.match(r"^\s*\|\s*`?([A-Za-z_][A-Za-z0-9_]*)`?\s*\|", line)
        if m:
            names.add(m.group(1))
    return names


def test_data_model_documents_every_column():
    sections = _sections((DOCS / "data-model.md").read_text(encoding="utf-8"))
    missing: list[str] = []
    for table, schema in CORE_TABLES.items():
        if table not in sections:
            missing.append(f"{table} (no '## {table}' section)")
            continue
        fields = _documented_fields(sections[table])
        missing += [f"{table}.{col}" for col in schema.names if col not in fields]
    assert not missing, "docs/data-model.md does not document: " + ", ".join(missing)


def test_data_model_documents_no_stale_columns():
    sections = _sections((DOCS / "data-model.md").read_text(encoding="utf-8"))
    stale = [
        f"{table}.{name}"
        for table, schema in CORE_TABLES.items() if table in sections
        for name in _documented_fields(sections[table]) - set(schema.names) - {"Field"}
    ]
    assert not stale, "docs/data-model.md documents columns that no longer exist: " + ", ".join(stale)


def _generator():
    spec = importlib.util.spec_from_file_location("gen_issue_codes", ROOT / "scripts" / "gen_issue_codes.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_issue_codes_doc_lists_exactly_the_catalogue():
    text = (DOCS / "issue-codes.md").read_text(encoding="utf-8")
    listed = re.findall(r"^\|\s*`([a-z0-9-]+)`\s*\|", text, re.M)
    assert sorted(listed) == sorted(CATALOGUE), (
        f"missing: {sorted(set(CATALOGUE) - set(listed))}, "
        f"not in CATALOGUE: {sorted(set(listed) - set(CATALOGUE))}, "
        f"listed twice: {sorted({c for c in listed if listed.count(c) > 1})}"
    )


def test_issue_codes_doc_is_generated():
    expected = _generator().render()
    current = (DOCS / "issue-codes.md").read_text(encoding="utf-8")
    assert current == expected, (
        "docs/issue-codes.md is out of date with idpkit.validate.issues.CATALOGUE: "
        "run python scripts/gen_issue_codes.py"
    )
