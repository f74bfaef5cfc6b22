"""Read a ``multipart/form-data`` upload as it streams, after the caller's role is known.

Why not FastAPI's ``UploadFile``: the framework parses the whole form before the endpoint (and its
role check) runs, spooling the file into the system's shared temporary folder — an anonymous
1 GB upload was written to ``/tmp`` and only then refused with 403 (issue 22). Here the endpoint
checks the role first, then this reader writes the file part straight into the endpoint's private
folder, counting bytes as they arrive: the size limit is enforced while reading, and a refused
upload leaves nothing behind (the folder is the caller's ``TemporaryDirectory``).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from python_multipart.multipart import MultipartParser, parse_options_header

#: Largest text field of an upload form (kind, source, sheet, dates are a few bytes).
MAX_FIELD_BYTES = 64 * 1024
_SAFE = re.compile(r"[^A-Za-z0-9._ -]+")


class UploadRefused(Exception):
    """An upload that cannot be read: HTTP ``status`` with the API's error ``code``."""

    def __init__(self, status: int, code: str, message: str, location: str = "body") -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.location = status, code, message, location


@dataclass
class UploadForm:
    """The form as read: text fields, and the file part written to ``path``."""

    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None
    path: Path | None = None
    size: int = 0


def safe_filename(name: str | None) -> str:
    """The base name only, without characters that could mean something to a shell or a path."""
    base = Path((name or "upload").replace("\\", "/")).name
    base = _SAFE.sub("_", base).strip(" .") or "upload"
    return base[:120]


def boundary_of(content_type: str | None) -> bytes:
    """The multipart boundary of a ``Content-Type`` header, or a 4xx saying what is wrong."""
    if not content_type:
        raise UploadRefused(422, "invalid-request", "send the file as multipart/form-data (a form "
                            "with a 'file' field)", "form.file")
    kind, params = parse_options_header(content_type)
    if kind != b"multipart/form-data":
        raise UploadRefused(415, "unsupported-media-type", "send the file as multipart/form-data "
                            "(a form with a 'file' field)", "header.content-type")
    boundary = params.get(b"boundary")
    if not boundary:
        raise UploadRefused(422, "invalid-request", "the multipart/form-data header has no "
                            "boundary", "header.content-type")
    return boundary


async def read_upload(chunks: AsyncIterator[bytes], content_type: str | None, folder: Path, *,
                      max_file_bytes: int, file_field: str = "file") -> UploadForm:
    """Stream the form into ``folder``; refuse (413) as soon as the file passes
    ``max_file_bytes`` or a text field passes :data:`MAX_FIELD_BYTES`."""
    form = UploadForm()
    part: dict = {}
    out: list[BinaryIO] = []
    refused: list[UploadRefused] = []

    def on_part_begin() -> None:
        part.clear()
        part.update(headers={}, name=None, data=bytearray(), header=b"", value=b"")

    def on_header_field(data: bytes, start: int, end: int) -> None:
        part["header"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        part["value"] += data[start:end]

    def on_header_end() -> None:
        part["headers"][part["header"].lower()] = part["value"]
        part["header"], part["value"] = b"", b""

    def on_headers_finished() -> None:
        _, params = parse_options_header(part["headers"].get(b"content-disposition", b""))
        part["name"] = params.get(b"name", b"").decode("utf-8", "replace")
        if part["name"] == file_field:
            form.filename = params.get(b"filename", b"upload").decode("utf-8", "replace")
            form.path = folder / safe_filename(form.filename)
            out.append(form.path.open("wb"))

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if refused:
            return
        if part["name"] == file_field and out:
            form.size += end - start
            if form.size > max_file_bytes:
                refused.append(UploadRefused(413, "too-large", "uploads are limited to "
                                             f"{max_file_bytes // (1 << 20):,} MiB",
                                             "form.file"))
                return
            out[-1].write(data[start:end])
        else:
            part["data"] += data[start:end]
            if len(part["data"]) > MAX_FIELD_BYTES:
                refused.append(UploadRefused(413, "too-large", f"form field {part['name']!r} "
                                             f"is longer than {MAX_FIELD_BYTES:,} bytes",
                                             f"form.{part['name']}"))

    def on_part_end() -> None:
        if part.get("name") == file_field and out:
            out.pop().close()
        elif part.get("name"):
            form.fields[part["name"]] = part["data"].decode("utf-8", "replace")

    parser = MultipartParser(boundary_of(content_type), {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field,
        "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished, "on_part_data": on_part_data,
        "on_part_end": on_part_end})
    try:
        async for chunk in chunks:
            if chunk:
                parser.write(chunk)
            if refused:
                raise refused[0]
        parser.finalize()
    except UploadRefused:
        raise
    except Exception as exc:  # the parser's own complaint: a malformed body
        raise UploadRefused(422, "invalid-request", f"the multipart body could not be read "
                            f"({type(exc).__name__})") from None
    finally:
        for f in out:
            f.close()
    if form.path is None:
        raise UploadRefused(422, "invalid-request", f"the form has no '{file_field}' field",
                            f"form.{file_field}")
    return form
