"""Crash reports: when idpkit itself fails (a bug, not bad data), the user gets one line and a
report a maintainer can act on — never a traceback, never the user's data.

A report is a small JSON file holding the idpkit and Python versions, the platform, the command,
the exception's *type* and its traceback as ``(file, line, function)`` frames, and for the file
being read its name, size, hash, detected format and *structure*: sheets with their row and column
counts, the detected header and HXL rows, header texts and each column's detected role. What it
never holds:

* the exception's message or local variables (a message can quote a cell: ``invalid literal for
  int() with base 10: 'Amina Yusuf'``);
* any data cell value, or a path outside idpkit and Python's own libraries (frames elsewhere are
  reduced to their base name).

Reports go to ``$IDPKIT_CRASH_DIR``, else ``$XDG_CACHE_HOME/idpkit/crash-reports``, else
``~/.cache/idpkit/crash-reports``: the folder is created ``0700``, each report ``0600``.

Describing a file runs the same readers that may just have failed, so each part is computed on
its own (a failure is recorded as ``{"error": "RecursionError"}``), lists are capped, and the whole
description runs in a worker thread with a large stack and a time limit: a hostile file can make
the report shorter, never make the boundary hang or crash.

For commands (CLI or API) the entry point is :func:`report_unexpected`.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import sysconfig
import threading
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import idpkit

DESCRIBE_SECONDS = 30.0  # after this the structure is left out (the report is still written)
DESCRIBE_STACK_BYTES = 64 * 1024 * 1024  # deep recursion in a reader cannot overflow this stack
MAX_SHEETS = 100  # sheets described
MAX_COLUMNS = 2_000  # columns listed per layout (the counts are always whole)
MAX_TEXT = 120  # characters kept of a sheet name, header text or tag
MAX_FRAMES = 120  # traceback frames kept per exception (after collapsing repeats)
MAX_CHAIN = 5  # causes (``raise … from``) and contexts followed
LINE_COUNT_BYTES = 1 << 30  # a CSV's lines are counted up to this size

_PACKAGE = Path(idpkit.__file__).resolve().parent


# ---------------------------------------------------------------------------------------------
# Writing


def crash_dir() -> Path:
    """Where reports go: ``$IDPKIT_CRASH_DIR``, ``$XDG_CACHE_HOME/idpkit/crash-reports`` or
    ``~/.cache/idpkit/crash-reports``."""
    if os.environ.get("IDPKIT_CRASH_DIR"):
        return Path(os.environ["IDPKIT_CRASH_DIR"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "idpkit" / "crash-reports"


def write_crash_report(exc: BaseException, *, command: str, file: Path | None = None) -> Path:
    """Write the report of ``exc`` (raised while running ``command`` on ``file``) and return its
    path. Raises only when the report cannot be written (e.g. a read-only folder)."""
    report: dict[str, Any] = {
        "idpkit_crash_report": 1,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "idpkit": idpkit.__version__,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": _guarded(platform.platform),
        "command": command,
        "exception": _describe_exception(exc),
        "file": describe_file(Path(file)) if file is not None else None,
    }
    body = json.dumps(report, indent=2, ensure_ascii=False, default=str).encode("utf-8")
    folder = crash_dir()
    if not folder.is_dir():
        folder.mkdir(parents=True, mode=0o700, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    while True:
        path = folder / f"crash-{stamp}-{secrets.token_hex(3)}.json"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                         0o600)
        except FileExistsError:
            continue
        break
    try:
        os.fchmod(fd, 0o600)  # exactly 0600 whatever the umask
        with os.fdopen(fd, "wb") as out:
            out.write(body)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def crash_message(error_type: str, report: Path | str | None, *, file: str | None = None,
                  not_written: str | None = None) -> str:
    """The one line a user sees (without the ``Error:`` prefix): names the file, the exception's
    type and the report. ``not_written`` is why no report could be written, if none was."""
    what = (f"{file}: idpkit could not read this file" if file is not None
            else "idpkit failed") + f" (internal error: {error_type})."
    if report is None:
        return f"{what} No crash report could be written ({not_written or 'unknown reason'})."
    contents = "the file's structure, no cell values" if file is not None else "no cell values"
    return (f"{what} A crash report ({contents}) was written to {report} — please attach it to a "
            "bug report.")


def report_unexpected(exc: BaseException, *, command: str, file: Path | None = None) -> str:
    """The boundary for an unexpected exception: write a crash report and return the line to show,
    ``Error: FILE: idpkit could not read this file (internal error: T). A crash report … was
    written to PATH — please attach it to a bug report.`` Never raises.

    Use it where a command catches what is *not* an :class:`~idpkit.errors.IdpkitError`::

        try:
            describe(path)
        except IdpkitError:
            raise                                    # the usual one-line error, exit 1
        except Exception as exc:
            err.print(escape(report_unexpected(exc, command="inspect", file=path)))
            raise typer.Exit(2)

    (In the CLI, :func:`idpkit.cli.console.print_unexpected` does this and honours ``--debug``.)
    """
    shown = str(file) if file is not None else None
    try:
        report: Path | None = write_crash_report(exc, command=command, file=file)
        problem = None
    except Exception as failure:  # the boundary itself must not fail
        report, problem = None, type(failure).__name__
    return "Error: " + crash_message(type(exc).__name__, report, file=shown, not_written=problem)


# ---------------------------------------------------------------------------------------------
# The exception: types and frames, no message, no locals


def _describe_exception(exc: BaseException) -> dict[str, Any]:
    out: dict[str, Any] = {}
    node, current, seen = out, exc, set()
    for depth in range(MAX_CHAIN + 1):
        seen.add(id(current))
        node["type"] = _type_name(current)
        node["frames"] = _guarded(lambda e=current: _frames(e))
        nxt = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
        if nxt is None or id(nxt) in seen or depth == MAX_CHAIN:
            break
        node["caused_by" if current.__cause__ is not None else "during_handling_of"] = child = {}
        node, current = child, nxt
    return out


def _type_name(exc: BaseException) -> str:
    t = type(exc)
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


def _frames(exc: BaseException) -> dict[str, Any]:
    """Frames as ``[file, line, function]``, runs of the same frame (deep recursion) collapsed into
    one with ``repeated``; the middle of a very long traceback is left out."""
    collapsed: list[dict[str, Any]] = []
    for fs in traceback.extract_tb(exc.__traceback__):
        frame = {"file": _where(fs.filename), "line": fs.lineno, "function": fs.name}
        last = collapsed[-1] if collapsed else None
        if last is not None and all(last[k] == frame[k] for k in frame):
            last["repeated"] = last.get("repeated", 1) + 1
        else:
            collapsed.append(frame)
    # a recursion through several functions repeats a cycle, not one frame: keep both ends
    if len(collapsed) > MAX_FRAMES:
        head, tail = MAX_FRAMES // 3, MAX_FRAMES - MAX_FRAMES // 3
        return {"list": collapsed[:head] + collapsed[-tail:],
                "omitted": len(collapsed) - head - tail}
    return {"list": collapsed}


def _library_roots() -> list[tuple[str, Path]]:
    roots = []
    paths = sysconfig.get_paths()
    for key, label in (("purelib", "<site-packages>"), ("platlib", "<site-packages>"),
                       ("stdlib", "<stdlib>"), ("platstdlib", "<stdlib>")):
        if paths.get(key):
            roots.append((label, Path(paths[key]).resolve()))
    return roots


def _where(filename: str) -> str:
    """A frame's file relative to the idpkit package (``idpkit/ingest/detect.py``), to Python's
    libraries (``<site-packages>/ibis/…``), or its base name: never a user's or server's path."""
    if filename.startswith("<"):
        return filename  # <frozen …>, <string>
    try:
        p = Path(filename).resolve()
    except (OSError, RuntimeError):
        return Path(filename).name
    if p.is_relative_to(_PACKAGE):
        return "idpkit/" + p.relative_to(_PACKAGE).as_posix()
    for label, root in _library_roots():
        if p.is_relative_to(root):
            return f"{label}/{p.relative_to(root).as_posix()}"
    return p.name


# ---------------------------------------------------------------------------------------------
# The file: its structure, never its values


def describe_file(path: Path, *, timeout: float | None = None) -> dict[str, Any]:
    """Name, size, sha256, format and structure of ``path``, each part computed on its own in a
    worker thread; parts not done within ``timeout`` seconds (default :data:`DESCRIBE_SECONDS`)
    are recorded as ``{"error": "timeout"}``. Never raises."""
    path = Path(path)
    parts: dict[str, Any] = {"name": path.name}
    worker = threading.Thread(target=_guarded, args=(lambda: _describe_into(path, parts),),
                              daemon=True,  # an uncaught error would print a traceback
                              name="idpkit-crash-describe")
    try:
        previous = threading.stack_size(DESCRIBE_STACK_BYTES)
    except (ValueError, RuntimeError):
        previous = None
    try:
        worker.start()
    except RuntimeError as exc:  # no thread to be had: leave the structure out
        parts["structure"] = {"error": type(exc).__name__}
        return parts
    finally:
        if previous is not None:
            threading.stack_size(previous)
    worker.join(DESCRIBE_SECONDS if timeout is None else timeout)
    done = dict(parts)  # each part is assigned whole, once: a consistent copy
    missing = {"error": "timeout" if worker.is_alive() else "not described"}
    for key in ("size", "sha256", "format", "structure"):
        done.setdefault(key, missing)
    return done


def _describe_into(path: Path, parts: dict[str, Any]) -> None:
    """Fill ``parts`` (each key assigned once, when complete)."""
    parts["size"] = _guarded(lambda: _size(path))
    parts["sha256"] = _guarded(lambda: _sha256(path))
    try:
        from idpkit.ingest.readers import open_source

        source = open_source(path)
    except BaseException as exc:  # noqa: BLE001 — whatever the reader does, describing goes on
        parts["format"] = parts["structure"] = {"error": _error_name(exc)}
        return
    try:
        parts["format"] = _guarded(lambda: {"kind": source.kind, "encoding": source.encoding,
                                            "delimiter": source.delimiter})
        structure: dict[str, Any] = {}
        structure["sheets"] = _guarded(lambda: _sheets(source, path))
        structure["layouts"] = _guarded(lambda: _layouts(source))
        parts["structure"] = structure
    finally:
        _guarded(lambda: source.cleanup())


def _sheets(source: Any, path: Path) -> dict[str, Any]:
    listed = []
    for sheet in source.sheets[:MAX_SHEETS]:
        entry: dict[str, Any] = {"name": _short(sheet.name)}
        if sheet.rows is not None:
            entry["rows"] = len(sheet.rows)
            entry["columns"] = max((len(r) for r in sheet.rows), default=0)
        else:  # a CSV file: only a preview is read; its lines are counted
            entry["rows"] = _guarded(lambda: _count_lines(path))
            entry["columns"] = max((len(r) for r in sheet.preview), default=0)
        listed.append(entry)
    return {"count": len(source.sheets), "list": listed}


def _layouts(source: Any) -> dict[str, Any]:
    """What detection found in each sheet: header and HXL rows (1-based, as the user counts) and
    each column's header text, tag and role. Only sheets detection recognised are listed."""
    from idpkit.ingest.detect import candidate_layouts

    layouts, _notes = candidate_layouts(source)
    listed = []
    for lay in layouts[:MAX_SHEETS]:
        columns = []
        for j, header in enumerate(lay.headers[:MAX_COLUMNS]):
            guess = lay.guesses[j] if j < len(lay.guesses) else None
            tag = lay.tags[j] if j < len(lay.tags) else None
            column = {"header": _short(header), "tag": None if tag is None else _short(tag),
                      "role": getattr(guess, "role", None), "basis": getattr(guess, "basis", None)}
            if column["role"] == "value":  # what it counts: vocabulary terms, not values
                column["counts"] = _guarded(guess.describe)
            columns.append(column)
        listed.append({"sheet": _short(lay.sheet),
                       "header_row": None if lay.header_row is None else lay.header_row + 1,
                       "hxl_row": None if lay.hxl_row is None else lay.hxl_row + 1,
                       "data_start_row": lay.data_start + 1,
                       "column_count": len(lay.headers), "columns": columns})
    return {"count": len(layouts), "list": listed}


def _size(path: Path) -> int:
    from idpkit.ingest.readers import source_bytes

    return source_bytes(path)


def _sha256(path: Path) -> str:
    from idpkit.ingest.readers import source_sha256  # of a folder of CSV files too

    return source_sha256(path)


def _count_lines(path: Path) -> int | None:
    if path.is_dir() or path.stat().st_size > LINE_COUNT_BYTES:
        return None
    n, last = 0, b"\n"
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n + (last != b"\n")


def _short(text: object) -> str:
    s = str(text)
    return s if len(s) <= MAX_TEXT else s[:MAX_TEXT] + "…"


def _error_name(exc: BaseException) -> str:
    return type(exc).__name__


def _guarded(compute: Any) -> Any:
    """``compute()``, or ``{"error": <exception type>}`` when it fails in any way."""
    try:
        return compute()
    except BaseException as exc:  # noqa: BLE001 — a part of a report, never a reason to fail
        if isinstance(exc, (KeyboardInterrupt, SystemExit)) and \
                threading.current_thread() is threading.main_thread():
            raise
        return {"error": _error_name(exc)}


__all__ = ["crash_dir", "crash_message", "describe_file", "report_unexpected",
           "write_crash_report"]
