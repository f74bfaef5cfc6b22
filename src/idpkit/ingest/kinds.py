"""Files that count people but are not displacement figures, and the command that reads them.

Why: a who-does-what-where (3W/4W/5W) report counts people *reached* or *targeted* by activities;
an HNO table counts people *in need*; a household survey holds one row per household. All of them
have area columns and numbers about people (often beside words such as "IDP" or "Households"),
so a header-guessing importer reads them as displaced people present — silently wrong. idpkit has
commands for each of them; ``idpkit ingest`` refuses them and names the right one.

A table is of another kind when its columns say so (HXL hashtags or header words in English,
French, Spanish and Portuguese, :func:`table_kind`):

* *who-does-what-where*: an organisation column (``#org``, "Organization", "Partenaire",
  "Acteur", "Socio", "Organização", "Acronym"…) with a sector/cluster, activity or
  reached/targeted column; or a sector column with an activity or reached column; or one column
  per cluster ("WASH", "Education", "Santé"…) with organisations or people reached; or, in a table
  without counts, organisations per area (operational presence);
* *needs*: people in need (``#inneed``, "People in need", "PiN", "Personnes dans le besoin"…),
  or a ``population_status`` column holding HPC/HAPI codes (INN, TGT, AFF, REA);
* *household-survey microdata*: a Kobo/ODK submission identity (``_uuid``, ``_index``) or a
  sampling-weight column, with at least 100 question columns or 20 select_multiple option columns.

A table with a count column of strong evidence (:func:`idpkit.ingest.columns.count_evidence`)
whose values are numbers is displacement figures whatever else it holds; a mapping that names
count columns overrides every refusal (the user knows what the file holds).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from idpkit.errors import NotDisplacementFiguresError
from idpkit.ingest.columns import ColumnAssignment, count_evidence, guess_roles, header_words
from idpkit.ingest.hxl import Tag, looks_like_hxl_row, parse_tag
from idpkit.ingest.readers import Sheet, SourceFile

if TYPE_CHECKING:
    from idpkit.ingest.detect import Layout

HEADER_ROWS = 12  # a table's header is among the first rows of a sheet
MICRODATA_COLUMNS = 100
MICRODATA_OPTIONS = 20


@dataclass(frozen=True)
class OtherKind:
    """What a file is instead of displacement figures, and where it goes."""

    kind: str  # who-does-what-where | needs | survey-microdata
    what: str
    command: str
    evidence: tuple[str, ...] = ()
    sheet: str | None = None
    strength: int = 0  # how many columns show it (the sheet that shows it best is named)

    def message(self) -> str:
        where = f"sheet {self.sheet!r}: " if self.sheet else ""
        shown = "; ".join(self.evidence[:3])
        return (f"looks like {self.what} ({where}{shown}), not displacement figures: import it with "
                f"{self.command}. If it does hold displacement figures, give a mapping that names "
                "its count columns (--mapping)")


WHO_WHAT_WHERE = ("a who-does-what-where (3W/4W/5W) file", "`idpkit areas activities import FILE`")
NEEDS = ("a people-in-need table (HNO/HPC needs figures)",
         "`idpkit areas needs import FILE --spec NEEDS.yaml`")
MICRODATA = ("household-survey microdata (one row per interview)",
             "`idpkit solutions import FILE --spec SURVEY.yaml` (solutions indicators) or "
             "`idpkit areas needs import FILE --spec NEEDS.yaml` (needs)")

_ORG = re.compile(
    r"\b(organi[sz]ations?|organisme|orgs?|partners?|partenaires?|acteurs?|actors?|socios?|"
    r"organizacion(es)?|organizacao|organizacoes|agency|agencies|agence|agencia|acronyms?|"
    r"acronymes?|accronymes?|acronimos?|implementing|implementadora?|parceiros?)\b")
_SECTOR = re.compile(r"\b(sectors?|secteurs?|sectores?|setor|setores|clusters?)\b")
_ACTIVITY = re.compile(
    r"\b(activit(y|ies)|activites?|actividad(es)?|atividades?|interventions?|projects?|projets?|"
    r"proyectos?|projetos?)\b")
_REACHED = re.compile(
    r"\b(reached|targeted|beneficiar(y|ies)|beneficiaires?|beneficiari[oa]s?|assisted|cibles?|"
    r"ciblee?s?|atteinte?s?|alcanzad[oa]s?|alcancad[oa]s?|atendid[oa]s?|assistid[oa]s?)\b")
_NEED = re.compile(r"\b(in need|pin|besoins?|necesidad(es)?|necessidades?|necesitad[oa]s?|"
                   r"necessitad[oa]s?)\b")
_STATUS_CODES = frozenset({"INN", "TGT", "AFF", "REA", "ALL"})
# sectors as operations name them (folded); a table with a column for each of three or more is
# a 3W pivot ("organisations per cluster", "people reached per cluster")
_CLUSTER_NAMES = frozenset(header_words(n) for n in (
    "CCCM", "Camp Coordination and Camp Management", "Education", "Éducation", "Educación",
    "Educação", "Health", "Santé", "Salud", "Saúde", "WASH", "EHA", "Water, sanitation and hygiene",
    "Nutrition", "Nutrición", "Nutrição", "Protection", "Protección", "Proteção", "Child Protection",
    "Protection de l'enfance", "GBV", "VBG", "Mine Action", "Shelter", "Shelter/NFI", "Shelter/ NFI",
    "Shelter and NFI", "ESNFI", "Abris", "AME", "Abris/AME", "Abris et AME", "NFI", "Alojamiento",
    "Abrigo", "Food Security", "Food security and livelihoods", "FSL", "FSC", "FSAC",
    "Sécurité alimentaire", "SECAL", "Seguridad alimentaria", "Segurança alimentar", "Logistics",
    "Logistique", "Logística", "ETC", "Emergency Telecommunications", "Early Recovery",
    "Relèvement précoce", "Recuperación temprana", "Coordination", "MPC", "Multi-purpose cash",
    "Cash", "HLP", "Explosive Hazard", "Agua", "Agua, saneamiento e higiene", "Protection Total",
    "CP", "CCS", "Livelihoods",
))


@dataclass
class _Signals:
    org: list[str] = field(default_factory=list)
    sector: list[str] = field(default_factory=list)
    activity: list[str] = field(default_factory=list)
    reached: list[str] = field(default_factory=list)
    need: list[str] = field(default_factory=list)
    clusters: list[str] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    kobo_id: list[str] = field(default_factory=list)
    weight: list[str] = field(default_factory=list)
    options: int = 0
    areas: int = 0
    counts: int = 0  # count columns holding numbers
    strong: list[str] = field(default_factory=list)  # of them, those of strong evidence
    ncols: int = 0  # named columns, select_multiple options left out


def _numeric(values: list[str]) -> bool:
    vals = [v.strip() for v in values if v and v.strip()]
    nums = sum(1 for v in vals if re.fullmatch(r"[-+]?[\d\s\u00a0',.]*\d[\d\s\u00a0',.]*", v))
    return bool(vals) and nums / len(vals) >= 0.5


def _signals(headers: list[str], tags: list[Tag | None], rows: list[list[str]],
             guesses: list[ColumnAssignment] | None = None, sheet_name: str = "") -> _Signals:
    guesses = guesses if guesses is not None else guess_roles(headers, tags)
    s = _Signals(ncols=sum(1 for h in headers if h and not h.startswith("column ")))
    for j, header in enumerate(headers):
        g = guesses[j] if j < len(guesses) else None
        if g is not None and g.role == "kobo_choice":
            s.options += 1
            s.ncols -= 1
            continue  # an option of a question, not a question
        if g is not None and g.role in ("kobo_uuid", "kobo_index"):
            s.kobo_id.append(header)
        if g is not None and g.role.startswith(("adm", "country")):
            s.areas += 1
        if g is not None and g.role == "value" and g.value is not None:
            if _numeric([r[j] if j < len(r) else "" for r in rows]):
                s.counts += 1
                if count_evidence(g, [sheet_name]) == "strong":
                    s.strong.append(header)
        tag = tags[j] if j < len(tags) else None
        hashtag = tag.hashtag if tag is not None else ""
        shown = f"{header!r}" + (f" ({tag.raw.strip()})" if tag is not None else "")
        h = header_words(header) if header and not header.startswith("column ") else ""
        if len(h) > 100:
            continue  # prose (instructions, notes), not a column name
        if hashtag in ("sector", "cluster") or (hashtag != "org" and _SECTOR.search(h)):
            s.sector.append(shown)  # "Acronyme cluster" names a cluster, not an organisation
        elif hashtag == "org" or _ORG.search(h):
            s.org.append(shown)
        if hashtag in ("activity", "project") or _ACTIVITY.search(h):
            s.activity.append(shown)
        if hashtag in ("inneed",) or _NEED.search(h):
            s.need.append(shown)
        elif hashtag in ("reached", "targeted", "beneficiary") or _REACHED.search(h):
            s.reached.append(shown)
        if h in _CLUSTER_NAMES:
            s.clusters.append(shown)
        if re.fullmatch(r"(population )?status", h):
            vals = {(r[j] if j < len(r) else "").strip().upper() for r in rows} - {""}
            if vals and len(vals & _STATUS_CODES) / len(vals) >= 0.5:
                s.status.append(f"{header!r} holding {', '.join(sorted(vals & _STATUS_CODES))}")
        if re.search(r"\b(weights?|poids|pesos?|ponderacion|ponderation)\b", h):
            s.weight.append(header)
    return s


def _decide(s: _Signals, sheet: str | None) -> OtherKind | None:
    """The kind of a table from its signals (module docstring), None for displacement figures or
    a table we cannot tell."""
    kind = _decide_kind(s, sheet)
    if kind is None:
        return None
    strength = len(s.org) + len(s.sector) + len(s.activity) + len(s.reached) + len(s.need) + \
        len(s.clusters) + len(s.status) + len(s.kobo_id) + len(s.weight) + s.options
    return replace(kind, strength=strength)


def _decide_kind(s: _Signals, sheet: str | None) -> OtherKind | None:
    if s.strong:
        return None
    if (s.kobo_id or s.weight) and (s.ncols >= MICRODATA_COLUMNS or s.options >= MICRODATA_OPTIONS):
        ev = [f"submission id column {s.kobo_id[0]!r}" if s.kobo_id else
              f"sampling-weight column {s.weight[0]!r}"]
        if s.weight and s.kobo_id:
            ev.append(f"sampling-weight column {s.weight[0]!r}")
        ev.append(f"{s.ncols} question columns" + (f" and {s.options} select_multiple option "
                                                   "columns" if s.options else ""))
        ev.append("no count of a population group")
        return OtherKind("survey-microdata", *MICRODATA, tuple(ev), sheet)
    www = None
    if s.org and (s.sector or s.activity or s.reached or len(s.clusters) >= 3):
        www = [f"organisation column {s.org[0]}"] + (
            [f"sector/cluster column {s.sector[0]}"] if s.sector else
            [f"activity column {s.activity[0]}"] if s.activity else
            [f"people reached/targeted column {s.reached[0]}"] if s.reached else
            [f"one column per cluster ({', '.join(s.clusters[:3])}…)"])
    if www:
        return OtherKind("who-does-what-where", *WHO_WHAT_WHERE, tuple(www), sheet)
    if s.need or s.status:
        ev = [f"people-in-need column {s.need[0]}"] if s.need else [f"column {s.status[0]}"]
        return OtherKind("needs", *NEEDS, tuple(ev), sheet)
    if s.sector and (s.activity or s.reached):
        ev = [f"sector/cluster column {s.sector[0]}",
              f"activity column {s.activity[0]}" if s.activity else
              f"people reached/targeted column {s.reached[0]}"]
        return OtherKind("who-does-what-where", *WHO_WHAT_WHERE, tuple(ev), sheet)
    if len(s.clusters) >= 3 and (s.reached or s.sector):
        ev = [f"one column per cluster ({', '.join(s.clusters[:3])}…)",
              f"people reached column {s.reached[0]}" if s.reached else
              f"sector/cluster column {s.sector[0]}"]
        return OtherKind("who-does-what-where", *WHO_WHAT_WHERE, tuple(ev), sheet)
    if s.org and s.areas and not s.counts:
        ev = [f"organisation column {s.org[0]}", "area columns and no count of people"]
        return OtherKind("who-does-what-where", *WHO_WHAT_WHERE, tuple(ev), sheet)
    return None


def table_kind(headers: list[str], tags: list[Tag | None], rows: list[list[str]],
               sheet: str | None = None) -> OtherKind | None:
    """The kind of one table (header texts, HXL tags or None, data rows as text), None when it is
    not another kind than displacement figures."""
    return _decide(_signals(headers, tags, rows, sheet_name=sheet or ""), sheet)


def _candidate_tables(sheet: Sheet) -> list[tuple[list[str], list[Tag | None], list[list[str]]]]:
    """Possible header rows of a sheet with no recognised table: each row of text near the top
    (with the HXL row under it, if any), and each HXL row (with the text row above it)."""
    rows = [[(c or "").strip() for c in r] for r in sheet.preview]
    ncols = max((len(r) for r in rows), default=0)
    rows = [r + [""] * (ncols - len(r)) for r in rows]
    out = []
    for i, row in enumerate(rows[:HEADER_ROWS]):
        texts = [c for c in row if c]
        if len(texts) < 2:
            continue
        if looks_like_hxl_row(row):
            above = rows[i - 1] if i > 0 else []
            usable = sum(1 for c in above if c and not c.startswith("#")) >= 2
            headers = [(above[j] if usable and above[j] else row[j]) for j in range(ncols)]
            out.append((headers, [parse_tag(c) if c else None for c in row], rows[i + 1:]))
        elif sum(1 for c in texts if not re.fullmatch(r"-?[\d.,\s]+", c)) / len(texts) >= 0.7:
            if i + 1 < len(rows) and looks_like_hxl_row(rows[i + 1]):
                continue  # read with its HXL row (above)
            out.append((row, [None] * ncols, rows[i + 1:]))
    return out


def sheet_kind(sheet: Sheet) -> OtherKind | None:
    """The kind of a sheet in which no table of counts was found: that of the possible header row
    that shows another kind best."""
    kinds = [k for headers, tags, rows in _candidate_tables(sheet)
             if (k := table_kind(headers, tags, rows, sheet.name)) is not None]
    return max(kinds, key=lambda k: k.strength, default=None)


def layout_kind(source: SourceFile, layout: Layout) -> OtherKind | None:
    """The kind of a file whose best table is ``layout``.

    * a count of strong evidence holding numbers: displacement figures (None);
    * the table itself shows another kind: that kind;
    * its counts are no numbers (a yes/no column read as a count): the file is judged as if no
      table was found (:func:`source_kind`);
    * otherwise (weak counts in a table of no other kind) None: whether weak counts alone may be
      imported is the plausibility stage's decision.
    """
    sheet = next((s for s in source.sheets if s.name == layout.sheet), None)
    rows = [[(c or "").strip() for c in r] for r in (sheet.preview if sheet else [])]
    rows = rows[layout.data_start:]
    s = _signals(layout.headers, layout.tags, rows, layout.guesses, layout.sheet)
    if s.strong:
        return None
    kind = _decide(s, layout.sheet)
    if kind is not None:
        return kind
    if not s.counts:
        return source_kind(source)
    return None


def source_kind(source: SourceFile) -> OtherKind | None:
    """The kind of a file in which no table of counts was found: that of the sheet that shows
    another kind best (the one named in the message)."""
    kinds = [k for sheet in source.sheets if (k := sheet_kind(sheet)) is not None]
    return max(kinds, key=lambda k: k.strength, default=None)


def refuse_other_kind(source: SourceFile, layout: Layout | None) -> None:
    """Raise :class:`NotDisplacementFiguresError` when the file is of another kind (``layout``:
    its best table, or None when none was found)."""
    kind = layout_kind(source, layout) if layout is not None else source_kind(source)
    if kind is not None:
        raise NotDisplacementFiguresError(kind.message(), location=str(source.path))


def mapping_names_counts(mapping: Any) -> bool:
    """Whether a mapping (:class:`idpkit.ingest.mapping.Mapping`) names count columns: then the
    user has said what the file counts, and no kind refusal applies."""
    if mapping is None:
        return False
    return any(not isinstance(role, str) or role == "value"
               for role in getattr(mapping, "columns", {}).values())
