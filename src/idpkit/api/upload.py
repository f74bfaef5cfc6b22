"""``POST /api/datasets``: upload an assessment file; the same ingestion and validation as
``idpkit ingest``, answered with the same validation report.

Why it is built this way:

* *One pipeline.* The upload is written to a private temporary folder under its own (sanitised)
  name and handed to :func:`idpkit.ingest.pipeline.ingest_file` — no second code path whose rules
  could drift from the CLI's. Imports stay atomic: a rejected file stores nothing.
* *Admin only.* Imports change what everyone sees; only ``admin`` tokens may upload.
* *Bounded.* Bodies larger than :data:`MAX_UPLOAD_BYTES` are refused with 413 while streaming, so a
  huge or endless upload cannot fill the disk; names with path parts are reduced to their base name.
* *Nothing personal in logs.* The handler logs nothing; the response carries the report only.
* *A bug is a 500 with a crash report, not a traceback.* An exception that is not an
  :class:`~idpkit.errors.IdpkitError` is answered with the app's one error shape, code
  ``internal-error``, naming the file, the exception's type and the crash report's *file name*
  (:mod:`idpkit.crashreport`: the file's structure, no cell values; never a server path).
"""

from __future__ import annotations

import re
import tempfile
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import JSONResponse

from idpkit.errors import IdpkitError

MAX_UPLOAD_BYTES = 512 * 1024 * 1024
KINDS = ("baseline", "site", "flow", "registration", "survey", "event")
_SAFE = re.compile(r"[^A-Za-z0-9._ -]+")

Upload = Annotated[UploadFile, File(description="CSV, XLSX or DTM API JSON/CSV export.")]
Kind = Annotated[str | None, Form(description="Assessment type (guessed when omitted).")]
Text = Annotated[str | None, Form()]


def _safe_filename(name: str | None) -> str:
    """The base name only, without characters that could mean something to a shell or a path."""
    base = Path((name or "upload").replace("\\", "/")).name
    base = _SAFE.sub("_", base).strip(" .") or "upload"
    return base[:120]


def _hide_folder(text: str, path: Path) -> str:
    """``text`` naming the upload by its name only: readers' messages and locations name the file
    by its full path, and the server's temporary folder is none of the caller's business."""
    for folder in {str(path.parent), str(path.parent.resolve())}:
        text = text.replace(folder + "/", "").replace(folder, "")
    return text


def _internal_error(exc: Exception, path: Path) -> JSONResponse:
    """HTTP 500 in the app's error shape for a bug met while reading ``path``: the file's name, the
    exception's type and the crash report's file name (never its folder, never the message)."""
    from idpkit.crashreport import write_crash_report

    try:
        report = f"crash report {write_crash_report(exc, command='api upload', file=path).name}"
    except Exception as failure:
        report = f"no crash report could be written ({type(failure).__name__})"
    message = (f"{path.name}: idpkit could not read this file (internal error: "
               f"{type(exc).__name__}); {report}")
    return JSONResponse({"error": {"code": "internal-error", "message": message,
                                   "location": "form.file"}}, status_code=500)


def upload_router(get_state: Callable[[], Any], role_dep: Callable[..., str],
                  need: Callable[[str, str], None], api_error: type[Exception]) -> APIRouter:
    """The upload endpoint, wired to the app's warehouse state, role dependency and errors."""
    router = APIRouter()

    @router.post("/api/datasets", status_code=201,
                 summary="Upload an assessment file (admin): ingest, validate, return the report")
    def upload(file: Upload, kind: Kind = None, source: Text = None, sheet: Text = None,
               reporting_date: Text = None, dry_run: Annotated[bool, Form()] = False,
               r: str = Depends(role_dep)) -> JSONResponse:
        from idpkit.ingest.pipeline import IngestOptions, ingest_file
        from idpkit.validate.report import report_dict

        need(r, "admin")
        if kind is not None and kind not in KINDS:
            raise api_error(422, "invalid-request", f"kind must be one of {', '.join(KINDS)}",
                            "form.kind")
        on: date | None = None
        if reporting_date:
            try:
                on = date.fromisoformat(reporting_date)
            except ValueError:
                raise api_error(422, "invalid-request", f"{reporting_date!r} is not a date "
                                "(YYYY-MM-DD)", "form.reporting_date") from None
        state = get_state()
        with tempfile.TemporaryDirectory(prefix="idpkit-upload-") as folder:
            path = Path(folder) / _safe_filename(file.filename)
            size = 0
            with path.open("wb") as out:
                while chunk := file.file.read(1 << 20):
                    size += len(chunk)
                    if size > MAX_UPLOAD_BYTES:
                        raise api_error(413, "too-large", f"uploads are limited to "
                                        f"{MAX_UPLOAD_BYTES // (1 << 20)} MiB", "form.file")
                    out.write(chunk)
            if size == 0:
                raise api_error(422, "empty-file", "the uploaded file is empty", "form.file")
            opts = IngestOptions(kind=kind, source=source, sheet=sheet, dry_run=dry_run,
                                 reporting_date=on)
            lock: threading.Lock = state.lock
            crash: Exception | None = None
            with lock:
                try:
                    result = ingest_file(state.wh, path, opts)
                except IdpkitError as exc:
                    return JSONResponse({"error": {
                        "code": exc.code, "message": _hide_folder(exc.message, path),
                        "location": _hide_folder(exc.location or path.name, path)}},
                        status_code=422)
                except Exception as exc:  # a bug: described below, outside the warehouse lock
                    crash = exc
                else:
                    state.cache.clear()
            if crash is not None:  # the upload still exists here: its structure is described
                return _internal_error(crash, path)
        report = report_dict([result])
        for task in report["tasks"]:  # type: ignore[union-attr]
            task["file"] = path.name  # not the server's temporary path
        status = 201 if result.status == "imported" else 200
        return JSONResponse({"status": result.status, "dataset_id": result.dataset_id,
                             "report": report}, status_code=status)

    return router
