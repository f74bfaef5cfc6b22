"""Backtest reports as data (JSON) and as a self-contained HTML page with SVG charts (no JS).

Why the verdict comes first in every format: a forecast that does not beat the expanding mean must
say so before anyone reads its numbers.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from idpkit.forecast.backtest import BacktestResult


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, np.generic):
        return _clean(v.item())
    return v


def report_dict(bt: BacktestResult, alerts: pd.DataFrame | None = None) -> dict:
    p = bt.panel
    choice = bt.choice.merge(p.keys[["area_pcode", "area_name"]].reset_index(names="series"),
                             on="series")
    return {
        "target": str(p.keys["target"].iloc[0]), "admin_level": _clean(p.keys["admin_level"].iloc[0]),
        "series": p.n_series, "steps": p.steps,
        "months": [str(p.months[0]), str(p.months[-1])],
        "config": {"horizons": bt.config.horizons, "origins": bt.config.origins,
                   "calibration": bt.config.calibration, "models": list(bt.config.models),
                   "seed": bt.config.seed},
        "verdict": bt.verdict, "best_candidate": bt.best_candidate,
        "scores": [{k: _clean(v) for k, v in r.items()} for r in bt.scores.to_dict("records")],
        "alerts": [] if alerts is None else
        [{k: _clean(v) for k, v in r.items()} for r in alerts.to_dict("records")],
        "choice": [{k: _clean(v) for k, v in r.items()}
                   for r in choice[["area_pcode", "area_name", "model", "mae",
                                    "mae_expanding_mean"]].to_dict("records")],
    }


def write_json(bt: BacktestResult, path: Path, alerts: pd.DataFrame | None = None) -> None:
    path.write_text(json.dumps(report_dict(bt, alerts), indent=2, ensure_ascii=False),
                    encoding="utf-8")


def _line_chart(series: dict[str, list[float | None]], labels: list[str], title: str,
                w: int = 640, h: int = 220) -> str:
    """Polylines of several series on shared axes (``None`` breaks a line)."""
    vals = [v for s in series.values() for v in s if v is not None and math.isfinite(v)]
    if not vals:
        return ""
    lo, hi = min(0.0, min(vals)), max(vals) or 1.0
    pad = 40
    n = max(len(labels), 2)
    x = lambda i: pad + i * (w - 2 * pad) / (n - 1)
    y = lambda v: h - pad - (v - lo) * (h - 2 * pad) / ((hi - lo) or 1)
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf",
               "#7f7f7f"]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img">',
             f'<title>{html.escape(title)}</title>',
             f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="#999"/>',
             f'<text x="{pad}" y="{pad - 10}" font-size="12">{html.escape(title)}</text>',
             f'<text x="4" y="{y(hi) + 4:.0f}" font-size="10">{hi:,.0f}</text>',
             f'<text x="4" y="{h - pad + 4}" font-size="10">{lo:,.0f}</text>']
    for i, lab in enumerate(labels):
        if i % max(1, n // 8) == 0:
            parts.append(f'<text x="{x(i):.0f}" y="{h - pad + 16}" font-size="10" '
                         f'text-anchor="middle">{html.escape(lab)}</text>')
    for j, (name, s) in enumerate(series.items()):
        c = colours[j % len(colours)]
        seg: list[str] = []
        for i, v in enumerate(s + [None]):
            if v is not None and math.isfinite(v):
                seg.append(f"{x(i):.1f},{y(v):.1f}")
            elif seg:
                parts.append(f'<polyline fill="none" stroke="{c}" stroke-width="1.5" '
                             f'points="{" ".join(seg)}"/>')
                seg = []
        parts.append(f'<text x="{w - pad + 2}" y="{pad + 12 * j}" font-size="10" fill="{c}">'
                     f'{html.escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def write_html(bt: BacktestResult, path: Path, alerts: pd.DataFrame | None = None,
               alert_scores: pd.DataFrame | None = None, max_charts: int = 6) -> None:
    """The report: verdict, scores table, MAE by horizon chart, and the busiest series with
    their backtest forecasts (h=1) of the best candidate and the expanding mean."""
    s = bt.scores
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in r) + "</tr>"
        for r in s[["model", "horizon", "n", "mae", "rmse", "mase", "coverage80", "coverage95",
                    "pinball", "skill_vs_mean", "skill_vs_naive"]].itertuples(index=False))
    models = list(dict.fromkeys(s.model))
    hz = sorted(s.horizon.unique())
    mae_chart = _line_chart({m: [float(s[(s.model == m) & (s.horizon == k)].mae.iloc[0])
                                 if ((s.model == m) & (s.horizon == k)).any() else None
                                 for k in hz] for m in models},
                            [f"h={k}" for k in hz], "MAE by horizon")
    p = bt.panel
    busiest = np.argsort(-np.nan_to_num(np.nanmean(p.y, axis=1)))[:max_charts]
    best = bt.best_candidate
    pr = bt.predictions[(bt.predictions.horizon == 1)]
    charts = []
    labels = [str(m) for m in p.months]
    for i in busiest:
        series = {"actual": [None if np.isnan(v) else float(v) for v in p.y[i]]}
        for m in (best, "expanding_mean"):
            g = pr[(pr.model == m) & (pr.series == i)]
            line: list[float | None] = [None] * p.n_months
            for o, v in zip(g.origin, g.point):
                if o + 1 < p.n_months:
                    line[o + 1] = float(v)
            series[f"{m} (h=1)"] = line
        name = p.keys.area_name.iloc[i] or p.keys.area_pcode.iloc[i]
        charts.append(_line_chart(series, labels, f"{name} ({p.keys.area_pcode.iloc[i]})"))
    alert_html = ""
    if alert_scores is not None and len(alert_scores):
        alert_html = "<h2>Alert rule in the backtest (h=1)</h2><table><tr>" + "".join(
            f"<th>{c}</th>" for c in alert_scores.columns) + "</tr>" + "".join(
            "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in r) + "</tr>"
            for r in alert_scores.itertuples(index=False)) + "</table>"
    if alerts is not None and len(alerts):
        alert_html += "<h2>Current alerts</h2><ul>" + "".join(
            f"<li><b>{html.escape(str(r.area_pcode))}</b> {html.escape(str(r.area_name or ''))}"
            f" — {html.escape(str(r.target_month))}: {html.escape(r.reason)} (80% interval "
            f"{r.lo80:,.0f}–{r.hi80:,.0f}). {html.escape(str(getattr(r, 'caveat', '') or ''))}"
            "</li>" for r in alerts.itertuples()) + "</ul>"
    doc = f"""<!doctype html><html lang="en"><meta charset="utf-8">
<title>idpkit forecast backtest</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto}}
table{{border-collapse:collapse;font-size:13px}}td,th{{border:1px solid #ccc;padding:2px 6px;
text-align:right}}.v{{background:#fff6d5;padding:.5em 1em;border-left:4px solid #d4a000}}</style>
<h1>Forecast backtest: {html.escape(str(p.keys.target.iloc[0]))}, {p.n_series} series,
{p.months[0]}–{p.months[-1]}</h1>
<div class="v"><ul>{"".join(f"<li>{html.escape(v)}</li>" for v in bt.verdict)}</ul></div>
<h2>Scores per model and horizon</h2>
<table><tr><th>model</th><th>h</th><th>n</th><th>MAE</th><th>RMSE</th><th>MASE</th>
<th>cover 80%</th><th>cover 95%</th><th>pinball</th><th>skill vs mean</th><th>skill vs naive</th>
</tr>{rows}</table>
{mae_chart}
{alert_html}
<h2>Busiest series: actual and one-month-ahead backtest forecasts</h2>
{"".join(charts)}
</html>"""
    path.write_text(doc, encoding="utf-8")


def _fmt(v) -> str:
    if isinstance(v, float | np.floating):
        if not math.isfinite(v):
            return ""
        return f"{v:,.3f}" if abs(v) < 10 else f"{v:,.1f}"
    return str(v)
