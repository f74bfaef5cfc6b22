"""HXL hashtags as users really write them: case, stray tabs, typos and synonym attributes.

A tag like ``#affected+idps+ind`` is parsed into its hashtag (``affected``) and a set of attributes
(``{"idps", "ind"}``); attribute synonyms are folded so that ``+idp``, ``+displaced`` and ``+idps`` mean
the same, and a hashtag with a typo (``#afected``) is corrected to the nearest known one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

KNOWN_HASHTAGS = (
    "affected", "population", "inneed", "targeted", "reached", "beneficiary",
    "adm1", "adm2", "adm3", "adm4", "adm5", "adm", "country", "region", "loc", "geo",
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
    corrected = False
    if hashtag not in KNOWN_HASHTAGS:
        best = process.extractOne(hashtag, KNOWN_HASHTAGS, scorer=Levenshtein.distance)
        if best is not None and best[1] <= (1 if len(hashtag) <= 5 else 2):
            hashtag, corrected = best[0], True
    folded = frozenset(ATTRIBUTE_SYNONYMS.get(a, a) for a in attrs)
    return Tag(raw=str(text), hashtag=hashtag, attributes=folded, corrected=corrected)


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
