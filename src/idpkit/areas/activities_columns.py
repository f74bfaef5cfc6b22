"""Which column of a real 3W/4W/5W table holds what: organisation, sector, admin codes and names
per level, period, dates, population group and people targeted/reached (in total or per group).

Why a vocabulary of its own: OCHA's who-does-what-where files are not idpkit's schema. They are
written in English, French, Spanish and Portuguese (``Implementing Partner Acronym``,
``Acronyme Acteur``, ``ORGANIZACIÓN IMPLEMENTADORA``, ``Parceiro de Implementação``), often with
an HXL row (``#org +acronym``, ``#adm1+code``, ``#sector+cluster+name``), and name admin levels by
the country's words (Province, Région, Woreda, LGA, Cercle) or by number (``Admin1CODE``,
``ADM1_PCODE``, ``PCODE1``, ``Admin level 1``). A tag says more than a header, so a column's HXL
tag decides where there is one and its header otherwise.

Roles (public: a mapping names columns by them, ``docs/areas.md``): ``organisation``,
``organisation_acronym``, ``organisation_name``, ``sector``, ``activity``, ``adm1_code`` …
``adm4_code``, ``adm1_name`` … ``adm4_name``, ``period``, ``start_date``, ``end_date``,
``population_group``, ``targeted``, ``reached`` and ``targeted_<group>``/``reached_<group>`` for
``idps``, ``returnees``, ``host_community``, ``refugees``, ``migrants``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from idpkit.ingest.hxl import Tag, parse_tag
from idpkit.model.vocabulary import POPULATION_GROUPS

LEVELS = (1, 2, 3, 4)
COUNT_ROLES = ("targeted", "reached")
ROLES: tuple[str, ...] = (
    "organisation", "organisation_acronym", "organisation_name", "sector", "activity",
    *(f"adm{n}_code" for n in LEVELS), *(f"adm{n}_name" for n in LEVELS),
    "period", "start_date", "end_date", "population_group", *COUNT_ROLES,
    *(f"{c}_{g}" for c in COUNT_ROLES for g in POPULATION_GROUPS))


def fold(text: object) -> str:
    """Lower case, accents off, every run of other characters one space: ``Organización
    Implementadora*`` -> ``organizacion implementadora``."""
    s = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(text))  # RegionPcode -> Region Pcode
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().lower()
    s = re.sub(r"([a-z])([0-9])", r"\1 \2", s)  # admin1code -> admin 1code
    s = re.sub(r"([0-9])([a-z])", r"\1 \2", s)
    s = re.sub(r"([a-z]{3,}?)(p?code)\b", r"\1 \2", s)  # regionpcode -> region pcode
    return re.sub(r"[^a-z0-9]+", " ", s).strip()


def _words(text: str) -> set[str]:
    return set(text.split())


def _has(text: str, stems: tuple[str, ...]) -> bool:
    """A word of ``text`` starts with one of ``stems`` (``benef`` matches ``beneficiaires``)."""
    return any(w.startswith(s) for w in text.split() for s in stems)


# --------------------------------------------------------------------------- vocabulary
ORG_WORDS = ("organisation", "organization", "organizacion", "organizacao", "org", "partner",
             "partenaire", "parceiro", "socio", "agency", "agence", "agencia", "acteur", "actor",
             "ong", "ngo", "implementing", "implementadora", "implementador")
ACRONYM_WORDS = ("acronym", "acronyme", "accronyme", "acronimo", "sigla", "siglas", "abbrev")
NAME_WORDS = ("name", "nom", "nombre", "nome", "description", "full")
ORG_EXCLUDED = ("type", "tipo", "categor", "donor", "donante", "bailleur", "funder", "funding",
                "doador", "lead", "lider", "programme", "program", "prog", "contact", "email",
                "focal", "id", "status", "statut", "estado", "count", "nbre", "number")
IMPL_WORDS = ("implementing", "implementadora", "implementador", "implementacao", "mise",
              "oeuvre", "execution", "ejecutora", "executing")
SECTOR_WORDS = ("sector", "sectors", "sectores", "secteur", "secteurs", "setor", "setores",
                "cluster", "clusters", "clustersector")
SECTOR_EXCLUDED = ("activit", "responsabilidad", "responsibility", "type", "tipo", "lead")
CODE_WORDS = ("pcode", "code", "codigo", "cod", "id", "pcod", "p")
ADMIN_WORDS = ("region", "regions", "province", "provinces", "provincia", "state", "states",
               "estado", "governorate", "gouvernorat", "prefecture", "departement", "department",
               "departamento", "commune", "communes", "district", "districts", "distrito",
               "municipio", "municipality", "municipalite", "parroquia", "cercle", "woreda",
               "zone", "territoire", "zs", "lga", "locality", "localite", "localidad",
               "localidade", "oblast", "raion", "hromada", "county", "payam", "souspréfecture",
               "sousprefecture", "prefectura", "posto", "mantika", "canton", "aldea", "kebele",
               "reg", "prov", "dist", "subdistrict", "sub")
ADMIN_RANK = {  # coarse to fine, for the relative order of the words a file uses
    **dict.fromkeys(("region", "regions", "reg", "state", "states", "estado", "governorate",
                     "gouvernorat", "oblast", "prefecture", "prefectura"), 1),
    **dict.fromkeys(("province", "provinces", "provincia", "prov", "mantika"), 2),
    **dict.fromkeys(("departement", "department", "departamento", "district", "districts",
                     "distrito", "dist", "territoire", "municipio", "municipality",
                     "municipalite", "lga", "cercle", "zone", "raion", "county"), 3),
    **dict.fromkeys(("commune", "communes", "woreda", "sousprefecture", "souspréfecture",
                     "parroquia", "locality", "localite", "localidad", "zs", "posto", "hromada",
                     "payam", "subdistrict", "sub", "canton"), 4),
    **dict.fromkeys(("kebele", "localidade", "aldea"), 5),
}
ACTIVITY_WORDS = ("activity", "activities", "activite", "activites", "actividad",
                  "actividades", "atividade", "atividades", "intervention")
START_WORDS = ("start", "debut", "debute", "inicio", "commencement", "desde")
END_WORDS = ("end", "fin", "finalizacion", "final", "termino", "hasta")
PERIOD_WORDS = ("month", "mois", "mes", "reporting", "report", "reporte", "periode",
                "period", "periodo", "round", "quarter", "trimestre")
TARGET_WORDS = ("target", "targeted", "targets", "cible", "cibles", "ciblee", "ciblees",
                "cibl", "meta", "metas", "alvo", "previsto", "previstos", "planned")
REACHED_WORDS = ("reach", "atteint", "alcanz", "alcanc", "assisted", "assistes", "assistidos",
                 "served", "servis")  # stems: alcanzados, alcançadas, atteintes…
BREAKDOWN_WORDS = ("male", "female", "men", "women", "boys", "girls", "homme", "hommes",
                   "femme", "femmes", "garcon", "garcons", "fille", "filles", "hombre",
                   "hombres", "mujer", "mujeres", "nino", "ninos", "nina", "ninas", "homens",
                   "mulheres", "meninos", "meninas", "under", "years", "ans", "anos", "pwd",
                   "disab", "handicap", "hh", "household", "households", "menage", "menages",
                   "famil", "familias", "families", "cash", "usd", "amount", "montant", "nuevas",
                   "new", "nouveaux", "change", "pct", "percent")
GROUP_STEMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("host_community", ("host", "hote", "hotes", "accueil", "acogida", "acolhimento",
                        "nondisplaced", "nondeplace", "resident")),
    ("idps", ("idp", "pdi", "deplace", "displaced", "desplazad", "deslocad", "dplac")),
    ("returnees", ("return", "retour", "retourne", "retornad", "retorna", "rapatri")),
    ("refugees", ("refug",)),
    ("migrants", ("migrant", "migrante")),
)
GROUP_COLUMN_WORDS = (("beneficiary", "type"), ("beneficiaire", "type"),
                      ("beneficiario", "tipo"), ("population", "group"),
                      ("population", "type"), ("groupe", "population"), ("grupo", "poblacion"),
                      ("grupo", "populacional"), ("target", "group"), ("population", "category"),
                      ("categoria", "beneficiario"), ("beneficiary", "group"))


def group_of(text: object) -> str | None:
    """The population group a label names, in the file's own words and languages: ``PDI``,
    ``déplacés internes``, ``Out-of-camp IDPs`` -> idps; ``retournés`` -> returnees;
    ``communauté hôte``, ``non-displaced`` -> host_community; ``réfugiés`` -> refugees."""
    if text is None:
        return None
    f = fold(text)
    if not f:
        return None
    squashed = f.replace(" ", "")
    for neg in ("non displaced", "non deplace", "no desplazad", "nao deslocad"):
        if neg in f:
            return "host_community"
    for w in f.split() + [squashed]:
        for group, stems in GROUP_STEMS:
            if any(w.startswith(s) for s in stems):
                return group
    return None


# --------------------------------------------------------------------------- one column
@dataclass(frozen=True)
class ColumnRole:
    """What one column holds. ``who`` ranks organisation columns: the implementing organisation
    (``impl``) is who is present in the area; a partner column (``partner``) is someone else."""

    role: str
    who: str = ""
    rank: int = 0  # among columns of the same role, lower wins
    evidence: str = ""


def _org_kind(text: str, attrs: frozenset[str] = frozenset()) -> str:
    if "acronym" in attrs or _has(text, ACRONYM_WORDS):
        return "organisation_acronym"
    if "name" in attrs or _has(text, NAME_WORDS):
        return "organisation_name"
    return "organisation"


def role_from_tag(tag: Tag, header: str) -> ColumnRole | None:
    """A column's role from its HXL tag (its header decides only what the tag leaves open)."""
    h, a = tag.hashtag, tag.attributes
    f = fold(header)
    ev = f"HXL {tag.raw.strip()}"
    if h == "org":
        if a & {"type", "funder", "donor", "funding", "leader", "lead", "prog", "contact",
                "email", "id", "code"} or _has(f, ("type", "tipo", "categor", "donor")):
            return None
        who = "impl" if "impl" in a else "partner" if "partner" in a else "main"
        kind = ("organisation_acronym" if "acronym" in a else "organisation_name" if "name" in a
                else _org_kind(f))
        return ColumnRole(kind, who, 0, ev)
    if h == "sector" or tag.raw.strip().lower().lstrip("#").startswith("cluster"):
        if a & {"type", "lead"}:
            return None
        return ColumnRole("sector", "", 1 if a & {"code", "acronym"} else 0, ev)
    m = re.fullmatch(r"adm([1-4])", h)
    if m:
        return ColumnRole(f"adm{m.group(1)}_{'code' if 'code' in a else 'name'}", "", 0, ev)
    if h == "activity":
        if a & {"code", "id", "type", "indicator", "comments", "project", "status"}:
            return None
        return ColumnRole("activity", "", 0, ev)
    if h == "date":
        if "start" in a:
            return ColumnRole("start_date", "", 0, ev)
        if "end" in a:
            return ColumnRole("end_date", "", 0, ev)
        if a & {"updated", "year"}:
            return None
        return ColumnRole("period", "", 0 if "reported" in a else 1, ev)
    if h in ("targeted", "reached"):
        if a & {"hh", "m", "f", "girls", "boys", "new", "pct", "indicator", "disabled", "pwd",
                "children", "adults", "elderly"}:
            return None
        groups = [g for g in POPULATION_GROUPS if g in a]
        if len(groups) > 1:
            return None
        return ColumnRole(f"{h}_{groups[0]}" if groups else h, "", 0, ev)
    if h in ("beneficiary", "population", "group") and a & {"name", "type", "group"}:
        return ColumnRole("population_group", "", 0, ev)
    return None


def _admin_word(f: str) -> str | None:
    for compound, word in (("sous prefecture", "sousprefecture"), ("sub prefecture",
                           "sousprefecture"), ("sub district", "subdistrict")):
        if compound in f:
            return word
    for w in f.split():
        if w in ADMIN_WORDS:
            return w
    return None


def role_from_header(header: str) -> ColumnRole | None:
    """A column's role from its header words, in English, French, Spanish or Portuguese."""
    f = fold(header)
    if not f:
        return None
    words = _words(f)
    ev = f"header {header.strip()!r}"
    level = re.search(r"\b(?:adm|admin|admin level|level|pcode|nivel|niveau)\s?([1-4])\b", f)
    if level is None:
        level = re.search(r"\badmin\s?([1-4])", f)
    is_code = bool(words & {"pcode", "code", "codigo", "cod", "id", "pcod", "p", "codes"}) or \
        "pcode" in f.replace(" ", "")
    if _has(f, SECTOR_WORDS) and not _has(f, SECTOR_EXCLUDED):
        return ColumnRole("sector", "", 1 if is_code or _has(f, ACRONYM_WORDS) or
                          _has(f, ("short",)) else 0, ev)
    if _has(f, ORG_WORDS) or _has(f, ACRONYM_WORDS) and not _admin_word(f):
        if _has(f, ORG_EXCLUDED) and not _has(f, ("acronym", "acronyme")):
            return None
        if words & {"id"}:
            return None
        who = "impl" if _has(f, IMPL_WORDS) else "partner" if (
            _has(f, ("partner", "partenaire", "parceiro", "socio")) and
            not _has(f, ("implementing",))) else "main"
        return ColumnRole(_org_kind(f), who, 0, ev)
    if level is not None and not _has(f, ("type", "tipo", "typ")):
        n = level.group(1)
        return ColumnRole(f"adm{n}_{'code' if is_code else 'name'}", "", 0, ev)
    if _has(f, ACTIVITY_WORDS) and not _has(f, ("type", "tipo", "code", "id", "status",
                                                   "description", "unit", "covid", "indicator")):
        return ColumnRole("activity", "", 0, ev)
    if _has(f, ("date", "fecha", "data")) or words & {"start", "end"}:
        if _has(f, START_WORDS):
            return ColumnRole("start_date", "", 0, ev)
        if _has(f, END_WORDS):
            return ColumnRole("end_date", "", 0, ev)
    if _has(f, PERIOD_WORDS) and not _has(f, ("type", "frequency", "year", "ano", "annee")):
        return ColumnRole("period", "", 0 if _has(f, ("month", "mois", "mes")) else 1, ev)
    for a, b in GROUP_COLUMN_WORDS:
        if _has(f, (a,)) and _has(f, (b,)):
            return ColumnRole("population_group", "", 0, ev)
    counts = "targeted" if _has(f, TARGET_WORDS) else "reached" if _has(f, REACHED_WORDS) \
        else None
    if counts is not None:
        if _has(f, BREAKDOWN_WORDS) or _has(f, ("other", "autre", "otro", "outro")):
            return None
        g = group_of(f)
        return ColumnRole(f"{counts}_{g}" if g else counts, "", 0, ev)
    if _admin_word(f) and not _has(f, ("type", "tipo", "lat", "long", "lon", "name2")):
        return ColumnRole("admin_code" if is_code else "admin_name", _admin_word(f) or "", 0,
                          ev)
    return None


# --------------------------------------------------------------------------- a whole header
@dataclass
class Assignment:
    """Each role's column index, and why; columns passed over are listed with their reason."""

    columns: dict[str, int]
    evidence: dict[str, str]
    organisation_columns: list[int]  # in the order they are coalesced: acronym, plain, name


def assign_roles(headers: list[str], tags: list[Tag | None] | None = None) -> Assignment:
    """Roles of a header row (and its HXL row): for each role the best column. Organisation is
    the implementing organisation where the file names one (its acronym, else its name)."""
    tags = tags or [None] * len(headers)
    found: list[tuple[int, ColumnRole]] = []
    for i, (h, t) in enumerate(zip(headers, tags)):
        r = role_from_tag(t, h or "") if t is not None else None
        if r is None and t is None:
            r = role_from_header(h or "")
        if r is not None:
            found.append((i, r))
    # admin columns named by the country's words: levels by order of first appearance, a code
    # column at the level of the name column that shares its word ("Commune" / "Commune Pcode")
    explicit = {r.role for _, r in found if re.fullmatch(r"adm[1-4]_(code|name)", r.role)}
    def levels(kind: str) -> dict[str, int]:
        order: list[str] = []
        for _, r in found:
            if r.role == f"admin_{kind}" and r.who not in order:
                order.append(r.who)
        order.sort(key=lambda w: ADMIN_RANK.get(w, 3))  # stable: ties keep column order
        return {w: k + 1 for k, w in enumerate(order)}

    name_levels = levels("name")
    code_levels = {w: name_levels.get(w, n) for w, n in levels("code").items()}
    resolved: list[tuple[int, ColumnRole]] = []
    for i, r in found:
        if r.role in ("admin_name", "admin_code"):
            kind = r.role.split("_")[1]
            if any(e.endswith(kind) for e in explicit):
                continue  # numbered columns of this kind exist: the country's words are not
            n = (name_levels if kind == "name" else code_levels)[r.who]
            if n > 4:
                continue
            r = ColumnRole(f"adm{n}_{r.role.split('_')[1]}", "", 1, r.evidence)
        resolved.append((i, r))
    columns: dict[str, int] = {}
    evidence: dict[str, str] = {}
    whos = {r.who for _, r in resolved if r.role.startswith("organisation")}
    best_who = next((w for w in ("impl", "main", "partner") if w in whos), None)
    for i, r in sorted(resolved, key=lambda x: (x[1].rank, x[0])):
        if r.role.startswith("organisation") and r.who != best_who:
            continue
        if r.role not in columns:
            columns[r.role] = i
            evidence[r.role] = r.evidence
    org = [columns[k] for k in ("organisation_acronym", "organisation", "organisation_name")
           if k in columns]
    return Assignment(columns, evidence, org)


def parse_tags(cells: list[object]) -> list[Tag | None]:
    return [parse_tag(str(c)) if isinstance(c, str) and c.strip().startswith("#") else None
            for c in cells]
