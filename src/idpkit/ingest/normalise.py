"""Normalise low-cardinality text (dates, rounds, causes, site types) over *distinct* values.

The engine computes the distinct values of a column in one pass; we map each one here and the
engine joins the mapping back onto the rows. Python never loops over the rows themselves.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta

from idpkit.ingest.columns import fold

EXCEL_EPOCH = date(1899, 12, 30)
_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
_MONTHS.update({"janv": 1, "fev": 2, "mars": 3, "avr": 4, "mai": 5, "juin": 6, "juil": 7,
                "aout": 8, "sept": 9, "octobre": 10, "nov": 11, "dec": 12, "january": 1,
                "february": 2, "march": 3, "april": 4, "june": 6, "july": 7, "august": 8,
                "september": 9, "october": 10, "november": 11, "december": 12,
                "janvier": 1, "fevrier": 2, "avril": 4, "juillet": 7, "septembre": 9,
                "novembre": 11, "decembre": 12})
# Portuguese and Spanish (folded: "março" -> "marco"); their three-letter forms too
_MONTHS.update({"janeiro": 1, "fevereiro": 2, "marco": 3, "abril": 4, "maio": 5, "junho": 6,
                "julho": 7, "agosto": 8, "setembro": 9, "outubro": 10, "novembro": 11,
                "dezembro": 12, "enero": 1, "febrero": 2, "marzo": 3, "mayo": 5, "junio": 6,
                "julio": 7, "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11,
                "diciembre": 12, "abr": 4, "ago": 8, "set": 9, "out": 10, "dez": 12, "ene": 1,
                "dic": 12})
_MONTH_WORDS = "|".join(sorted((m for m in _MONTHS if len(m) > 4), key=len, reverse=True))


def parse_dates(values: list[str]) -> tuple[dict[str, date | None], bool]:
    """Map distinct date texts to dates. Returns (mapping, ambiguous_day_month).

    Handles ISO dates and timestamps, Excel serial numbers, d/m/y and m/d/y (decided per column from
    the values: a first part above 12 means day first), d-Mon-y, Mon y, yyyymmdd.
    """
    out: dict[str, date | None] = {}
    slash = [v for v in values if re.fullmatch(r"\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}", v.strip())]
    day_first = True
    ambiguous = False
    if slash:
        parts = [re.split(r"[/.\-]", v.strip()) for v in slash]
        if any(int(p[0]) > 12 for p in parts):
            day_first = True
        elif any(int(p[1]) > 12 for p in parts):
            day_first = False
        else:
            ambiguous = True
    for v in values:
        out[v] = _parse_one(v.strip(), day_first)
    return out, ambiguous


def _valid(y: int, m: int, d: int) -> date | None:
    if y < 100:
        y += 2000 if y < 70 else 1900
    try:
        dt = date(y, m, d)
    except ValueError:
        return None
    return dt if 1950 <= dt.year <= 2100 else None


def _parse_one(v: str, day_first: bool) -> date | None:
    if not v:
        return None
    m = re.match(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$", v)
    if m:
        return _valid(int(m[1]), int(m[2]), int(m[3]))
    m = re.match(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})$", v)
    if m:
        return _valid(int(m[1]), int(m[2]), int(m[3]))
    m = re.match(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2,4})(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$", v)
    if m:
        a, b, y = int(m[1]), int(m[2]), int(m[3])
        return _valid(y, b, a) if day_first else _valid(y, a, b)
    m = re.match(r"^(\d{5})(?:\.\d+)?$", v)
    if m:  # Excel serial date (18264 = 1950-01-01 .. 73415 = 2100-12-31)
        d = EXCEL_EPOCH + timedelta(days=int(m[1]))
        return d if 1950 <= d.year <= 2100 else None
    m = re.match(r"^(\d{4})(\d{2})(\d{2})$", v)
    if m:
        return _valid(int(m[1]), int(m[2]), int(m[3]))
    f = re.sub(r"\b(de|del) (?=[a-z]+ |\d{4}$)", "", fold(v))  # "15 de septiembre de 2024"
    m = re.match(r"^(\d{1,2}) ([a-z]+) (\d{2,4})$", f)
    if m and m[2][:4] in _MONTHS or (m and m[2][:3] in _MONTHS):
        mon = _MONTHS.get(m[2], _MONTHS.get(m[2][:4], _MONTHS.get(m[2][:3])))
        return _valid(int(m[3]), mon, int(m[1]))
    m = re.match(r"^([a-z]+) (\d{1,2}) (\d{4})$", f)
    if m and (m[1] in _MONTHS or m[1][:3] in _MONTHS):
        return _valid(int(m[3]), _MONTHS.get(m[1], _MONTHS.get(m[1][:3])), int(m[2]))
    m = re.match(r"^([a-z]+) (\d{2,4})$", f)
    if m and (m[1] in _MONTHS or m[1][:3] in _MONTHS):  # "Jul 2021" -> end of month
        mon = _MONTHS.get(m[1], _MONTHS.get(m[1][:3]))
        y = int(m[2]) + (2000 if int(m[2]) < 100 else 0)
        return _valid(y, mon, calendar.monthrange(y, mon)[1]) if 1 <= y <= 9999 else None
    return None


def find_date_in_text(texts: list[str]) -> date | None:
    """A reporting date written in a title, sheet or file name ("IDP Master List 30-09-2021")."""
    for t in texts:
        for m in re.finditer(r"(\d{4}-\d{2}-\d{2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4})", t):
            d = _parse_one(m.group(1), True)
            if d:
                return d
    for t in texts:
        f = fold(t)
        m = re.search(rf"\b({_MONTH_WORDS}|may|mai|mars|juin|aout|maio|mayo) (?:de |del )?(\d{{4}})\b", f)
        if m:
            return _parse_one(f"{m[1]} {m[2]}", True)
    return None


def find_round_in_text(texts: list[str]) -> str | None:
    for t in texts:
        m = re.search(r"(?i)(?<![a-z])(?:round|tour|rnd|ronda|rodada)[\s_\-]*(\d{1,4})(?!\d)", t) or \
            re.search(r"(?<![A-Za-z0-9])R(\d{1,3})(?![A-Za-z0-9])", t)
        if m:
            return str(int(m.group(1)))
    return None


def normalise_round(v: str) -> str | None:
    s = v.strip()
    m = re.fullmatch(r"(?i)(?:r|round|tour|rnd|cycle|ronda|rodada|ciclo)?[\s_\-#]*(\d+)(?:\.0+)?", s)
    if m and len(m.group(1).lstrip("0")) <= 18:  # int() refuses over 4300 digits
        return str(int(m.group(1)))
    return s or None


# ---------------------------------------------------------------------------------------------
# Causes

_CAUSE_WORDS: list[tuple[str, str, str | None]] = [
    # (pattern on folded text, cause, hazard); English, French, Portuguese, Spanish
    (r"no reason|not reported|unknown|inconnu|non specifie|not specified|n a$|^na$|desconhecid|"
     r"desconocid|nao especificad|no especificad|sin especificar|sem informacao|sin informacion",
     "unknown", None),
    (r"flood|inondation|inunda|rain|pluie|chuva|lluvia|cheia|enchente|crecida", "disaster", "flood"),
    (r"drought|secheresse|sequia|\bseca\b|estiagem", "disaster", "drought"),
    (r"earthquake|seisme|tremblement|terremoto|sismo", "disaster", "earthquake"),
    (r"storm|cyclone|hurricane|typhoon|ouragan|tempete|wind|ciclon|tempestade|tormenta|huracan|"
     r"furacao|vendaval", "disaster", "storm"),
    (r"landslide|glissement|mudslide|deslizamento|deslizamiento|derrumbe|\balud", "disaster",
     "landslide"),
    (r"fire|incendi", "disaster", "wildfire"),
    (r"volcan|vulcao", "disaster", "volcano"),
    (r"epidemic|epidemie|disease|epidemia|doenca|enfermedad", "disaster", "epidemic"),
    (r"natural|disaster|catastrophe|hazard|climat|desastre|calamidad", "disaster", None),
    (r"conflict|conflit|insecurit|insegur|violen|clash|insurgen|attack|attaque|ataque|war|"
     r"guerre|guerra|armed|arme|armad|fighting|combat|communal|intercommun|crime|banditry|"
     r"banditisme|terror|military|militaire|persecution|persecucion|perseguicao|threat|menace|"
     r"amenaza|ameaca|kidnap|secuestro|sequestro|pandilla|extorsion|extorsao|narcotrafic",
     "conflict", None),
    (r"other|autre|outro|otro|economic|economique|eviction|expulsion|desalojo|despejo|"
     r"development|desenvolvimento|desarrollo|project|proje|proyecto|family|familial|familia|"
     r"education|educacion|educacao|work|travail|trabalho|trabajo|job|emprego|empleo", "other",
     None),
]


def normalise_cause(text: str, *, choice_list: bool = False
                    ) -> tuple[str, str | None, str | None, bool]:
    """Free-text cause -> (cause, hazard, detail, several_causes).

    ``"Conflict; Natural disaster"`` names two causes: the count cannot be split, so it is kept once
    as ``other`` with ``detail = "conflict; disaster"`` and flagged.

    ``choice_list``: the cell is a Kobo/ODK select_multiple answer, choice names separated by
    spaces (``"conflict natural_disaster"``). Then spaces separate answers too, and a word that
    names no cause ("armed", "tribal") is neutral instead of counting as "other", so a label
    answer such as "Armed conflict" stays one cause.
    """
    raw = text.strip()
    seps = r"\s*(?:;|/|\||,|\band\b|\bet\b|\by\b|\be\b|&|\+)\s*"
    if choice_list:
        seps = r"\s*(?:;|/|\||,|\band\b|\bet\b|\by\b|\be\b|&|\+|\s)\s*"
    parts = [p for p in re.split(seps, raw) if p.strip()]
    found: list[tuple[str, str | None]] = []
    for p in parts or [raw]:
        f = fold(p)
        hit = next(((c, h) for pat, c, h in _CAUSE_WORDS if re.search(pat, f)),
                   None if choice_list else ("other", None))
        if hit is not None and hit not in found:
            found.append(hit)
    if not found:
        found.append(("other", None))
    causes = list(dict.fromkeys(c for c, _ in found if c != "unknown")) or ["unknown"]
    if len(causes) == 1:
        c = causes[0]
        hazards = [h for cc, h in found if cc == c and h]
        return c, (hazards[0] if hazards else None), raw if c != "unknown" else raw, False
    return "other", None, "; ".join(causes), True


_SITE_TYPES = [
    (r"camp|planned site|formal site|reassentamento|reasentamiento|acampamento", "camp"),
    (r"collective|centre|center|centro|public building|school|escola|escuela|religious|mosque|"
     r"church|igreja|iglesia|albergue|acomodacao|alojamiento|abrigo", "collective_centre"),
    (r"informal|spontaneous|makeshift|spontane|espontane", "informal_settlement"),
    (r"host|famille|family|familia|community|communaute|comunidad|acolh|acogid", "host_community"),
    (r"village|ward|quartier|neighbourhood|neighborhood|aldeia|aldea|bairro|barrio", "village_ward"),
]


def normalise_site_type(text: str) -> str:
    f = fold(text)
    return next((t for pat, t in _SITE_TYPES if re.search(pat, f)), "other")


def to_date(v: object) -> date | None:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    return None
