"""Why the model scored a pair as it did, in words a registration clerk reads.

Why: a clerk deciding whether two records are one person should see *which* evidence pushed the
score up or down ("Date of birth: same year and month ×12.3", "Given name: different ÷8.1"),
not a bare probability, and should see fields by their names on a form ("Father's name",
"Phone (as written)"), not the model's columns (``father_skel``, ``phone_as_written``).

Each comparison's contribution is Splink's Bayes factor for the level the pair falls in (times
its term-frequency adjustment, when the level has one): the model's prior odds multiplied by
every factor give the pair's match odds. They come from scoring the one pair with the saved
model (``score_pair`` in Splink 5, ``compare_two_records`` in 4), with the whole register as the
linker's table (so term frequencies are the register's).
Level names are translated from Splink's own labels by pattern, so comparisons added to the
model later are explained too (in plainer words where a pattern is known).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

FIELD_LABELS: dict[str, str] = {
    "record_id": "Record id", "household_ref": "Household id",
    "registration_event": "Registration (household and round)", "organisation": "Organisation",
    "registration_date": "Registration date", "site_id": "Site", "area_pcode": "Area (P-code)",
    "relationship": "Relationship to head", "first_name": "Given name",
    "father_name": "Father's name", "grandfather_name": "Grandfather's name",
    "family_name": "Family name", "full_name": "Full name", "sex_as_written": "Sex (as written)",
    "date_of_birth": "Date of birth", "year_of_birth": "Year of birth", "age": "Age",
    "phone_as_written": "Phone (as written)", "phone_region": "Phone country",
    "id_number_as_written": "ID number (as written)", "address": "Address",
    "locality": "Village / locality", "postcode": "Postcode",
}
"""``reg_people`` columns -> what a clerk calls them (review queue, cluster exports)."""

REVIEW_FIELDS = ["first_name", "father_name", "grandfather_name", "family_name", "full_name",
                 "sex_as_written", "date_of_birth", "year_of_birth", "age", "phone_as_written",
                 "id_number_as_written", "relationship", "household_ref", "area_pcode",
                 "site_id", "locality", "address", "organisation", "registration_date"]
"""What the review queue shows, in this order (a field empty on both sides is left out)."""

COMPARISON_LABELS: dict[str, str] = {
    "first": "Given name", "father": "Father's name", "grandfather": "Grandfather's name",
    "family": "Family name, phone and area", "dob": "Date of birth", "sex": "Sex",
    "id_number": "ID number", "phone": "Phone", "name": "Name", "names": "Names",
    "age": "Age", "year_of_birth": "Year of birth", "address": "Address",
    "locality": "Village / locality", "area": "Area", "full_name": "Full name",
}

_WORDS = {"first": "given name", "father": "father's name", "grandfather": "grandfather's name",
          "family": "family name", "dob": "date of birth", "dob_year": "birth year",
          "dob_month": "birth month", "dob_day": "birth day", "phone": "phone",
          "area_pcode": "area", "id_number": "ID number", "sex": "sex", "age": "age",
          "year_of_birth": "birth year", "full": "full name", "locality": "locality",
          "address": "address", "postcode": "postcode", "site_id": "site"}


def _word(col: str) -> str:
    """A model column as words: ``first_skel`` -> given name, ``dob_year`` -> birth year."""
    col = col.strip().strip("'\"`")
    if col in _WORDS:
        return _WORDS[col]
    base = re.sub(r"_(norm|skel|std|clean|tokens?|sorted|key)$", "", col)
    return _WORDS.get(base, base.replace("_", " "))


_PATTERNS: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"^(.+?) is NULL$"), lambda m: f"{_word(m[1])} missing"),
    (re.compile(r"^Exact match on (\w+)_skel$"), lambda m: f"{_word(m[1])} sounds the same"),
    (re.compile(r"^Exact match on (\w+)$"), lambda m: f"same {_word(m[1])}"),
    (re.compile(r"^Jaro-Winkler distance of (\w+) >= ([\d.]+)$"),
     lambda m: f"{_word(m[1])} {'very ' if float(m[2]) >= 0.9 else ''}similar"),
    (re.compile(r"^(?:Jaro|Jaccard|Damerau-Levenshtein|Levenshtein) distance of (\w+) "
                r"(?:<=|>=) ([\d.]+)$"),
     lambda m: f"{_word(m[1])} close (within {m[2]})"),
    (re.compile(r"^Match on reversed cols: (\w+) and (\w+).*$"),
     lambda m: f"{_word(m[1])} and {_word(m[2])} swapped"),
    (re.compile(r"^Absolute difference of '?(\w+)'? <= ([\d.]+)$"),
     lambda m: f"{_word(m[1])} within {m[2]}"),
    (re.compile(r"^All other comparisons$"), lambda m: "different"),
]


def level_label(label: str) -> str:
    """Splink's level label in words: ``(Exact match on dob_year) AND (Exact match on
    dob_month)`` -> ``same birth year and same birth month``."""
    label = label.strip()
    parts = re.split(r"\)\s+AND\s+\(", label)
    if len(parts) > 1:
        return " and ".join(level_label(p.strip("() ")) for p in parts)
    for pattern, words in _PATTERNS:
        m = pattern.match(label)
        if m:
            return words(m)
    return re.sub(r"\b(\w+_(?:norm|skel)|dob\w*|area_pcode|id_number)\b",
                  lambda m: _word(m[0]), label)


@dataclass
class Contribution:
    comparison: str  # what a clerk calls it
    level: str  # which level the pair is in, in words
    bayes_factor: float  # times the odds (with the term-frequency adjustment)

    @property
    def match_weight(self) -> float:
        return math.log2(self.bayes_factor) if self.bayes_factor > 0 else float("-inf")

    def text(self) -> str:
        bf = self.bayes_factor
        factor = f"×{bf:,.1f}" if bf >= 1 else f"÷{1 / bf:,.1f}" if bf > 0 else "×0"
        return f"{self.comparison}: {self.level} {factor}"


@dataclass
class Explanation:
    match_probability: float
    contributions: list[Contribution]


class Explainer:
    """The saved model and the register (its model columns, ``unique_id`` = record id), built
    once per review session; :meth:`explain` scores one pair."""

    def __init__(self, model: dict, frame: pd.DataFrame, db_api: Any = None) -> None:
        import logging

        from splink import Linker

        from idpkit.linkage.dedup import default_db_api

        logging.getLogger("splink").setLevel(logging.WARNING)
        self._api = db_api or default_db_api()
        self._frame = frame.set_index("unique_id", drop=False)
        self._linker = Linker(self._api.register(frame.reset_index(drop=True)), model)
        settings = self._linker._settings_obj
        self._levels: dict[str, dict[int, str]] = {}
        for comp in settings.comparisons:
            self._levels[comp.output_column_name] = {
                int(lv.comparison_vector_value): lv.label_for_charts
                for lv in comp.comparison_levels}

    def _record(self, record_id: str) -> dict[str, Any]:
        row = self._frame.loc[str(record_id)]
        return {k: (None if _missing(v) else v) for k, v in row.items()}

    def explain(self, record_a: str, record_b: str) -> Explanation:
        inference = self._linker.inference
        score = getattr(inference, "score_pair", None) or inference.compare_two_records  # 5 / 4
        res = score(self._record(record_a), self._record(record_b)).as_pandas_dataframe().iloc[0]
        out = []
        for name, levels in self._levels.items():
            gamma = res.get(f"gamma_{name}")
            if gamma is None or _missing(gamma):
                continue
            bf = _factor(res, name) * _factor(res, f"tf_adj_{name}")
            title = COMPARISON_LABELS.get(name, name.replace("_", " ").capitalize())
            words = level_label(levels.get(int(gamma), ""))
            if words.casefold().startswith(title.casefold() + " "):  # "Sex: missing"
                words = words[len(title) + 1:]
            out.append(Contribution(title, words, bf))
        return Explanation(float(res["match_probability"]), out)


def _factor(res: pd.Series, name: str) -> float:
    """A Bayes factor from Splink's output: ``bf_<name>`` (Splink 4) or the match weight
    ``mw_<name>`` = log2 of it (Splink 5); 1 when absent (no adjustment)."""
    bf, mw = res.get(f"bf_{name}"), res.get(f"mw_{name}")
    if bf is not None and not _missing(bf):
        return float(bf)
    if mw is not None and not _missing(mw):
        return float(2.0 ** float(mw))
    return 1.0


def _missing(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False
