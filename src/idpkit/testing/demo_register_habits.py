"""A second register generator, with another organisation's habits, for deduplication (issue 19).

Why a second generator: :mod:`idpkit.testing.demo_register` was written beside the matching model,
and the model learnt its habits (a new household id for every registration, names always written
first / father / family, one phone region, a date of birth or a year). On a register written by
other hands pairwise F1 fell to 0.77. This generator writes what that register showed, so the
model is measured on habits it was not built around:

* **Reused household ids.** An organisation that registers a family again in a later round keeps
  its household id (a new ``registration_date``); the other re-registrations come from another
  organisation with its own numbering.
* **Name layouts per organisation.** ``first / father / grandfather`` (no family name),
  ``first / father / family``, all four, or one ``full_name`` cell ("first father grandfather").
  Per record, the given and last name are written in swapped order, the grandfather's name is
  dropped, or the father's name is written after the grandfather's; spellings vary
  (transliterations, typos, Arabic script for some organisations).
* **People move.** Some people are registered again alone (a household of one) or inside another
  household's registration.
* **Mixed phone countries.** Households live in Somalia, Nigeria or South Sudan (+252, +234,
  +211); numbers are written ``+CC…``, ``00CC…``, bare ``CC…`` or in local form (``0…`` or the bare
  national number), local forms with a per-record ``phone_region`` most of the time.
* **Ages instead of dates.** One record in five has no date of birth but an age at its
  ``registration_date``; some dates are a year only or have day and month swapped; ages are
  sometimes off by one.
* **Namesakes.** In one site, people of different households share an identical three-part name
  (different ages and dates of birth; sometimes written in Arabic script).

Ground truth: ``truth`` has ``record_id, person_id, household_id``. Deterministic for a seed (one
:class:`numpy.random.Generator`); vectorised with numpy except string formatting over records.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from idpkit.testing.demo_register import (FAMILY, FEMALE_IDX, FIRST, MALE_IDX, Register, _draw,
                                          _typo, _variant)

COLUMNS = ["record_id", "household_ref", "organisation", "registration_date", "site_id",
           "area_pcode", "relationship", "first_name", "father_name", "grandfather_name",
           "family_name", "full_name", "sex", "date_of_birth", "age", "phone", "phone_region",
           "id_number"]

COUNTRIES = [("SO", "252", ("61", "62", "65", "68", "77", "90"), 9, 0.5),
             ("NG", "234", ("803", "806", "813", "703", "905", "810"), 10, 0.25),
             ("SS", "211", ("91", "92", "95", "97", "98"), 9, 0.25)]
"""ISO-2, calling code, mobile prefixes, national number length, share of households."""

LAYOUTS = ("three", "family", "four", "full")
"""Which name columns an organisation writes: first/father/grandfather; first/father/family; all
four; one ``full_name`` cell (first father grandfather)."""

# name, weight, name layout, share in Arabic script, phone format habit, ref prefix, writes region
ORGANISATIONS = [("Somali Community Aid", 0.35, "three", 0.08, 0, "SCA", 0.9),
                 ("Sahel Relief", 0.25, "family", 0.0, 3, "SRF", 0.8),
                 ("Upper Nile Care", 0.2, "full", 0.15, 4, "UNC", 0.7),
                 ("Crossroads Aid", 0.2, "four", 0.05, 2, "XA", 0.5)]
N_PHONE_FORMATS = 6  # +CC, 00CC, bare CC, 0 + national, national, "+CC nn nnn ..." with spaces

HOUSEHOLD_SIZE_P = np.array([0.08, 0.1, 0.13, 0.15, 0.15, 0.13, 0.1, 0.08, 0.05, 0.03])
P_SAME_ORG_ROUND = 0.45  # a re-registration is the same organisation's later round (id reused)
P_THIRD = 0.15
P_ALONE, P_ELSEWHERE = 0.03, 0.02  # people registered again alone / inside another household
P_NAMESAKE = 0.04  # people given the three-part name of someone in another household, same site
P_LEFT_OUT = 0.1
P_SWAP_ORDER, P_DROP_GF, P_FATHER_LAST = 0.08, 0.15, 0.08
P_TYPO, P_TRANSLIT = 0.05, 0.12
P_NO_DOB, P_YEAR_ONLY, P_DAY_MONTH, P_AGE_OFF = 0.2, 0.08, 0.03, 0.1
P_NO_PHONE, P_OTHER_FORMAT, P_ID_WRITTEN = 0.1, 0.3, 0.7


def _phone_text(cc: str, nsn: str, fmt: int) -> str:
    return [f"+{cc}{nsn}", f"00{cc}{nsn}", f"{cc}{nsn}", f"0{nsn}", nsn,
            f"+{cc} {nsn[:2]} {nsn[2:5]} {nsn[5:]}"][fmt]


def generate_habits_register(n_records: int, *, seed: int = 1,
                             duplicate_share: float = 0.35) -> Register:
    """About ``n_records`` records (exactly that many: whole registrations, the last cut short)."""
    if n_records < 1:
        raise ValueError("need n_records >= 1")
    rng = np.random.default_rng(seed)
    mean = float(HOUSEHOLD_SIZE_P @ np.arange(1, 11))
    H = int(n_records / (mean * (1 + duplicate_share * (1 + P_THIRD)) * 0.8)) + 20

    # households: country, area, site
    cw = np.array([c[4] for c in COUNTRIES])
    country = rng.choice(len(COUNTRIES), size=H, p=cw / cw.sum())
    area = country * 3 + rng.integers(0, 3, H)
    site = area * 4 + rng.integers(0, 4, H)
    size = rng.choice(np.arange(1, 11), size=H, p=HOUSEHOLD_SIZE_P / HOUSEHOLD_SIZE_P.sum())
    head_male = rng.random(H) < np.where(size == 1, 0.55, 0.75)
    day0 = np.datetime64("2023-01-01").astype(np.int64) + rng.integers(0, 600, H)

    # people: head (k=0), spouse (k=1, often), children
    h = np.repeat(np.arange(H), size)
    k = np.arange(len(h)) - np.repeat(np.cumsum(size) - size, size)
    P = len(h)
    spouse = (k == 1) & (rng.random(P) < 0.8)
    child = (k >= 1) & ~spouse
    male = rng.random(P) < 0.5
    male[k == 0] = head_male[h[k == 0]]
    male[spouse] = ~head_male[h[spouse]]
    head_age = np.clip(rng.normal(38, 11, H), 18, 80)
    age = np.where(k == 0, head_age[h], np.where(spouse, np.clip(head_age[h] - 4, 16, 90),
                                                 rng.uniform(0, np.clip(head_age[h] - 16, 1, 30))))
    dob = day0[h] - (age * 365.25).astype(np.int64) - rng.integers(0, 365, P)
    first = np.where(male, _draw(rng, MALE_IDX, FIRST.weights, P),
                     _draw(rng, FEMALE_IDX, FIRST.weights, P))
    head_first = first[np.cumsum(size) - size]
    head_father = _draw(rng, MALE_IDX, FIRST.weights, H)
    head_gf = _draw(rng, MALE_IDX, FIRST.weights, H)
    father = _draw(rng, MALE_IDX, FIRST.weights, P)
    gfather = _draw(rng, MALE_IDX, FIRST.weights, P)
    kid_father = np.where(head_male, head_first, _draw(rng, MALE_IDX, FIRST.weights, H))
    kid_gf = np.where(head_male, head_father, _draw(rng, MALE_IDX, FIRST.weights, H))
    father[k == 0], gfather[k == 0] = head_father[h[k == 0]], head_gf[h[k == 0]]
    father[child], gfather[child] = kid_father[h[child]], kid_gf[h[child]]
    family = rng.choice(len(FAMILY.canon), size=H, p=FAMILY.weights)[h]
    own = spouse & (rng.random(P) < 0.5)
    family[own] = rng.choice(len(FAMILY.canon), size=int(own.sum()), p=FAMILY.weights)

    # namesakes: a person takes the whole name of someone in another household of the same site
    order = np.argsort(site[h], kind="stable")
    nxt = np.roll(order, -7)  # a person a few rows on, in the same site most of the time
    pick = (rng.random(P) < P_NAMESAKE) & (site[h[order]] == site[h[nxt]]) & (h[order] != h[nxt])
    src, dst = order[pick], nxt[pick]
    dst_ok = np.abs(age[src] - age[dst]) >= 3
    src, dst = src[dst_ok], dst[dst_ok]
    for arr in (first, father, gfather, family, male):
        arr[dst] = arr[src]

    phone_nsn = np.empty(P, dtype=object)
    for c, (_, _, prefixes, length, _) in enumerate(COUNTRIES):
        sel = np.flatnonzero(country[h] == c)
        pre = np.array(prefixes, dtype=object)[rng.integers(0, len(prefixes), len(sel))]
        digits = rng.integers(0, 10, (len(sel), length))
        phone_nsn[sel] = [p_ + "".join(map(str, d[len(p_):])) for p_, d in
                          zip(pre.tolist(), digits.tolist(), strict=True)]
    head_row = np.cumsum(size) - size
    shares = (k > 0) & (rng.random(P) < 0.6)
    phone_nsn[shares] = phone_nsn[head_row[h[shares]]]
    has_phone = rng.random(P) < np.where(age >= 15, 0.9, 0.3)
    phone_nsn[~has_phone & ~shares] = None
    id_number = np.where((age >= 18) & (rng.random(P) < 0.45),
                         rng.integers(10**8, 10**9, P).astype(str), None).astype(object)

    # registration events: (household, org, date, ref); then the people listed in each
    ow = np.array([o[1] for o in ORGANISATIONS])
    org0 = rng.choice(len(ORGANISATIONS), size=H, p=ow / ow.sum())
    u = rng.random(H)
    n_regs = 1 + (u < duplicate_share) + ((u < duplicate_share) & (rng.random(H) < P_THIRD))
    ev_h = np.repeat(np.arange(H), n_regs)
    ev_r = np.arange(len(ev_h)) - np.repeat(np.cumsum(n_regs) - n_regs, n_regs)
    E = len(ev_h)
    same = (ev_r > 0) & (rng.random(E) < P_SAME_ORG_ROUND)
    other = (org0[ev_h] + rng.integers(1, len(ORGANISATIONS), E)) % len(ORGANISATIONS)
    ev_org = np.where(ev_r == 0, org0[ev_h], np.where(same, org0[ev_h], other))
    ev_day = day0[ev_h] + np.where(ev_r == 0, 0, np.where(same, rng.integers(60, 400, E),
                                                          rng.integers(0, 400, E)))
    ev_ref_key = np.where(same | (ev_r == 0), ev_h, H + np.arange(E))  # a reused id shares a key
    rec_ev = np.repeat(np.arange(E), size[ev_h])
    rec_p = np.repeat(head_row[ev_h], size[ev_h]) + (
        np.arange(len(rec_ev)) - np.repeat(np.cumsum(size[ev_h]) - size[ev_h], size[ev_h]))
    left = (ev_r[rec_ev] > 0) & (k[rec_p] > 0) & (rng.random(len(rec_ev)) < P_LEFT_OUT)
    rec_ev, rec_p = rec_ev[~left], rec_p[~left]
    # people registered again alone, or inside another household's registration
    movers = np.flatnonzero((age >= 12) & (rng.random(P) < P_ALONE + P_ELSEWHERE))
    alone = rng.random(len(movers)) < P_ALONE / (P_ALONE + P_ELSEWHERE)
    m_alone, m_else = movers[alone], movers[~alone]
    new_ev = np.arange(E, E + len(m_alone))
    host = rng.integers(0, E, len(m_else))
    host = np.where(ev_h[host] == h[m_else], (host + 1) % E, host)
    ev_h = np.concatenate([ev_h, h[m_alone]])
    ev_org = np.concatenate([ev_org, rng.choice(len(ORGANISATIONS), len(m_alone), p=ow / ow.sum())])
    ev_day = np.concatenate([ev_day, day0[h[m_alone]] + rng.integers(10, 400, len(m_alone))])
    ev_ref_key = np.concatenate([ev_ref_key, H + E + np.arange(len(m_alone))])
    rec_ev = np.concatenate([rec_ev, new_ev, host])
    rec_p = np.concatenate([rec_p, m_alone, m_else])

    # records in registration order, exactly n_records (the last registration cut short)
    o = np.lexsort((k[rec_p], rec_ev, ev_day[rec_ev]))
    rec_ev, rec_p = rec_ev[o][:n_records], rec_p[o][:n_records]
    n = len(rec_ev)
    if n < n_records:  # not enough households drawn (tiny registers): more
        raise AssertionError(f"generated {n} < {n_records} records")
    org = ev_org[rec_ev]
    p = rec_p

    # names as written
    arabic = rng.random(n) < np.array([x[3] for x in ORGANISATIONS])[org]

    def written(table, c: np.ndarray) -> np.ndarray:
        v = _variant(rng.random(n), table.lat_n[c])
        tr = rng.random(n) < P_TRANSLIT
        v[tr] = (v[tr] + 1 + (rng.random(int(tr.sum())) * (table.lat_n[c[tr]] - 1))
                 .astype(np.int64)) % table.lat_n[c[tr]]
        s = table.forms[np.where(arabic, table.ar_idx[c], table.lat_start[c] + v)].copy()
        ty = np.flatnonzero(rng.random(n) < P_TYPO)
        s[ty] = [_typo(x, int(a), float(b), float(d)) for x, a, b, d in
                 zip(s[ty].tolist(), rng.integers(0, 4, len(ty)).tolist(),
                     rng.random(len(ty)).tolist(), rng.random(len(ty)).tolist(), strict=True)]
        return s

    parts = {"first": written(FIRST, first[p]), "father": written(FIRST, father[p]),
             "gf": written(FIRST, gfather[p]), "family": written(FAMILY, family[p])}
    layout = np.array([LAYOUTS.index(x[2]) for x in ORGANISATIONS])[org]
    none = np.full(n, None, dtype=object)
    fam_col = np.where(layout >= 1, parts["family"], none)
    fam_col[layout == 3] = None
    gf_col = np.where(layout != 1, parts["gf"], none)
    father_col = parts["father"].copy()
    first_col = parts["first"].copy()
    drop_gf = (layout != 1) & (rng.random(n) < P_DROP_GF)
    gf_col[drop_gf] = None
    father_last = ~drop_gf & (rng.random(n) < P_FATHER_LAST)
    fl = father_last & (layout != 1)  # father written after the grandfather
    father_col[fl], gf_col[fl] = gf_col[fl], father_col[fl]
    fl1 = father_last & (layout == 1)  # ... or after the family name
    father_col[fl1], fam_col[fl1] = fam_col[fl1], father_col[fl1]
    swap = rng.random(n) < P_SWAP_ORDER  # given and last name swapped
    s3 = swap & (layout == 0)
    first_col[s3], gf_col[s3] = gf_col[s3], first_col[s3]
    s12 = swap & ((layout == 1) | (layout == 2))
    first_col[s12], fam_col[s12] = fam_col[s12], first_col[s12]
    full = np.full(n, None, dtype=object)
    is_full = layout == 3
    tokens = [first_col, father_col, gf_col]
    full[is_full] = [" ".join(t for t in ts if t) for ts in
                     zip(*(t[is_full].tolist() for t in tokens), strict=True)]
    for col in (first_col, father_col, gf_col):
        col[is_full] = None

    # dates of birth and ages at registration
    reg_day = ev_day[rec_ev]
    true_age = np.maximum((reg_day - dob[p]) / 365.25, 0).astype(np.int64)
    age_w = true_age + np.where(rng.random(n) < P_AGE_OFF, rng.choice([-1, 1], n), 0)
    age_w = np.maximum(age_w, 0)
    d = dob[p].astype("M8[D]")
    dmy = np.where(rng.random(n) < P_DAY_MONTH, 1, 0)
    dob_s = np.asarray(np.datetime_as_string(d), dtype=object)
    y, m, dd = (np.array([x[:4] for x in dob_s.tolist()], dtype=object),
                np.array([x[5:7] for x in dob_s.tolist()], dtype=object),
                np.array([x[8:] for x in dob_s.tolist()], dtype=object))
    sw = (dmy == 1) & (dd.astype(int) <= 12) & (dd != m)
    dob_s[sw] = y[sw] + "-" + dd[sw] + "-" + m[sw]
    year_only = rng.random(n) < P_YEAR_ONLY
    dob_s[year_only] = y[year_only]
    dob_s[rng.random(n) < P_NO_DOB] = None

    # phones
    nsn = phone_nsn[p].copy()
    nsn[rng.random(n) < P_NO_PHONE] = None
    fmt = np.where(rng.random(n) < P_OTHER_FORMAT, rng.integers(0, N_PHONE_FORMATS, n),
                   np.array([x[4] for x in ORGANISATIONS])[org])
    cc = np.array([c[1] for c in COUNTRIES], dtype=object)[country[h[p]]]
    has = np.flatnonzero(pd.notna(nsn))
    phone_s = np.full(n, None, dtype=object)
    phone_s[has] = [_phone_text(c_, s_, int(f_)) for c_, s_, f_ in
                    zip(cc[has].tolist(), nsn[has].tolist(), fmt[has].tolist(), strict=True)]
    iso = np.array([c[0] for c in COUNTRIES], dtype=object)[country[h[p]]]
    region = np.where(rng.random(n) < np.array([x[6] for x in ORGANISATIONS])[org], iso, None)

    # identifiers
    refs = np.array([x[5] for x in ORGANISATIONS], dtype=object)
    ref_key = ev_ref_key[rec_ev]
    ref_org = ev_org[rec_ev]
    # a reused id keeps the first registration's organisation prefix
    first_org = pd.Series(ref_org).groupby(ref_key).transform("first").to_numpy()
    household_ref = np.char.add(refs[first_org].astype(str),
                                np.char.zfill((ref_key + 1000).astype(str), 7)).astype(object)
    rel = np.where(k[p] == 0, "head", np.where(spouse[p], "spouse",
                                               np.where(male[p], "son", "daughter"))).astype(object)
    guest = ev_h[rec_ev] != h[p]
    rel[guest] = "other"
    rel[np.isin(rec_ev, new_ev)] = "head"
    codes = np.array([f"{c[0]}{a + 1:02d}" for c in COUNTRIES for a in range(3)], dtype=object)
    ev_site = site[ev_h]
    width = max(7, len(str(n)))
    records = pd.DataFrame({
        "record_id": [f"X{i:0{width}d}" for i in range(1, n + 1)],
        "household_ref": household_ref, "organisation": np.array(
            [x[0] for x in ORGANISATIONS], dtype=object)[org],
        "registration_date": np.asarray(np.datetime_as_string(reg_day.astype("M8[D]")),
                                        dtype=object),
        "site_id": np.char.add(codes[ev_site[rec_ev] // 4].astype(str),
                               np.char.add("-S", (ev_site[rec_ev] % 4 + 1).astype(str))
                               ).astype(object),
        "area_pcode": codes[ev_site[rec_ev] // 4], "relationship": rel,
        "first_name": first_col, "father_name": father_col, "grandfather_name": gf_col,
        "family_name": fam_col, "full_name": full,
        "sex": np.where(rng.random(n) < 0.01, None, np.where(male[p], "M", "F")).astype(object),
        "date_of_birth": dob_s, "age": age_w, "phone": phone_s, "phone_region": region,
        "id_number": np.where(rng.random(n) < P_ID_WRITTEN, id_number[p], None),
    }, columns=COLUMNS)
    truth = pd.DataFrame({"record_id": records.record_id,
                          "person_id": np.char.add("P", p.astype(str)).astype(object),
                          "household_id": np.char.add("H", h[p].astype(str)).astype(object)})
    return Register(records, truth)
