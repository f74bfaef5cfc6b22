"""``POST /api/datasets``: upload an assessment file; the same ingestion and validation as
``idpkit ingest``, answered with the same validation report.

Why it is built this way:

* *One pipeline.* The upload is written to a private temporary folder under its own (sanitised)
  name and handed to :func:`idpkit.ingest.pipeline.ingest_file` — no second code path whose rules
  could drift from the CLI's. Imports stay atomic: a rejected file stores nothing.
* *Admin only.* Imports change what everyone sees; only ``admin`` tokens may upload.
* *Role first, then bounded.* The role is checked before a byte of the body is read; the file is
  streamed into a private folder (:mod:`idpkit.api.upload_stream`) and bodies larger than
  :data:`MAX_UPLOAD_BYTES` are refused with 413 while streaming, so a
  huge or endless upload cannot fill the disk; names with path parts are reduced to their base name.
* *Nothing personal in logs.* The handler logs nothing; the response carries the report only.
* *A bug is a 500 with a crash report, not a traceback.* An exception that is not an
  :class:`~idpkit.errors.IdpkitError` is answered with the app's one error shape, code
  ``internal-error``, naming the file, the exception's type and the crash report's *file name*
  (:mod:`idpkit.crashreport`: the file's structure, no cell values; never a server path).
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from idpkit.api.upload_stream import UploadRefused, read_upload
from idpkit.errors import IdpkitError

MAX_UPLOAD_BYTES = 512 * 1024 * 1024
KINDS = ("baseline", "site", "flow", "registration", "survey", "event")




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


def _ingest(state: Any, path: Path, opts: Any) -> JSONResponse:
    """Ingest the stored upload under the server's warehouse lock and answer with the report."""
    from idpkit.ingest.pipeline import ingest_file
    from idpkit.validate.report import report_dict

    lock: threading.Lock = state.lock
    crash: Exception | None = None
    with lock:
        try:
            result = ingest_file(state.wh, path, opts)
        except IdpkitError as exc:
            return JSONResponse({"error": {
                "code": exc.code, "message": _hide_folder(exc.message, path),
                "location": _hide_folder(exc.location or path.name, path)}}, status_code=422)
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


#: The form, for the OpenAPI document (the endpoint reads the body itself, see upload_stream).
_OPENAPI_FORM = {"requestBody": {"required": True, "content": {"multipart/form-data": {
    "schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": "CSV, XLSX or DTM API JSON/CSV export."},
        "kind": {"type": "string", "enum": list(KINDS),
                 "description": "Assessment type (guessed when omitted)."},
        "source": {"type": "string"}, "sheet": {"type": "string"},
        "reporting_date": {"type": "string", "format": "date"},
        "dry_run": {"type": "boolean"}}}}}}}


def upload_router(get_state: Callable[[], Any], role_dep: Callable[..., str],
                  need: Callable[[str, str], None], api_error: type[Exception]) -> APIRouter:
    """The upload endpoint, wired to the app's warehouse state, role dependency and errors."""
    router = APIRouter()

    def _options(fields: dict[str, str], api_error=api_error):
        """The form's text fields as :class:`IngestOptions`, or a 422 naming the field."""
        from idpkit.ingest.pipeline import IngestOptions

        kind = fields.get("kind") or None
        if kind is not None and kind not in KINDS:
            raise api_error(422, "invalid-request", f"kind must be one of {', '.join(KINDS)}",
                            "form.kind")
        on: date | None = None
        if fields.get("reporting_date"):
            try:
                on = date.fromisoformat(fields["reporting_date"])
            except ValueError:
                raise api_error(422, "invalid-request", f"{fields['reporting_date']!r} is not a "
                                "date (YYYY-MM-DD)", "form.reporting_date") from None
        dry = fields.get("dry_run", "false").strip().lower() in ("1", "true", "yes", "on")
        return kind, IngestOptions(kind=kind, source=fields.get("source") or None,
                                   sheet=fields.get("sheet") or None, dry_run=dry,
                                   reporting_date=on)

    @router.post("/api/datasets", status_code=201, openapi_extra=_OPENAPI_FORM,
                 summary="Upload an assessment file (admin): ingest, validate, return the report")
    async def upload(request: Request, r: str = Depends(role_dep)) -> JSONResponse:
        from starlette.concurrency import run_in_threadpool

        need(r, "admin")  # before a byte of the body is read
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_UPLOAD_BYTES + (1 << 20):
            raise api_error(413, "too-large", f"uploads are limited to "
                            f"{MAX_UPLOAD_BYTES // (1 << 20)} MiB", "form.file")
        with tempfile.TemporaryDirectory(prefix="idpkit-upload-") as folder:
            try:
                form = await read_upload(request.stream(), request.headers.get("content-type"),
                                         Path(folder), max_file_bytes=MAX_UPLOAD_BYTES)
            except UploadRefused as exc:
                raise api_error(exc.status, exc.code, exc.message, exc.location) from None
            kind, opts = _options(form.fields, api_error)
            if form.size == 0:
                raise api_error(422, "empty-file", "the uploaded file is empty", "form.file")
            assert form.path is not None
            return await run_in_threadpool(_ingest, get_state(), form.path, opts)

    return router
