"""What every benchmark script shares: each contender runs in a child process of the script itself
(``--child KIND ARGS…``), so its peak memory (``ru_maxrss`` of the child alone) and time are its
own, and the parent compares what the children wrote."""

from __future__ import annotations

import json
import resource
import subprocess
import sys


def peak_rss() -> int:
    """This process's peak resident memory in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_child(script: str, kind: str, *args: str, python: str | None = None) -> dict:
    """Run ``script --child kind args…`` and return the dict it printed as ``RESULT {...}``;
    stop the benchmark with the child's error when it fails. ``python``: another interpreter
    for a peer that needs other library versions than idpkit's (e.g. the newest pandas)."""
    p = subprocess.run([python or sys.executable, script, "--child", kind, *args],
                       capture_output=True, text=True, check=False)
    if p.returncode != 0:
        sys.exit(f"{kind} failed:\n{p.stderr[-3000:]}")
    line = next(ln for ln in p.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def answer(result: dict) -> None:
    """In a child: report the result with the child's own peak memory."""
    result["peak_rss"] = peak_rss()
    print("RESULT " + json.dumps(result))
