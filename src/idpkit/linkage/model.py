"""The Splink model for registers of displaced households: comparisons, blocking, training.

Why the comparisons look like this:

* *Household context is one comparison, not three.* Members of one family share family name,
  phone and site. Scored as separate comparisons, each would add its own match weight, so any two
  members of one family would look like one person registered twice. ``family`` therefore compares
  the family name, the phone and the area jointly: their agreement is counted once, and what tells
  two members of a family apart (first name, date of birth, sex) decides.
* *Names survive transliteration.* Each name is compared on its normalised spelling (exact,
  Jaro-Winkler) and on its consonant skeleton (``mhmd`` for Mohammed, Muhammad and محمد), see
  :mod:`idpkit.linkage.normalise`.
* *Dates of birth are written badly.* Exact, day and month swapped, same year and month, same
  year, a year apart (ages rounded at registration), else.

All levels come from Splink's libraries (no backend-specific SQL), so the same settings run on
DuckDB, PostgreSQL and Spark.
"""

from __future__ import annotations

from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator, block_on

MODEL_COLUMNS = ["unique_id", "first_norm", "first_skel", "father_norm", "father_skel",
                 "family_norm", "family_skel", "sex", "dob", "dob_year", "dob_month", "dob_day",
                 "phone", "id_number", "area_pcode", "household_key"]


def _name(col: str) -> cl.CustomComparison:
    levels = [
        cll.NullLevel(f"{col}_norm"),
        cll.ExactMatchLevel(f"{col}_norm").configure(tf_adjustment_column=f"{col}_norm"),
        cll.ExactMatchLevel(f"{col}_skel"),
        cll.JaroWinklerLevel(f"{col}_norm", 0.92),
        cll.JaroWinklerLevel(f"{col}_norm", 0.80),
    ]
    if col == "father":  # father's and family name written in each other's place
        levels.append(cll.ColumnsReversedLevel("father_skel", "family_skel"))
    return cl.CustomComparison(output_column_name=col,
                               comparison_levels=[*levels, cll.ElseLevel()])


def _family() -> cl.CustomComparison:
    fam, phone, area = "family_skel", "phone", "area_pcode"
    same_fam = cll.ExactMatchLevel(fam)
    same_phone = cll.ExactMatchLevel(phone)
    return cl.CustomComparison(
        output_column_name="family",
        comparison_levels=[
            cll.And(cll.NullLevel(fam), cll.NullLevel(phone)),
            cll.And(same_fam, same_phone),
            cll.And(same_fam, cll.ExactMatchLevel(area)),
            same_fam,
            cll.ColumnsReversedLevel("father_skel", "family_skel"),
            same_phone,
            cll.JaroWinklerLevel("family_norm", 0.88),
            cll.ElseLevel(),
        ])


def _dob() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="dob",
        comparison_levels=[
            cll.NullLevel("dob_year"),
            cll.ExactMatchLevel("dob"),
            cll.And(cll.ExactMatchLevel("dob_year"),
                    cll.ColumnsReversedLevel("dob_month", "dob_day")),
            cll.And(cll.ExactMatchLevel("dob_year"), cll.ExactMatchLevel("dob_month")),
            cll.ExactMatchLevel("dob_year"),
            cll.AbsoluteDifferenceLevel("dob_year", 1),
            cll.ElseLevel(),
        ])


def _id() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="id_number",
        comparison_levels=[cll.NullLevel("id_number"), cll.ExactMatchLevel("id_number"),
                           cll.LevenshteinLevel("id_number", 1), cll.ElseLevel()])


BLOCKING_RULES = [
    block_on("family_skel", "dob"),
    block_on("father_skel", "dob"),
    block_on("first_skel", "dob"),
    block_on("phone", "sex"),
    block_on("id_number"),
    block_on("father_skel", "family_skel", "dob_year"),
    block_on("first_skel", "father_skel", "dob_year"),
    block_on("first_skel", "family_skel", "dob_year"),
    block_on("first_skel", "father_skel", "family_skel"),
    block_on("first_skel", "family_skel", "area_pcode"),
]
"""Candidate pairs for prediction: a duplicate survives if any one rule's columns are intact.

Every rule joins on three pieces of evidence (a full date of birth counts as two), so the pairs stay
few at scale: blocked pairs grow with the square of the register. What the rules miss is mostly
found by the second pass of :func:`idpkit.linkage.dedup.deduplicate`: once two registrations are
joined by a confident member, every pair of their members is scored. That is why rules on one name
with the birth year and month, or on a name with the birth year within one area, were dropped: on
the hardest 1M register they made 70% of the 122.6M candidate pairs (predicting took 133 of the
200 s) and, with the second pass, added 0.0003 to F1 (0.9615 against 0.9612 without them,
measured offline on the scored pairs). The rules here give 35.0M pairs at 1M and F1 0.9613 end
to end. ``first+family+area`` stays for registers without a father's name, where the other
rules lean on fewer columns.

A duplicate whose only intact evidence is one name with a birth year and month (a day written
wrongly) is therefore blocked only with two names intact, or through its household."""

TRAINING_RULES = [block_on("dob"), block_on("first_skel", "family_skel"), block_on("phone")]
"""EM sessions: each fixes some columns, so the others' m probabilities can be estimated."""


def settings() -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[_name("first"), _name("father"), _family(), _dob(),
                     cl.ExactMatch("sex"), _id()],
        blocking_rules_to_generate_predictions=BLOCKING_RULES,
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


EM_MAX_PAIRS = 2e6
"""EM sessions use about this many of their blocked pairs at most (Splink samples records on both
sides, so the share of matches among them is kept). Blocked pairs grow with the square of the
register: at 1M records ``block_on("first_skel", "family_skel")`` gives ~100M pairs and
``block_on("dob")`` ~30M, too many to hold for the EM iterations; below the cap (registers up to
~100k records) nothing is sampled."""


def train(linker: Any, *, max_pairs: float = 2e6, seed: int = 1) -> None:
    """Unsupervised training: prior from near-certain matches, u by random sampling, m by EM."""
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first_norm", "family_norm", "dob"), block_on("id_number", "first_skel")],
        recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
    for rule in TRAINING_RULES:
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, fix_probability_two_random_records_match=True, max_pairs=EM_MAX_PAIRS)
