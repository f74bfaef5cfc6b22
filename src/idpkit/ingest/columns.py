"""What each column of an export holds: its *role*, guessed from HXL tags, then header names.

The guess is made per column, so a partly tagged sheet (tags on some columns only) still works.
Guesses are later checked against the values under them (:mod:`idpkit.ingest.profile`), and any
guess can be overridden by a YAML mapping (:mod:`idpkit.ingest.mapping`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace

from idpkit.ingest.hxl import Tag
from idpkit.ingest.kobo import choice_parent, kobo_meta_role, xml_path

ADMIN_LEVELS = (1, 2, 3, 4)

# Roles that are not counts. Area roles are ``adm{n}_pcode`` / ``adm{n}_name`` and their ``origin_``
# variants; the rest are listed here. ``reporting_year``: a year column (``#date+year``, "Year",
# "Año") of country-year data such as IDMC's, for files without a reporting date.
SIMPLE_ROLES = (
    "country_code", "country_name", "admin_level", "site_id", "site_name", "site_type", "latitude",
    "longitude", "reporting_date", "reporting_year", "round", "operation", "assessment_type",
    "cause_text", "household_size", "population_group_text", "ignore",
    # the operation's own area codes ("DTM12", "Temp03"): kept in the column mapping, never used
    # to place a row (idpkit.ingest.profile)
    "internal_code",
    # KoboToolbox/ODK export columns (see :mod:`idpkit.ingest.kobo`): never data, but the date
    # fallbacks, the submission identity and the repeat-group links come from them
    "kobo_meta", "kobo_choice", "kobo_today", "kobo_submission_time", "kobo_uuid", "kobo_index",
    "kobo_parent_index", "kobo_parent_uuid", "kobo_key", "kobo_parent_key",
)
# Roles that several columns may share (every other non-count role goes to one column only).
SHARED_ROLES = frozenset({"ignore", "kobo_meta", "kobo_choice"})


@dataclass(frozen=True)
class ValueSpec:
    """What a count column counts. ``cause=None`` means: take the row's cause column, if any."""

    population_group: str = "idps"
    unit: str = "individuals"
    metric: str = "present_stock"
    cause: str | None = None
    hazard: str | None = None
    cause_detail: str | None = None
    sex: str = "all"
    age_group: str = "all"

    @property
    def is_part(self) -> bool:
        """Sex and age columns break a total down; they are never added into totals."""
        return self.sex != "all" or self.age_group != "all"

    def key(self) -> tuple[str, str, str, str | None, str | None, str, str]:
        return (self.population_group, self.unit, self.metric, self.cause, self.cause_detail,
                self.sex, self.age_group)


@dataclass
class ColumnAssignment:
    """The role given to one column, and why (``basis``: hxl, header, mapping or values)."""

    index: int
    header: str
    tag: str | None
    role: str
    value: ValueSpec | None = None
    basis: str = "header"
    priority: int = 0  # among columns competing for one role, the highest wins

    def describe(self) -> str:
        if self.role == "value" and self.value is not None:
            v = self.value
            bits = [v.population_group, v.unit, v.metric]
            if v.cause:
                bits.append(v.cause + (f"/{v.hazard}" if v.hazard else "")
                            + (f" ({v.cause_detail})" if v.cause_detail else ""))
            if v.sex != "all":
                bits.append(v.sex)
            if v.age_group != "all":
                bits.append("age " + v.age_group)
            return "value: " + ", ".join(bits)
        return self.role

    @property
    def evidence(self) -> str | None:
        """How sure the meaning of a count column is: ``strong``, ``weak`` (see
        :func:`count_evidence`), None for other roles."""
        return count_evidence(self)


# ---------------------------------------------------------------------------------------------
# From HXL tags

_GROUP_ATTRS = ("idps", "returnees", "host_community", "refugees", "migrants")
_CONFLICT_ATTRS = {"conflict", "insurgency", "clash", "clashes", "violence", "insecurity", "war",
                   "attack", "attacks", "communal", "armed", "fighting", "eviction"}
_HAZARD_ATTRS = {"flood": "flood", "floods": "flood", "flooding": "flood", "drought": "drought",
                 "storm": "storm", "cyclone": "storm", "hurricane": "storm", "earthquake": "earthquake",
                 "landslide": "landslide", "fire": "wildfire", "wildfire": "wildfire",
                 "volcano": "volcano", "epidemic": "epidemic"}
# IDMC tags its flows ``+newdisp`` (HDX CSV) and ``+internaldisp`` (legacy XLSX) and its stocks
# ``+stock``: "internal displacements" is IDMC's word for new displacements over the year
_METRIC_ATTRS = {"arrivals": "arrivals", "arrived": "arrivals", "arrival": "arrivals",
                 "departures": "departures", "departed": "departures", "departure": "departures",
                 "returns": "returns", "new": "new_displacement", "newdisp": "new_displacement",
                 "newdisplacement": "new_displacement", "newdisplacements": "new_displacement",
                 "internaldisp": "new_displacement", "internaldisplacement": "new_displacement",
                 "internaldisplacements": "new_displacement",
                 "secondary": "secondary_displacement", "stock": "present_stock"}
_AGE_WORDS = {"children": "0-17", "child": "0-17", "adults": "18-59", "adult": "18-59",
              "elderly": "60+", "elders": "60+", "infants": "0-4"}


def value_spec_from_attributes(attrs: frozenset[str]) -> ValueSpec:
    group = next((g for g in _GROUP_ATTRS if g in attrs), "idps")
    unit = "households" if "hh" in attrs else "individuals"
    metric = next((m for a, m in _METRIC_ATTRS.items() if a in attrs), "present_stock")
    sex = "male" if "m" in attrs else "female" if "f" in attrs else "all"
    age = "all"
    for a in attrs:
        m = re.fullmatch(r"age(\d+)(?:_?(\d+|plus))?", a)
        if m:
            lo, hi = m.group(1), m.group(2)
            age = f"{lo}+" if hi in (None, "plus") else f"{lo}-{hi}"
        elif a in _AGE_WORDS:
            age = _AGE_WORDS[a]
    cause = hazard = detail = None
    conflict = sorted(attrs & _CONFLICT_ATTRS - {"conflict"})
    if "conflict" in attrs or conflict:
        cause, detail = "conflict", (conflict[0] if conflict else None)
    hz = [h for a, h in _HAZARD_ATTRS.items() if a in attrs]
    if "disaster" in attrs or "natural" in attrs or hz:
        cause, hazard = "disaster", (hz[0] if hz else None)
    if cause is None and ({"other", "others"} & attrs):
        cause = "other"
    if cause is None and "unknown" in attrs:
        cause = "unknown"
    return ValueSpec(group, unit, metric, cause, hazard, detail, sex, age)


# HXL hashtags of counts that are not people displaced: people in need (HNO), targeted and reached
# by activities (4W), beneficiaries. Read as displaced people present they would be silently wrong.
NOT_DISPLACEMENT_HASHTAGS = frozenset({"inneed", "targeted", "reached", "beneficiary"})
_DATE_YEAR_QUALIFIERS = frozenset({"year", "reported", "report", "reference", "period", "snapshot",
                                   "occurred", "survey", "collected"})


def role_from_tag(tag: Tag) -> tuple[str, ValueSpec | None, int]:
    """Role, value spec and priority for a tagged column.

    ``#inneed``, ``#targeted``, ``#reached`` and ``#beneficiary`` are never counts of displaced
    people (:data:`NOT_DISPLACEMENT_HASHTAGS`; such files are refused by
    :mod:`idpkit.ingest.kinds`). A count tag translated from HXL 0.x that names no group
    (``#aff_num``: everyone affected) is no group's count and is not imported.
    """
    h, a = tag.hashtag, tag.attributes
    if "bool" in a or "pct" in a or "percent" in a or "ratio" in a:
        return "ignore", None, 0
    if h == "adm0":  # not in the HXL dictionary (it has #country), but common
        return ("country_code" if "code" in a else "country_name"), None, 10
    m = re.fullmatch(r"adm([1-5])", h)
    if m:
        level = min(int(m.group(1)), 4)
        kind = "pcode" if "code" in a else "name"
        prefix = "origin_" if "origin" in a else ""
        return f"{prefix}adm{level}_{kind}", None, 10
    if h == "adm" and "level" in a:
        return "admin_level", None, 10
    if h == "country":
        if "origin" in a:
            return "ignore", None, 0
        return ("country_code" if "code" in a else "country_name"), None, 10
    if h == "loc":
        if "type" in a:
            return "site_type", None, 10
        if "code" in a or "id" in a:
            return "site_id", None, 10
        return "site_name", None, 10
    if h == "geo":
        if "lat" in a:
            return "latitude", None, 10
        if "lon" in a or "long" in a or "lng" in a:
            return "longitude", None, 10
        return "ignore", None, 0
    if h == "date":
        if "year" in a and a <= _DATE_YEAR_QUALIFIERS:
            return "reporting_year", None, 10 if a & {"reported", "report", "reference"} else 8
        if a & {"month", "week", "day"}:
            return "ignore", None, 0  # one part of a date (#date+month+reported: 3), not a date
        if "reported" in a or "report" in a or "snapshot" in a:
            return "reporting_date", None, 10
        if not a - {"month", "year"} and ({"month", "year"} & a):
            return "ignore", None, 0
        if not a:
            return "reporting_date", None, 6
        if "occurred" in a or "survey" in a or "start" in a or "collected" in a:
            return "reporting_date", None, 3
        return "ignore", None, 0
    if h == "round" or (h == "meta" and "round" in a):
        return "round", None, 10
    if h == "operation":
        return "operation", None, 10
    if h == "cause":
        return "cause_text", None, 10
    if h == "assessment":
        return "assessment_type", None, 10
    if h in ("affected", "population"):
        spec = value_spec_from_attributes(a)
        if (h == "population" or tag.legacy) and not set(_GROUP_ATTRS) & a:
            return "ignore", None, 0
        return "value", spec, 9 if {"rounded", "approx"} & a else 10
    return "ignore", None, 0


# ---------------------------------------------------------------------------------------------
# From header names (English and French), for untagged columns


def fold(text: str) -> str:
    """Lower-case, strip accents and punctuation: ``"Région P-Code"`` -> ``"region p code"``."""
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])", " ", text)
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def _camel(text: str) -> str:
    """``admin1Pcode`` -> ``admin 1 pcode``; ``numPresentIdpInd`` -> ``num present idp ind``; a
    lone capital ending a word is not a word of its own (``PiN``: people in need)."""
    return re.sub(r"(?<=[a-zß-ÿ])(?=[A-ZÀ-Þ][^\W\d_])", " ", str(text))


def header_words(header: str) -> str:
    """A header as the rules read it: camelCase split, then folded (``numPresentIdpInd`` ->
    ``num present idp ind``; ``"Région P-Code"`` -> ``region p code``)."""
    return fold(_camel(header))


# Admin-unit words by level, as operations name them (EN/FR/PT/ES). Ambiguous words (province,
# department, distrito) are resolved from the values by the profile step.
_LEVEL_WORDS = {
    1: r"admin ?1|adm ?1|state|region|regiao|governorate|province|provincia|etat|estado|wilaya|"
       r"mohafaza|muhafaza|departamento",
    2: r"admin ?2|adm ?2|lga|district|distrito|zone|county|departement|department|cercle|"
       r"territoire|locality|prefecture|municipality|municipio|mantika|concelho|canton",
    3: r"admin ?3|adm ?3|ward|woreda|sub ?district|sub ?county|commune|sous prefecture|"
       r"arrondissement|payam|chiefdom|nahiya|sub ?prefecture|baladiya|posto|section communale|"
       r"parroquia|corregimiento",
    4: r"admin ?4|adm ?4|village|quartier|locality 4|boma|settlement name|localidade|localidad|"
       r"aldeia|aldea|bairro|barrio|povoado|vereda|caserio",
}
_CODE_WORDS = r"p ?code|pcode|code|cod|codigo|id"


def role_from_header(header: str) -> tuple[str, ValueSpec | None, int]:
    """Role from a column name. Lower priority than a tag.

    Kobo/ODK exports name columns by XML path (``grp_location/admin2_pcode``,
    ``g1.g_idp.idp_ind``): the role comes from the last segment, and from the last two when the
    last alone says nothing (``g_idp/ind``). Their meta columns (``_uuid``, ``today``…) get
    ``kobo_*`` roles and are never counts.
    """
    meta = kobo_meta_role(str(header))
    if meta is not None:
        return meta, None, 10
    path = xml_path(str(header))
    if len(path) > 1:
        out = _role_from_words(path[-1])
        if out[0] == "ignore":
            out = _role_from_words(" ".join(path[-2:]))
        if out[0] == "value" and group_word(fold(_camel(path[-1]))) is None:
            # the group may be named by the enclosing group only: g_ret/ind, grp_host/hh
            for seg in reversed(path[:-1]):
                if group_word(fold(_camel(seg))) is not None:
                    alt = _role_from_words(f"{seg} {path[-1]}")
                    if alt[0] == "value":
                        out = alt
                    break
        return out
    return _role_from_words(str(header))


_COUNTRY = r"(country|pays|pais)"
# "iso3", "ISO", "country_code", "Country ISO3", "Code pays", "Código del país", "admin0Pcode"
_COUNTRY_CODE = re.compile(
    rf"{_COUNTRY} ?(code|iso ?3?|iso ?alpha ?3|pcode|p code)|(iso|code|codigo|cod) (iso )?(du |de |del "
    rf"|do |da )?(la )?{_COUNTRY}( iso ?3?)?|iso ?3?|iso ?alpha ?3|iso 3166( 1)?( alpha ?3)?|"
    r"(admin|adm) ?0 ?(p ?code|code)")
# "Country", "country_name", "Pays", "País", "Nom du pays", "Nombre del país", "admin0Name"
_COUNTRY_NAME = re.compile(
    rf"{_COUNTRY}( (name|nom|nombre|nome))?|(name|nom|nombre|nome) (of |du |de |del |do )?(the |la )?"
    rf"{_COUNTRY}|(admin|adm) ?0( name)?")
# the year of country-year data: "year", "Année", "Año", "Ano", "yr", "Reporting year", "yearReportingDate"
_YEAR_WORDS = r"(year|annee|ano|anio|yr)"
_YEAR = re.compile(
    rf"{_YEAR_WORDS}( (of )?(the )?(report|reporting|reported|reference|data)( date| period)?)?|"
    rf"(reporting|report|reference|data) {_YEAR_WORDS}|{_YEAR_WORDS} (de |del |do |da )?(la )?"
    r"(rapport|reporte|relatorio|informe|reference|referencia)")
_WEIGHT = re.compile(r"\b(weights?|weighting|poids|pesos?|ponderacion|ponderation|ponderacao)\b")


def _role_from_words(header: str) -> tuple[str, ValueSpec | None, int]:
    raw = str(header)
    h = fold(_camel(raw))
    if not h:
        return "ignore", None, 0
    origin = bool(re.search(r"\b(origin|orig|origine|from|departure|provenance|origem|"
                             r"procedencia|proveniencia)\b", h))
    prefix = "origin_" if origin else ""
    if _WEIGHT.search(h):
        return "ignore", None, 0  # a survey weight is no count, place or date
    if _COUNTRY_CODE.fullmatch(h):
        return "country_code", None, 5
    if _COUNTRY_NAME.fullmatch(h):
        return "country_name", None, 5
    if _YEAR.fullmatch(h):
        return "reporting_year", None, 3
    for level, words in _LEVEL_WORDS.items():
        if re.search(rf"\b({words})\b", h):
            if re.search(rf"\b({_CODE_WORDS})\b", h) or re.search(r"pcod", h):
                return f"{prefix}adm{level}_pcode", None, 5
            # "nombre" names in Spanish but counts in French ("Nombre de PDI dans la commune")
            if re.search(r"\b(name|nom|nome|label)\b", h) or len(h.split()) <= 3 or (
                    re.search(r"\bnombre\b", h) and group_word(h) is None):
                return f"{prefix}adm{level}_name", None, 4
    if re.fullmatch(r"(cods? )?p ?code|pcode", h):
        return "ignore", None, 1  # a bare "P-code" column: level decided from values
    if re.search(r"\b(latitude|lat)\b", h):
        return "latitude", None, 5
    if re.search(r"\b(longitude|lon|long|lng)\b", h):
        return "longitude", None, 5
    if re.search(r"\b(month|mois|mes|mez|week|semaine|semana|day|jour|dia)\b", h) and \
            re.search(r"\b(reporting|report|reported|snapshot)\b", h) and \
            not re.search(r"\b(end|ending|fin|final)\b", h):
        # one part of the date ("monthReportingDate": 3), not the date; "Month End" is a date
        return "ignore", None, 0
    if re.search(r"\b(reporting|report|snapshot|reported)\b.*\bdate\b|\bdate\b.*\b(report|rapport)|"
                 r"\b(data|fecha)\b.*\b(relatorio|reporte|informe)\b", h):
        return "reporting_date", None, 5
    if re.fullmatch(r"date|data|fecha|date de (collecte|l ?evaluation)|survey date|assessment date|"
                    r".*survey date", h):
        return "reporting_date", None, 2
    # Kobo question names and labels: date_assessment, "Date of the assessment", "Date de la visite"
    if re.fullmatch(r"(date (of (the )?)?(assessment|survey|collection|data collection|visit|"
                    r"interview|evaluation)|(assessment|survey|collection|visit|interview|"
                    r"evaluation) date|date (de (la |l )?|d )?(collecte|evaluation|visite|enquete|"
                    r"entretien))( date)?|(data|fecha) (de |da |do |del )?(la )?(avaliacao|evaluacion|"
                    r"recolha|coleta|colecta|recoleccion|recogida|levantamento|levantamiento|"
                    r"visita|entrevista|encuesta|inquerito|monitoria|monitoreo)", h):
        return "reporting_date", None, 3
    if re.fullmatch(r"(round|round number|round code|tour|cycle|round no|ronda|rodada|ciclo|"
                    r"(numero (de |da )?)?(ronda|rodada)|(ronda|rodada) (no|numero|n))", h):
        return "round", None, 5
    if re.fullmatch(r"operation( name)?", h):
        return "operation", None, 5
    if (re.search(r"\b(displacement reasons?|displacement causes?|reasons? (for|of) (the )?"
                  r"displacement|causes?|raisons?|motifs?|causas?|motivos?|razao|razoes|razon|"
                  r"razones)\b", h) or re.fullmatch(r"(main |primary )?reasons?", h)) and \
            not re.search(r"\b(ind|hh|individuals|households|yes ?no|bool)\b", h):
        return "cause_text", None, 4
    _place = r"(local|sitio|centro|albergue|acampamento|campamento|campo)"
    _site_fr = r"(site|camp|localite|lieu)"
    if re.fullmatch(r"(site|camp|location|localite|place) ?(id|code|pcode|p code)|ssid|cccm site id|"
                    rf"(codigo|id|cod) (do |da |del |de )?{_place}|"
                    rf"(code|id|identifiant|pcode|p code) (du |de |de la |d )?{_site_fr}", h):
        return "site_id", None, 5
    if re.fullmatch(r"site|(site|camp) (name|nom)|nom (du|de) site|"
                    rf"(nome|nombre) (do |da |del |de )?(la )?{_place}|"
                    rf"(nom|name) (du |de |de la |d |of (the )?)?{_site_fr}", h):
        return "site_name", None, 5
    if re.fullmatch(r"(site|camp|location|settlement) ?type|type (de|du) site|"
                    rf"tipo (de |do |da |del )?{_place}|type (of )?(site|camp|settlement)", h):
        return "site_type", None, 5
    if re.fullmatch(r"assessment ?type", h):
        return "assessment_type", None, 5
    if re.fullmatch(r"admin ?level|adm ?level|niveau( admin)?", h):
        return "admin_level", None, 5
    spec = _value_spec_from_header(h)
    if spec is not None:
        # a rounded twin gives way to the exact count (see ROUNDED): same key, lower priority, so
        # the profile step keeps the exact one and reports the other as a duplicate
        return "value", spec, 3 if ROUNDED.search(h) else 4
    return "ignore", None, 0


_BARE_SEX = re.compile(r"(number of |total |nb |no )?(males?|females?|men|women|hommes|femmes|"
                       r"homens|mulheres|hombres|mujeres|masculino|feminino|femenino|masculin|"
                       r"feminin)( total)?")


def is_bare_sex(h: str) -> bool:
    """A folded header naming a sex and nothing else ("Male", "Mulheres", "Total femmes")."""
    return _BARE_SEX.fullmatch(h) is not None


def group_word(h: str) -> str | None:
    """The population group a folded header names (the last one wins), or None."""
    group = None
    if re.search(r"\b(idp|idps|pdi|pdis|displaced|deplaces|deplacees|deplaces internes|"
                 r"deslocados?|deslocadas?|desplazados?|desplazadas?)\b", h):
        group = "idps"
    if re.search(r"\b(returnee|returnees|retournes|retournees|returned|ret|retornados?|"
                 r"retornadas?|regressados?)\b", h):
        group = "returnees"
    if re.search(r"\b(host|hote|hotes|non displaced|residents)\b", h):
        group = "host_community"
    if re.search(r"\b(refugee|refugees|refugies|refugiados?|refugiadas?)\b", h):
        group = "refugees"
    if re.search(r"\b(migrant|migrants|migrantes?)\b", h):
        group = "migrants"
    if group is None and re.search(r"\b(acolhimento|acolhedoras?|acogida|anfitrion|anfitriona|"
                                   r"receptoras?)\b", h):
        # only without a displaced group: "desplazados en familias de acogida" are IDPs
        group = "host_community"
    return group


# Counts of people that are not displacement figures: people reached, targeted or assisted by
# activities (4W), beneficiaries, people in need (HNO). "IDPs reached" is not a count of IDPs.
_NOT_DISPLACEMENT = re.compile(
    r"\b(reached|reach|targeted|targets?|beneficiar(y|ies)|beneficiaires?|beneficiari[oa]s?|benef|"
    r"assisted|served|pin|cibles?|ciblee?s?|atteinte?s?|alcanzad[oa]s?|alcancad[oa]s?|"
    r"atendid[oa]s?|assistid[oa]s?|besoins?|necesidad(es)?|necessidades?|necesitad[oa]s?|"
    r"necessitad[oa]s?)\b|\bin need\b")
# A count that says it is rounded repeats another count (IDMC's ``new_displacement_rounded``)
ROUNDED = re.compile(r"\b(rounded|round off|arrondie?s?|redondead[oa]s?|arredondad[oa]s?|approx|"
                     r"approximate|approximately|approximatif|approximative|aprox|aproximad[oa]s?)\b")
# Displacement named as a noun ("Total displacement", IDMC's ``total_displacement``): people displaced
_DISPLACEMENT_NOUN = re.compile(r"\b(displacements?|deplacements?|desplazamientos?|deslocamentos?)\b")
_COUNT_WORDS = (r"(number|nombre|total|estimated|estimate|count|nb|nbr|num|numero|cantidad|"
                r"quantidade|effectifs?|stock|cnt|qty)")
_UNIT_ONLY_WORDS = (r"(households?|hhs?|individuals?|inds?|menages?|individus|personnes|pessoas|"
                    r"personas|familias|families|familles|hogares|agregados familiares|agregados)")
# a header naming a unit and nothing else ("Households", "nb_menages", "hh_count", "total_ind",
# "Nombre de personnes", "effectif_menages"): the group is assumed (IDPs) — weak evidence
_UNIT_ONLY = re.compile(rf"((total|estimated) )?({_COUNT_WORDS}( (of|de|des|d|da|do|del|dos|das))? )?"
                        rf"(the )?{_UNIT_ONLY_WORDS}( {_COUNT_WORDS})?")


def _value_spec_from_header(h: str) -> ValueSpec | None:
    if re.search(r"\b(first time|1st time|arriving from|secondary)\b", h):
        return None  # breakdowns of the total by displacement history: not added to stocks
    if _NOT_DISPLACEMENT.search(h):
        return None
    # "No. of IDPs", "Nº de pessoas", "N° de ménages": a number sign, not a yes/no answer
    h = re.sub(r"(?:^|\b)(no|n|nb|nbr|num)( o)? (of|de|d|da|do|del|des)\b", "number of", h)
    words = set(h.split())
    if words & {"yes", "no", "pct", "percent", "percentage", "ratio", "rank", "year", "id", "code",
                "date", "dates", "duration", "score"}:
        return None
    if "%" in h or "proportion" in h:
        return None
    group = group_word(h)
    if group is None and _DISPLACEMENT_NOUN.search(h):
        group = "idps"
    hh = bool(re.search(r"\b(hh|hhs|households?|menages?|families|familles|fam|familias|"
                        r"agregados?|hogares|hogar)\b", h))
    # people named outright, or only implied by "nombre de" / "number of IDPs": households win
    # over an implied unit ("Nombre de ménages PDI", "No. of IDP HH")
    explicit = bool(re.search(r"\b(ind|inds|individuals?|individus|persons?|personnes|people|pop|"
                              r"population|pessoas?|personas?|individuos|poblacion|populacao)\b", h))
    ind = explicit or bool(re.search(r"\b(number of idps?|nombre)\b", h))
    sex = "male" if re.search(r"\b(males?|men|hommes|masculin|homens|hombres|masculino)\b", h) \
        else "female" if re.search(r"\b(females?|women|femmes|feminin|mulheres|mujeres|feminino|"
                                   r"femenino)\b", h) else "all"
    # API style: numPresentIdpInd, numberMales
    if re.fullmatch(r"num(ber)? (present )?idp (ind|individuals)", h):
        return ValueSpec("idps", "individuals")
    if re.fullmatch(r"num(ber)? (of )?(males|females)", h) or is_bare_sex(h):
        # a bare "Male" / "Mujeres" column: the group of the total it breaks down is decided from
        # the columns beside it (idpkit.ingest.profile); idps until then
        return ValueSpec(group or "idps", "individuals", sex=sex)
    metric = _metric_word(h, group)
    if metric == "new_displacement":
        group = group or "idps"
    if group is None and not (hh or ind):
        return None
    if group is None and metric is None and _UNIT_ONLY.fullmatch(_without_rounding(h)) is None:
        return None
    # counts of people should say they are counts: plain 'idp category' is not
    if group is not None and metric is None and not (
            hh or ind or re.search(rf"\b{_COUNT_WORDS}\b", h)):
        return None
    spec = ValueSpec(group or "idps", "households" if hh and not explicit else "individuals",
                     sex=sex)
    if metric:
        spec = replace(spec, metric=metric)
    cause, hazard = _cause_word(h)
    if cause:
        spec = replace(spec, cause=cause, hazard=hazard)
    return spec


_HEADER_CONFLICT = re.compile(r"\b(conflict|conflicts|conflit|conflits|conflicto|conflictos|conflito|"
                              r"conflitos|violence|violencia|insecurity|insecurite|inseguridad|"
                              r"inseguranca)\b")
_HEADER_HAZARDS = {"flood": r"floods?|flooding|inondations?|inundaci[oa]n(es)?|inundacao|inundacoes|"
                            r"cheias?",
                   "drought": r"droughts?|secheresse|sequia|seca",
                   "storm": r"storms?|cyclones?|hurricanes?|tempetes?|tormentas?|ciclones?|huracan(es)?|"
                            r"furacao",
                   "earthquake": r"earthquakes?|seismes?|terremotos?|sismos?"}
_HEADER_DISASTER = re.compile(r"\b(disasters?|catastrophes?|desastres?|natural hazards?|"
                              r"catastrofes?)\b")


def _cause_word(h: str) -> tuple[str | None, str | None]:
    """The cause a count's folded header names ("Conflict stock displacement", "Disaster new
    displacements", "IDPs (floods)"), as HXL's ``+conflict``/``+disaster`` attributes say it.
    Why: two counts differing only by cause would otherwise claim the same key, and one of them
    would be dropped as a duplicate."""
    hazard = next((hz for hz, words in _HEADER_HAZARDS.items() if re.search(rf"\b({words})\b", h)),
                  None)
    if hazard or _HEADER_DISASTER.search(h):
        return "disaster", hazard
    if _HEADER_CONFLICT.search(h):
        return "conflict", None
    return None, None


def _without_rounding(h: str) -> str:
    return re.sub(r"\s+", " ", ROUNDED.sub(" ", h)).strip()


def _metric_word(h: str, group: str | None) -> str | None:
    """The flow a folded header names, or None for a stock. Why: emergency tracking and flow
    monitoring count people who *moved* over a period ("Newly displaced individuals", "IDP
    arrivals", "Retours (ménages)"); read as a stock they would be added to the people present."""
    if re.search(r"\b(arrivals?|arrived|arrivees?|chegadas?|llegadas?)\b", h):
        return "arrivals"
    if re.search(r"\b(departures?|departed|departs?|saidas?|salidas?|partidas?)\b", h):
        return "departures"
    if re.search(r"\b(returns|retours|regresos|retornos|regressos)\b", h):
        return "returns"
    # "new" must qualify the displaced people or their households, not something else of theirs
    # ("IDPs in new settlements" is a stock)
    new = (r"\b(new|newly|recently|nouveaux?|nouvelles?|nouvellement|nuevos?|nuevas?|novos?|"
           r"novas?) ")
    displaced = (r"(idps?|pdis?|displaced|displacements?|deplaces?|deplacees?|deplacements?|"
                 r"desplazad[oa]s?|desplazamientos?|deslocad[oa]s?|deslocamentos?)\b")
    units = (r"(menages|households?|hhs?|individus|individuals?|ind|personnes|persons|people|"
             r"familles|families|familias|hogares|pessoas|personas|agregados)\b")
    if re.search(new + displaced, h) or (group == "idps" and re.search(new + units, h)):
        return "new_displacement"
    # IDMC's word for the displacements of a year: "Conflict Internal Displacements"
    if re.search(r"\binternal displacements\b", h):
        return "new_displacement"
    return None


def guess_roles(headers: list[str], tags: list[Tag | None]) -> list[ColumnAssignment]:
    """First guess for each column: tag if there is one, else header name.

    In a sheet whose HXL row tags at least one count, an *untagged* column is not read as a count:
    publishers tag the counts they publish, and untagged count-like columns there are breakdowns
    (shelter types, origins, period of displacement) that would be counted twice. Where the HXL row
    tags only places and dates, counts are still found from their headers.
    """
    out: list[ColumnAssignment] = []
    tagged_counts = any(t is not None and role_from_tag(t)[0] == "value" for t in tags)
    names = {str(h).strip() for h in headers}
    for i, header in enumerate(headers):
        if (tags[i] if i < len(tags) else None) is None and choice_parent(str(header), names):
            # Kobo select_multiple one-hot column ``question/option`` (0/1): never a count
            out.append(ColumnAssignment(i, str(header), None, "kobo_choice", None, "header", 0))
            continue
        tag = tags[i] if i < len(tags) else None
        if tag is not None:
            role, spec, prio = role_from_tag(tag)
            basis = "hxl"
            if role == "ignore":
                # a tag we do not use: the header may still tell (e.g. #indicator on a count)
                hrole, hspec, hprio = role_from_header(header)
                if hrole in ("reporting_date", "round", "operation", "cause_text"):
                    role, spec, prio, basis = hrole, hspec, hprio, "header"
        else:
            role, spec, prio = role_from_header(header)
            basis = "header"
            if tagged_counts and role == "value":
                role, spec, prio = "ignore", None, 0
        out.append(ColumnAssignment(i, str(header), tag.raw if tag else None, role, spec, basis,
                                    prio))
    return out


# ---------------------------------------------------------------------------------------------
# How sure a count's meaning is


def count_evidence(col: ColumnAssignment, sheet_names: list[str] | tuple[str, ...] = ()
                   ) -> str | None:
    """``strong`` or ``weak`` for a count column, None for any other role.

    *strong*: a mapping said so; an HXL count tag (``#affected+idps``, ``#idp_num``; the
    publisher tagged the column as people affected, and flow-monitoring exports tag their counts
    plain ``#affected+ind``); a header names a population group (in its words, its Kobo group
    path, or the name of the sheet it was read from, ``sheet_names``) and is a count — the header
    rules only read a group as a count with a count, unit or flow word beside it ("IDP
    individuals", "Number of returnees", "total_displacement", "Newly displaced households").
    *weak*: header words that name no group, which was assumed to be IDPs — a unit word only
    ("Households", ``nb_menages``, ``hh_count``), a bare "Male"/"Female" column, a bare "Total".
    """
    if col.role != "value" or col.value is None:
        return None
    if col.basis in ("mapping", "hxl"):
        return "strong"
    path = [header_words(seg) for seg in xml_path(col.header)]
    if is_bare_sex(path[-1]) or re.fullmatch(r"(grand |sub ?)?totals?", path[-1]):
        return "weak"
    named = any(group_word(seg) is not None or _DISPLACEMENT_NOUN.search(seg) for seg in path) \
        or any(group_word(fold(n)) == col.value.population_group for n in sheet_names)
    return "strong" if named else "weak"


def weak_counts(plan) -> list[ColumnAssignment]:  # noqa: ANN001 - an ImportPlan or a ColumnPlan
    """The count columns of ``plan`` whose meaning is weak (:func:`count_evidence`).

    Why: a count whose population group was only assumed ("Households", "Total", ``num_hh``) is
    right in a DTM export and wrong in a 4W, a needs table or a survey that slipped past
    :mod:`idpkit.ingest.kinds`. One such column beside strong ones is fine; an import whose counts
    are *all* weak could be any kind of number about people, so the plausibility stage refuses
    it unless a mapping (strong by definition) says what the columns count.
    """
    cplan = plan.columns if isinstance(getattr(plan, "columns", None), ColumnPlan) else plan
    sheets = list(getattr(plan, "sheet_names", []) or [])
    return [c for c in cplan.values() if count_evidence(c, sheets) == "weak"]


@dataclass
class ColumnPlan:
    """The final assignment of columns to roles, after values and mappings were taken into account."""

    columns: list[ColumnAssignment]
    notes: list[str] = field(default_factory=list)

    def first(self, role: str) -> ColumnAssignment | None:
        cands = [c for c in self.columns if c.role == role]
        return max(cands, key=lambda c: c.priority) if cands else None

    def values(self) -> list[ColumnAssignment]:
        return [c for c in self.columns if c.role == "value" and c.value is not None]

    def as_mapping(self) -> dict[str, str]:
        return {c.header or f"column {c.index + 1}": c.describe() for c in self.columns}
