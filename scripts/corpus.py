"""`make corpus`: import every real file as a user would, and compare with totals counted by hand.

    .venv/bin/python scripts/corpus.py                       # ../shared/real-data corpus + dtm
    .venv/bin/python scripts/corpus.py --fixtures            # the trimmed copies in tests/fixtures
    .venv/bin/python scripts/corpus.py FILE_OR_FOLDER... [--repeat 3] [--markdown docs/corpus.md]

Why a separate instrument and not a test: the point is to see what a *user* sees. So each run is
`idpkit ingest FILE [args] --db W` in a subprocess, into a throwaway DuckDB warehouse, and the
warehouse is then read back with duckdb (read-only), not through idpkit's API. The expected numbers
come from tests/fixtures/corpus/expected*.json, counted with pandas by count_expected.py, never by
idpkit. Each run ends as one of:

* crashed  - exit code not 0 or 1, a traceback in the output, or no answer within the timeout;
* refused  - exit 1 and nothing stored (the file was turned away);
* right    - exit 0, every expected total within 0.5, and nothing stored that was not expected;
             for a run whose correct outcome is a refusal (a 3W, an HNO, a headerless file with no
             mapping), being refused is right;
* wrong    - anything else.

It also times, per file and in the same run, the idpkit process against a pandas process that only
reads the file (`pd.read_excel(f, sheet_name=None)` / `pd.read_csv(f)`): both whole processes,
imports included, since that is the wait a user feels. Exit status 1 when any run crashed or is
wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "real-data"
CORPUS_DIR = REPO / "tests" / "fixtures" / "corpus"
REAL_FOLDERS = [SHARED / "corpus" / f for f in ("figures", "activities", "needs")] + [SHARED / "dtm"]
FIXTURE_FOLDERS = [CORPUS_DIR / f for f in ("figures", "activities", "needs")] + \
    [REPO / "tests" / "fixtures" / "dtm"]
SUFFIXES = {".csv", ".xlsx", ".xls", ".json", ".zip"}
TOLERANCE = 0.5
REFUSALS = {"refused", "not-displacement-figures"}

# The stored totals: one row per combination an entry can ask about. Totals only (sex and age
# 'all'); 'level' lets the 'coarsest' rule keep one admin level per country and date.
TOTALS_SQL = """
    select iso3, reporting_date, adm1_pcode, population_group, unit, metric, cause,
           coalesce(reported_level, 0) as level, sum(value) as value
    from observations
    where sex = 'all' and age_group = 'all'
    group by all
"""
DATASETS_SQL = """
    select assessment_type, rows_read, rows_accepted, rows_quarantined from datasets
"""
PANDAS_READ = """
import sys, pandas as pd
f = sys.argv[1]
if f.endswith(('.xlsx', '.xls')):
    try:
        pd.read_excel(f, sheet_name=None)
    except Exception:  # openpyxl refuses some workbooks' styles; a user would try calamine next
        pd.read_excel(f, sheet_name=None, engine='calamine')
        print('calamine')
elif f.endswith('.json'):
    pd.read_json(f)
else:
    pd.read_csv(f, low_memory=False, encoding_errors='replace')
"""


# ---------------------------------------------------------------------------------------------
# What is expected


@dataclass
class RunSpec:
    """One `idpkit ingest` call on one file and its correct outcome (from the expected JSON)."""
    file: Path
    args: list[str]
    outcome: str  # right | refused | not-displacement-figures | unknown (no expectation)
    expected: list[dict[str, Any]] = field(default_factory=list)
    levels: str = "all"
    hint: str | None = None

    @property
    def label(self) -> str:
        shown = [Path(a).name if "/" in a else a for a in self.args]
        return " ".join([self.file.name, *shown])


def expected_for(path: Path) -> dict[str, Any]:
    """The expectations that describe this copy of the file: trimmed fixtures have their own."""
    name = "expected-fixtures.json" if REPO / "tests" in path.resolve().parents else "expected.json"
    return json.loads((CORPUS_DIR / name).read_text(encoding="utf-8"))["files"]


def run_specs(files: list[Path]) -> tuple[list[RunSpec], list[str]]:
    """Every run to make, and the runs skipped (an option idpkit does not have yet)."""
    specs: list[RunSpec] = []
    skipped: list[str] = []
    cache: dict[str, dict[str, Any]] = {}
    for f in files:
        key = "fixtures" if REPO / "tests" in f.resolve().parents else "real"
        book = cache.setdefault(key, expected_for(f))
        entry = book.get(f.name)
        if entry is None:
            specs.append(RunSpec(f, [], "unknown"))
            continue
        for r in entry["runs"]:
            if r.get("pending"):
                skipped.append(f"{f.name} {' '.join(r['args'])}: {r['pending']}")
                continue
            specs.append(RunSpec(f, list(r["args"]), r["outcome"], r.get("expected", []),
                                 entry.get("levels", "all"), r.get("hint")))
    return specs, skipped


def collect_files(targets: list[Path]) -> list[Path]:
    """Files given, and the data files of the folders given, in a stable order."""
    out: list[Path] = []
    for t in targets:
        if t.is_dir():
            out += sorted(p for p in t.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
        elif t.is_file():
            out.append(t)
        else:
            raise SystemExit(f"Error: {t}: no such file or folder")
    return out


# ---------------------------------------------------------------------------------------------
# Running idpkit and pandas


@dataclass
class Process:
    code: int | None  # None: timed out
    output: str
    seconds: float


def idpkit_bin() -> str:
    """The idpkit of the interpreter running this script (the project's venv under make)."""
    here = Path(sys.executable).parent / "idpkit"
    return str(here) if here.exists() else (shutil.which("idpkit") or "idpkit")


def run_process(cmd: list[str], timeout: float, env_extra: dict[str, str] | None = None) -> Process:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "160", "TERM": "dumb", **(env_extra or {})}
    start = time.perf_counter()
    try:
        p = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True,
                           errors="replace", timeout=timeout)
        return Process(p.returncode, p.stdout + p.stderr, time.perf_counter() - start)
    except subprocess.TimeoutExpired:
        return Process(None, "", time.perf_counter() - start)


def ingest(spec: RunSpec, workdir: Path, timeout: float, src: Path | None) -> Process:
    """`idpkit ingest` as a user types it. Crash reports go to the throwaway folder unless
    IDPKIT_CRASH_DIR says where to keep them; `src` imports idpkit from another source tree (an
    exported commit), for a baseline of code that is not the one installed."""
    cmd = [idpkit_bin(), "ingest", str(spec.file), *spec.args, "--db", str(workdir / "w.duckdb")]
    env = {"IDPKIT_CRASH_DIR": os.environ.get("IDPKIT_CRASH_DIR", str(workdir / "crash"))}
    if src is not None:
        env["PYTHONPATH"] = str(src.resolve())
    return run_process(cmd, timeout, env)


def pandas_read(file: Path, timeout: float) -> Process:
    return run_process([sys.executable, "-c", PANDAS_READ, str(file)], timeout)


# ---------------------------------------------------------------------------------------------
# Reading the warehouse back


@dataclass
class Stored:
    """What the import left in the warehouse."""
    datasets: pd.DataFrame
    totals: pd.DataFrame  # TOTALS_SQL, after the level rule
    problem: str | None = None

    @property
    def empty(self) -> bool:
        return self.totals.empty and self.datasets.empty


def read_warehouse(db: Path, levels: str) -> Stored:
    if not db.exists():
        return Stored(pd.DataFrame(), pd.DataFrame())
    try:
        con = duckdb.connect(str(db), read_only=True)
        try:
            datasets = con.sql(DATASETS_SQL).df()
            totals = con.sql(TOTALS_SQL).df()
        finally:
            con.close()
    except duckdb.Error as exc:
        return Stored(pd.DataFrame(), pd.DataFrame(), f"warehouse unreadable: {exc}".splitlines()[0])
    return Stored(datasets, coarsest_level(totals) if levels == "coarsest" else totals)


def coarsest_level(t: pd.DataFrame) -> pd.DataFrame:
    """Only the coarsest reported level per (iso3, reporting_date): for files that repeat the same
    people at admin 0, 1 and 2 (the DTM API extract)."""
    if t.empty:
        return t
    keys = [t.iso3.fillna(""), t.reporting_date.astype(str)]
    return t[t["level"] == t.groupby(keys)["level"].transform("min")]


def stored_value(t: pd.DataFrame, by: dict[str, Any]) -> float:
    """The sum of the stored totals matching an entry's `by` (a list means any of its values)."""
    if t.empty:
        return 0.0
    mask = pd.Series(True, index=t.index)
    for key, want in by.items():
        col = column_for(t, key)
        wanted = [str(w) for w in want] if isinstance(want, list) else [str(want)]
        mask &= col.isin(wanted)
    return float(t.value[mask].sum())


def column_for(t: pd.DataFrame, key: str) -> pd.Series:
    if key in ("year", "month", "reporting_date"):
        d = pd.to_datetime(t.reporting_date, errors="coerce")
        fmt = {"year": "%Y", "month": "%Y-%m", "reporting_date": "%Y-%m-%d"}[key]
        return d.dt.strftime(fmt).fillna("")
    if key not in t.columns:
        return pd.Series("", index=t.index)
    return t[key].astype("string").fillna("")


# ---------------------------------------------------------------------------------------------
# Judging a run


@dataclass
class Verdict:
    outcome: str  # crashed | refused | right | wrong | unchecked
    why: str
    main_stored: float | None = None
    main_expected: float | None = None


def judge(spec: RunSpec, proc: Process, stored: Stored) -> Verdict:
    out = proc.output
    error_line = next((ln.strip() for ln in out.splitlines() if ln.strip().startswith("Error:")), "")
    if proc.code is None:
        return Verdict("crashed", "no answer within the timeout")
    if proc.code not in (0, 1) or "Traceback" in out:
        return Verdict("crashed", f"exit {proc.code}: {error_line or last_line(out)}")
    if stored.problem:
        return Verdict("wrong", stored.problem)
    refused = proc.code == 1 and stored.totals.empty
    if spec.outcome in REFUSALS:
        return judge_refusal(spec, refused, error_line, stored)
    if spec.outcome == "unknown":
        return Verdict("unchecked", "no expectation for this file: count it in count_expected.py")
    if refused:
        return Verdict("refused", error_line or last_line(out), None, main_value(spec))
    return judge_totals(spec, proc, stored)


def judge_refusal(spec: RunSpec, refused: bool, error_line: str, stored: Stored) -> Verdict:
    if not refused:
        what = f"stored {len(stored.totals)} total rows" if not stored.totals.empty else "exit 0"
        return Verdict("wrong", f"should be refused ({spec.outcome}); {what}")
    notes = ["refused as it should be"]
    if not error_line:
        notes.append("but with no 'Error:' line")
    if spec.hint and spec.hint not in error_line:
        notes.append(f"(message does not point to '{spec.hint}')")
    return Verdict("right", " ".join(notes))


def judge_totals(spec: RunSpec, proc: Process, stored: Stored) -> Verdict:
    t = stored.totals
    main = stored_value(t, spec.expected[0]["by"]) if spec.expected else None
    misses = [(e, stored_value(t, e["by"])) for e in spec.expected]
    misses = [(e, got) for e, got in misses if abs(got - e["value"]) > TOLERANCE]
    known = {(e["by"].get("population_group"), e["by"].get("unit"), e["by"].get("metric"))
             for e in spec.expected}
    have = set() if t.empty else set(map(tuple, t[["population_group", "unit", "metric"]]
                                         .astype(str).drop_duplicates().values.tolist()))
    unexpected = sorted(have - {tuple(str(x) for x in k) for k in known})
    if proc.code == 0 and not misses and not unexpected:
        return Verdict("right", f"{len(spec.expected)} totals match", main, main_value(spec))
    why = []
    if proc.code != 0:
        why.append(f"exit {proc.code}")
    if misses:
        e, got = misses[0]
        why.append(f"{len(misses)}/{len(spec.expected)} totals differ, e.g. {short_by(e['by'])}: "
                   f"{fmt(got)} stored vs {fmt(e['value'])}")
    if unexpected:
        why.append("unexpected " + ", ".join("/".join(u) for u in unexpected))
    return Verdict("wrong", "; ".join(why), main, main_value(spec))


def main_value(spec: RunSpec) -> float | None:
    return spec.expected[0]["value"] if spec.expected else None


def short_by(by: dict[str, Any]) -> str:
    skip = {"population_group", "unit", "metric"}
    head = f"{by.get('population_group')}/{by.get('unit')}/{by.get('metric')}"
    rest = ", ".join(f"{k}={v}" for k, v in by.items() if k not in skip)
    return f"{head} {rest}".strip()


def last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:200] if lines else "(no output)"


def fmt(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.1f}"


# ---------------------------------------------------------------------------------------------
# One row of the report


@dataclass
class Row:
    spec: RunSpec
    verdict: Verdict
    stored: Stored
    idpkit_s: float
    pandas_s: float
    pandas_note: str = ""

    @property
    def ratio(self) -> float | None:
        return self.idpkit_s / self.pandas_s if self.pandas_s > 0 else None

    def cells(self) -> list[str]:
        d = self.stored.datasets
        kind = ", ".join(sorted(set(d.assessment_type.dropna().astype(str)))) if not d.empty else "-"
        counts = "-" if d.empty else "/".join(
            f"{int(d[c].sum()):,}" for c in ("rows_read", "rows_accepted", "rows_quarantined"))
        v = self.verdict
        if self.spec.outcome in REFUSALS:
            vs = f"{self.spec.outcome}"
        else:
            vs = f"{fmt(v.main_stored)} vs {fmt(v.main_expected)}"
        ratio = f"{self.ratio:.1f}" if self.ratio is not None else "-"
        pandas = f"{self.pandas_s:.1f}" + (f" ({self.pandas_note})" if self.pandas_note else "")
        return [self.spec.label, kind, counts, vs, f"{self.idpkit_s:.1f}", pandas, ratio,
                v.outcome, v.why]


HEADERS = ["file (args)", "kind detected", "read/accepted/quarantined", "stored vs expected",
           "idpkit s", "pandas s", "ratio", "outcome", "why"]


def measure(spec: RunSpec, repeat: int, timeout: float, src: Path | None = None) -> Row:
    """One run judged on its first import; timings are medians over `repeat` imports and reads,
    each import into a fresh warehouse."""
    idp_times, pd_times, verdict, stored, note = [], [], None, None, ""
    for i in range(repeat):
        with tempfile.TemporaryDirectory(prefix="idpkit-corpus-") as tmp:
            proc = ingest(spec, Path(tmp), timeout, src)
            idp_times.append(proc.seconds)
            if i == 0:
                stored = read_warehouse(Path(tmp) / "w.duckdb", spec.levels)
                verdict = judge(spec, proc, stored)
        reader = pandas_read(spec.file, timeout)
        pd_times.append(reader.seconds)
        if reader.code != 0:
            note = "pandas failed"
        elif "calamine" in reader.output:
            note = "calamine"
    assert verdict is not None and stored is not None
    return Row(spec, verdict, stored, statistics.median(idp_times), statistics.median(pd_times),
               note)


# ---------------------------------------------------------------------------------------------
# Output


def summary_line(rows: list[Row]) -> str:
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.verdict.outcome] = counts.get(r.verdict.outcome, 0) + 1
    ratios = [r.ratio for r in rows if r.ratio is not None]
    order = ["right", "wrong", "refused", "crashed", "unchecked"]
    parts = [f"{counts[k]} {k}" for k in order if counts.get(k)]
    ratio = (f"; idpkit/pandas time ratio median {statistics.median(ratios):.1f}, "
             f"max {max(ratios):.1f}") if ratios else ""
    return f"{len(rows)} runs: " + ", ".join(parts) + ratio


def print_table(rows: list[Row], console: Console) -> None:
    t = Table(show_lines=False, header_style="bold")
    for h in HEADERS:
        t.add_column(h, overflow="fold", justify="right" if h.endswith(("s", "ratio")) else "left")
    style = {"right": "green", "wrong": "red", "crashed": "bold red", "refused": "yellow"}
    for r in rows:
        cells = r.cells()
        s = style.get(r.verdict.outcome, "")
        cells[7] = f"[{s}]{cells[7]}[/{s}]" if s else cells[7]
        t.add_row(*[c if i == 7 else c.replace("[", r"\[") for i, c in enumerate(cells)])
    console.print(t)


MARKDOWN_INTRO = """# Real-data corpus: does `idpkit ingest` store what the files say?

Every file of the real-data corpus (`../shared/real-data/corpus/{figures,activities,needs}` and
`../shared/real-data/dtm`) is imported as a user would, `idpkit ingest FILE [args] --db W` into a
throwaway DuckDB warehouse, and the stored totals are compared with totals counted by hand with
pandas (`tests/fixtures/corpus/expected.json`, made by `tests/fixtures/corpus/count_expected.py`,
the method beside each number; never by idpkit). `make corpus` runs it;
`make corpus CORPUS_ARGS=--fixtures` does the same on the trimmed copies in `tests/fixtures/corpus/`.
"""


def write_markdown(rows: list[Row], path: Path, command: str, label: str, skipped: list[str],
                   src: Path | None = None) -> None:
    """The same table as Markdown, in a block that says when, on what code and how.

    The block is fenced by comments naming its label: a later run with the same label replaces it,
    a run with a new label is added below, and the prose around the blocks is left alone (so a
    baseline stays beside the results after a fix)."""
    block = markdown_block(rows, command, label, skipped, src)
    begin, end = f"<!-- corpus-table: {label} -->", f"<!-- /corpus-table: {label} -->"
    text = path.read_text(encoding="utf-8") if path.exists() else MARKDOWN_INTRO
    if begin in text and end in text:
        text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def markdown_block(rows: list[Row], command: str, label: str, skipped: list[str],
                   src: Path | None) -> str:
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    code = f"idpkit imported from {src}" if src else describe_checkout()
    lines = [
        f"<!-- corpus-table: {label} -->",
        f"## {label}",
        "",
        f"{when}, {code}. Command: `{command}`",
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|" + "|".join("---" for _ in HEADERS) + "|",
    ]
    for r in rows:
        lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ")
                                       for c in r.cells()) + " |")
    lines += ["", summary_line(rows) + "."]
    if skipped:
        lines += ["", "Runs skipped (they need an option idpkit does not have):", ""]
        lines += [f"- {s}" for s in skipped]
    lines.append(f"<!-- /corpus-table: {label} -->")
    return "\n".join(lines)


def describe_checkout() -> str:
    """The commit of src/, and whether src/ has uncommitted changes (then the table describes
    code nobody else can check out)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()
    commit = git("log", "-1", "--format=%h", "--", "src") or "unknown"
    dirty = git("status", "--porcelain", "--", "src")
    return f"src/ at commit {commit}" + (" plus uncommitted changes" if dirty else "")


# ---------------------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("targets", nargs="*", type=Path, help="files or folders (default: the corpus)")
    p.add_argument("--fixtures", action="store_true", help="the trimmed copies in tests/fixtures")
    p.add_argument("--repeat", type=int, default=1, help="median of N timings (default 1)")
    p.add_argument("--timeout", type=float, default=900, help="seconds per process (default 900)")
    p.add_argument("--markdown", type=Path, help="also write the table to this Markdown file")
    p.add_argument("--label", default="Results", help="heading of the Markdown table")
    p.add_argument("--src", type=Path, help="import idpkit from this source folder (e.g. a commit "
                   "exported with `git archive`) instead of the installed one")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    targets = args.targets or (FIXTURE_FOLDERS if args.fixtures else REAL_FOLDERS)
    specs, skipped = run_specs(collect_files(targets))
    console = Console(width=None if sys.stdout.isatty() else 220)
    rows = []
    for i, spec in enumerate(specs, 1):
        console.print(f"[dim]{i}/{len(specs)} {spec.label}[/dim]")
        rows.append(measure(spec, max(1, args.repeat), args.timeout, args.src))
    print_table(rows, console)
    for s in skipped:
        console.print(f"[dim]skipped: {s}[/dim]")
    console.print(summary_line(rows))
    if args.markdown:
        command = shlex.join(["scripts/corpus.py", *(sys.argv[1:] if argv is None else argv)])
        write_markdown(rows, args.markdown, command, args.label, skipped, args.src)
        console.print(f"wrote {args.markdown}")
    return 1 if any(r.verdict.outcome in ("crashed", "wrong") for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
