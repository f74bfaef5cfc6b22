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

    # ---- P-code columns: their admin level from the codes, internal codes set aside
    _pcode_levels_from_values(cols, profiles, overrides, gaz, note)

    # ---- untagged columns of known P-codes ("P-code", "Code", an unnamed column): level from the
    # gazetteer
    for c in cols:
        if c.role == "ignore" and c.index not in overrides and profiles[c.index].code_like >= 0.9:
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
    plan_notes += _dates_from_values(cols, profiles, overrides, file_name, issues, layout)
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


def _file_country(cols: list[ColumnAssignment], profiles: list[ColumnProfile],
                  gaz: Gazetteer) -> str | None:
    """The country most known P-codes of the file's area columns belong to (a vote)."""
    votes: Counter[str] = Counter()
    for c in cols:
        if c.role.endswith("_pcode"):
            for v in profiles[c.index].distinct[:500]:
                a = gaz.known(normalise_pcode(v))
                if a is not None and a.iso3:
                    votes[a.iso3] += 1
    if votes:
        return max(sorted(votes), key=lambda k: votes[k])
    for c in cols:
        if c.role == "country_code":
            vals = Counter(v.strip().upper() for v in profiles[c.index].distinct[:500])
            known = [v for v, _ in vals.most_common() if v in gaz.iso3s]
            if known:
                return known[0]
    return None


def _country_prefixed(code: str, iso3: str, gaz: Gazetteer) -> int | None:
    """The length of ``code``'s country prefix when it starts with ``iso3``'s ISO3 or ISO2
    code (as P-codes do), else None."""
    if code.startswith(iso3):
        return 3
    iso2 = {i2 for i2, i3 in gaz.iso2_to_iso3.items() if i3 == iso3}
    return 2 if any(code.startswith(i2) for i2 in iso2) else None


def _pcode_levels_from_values(cols: list[ColumnAssignment], profiles: list[ColumnProfile],
                              overrides: dict[int, ColumnAssignment], gaz: Gazetteer,
                              note) -> None:
    """Each P-code column's admin level from its codes, not from its header or tag.

    Why: a "Pcode Province" column held admin-2 codes and was stored as admin 1; a state column
    held the operation's own codes (``DTM12``) beside correct admin-2 P-codes, was "repaired"
    onto real but wrong P-codes, and 684 of 685 rows were quarantined. The rule:

    * codes the gazetteer knows: their most common level;
    * codes it does not know but that start with the file's country prefix: the level their
      length gives (``global-pcode-lengths.csv``: the gazetteer stops at admin 2);
    * anything else is the operation's own (internal) code: kept as ``internal_code``, flagged,
      never used to place a row nor repaired onto a real P-code. Where another, unassigned
      column holds known P-codes of that level, it takes the role.
    """
    from idpkit.warehouse.areas import PcodeLengths

    iso3 = _file_country(cols, profiles, gaz)
    lengths = PcodeLengths.embedded()
    for prefix in ("", "origin_"):
        pcode_cols = [c for c in cols if c.index not in overrides and
                      re.fullmatch(rf"{prefix}adm(\d)_pcode", c.role) and profiles[c.index].n]
        for c in pcode_cols:
            level = int(c.role[len(prefix) + 3])
            p = profiles[c.index]
            share, known_level = p.known_levels(gaz)
            found, why = None, ""
            if share >= 0.5 and known_level is not None:
                found, why = known_level, "known P-codes"
            elif iso3 is not None or (iso3 := _country_of_codes(p, gaz)) is not None:
                codes = [normalise_pcode(v) for v in p.distinct[:500]]
                pre = [_country_prefixed(x, iso3, gaz) for x in codes]
                if sum(1 for x in pre if x) >= 0.8 * len(codes):
                    lv = Counter(lengths.level(x, iso3, n) for x, n in zip(codes, pre) if n)
                    best, n_best = lv.most_common(1)[0] if lv else (None, 0)
                    if best is not None and n_best >= 0.8 * len(codes):
                        found, why = best, f"the length of {iso3}'s admin {best} P-codes"
                    else:
                        found = level  # country codes of no known shape: kept as given
                else:
                    found = None  # not this country's P-codes
            else:
                found = level if p.code_like >= 0.9 else None
            if found is None:
                other = next((o for o in cols if o.role == "ignore" and o.index not in overrides
                              and (k := profiles[o.index].known_levels(gaz))[0] >= 0.8
                              and k[1] == level), None)
                if other is not None:
                    other.role, other.basis = c.role, "values"
                    note(other, f"holds valid admin {level} P-codes: used instead of column "
                                f"{c.header!r}")
                c.role, c.basis = "internal_code", "values"
                note(c, f"holds the operation's own codes (e.g. {p.distinct[0]!r}), not P-codes"
                        + (f" of {iso3}" if iso3 else "") + ": kept as an internal code, not "
                        "used to place rows", code="internal-code")
                continue
            if found != level:
                target = f"{prefix}adm{found}_pcode"
                holder = next((o for o in cols if o.role == target), None)
                if holder is not None and holder.index not in overrides and \
                        profiles[holder.index].known_levels(gaz)[0] < share:
                    holder.role, holder.basis = c.role, "values"  # the two are swapped
                elif holder is not None:
                    continue
                note(c, f"named as admin {level} but holds admin {found} P-codes (from {why}; "
                        f"e.g. {p.distinct[0]!r}): used as admin {found}")
                c.role, c.basis = target, "values"


def _country_of_codes(p: ColumnProfile, gaz: Gazetteer) -> str | None:
    """The country whose ISO2/ISO3 code most of a column's codes start with."""
    votes: Counter[str] = Counter()
    for v in p.distinct[:500]:
        m = re.match(r"[A-Z]+", normalise_pcode(v))
        letters = m.group(0) if m else ""
        if letters[:3] in gaz.iso3s:
            votes[letters[:3]] += 1
        elif letters[:2] in gaz.iso2_to_iso3:
            votes[gaz.iso2_to_iso3[letters[:2]]] += 1
    if not votes or sum(votes.values()) < 0.8 * len(p.distinct[:500]):
        return None
    return votes.most_common(1)[0][0]


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


# header words that say what a date column dates: the end or report of a period (preferred), or
# its start; a date of displacement, birth, arrival or return is about people, not the report
_DATE_END = re.compile(r"\b(end|ending|fin|final|to|as of|report|reported|reporting|snapshot|"
                       r"update|updated|publication|month|period|mois|mes|periodo)\b")
_DATE_START = re.compile(r"\b(start|starting|begin|beginning|debut|inicio|from|de)\b")
_DATE_NOT_REPORT = re.compile(r"\b(displacement|displaced|deplacement|desplazamiento|birth|born|"
                              r"naissance|nacimiento|arrival|arrivee|llegada|return|retour|"
                              r"departure|depart|salida|submission|submitted|start time|end time|"
                              r"deviceid|expiry|expiration)\b")
_DATE_WORD = re.compile(r"\b(date|dates|dt|day|jour|dia|fecha|data|month|mois|mes|period|"
                        r"periode|periodo)\b")


def _dates_from_values(cols: list[ColumnAssignment], profiles: list[ColumnProfile],
                       overrides: dict[int, ColumnAssignment], file_name: str,
                       issues: list[Issue], layout: Layout) -> list[str]:
    """The reporting date from a column whose *values* are dates, whatever its header says
    ("Month End", "Periodo", "As of"), when no column was recognised as the reporting date.

    Why: a flow dataset's ``Month End`` column was not recognised and the first date-like cell
    became the date of all its rows. Columns about people (date of displacement, of birth, of
    arrival) are never the report's date. Among several date columns the end or report of a
    period wins over its start; a tie is settled by the header naming a date, then by order.
    Bare numbers (Excel serials, ``20240131``) count as dates only under a header naming a date.
    """
    from idpkit.ingest.normalise import parse_dates

    if any(c.role in ("reporting_date", "reporting_year") for c in cols):
        return []  # a column of years dates country-year figures (IDMC); event dates do not
    cands = []
    for c in cols:
        p = profiles[c.index]
        if c.role != "ignore" or c.index in overrides or p.n == 0 or not p.distinct:
            continue
        h = fold(c.header)
        if _DATE_NOT_REPORT.search(h):
            continue
        values = p.distinct[:500]
        numeric = [v for v in values if re.fullmatch(r"[\d.]+", v)]
        if numeric and not _DATE_WORD.search(h):
            values = [v for v in values if v not in numeric]
            if len(values) < 0.9 * len(p.distinct[:500]):
                continue
        parsed, _ = parse_dates(values)
        share = sum(1 for v in values if parsed.get(v)) / max(len(values), 1)
        if share < 0.9:
            continue
        score = 3 if _DATE_END.search(h) else 1 if _DATE_START.search(h) else 2
        cands.append((score, bool(_DATE_WORD.search(h)), -c.index, c))
    if not cands:
        return []
    cands.sort(key=lambda x: x[:3], reverse=True)
    best = cands[0][3]
    best.role, best.basis, best.priority = "reporting_date", "values", 4
    others = [x[3].header for x in cands[1:]]
    issues.append(Issue("date-from-values", f"reporting date read from column {best.header!r}: "
                        "its values are dates" + (f" (other date columns: "
                                                 f"{', '.join(map(repr, others))})" if others
                                                 else ""),
                        severity="info", file=file_name, sheet=layout.sheet, column=best.header))
    return [f"reporting date from column {best.header!r} (its values are dates)"]


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
