"""Geography of the fictional country *Zedland* (ISO3 ``ZDL``, P-code prefix ``ZD``).

Why it exists: tests, the ``idpkit demo`` command and benchmarks need administrative units that behave
like a real Common Operational Dataset (COD) without shipping any real country's data. So this module
builds

* a three-level admin hierarchy with COD-style P-codes (``ZD01`` / ``ZD0101`` / ``ZD010101``: the ISO2
  code then two digits per level) and pronounceable, generated names that are unique within their
  parent, except that a few admin-3 names are deliberately repeated under *different* admin-2 units,
  as happens in real countries (so matching by name alone is ambiguous);
* polygons that really tile: the country quadrilateral (about 20-25E, 5-10N) is cut into a grid of
  jittered convex quadrilaterals for admin 1, each of those is cut again for admin 2, and again for
  admin 3. Cuts run between points on opposite edges of a convex quadrilateral, so every piece is a
  convex quadrilateral, the pieces never overlap, and children cover their parent exactly (shared
  vertices are computed by the same expression, so they are bit-identical);
* writers for the OCHA global P-code list format and for COD-AB-like GeoJSON.

Everything is deterministic given a :class:`numpy.random.Generator`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

COUNTRY_NAME = "Zedland"
ISO3 = "ZDL"
ISO2 = "ZD"
VALID_FROM = "2020-01-01"

# Country outline: a slightly irregular convex quadrilateral (bl, br, tr, tl) as (lon, lat).
COUNTRY_QUAD = np.array([[20.0, 5.2], [24.8, 5.0], [25.0, 9.9], [20.2, 10.0]])

_ONSETS = np.array(
    ["k", "l", "m", "n", "b", "d", "g", "t", "s", "z", "r", "f", "v", "y", "w", "kh", "ts", "nd",
     "mb", "sh", "h", "p"]
)
_VOWELS = np.array(["a", "e", "i", "o", "u", "a", "o", "ai", "ou", "é", "è", "ô"])
# Accented vowels are rare but present: real exports carry names like "Sémé" that break naive
# encodings, which is exactly what the cp1252 site files are there to exercise.
_VOWEL_P = np.array([0.22, 0.14, 0.14, 0.16, 0.1, 0.08, 0.06, 0.04, 0.04, 0.012, 0.004, 0.004])
_CODAS = np.array(["", "", "", "", "", "", "n", "r", "l", "m"])


def generate_names(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct pronounceable names (2-3 syllables), vectorised.

    Candidates are drawn in bulk and deduplicated in draw order, so the result depends only on the
    generator state.
    """
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        m = max(64, 3 * (n - len(out)))
        n_syl = rng.choice([2, 3], size=m, p=[0.6, 0.4])
        names = np.full(m, "", dtype=object)
        for s in range(3):
            syl = (
                _ONSETS[rng.integers(0, len(_ONSETS), m)].astype(object)
                + _VOWELS[rng.choice(len(_VOWELS), size=m, p=_VOWEL_P / _VOWEL_P.sum())].astype(object)
                + _CODAS[rng.integers(0, len(_CODAS), m)].astype(object)
            )
            names = np.where(n_syl > s, names + syl, names)
        for name in pd.unique(pd.Series(names)):
            cap = str(name)[:1].upper() + str(name)[1:]
            if 4 <= len(cap) <= 10 and cap not in seen:
                seen.add(cap)
                out.append(cap)
                if len(out) == n:
                    break
    return out


def _grid_layout(n: int) -> list[int]:
    """Cells per row for ``n`` cells in a near-square grid (e.g. 12 -> [4, 4, 4], 5 -> [3, 2])."""
    rows = max(1, int(round(np.sqrt(n))))
    base, extra = divmod(n, rows)
    return [base + (1 if i < extra else 0) for i in range(rows)]


def _jittered_fractions(rng: np.random.Generator, m: int, k: int, jitter: float = 0.25) -> np.ndarray:
    """``(m, k+1)`` increasing fractions from 0 to 1, interior points jittered by < half a step."""
    f = np.tile(np.linspace(0.0, 1.0, k + 1), (m, 1))
    if k > 1:
        f[:, 1:-1] += rng.uniform(-jitter, jitter, size=(m, k - 1)) / k
    f[:, 0], f[:, -1] = 0.0, 1.0
    return f


def _lerp(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> np.ndarray:
    # a*(1-f) + b*f is exact at f=0 and f=1, so corners of children equal corners of parents.
    return a * (1.0 - f)[..., None] + b * f[..., None]


def split_quads(quads: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Split each convex quad ``(M, 4, 2)`` (bl, br, tr, tl) into ``n`` convex quads.

    Returns ``(M, n, 4, 2)``: the cells of each quad numbered row by row from the south-west, which
    is how the P-codes are assigned.
    """
    m = quads.shape[0]
    layout = _grid_layout(n)
    bl, br, tr, tl = (quads[:, i] for i in range(4))
    fl = _jittered_fractions(rng, m, len(layout))  # along the west edge (bl -> tl)
    fr = _jittered_fractions(rng, m, len(layout))  # along the east edge (br -> tr)
    cells = []
    for j, k in enumerate(layout):
        rbl, rtl = _lerp(bl, tl, fl[:, j]), _lerp(bl, tl, fl[:, j + 1])
        rbr, rtr = _lerp(br, tr, fr[:, j]), _lerp(br, tr, fr[:, j + 1])
        fb = _jittered_fractions(rng, m, k)  # along the row's south edge
        ft = _jittered_fractions(rng, m, k)  # along the row's north edge
        for i in range(k):
            cells.append(
                np.stack(
                    [
                        _lerp(rbl, rbr, fb[:, i]),
                        _lerp(rbl, rbr, fb[:, i + 1]),
                        _lerp(rtl, rtr, ft[:, i + 1]),
                        _lerp(rtl, rtr, ft[:, i]),
                    ],
                    axis=1,
                )
            )
    return np.stack(cells, axis=1)


def points_in_quads(quads: np.ndarray, rng: np.random.Generator, margin: float = 0.15) -> np.ndarray:
    """One random point strictly inside each convex quad ``(K, 4, 2)``, as ``(K, 2)`` (lon, lat).

    Bilinear interpolation of a convex quadrilateral maps the unit square into it, so ``u, v`` away from
    the edges give interior points.
    """
    k = quads.shape[0]
    u = rng.uniform(margin, 1 - margin, k)
    v = rng.uniform(margin, 1 - margin, k)
    south = _lerp(quads[:, 0], quads[:, 1], u)
    north = _lerp(quads[:, 3], quads[:, 2], u)
    return _lerp(south, north, v)


@dataclass
class Geography:
    """Admin units of Zedland. ``units[level]`` has one row per unit, ordered by P-code.

    Columns: ``pcode, name, parent_pcode, adm1_pcode, adm1_name, adm2_pcode, adm2_name`` (ancestors
    as far as they exist) plus ``lon, lat`` (centroid of the quad). ``quads[level]`` is ``(n, 4, 2)``
    aligned with the rows of ``units[level]``.
    """

    units: dict[int, pd.DataFrame]
    quads: dict[int, np.ndarray]

    @property
    def adm3(self) -> pd.DataFrame:
        return self.units[3]


def build_geography(
    rng: np.random.Generator, n_adm1: int, n_adm2_per_adm1: int, n_adm3_per_adm2: int
) -> Geography:
    """Admin hierarchy, names and nested polygons (see the module docstring)."""
    if not (1 <= n_adm1 <= 99 and 1 <= n_adm2_per_adm1 <= 99 and 1 <= n_adm3_per_adm2 <= 99):
        raise ValueError("each admin level takes 1..99 units per parent (two-digit P-code parts)")
    counts = {1: n_adm1, 2: n_adm1 * n_adm2_per_adm1, 3: n_adm1 * n_adm2_per_adm1 * n_adm3_per_adm2}
    names = generate_names(rng, counts[1] + counts[2] + counts[3])
    quads = {1: split_quads(COUNTRY_QUAD[None], n_adm1, rng).reshape(-1, 4, 2)}
    quads[2] = split_quads(quads[1], n_adm2_per_adm1, rng).reshape(-1, 4, 2)
    quads[3] = split_quads(quads[2], n_adm3_per_adm2, rng).reshape(-1, 4, 2)

    per_parent = {1: n_adm1, 2: n_adm2_per_adm1, 3: n_adm3_per_adm2}
    units: dict[int, pd.DataFrame] = {}
    offset = 0
    parent_codes = np.array([ISO3])
    for level in (1, 2, 3):
        k = per_parent[level]
        suffix = np.tile(np.char.zfill(np.arange(1, k + 1).astype(str), 2), len(parent_codes))
        parents = np.repeat(parent_codes, k)
        prefix = np.full(len(parents), ISO2) if level == 1 else parents
        codes = np.char.add(prefix.astype(str), suffix)
        df = pd.DataFrame(
            {"pcode": codes, "name": names[offset : offset + counts[level]], "parent_pcode": parents}
        )
        offset += counts[level]
        centre = quads[level].mean(axis=1)
        df["lon"], df["lat"] = centre[:, 0], centre[:, 1]
        units[level] = df
        parent_codes = codes

    # A few admin-3 names repeated under a different admin 2 (never within the same parent).
    a3 = units[3]
    n_rep = int(len(a3) * 0.03) if counts[2] > 1 else 0
    if n_rep:
        perm = rng.permutation(len(a3))
        targets, sources = perm[:n_rep], perm[n_rep : 2 * n_rep]
        ok = a3["parent_pcode"].to_numpy()[targets] != a3["parent_pcode"].to_numpy()[sources]
        a3.loc[a3.index[targets[ok]], "name"] = a3["name"].to_numpy()[sources[ok]]

    # Ancestor columns, so callers never need to join.
    u1 = units[1].set_index("pcode")["name"]
    u2 = units[2]
    u2["adm1_pcode"] = u2["parent_pcode"]
    u2["adm1_name"] = u2["adm1_pcode"].map(u1)
    a3["adm2_pcode"] = a3["parent_pcode"]
    a3["adm2_name"] = a3["adm2_pcode"].map(u2.set_index("pcode")["name"])
    a3["adm1_pcode"] = a3["adm2_pcode"].str[:4]
    a3["adm1_name"] = a3["adm1_pcode"].map(u1)
    units[1]["adm1_pcode"], units[1]["adm1_name"] = units[1]["pcode"], units[1]["name"]
    u2["adm2_pcode"], u2["adm2_name"] = u2["pcode"], u2["name"]
    a3["adm3_pcode"], a3["adm3_name"] = a3["pcode"], a3["name"]
    return Geography(units=units, quads=quads)


def write_gazetteer_csv(units: dict[int, pd.DataFrame], path: Path) -> Path:
    """Write the units in OCHA's global P-code list format (header + HXL row, UTF-8 with BOM).

    The BOM is kept because OCHA's own file has one; readers must cope with it anyway.
    """
    frames = [
        pd.DataFrame(
            {
                "Location": ISO3,
                "Admin Level": level,
                "P-Code": df["pcode"],
                "Name": df["name"],
                "Parent P-Code": df["parent_pcode"],
                "Valid from date": VALID_FROM,
            }
        )
        for level, df in sorted(units.items())
    ]
    out = pd.concat(frames, ignore_index=True)
    hxl = pd.DataFrame(
        [["#country+code", "#geo+admin_level", "#adm+code", "#adm+name", "#adm+code+parent", "#date+start"]],
        columns=out.columns,
    )
    pd.concat([hxl, out.astype(str)], ignore_index=True).to_csv(
        path, index=False, encoding="utf-8-sig", lineterminator="\n"
    )
    return path


def write_boundaries(geo: Geography, out_dir: Path) -> dict[int, Path]:
    """One GeoJSON FeatureCollection per admin level, with COD-AB style properties.

    Properties: ``adm{N}_pcode``, ``adm{N}_name`` and the ancestors' ``adm{k}_pcode``/``adm{k}_name``
    (new COD-AB schema, ``adm0_pcode`` is the ISO2 code as in COD-AB), the older aliases
    ``admin{k}Pcode``/``admin{k}Name``, plus ``iso2``, ``iso3`` and ``validOn``. Admin 1 is written as
    MultiPolygon (as most COD-AB files do), lower levels as Polygon, so readers meet both.
    """
    paths: dict[int, Path] = {}
    for level, df in geo.units.items():
        features = []
        quads = np.round(geo.quads[level], 6)
        for i, row in enumerate(df.itertuples(index=False)):
            props: dict[str, object] = {
                "adm0_pcode": ISO2,
                "adm0_name": COUNTRY_NAME,
                "admin0Pcode": ISO2,
                "admin0Name": COUNTRY_NAME,
            }
            for k in range(1, level + 1):
                props[f"adm{k}_pcode"] = getattr(row, f"adm{k}_pcode")
                props[f"adm{k}_name"] = getattr(row, f"adm{k}_name")
            for k in range(1, level + 1):
                props[f"admin{k}Pcode"] = getattr(row, f"adm{k}_pcode")
                props[f"admin{k}Name"] = getattr(row, f"adm{k}_name")
            props.update({"iso2": ISO2, "iso3": ISO3, "validOn": VALID_FROM})
            ring = quads[i].tolist()
            ring.append(ring[0])  # counter-clockwise exterior ring (RFC 7946)
            geom = (
                {"type": "MultiPolygon", "coordinates": [[ring]]}
                if level == 1
                else {"type": "Polygon", "coordinates": [ring]}
            )
            features.append({"type": "Feature", "properties": props, "geometry": geom})
        path = out_dir / f"zdl_admbnda_adm{level}.geojson"
        path.write_text(
            json.dumps({"type": "FeatureCollection", "name": f"zdl_admbnda_adm{level}", "features": features},
                       ensure_ascii=False),
            encoding="utf-8",
        )
        paths[level] = path
    return paths


def large_hierarchy(n_adm1: int = 20, n_adm2_per_adm1: int = 50) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Admin 1 and admin 2 tables of the big Zedland used by the benchmark files.

    Built from a fixed internal seed, so the gazetteer and any observations file agree whatever seed
    the observations use. Columns: ``pcode, name, parent_pcode`` (admin 2 also ``adm1_pcode``).
    """
    rng = np.random.default_rng(20250131)
    names = generate_names(rng, n_adm1 + n_adm1 * n_adm2_per_adm1)
    a1_codes = np.char.add(ISO2, np.char.zfill(np.arange(1, n_adm1 + 1).astype(str), 2))
    a1 = pd.DataFrame({"pcode": a1_codes, "name": names[:n_adm1], "parent_pcode": ISO3})
    parents = np.repeat(a1_codes, n_adm2_per_adm1)
    suffix = np.tile(np.char.zfill(np.arange(1, n_adm2_per_adm1 + 1).astype(str), 2), n_adm1)
    a2 = pd.DataFrame(
        {"pcode": np.char.add(parents, suffix), "name": names[n_adm1:], "parent_pcode": parents}
    )
    a2["adm1_pcode"] = a2["parent_pcode"]
    return a1, a2
