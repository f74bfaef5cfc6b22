"""``idpkit forecast …`` — rolling-origin backtests, current forecasts and early-warning alerts."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from idpkit.cli.options import DbOpt, OutOpt, TableOrJson

forecast_app = typer.Typer(help="Backtested displacement forecasts, intervals and alerts.",
                           no_args_is_help=True)

TargetOpt = Annotated[str, typer.Option("--target", help="arrivals (reported per month) or idps "
                                        "(stock).")]
LevelOpt = Annotated[int, typer.Option("--level", min=1, max=4, help="Admin level of the series.")]
HorizonsOpt = Annotated[int, typer.Option("--horizons", min=1, max=12, help="Months ahead.")]
OriginsOpt = Annotated[int, typer.Option("--origins", min=1, help="Scored rolling origins.")]
CalOpt = Annotated[int, typer.Option("--calibration", min=0, help="Earlier origins that only "
                                     "calibrate the intervals.")]
MinHistOpt = Annotated[int, typer.Option("--min-history", min=2, help="Months of history an "
                                         "origin needs.")]
ModelsOpt = Annotated[str, typer.Option("--models", help="Comma-separated candidates (baselines "
                                        "always run): ets, arima, croston_sba, tsb, lgbm.")]
ConflictOpt = Annotated[Path | None, typer.Option("--conflict", help="ACLED-shaped conflict "
                                                  "events CSV (driver).")]
IndOpt = Annotated[list[Path] | None, typer.Option("--indicators", help="Monthly indicator CSV "
                                                   "(pcode, month, columns): hazard, prices.")]
StepsOpt = Annotated[str, typer.Option("--steps", help="month, or round (irregular assessment "
                                       "rounds: a horizon is a number of rounds).")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed (same seed, same numbers).")]
FormatOpt = Annotated[TableOrJson, typer.Option("--format", help="table or json (on standard "
                                                "output).")]
ReportOpt = Annotated[Path | None, typer.Option("--report", help="Write the report (.html or "
                                                ".json).")]
RatioOpt = Annotated[float, typer.Option("--ratio", help="Alert when the forecast exceeds this × "
                                         "the last 3 months' mean.")]
MinSizeOpt = Annotated[float, typer.Option("--min-size", help="Alert only for increases of at "
                                           "least this many people.")]
PeakOpt = Annotated[int, typer.Option("--peak-months", help="Also require the highest value in "
                                      "this many months (0 = off; e.g. 12 or 36).")]
CooldownOpt = Annotated[int, typer.Option("--cooldown", min=0, help="Months without a new alert "
                                          "after one.")]
PredictionsOpt = Annotated[Path | None, typer.Option("--predictions", help="Write every backtest "
                                                     "forecast as CSV (area, origin and target "
                                                     "month, model, forecast, interval, actual).")]
FromOriginOpt = Annotated[str | None, typer.Option("--from-origin", help="YYYY-MM: score origins "
                                                   "from this month (then --origins is ignored).")]
ToOriginOpt = Annotated[str | None, typer.Option("--to-origin", help="YYYY-MM: score origins up "
                                                 "to this month.")]
DEFAULT_MODELS = "croston_sba,tsb,lgbm,ets"


def _config(horizons, origins, calibration, min_history, models, seed, from_origin=None,
            to_origin=None):
    from idpkit.forecast.backtest import BASELINES, BacktestConfig

    names = [m.strip() for m in models.split(",") if m.strip()]
    return BacktestConfig(horizons=horizons, origins=origins, calibration=calibration,
                          min_history=min_history, models=(*BASELINES, *names), seed=seed,
                          from_origin=from_origin, to_origin=to_origin)


def _backtests(db, target, level, conflict, indicators, steps, cfg, *, upper: bool):
    """Backtest the panel (and its parent level for reconciliation) with a progress bar."""
    from idpkit.cli.console import open_warehouse, progress
    from idpkit.forecast.backtest import backtest
    from idpkit.forecast.pipeline import load_panel
    from idpkit.forecast.reconcile import aggregate_panel

    if steps not in ("month", "round"):
        raise typer.BadParameter("month or round", param_hint="--steps")
    with open_warehouse(db) as wh:
        panel = load_panel(wh, target, level, conflict=conflict, indicators=indicators or (),
                           steps=steps)
    results = []
    panels = [panel]
    if upper and panel.keys["parent_pcode"].notna().all():
        panels.append(aggregate_panel(panel))
    with progress() as prog:
        for i, p in enumerate(panels):
            task = prog.add_task("backtest", total=None)
            r = backtest(p, cfg, progress=lambda msg, k, n, t=task, lv=i: prog.update(
                t, description=f"{_level_name(level - lv)}: {escape(msg)}",
                completed=k, total=n))
            prog.remove_task(task)
            results.append(r)
    return results


def _level_name(level: int, n: int | None = None) -> str:
    """Areas of an admin level in words ("admin 2 areas", "the country"): the progress and the
    summary used to say districts/regions whatever the level (issue 23)."""
    if level <= 0:
        return "the national level" if n is None or n == 1 else f"{n} countries"
    return f"admin {level} areas" if n is None else f"{n} admin {level} area(s)"


def _print_scores(bt) -> None:
    import pandas as pd

    from idpkit.cli.console import console

    t = Table("model", "h", "n", "MAE", "RMSE", "MASE", "cover 80%", "cover 95%", "pinball",
              "skill vs mean", "skill vs naive",
              title=f"Backtest, {bt.panel.n_series} series, {bt.panel.months[0]}–"
                    f"{bt.panel.months[-1]}")
    for r in bt.scores.itertuples():
        pct = lambda v: "" if pd.isna(v) else f"{100 * v:+.1f}%"
        cov = lambda v: "" if pd.isna(v) else f"{100 * v:.0f}%"
        t.add_row(r.model, str(r.horizon), str(r.n), f"{r.mae:,.1f}", f"{r.rmse:,.1f}",
                  f"{r.mase:.3f}", cov(r.coverage80), cov(r.coverage95),
                  "" if pd.isna(r.pinball) else f"{r.pinball:,.1f}",
                  pct(r.skill_vs_mean), pct(r.skill_vs_naive))
    console.print(t)
    for line in bt.verdict:
        style = "bold red" if "NOTHING BEATS" in line else ""
        console.print(f"[{style}]{escape(line)}[/{style}]" if style else escape(line))


def _rule(ratio, min_size, peak, cooldown):
    from idpkit.forecast.alerts import AlertRule

    return AlertRule(ratio=ratio, min_size=min_size, peak_months=peak, cooldown=cooldown)


@forecast_app.command("backtest")
def backtest_cmd(target: TargetOpt = "arrivals", level: LevelOpt = 2, horizons: HorizonsOpt = 3,
                 origins: OriginsOpt = 12, calibration: CalOpt = 6, min_history: MinHistOpt = 6,
                 models: ModelsOpt = DEFAULT_MODELS, conflict: ConflictOpt = None,
                 indicators: IndOpt = None, steps: StepsOpt = "month", seed: SeedOpt = 0,
                 ratio: RatioOpt = 1.5, min_size: MinSizeOpt = 100, peak_months: PeakOpt = 0,
                 cooldown: CooldownOpt = 2, fmt: FormatOpt = TableOrJson.table, report: ReportOpt = None,
                 predictions: PredictionsOpt = None, from_origin: FromOriginOpt = None,
                 to_origin: ToOriginOpt = None, db: DbOpt = None) -> None:
    """Rolling-origin backtest of every baseline, candidate and combination; scores, skill and
    alert F1."""
    from idpkit.cli.console import console, open_warehouse
    from idpkit.forecast import report as rep
    from idpkit.forecast.alerts import evaluate
    from idpkit.forecast.store import save, verdict_rows

    from idpkit.forecast.backtest import predictions_table

    cfg = _config(horizons, origins, calibration, min_history, models, seed, from_origin,
                  to_origin)
    (bt,) = _backtests(db, target, level, conflict, indicators, steps, cfg, upper=False)
    rule = _rule(ratio, min_size, peak_months, cooldown)
    al = evaluate(bt.predictions, bt.panel, rule)
    if predictions is not None:
        predictions.parent.mkdir(parents=True, exist_ok=True)
        predictions_table(bt).to_csv(predictions, index=False)
    with open_warehouse(db) as wh:
        run_id = save(wh, backtests=bt.scores.assign(target=target, admin_level=level),
                      verdicts=verdict_rows(bt, target, level))
    if fmt == TableOrJson.json:
        d = rep.report_dict(bt)
        d["alert_rule"] = rule.describe()
        d["alert_scores"] = json.loads(al.to_json(orient="records"))
        d["run_id"] = run_id
        print(json.dumps(d, indent=2, ensure_ascii=False))
    else:
        _print_scores(bt)
        if len(al):
            t = Table(*al.columns, title=f"Alert rule ({escape(rule.describe())}) vs surges, h=1")
            for r in al.itertuples(index=False):
                t.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in r])
            console.print(t)
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        if report.suffix.lower() == ".json":
            rep.write_json(bt, report)
        else:
            rep.write_html(bt, report, alert_scores=al)
        console.print(f"Report: {escape(str(report))}")


@forecast_app.command("run")
def run_cmd(target: TargetOpt = "arrivals", level: LevelOpt = 2, horizons: HorizonsOpt = 3,
            origins: OriginsOpt = 12, calibration: CalOpt = 6, min_history: MinHistOpt = 6,
            models: ModelsOpt = DEFAULT_MODELS, conflict: ConflictOpt = None,
            indicators: IndOpt = None, steps: StepsOpt = "month", seed: SeedOpt = 0,
            ratio: RatioOpt = 1.5, min_size: MinSizeOpt = 100, peak_months: PeakOpt = 0,
            cooldown: CooldownOpt = 2, report: ReportOpt = None, db: DbOpt = None) -> None:
    """Backtest, choose a model per series, forecast from the latest month, reconcile each area
    with its parent areas, raise alerts, and write it all to the warehouse."""
    from idpkit.cli.console import console, open_warehouse
    from idpkit.forecast import report as rep
    from idpkit.forecast.alerts import evaluate
    from idpkit.forecast.run import run
    from idpkit.forecast.store import save, verdict_rows

    cfg = _config(horizons, origins, calibration, min_history, models, seed)
    bts = _backtests(db, target, level, conflict, indicators, steps, cfg, upper=True)
    rule = _rule(ratio, min_size, peak_months, cooldown)
    res = run(bts[0], horizons, rule, bts[1] if len(bts) > 1 else None)
    scores = bts[0].scores.assign(target=target, admin_level=level)
    with open_warehouse(db) as wh:
        run_id = save(wh, forecasts=res.forecasts, alerts=res.alerts, backtests=scores,
                      verdicts=verdict_rows(bts[0], target, level))
    _print_scores(bts[0])
    n_alerts = len(res.alerts)
    console.print(f"Run {run_id}: {len(res.forecasts):,} forecasts "
                  f"({'reconciled with ' + _level_name(level - 1, bts[1].panel.n_series) if len(bts) > 1 else 'not reconciled'}),"
                  f" {n_alerts} alert(s) written to the warehouse (tables forecasts, "
                  "forecast_alerts, forecast_backtests, forecast_verdicts).")
    _print_alerts(res.alerts)
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        al = evaluate(bts[0].predictions, bts[0].panel, rule)
        if report.suffix.lower() == ".json":
            rep.write_json(bts[0], report, res.alerts)
        else:
            rep.write_html(bts[0], report, res.alerts, al)
        console.print(f"Report: {escape(str(report))}")


def _print_alerts(alerts) -> None:
    from idpkit.cli.console import console

    if alerts is None or not len(alerts):
        console.print("No alerts.")
        return
    t = Table("area", "name", "month", "forecast", "80% interval", "reason", title="Alerts")
    for r in alerts.itertuples():
        t.add_row(str(r.area_pcode), escape(str(r.area_name or "")), str(r.target_month),
                  f"{r.value:,.0f}", f"{r.lo80:,.0f}–{r.hi80:,.0f}", escape(r.reason))
    console.print(t)
    # the rule's backtest record, once per horizon (it is the same for every alert of a horizon)
    if "caveat" in alerts:
        for k, c in alerts.dropna(subset=["caveat"]).groupby("horizon")["caveat"].first().items():
            style = "bold red" if c.startswith(("Unconfirmed", "Untested")) else ""
            line = f"{int(k)} month(s) ahead: {escape(str(c))}"
            console.print(f"[{style}]{line}[/{style}]" if style else line)


@forecast_app.command("alerts")
def alerts_cmd(fmt: FormatOpt = TableOrJson.table, output: OutOpt = None,
               db: DbOpt = None) -> None:
    """The alerts of the latest forecast run, per area, with forecast, interval, reason and the
    rule's backtest record (-o writes CSV with HXL tags, or JSON with --format json)."""
    from idpkit.cli.console import err, open_warehouse
    from idpkit.forecast.store import HXL, latest

    with open_warehouse(db) as wh:
        df = latest(wh, "forecast_alerts")
    if "created_at" in df:
        df["created_at"] = df["created_at"].astype(str)
    if fmt == TableOrJson.json:
        text = df.to_json(orient="records", force_ascii=False, date_format="iso") + "\n"
    elif output is not None:
        from idpkit.figures.output import to_csv

        text = to_csv(df, hxl=True,
                      tags={c: HXL.get(c, "#meta+" + c.replace("_", "")) for c in df})
    else:
        _print_alerts(df)
        return
    if output is None:
        sys.stdout.write(text)
        return
    output.write_text(text, encoding="utf-8")
    err.print(f"Wrote {escape(str(output))} ({len(df)} alerts)")


def demo_forecast(out: Path, op, db: str, seed: int) -> None:
    """``idpkit demo``: write the operation's drivers, backtest arrivals per admin 2 with them,
    write current forecasts and alerts, and an HTML report. Fast candidates only (the demo has
    twelve months; ETS adds little there and costs most of the time)."""
    from idpkit.cli.console import console, err, open_warehouse
    from idpkit.forecast import report as rep
    from idpkit.forecast.alerts import AlertRule, evaluate
    from idpkit.forecast.backtest import BASELINES, BacktestConfig, backtest
    from idpkit.forecast.pipeline import load_panel
    from idpkit.forecast.reconcile import aggregate_panel
    from idpkit.forecast.run import run
    from idpkit.forecast.store import save, verdict_rows
    from idpkit.testing.demo_forecast import write_demo_drivers

    with err.status("writing drivers and backtesting forecasts"):
        d = write_demo_drivers(op.truth_dir, op.gazetteer_csv, out / "files" / "drivers", seed)
        cfg = BacktestConfig(horizons=3, origins=4, calibration=2, min_history=4,
                             models=(*BASELINES, "croston_sba", "tsb", "lgbm"), seed=seed)
        with open_warehouse(db) as wh:
            panel = load_panel(wh, "arrivals", 2, conflict=d.conflict_csv,
                               indicators=[d.hazard_csv])
        bt = backtest(panel, cfg)
        up = backtest(aggregate_panel(panel), cfg)
        rule = AlertRule()
        res = run(bt, 3, rule, up)
        with open_warehouse(db) as wh:
            save(wh, forecasts=res.forecasts, alerts=res.alerts,
                 backtests=bt.scores.assign(target="arrivals", admin_level=2),
                 verdicts=verdict_rows(bt, "arrivals", 2))
        report = out / "forecast-report.html"
        rep.write_html(bt, report, res.alerts, evaluate(bt.predictions, bt.panel, rule))
    console.print(f"Forecasts: arrivals per admin 2, {bt.panel.n_series} series; "
                  f"{escape(bt.verdict[0])} {len(res.alerts)} alert(s). Report: {report}")
