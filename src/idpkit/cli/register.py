"""``idpkit register …`` and ``idpkit dedup …`` — registration lists and their deduplication.

Personal data stay in the protected store (see :mod:`idpkit.linkage.register`); these commands
are for protection staff. Everything else in idpkit sees only pseudonymised units.
"""

from __future__ import annotations

from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

register_app = typer.Typer(help="Registration lists: import into the protected store.",
                           no_args_is_help=True)
dedup_app = typer.Typer(help="Deduplicate the register (Splink) and review uncertain pairs.",
                        no_args_is_help=True)

DbOpt = Annotated[str | None, typer.Option("--db", help="Warehouse (default $IDPKIT_DB or "
                                           "./idpkit.duckdb); personal data go to the protected "
                                           "store beside it or $IDPKIT_REGISTER_DB")]
def _open(db: str | None):
    from idpkit.warehouse import connect

    return connect(db)


@register_app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="Registration export (CSV or XLSX), one row per "
                                         "person.")],
    phone_region: Annotated[str | None, typer.Option("--phone-region", help="ISO country code "
                                                     "for local phone numbers, e.g. SD (replaces "
                                                     "the mapping's phone_region).")] = None,
    mapping: Annotated[Path | None, typer.Option("--mapping", help="Register mapping (YAML): "
                                                 "columns by header, position or HXL tag, date "
                                                 "formats, phone regions, registration event "
                                                 "(docs/registration.md).")] = None,
    db: DbOpt = None,
) -> None:
    """Import registrations: personal fields into the protected store, pseudonymised units into
    the warehouse."""
    from idpkit.cli.console import console, err
    from idpkit.linkage.register import import_register
    from idpkit.linkage.register_mapping import RegisterMapping

    m = RegisterMapping.load(mapping) if mapping else None
    with _open(db) as wh, err.status(f"importing {file.name}"):
        res = import_register(wh, file, phone_region=phone_region, warehouse_target=db,
                              mapping=m)
    for i in res.issues[:20]:
        colour = "red" if i.severity == "error" else "yellow"
        err.print(f"[{colour}]{i.severity}[/{colour}] {escape(i.file or '')}, row {i.row}, "
                  f"column {escape(repr(i.column))}: {i.code}: {escape(i.message)}",
                  soft_wrap=True)
    if len(res.issues) > 20:
        err.print(f"… and {len(res.issues) - 20:,} more finding(s)")
    console.print(f"Registered {res.records:,} records; {res.quarantined:,} quarantined.")


@dedup_app.command("run")
def run_cmd(
    threshold: Annotated[float, typer.Option("--threshold", min=0.5, max=0.9999,
                                             help="Match probability that links two records.")
                         ] = 0.9,
    engine: Annotated[str, typer.Option(
        "--engine", help="Where Splink's SQL runs: duckdb (in memory, default) or postgres (the "
        "protected register's PostgreSQL database, IDPKIT_REGISTER_DB).")] = "duckdb",
    db: DbOpt = None,
) -> None:
    """Train the model (unsupervised), score candidate pairs, cluster people and households;
    clerks' decisions are applied; uncertain pairs go to the review queue."""
    from idpkit.cli.console import console, err
    from idpkit.linkage.register import open_protected, protected_target
    from idpkit.linkage.runs import run, splink_api

    with _open(db) as wh:
        api = splink_api(engine, protected_target(db))
        prot = open_protected(db)
        try:
            with _stages(err, f"deduplicating on {engine}") as step:
                s = run(wh, prot, threshold=threshold, db_api=api, progress=step)
        finally:
            prot.close()
    console.print(f"{s.records:,} records → {s.person_clusters:,} people; "
                  f"{s.household_registrations:,} household registrations → "
                  f"{s.household_clusters:,} households; {s.review_queue:,} pairs to review "
                  f"(`idpkit dedup review`).")


RUN_STAGES = ("preparing", "training", "scoring", "clustering")


@contextmanager
def _stages(err, title: str):
    """A progress display on stderr (only on a terminal) that a run advances by stage name."""
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn,
                               TextColumn, TimeElapsedColumn)

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=err, transient=True,
                  disable=not err.is_terminal) as bar:
        task = bar.add_task(f"{title}: {RUN_STAGES[0]}", total=len(RUN_STAGES))

        def step(stage: str) -> None:
            done = RUN_STAGES.index(stage) if stage in RUN_STAGES else 0
            bar.update(task, description=f"{title}: {stage}", completed=done)

        yield step
        bar.update(task, completed=len(RUN_STAGES))


@dedup_app.command("link-new")
def link_new_cmd(db: DbOpt = None) -> None:
    """Link records imported since the last run against the register, with the saved model
    (existing clusters are kept; no retraining)."""
    from idpkit.cli.console import console, err
    from idpkit.linkage.register import open_protected
    from idpkit.linkage.runs import link_new_records

    with _open(db) as wh:
        prot = open_protected(db)
        try:
            with err.status("linking new registrations"):
                s = link_new_records(wh, prot)
        finally:
            prot.close()
    console.print(f"{s.records:,} records → {s.person_clusters:,} people, "
                  f"{s.household_clusters:,} households; {s.review_queue:,} new pairs to review.")


@dedup_app.command("review")
def review_cmd(
    limit: Annotated[int, typer.Option("--limit", min=1, help="Pairs to show.")] = 10,
    clerk: Annotated[str | None, typer.Option("--clerk", help="Who decides (default $USER).")
                     ] = None,
    interactive: Annotated[bool, typer.Option("--interactive/--list",
                                              help="Ask for a decision on each pair.")] = True,
    db: DbOpt = None,
) -> None:
    """Show uncertain pairs side by side and record match / non-match decisions (audited)."""
    from idpkit.cli.console import console
    from idpkit.linkage.register import open_protected
    from idpkit.linkage.runs import decide, record, review_queue

    prot = open_protected(db)
    try:
        queue = review_queue(prot, limit)
        if queue.empty:
            console.print("The review queue is empty.")
            return
        explainer = _explainer(prot)
        for n, pair in enumerate(queue.itertuples(), 1):
            a, b = record(prot, pair.record_l), record(prot, pair.record_r)
            console.print(pair_table(a, b, n, len(queue), pair.match_probability))
            if explainer is not None:
                _print_why(console, explainer, pair.record_l, pair.record_r)
            if not interactive:
                continue
            answer = typer.prompt("[m]atch, [n]on-match, [s]kip, [q]uit", default="s").lower()
            if answer.startswith("q"):
                break
            if answer[:1] in ("m", "n"):
                reason = typer.prompt("Reason", default="")
                decide(prot, pair.record_l, pair.record_r,
                       "match" if answer[0] == "m" else "non-match", clerk=clerk,
                       reason=reason or None)
    finally:
        prot.close()


def pair_table(a, b, n: int, total: int, probability: float) -> Table:
    """Two records side by side under a clerk's field names; fields empty on both sides are left
    out, and fields that differ are highlighted."""
    from idpkit.linkage.explain import FIELD_LABELS, REVIEW_FIELDS

    t = Table(title=f"Pair {n}/{total} — match probability {probability:.3f}")
    t.add_column("Field")
    t.add_column(escape(str(a.record_id)))
    t.add_column(escape(str(b.record_id)))
    for f in REVIEW_FIELDS:
        va, vb = _text(a.get(f)), _text(b.get(f))
        if not va and not vb:
            continue
        t.add_row(FIELD_LABELS.get(f, f), escape(va), escape(vb),
                  style="" if va == vb else "bold yellow")
    return t


def _print_why(console, explainer, record_l: str, record_r: str) -> None:
    """Each comparison's factor; a breakdown that fails (a model saved by another version, …)
    is one line pointing to the log, and the clerk can still decide on the records shown."""
    import logging

    try:
        why = explainer.explain(record_l, record_r)
    except Exception:  # the review goes on without the breakdown; the log keeps the cause
        logging.getLogger(__name__).exception("score breakdown failed")
        console.print("(score breakdown unavailable for this pair; see the log file)")
        return
    console.print("Why this score (× raises, ÷ lowers the odds):")
    for c in why.contributions:
        console.print(f"  {escape(c.text())}")


def _explainer(prot):
    """The score breakdown for this session (None when no model is saved)."""
    from idpkit.linkage.explain import Explainer
    from idpkit.linkage.model import MODEL_COLUMNS
    from idpkit.linkage.runs import model_frame

    if "reg_model" not in prot.con.list_tables():
        return None
    import json
    import logging

    model = json.loads(prot.table("reg_model").execute().iloc[0].model)
    if model is None:  # nothing to compare on: one person per record, no pair to explain
        return None
    frame = model_frame(prot.table("reg_people").execute())
    try:
        return Explainer(model, frame[MODEL_COLUMNS])
    except Exception:  # as in _print_why: the review itself must not depend on it
        logging.getLogger(__name__).exception("score breakdown unavailable")
        return None


@dedup_app.command("decide")
def decide_cmd(
    record_a: Annotated[str, typer.Argument(help="Record id.")],
    record_b: Annotated[str, typer.Argument(help="Record id.")],
    decision: Annotated[str, typer.Argument(help="match or non-match")],
    reason: Annotated[str | None, typer.Option("--reason")] = None,
    clerk: Annotated[str | None, typer.Option("--clerk")] = None,
    db: DbOpt = None,
) -> None:
    """Record a decision on a pair without the interactive review (scripts, bulk corrections)."""
    from idpkit.cli.console import console
    from idpkit.linkage.register import open_protected
    from idpkit.linkage.runs import decide

    prot = open_protected(db)
    try:
        decide(prot, record_a, record_b, decision, clerk=clerk, reason=reason)
    finally:
        prot.close()
    console.print(f"Recorded: {record_a} {decision} {record_b}. It holds on every future run.")


def _text(v: object) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return ""
    return str(v)


@dedup_app.command("evaluate")
def evaluate_cmd(
    records: Annotated[int, typer.Option("--records", min=200, max=2_000_000,
                                         help="Records in the generated register.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed")] = 7,
    hardest: Annotated[bool, typer.Option("--hardest/--mixed", help="Every duplicate carries "
                                          "1-4 errors (default), or some are clean.")] = True,
    out: Annotated[Path | None, typer.Option("--out", help="Write the curve as CSV.")] = None,
) -> None:
    """Precision, recall and F1 (pairwise and per cluster) across thresholds on a generated
    register with known duplicates, and the threshold with the best pairwise F1."""
    from idpkit.cli.console import console, err
    from idpkit.linkage.evaluate import threshold_curve

    with err.status(f"generating {records:,} records and deduplicating once for all thresholds"):
        curve = threshold_curve(records, seed=seed, hardest=hardest)
    table = Table(title=f"{curve.records:,} generated records (seed {seed}, "
                        f"{'hardest' if hardest else 'mixed'} noise)")
    table.add_column("")
    for col in ("threshold", "pair precision", "pair recall", "pair F1", "cluster precision",
                "cluster recall", "cluster F1"):
        table.add_column(col, justify="right")
    for r in curve.rows.itertuples(index=False):
        mark = " ".join(m for m, on in (("best", r.threshold == curve.best),
                                        ("default", r.threshold == curve.default)) if on)
        table.add_row(mark, f"{r.threshold:g}", *(f"{v:.4f}" for v in (
            r.pair_precision, r.pair_recall, r.pair_f1, r.cluster_precision, r.cluster_recall,
            r.cluster_f1)))
    console.print(table)
    at = curve.rows.set_index("threshold")
    if curve.default in at.index:
        console.print(f"default threshold {curve.default:g}: pairwise F1 "
                      f"{at.pair_f1[curve.default]:.4f}; best {at.pair_f1[curve.best]:.4f} at "
                      f"{curve.best:g}")
    if out is not None:
        from idpkit.model.formula_cells import neutralise_frame  # no live formulas
        neutralise_frame(curve.rows).to_csv(out, index=False)
        console.print(f"curve written to {escape(str(out))}")


class ClusterFormat(str, Enum):
    csv = "csv"
    json = "json"


@dedup_app.command("clusters")
def clusters_cmd(
    fmt: Annotated[ClusterFormat, typer.Option("--format", help="csv or json.")
                   ] = ClusterFormat.csv,
    out: Annotated[Path | None, typer.Option("-o", "--out", help="Write to this file "
                                             "(default: the terminal).")] = None,
    db: DbOpt = None,
) -> None:
    """The people found by the last run: one row per record with its person id, cluster size,
    household cluster and the link that joined it (protected: record ids are personal data)."""
    from idpkit.cli.console import err
    from idpkit.linkage.clusters import cluster_table
    from idpkit.linkage.register import open_protected

    prot = open_protected(db)
    try:
        table = cluster_table(prot)
    finally:
        prot.close()
    if fmt is ClusterFormat.json:
        text = table.to_json(orient="records", force_ascii=False, indent=1)
    else:
        from idpkit.model.formula_cells import neutralise_frame  # no live formulas
        text = neutralise_frame(table).to_csv(index=False)
    if out is None:
        typer.echo(text, nl=not text.endswith("\n"))
        return
    out.write_text(text, encoding="utf-8")
    err.print(f"{len(table):,} records, {table.person_id.nunique():,} people written to "
              f"{escape(str(out))}")
