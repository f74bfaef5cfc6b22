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
* *Dates of birth are written badly.* Exact, day and month swapped, same year and month, one
  character apart (FEBRL's typos), same year, birth years a year apart, else. The birth year
  comes from the date, else a year of birth, else the registration year minus the age (one
  record in five may have only an age): namesakes of different ages disagree there.
* *Names are written in other orders.* Given and last name swapped, the father's name written
  after the grandfather's (or the family name), the grandfather's dropped: the crosswise levels
  of :func:`_name` and :func:`_family` count those as agreement; a whole name in one cell is
  split into parts by :func:`idpkit.linkage.normalise.split_full_name`.
* *Only what is filled is compared.* :func:`comparisons`, :func:`blocking_rules` and
  :func:`train` use the model columns that hold values in this register (issue 19: an empty
  father-name column and a register without phones crashed).

All levels come from Splink's libraries (no backend-specific SQL), so the same settings run on
DuckDB, PostgreSQL and Spark.
"""

from __future__ import annotations

import logging
from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator, block_on

MODEL_COLUMNS = ["unique_id", "first_norm", "first_skel", "father_norm", "father_skel",
                 "gfather_norm", "gfather_skel", "family_norm", "family_skel", "last_skel",
                 "names_key", "sex", "dob", "dob_year", "dob_month", "dob_day", "birth_year",
                 "phone", "id_number", "area_pcode", "address_norm", "locality_norm", "postcode",
                 "household_key"]
TEXT_COLUMNS = [c for c in MODEL_COLUMNS
                if c not in ("dob_year", "dob_month", "dob_day", "birth_year")]
"""Typed as text for Splink even when empty: an all-empty column typed as a number made
``jaro_winkler_similarity(DOUBLE, DOUBLE)`` fail (issue 19)."""


def _name(col: str, filled: set[str]) -> cl.CustomComparison:
    """One name part. Why the crosswise levels: clerks write the given and last name in swapped
    order, drop the grandfather's name or write the father's name last; each is a level of its
    own (its weight learnt by EM), so a record with its parts moved still agrees on them."""
    levels = [
        cll.NullLevel(f"{col}_norm"),
        cll.ExactMatchLevel(f"{col}_norm").configure(tf_adjustment_column=f"{col}_norm"),
        cll.ExactMatchLevel(f"{col}_skel"),
        cll.JaroWinklerLevel(f"{col}_norm", 0.92),
        cll.JaroWinklerLevel(f"{col}_norm", 0.80),
    ]
    crosswise = {"first": [("first_skel", "last_skel")],
                 "father": [("father_skel", "family_skel"), ("father_skel", "gfather_skel")],
                 "gfather": [("father_skel", "gfather_skel"), ("first_skel", "gfather_skel")]}
    for a, b in crosswise.get(col, []):
        if {a, b} <= filled:
            levels.append(cll.ColumnsReversedLevel(a, b))
    return cl.CustomComparison(output_column_name=col,
                               comparison_levels=[*levels, cll.ElseLevel()])


def _family(filled: set[str]) -> cl.CustomComparison:
    fam, phone, area = "family_skel", "phone", "area_pcode"
    same_fam = cll.ExactMatchLevel(fam)
    same_phone = cll.ExactMatchLevel(phone)
    has_fam, has_phone, has_area = fam in filled, phone in filled, area in filled
    levels: list[Any] = [cll.And(*[cll.NullLevel(c) for c in (fam, phone) if c in filled])]
    if has_fam and has_phone:
        levels.append(cll.And(same_fam, same_phone))
    if has_fam and has_area:
        levels.append(cll.And(same_fam, cll.ExactMatchLevel(area)))
    if has_fam:
        levels.append(same_fam)
        if "father_skel" in filled:
            levels.append(cll.ColumnsReversedLevel("father_skel", "family_skel"))
        if "first_skel" in filled:
            levels.append(cll.ColumnsReversedLevel("first_skel", "family_skel"))
    if has_phone:
        levels.append(same_phone)
    if has_fam:
        levels.append(cll.JaroWinklerLevel("family_norm", 0.88))
    return cl.CustomComparison(output_column_name="family",
                               comparison_levels=[*levels, cll.ElseLevel()])


def _dob(filled: set[str]) -> cl.CustomComparison:
    """Dates of birth as written, then birth years (from the date, a year of birth or the age at
    registration): namesakes of different ages disagree here, which is what keeps them apart."""
    levels: list[Any] = [cll.NullLevel("birth_year")]
    if "dob" in filled:
        levels += [cll.ExactMatchLevel("dob"),
                   cll.And(cll.ExactMatchLevel("dob_year"),
                           cll.ColumnsReversedLevel("dob_month", "dob_day")),
                   cll.And(cll.ExactMatchLevel("dob_year"), cll.ExactMatchLevel("dob_month")),
                   cll.LevenshteinLevel("dob", 1),
                   cll.ExactMatchLevel("dob_year")]
    levels += [cll.AbsoluteDifferenceLevel("birth_year", 1), cll.ElseLevel()]
    return cl.CustomComparison(output_column_name="dob", comparison_levels=levels)


def _id() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="id_number",
        comparison_levels=[cll.NullLevel("id_number"), cll.ExactMatchLevel("id_number"),
                           cll.LevenshteinLevel("id_number", 1), cll.ElseLevel()])


def _place(col: str) -> cl.CustomComparison:
    """Address and locality (FEBRL-style registers): exact, close spelling, else."""
    return cl.CustomComparison(
        output_column_name=col.removesuffix("_norm"),
        comparison_levels=[cll.NullLevel(col), cll.ExactMatchLevel(col),
                           cll.JaroWinklerLevel(col, 0.9), cll.JaroWinklerLevel(col, 0.75),
                           cll.ElseLevel()])


def _postcode() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="postcode",
        comparison_levels=[cll.NullLevel("postcode"), cll.ExactMatchLevel("postcode"),
                           cll.LevenshteinLevel("postcode", 1), cll.ElseLevel()])


ALL_COLUMNS = frozenset(MODEL_COLUMNS)


def comparisons(filled: set[str] | frozenset[str] = ALL_COLUMNS) -> list[Any]:
    """The comparisons for the model columns that hold values: a comparison on an empty column
    has nothing to learn and nothing to say."""
    out: list[Any] = []
    for part in ("first", "father", "gfather"):
        if f"{part}_norm" in filled:
            out.append(_name(part, filled))
    if filled & {"family_skel", "phone"}:
        out.append(_family(filled))
    if "birth_year" in filled:
        out.append(_dob(filled))
    if "sex" in filled:
        out.append(cl.ExactMatch("sex"))
    if "id_number" in filled:
        out.append(_id())
    for col in ("address_norm", "locality_norm"):
        if col in filled:
            out.append(_place(col))
    if "postcode" in filled:
        out.append(_postcode())
    return out


BLOCKING_RULES = [
    ("family_skel", "dob"),
    ("father_skel", "dob"),
    ("first_skel", "dob"),
    ("phone", "sex"),
    ("id_number",),
    ("father_skel", "family_skel", "dob_year"),
    ("first_skel", "father_skel", "dob_year"),
    ("first_skel", "family_skel", "dob_year"),
    ("first_skel", "father_skel", "family_skel"),
    ("first_skel", "family_skel", "area_pcode"),
    ("names_key", "birth_year"),
    ("first_skel", "father_skel", "gfather_skel"),
    ("first_skel", "gfather_skel", "birth_year"),
    ("names_key", "phone"),
    ("first_skel", "postcode", "dob_year"),
    ("last_skel", "postcode", "dob_year"),
    ("first_skel", "last_skel", "postcode"),
    ("dob", "postcode"),
    ("address_norm", "dob_year"),
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
wrongly) is therefore blocked only with two names intact, or through its household.

The rules after the first ten were added for registers the first ten did not see (issue 19):
the name's parts as a sorted set with the birth year (swapped name order; the year may come
from an age), three patronymic parts, and, for registers with addresses (FEBRL), a name or the
date of birth within one postcode. Each still joins on three pieces of evidence. A rule is used
only when all its columns hold values (:func:`blocking_rules`): a rule on an empty column finds
no pairs and, in training, fails."""


def _usable(cols: tuple[str, ...], filled: set[str] | frozenset[str]) -> bool:
    return all(c in filled for c in cols)


def blocking_rules(filled: set[str] | frozenset[str] = ALL_COLUMNS) -> list[Any]:
    return [block_on(*cols) for cols in BLOCKING_RULES if _usable(cols, filled)]


TRAINING_RULES = [("dob",), ("first_skel", "family_skel"), ("phone",),
                  ("first_skel", "father_skel"), ("postcode",)]
"""EM sessions: each fixes some columns, so the others' m probabilities can be estimated. The
first three are the original sessions; the last two stand in when a register lacks family names
or phones (each comparison needs one session that does not fix it)."""

PRIOR_RULES = [("first_norm", "family_norm", "dob"), ("id_number", "first_skel"),
               ("first_norm", "father_norm", "dob"), ("names_key", "dob"),
               ("first_norm", "father_norm", "gfather_norm", "birth_year")]
"""Near-certain matches for the prior (recall 0.7 assumed), used when their columns are filled."""


def settings(filled: set[str] | frozenset[str] = ALL_COLUMNS) -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=comparisons(filled),
        blocking_rules_to_generate_predictions=blocking_rules(filled),
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


EM_MAX_PAIRS = 2e6
"""EM sessions use about this many of their blocked pairs at most (Splink samples records on both
sides, so the share of matches among them is kept). Blocked pairs grow with the square of the
register: at 1M records ``block_on("first_skel", "family_skel")`` gives ~100M pairs and
``block_on("dob")`` ~30M, too many to hold for the EM iterations; below the cap (registers up to
~100k records) nothing is sampled."""


EM_WITHOUT_TERM_FREQUENCIES = True
"""EM iterations on the counts of agreement patterns, not on every sampled pair: with term
frequencies, each of up to 25 iterations re-scored all of a session's ~2M sampled pairs (at 1M
records three sessions cost most of training); the term-frequency adjustments still apply at
prediction. On the hardest 1M register (seed 3) F1 rose from 0.9532 to 0.9603 (precision 0.9781 ->
0.9809, recall 0.9296 -> 0.9405; why it is better was not analysed)."""


def train(linker: Any, *, max_pairs: float = 2e6, seed: int = 1,
          filled: set[str] | frozenset[str] = ALL_COLUMNS) -> None:
    """Unsupervised training: prior from near-certain matches, u by random sampling, m by EM.

    Only rules on filled columns are used, and a step that finds no pairs is skipped (Splink
    keeps its defaults for what it could not estimate): a small or sparse register must still
    deduplicate, with a weaker model, rather than fail."""
    from splink.internals.exceptions import SplinkException

    log = logging.getLogger(__name__)
    prior = [block_on(*c) for c in PRIOR_RULES if _usable(c, filled)]
    settings_obj = linker._settings_obj
    default = settings_obj._probability_two_random_records_match
    if prior:
        try:
            linker.training.estimate_probability_two_random_records_match(prior, recall=0.7)
        except (SplinkException, ValueError, ZeroDivisionError) as exc:
            log.info("prior not estimated (%s); Splink's default kept", exc)
    p = settings_obj._probability_two_random_records_match
    if not (p == p and 0 < p < 1):  # no near-certain pair found (0), or all of them (1)
        settings_obj._probability_two_random_records_match = default
    linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
    sessions = [c for c in TRAINING_RULES[:3] if _usable(c, filled)]
    if not _usable(("first_skel", "family_skel"), filled):
        sessions += [c for c in TRAINING_RULES[3:] if _usable(c, filled)]
    for cols in sessions:
        # a session that finds no pairs may leave Splink's model without its comparisons
        # (Splink 5 does not raise then): keep them, and the session counts for nothing
        kept = list(settings_obj.comparisons)
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(*cols), fix_probability_two_random_records_match=True,
                max_pairs=EM_MAX_PAIRS,
                estimate_without_term_frequencies=EM_WITHOUT_TERM_FREQUENCIES)
        except (SplinkException, ValueError, ZeroDivisionError) as exc:
            log.info("EM session on %s skipped (%s)", "+".join(cols), exc)
        if [c.output_column_name for c in settings_obj.comparisons] != \
                [c.output_column_name for c in kept]:
            settings_obj.comparisons = kept
            log.info("EM session on %s found no pairs; skipped", "+".join(cols))
