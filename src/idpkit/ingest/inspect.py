"""What an import would do with a file, and why — without doing it (``idpkit inspect``).

An :class:`Inspection` is built from a dry run of the same pipeline ``ingest`` runs
(:func:`idpkit.ingest.pipeline.ingest_file` with ``dry_run``): the file's sheets and which were
imported, the header, HXL and data rows, each column's role with its evidence and confidence, where
the date comes from, how the rows were classed, and the totals the import would store. When the
import refuses the file, it still holds what detection saw in each sheet and the refusal.

It also holds the mapping that reproduces these decisions (:func:`mapping_yaml`): written by
``idpkit inspect --write-mapping``, edited, then given to ``idpkit ingest --mapping``. Every field is
plain data (``to_dict`` is JSON-ready); the keys are documented in docs/mapping.md.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from idpkit.errors import IdpkitError
from idpkit.ingest.columns import ColumnAssignment, ValueSpec
from idpkit.ingest.context import IngestOptions
from idpkit.ingest.detect import Layout, detect_layout, layout_from_mapping
from idpkit.ingest.mapping import ROLES, Mapping
from idpkit.ingest.readers import SourceFile, open_source

ROW_CLASSES = ("total-row", "note-row", "duplicate-row", "no-values", "unknown-area",
               "unknown-pcode", "missing-area")
"""Issue codes that say what a row is (counted in ``rows.classes``); the last three: unplaced."""
UNPLACED = ("unknown-area", "unknown-pcode", "missing-area")
VALUE_FIELDS = ("population_group", "unit", "metric", "cause", "hazard", "cause_detail", "sex",
                "age_group")
_LEVEL = re.compile(r"(?:origin_)?adm(\d)_(?:pcode|name)")


@dataclass
class Inspection:
    """What ``idpkit inspect`` shows; ``to_dict`` gives the JSON (keys in docs/mapping.md)."""

    file: str
    format: str | None  # xlsx | csv | json | zip | folder; None when the file cannot be opened
    status: str  # ok | refused
    error: str | None = None  # the refusal, as `ingest` would print it
    sheets: list[dict[str, Any]] = field(default_factory=list)
    layout: dict[str, Any] | None = None
    columns: list[dict[str, Any]] = field(default_factory=list)
    ignored_columns: list[dict[str, Any]] = field(default_factory=list)
    date: dict[str, Any] | None = None
    kind: str | None = None
    rows: dict[str, Any] | None = None
    totals: list[dict[str, Any]] = field(default_factory=list)
    issues: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    candidates: list[dict[str, Any]] = field(default_factory=list)  # refused: each sheet's guess
    mapping: str = ""  # YAML reproducing these decisions (--write-mapping)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def inspect_file(wh, path: Path, options: IngestOptions | None = None) -> Inspection:
    """Inspect ``path`` by a dry run on ``wh`` (nothing is written to it). An
    :class:`~idpkit.errors.IdpkitError` (the file refused, a mapping that does not fit) gives an
    Inspection with ``status`` ``refused``; any other exception is a bug and propagates."""
    path = Path(path)
    options = replace(options or IngestOptions(), dry_run=True)
    if options.mapping is not None:
        options = options.mapping.fill_options(options)
    try:
        source = open_source(path)
    except IdpkitError as exc:
        return Inspection(path.name, None, "refused", str(exc))
    try:
        sheets = [_sheet_summary(source, s) for s in source.sheets]
        from idpkit.ingest.pipeline import ingest_file

        try:
            result = ingest_file(wh, path, options)
        except IdpkitError as exc:
            return _refused(path, source, sheets, options, exc)
        return _inspection(path, source, sheets, options, result)
    finally:
        source.cleanup()


# ---------------------------------------------------------------------------------------- parts
def _sheet_summary(source: SourceFile, sheet) -> dict[str, Any]:
    """Name, rows and columns of a sheet as a spreadsheet shows them (columns: the widest of the
    first rows; a CSV file's records are counted)."""
    width = max((max((j + 1 for j, c in enumerate(r) if c not in (None, "")), default=0)
                 for r in sheet.preview), default=0)
    if sheet.rows is not None:
        n = len(sheet.rows)
    else:
        csv.field_size_limit(1 << 30)
        with open(source.utf8_path or source.path, encoding="utf-8-sig", errors="replace",
                  newline="") as fh:
            n = sum(1 for _ in csv.reader(fh, delimiter=source.delimiter or ","))
    return {"name": sheet.name, "rows": n, "columns": width, "imported": False, "note": None}


def _rows_of(layout: Layout) -> dict[str, Any]:
    return {"sheet": layout.sheet,
            "header_rows": [r + 1 for r in layout.header_rows] or
            ([layout.header_row + 1] if layout.header_row is not None else []),
            "hxl_row": None if layout.hxl_row is None else layout.hxl_row + 1,
            "data_start_row": layout.data_start + 1,
            "from_mapping": layout.from_mapping}


def _counts(spec: ValueSpec) -> dict[str, Any]:
    return {k: getattr(spec, k) for k in VALUE_FIELDS}


def _admin_level(role: str) -> int | None:
    m = _LEVEL.fullmatch(role)
    return int(m.group(1)) if m else None


def _column(c: ColumnAssignment, evidence: str = "", confidence: str = "") -> dict[str, Any]:
    return {"position": c.index + 1, "header": c.header,
            "tag": c.tag.strip() if c.tag else None, "role": c.role,
            "counts": _counts(c.value) if c.role == "value" and c.value is not None else None,
            "description": c.describe(), "admin_level": _admin_level(c.role), "basis": c.basis,
            "evidence": evidence, "confidence": confidence}


def _ignored(c: ColumnAssignment) -> bool:
    return c.role == "ignore" or (c.role == "value" and c.value is None)


def _note_about(name: str, notes: list[str]) -> str | None:
    """The note that says why sheet ``name`` was not imported."""
    for n in notes:
        if repr(name) in n and not n.startswith(("data sheets ", f"data sheet {name!r}")):
            return n
    return None


def _headerless(sheet) -> Layout | None:
    """A sheet where no row looks like a header: read as a table with no header row (columns by
    position), the way a mapping with ``header: none`` reads it."""
    if not any(any(c not in (None, "") for c in r) for r in sheet.preview):
        return None
    try:
        return layout_from_mapping(sheet, Mapping(header="none"))
    except IdpkitError:
        return None


def _refused(path: Path, source: SourceFile, sheets: list[dict[str, Any]],
             options: IngestOptions, exc: IdpkitError) -> Inspection:
    """What detection sees in each sheet, for a file the import refuses."""
    candidates, best = [], None
    for s in source.sheets:
        lay = None
        if options.mapping is not None:
            try:
                lay = detect_layout(s, options.mapping, require_counts=False)
            except IdpkitError:
                lay = None
        lay = lay or detect_layout(s, require_counts=False) or _headerless(s)
        if lay is None:
            candidates.append({"sheet": s.name, "header_rows": [], "hxl_row": None,
                               "data_start_row": None, "columns": []})
            continue
        cols = [_column(g, "HXL tag" if g.basis == "hxl" else g.basis,
                        "high" if g.basis in ("hxl", "mapping") else "medium")
                for g in lay.guesses]
        candidates.append({**_rows_of(lay), "columns": cols})
        if best is None or lay.score > best.score:
            best = lay
    text = ""
    if best is not None:
        text = mapping_yaml(path.name, source, [best], [best.guesses], options, None,
                            refusal=exc.message,
                            no_date_column=not any(g.role == "reporting_date"
                                                   for g in best.guesses))
    return Inspection(path.name, source.kind, "refused", str(exc), sheets,
                      candidates=candidates, mapping=text)


def _inspection(path: Path, source: SourceFile, sheets: list[dict[str, Any]],
                options: IngestOptions, result) -> Inspection:
    from idpkit.ingest.commit import guess_kind

    plan = result.plan
    decisions = {(d.stage, d.subject): d for d in result.decisions}
    sheet_decision = decisions.get(("detect", "sheet"))
    for s in sheets:
        if s["name"] == plan.sheet_names[0]:
            s["imported"] = True
            s["note"] = sheet_decision.evidence if sheet_decision else None
        elif s["name"] in plan.sheet_names:
            s["imported"] = True
            s["note"] = f"part of the same table as {plan.sheet_names[0]!r}"
        else:
            s["note"] = _note_about(s["name"], result.notes)
    rows_decision = decisions.get(("detect", "rows"))
    layout = {**_rows_of(plan.layout), "sheet": plan.sheet_label,
              "decision": rows_decision.decision if rows_decision else "",
              "evidence": rows_decision.evidence if rows_decision else "",
              "confidence": rows_decision.confidence if rows_decision else ""}
    columns, ignored = [], []
    for c in plan.columns.columns:
        if _ignored(c):
            ignored.append({"position": c.index + 1, "header": c.header,
                            "tag": c.tag.strip() if c.tag else None})
            continue
        d = decisions.get(("detect", f"column {c.index + 1} {c.header!r}"))
        columns.append(_column(c, d.evidence if d else c.basis, d.confidence if d else "medium"))
    date_d = decisions.get(("clean", "reporting date"))
    date = None if date_d is None else {"decision": date_d.decision, "evidence": date_d.evidence,
                                        "confidence": date_d.confidence}
    by_code: dict[str, int] = {}
    for (code, _sev), n in result.issue_counts.items():
        by_code[code] = by_code.get(code, 0) + n
    rows = {"read": result.rows_read, "accepted": result.rows_accepted,
            "quarantined": result.rows_quarantined, "observations": result.observations,
            "classes": {c: by_code.get(c, 0) for c in ROW_CLASSES}}
    totals = []
    if result.totals is not None:
        for r in result.totals.itertuples(index=False):
            value = float(r.value)
            totals.append({"iso3": None if r.iso3 is None or r.iso3 != r.iso3 else str(r.iso3),
                           "reporting_date": _iso(r.reporting_date),
                           "population_group": r.population_group, "unit": r.unit,
                           "metric": r.metric,
                           "value": int(value) if value.is_integer() else value})
    issues = [{"code": c, "severity": s, "count": n} for (c, s), n in
              sorted(result.issue_counts.items(),
                     key=lambda x: ({"error": 0, "warning": 1}.get(x[0][1], 2), x[0][0]))]
    kind = options.kind or guess_kind(plan)
    parts = plan.parts
    text = mapping_yaml(path.name, source, [p.layout for p in parts],
                        [p.plan.columns for p in parts], options, date_d, kind=kind,
                        no_date_column=plan.columns.first("reporting_date") is None)
    return Inspection(path.name, source.kind, "ok", None, sheets, layout, columns, ignored, date,
                      kind, rows, totals, issues, list(result.notes), [], text)


def _iso(v: object) -> str | None:
    if v is None or (isinstance(v, float) and v != v):
        return None
    try:
        return v.date().isoformat() if hasattr(v, "date") and callable(v.date) else \
            v.isoformat()  # type: ignore[union-attr]
    except (AttributeError, ValueError):  # NaT
        return None


# ---------------------------------------------------------------------------------------- mapping
def _q(text: str) -> str:
    """A YAML scalar in double quotes (JSON's quoting is valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def _key(c: ColumnAssignment, layout: Layout) -> str:
    """How the mapping names a column: its header text when that finds exactly it, else its
    1-based position (no header row, blank or repeated headers, headers made of digits)."""
    h = layout.headers[c.index]
    same = [x for x in layout.headers if x.strip().lower() == h.strip().lower()]
    if not layout.header_rows or len(same) != 1 or not h.strip() or h.strip().isdigit() or \
            h == f"column {c.index + 1}":
        return str(c.index + 1)
    return _q(h)


def _role_text(c: ColumnAssignment) -> str:
    if c.role == "value" and c.value is not None:
        v = c.value
        bits = [f"{k}: {getattr(v, k)}" for k in ("population_group", "unit", "metric")]
        bits += [f"{k}: {_q(getattr(v, k))}" if k == "cause_detail" else f"{k}: {getattr(v, k)}"
                 for k in ("cause", "hazard", "cause_detail") if getattr(v, k) is not None]
        bits += [f"{k}: {_q(getattr(v, k))}" for k in ("sex", "age_group") if getattr(v, k) != "all"]
        return "{" + ", ".join(bits) + "}"
    return "ignore" if _ignored(c) or c.role not in ROLES else c.role


def _why(c: ColumnAssignment) -> str:
    why = {"hxl": f"HXL tag {c.tag.strip() if c.tag else ''}", "mapping": "your mapping",
           "values": "the values under it", "header": "header words"}.get(c.basis, c.basis)
    return why + (" — check" if c.basis == "header" and not _ignored(c) else "")


def mapping_yaml(file_name: str, source: SourceFile, layouts: list[Layout],
                 plans: list[list[ColumnAssignment]], options: IngestOptions, date_decision,
                 *, kind: str | None = None, no_date_column: bool = False,
                 refusal: str | None = None) -> str:
    """The mapping that reproduces an import's decisions: sheet(s), header and HXL rows, every
    column (counts with their full description, ``ignore`` for the rest), and the constants that
    were given or found (date, country, round, operation). ``layouts``/``plans``: each imported
    sheet's layout and final columns (several for one table split over sheets)."""
    out = [f"# idpkit mapping for {file_name}, written by `idpkit inspect --write-mapping`."]
    if refusal:
        out += ["# idpkit could not import this file as it is:",
                *[f"#   {line}" for line in _wrap(refusal)],
                "# Below is what detection saw. Give the count columns a description",
                "# ({population_group: idps, unit: individuals}), the place and date columns",
                "# their roles (docs/mapping.md), fix the rows if they are wrong, then:"]
    else:
        out += ["# It repeats what idpkit decided: importing with it gives the same result as",
                "# without. Edit a line to change a decision (roles, count descriptions and every",
                "# key: docs/mapping.md), then:"]
    out += [f"#   idpkit ingest {file_name} --mapping THIS_FILE.yml",
            "# Lines marked 'check' were guessed from header words: confirm them."]
    out.append("")
    main = layouts[0]
    if source.kind not in ("csv", "json"):
        names = [lay.sheet for lay in layouts]
        out.append(f"sheet: {_q(names[0])}" if len(names) == 1 else
                   "sheet: [" + ", ".join(_q(n) for n in names) + "]   # one table over sheets")
    rows = {(lay.header_rows or (() if lay.header_row is None else (lay.header_row,)),
             lay.hxl_row, lay.data_start) for lay in layouts}
    if len(rows) == 1:
        header, hxl, start = rows.pop()
        if len(header) == 2:
            out.append(f"header_rows: [{header[0] + 1}, {header[1] + 1}]   # names joined")
        elif header:
            out.append(f"header_row: {header[0] + 1}")
        else:
            out.append("header: none        # no header row: columns by position")
        out.append(f"hxl_row: {hxl + 1}" if hxl is not None else "hxl_row: none")
        default = max(list(header) + [hxl if hxl is not None else -1]) + 1
        if start != default:
            out.append(f"data_start_row: {start + 1}")
    else:
        out.append("# header and HXL rows differ between the sheets: detected in each")
    out.append("")
    out += _constants(options, date_decision, kind, no_date_column)
    out += ["", "columns:"]
    if len(layouts) == 1:
        cols = [(_key(c, main), c) for c in plans[0]]
    else:
        cols = _common_columns(layouts, plans)
        out.append("  # one table over several sheets: only the columns that are the same in "
                   "every sheet;")
        left = [c.header for c in plans[0] if not _ignored(c) and
                all(c is not x for _, x in cols)]
        out += [f"  # {line}" for line in _wrap("left to detection in each sheet: " + (
            ", ".join(repr(h) for h in left) if left else "none"), 86)]
    width = min(max((len(k) for k, _ in cols), default=0) + 1, 40)
    for key, c in cols:
        line = f"  {key + ':':<{width}} {_role_text(c)}"
        tail = _why(c) if not _ignored(c) else (c.header if key.isdigit() and c.header !=
                                                f"column {c.index + 1}" else "")
        out.append(f"{line}   # {tail}" if tail else line)
    return "\n".join(out) + "\n"


def _constants(options: IngestOptions, date_decision, kind: str | None,
               no_date_column: bool) -> list[str]:
    out = []
    if options.reporting_date is not None:
        out.append(f"date: {options.reporting_date.isoformat()}")
    elif no_date_column and date_decision is not None and \
            re.fullmatch(r"\d{4}-\d{2}-\d{2}", date_decision.decision):
        out.append(f"date: {date_decision.decision}   # {date_decision.evidence}")
    elif no_date_column:
        out.append("# date: YYYY-MM-DD   # no date column and no date found: give one")
    else:
        out.append("# date: YYYY-MM-DD   # for the rows whose date cell is blank")
    out.append(f"country: {options.country}" if options.country else
               "# country: ISO3       # only for a file that names no country and no P-code")
    out.append(f"round: {_q(options.round)}" if options.round else
               "# round: \"…\"         # when no column gives the round")
    out.append(f"operation: {_q(options.operation)}" if options.operation else
               "# operation: \"…\"")
    if options.kind:
        out.append(f"kind: {options.kind}")
    elif kind:
        out.append(f"# kind: {kind}   # guessed assessment type; uncomment to fix it")
    return out


def _common_columns(layouts: list[Layout], plans: list[list[ColumnAssignment]]
                    ) -> list[tuple[str, ColumnAssignment]]:
    """Columns of a table split over sheets that every sheet has, under a header found once in
    each, with the same role: the mapping applies to every sheet, so the others are left to
    detection (per-group sheets give one header two meanings)."""
    out = []
    for c in plans[0]:
        h = c.header.strip().lower()
        same = True
        for lay, plan in zip(layouts, plans):
            idx = [j for j, x in enumerate(lay.headers) if x.strip().lower() == h]
            if len(idx) != 1 or not lay.header_rows and lay.header_row is None:
                same = False
                break
            other = next((x for x in plan if x.index == idx[0]), None)
            if other is None or _role_text(other) != _role_text(c):
                same = False
                break
        if same and not c.header.strip().isdigit():
            out.append((_q(c.header), c))
    return out


def _wrap(text: str, width: int = 90) -> list[str]:
    words, lines, line = text.split(), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    return lines + ([line] if line else [])


__all__ = ["Inspection", "inspect_file", "mapping_yaml", "ROW_CLASSES", "UNPLACED"]
