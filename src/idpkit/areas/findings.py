"""Findings about area-view files (4W activities, site measurements, consultations, needs).

Like :mod:`idpkit.validate.issues`: a finding is data, never an exception, with a stable kebab-case
code, a severity and the position a user can find it at (file, row as a text editor shows it,
column, value). ``error`` quarantines the row, ``warning`` accepts it. The codes are public and
listed in ``docs/areas.md`` (a test keeps them in step).
"""

from __future__ import annotations

from dataclasses import dataclass

from idpkit.validate.issues import Issue, Severity

CODES: dict[str, tuple[Severity, str]] = {
    "missing-value": ("error", "A required field is empty."),
    "unknown-pcode": ("error", "The P-code is not in the gazetteer."),
    "unknown-group": ("error", "The population group is not one of idpkit's groups."),
    "unknown-phase": ("error", ("The phase is not preparedness, humanitarian_response, "
                               "transition_recovery or development_peace.")),
    "invalid-date": ("error", "The date cannot be read (YYYY-MM-DD, DD/MM/YYYY or an Excel serial)."),
    "end-before-start": ("error", "The activity ends before it starts."),
    "non-numeric-count": ("error", "A count is not a number."),
    "negative-count": ("error", "A count of people, square metres or litres cannot be negative."),
    "duplicate-row": ("error", "The row repeats an earlier row of the file cell for cell."),
    "unknown-site": ("warning", ("The site is not in the sites table; it is kept with the area "
                                "P-code given in the file.")),
    "unknown-sector": ("warning", ("The sector is not one of the severity rules' sectors, so its "
                                  "coverage cannot be compared with a need.")),
    "reached-exceeds-targeted": ("warning", "More people were reached than targeted."),
    "date-not-read": ("warning", ("A start or end date of a presence row cannot be read; the row "
                                 "is kept with the date empty.")),
    "group-not-recognised": ("warning", ("The population group column names no group idpkit "
                                        "knows (in the file's words); the row is kept with no "
                                        "group.")),
    "unknown-pcode-kept-coarser": ("warning", ("A P-code is not in the gazetteer, which lists "
                                              "its country's areas at that level; the row is "
                                              "kept in the coarser area its other code names.")),
    "repeated-presence": ("warning", ("A row with no people counts repeats an earlier row cell "
                                     "for cell; presence counts it once.")),
    "bad-sex-or-age": ("error", "Sex must be all, female or male; age a band like 0-17, 60+ or all."),
    "sector-pin-exceeds-intersectoral": ("warning", (
        "With the mean_top inter-sectoral method, a sector's people in need exceed the "
        "inter-sectoral people in need of the same area and group (a household in severe need "
        "in one sector only is not counted inter-sectorally); method max (MSNI) counts them.")),
    "pin-exceeds-stock": ("warning", (
        "A group's people in need (or needs population) exceed its displacement stock in the same "
        "area: the survey's weights or sizes, or the stock, deserve a look.")),
}


@dataclass
class Finding(Issue):
    """An :class:`~idpkit.validate.issues.Issue` whose code comes from :data:`CODES` (the area
    view's files) instead of the ingest catalogue: same fields, same ``to_dict``."""

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"undocumented finding code {self.code!r}")
        if self.severity is None:
            self.severity = CODES[self.code][0]

    def __str__(self) -> str:
        where = ", ".join(p for p in (self.file, f"row {self.row}" if self.row else None,
                                      f"column {self.column!r}" if self.column else None) if p)
        return f"{where}: {self.code}: {self.message}"


@dataclass
class NeedsFinding(Finding):
    """A plausibility finding about needs results: the area, group and sector it is about, the
    figure found implausible (``people``) and the one it exceeds (``compared_with``)."""

    area_pcode: str | None = None
    population_group: str | None = None
    sector: str | None = None
    people: float | None = None
    compared_with: float | None = None
