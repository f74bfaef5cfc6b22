"""Findings about data. They are values, never exceptions (Frictionless' model).

Every finding has a stable kebab-case ``code`` (public: documented in ``docs/issue-codes.md``, which
a test keeps in step with :data:`CATALOGUE`), a severity, and the position a user can find it at:
file, sheet, row as shown by Excel or a text editor, column header, and the offending value.
``error`` quarantines the row; ``warning`` accepts it and flags it; ``info`` is a note.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class IssueType:
    code: str
    severity: Severity
    title: str
    description: str


CATALOGUE: dict[str, IssueType] = {t.code: t for t in [
    # cells
    IssueType("non-numeric-count", "error", "Count is not a number",
              "A count cell holds text that is not a number and not a known placeholder."),
    IssueType("negative-count", "error", "Negative count", "A count of people cannot be negative."),
    IssueType("invalid-date", "error", "Date cannot be read",
              "The reporting date is missing or not a date in any known format."),
    IssueType("ambiguous-date-format", "warning", "Day and month could be swapped",
              "No date in the column has a day above 12; dates were read as day/month/year."),
    IssueType("formula-injection", "warning", "Text starts like a spreadsheet formula",
              "Text beginning with =, +, -, @ (or their full-width forms), a tab or a carriage "
              "return, and not a plain number, could run as a formula when opened in a "
              "spreadsheet; every CSV, HXL and XLSX output prefixes it with a quote."),
    IssueType("invalid-coordinates", "warning", "Latitude/longitude out of range",
              "Coordinates are not numbers within [-90, 90] and [-180, 180]."),
    # areas
    IssueType("unknown-pcode", "warning", "Unknown P-code",
              "The P-code is not in the gazetteer for a country and level it covers; the nearest "
              "known P-code or name match is suggested. The row is kept: in the coarser area its "
              "other codes name, else in the national total only (unplaced below it)."),
    IssueType("pcode-repaired", "warning", "P-code repaired",
              "The P-code was not in the gazetteer but one confident correction was (e.g. ISO2 "
              "prefix where the COD uses ISO3: TD07 -> TCD07); the corrected code is used."),
    IssueType("pcode-parent-mismatch", "warning", "P-code inconsistent with its parent",
              "The row's admin P-code does not belong to the admin P-code of the level above. "
              "The row is kept, placed only as deep as its codes agree (their deepest common "
              "area, else the country)."),
    IssueType("pcode-name-mismatch", "warning", "P-code and area name disagree",
              "The row's P-code is a known area, but the name beside it is, confidently, another "
              "area of the same level (a shifted or copied code); the P-code is used, the area "
              "the name means is suggested."),
    IssueType("area-name-unmatched", "warning", "Area name not matched to a P-code",
              "The row names an area but no gazetteer entry matches it confidently."),
    IssueType("area-from-name", "info", "P-code found from the area name",
              "The file gives names only; the P-code was matched through the gazetteer."),
    IssueType("unknown-area", "warning", "Area not found at any level",
              "The row names an area (\"Residence location unknown\", a misspelt name), but neither "
              "its names nor its codes match the gazetteer at any admin level. Its people are "
              "real: the row is kept in the national total, unplaced at finer levels."),
    IssueType("unknown-country", "warning", "Country not recognised",
              "The country cell is neither an ISO 3166 code (or a code of that shape agencies use, "
              "such as IDMC's AB9) nor a country name; the row is kept without a country."),
    IssueType("missing-area", "warning", "No area given",
              "The row has no P-code and no area name (in a file whose other rows have them); it "
              "is kept in the national total, unplaced at finer levels."),
    IssueType("note-row", "error", "Note under the table",
              "A row below the table's last count, with no count and no place: a source line or "
              "footnote (\"Source: IOM DTM\", \"Note: …\"). Kept in quarantine with its text; not "
              "data."),
    IssueType("total-row", "error", "Total or subtotal row",
              "The row adds up other rows: an area cell says 'Total' (or 'Sous-total', 'Grand "
              "total'…), or the row names no area and its counts equal the sum of the rows that "
              "do. Counting it would count those people twice; it is kept in quarantine."),
    # rows
    IssueType("duplicate-row", "error", "Exact duplicate row",
              "The row repeats an earlier row of the same file cell for cell, its location or "
              "record identifier (P-code, site id, submission id) included; only the first is "
              "kept."),
    IssueType("repeated-row", "warning", "Identical rows, no identifier",
              "The row is identical to an earlier row, in a file with no location or record "
              "identifier: identical rows can be separate records (two villages of one commune "
              "with the same counts, weekly flow records), so both are kept and counted."),
    IssueType("duplicate-submission", "error", "Duplicate Kobo submission",
              "A Kobo/ODK export holds the same submission (_uuid) twice, e.g. sent again from a "
              "device; only the first row is kept."),
    IssueType("households-exceed-individuals", "error", "More households than individuals",
              "A household has at least one member, so households cannot exceed individuals."),
    IssueType("implausible-household-size", "warning", "Implausible individuals per household",
              "Individuals divided by households is outside the configured range."),
    IssueType("parts-exceed-total", "error", "Breakdown exceeds its total",
              "Sex, age or cause parts add up to more than the row's total."),
    IssueType("multiple-causes", "warning", "Several causes in one cell",
              "The cause cell names several causes; the count cannot be split, so it is kept once "
              "with cause 'other' and the causes listed in cause_detail."),
    IssueType("value-jump", "warning", "Value jumps from the previous round",
              "A location's value changed by more than the configured factor since its previous "
              "round."),
    IssueType("no-values", "warning", "Row without any count",
              "All count cells of the row are empty or placeholders."),
    # columns and files
    IssueType("tag-contradicts-values", "warning", "HXL tag contradicts the values under it",
              "The tag says one thing (e.g. a P-code) and the values another (names); the column "
              "was used as the values show."),
    IssueType("internal-code", "warning", "Internal codes, not P-codes",
              "The column is named or tagged as P-codes but holds the operation's own codes "
              "(codes the gazetteer does not know that do not start with the country's P-code "
              "prefix): kept as an internal code, never used to place rows nor repaired onto a "
              "real P-code."),
    IssueType("date-from-values", "info", "Reporting date found by its values",
              "No column was named as the reporting date; the one whose values are dates was "
              "used (the end or report of a period before its start; dates of displacement, "
              "birth or arrival are never the report's date)."),
    IssueType("implausible-import", "error", "The import as a whole looks wrong",
              "One rule would quarantine most rows, most areas are not found, there is no date "
              "or country, every row would take a title's date while a column holds dates, or "
              "the counts were recognised from weak evidence only. The import stops before "
              "writing and says which mapping line or option fixes it; --accept-as-is stores it "
              "as it is."),
    IssueType("column-ignored", "info", "Column not imported",
              "No role was recognised for the column; give one in a mapping to import it."),
    IssueType("duplicate-value-column", "warning", "Two columns claim the same count",
              "Two columns were read as the same population group, unit and breakdown; the first "
              "(tagged) one is used, the other ignored, so nothing is counted twice."),
    IssueType("flow-monitoring", "info", "Counts read as movements",
              "The file has origin and arrival areas (flow monitoring): its counts are arrivals in "
              "the arrival area over the reporting period, not people present."),
    IssueType("no-gazetteer", "info", "P-codes not checked",
              "The gazetteer has no areas for this country and level, so codes were not checked."),
    IssueType("sheet-skipped", "info", "Other sheets not imported",
              "Summary, methodology and pivot sheets beside the data sheet were not imported."),
    # survey designs (issue 4): an error stops the whole survey import (see solutions.checks)
    IssueType("survey-missing-column", "error", "Design column not in the survey file",
              "The design names a column (weights, strata, PSU, group, area...) that the file "
              "does not have."),
    IssueType("survey-missing-weight", "error", "Sampling weight missing",
              "Every sampled household needs its weight; none can be dropped or guessed."),
    IssueType("survey-non-positive-weight", "error", "Sampling weight not positive",
              "A weight is the number of households a sampled one stands for: it must be a "
              "number above zero."),
    IssueType("survey-missing-design-value", "error", "Stratum, PSU or population size missing",
              "The row has no stratum, PSU, second-stage unit or population size, so its place "
              "in the design is unknown."),
    IssueType("survey-psu-in-several-strata", "error", "PSU in several strata",
              "One PSU id appears in several strata. Where PSU numbers restart in each stratum, "
              "set 'nest: true' in the design."),
    IssueType("survey-lonely-psu", "error", "Stratum with a single PSU",
              "A stratum with one PSU gives no variance estimate; choose lonely_psu (remove, "
              "certainty, adjust, average, as in R's survey package). A warning when chosen."),
    IssueType("survey-fpc-inconsistent", "error", "Population size inconsistent",
              "The population size (fpc) differs between rows of one stratum, or is smaller "
              "than the number of units sampled there."),
    IssueType("survey-unknown-group", "error", "Population group not recognised",
              "The group value is not one of idpkit's population groups; map it under 'groups' "
              "in the design."),
    # registration (issue 5): an error quarantines the record
    IssueType("register-missing-field", "error", "Registration record incomplete",
              "The record has no record id, or nothing to match it by (no name, date of birth, "
              "phone or document number), so it cannot be registered or matched."),
    IssueType("register-unparsed-date", "warning", "Registration date value not read",
              "A date of birth or registration date is not a date in the mapping's date_formats "
              "(default: ISO, d/m/Y, YYYYMMDD); the record is kept with that date empty."),
    IssueType("register-unmapped-columns", "warning", "Register columns not imported",
              "Columns of the file that the mapping and the header aliases map to no register "
              "field; they are not imported (list them under 'ignore:' or map them)."),
    IssueType("register-duplicate-id", "error", "Record id used twice",
              "Two rows of the file carry the same record id; only the first is registered."),
    IssueType("survey-unknown-pcode", "error", "Survey area not in the gazetteer",
              "The area P-code of a household is not in the gazetteer, so its estimates could "
              "not be placed on a map or compared with figures."),
]}


@dataclass
class Issue:
    code: str
    message: str
    severity: Severity | None = None
    file: str | None = None
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = None

    def __post_init__(self) -> None:
        if self.code not in CATALOGUE:
            raise ValueError(f"undocumented issue code {self.code!r}")
        if self.severity is None:
            self.severity = CATALOGUE[self.code].severity

    def to_dict(self) -> dict[str, object]:
        return asdict(self)
