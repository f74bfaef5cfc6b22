"""HTML to PDF with the system's headless Chromium: the situation report as a printable file.

Why Chromium and not a Python PDF library: the report is one self-contained HTML page with inline
SVG charts and print CSS; the browser that people read it in is the renderer that lays it out
the same way on paper, with selectable text (so the PDF's figures can be searched and checked).
Debian's ``chromium`` package is used as installed (``scripts/ensure-chromium.sh``); nothing is
downloaded at run time. The binary is ``$IDPKIT_CHROMIUM`` when set, else ``chromium`` or
``chromium-browser`` on ``PATH``.

Chromium runs with a throwaway profile directory, no sandbox (it runs as root in containers and CI),
no network use beyond the local file, and a timeout; a run that fails or leaves no PDF raises
:class:`PdfError` with the browser's last words.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from idpkit.errors import IdpkitError

CHROMIUM_ENV = "IDPKIT_CHROMIUM"
CANDIDATES = ("chromium", "chromium-browser")
DEFAULT_TIMEOUT_SECONDS = 90.0


class PdfError(IdpkitError):
    """The PDF cannot be made: no Chromium, or Chromium failed or timed out."""

    code = "pdf-failed"


def find_chromium() -> str | None:
    """Path of the Chromium to use, or None when there is none."""
    named = os.environ.get(CHROMIUM_ENV)
    if named:
        return shutil.which(named) or (named if Path(named).is_file() else None)
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def html_to_pdf(html: Path, pdf: Path, *, chromium: str | None = None,
                timeout: float = DEFAULT_TIMEOUT_SECONDS) -> Path:
    """Print ``html`` to ``pdf`` (A4 and margins come from the page's ``@page`` CSS)."""
    binary = chromium or find_chromium()
    if binary is None:
        raise PdfError(f"no Chromium found: install Debian's chromium package "
                       f"(scripts/ensure-chromium.sh) or set {CHROMIUM_ENV}", location=str(pdf))
    pdf = pdf.resolve()
    tmp_pdf = pdf.with_name(pdf.name + ".part")
    tmp_pdf.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="idpkit-chromium-") as profile:
        cmd = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--disable-extensions", "--no-first-run", "--no-default-browser-check",
               "--disable-background-networking", "--disable-sync", "--mute-audio",
               f"--user-data-dir={profile}", "--no-pdf-header-footer",
               "--run-all-compositor-stages-before-draw", "--virtual-time-budget=5000",
               f"--print-to-pdf={tmp_pdf}", html.resolve().as_uri()]
        env = {**os.environ, "HOME": profile}  # Chromium writes caches under $HOME
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                               stdin=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired:
            tmp_pdf.unlink(missing_ok=True)
            raise PdfError(f"Chromium did not finish within {timeout:.0f} s",
                           location=str(pdf)) from None
        except OSError as exc:
            raise PdfError(f"cannot run {binary}: {exc}", location=str(pdf)) from None
    if p.returncode != 0 or not tmp_pdf.exists() or tmp_pdf.stat().st_size == 0:
        tmp_pdf.unlink(missing_ok=True)
        last = " ".join((p.stderr or "").strip().splitlines()[-3:])[-500:]
        raise PdfError(f"Chromium failed (exit {p.returncode}): {last or 'no PDF written'}",
                       location=str(pdf))
    with tmp_pdf.open("rb") as f:
        if f.read(5) != b"%PDF-":
            tmp_pdf.unlink(missing_ok=True)
            raise PdfError("Chromium wrote something that is not a PDF", location=str(pdf))
    tmp_pdf.replace(pdf)
    return pdf
