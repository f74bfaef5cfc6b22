"""Importing a real 4W workbook: ``idpkit areas activities import`` beside pandas ``read_excel``.

    .venv/bin/python benchmarks/activities.py [--file 4W.xlsx] [--sheet NAME] [--repeat 3]

Issue 20 asks that importing the largest 4W file of the corpus (the Ethiopia 4W, ~2 MB XLSX)
take at most 1.5x pandas ``read_excel`` of it, in the same run. Default ``--file``: that file,
``../shared/real-data/corpus/activities/`` + :data:`DEFAULT_FILE` (the corpus' largest XLSX,
Venezuela's, is refused: it has no sector column).

Contenders, each in a fresh child process per repeat (so both pay their imports the same way;
peak memory is the child's own ``ru_maxrss``):

* idpkit: :func:`idpkit.areas.activities.import_activities` into a new DuckDB warehouse —
  finding the data sheet and header, reading, column roles, checks, the gazetteer and the atomic
  write; the embedded gazetteer is loaded before timing (as in a warehouse in use);
* pandas: ``pd.read_excel(file, sheet_name=<the data sheet>)`` — reading only, no checks, no
  storage (the data sheet is the one idpkit chose, or ``--sheet``).

The ratio printed is median idpkit time / median pandas time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _harness import answer, run_child

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "real-data" / "corpus" / "activities"
DEFAULT_FILE = "whowhatwhere_ethiopia_who_is_doing_what_where_4w_february_2022.xlsx"


def child_idpkit(path: str) -> None:
    from idpkit.areas.activities import import_activities
    from idpkit.warehouse import connect

    with tempfile.TemporaryDirectory() as tmp, connect(str(Path(tmp) / "w.duckdb")) as wh:
        wh.table("areas").count().execute()  # the warehouse exists (gazetteer seeded) first
        t0 = time.perf_counter()
        stored = import_activities(wh, path)
        seconds = time.perf_counter() - t0
    answer({"seconds": seconds, "rows": stored.rows_read})


def child_sheet(path: str) -> None:
    """The data sheet idpkit chooses (not timed), for pandas to read the same one."""
    from idpkit.areas.activities_read import find_table

    answer({"sheet": find_table(path).sheet or ""})


def child_pandas(path: str, sheet: str) -> None:
    import pandas as pd

    t0 = time.perf_counter()
    df = pd.read_excel(path, sheet_name=sheet or 0)
    answer({"seconds": time.perf_counter() - t0, "rows": len(df)})


def _times(results: list[dict]) -> str:
    return ", ".join(f"{r['seconds']:.2f}" for r in results)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--file", type=Path)
    ap.add_argument("--sheet")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", nargs="+")
    a = ap.parse_args()
    if a.child:
        kind, *args = a.child
        {"idpkit": child_idpkit, "pandas": child_pandas, "sheet": child_sheet}[kind](*args)
        return
    path = a.file or CORPUS / DEFAULT_FILE
    if not Path(path).exists():
        sys.exit(f"no 4W file at {path}: pass --file")
    ours = [run_child(__file__, "idpkit", str(path)) for _ in range(a.repeat)]
    sheet = a.sheet or run_child(__file__, "sheet", str(path))["sheet"]
    peer = [run_child(__file__, "pandas", str(path), sheet) for _ in range(a.repeat)]
    t_ours = statistics.median(r["seconds"] for r in ours)
    t_peer = statistics.median(r["seconds"] for r in peer)
    print(f"file: {path.name} ({path.stat().st_size / 1e6:.1f} MB), data sheet {sheet!r}")
    print(f"idpkit areas activities import: median {t_ours:.2f} s over {a.repeat} "
          f"({_times(ours)}), rows read {ours[0].get('rows')}, "
          f"peak RSS {max(r['peak_rss'] for r in ours) / 2**20:,.0f} MiB")
    print(f"pandas read_excel (that sheet): median {t_peer:.2f} s "
          f"({_times(peer)}), rows {peer[0]['rows']}, "
          f"peak RSS {max(r['peak_rss'] for r in peer) / 2**20:,.0f} MiB")
    print(f"ratio idpkit / pandas: {t_ours / t_peer:.2f} (issue 20's goal: at most 1.5)")


if __name__ == "__main__":
    main()
