"""Check column guesses against the values under them, and settle one role per column.

Real exports mislabel columns: the Nigeria baseline file tags its LGA *names* ``#adm2+code`` and its
LGA P-codes ``#adm2+name``; other files tag an internal code as the P-code while another column holds
the real P-codes. We look at a sample of distinct values and use each column as its values show,
reporting every such decision as a ``tag-contradicts-values`` finding.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace

from idpkit.ingest.columns import SHARED_ROLES, ColumnAssignment, ColumnPlan, fold, is_bare_sex
from idpkit.ingest.detect import Layout
from idpkit.ingest.kobo import is_kobo_export
from idpkit.ingest.places import is_pcode_like, normalise_pcode
from idpkit.validate.issues import Issue
from idpkit.warehouse.areas import Gazetteer

PLACEHOLDERS = frozenset({
    "", "n/a", "na", "n.a.", "n.a", "not available", "not applicable", "-", "--", "---", "—", "–",
    "null", "none", "nan", "#n/a", "no data", "nd", "n.d.", "n/d", "s.o.", "nc", "non disponible",
    "non applicable", "?", "x", "..", "...", "not reported", "unknown value", "missing",
    # Portuguese and Spanish (lower-cased as cells are compared; with and without accents)
    "não disponível", "nao disponivel", "não disponivel", "no disponible", "sem dados",
    "sin datos", "sin dato", "s/d", "s.d.", "sin información", "sin informacion",
    "sem informação", "sem informacao", "no aplica", "não aplicável", "nao aplicavel", "n/aplica",
})
_NUM_RE = re.compile(r"^[-+]?[\d\s\u00a0\u202f',.]*\d[\d\s\u00a0\u202f',.]*$")


class ColumnProfile:
    def __init__(self, values: list[str]) -> None:
        vals = [v for v in values if v is not None and v.strip().lower() not in PLACEHOLDERS]
        self.n = len(vals)
        self.distinct = list(dict.fromkeys(v.strip() for v in vals))[:2000]
        nd = max(len(self.distinct), 1)
        self.code_like = sum(1 for v in self.distinct if is_pcode_like(normalise_pcode(v))) / nd
        self.numeric = sum(1 for v in vals if _NUM_RE.match(v.strip())) / max(self.n, 1)

    def known_levels(self, gaz: Gazetteer) -> tuple[float, int | None]:
        """Share of values that are known P-codes, and their most common level."""
        if not self.distinct:
            return 0.0, None
        levels = [a.level for v in self.distinct if (a := gaz.known(normalise_pcode(v)))]
        if not levels:
            return 0.0, None
        return len(levels) / len(self.distinct), Counter(levels).most_common(1)[0][0]


def resolve_columns(layout: Layout, sample: list[list[str | None]], gaz: Gazetteer,
                    file_name: str, overrides: dict[int, ColumnAssignment] | None = None
                    ) -> tuple[ColumnPlan, list[Issue]]:
    cols = [replace(g) for g in layout.guesses]
    issues: list[Issue] = []
    profiles = [ColumnProfile([r[j] if j < len(r) else None for r in sample]) for j in range(len(cols))]

    def note(col: ColumnAssignment, message: str, code: str = "tag-contradicts-values") -> None:
        issues.append(Issue(code, message, file=file_name, sheet=layout.sheet,
                            column=col.header + (f" ({col.tag.strip()})" if col.tag else "")))

    overrides = overrides or {}
    for j, o in overrides.items():
        cols[j] = o

    # ---- area columns: codes vs names, per level, for the place and for the origin
    for prefix in ("", "origin_"):
        for level in (1, 2, 3, 4):
            pc = [c for c in cols if c.role == f"{prefix}adm{level}_pcode" and c.index not in overrides]
            nm = [c for c in cols if c.role == f"{prefix}adm{level}_name" and c.index not in overrides]
            for c in pc:
                p = profiles[c.index]
                if p.n == 0 or p.code_like >= 0.5:
                    continue
                partner = next((x for x in nm if profiles[x.index].code_like >= 0.7), None)
                if partner is not None:
                    c.role, partner.role = f"{prefix}adm{level}_name", f"{prefix}adm{level}_pcode"
                    c.basis = partner.basis = "values"
                    note(c, f"tagged as a P-code but holds names (e.g. {p.distinct[0]!r}); "
                            f"used as admin {level} names, and column {partner.header!r} as the "
                            "P-codes")
                    nm = [x for x in nm if x is not partner] + [c]
                else:
                    c.role, c.basis = f"{prefix}adm{level}_name", "values"
                    note(c, f"tagged as a P-code but holds names (e.g. {p.distinct[0]!r}); "
                            f"used as admin {level} names")
            for c in nm:
                p = profiles[c.index]
                if c.role.endswith("_name") and p.n and p.code_like >= 0.9 and \
                        not any(x.role == f"{prefix}adm{level}_pcode" for x in cols):
                    c.role, c.basis = f"{prefix}adm{level}_pcode", "values"
                    note(c, f"tagged as a name but holds P-codes (e.g. {p.distinct[0]!r}); used as "
                            f"admin {level} P-codes")
            # a P-code tag over internal codes while another column holds real P-codes
            for c in [x for x in cols if x.role == f"{prefix}adm{level}_pcode"]:
                share, _ = profiles[c.index].known_levels(gaz)
                if share >= 0.5 or profiles[c.index].n == 0:
                    continue
                for other in cols:
                    if other.role != "ignore" or other.index in overrides:
                        continue
                    s2, lvl2 = profiles[other.index].known_levels(gaz)
                    if s2 >= 0.8 and lvl2 == level:
                        other.role, other.basis = c.role, "values"
                        c.role, c.basis = "ignore", "values"
                        note(c, f"tagged as admin {level} P-code but its values are not known "
                                f"P-codes; column {other.header!r} holds valid admin {level} "
                                "P-codes and is used instead")
                        break

    # ---- untagged bare "P-code" columns: level from the gazetteer
    for c in cols:
        if c.role == "ignore" and c.index not in overrides and profiles[c.index].code_like >= 0.9 \
                and re.search(r"p ?-?code", c.header, re.I):
            share, lvl = profiles[c.index].known_levels(gaz)
            if lvl and share >= 0.8 and not any(x.role == f"adm{lvl}_pcode" for x in cols):
                c.role, c.basis = f"adm{lvl}_pcode", "values"

    # ---- count columns must hold numbers
    for c in cols:
        if c.role == "value" and c.index not in overrides:
            p = profiles[c.index]
            if p.n >= 5 and p.numeric < 0.5:
                note(c, f"read as a count but most values are not numbers (e.g. {p.distinct[0]!r}); "
                        "column not imported")
                c.role, c.value = "ignore", None

    # ---- flow monitoring: counts of people moving from an origin to an arrival area
    _recognise_flow_monitoring(cols, overrides, file_name, issues, layout)
    _bare_sex_columns(cols, overrides)

    # ---- one column per role; one column per count
    seen_values: dict[tuple, ColumnAssignment] = {}
    for c in sorted(cols, key=lambda x: (-x.priority, x.index)):
        if c.role == "value" and c.value is not None:
            k = c.value.key()
            if k in seen_values:
                first = seen_values[k]
                note(c, f"counts the same as column {first.header!r} ({c.describe()}); ignored so "
                        "nothing is counted twice", code="duplicate-value-column")
                c.role, c.value = "ignore", None
            else:
                seen_values[k] = c
    plan_notes = _kobo_dates_and_meta(cols, overrides)
    singles: dict[str, ColumnAssignment] = {}
    for c in sorted(cols, key=lambda x: (-x.priority, x.index)):
        if c.role == "value" or c.role in SHARED_ROLES:
            continue
        if c.role in singles:
            c.role = "ignore"
        else:
            singles[c.role] = c

    for c in cols:
        if c.role == "ignore" and profiles[c.index].n > 0:
            issues.append(Issue("column-ignored", f"column {c.header!r} not imported (no role "
                                "recognised)" if not c.tag else
                                f"column {c.header!r} ({c.tag.strip()}) not imported",
                                file=file_name, sheet=layout.sheet, column=c.header))
    return ColumnPlan(cols, plan_notes), issues


def _bare_sex_columns(cols: list[ColumnAssignment], overrides: dict[int, ColumnAssignment]) -> None:
    """A column headed only "Male" / "Female" (any language) breaks down the count of people to
    its left: ``IDP individuals | Male | Female | Returnees | Male | Female``. It takes that total's
    group and metric; without one to its left it stays a part of the IDP total."""
    for c in cols:
        if c.role != "value" or c.value is None or c.index in overrides or c.basis != "header" \
                or not is_bare_sex(fold(c.header)):
            continue
        left = [x for x in cols if x.index < c.index and x.role == "value" and x.value is not None
                and not x.value.is_part and x.value.unit == "individuals"]
        if left:
            total = max(left, key=lambda x: x.index).value
            c.value = replace(c.value, population_group=total.population_group,
                              metric=total.metric)


def _kobo_dates_and_meta(cols: list[ColumnAssignment], overrides: dict[int, ColumnAssignment]
                         ) -> list[str]:
    """The reporting date of a Kobo export, and a note on the meta columns passed over.

    Why this order: a date question (``date_assessment``) is when the place was assessed; ``today``
    is the day the form was filled in (usually the same visit); ``_submission_time`` is when the
    server received it, possibly days later and in UTC, so it is the last resort. The notes say
    which one was used, so a reader of the import knows what the dates mean.
    """
    roles = {c.role for c in cols}
    if not is_kobo_export(roles) and "kobo_today" not in roles:
        return []
    notes: list[str] = []
    if "reporting_date" in roles:
        dc = max((c for c in cols if c.role == "reporting_date"), key=lambda c: c.priority)
        notes.append(f"Kobo export: reporting date from the date question {dc.header!r}")
    else:
        for role, what in (("kobo_today", "the form's 'today' (no date question)"),
                           ("kobo_submission_time", "the date part of '_submission_time' (no date "
                                                    "question and no 'today')")):
            c = next((x for x in cols if x.role == role and x.index not in overrides), None)
            if c is not None:
                c.role, c.basis = "reporting_date", "values"
                notes.append(f"Kobo export: reporting date from {what}, column {c.header!r}")
                break
        else:
            notes.append("Kobo export without a date question, 'today' or '_submission_time'")
    meta = [c.header for c in cols if c.role.startswith("kobo_") and c.role != "kobo_choice"]
    choice = [c.header for c in cols if c.role == "kobo_choice"]
    if meta:
        notes.append(f"Kobo meta columns not imported as data: {', '.join(meta)}")
    if choice:
        notes.append("select_multiple option columns (0/1) not read as counts: " + ", ".join(choice))
    return notes


# ("provenance" is not here: French baselines name the *origin of a stock* "région de provenance")
_FLOW_WORDS = re.compile(r"\b(arrival|arrivals|destination|departure|departures|arrivee|depart|"
                         r"flow|fmp|fms|fmr)\b", re.I)


def _recognise_flow_monitoring(cols: list[ColumnAssignment], overrides: dict[int, ColumnAssignment],
                               file_name: str, issues: list[Issue], layout: Layout) -> None:
    """Read unmarked counts of a flow-monitoring file as *arrivals*, not as a stock.

    Why: flow-monitoring exports (DTM FMP/FMS) count people observed moving, one row per departure
    and arrival area, usually tagged plain ``#affected+ind``. Read as a stock they would be added to
    the population present and counted again every month. A file is taken as flow monitoring when it
    has origin (departure) area columns *and* its area columns or its name speak of arrival,
    departure, destination or flows; a mapping that gives a metric always wins.
    """
    has_origin = any(c.role.startswith("origin_adm") for c in cols)
    if not has_origin:
        return
    area_headers = " ".join(c.header for c in cols if re.match(r"(origin_)?adm\d_", c.role))
    if not (_FLOW_WORDS.search(area_headers) or _FLOW_WORDS.search(re.sub(r"[_\-.]", " ", file_name))):
        return
    changed = []
    for c in cols:
        if c.role == "value" and c.value is not None and c.index not in overrides \
                and c.value.metric == "present_stock":
            c.value = replace(c.value, metric="arrivals")
            changed.append(c.header)
    if changed:
        issues.append(Issue("flow-monitoring", "flow-monitoring file (origin and arrival areas): "
                            f"counts {', '.join(repr(h) for h in changed)} read as arrivals in the "
                            "arrival area, not as people present", file=file_name, sheet=layout.sheet))
