"""Names and P-codes of places: matching names to P-codes, repairing and suggesting codes.

Only distinct values are handled here (a few thousand at most per file); the results are joined
back onto the rows by the warehouse engine.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import pycountry
from rapidfuzz import fuzz, process
from rapidfuzz.distance import JaroWinkler, Levenshtein

from idpkit.warehouse.areas import Area, Gazetteer

PCODE_RE = re.compile(r"^[A-Z]{2,3}[A-Z0-9]*[0-9]$")
_GENERIC = {"al", "el", "ad", "ar", "as", "an", "at", "az", "state", "province", "governorate",
            "region", "district", "county", "lga", "department", "departement", "prefecture",
            "woreda", "zone", "city", "town", "municipality", "commune", "of", "the", "de", "du",
            "des", "la", "le", "les", "mohafazat", "wilayat"}


def is_pcode_like(text: str) -> bool:
    return bool(PCODE_RE.match(text))


def normalise_pcode(text: str) -> str:
    return re.sub(r"[\s\-_.]", "", text.upper())


@functools.lru_cache(maxsize=200_000)
def fold_name(text: str) -> str:
    """'Al-Anbar' -> 'anbar', 'Salah Al-Din' -> 'salah din', 'Sémé' -> 'seme'. Cached: the same
    gazetteer names are folded again for every name looked up among them."""
    t = unicodedata.normalize("NFKD", str(text))
    t = "".join(c for c in t if not unicodedata.combining(c)).lower()
    t = re.sub(r"['`’ʼ]", "", t)
    words = [w for w in re.split(r"[^a-z0-9]+", t) if w and w not in _GENERIC]
    return " ".join(words)


def _score(a: str, b: str, **_: object) -> float:
    """Similarity of folded names, robust to transliteration (Babylon/Babil, Missan/Maysan)."""
    if a == b:
        return 100.0
    jw = JaroWinkler.normalized_similarity(a.replace(" ", ""), b.replace(" ", "")) * 100
    tok = fuzz.token_sort_ratio(a, b)
    ska, skb = _skeleton(a), _skeleton(b)
    skel = 90.0 if len(ska) >= 3 and ska == skb else 0.0
    return max(jw, tok, skel)


def _skeleton(text: str) -> str:
    """Consonant skeleton: transliterations differ mostly in vowels and doubled letters
    (Dahuk/Duhok, Missan/Maysan)."""
    t = re.sub(r"[aeiouyw\s]", "", text)
    return re.sub(r"(.)\1+", r"\1", t)


def best_match(name: str, candidates: list[Area], *, threshold: float = 84.0,
               margin: float = 3.0) -> tuple[Area | None, float]:
    """The one candidate a name means, or None when unsure (no match, or two close ones)."""
    key = fold_name(name)
    if not key or not candidates:
        return None, 0.0
    exact = [c for c in candidates if c.name and fold_name(str(c.name)) == key]
    if len(exact) == 1:
        return exact[0], 100.0
    choices = {i: fold_name(str(c.name or "")) for i, c in enumerate(candidates)}
    ranked = process.extract(key, choices, scorer=_score, limit=2)
    if not ranked:
        return None, 0.0
    top = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    if top[1] >= threshold and top[1] - second >= margin:
        return candidates[top[2]], float(top[1])
    return None, float(top[1])


def infer_country(gaz: Gazetteer, adm1_names: list[str]) -> str | None:
    """The country whose admin-1 names best explain a file's admin-1 names (for name-only files)."""
    names = [n for n in {fold_name(x) for x in adm1_names} if n][:200]
    if not names:
        return None
    best, best_hits = None, 0
    for iso3 in gaz.iso3s:
        cands = gaz.by_country_level.get((iso3, 1), [])
        if not cands:
            continue
        hits = sum(1 for n in names if best_match(n, cands, threshold=88)[0] is not None)
        if hits > best_hits:
            best, best_hits = iso3, hits
    return best if best_hits >= max(1, len(names) // 2) else None


def repair_pcode(gaz: Gazetteer, code: str, iso3: str | None) -> str | None:
    """A confident fix for an unknown code: the country prefix written ISO2 where the COD uses
    ISO3 or the reverse (Chad's ``TD07`` is ``TCD07``), or separators and case. Never another
    prefix swapped for the file's country: an operation's own code (``DTM12``) was "repaired"
    onto a real but wrong P-code that way (:func:`suggest_pcode` still shows it as a hint).
    ``iso3`` is unused; kept for callers."""
    c = normalise_pcode(code)
    if c in gaz.by_pcode:
        return c
    m = re.match(r"^([A-Z]{2,3})(.*)$", c)
    if not m:
        return None
    prefix, rest = m.groups()
    # 1. the code's own prefix names a country (ISO2 where the COD uses ISO3, or the reverse)
    own: set[str] = set()
    if len(prefix) == 2:
        if prefix in gaz.iso2_to_iso3:
            own.add(gaz.iso2_to_iso3[prefix] + rest)
        country = pycountry.countries.get(alpha_2=prefix)
        if country is not None:
            own.add(country.alpha_3 + rest)
    elif len(prefix) == 3:
        for iso2, i3 in gaz.iso2_to_iso3.items():
            if i3 == prefix:
                own.add(iso2 + rest)
    found = sorted(x for x in own if x in gaz.by_pcode and x != c)
    return found[0] if len(found) == 1 else None


def suggest_pcode(gaz: Gazetteer, code: str, iso3: str | None, level: int | None,
                  name: str | None = None) -> str | None:
    """Nearest known P-code (by edit distance, or by the row's name) to show the user."""
    fixed = repair_pcode(gaz, code, iso3)
    if fixed:
        return fixed
    m = re.match(r"^([A-Z]{2,3})(.*)$", normalise_pcode(code))
    if m and iso3:  # the same code under the country's own prefix, shown as a hint only
        for i2, i3 in gaz.iso2_to_iso3.items():
            for alt in (i3 + m.group(2), i2 + m.group(2)) if i3 == iso3 else ():
                if alt in gaz.by_pcode and alt != normalise_pcode(code):
                    return alt
    pool: list[Area] = []
    if iso3 and level:
        pool = gaz.by_country_level.get((iso3, level), [])
    elif iso3:
        pool = [a for (i, _), areas in gaz.by_country_level.items() if i == iso3 for a in areas]
    if name and pool:
        hit, _ = best_match(name, pool)
        if hit:
            return hit.pcode
    if not pool:
        return None
    c = normalise_pcode(code)
    best = process.extractOne(c, {i: a.pcode for i, a in enumerate(pool)},
                              scorer=Levenshtein.distance)
    if best is not None and best[1] <= 2:
        return pool[best[2]].pcode
    return None
