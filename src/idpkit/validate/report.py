"""Validation reports a user can act on: JSON and a self-contained HTML page (one task per file)."""

from __future__ import annotations

import html
import json
from datetime import datetime, timezone
from pathlib import Path

from jinja2 import Environment

from idpkit.ingest.pipeline import ImportResult


def report_dict(results: list[ImportResult]) -> dict[str, object]:
    tasks = []
    for r in results:
        tasks.append({
            "file": str(r.file), "status": r.status, "dataset_id": r.dataset_id, "sheet": r.sheet,
            "valid": r.errors == 0,
            "stats": {"rows_read": r.rows_read, "rows_accepted": r.rows_accepted,
                      "rows_quarantined": r.rows_quarantined, "observations": r.observations,
                      "errors": r.errors, "warnings": r.warnings},
            "issue_counts": [{"code": c, "severity": s, "count": n}
                             for (c, s), n in sorted(r.issue_counts.items())],
            "issues": [i.to_dict() for i in r.issues],
            "issue_total": sum(r.issue_counts.values()),
            "columns": r.columns, "notes": r.notes,
        })
    return {"created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "valid": all(t["valid"] for t in tasks), "tasks": tasks}


def write_json(results: list[ImportResult], path: Path) -> Path:
    path.write_text(json.dumps(report_dict(results), indent=2, ensure_ascii=False, default=str),
                    encoding="utf-8")
    return path


_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>idpkit validation report</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1b1b1b;max-width:1200px}
h1{font-size:1.5rem} h2{font-size:1.2rem;margin-top:2rem;border-bottom:2px solid #0b5394}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #c8c8c8;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#eef2f7} .error{color:#a00000;font-weight:600} .warning{color:#8a5300;font-weight:600}
.info{color:#335} .ok{color:#0a6b2b;font-weight:600} .stats td{text-align:right} code{background:#f3f3f3}
</style></head><body>
<h1>Validation report</h1>
<p>Created {{ created_at }} — {% if valid %}<span class="ok">no errors</span>{% else %}<span class="error">errors found: erroneous rows are quarantined</span>{% endif %}</p>
<table class="stats" aria-label="files"><tr><th scope="col" style="text-align:left">file</th><th scope="col">rows read</th><th scope="col">accepted</th><th scope="col">quarantined</th><th scope="col">errors</th><th scope="col">warnings</th></tr>
{% for t in tasks %}<tr><td style="text-align:left"><a href="#task{{ loop.index }}">{{ t.file }}</a></td><td>{{ t.stats.rows_read }}</td><td>{{ t.stats.rows_accepted }}</td><td>{{ t.stats.rows_quarantined }}</td><td{% if t.stats.errors %} class="error"{% endif %}>{{ t.stats.errors }}</td><td{% if t.stats.warnings %} class="warning"{% endif %}>{{ t.stats.warnings }}</td></tr>{% endfor %}</table>
{% for t in tasks %}
<h2 id="task{{ loop.index }}">{{ t.file }}</h2>
<p>Status: <strong>{{ t.status }}</strong>{% if t.dataset_id %} · dataset <code>{{ t.dataset_id }}</code>{% endif %}{% if t.sheet %} · sheet <em>{{ t.sheet }}</em>{% endif %}</p>
<table class="stats" aria-label="row counts"><tr><th>rows read</th><th>accepted</th><th>quarantined</th><th>observations</th><th>errors</th><th>warnings</th></tr>
<tr><td>{{ t.stats.rows_read }}</td><td>{{ t.stats.rows_accepted }}</td><td>{{ t.stats.rows_quarantined }}</td><td>{{ t.stats.observations }}</td><td>{{ t.stats.errors }}</td><td>{{ t.stats.warnings }}</td></tr></table>
{% for n in t.notes %}<p class="info">{{ n }}</p>{% endfor %}
{% if t.issue_counts %}
<h3>Findings by rule</h3>
<table><tr><th scope="col">rule</th><th scope="col">severity</th><th scope="col">count</th></tr>
{% for c in t.issue_counts %}<tr><td><code>{{ c.code }}</code></td><td class="{{ c.severity }}">{{ c.severity }}</td><td>{{ c.count }}</td></tr>{% endfor %}</table>
<h3>Findings{% if t.issues|length < t.issue_total %} (first {{ t.issues|length }} of {{ t.issue_total }}){% endif %}</h3>
<table><tr><th>sheet</th><th>row</th><th>column</th><th>value</th><th>rule</th><th>severity</th><th>message</th></tr>
{% for i in t.issues %}<tr><td>{{ i.sheet or '' }}</td><td>{{ i.row if i.row is not none else '' }}</td><td>{{ i.column or '' }}</td><td>{{ i.value if i.value is not none else '' }}</td><td><code>{{ i.code }}</code></td><td class="{{ i.severity }}">{{ i.severity }}</td><td>{{ i.message }}</td></tr>{% endfor %}</table>
{% else %}<p class="ok">No findings.</p>{% endif %}
<details><summary>How columns were read</summary><table><tr><th>column</th><th>read as</th></tr>
{% for k, v in t.columns.items() %}<tr><td>{{ k }}</td><td>{{ v }}</td></tr>{% endfor %}</table></details>
{% endfor %}
</body></html>
"""


def write_html(results: list[ImportResult], path: Path) -> Path:
    env = Environment(autoescape=True)
    page = env.from_string(_TEMPLATE).render(**report_dict(results))
    path.write_text(page, encoding="utf-8")
    return path


__all__ = ["report_dict", "write_json", "write_html", "html"]
