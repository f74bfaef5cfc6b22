"""Backtested displacement forecasts with calibrated intervals and early warnings (issue 8).

The pipeline is: :mod:`series` (panel from the warehouse, cut at an origin) → :mod:`drivers`
(optional covariates, aligned to the panel) → :mod:`baselines` and :mod:`models` (point forecasts
from a cut panel only) → :mod:`backtest` (rolling origins, metrics, choice of model per series) →
:mod:`intervals` (conformal, from backtest residuals) → :mod:`reconcile` (districts add up to
regions) → :mod:`alerts` → :mod:`store` (warehouse tables).
"""
