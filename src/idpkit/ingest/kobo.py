"""Habits of KoboToolbox / ODK exports: XML-path headers, meta columns, choice lists, repeats.

Why a module of its own: Kobo exports are the commonest way operations share location and site
assessments, and they differ from DTM publications in ways the generic detector must know about
without being told:

* headers are XML paths (``grp_location/admin2_pcode``; ``.`` as the group separator in some
  exports) or question labels; :func:`xml_path` splits the former so column roles are read from
  the question name (:func:`idpkit.ingest.columns.role_from_header`);
* meta columns (``_uuid``, ``_submission_time``, ``today``, ``deviceid``…) are never data;
  :func:`kobo_meta_role` names the few that matter (date fallbacks, submission identity, repeat
  links);
* select_multiple questions come as one column of space-separated choice names plus one 0/1
  column per option (``question/option``); :func:`choice_parent` recognises the latter so they
  are never read as counts;
* repeat groups come as extra sheets linked to the main sheet by ``_parent_index``;
  :func:`join_repeat_to_parent` gives a repeat sheet its parent's place and date. ODK Central and
  Briefcase export a ZIP of CSV files instead (one per repeat group), linked by ``PARENT_KEY`` ->
  ``KEY``, with ``-`` as the group separator in headers (:func:`odk_headers`); nested repeats
  (a repeat inside a repeat) are linked to the submission at the root, through the submission's
  uuid (Kobo) or the first part of ``PARENT_KEY`` (ODK).
"""

from __future__ import annotations

import re

from idpkit.ingest.readers import Sheet, SourceFile, cell_text

_XML_NAME = r"[A-Za-z_][A-Za-z0-9_\-]*"
_XML_PATH = re.compile(rf"{_XML_NAME}(?:[/.]{_XML_NAME})+")

# Kobo/ODK meta columns by name (lower case; last path segment or whole header). Those that matter
# get a role of their own; the rest are "kobo_meta".
_META_ROLES = {
    "today": "kobo_today",
    "_submission_time": "kobo_submission_time",
    "_submission__submission_time": "kobo_submission_time",
    "_uuid": "kobo_uuid",
    "_index": "kobo_index",
    "_parent_index": "kobo_parent_index",
    "_submission__uuid": "kobo_parent_uuid",
    "submissiondate": "kobo_submission_time",  # ODK Central
}
# ODK Central / Briefcase CSV link columns, by their exact (upper-case) names only: a "Key" column
# of some other file is not an ODK link
_ODK_LINKS = {"KEY": "kobo_key", "PARENT_KEY": "kobo_parent_key"}
_META_NAMES = frozenset({
    "_id", "_validation_status", "_notes", "_status", "_submitted_by", "__version__", "_version_",
    "_version", "_tags", "_attachments", "_geolocation", "_xform_id_string", "_duration",
    "_parent_table_name", "_submission__id", "_submission__validation_status",
    "_submission__notes", "_submission__status", "_submission__submitted_by",
    "_submission____version__", "_submission__tags", "start", "end", "deviceid", "subscriberid",
    "username", "simserial", "simid", "phonenumber", "audit", "instanceid", "instancename",
    "deprecatedid", "rootuuid", "formhub/uuid", "meta/instanceid", "meta/instancename",
    "meta/deprecatedid", "meta/rootuuid", "meta/audit", "start-geopoint", "__version__ ",
    # ODK Central's CSV export
    "submitterid", "submittername", "attachmentspresent", "attachmentsexpected", "status",
    "reviewstate", "edits", "formversion",
})


def xml_path(header: str) -> list[str]:
    """The segments of a Kobo XML-path header (``g1/g_idp/idp_ind`` -> ``['g1', 'g_idp',
    'idp_ind']``; ``.`` separators too); any other header as one segment. Labels (with spaces or
    punctuation) are never split: "Returnees/IDPs" is a name, not a path."""
    h = str(header).strip()
    if _XML_PATH.fullmatch(h):
        return re.split(r"[/.]", h)
    return [h]


def kobo_meta_role(header: str) -> str | None:
    """``kobo_*`` role of a Kobo/ODK meta column, None for a question column."""
    if str(header).strip() in _ODK_LINKS:
        return _ODK_LINKS[str(header).strip()]
    h = str(header).strip().lower()
    if h.startswith("set-of-"):  # ODK: the link from a submission to its repeat rows
        return "kobo_meta"
    if h in _META_ROLES:
        return _META_ROLES[h]
    if h in _META_NAMES:
        return "kobo_meta"
    if h.startswith(("meta/", "meta.", "formhub/", "formhub.")) and _XML_PATH.fullmatch(h):
        return "kobo_meta"
    if h.startswith("_submission__"):
        return "kobo_meta"
    return None


def choice_parent(header: str, headers: set[str]) -> str | None:
    """The select_multiple question a one-hot ``question/option`` column belongs to, when that
    question is a column of the same export (XML names and label exports alike), else None."""
    h = str(header).strip()
    for sep in ("/", "."):
        if sep not in h:
            continue
        if sep == "." and not _XML_PATH.fullmatch(h):
            continue  # "No. of IDPs" is not a path
        parent = h.rsplit(sep, 1)[0].strip()
        if parent and parent != h and parent in headers:
            return parent
    return None


def is_kobo_export(roles: set[str]) -> bool:
    """Whether the columns show a Kobo/ODK export (its identity or submission meta columns)."""
    return bool(roles & {"kobo_uuid", "kobo_submission_time", "kobo_index", "kobo_parent_index",
                         "kobo_key", "kobo_parent_key"})


_ODK_PATH = re.compile(rf"{_XML_NAME}(?:-{_XML_NAME})+")


def odk_headers(headers: list[object]) -> list[object] | None:
    """ODK Central's CSV headers with its ``-`` group separator written ``/`` (``grp_loc-adm2_pcode``
    -> ``grp_loc/adm2_pcode``), so the question name is read as in Kobo exports; None when the
    row is not an ODK header row (no ``KEY`` column beside ``meta-instanceID``, ``PARENT_KEY`` or
    ``SubmissionDate``). Only ODK files: elsewhere ``IDP-individuals`` is one name, not a path.
    A question name that itself holds ``-`` (XLSForm allows it) is split too: ODK's export cannot
    tell it from a group path; the column's role then comes from its last part, or a mapping."""
    names = {str(h).strip() for h in headers if h is not None}
    if "KEY" not in names or not names & {"meta-instanceID", "PARENT_KEY", "SubmissionDate"}:
        return None
    return [h.replace("-", "/") if isinstance(h, str) and _ODK_PATH.fullmatch(h.strip())
            and not h.strip().upper().startswith("SET-OF-") else h for h in headers]


def odk_root_key(key: str | None) -> str | None:
    """The submission a (possibly nested) ODK repeat row belongs to: ``uuid:…/g[1]/h[2]`` ->
    ``uuid:…``."""
    return key.split("/", 1)[0] if key else key


def join_repeat_to_parent(repeat: Sheet, r_header: int, r_parent_col: int,
                          parent: Sheet, p_header: int, p_index_col: int,
                          p_cols: list[int], r_uuid_col: int | None = None,
                          p_uuid_col: int | None = None, *, odk: bool = False
                          ) -> tuple[Sheet, int]:
    """A repeat-group sheet with its parent row's columns ``p_cols`` appended to every row, and
    how many of its rows found no parent.

    Why: a repeat row ("people from this origin") has no place or date of its own; both belong
    to the submission it is part of, found through ``_parent_index`` -> the main sheet's
    ``_index``. The joined sheet keeps the repeat sheet's own row numbers, so findings point at
    the rows the user sees. Workbooks are read whole into memory already, so this is a
    dictionary lookup per row, like the reader's own pass; repeat rows whose parent is missing
    keep empty parent cells (and are then reported as missing an area or a date). When both
    sheets have the submission's ``_uuid`` (``_submission__uuid`` in the repeat), it is the link:
    in a repeat nested in another repeat, ``_parent_index`` is the index of the row of the repeat
    above, which could be mistaken for a submission's index; ``_parent_index`` links the rows
    without a uuid. ``odk``: the link is ``PARENT_KEY`` -> ``KEY``, by the key's first part.
    """
    assert repeat.rows is not None and parent.rows is not None

    def cell(row: list[object], j: int | None) -> str | None:
        return cell_text(row[j]) if j is not None and j < len(row) else None

    by_index: dict[str, list[object]] = {}
    by_uuid: dict[str, list[object]] = {}
    for row in parent.rows[p_header + 1:]:
        vals = [row[j] if j < len(row) else None for j in p_cols]
        key, uid = cell(row, p_index_col), cell(row, p_uuid_col)
        if key is not None and key not in by_index:
            by_index[key] = vals
        if uid is not None and uid not in by_uuid:
            by_uuid[uid] = vals
    p_head = parent.rows[p_header]
    own = {cell_text(c) for c in repeat.rows[r_header]}
    added = []
    for j in p_cols:  # the parent's headers as they are, so their roles are found the same way
        h = cell_text(p_head[j]) if j < len(p_head) else None
        h = h or f"column {j + 1}"
        added.append(h if h not in own else f"{parent.name}: {h}")
    width = max((len(r) for r in repeat.rows), default=0)
    rows: list[list[object]] = []
    missing = 0
    for i, row in enumerate(repeat.rows):
        row = list(row) + [None] * (width - len(row))
        if i < r_header:
            rows.append(row + [None] * len(p_cols))
        elif i == r_header:
            rows.append(row + added)
        else:
            link = cell(row, r_parent_col)
            if odk:
                vals = by_index.get(odk_root_key(link) or "")
            else:
                vals = by_uuid.get(cell(row, r_uuid_col) or "") or by_index.get(link or "")
            if vals is None and any(cell_text(c) for c in row):
                missing += 1
            rows.append(row + (vals or [None] * len(p_cols)))
    preview = [[cell_text(c) or "" for c in r] for r in rows[:40]]
    return Sheet(name=repeat.name, rows=rows, preview=preview), missing


# Parent columns a repeat row inherits: where and when (and which site) the submission was made.
_INHERITED = re.compile(r"(adm\d_(pcode|name)|country_(code|name)|reporting_date|kobo_today|"
                        r"kobo_submission_time|site_id|site_name|site_type|round|operation)")


def prepare_repeat_sheet(source: SourceFile, sheet_name: str) -> list[str]:
    """When ``sheet_name`` is a Kobo repeat sheet, replace it in ``source`` by the same sheet with
    its parent submission's place, date and site columns joined on (``_parent_index`` -> the main
    sheet's ``_index``) and return notes saying so; otherwise change nothing and return [].

    What the rows then mean: each repeat row (e.g. "IDPs in this location who come from origin
    X") becomes an observation of the parent's location and date with ``origin_pcode`` set. Such
    rows break the main sheet's totals down by origin; they are imported only when asked for, as
    a dataset of their own (see docs/data-model.md, "Kobo repeat groups").
    """
    from idpkit.ingest.detect import detect_layout, is_repeat_layout

    target = next((s for s in source.sheets if s.name == sheet_name), None)
    if target is None or target.rows is None:
        return []
    rep = detect_layout(target)
    if rep is None or not is_repeat_layout(rep) or rep.header_row is None:
        return []
    odk = any(g.role == "kobo_parent_key" for g in rep.guesses)
    link, key = ("PARENT_KEY", "KEY") if odk else ("_parent_index", "_index")
    parents = []
    for s in source.sheets:
        if s is target or s.rows is None:
            continue
        lay = detect_layout(s)
        if lay is not None and not is_repeat_layout(lay) and lay.header_row is not None and \
                any(g.role == ("kobo_key" if odk else "kobo_index") for g in lay.guesses):
            parents.append(lay)
    if not parents:
        return [(f"sheet {sheet_name!r} looks like a Kobo repeat group but no sheet with '{key}' "
                 "was found to take its place and date from")]
    parent_lay = max(parents, key=lambda lay: lay.score)
    parent = next(s for s in source.sheets if s.name == parent_lay.sheet)
    p_index = next(g.index for g in parent_lay.guesses
                   if g.role == ("kobo_key" if odk else "kobo_index"))
    r_parent = next(g.index for g in rep.guesses
                    if g.role == ("kobo_parent_key" if odk else "kobo_parent_index"))
    p_cols = [g.index for g in parent_lay.guesses if _INHERITED.fullmatch(g.role)]
    r_uuid = next((g.index for g in rep.guesses if g.role == "kobo_parent_uuid"), None)
    p_uuid = next((g.index for g in parent_lay.guesses if g.role == "kobo_uuid"), None)
    joined, missing = join_repeat_to_parent(target, rep.header_row, r_parent, parent,
                                            parent_lay.header_row, p_index, p_cols, r_uuid, p_uuid,
                                            odk=odk)
    source.sheets = [joined if s is target else s for s in source.sheets]
    inherited = ", ".join(repr(parent_lay.headers[j]) for j in p_cols) or "nothing"
    notes = [(f"Kobo repeat sheet {sheet_name!r}: each row joined to its submission in sheet "
              f"{parent.name!r} ({link} -> {key}); inherited columns: {inherited}. Its "
              "counts are an origin breakdown of that sheet's totals, stored as a dataset of "
              "their own")]
    if missing:
        notes.append(f"{missing} repeat row(s) point at no row of sheet {parent.name!r}")
    return notes
