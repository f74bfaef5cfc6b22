"""Displacement dynamics of the fictional Zedland operation: the ground truth behind the demo files.

Why a cohort model: the truth must be *exactly* consistent (integers, stock(t) = stock(t-1) + arrivals
- departures per location and cause) and must know where every IDP comes from, so origin fields in
the files can be truthful. The state is therefore a sparse table of cohorts
``(host admin 3, origin admin 3, cause) -> individuals``; every month is applied to that table with
integer binomial/multinomial draws, and every person moved is also written as an event
``(month, origin, destination, cause, kind)``. Stocks and flows are both derived from the same
cohorts and events, so the accounting identity holds by construction (and is asserted).

One month ``t`` (the period between reporting dates ``t-1`` and ``t``) is, in this order:

1. **returns**: each cohort sends some IDPs home (probability by cause and by how recently their
   origin's admin 2 was hit); they leave the IDP stock at the host and join the returnee stock of the
   origin;
2. **secondary displacement**: some IDPs move on from their host to another host (many of them when a
   conflict shock hits the admin 2 they are hosted in); their origin is kept;
3. **new displacement**: conflict shocks (an admin 2 area; most people flee outside it, mostly within
   the same admin 1; a smaller follow-up wave the next month), floods (part of an admin 2; people
   stay closer) and a little background conflict displacement anywhere;
4. at the first conflict shock, a **surge**: one location that hosted few IDPs receives an extra wave
   so that its stock jumps at least twenty-fold, which is a real event a validator should warn about
   but keep.

About 5% of admin-3 units are *quiet*: never an origin, never a host. The file writers use them for
extra rows carrying injected errors, so those rows never collide with rows carrying truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from idpkit.testing.demo_geo import Geography

CONFLICT, DISASTER = 0, 1
CAUSES = ("conflict", "disaster")
NEW, SECONDARY, RETURN = 0, 1, 2
KINDS = ("new_displacement", "secondary_displacement", "returns")  # names used in od.csv


@dataclass
class Shock:
    """A displacement event: ``cause`` hits admin 2 ``adm2`` (index) in month ``month``."""

    month: int
    adm2: int
    cause: int


@dataclass
class Simulation:
    """Result of :func:`simulate`. Location indices follow the rows of ``geo.units[3]``."""

    dates: list[date]
    population: np.ndarray  # (N,) residents before any displacement
    hh_size: np.ndarray  # (N,) average household size, used for every household figure
    quiet: np.ndarray  # (N,) bool: never origin nor host
    idps: np.ndarray  # (T, N, 2) IDP individuals hosted, by cause
    returnees: np.ndarray  # (T, N) cumulative returnees at their origin
    cohorts: pd.DataFrame  # t, host, origin, cause, value (IDP stock by origin)
    events: pd.DataFrame  # t (1..T-1), origin, dest, cause, kind, value
    shocks: list[Shock] = field(default_factory=list)
    surge: tuple[int, int] | None = None  # (month, location) of the designed twenty-fold jump


def _candidates(
    rng: np.random.Generator, lon: np.ndarray, lat: np.ndarray, adm1: np.ndarray, quiet: np.ndarray,
    attract: np.ndarray, m: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``m`` destination candidates per location and their weights, ``(N, m)`` each.

    Weight = attractiveness (a few hubs) x distance decay x (0.15 outside the admin 1) x noise. Keeping
    only the top candidates keeps every later draw ``O(N m)`` instead of ``O(N^2)``.
    """
    n = len(lon)
    cand = np.empty((n, m), dtype=np.int64)
    wts = np.empty((n, m))
    kx = 111.0 * np.cos(np.deg2rad(lat.mean()))
    for s in range(0, n, 512):
        rows = np.arange(s, min(n, s + 512))
        d = np.hypot((lon[rows, None] - lon[None]) * kx, (lat[rows, None] - lat[None]) * 111.0)
        w = attract[None] * np.exp(-d / 120.0) * np.where(adm1[rows, None] == adm1[None], 1.0, 0.15)
        w *= rng.uniform(0.5, 1.5, size=w.shape)
        w[:, quiet] = 0.0
        w[np.arange(len(rows)), rows] = 0.0
        idx = np.argsort(-w, axis=1, kind="stable")[:, :m]
        cand[rows], wts[rows] = idx, np.take_along_axis(w, idx, axis=1)
    return cand, wts


def _send(
    rng: np.random.Generator, n: np.ndarray, cand: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spread ``n[k]`` people over destinations ``cand[k]`` with weights ``w[k]`` (multinomial).

    Returns ``(row, destination, count)`` for the non-zero cells. Rows whose weights are all zero
    (every candidate excluded) send nobody.
    """
    tot = w.sum(axis=1, keepdims=True)
    dead = tot[:, 0] <= 0
    p = np.where(dead[:, None], 1.0 / w.shape[1], w / np.where(tot > 0, tot, 1.0))
    draws = rng.multinomial(np.where(dead, 0, n), p)
    r, c = np.nonzero(draws)
    return r, cand[r, c], draws[r, c]


def _merge(host: np.ndarray, origin: np.ndarray, cause: np.ndarray, val: np.ndarray, n: int):
    """Sum cohorts with the same key and drop empty ones."""
    key = (host * n + origin) * 2 + cause
    uniq, inv = np.unique(key, return_inverse=True)
    tot = np.bincount(inv, weights=val).round().astype(np.int64)
    keep = tot > 0
    uniq, tot = uniq[keep], tot[keep]
    return uniq // 2 // n, uniq // 2 % n, uniq % 2, tot


def simulate(geo: Geography, rng: np.random.Generator, dates: list[date]) -> Simulation:
    """Run the cohort model over ``len(dates)`` monthly rounds (see the module docstring)."""
    a3 = geo.units[3]
    n, t_max = len(a3), len(dates)
    if n < 4:
        raise ValueError("the demo needs at least 4 admin-3 units")
    adm2 = pd.factorize(a3["adm2_pcode"])[0]
    adm1 = pd.factorize(a3["adm1_pcode"])[0]
    n_adm2 = adm2.max() + 1
    lon, lat = a3["lon"].to_numpy(), a3["lat"].to_numpy()

    pop = np.clip(np.rint(rng.lognormal(np.log(12_000), 0.7, n)), 1_500, 250_000).astype(np.int64)
    hh_size = np.round(rng.uniform(4.6, 6.6, n), 1)
    attract = rng.lognormal(0.0, 1.0, n)
    n_quiet = min(max(2, n // 20), n - 3)
    quiet = np.zeros(n, dtype=bool)
    quiet[rng.choice(n, n_quiet, replace=False)] = True
    active = ~quiet
    cand, cw = _candidates(rng, lon, lat, adm1, quiet, attract, min(16, int(active.sum()) - 1))

    def flee(origins: np.ndarray, counts: np.ndarray, cause: int, avoid: int | None, local: bool):
        """Destinations for people newly displaced from ``origins``."""
        w = cw[origins].copy()
        if avoid is not None:  # flee the shocked admin 2
            w *= np.where(adm2[cand[origins]] == avoid, 0.05, 1.0)
        if local:  # floods: stay close, often in the same admin 2
            w *= np.where(adm2[cand[origins]] == adm2[origins, None], 3.0, 1.0)
        r, dest, cnt = _send(rng, counts, cand[origins], w)
        return origins[r], dest, np.full(len(r), cause), cnt

    # --- baseline (t = 0): an older conflict in two admin 2s, an older flood, scattered displacement
    areas = rng.permutation(n_adm2)
    base_conf = areas[: min(2, n_adm2)]
    base_flood = areas[min(2, n_adm2 - 1)]
    parts = []
    returnees = np.zeros(n, dtype=np.int64)
    for a in base_conf:
        o = np.flatnonzero((adm2 == a) & active)
        parts.append(flee(o, rng.binomial(pop[o], rng.uniform(0.15, 0.45, len(o))), CONFLICT, a, False))
        returnees[o] += rng.binomial(pop[o], rng.uniform(0.02, 0.1, len(o)))
    o = np.flatnonzero((adm2 == base_flood) & active & (rng.random(n) < 0.6))
    parts.append(flee(o, rng.binomial(pop[o], rng.uniform(0.03, 0.12, len(o))), DISASTER, None, True))
    o = np.flatnonzero(active & (rng.random(n) < 0.08))
    parts.append(flee(o, rng.binomial(pop[o], rng.uniform(0.01, 0.05, len(o))), CONFLICT, None, False))
    ch, co, cc, cv = _merge(*(np.concatenate(x) for x in zip(*parts)), n)

    # --- shock schedule over months 1..T-1
    shocks: list[Shock] = []
    if t_max > 1:
        months = np.arange(1, t_max)
        n_conf, n_flood = int(rng.integers(2, 4)), int(rng.integers(1, 3))
        order = rng.permutation(n_adm2)
        order = np.concatenate([order[~np.isin(order, base_conf)], order[np.isin(order, base_conf)]])
        conf_m = np.sort(rng.choice(months, n_conf, replace=len(months) < n_conf))
        conf_m[0] = min(conf_m[0], max(1, (t_max - 1) // 3))  # an early shock: the surge needs it
        flood_m = np.sort(rng.choice(months, n_flood, replace=len(months) < n_flood))
        for i, m in enumerate(conf_m):
            shocks.append(Shock(int(m), int(order[i % n_adm2]), CONFLICT))
        for i, m in enumerate(flood_m):
            shocks.append(Shock(int(m), int(order[(n_conf + i) % n_adm2]), DISASTER))
    last_conf = np.full(n_adm2, -99)
    last_conf[base_conf] = -6
    last_flood = np.full(n_adm2, -99)
    last_flood[base_flood] = -3
    first_conf = min((s.month for s in shocks if s.cause == CONFLICT), default=None)

    idps = np.zeros((t_max, n, 2), dtype=np.int64)
    ret_stock = np.zeros((t_max, n), dtype=np.int64)
    cohort_frames, events = [], []
    surge: tuple[int, int] | None = None

    def record(t: int) -> None:
        idps[t] = np.bincount(ch * 2 + cc, weights=cv, minlength=2 * n).round().astype(np.int64).reshape(n, 2)
        ret_stock[t] = returnees
        cohort_frames.append(pd.DataFrame({"t": t, "host": ch, "origin": co, "cause": cc, "value": cv}))

    record(0)
    for t in range(1, t_max):
        month_shocks = [s for s in shocks if s.month == t]
        followups = [s for s in shocks if s.month == t - 1 and s.cause == CONFLICT]
        for s in month_shocks:
            (last_conf if s.cause == CONFLICT else last_flood)[s.adm2] = t
        ev: list[tuple[np.ndarray, ...]] = []

        # 1. returns
        since_c, since_f = t - last_conf[adm2[co]], t - last_flood[adm2[co]]
        p_ret = np.where(
            cc == CONFLICT,
            np.where(since_c <= 2, 0.004, np.where(since_c <= 12, 0.025, 0.05)),
            np.where(since_f <= 1, 0.03, 0.18),
        )
        ret = rng.binomial(cv, p_ret)
        cv = cv - ret
        k = ret > 0
        ev.append((ch[k], co[k], cc[k], np.full(k.sum(), RETURN), ret[k]))  # host -> home
        returnees = returnees + np.bincount(co, weights=ret, minlength=n).round().astype(np.int64)

        # 2. secondary displacement (never to the IDPs' own origin: that would be a return)
        hit = np.zeros(n_adm2, dtype=bool)
        for s in month_shocks:
            if s.cause == CONFLICT:
                hit[s.adm2] = True
        moving = rng.binomial(cv, np.where(hit[adm2[ch]], 0.3, 0.01))
        k = np.flatnonzero(moving > 0)
        w = cw[ch[k]] * (cand[ch[k]] != co[k, None])
        w *= np.where(hit[adm2[cand[ch[k]]]], 0.05, 1.0)
        r, dest, cnt = _send(rng, moving[k], cand[ch[k]], w)
        sent = np.bincount(r, weights=cnt, minlength=len(k)).round().astype(np.int64)
        cv = cv.copy()
        cv[k] -= sent
        new_h, new_o, new_c, new_v = [ch, dest], [co, co[k][r]], [cc, cc[k][r]], [cv, cnt]
        ev.append((ch[k][r], dest, cc[k][r], np.full(len(r), SECONDARY), cnt))

        # 3. new displacement
        displaced_from = np.bincount(co, weights=cv, minlength=n) + np.bincount(
            new_o[1], weights=cnt, minlength=n
        )
        resident = pop - displaced_from.round().astype(np.int64)
        waves = [(s, (0.1, 0.35)) for s in month_shocks] + [(s, (0.02, 0.06)) for s in followups]
        for s, (lo, hi) in waves:
            mask = (adm2 == s.adm2) & active
            if s.cause == DISASTER:
                mask &= rng.random(n) < 0.6
                mask[np.flatnonzero((adm2 == s.adm2) & active)[:1]] = True
            o = np.flatnonzero(mask)
            cnt_o = rng.binomial(np.maximum(resident[o], 0), rng.uniform(lo, hi, len(o)))
            resident[o] -= cnt_o
            oo, dd, c, v = flee(o, cnt_o, s.cause, s.adm2 if s.cause == CONFLICT else None,
                                s.cause == DISASTER)
            new_h.append(dd), new_o.append(oo), new_c.append(c), new_v.append(v)
            ev.append((oo, dd, c, np.full(len(v), NEW), v))
        o = rng.choice(np.flatnonzero(active), int(rng.integers(1, 4)), replace=False)
        cnt_o = rng.binomial(np.maximum(resident[o], 0), rng.uniform(0.002, 0.015, len(o)))
        resident[o] -= cnt_o
        oo, dd, c, v = flee(o, cnt_o, CONFLICT, None, False)
        new_h.append(dd), new_o.append(oo), new_c.append(c), new_v.append(v)
        ev.append((oo, dd, c, np.full(len(v), NEW), v))

        # 4. the designed surge (a real twenty-fold jump) at the first conflict shock
        if t == first_conf:
            a = next(s.adm2 for s in month_shocks if s.cause == CONFLICT)
            prev = idps[t - 1].sum(axis=1)
            now = np.bincount(np.concatenate(new_h), weights=np.concatenate(new_v), minlength=n)
            ok = active & (adm2 != a) & (prev >= 10) & (prev <= 400)
            pool = np.flatnonzero(ok & (adm1 == adm1[np.flatnonzero(adm2 == a)[0]]))
            pool = pool if len(pool) else np.flatnonzero(ok)
            src = np.flatnonzero((adm2 == a) & active)
            if len(pool) and len(src):
                g = int(rng.choice(pool))
                o_star = int(src[np.argmax(resident[src])])
                need = int(21 * prev[g] - round(now[g]) + rng.integers(0, prev[g] + 1))
                if 0 < need <= resident[o_star]:
                    resident[o_star] -= need
                    new_h.append(np.array([g])), new_o.append(np.array([o_star]))
                    new_c.append(np.array([CONFLICT])), new_v.append(np.array([need]))
                    ev.append((np.array([o_star]), np.array([g]), np.array([CONFLICT]), np.array([NEW]),
                               np.array([need])))
                    surge = (t, g)
                elif need <= 0:
                    surge = (t, g)

        ch, co, cc, cv = _merge(
            np.concatenate(new_h), np.concatenate(new_o), np.concatenate(new_c),
            np.concatenate(new_v).astype(np.int64), n,
        )
        record(t)
        cols = [np.concatenate(x) for x in zip(*ev)]
        events.append(pd.DataFrame({"t": t, "origin": cols[0], "dest": cols[1], "cause": cols[2],
                                    "kind": cols[3], "value": cols[4]}))

    ev_df = (
        pd.concat(events, ignore_index=True)
        if events
        else pd.DataFrame({c: pd.Series(dtype="int64") for c in ("t", "origin", "dest", "cause", "kind", "value")})
    )
    ev_df = ev_df[ev_df["value"] > 0].astype("int64")
    ev_df = ev_df.groupby(["t", "origin", "dest", "cause", "kind"], as_index=False)["value"].sum()
    sim = Simulation(
        dates=list(dates), population=pop, hh_size=hh_size, quiet=quiet, idps=idps, returnees=ret_stock,
        cohorts=pd.concat(cohort_frames, ignore_index=True).astype("int64"), events=ev_df,
        shocks=shocks, surge=surge,
    )
    _check(sim)
    return sim


def location_flows(sim: Simulation) -> pd.DataFrame:
    """Per location, month and cause: ``new_displacement, arrivals, departures,
    secondary_displacement, returns`` (see :mod:`idpkit.testing.demo` for the definitions)."""
    e = sim.events
    n = sim.idps.shape[1]
    frames = []
    specs = [
        ("new_displacement", e["kind"] == NEW, "origin"),
        ("arrivals", e["kind"] != RETURN, "dest"),
        ("departures", e["kind"] != NEW, "origin"),
        ("secondary_displacement", e["kind"] == SECONDARY, "origin"),
        ("returns", e["kind"] == RETURN, "dest"),
    ]
    for name, mask, side in specs:
        g = e[mask].groupby(["t", side, "cause"], as_index=False)["value"].sum()
        frames.append(g.rename(columns={side: "loc"}).assign(flow=name))
    out = pd.concat(frames, ignore_index=True)
    assert out["loc"].between(0, n - 1).all()
    return out


def _check(sim: Simulation) -> None:
    """Assert the accounting identities the truth files promise (cheap, always on)."""
    fl = location_flows(sim)
    t_max, n, _ = sim.idps.shape
    for t in range(1, t_max):
        f = fl[fl["t"] == t]
        delta = np.zeros((n, 2), dtype=np.int64)
        for name, sign in (("arrivals", 1), ("departures", -1)):
            g = f[f["flow"] == name]
            np.add.at(delta, (g["loc"].to_numpy(), g["cause"].to_numpy()), sign * g["value"].to_numpy())
        assert np.array_equal(sim.idps[t] - sim.idps[t - 1], delta), f"IDP accounting broken at t={t}"
        g = f[f["flow"] == "returns"]
        rdelta = np.bincount(g["loc"], weights=g["value"], minlength=n).round().astype(np.int64)
        assert np.array_equal(sim.returnees[t] - sim.returnees[t - 1], rdelta), "returnee accounting broken"
    assert (sim.idps >= 0).all() and (sim.idps[:, sim.quiet] == 0).all()
    assert (sim.returnees[:, sim.quiet] == 0).all()
