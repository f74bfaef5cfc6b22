"""Resolve the area columns of a file to P-codes at every admin level.

Works on the *distinct combinations* of a file's area columns (a few thousand at most), so codes
can be checked against the gazetteer, repaired (``TD07`` -> ``TCD07``), matched from names
(``Babylon`` -> Babil ``IQG07``), checked against their parent, and completed upwards — and the
results joined back onto every row by the engine.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass, field

import pandas as pd
import pycountry

from idpkit.ingest.places import (best_match, fold_name, infer_country, normalise_pcode,
                                  repair_pcode, suggest_pcode)
from idpkit.warehouse.areas import Gazetteer

LEVELS = (1, 2, 3, 4)


@dataclass
class AreaFinding:
    code: str
    role: str  # the area role of the offending column, e.g. adm2_pcode
    value: str
    message: str


@dataclass
class ResolvedArea:
    iso3: str | None = None
    pcodes: dict[int, str | None] = field(default_factory=dict)
    area_pcode: str | None = None
    reported_level: int | None = None
    findings: list[AreaFinding] = field(default_factory=list)
    given: bool = True  # the row named an area or its country (else: placed at the country level)
    total: bool = False  # an area cell labels a total row ("Total", "Sous-total Borno")
    placed: bool = False  # a P-code was found at some admin level


# "Total", "TOTAL GENERAL", "Sous-total", "Grand total", "Borno total", "Total Borno", "Totales"
_TOTAL_LABEL = re.compile(r"^((grand|sub|sous)[\s-]*)?(total|totaux|totales|totais|totale)"
                          r"(\s+(general|geral|generale))?(\s|$|:)|\s(total|totaux|totales)$")


def is_total_label(text: str | None) -> bool:
    """Whether an area cell labels a total or subtotal row rather than an area."""
    if not text:
        return False
    return bool(_TOTAL_LABEL.search(fold_name(text)))


def country_of_code(gaz: Gazetteer, code: str) -> str | None:
    """The country a P-code belongs to: known code, repaired code, or its letter prefix."""
    c = normalise_pcode(code)
    a = gaz.known(c)
    if a is None:
        fixed = repair_pcode(gaz, c, None)
        a = gaz.known(fixed) if fixed else None
    if a is not None and a.iso3:
        return a.iso3
    m = re.match(r"[A-Z]+", c)
    prefix = m.group(0) if m else ""
    if prefix in gaz.iso3s:
        return prefix
    if prefix[:2] in gaz.iso2_to_iso3:
        return gaz.iso2_to_iso3[prefix[:2]]
    return None


def _iso3_from(gaz: Gazetteer, code: str | None) -> str | None:
    """The country a country-code cell names: ISO3, ISO2, or a code of the same shape that
    ISO 3166 lacks but agencies use (IDMC's ``AB9`` Abyei, ``XKX`` Kosovo), kept as given."""
    if not code:
        return None
    c = code.strip().upper()
    if c in gaz.iso3s or (len(c) == 3 and c.isalpha()):
        return c
    if len(c) == 2 and c in gaz.iso2_to_iso3:
        return gaz.iso2_to_iso3[c]
    if len(c) == 2 and c.isalpha():
        country = pycountry.countries.get(alpha_2=c)
        return country.alpha_3 if country else None
    return c if re.fullmatch(r"[A-Z][A-Z0-9]{2}", c) else None


@functools.lru_cache(maxsize=4096)
def country_from_name(name: str) -> str | None:
    """ISO3 of a country name in English (or its official/common name), or None when unsure."""
    text = name.strip()
    if not text:
        return None
    try:
        return pycountry.countries.lookup(text).alpha_3
    except LookupError:
        pass
    try:
        hits = pycountry.countries.search_fuzzy(text)
    except LookupError:
        return None
    return hits[0].alpha_3 if len(hits) == 1 else None


class AreaResolver:
    """Resolves combinations; remembers name matches so each distinct name is matched once."""

    def __init__(self, gaz: Gazetteer, prefix: str = "") -> None:
        self.gaz = gaz
        self.prefix = prefix  # "" for the place, "origin_" for the origin
        self._names: dict[tuple, tuple[str | None, float]] = {}

    def guess_country(self, combos: pd.DataFrame) -> str | None:
        """The country most of the file's codes (or admin-1 names) belong to: a vote, so the
        order in which an engine returns distinct values never changes the answer."""
        p = self.prefix
        votes: Counter[str] = Counter()
        for level in LEVELS:
            col = f"{p}adm{level}_pcode"
            if col in combos:
                for v in combos[col].dropna().unique()[:500]:
                    iso = country_of_code(self.gaz, v)
                    if iso:
                        votes[iso] += 1
        if votes:
            return max(sorted(votes), key=lambda k: votes[k])
        col = f"{p}adm1_name"
        if col in combos:
            return infer_country(self.gaz, [str(v) for v in combos[col].dropna().unique()])
        return None

    def _match_name(self, name: str, level: int, parent: str | None, iso3: str | None
                    ) -> tuple[str | None, float]:
        key = (name, level, parent, iso3)
        if key not in self._names:
            if parent and parent in self.gaz.by_pcode:
                cands = [a for a in self.gaz.children.get(parent, []) if a.level == level]
            else:
                cands = self.gaz.by_country_level.get((iso3, level), [])
            hit, score = best_match(name, cands)
            self._names[key] = (hit.pcode if hit else None, score)
        return self._names[key]

    def resolve(self, row: dict[str, str | None], iso3_hint: str | None,
                file_level: int | None = None) -> ResolvedArea:
        """Place one combination of area cells. ``file_level``: the finest level of the file's
        area columns — a row that names no area at all is an unplaced part at that level (kept
        in the national total), not a national figure."""
        p, gaz = self.prefix, self.gaz
        out = ResolvedArea()
        label = next(((r, v) for r, v in row.items() if r not in ("country_code", "country_name")
                      and is_total_label(v)), None)
        if label is not None:
            out.findings.append(AreaFinding(
                "total-row", label[0], str(label[1]),
                f"a total or subtotal row ({label[1]!r}), not an area: counting it would count "
                "the rows it adds up twice"))
            out.iso3 = self._country(row) or iso3_hint
            out.total = True
            return out
        explicit = self._country(row) if not p else None
        if not p and explicit is None and (row.get("country_code") or row.get("country_name")):
            role = "country_code" if row.get("country_code") else "country_name"
            out.findings.append(AreaFinding(
                "unknown-country", role, str(row.get(role)),
                f"country {row.get(role)!r} is neither an ISO 3166 code nor a country name"))
        iso3 = explicit or iso3_hint
        given_level = None
        codes: dict[int, str | None] = {}
        from_code: dict[int, bool] = {}
        for level in LEVELS:
            raw_code = row.get(f"{p}adm{level}_pcode")
            raw_name = row.get(f"{p}adm{level}_name")
            if raw_code or raw_name:
                given_level = level
            parent = next((codes[lv] for lv in range(level - 1, 0, -1) if codes.get(lv)), None)
            resolved = None
            if raw_code:
                code = normalise_pcode(raw_code)
                known = gaz.known(code)
                if known is not None:
                    resolved = code
                    iso3 = iso3 or known.iso3
                    if raw_name:
                        self._check_name(out, code, raw_name, level, parent)
                else:
                    fixed = repair_pcode(gaz, code, iso3)
                    country = (gaz.known(fixed).iso3 if fixed else None) or \
                        country_of_code(gaz, code) or iso3
                    if fixed is not None:
                        resolved = fixed
                        iso3 = iso3 or country
                        out.findings.append(AreaFinding(
                            "pcode-repaired", f"{p}adm{level}_pcode", raw_code,
                            f"P-code {raw_code!r} is not in the gazetteer; read as {fixed!r}"))
                    elif gaz.covers(country, level):
                        hint = suggest_pcode(gaz, code, country, level, raw_name)
                        out.findings.append(AreaFinding(
                            "unknown-pcode", f"{p}adm{level}_pcode", raw_code,
                            f"P-code {raw_code!r} is not in the gazetteer for {country} admin {level}"
                            + (f"; did you mean {hint!r}" + (
                                f" ({gaz.known(hint).name})" if gaz.known(hint) and
                                gaz.known(hint).name else "") + "?" if hint else "")))
                        resolved = None
                    else:
                        resolved = code  # gazetteer does not cover this level: keep as given
                from_code[level] = True
            elif raw_name:
                if gaz.covers(iso3, level):
                    hit, score = self._match_name(raw_name, level, parent, iso3)
                    if hit:
                        resolved = hit
                        out.findings.append(AreaFinding(
                            "area-from-name", f"{p}adm{level}_name", raw_name,
                            f"{raw_name!r} matched to {hit} ({gaz.known(hit).name})"))
                    else:
                        out.findings.append(AreaFinding(
                            "area-name-unmatched", f"{p}adm{level}_name", raw_name,
                            f"admin {level} name {raw_name!r} matches no gazetteer entry"
                            + (f" within {parent}" if parent else "")))
            codes[level] = resolved
        # parent consistency, where both codes were given and known. A row whose codes disagree
        # is kept (its people are real) but placed only as deep as its codes agree: at their
        # deepest common area, the country when they share nothing below it.
        for level in LEVELS[1:]:
            child, par = codes.get(level), codes.get(level - 1)
            if child and par and from_code.get(level) and from_code.get(level - 1):
                a = gaz.known(child)
                if a is not None and a.parent and a.parent != par and gaz.known(par):
                    agree = next((k for k in range(level - 1, 0, -1)
                                  if gaz.ancestor(child, k) and
                                  gaz.ancestor(child, k) == gaz.ancestor(par, k)), 0)
                    where = (f"placed in {codes.get(agree) or gaz.ancestor(par, agree)} (admin "
                             f"{agree}), where both agree") if agree else \
                        "placed at the country level only"
                    out.findings.append(AreaFinding(
                        "pcode-parent-mismatch", f"{p}adm{level}_pcode", child,
                        f"{child} belongs to {a.parent} ({gaz.known(a.parent).name if gaz.known(a.parent) else '?'}), "
                        f"not to {par} given in the admin {level - 1} column; {where}"))
                    for lv in LEVELS:
                        if lv > agree:
                            codes[lv] = None
                    if agree:
                        codes[agree] = codes.get(agree) or gaz.ancestor(par, agree)
                    break
        # complete upwards from the finest resolved code
        finest = max((lv for lv, c in codes.items() if c), default=None)
        if finest is not None:
            for level in range(finest - 1, 0, -1):
                if not codes.get(level):
                    codes[level] = gaz.ancestor(codes[finest], level) or self._by_prefix(
                        codes[finest], level)
            found = gaz.known(codes[finest]).iso3 if gaz.known(codes[finest]) else None
            iso3 = explicit or found or iso3  # the codes' own country beats a file-wide guess
        if given_level is not None and finest is None and gaz.covers(iso3, 1) and \
                not any(f.code in ("unknown-pcode", "pcode-parent-mismatch")
                        for f in out.findings):
            role = next(r for lv in LEVELS for r in (f"{p}adm{lv}_pcode", f"{p}adm{lv}_name")
                        if row.get(r))
            out.findings.append(AreaFinding(
                "unknown-area", role, str(row.get(role)),
                f"area {row.get(role)!r} matches nothing in the gazetteer for {iso3} at any level"))
        out.iso3 = iso3
        out.pcodes = {lv: codes.get(lv) for lv in LEVELS}
        out.area_pcode = codes[finest] if finest is not None else (iso3 if not p else None)
        out.reported_level = given_level if given_level is not None else \
            (0 if explicit is not None or file_level is None else file_level) if iso3 else None
        out.given = given_level is not None or explicit is not None
        # a row that names only its country is placed: at the country level
        out.placed = finest is not None or (given_level is None and explicit is not None)
        return out

    def _country(self, row: dict[str, str | None]) -> str | None:
        """The country a row's country columns name (code first, else name)."""
        found = _iso3_from(self.gaz, row.get("country_code"))
        if found is None and row.get("country_name"):
            found = country_from_name(str(row.get("country_name")))
        return found

    def _check_name(self, out: ResolvedArea, code: str, name: str, level: int,
                    parent: str | None) -> None:
        """A known P-code whose name column confidently names *another* area of the same level
        (codes shifted by a row, copied down a column): the code is kept, the other area named.
        A name that matches nothing confidently is left alone: spellings and renamed areas are
        common, and the code is the better key."""
        known = self.gaz.known(code)
        if known is None or not known.name:
            return
        par = parent if parent and parent in self.gaz.by_pcode else known.parent
        hit, _ = self._match_name(name, level, par, known.iso3)
        if hit is None or hit == code:
            return
        own, _ = best_match(name, [known])
        if own is not None:  # the name fits the code's own area too (a shared name)
            return
        other = self.gaz.known(hit)
        out.findings.append(AreaFinding(
            "pcode-name-mismatch", f"{self.prefix}adm{level}_pcode", code,
            f"{code} is {known.name} in the gazetteer, but the name beside it, {name!r}, is "
            f"{hit} ({other.name if other else '?'}); {code} is used"))

    def _by_prefix(self, code: str, level: int) -> str | None:
        """An unknown code's ancestor by COD prefix convention (NG002001001 -> NG002001 -> NG002)."""
        for n in range(len(code) - 1, 1, -1):
            a = self.gaz.known(code[:n])
            if a is not None:
                return a.pcode if a.level == level else self.gaz.ancestor(a.pcode, level)
        return None
