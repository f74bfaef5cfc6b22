"""HXL hashtags as users really write them: case, stray tabs, typos and synonym attributes.

A tag like ``#affected+idps+ind`` is parsed into its hashtag (``affected``) and a set of attributes
(``{"idps", "ind"}``); attribute synonyms are folded so that ``+idp``, ``+displaced`` and ``+idps`` mean
the same, and a hashtag with a typo (``#afected``) is corrected to the nearest known one. Tags of
HXL's pre-1.0 drafts (``#idp_num``, ``#adm1_id``, ``#period_date``) are translated to their 1.x
form (:func:`translate_legacy`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

KNOWN_HASHTAGS = (
    "affected", "population", "inneed", "targeted", "reached", "beneficiary",
    "adm0", "adm1", "adm2", "adm3", "adm4", "adm5", "adm", "country", "region", "loc", "geo",
    "date", "meta", "round", "operation", "cause", "assessment", "indicator", "id", "org",
    "sector", "activity", "status", "event", "value", "description", "contact", "access",
    "frequency", "severity", "impact", "respondee", "item", "output", "capacity", "group",
)

# Attribute synonyms, folded to one spelling. Keys are lower-case.
ATTRIBUTE_SYNONYMS = {
    "idp": "idps", "displaced": "idps", "idps": "idps", "pdi": "idps",
    "returnee": "returnees", "returned": "returnees", "returnees": "returnees", "ret": "returnees",
    "host": "host_community", "hosts": "host_community", "hostcommunity": "host_community",
    "refugee": "refugees", "refugees": "refugees", "migrant": "migrants", "migrants": "migrants",
    "household": "hh", "households": "hh", "hhs": "hh", "hh": "hh", "fam": "hh", "families": "hh",
    "individual": "ind", "individuals": "ind", "ind": "ind", "persons": "ind", "people": "ind",
    "pers": "ind", "all": "all",
    "m": "m", "male": "m", "males": "m", "men": "m",
    "f": "f", "female": "f", "females": "f", "women": "f",
    "pcode": "code", "code": "code", "name": "name", "origin": "origin", "orig": "origin",
}


@dataclass(frozen=True)
class Tag:
    """A parsed HXL tag."""

    raw: str
    hashtag: str
    attributes: frozenset[str]
    corrected: bool = False  # the hashtag was a typo and was corrected
    legacy: bool = False  # a pre-1.0 tag (``#idp_num``) translated to its 1.x form

    def has(self, *attrs: str) -> bool:
        return all(a in self.attributes for a in attrs)

    def __str__(self) -> str:
        return "#" + "+".join([self.hashtag, *sorted(self.attributes)])


_TAG_RE = re.compile(r"^#([a-z][a-z0-9_]*)((?:\s*\+\s*[a-z0-9_]+)*)\s*$")


def is_tag_cell(text: object) -> bool:
    return isinstance(text, str) and text.strip().startswith("#") and len(text.strip()) > 1


def parse_tag(text: str) -> Tag | None:
    """Parse one HXL tag cell; ``None`` when it is not a tag at all."""
    cleaned = re.sub(r"\s+", "", str(text)).lower()
    if not cleaned.startswith("#"):
        return None
    m = _TAG_RE.match(cleaned)
    if not m:
        # keep what can be kept: split on '+' and drop junk characters
        parts = [re.sub(r"[^a-z0-9_]", "", p) for p in cleaned[1:].split("+")]
        parts = [p for p in parts if p]
        if not parts:
            return None
        hashtag, attrs = parts[0], parts[1:]
    else:
        hashtag = m.group(1)
        attrs = [a for a in m.group(2).split("+") if a]
    corrected = legacy = False
    if hashtag not in KNOWN_HASHTAGS and (old := translate_legacy(hashtag)) is not None:
        hashtag, attrs, legacy = old[0], [*old[1], *attrs], True
    if hashtag not in KNOWN_HASHTAGS:
        best = process.extractOne(hashtag, KNOWN_HASHTAGS, scorer=Levenshtein.distance)
        if best is not None and best[1] <= (1 if len(hashtag) <= 5 else 2):
            hashtag, corrected = best[0], True
    folded = frozenset(ATTRIBUTE_SYNONYMS.get(a, a) for a in attrs)
    return Tag(raw=str(text), hashtag=hashtag, attributes=folded, corrected=corrected,
               legacy=legacy)


# HXL 0.x (the 2014 drafts before 1.0) wrote one hashtag per column, ``#<base>_<suffix>``: the base
# named the thing (a population group, an admin level, a place, a date), the suffix the kind of
# value (``_num`` a number, ``_id``/``_code`` an identifier, ``_date``, ``_deg`` degrees, ``_pct``).
# 1.x moved both into attributes. Bases by the 1.x hashtag and attributes they become.
_LEGACY_GROUPS = {"idp": "idps", "idps": "idps", "refugee": "refugees", "refugees": "refugees",
                  "returnee": "returnees", "returnees": "returnees", "migrant": "migrants",
                  "migrants": "migrants", "host": "host_community"}
_LEGACY_UNITS = {"hh": "hh", "household": "hh", "households": "hh", "ind": "ind",
                 "individual": "ind", "individuals": "ind", "persons": "ind", "people": "ind"}
_LEGACY_COUNTS = {"aff": "affected", "affected": "affected", "pop": "population",
                  "population": "population", "inneed": "inneed", "targeted": "targeted",
                  "reached": "reached", "beneficiary": "beneficiary", "beneficiaries": "beneficiary"}
_LEGACY_PLACES = {"country": "country", "adm1": "adm1", "adm2": "adm2", "adm3": "adm3",
                  "adm4": "adm4", "adm5": "adm5", "loc": "loc", "sector": "sector",
                  "subsector": "sector", "org": "org", "activity": "activity"}
_LEGACY_DATES = {"period": "reported", "report": "reported", "reported": "reported",
                 "reporting": "reported", "start": "start", "end": "end"}
_LEGACY_SUFFIXES = {"num": (), "id": ("code",), "code": ("code",), "pcode": ("code",),
                    "name": ("name",), "date": (), "deg": (), "pct": ("pct",), "text": ()}


def translate_legacy(hashtag: str) -> tuple[str, tuple[str, ...]] | None:
    """The 1.x hashtag and attributes of a pre-1.0 hashtag, or None when it is not one.

    ``idp_num`` -> ``affected`` + ``idps``; ``idp_hh_num`` -> ``affected`` + ``idps``, ``hh``;
    ``aff_num`` -> ``affected`` (a total of every group: no group attribute, and
    :func:`idpkit.ingest.columns.role_from_tag` reads a legacy count without a group as no
    group's count); ``adm1_id`` -> ``adm1`` + ``code``; ``period_date``/``report_date`` ->
    ``date`` + ``reported``; ``lat_deg`` -> ``geo`` + ``lat``. Unknown bases give None (the tag
    is then treated like any other unknown one).
    """
    parts = [p for p in hashtag.lower().split("_") if p]
    if len(parts) < 2:
        return None
    *base, suffix = parts
    if len(parts) == 2 and parts[0] == "period" and suffix in ("start", "end"):
        return "date", (suffix,)
    if suffix not in _LEGACY_SUFFIXES:
        return None
    if suffix == "date":
        return ("date", (_LEGACY_DATES[base[0]],)) if len(base) == 1 and \
            base[0] in _LEGACY_DATES else None
    if len(base) == 1 and base[0] in ("lat", "lon", "long") and suffix == "deg":
        return "geo", ("lat" if base[0] == "lat" else "lon",)
    extra = _LEGACY_SUFFIXES[suffix]
    if len(base) == 1 and base[0] in _LEGACY_PLACES and suffix != "num":
        return _LEGACY_PLACES[base[0]], extra
    if suffix not in ("num", "pct"):
        return None
    groups = [_LEGACY_GROUPS[b] for b in base if b in _LEGACY_GROUPS]
    units = [_LEGACY_UNITS[b] for b in base if b in _LEGACY_UNITS]
    counts = [_LEGACY_COUNTS[b] for b in base if b in _LEGACY_COUNTS]
    if len(groups) + len(units) + len(counts) != len(base) or len(counts) > 1:
        return None  # a word we do not know (#fatalities_num, #killed_num): not translated
    return (counts[0] if counts else "affected"), (*groups, *units, *extra)


def looks_like_hxl_row(cells: list[object]) -> bool:
    """A row is an HXL hashtag row when nearly all of its non-empty cells are tags (at least two).
    A sentence in a cell beside the table (a footnote: "* Estimates in Donetska … are likely
    under-represented") is not counted against it."""
    filled = [c for c in cells if c is not None and str(c).strip() != ""
              and not (len(str(c).strip()) > 40 and " " in str(c).strip() and not is_tag_cell(c))]
    if len(filled) < 2:
        return False
    tags = sum(1 for c in filled if is_tag_cell(c))
    return tags >= 2 and tags / len(filled) >= 0.8
