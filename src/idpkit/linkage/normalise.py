"""Names, phones and dates as registration clerks write them, reduced to comparable forms.

Why two forms per name: ``name_norm`` keeps the spelling (for string similarity), ``name_skel``
keeps only what survives transliteration. Arabic script writes no short vowels, and Latin
transliterations of one Arabic name differ mostly in vowels and doubled letters (Mohammed, Muhammad,
Mohamed, محمد), so the *consonant skeleton* — first letter, then consonants, doubles collapsed — is
the same for all of them (``mhmd``). Splink compares both.

Everything works on the distinct values of a column (a register of a million people has a few
thousand distinct names), so Python here is never a per-row loop over the register.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import pandas as pd

ARABIC_TO_LATIN: dict[str, str] = {
    "ا": "a", "أ": "a", "إ": "i", "آ": "a", "ٱ": "a", "ب": "b", "ت": "t", "ث": "th", "ج": "j",
    "ح": "h", "خ": "kh", "د": "d", "ذ": "dh", "ر": "r", "ز": "z", "س": "s", "ش": "sh", "ص": "s",
    "ض": "d", "ط": "t", "ظ": "z", "ع": "a", "غ": "gh", "ف": "f", "ق": "q", "ك": "k", "ل": "l",
    "م": "m", "ن": "n", "ه": "h", "و": "u", "ي": "i", "ى": "a", "ة": "a", "ء": "", "ؤ": "u",
    "ئ": "i", "پ": "p", "چ": "ch", "ژ": "zh", "گ": "g", "ک": "k", "ی": "i",
    "\u064b": "", "\u064c": "", "\u064d": "", "\u064e": "", "\u064f": "", "\u0650": "",
    "\u0651": "", "\u0652": "", "ـ": "",
}
"""Arabic (and Persian/Dari) letters to Latin; harakat (short-vowel marks) and tatweel dropped."""

_COMPOUNDS = [  # spellings of one prefix, joined so that "Abdel Rahman" == "Abdulrahman"
    (re.compile(r"\babd(?:[\s-]*(?:al|el|ul)[\s-]*|u[\s-]*|[\s-]+)"), "abdal"),
    (re.compile(r"\b(al|el)[\s-]+(?=[a-z])"), "al"),
]
_VOWELS = set("aeiouy")


@lru_cache(maxsize=200_000)
def normalise_name(text: str | None) -> str | None:
    """Latin, lower-case, no diacritics, no punctuation, single spaces, compounds joined."""
    if text is None:
        return None
    s = unicodedata.normalize("NFKC", str(text))
    s = re.sub(r"(^|\s)ي", r"\1y", s)  # initial yaa and waw are consonants: Yusuf, Walid
    s = re.sub(r"(^|\s)و", r"\1w", s)
    s = "".join(ARABIC_TO_LATIN.get(ch, ch) for ch in s)
    s = unicodedata.normalize("NFD", s)
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    s = s.casefold()
    s = re.sub(r"[^a-z\s-]", "", s)
    s = re.sub(r"\s+", " ", s).strip()
    for pattern, repl in _COMPOUNDS:
        s = pattern.sub(repl, s)
    s = s.replace("-", "").replace(" ", "")
    return s or None


@lru_cache(maxsize=200_000)
def name_skeleton(norm: str | None) -> str | None:
    """First letter (any initial vowel as ``a``: Ibrahim, Ebrahim, إبراهيم), then the consonants,
    doubled letters collapsed first: ``mohammed`` -> ``mhmd``."""
    if not norm:
        return None
    s = norm.replace("ph", "f").replace("q", "k")
    s = re.sub(r"(.)\1+", r"\1", s)
    first = "a" if s[0] in "aeiou" else s[0]
    rest = [ch for ch in s[1:] if ch not in _VOWELS and ch != "w"]
    return first + "".join(rest)


def names_column(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``(normalised, skeleton)`` for a column, computed once per distinct value."""
    distinct = pd.Series(values.dropna().unique())
    norm = {v: normalise_name(v) for v in distinct}
    skel = {v: name_skeleton(n) for v, n in norm.items()}
    return values.map(norm), values.map(skel)


def normalise_phone(text: object, region: str | None) -> str | None:
    """E.164 (``+249912345678``) when the number parses as possible, else None.

    Why the number's own country code comes first: a register that mixes countries (252, 234,
    211) writes ``+252…``, ``00252…`` and bare ``252…`` beside local forms, and one default
    region cannot read them all (``252612345678`` read as a Nigerian local number is "possible").
    So: ``+``/``00`` forms are international; bare digits not starting with 0 are read with a
    country code when that gives a *valid* number (the length and prefix fit that country), else
    as a local number of ``region``."""
    import phonenumbers

    if text is None or (isinstance(text, float) and text != text):
        return None
    raw = str(text).strip()
    if raw.endswith(".0") and raw[:-2].isdigit():  # a number column read as floats
        raw = raw[:-2]
    if not raw:
        return None
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    digits = "".join(ch for ch in raw if ch.isdigit())
    if not raw.startswith("+") and digits and digits[0] != "0" and len(digits) >= 10:
        try:
            num = phonenumbers.parse("+" + digits, None)
            if phonenumbers.is_valid_number(num):
                return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
        except phonenumbers.NumberParseException:
            pass
    if not raw.startswith("+") and not region:
        return None
    try:
        num = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(num):
        return None
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def phones_column(values: pd.Series, region: str | None,
                  regions: pd.Series | None = None) -> pd.Series:
    """E.164 per record: the number's own country code, else the record's region (``regions``,
    aligned with ``values``), else ``region``. Parsed once per distinct (number, region) pair,
    found on integer codes (a million records hold a few hundred thousand numbers, and parsing
    one is most of the cost)."""
    import numpy as np

    from idpkit.linkage.distinct import distinct, trimmed

    vcodes, vuniq = distinct(values)
    tcodes, tuniq = pd.factorize(trimmed(vuniq), use_na_sentinel=True)
    text = np.full(len(values), -1, dtype=np.int64)
    if len(tcodes):
        text = np.where(vcodes >= 0, tcodes[np.maximum(vcodes, 0)], -1).astype(np.int64)
    names: list[str | None] = [region or None]  # code 0: the register's default region
    reg = np.zeros(len(values), dtype=np.int64)
    if regions is not None and len(regions):
        import phonenumbers

        rcodes, runiq = distinct(regions)
        own = trimmed(runiq).str.upper()
        ok = own.isin(list(phonenumbers.SUPPORTED_REGIONS)).fillna(False).to_numpy(dtype=bool)
        names += own.astype(object).tolist()
        per_unique = np.where(ok, np.arange(1, len(runiq) + 1), 0)
        reg = np.where(rcodes >= 0, per_unique[np.maximum(rcodes, 0)], 0) if len(runiq) \
            else reg
    has = text >= 0
    keys, inverse = np.unique(text[has] * len(names) + reg[has], return_inverse=True)
    numbers = np.asarray(tuniq, dtype=object)
    e164 = np.array([None, *(normalise_phone(numbers[k // len(names)], names[k % len(names)])
                             for k in keys.tolist())], dtype=object)
    out = np.full(len(values), None, dtype=object)
    out[has] = e164[1:][inverse] if len(keys) else None
    return pd.Series(out, index=values.index, dtype=object)


def dates_column(values: pd.Series) -> pd.DataFrame:
    """``dob`` (date), ``dob_year``, ``dob_month``, ``dob_day`` from ISO, d/m/Y, ``YYYYMMDD`` or
    year-only text (any input dtype: a date column read as numbers gives ``19870412.0``)."""
    text = values.astype("string").str.strip().str.replace(r"\.0$", "", regex=True)
    iso = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    dmy = pd.to_datetime(text, format="%d/%m/%Y", errors="coerce")
    compact = pd.to_datetime(text.where(text.str.fullmatch(r"\d{8}").fillna(False)),
                             format="%Y%m%d", errors="coerce")
    year_only = pd.to_datetime(text.where(text.str.fullmatch(r"\d{4}").fillna(False)),
                               format="%Y", errors="coerce")
    d = iso.fillna(dmy).fillna(compact)
    # a compact date with a bad month or day (19871412) still says its year
    head = pd.to_numeric(text.where(text.str.fullmatch(r"\d{8}").fillna(False)).str[:4],
                         errors="coerce")
    year = d.dt.year.fillna(year_only.dt.year).fillna(head.where(head.between(1880, 2100)))
    return pd.DataFrame({"dob": d.dt.date.astype("object").where(d.notna(), None),
                         "dob_year": year.astype("Int64"),
                         "dob_month": d.dt.month.astype("Int64"),
                         "dob_day": d.dt.day.astype("Int64")})


def split_full_name(values: pd.Series) -> pd.DataFrame:
    """A whole name in one cell as ``first``, ``father``, ``grandfather`` parts.

    Why this split: registers that write one name cell write the patronymic chain ("Ali Guled
    Hassan": given name, father's, grandfather's). Compound prefixes are joined first
    ("Abdel Rahman"), so a two-word given name stays one part; a fourth and later words are
    joined to the third. Order mistakes (swapped, father last) are the model's business: it
    compares the parts crosswise."""
    text = values.astype("string").str.strip()
    distinct = pd.Series(text.dropna().unique())
    parts: dict[str, tuple[str | None, str | None, str | None]] = {}
    for v in distinct:
        s = unicodedata.normalize("NFKC", str(v))
        s = re.sub(r"\b(abd|abdel|abdul|abdal|abd al|abu)\s+(?=\w)", r"\1", s,
                   flags=re.IGNORECASE)
        w = s.split()
        parts[v] = (w[0] if w else None, w[1] if len(w) > 1 else None,
                    " ".join(w[2:]) if len(w) > 2 else None)
    out = pd.DataFrame({k: text.map({v: p[i] for v, p in parts.items()})
                        for i, k in enumerate(("first", "father", "grandfather"))})
    return out.astype(object).where(out.notna(), None)


def clean_id(values: pd.Series) -> pd.Series:
    """Document numbers: upper case, letters and digits only (clerks add spaces and dashes)."""
    s = values.astype("string").str.upper().str.replace(r"[^0-9A-Z]", "", regex=True)
    return s.where(s.str.len() > 0)
