"""Big synthetic files in the shape of a DTM API v3 extract, for benchmarks.

Why: ingestion, validation and warehouse loading must be measured on files of tens of millions of rows
without shipping such files. This writer streams them: each chunk is generated with numpy (row index
-> round, admin 2, reason, origin admin 1 by integer arithmetic, so there is no per-row Python code)
and written with ``pyarrow.csv``; memory stays at one chunk (peak RSS about 0.75 GB with the default
1M-row chunks, about 0.3 GB with 250k; 10M rows, 1.4 GB of CSV, take about 15 s on one core).

Row ``k`` (0-based) belongs to round ``k // P`` where ``P = n_adm2 * 2 * n_adm1`` (every admin 2 x
reason {Conflict, Natural disaster} x origin admin 1); reporting dates are month ends from 2000-01-31,
one per round. About ``bad_share`` of the rows are broken on purpose, one problem each: a negative
``numPresentIdpInd``, a non-numeric one (``approx 200``), an unknown ``admin2Pcode`` (``ZD00O0``:
letter O), or ``numberMales`` + ``numberFemales`` above the total. ``numberMales``/``numberFemales``
are empty on about 30% of rows, as in real extracts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from idpkit.testing.demo_geo import COUNTRY_NAME, ISO3, large_hierarchy, write_gazetteer_csv

LARGE_COLUMNS = (
    "id,operation,admin0Name,admin0Pcode,admin1Name,admin1Pcode,admin2Name,admin2Pcode,adminLevel,"
    "numPresentIdpInd,reportingDate,yearReportingDate,monthReportingDate,roundNumber,displacementReason,"
    "numberMales,numberFemales,idpOriginAdmin1Name,idpOriginAdmin1Pcode,assessmentType,operationStatus"
)
LARGE_HXL = (
    "#id+code,#operation+name,#country+name,#country+code,#adm1+name,#adm1+code,#adm2+name,#adm2+code,"
    "#adm+level,#affected+idps,#date+reported,#date+year+reported,#date+month+reported,#round+code,"
    "#cause+type,#affected+idps+m,#affected+idps+f,#adm1+name+origin,#adm1+code+origin,#assessment+type,"
    "#operation+status"
)
REASONS = ("Conflict", "Natural disaster")
BAD_PCODE = "ZD00O0"
OPERATION = f"Displacement in {COUNTRY_NAME}"


def write_large_gazetteer_csv(path: Path, *, n_adm1: int = 20, n_adm2_per_adm1: int = 50) -> Path:
    """OCHA-format P-code list (admin 1 and 2) matching :func:`write_large_observations_csv`."""
    a1, a2 = large_hierarchy(n_adm1, n_adm2_per_adm1)
    return write_gazetteer_csv({1: a1, 2: a2[["pcode", "name", "parent_pcode"]]}, Path(path))


def write_large_observations_csv(
    path: Path,
    n_rows: int,
    *,
    seed: int = 7,
    chunk_rows: int = 1_000_000,
    n_adm1: int = 20,
    n_adm2_per_adm1: int = 50,
    bad_share: float = 0.001,
) -> Path:
    """Stream ``n_rows`` data rows (plus header and HXL lines) of a DTM-API-v3-like extract to ``path``.

    Deterministic for a given ``seed`` and ``chunk_rows``. The admin hierarchy does not depend on
    ``seed`` (see :func:`idpkit.testing.demo_geo.large_hierarchy`).
    """
    path = Path(path)
    a1, a2 = large_hierarchy(n_adm1, n_adm2_per_adm1)
    a1_name, a1_code = pa.array(a1["name"]), pa.array(a1["pcode"])
    a2_name, a2_code = pa.array(a2["name"]), pa.array(a2["pcode"])
    a2_parent = a2["parent_pcode"].str[2:].astype(int).to_numpy() - 1  # admin 1 index of each admin 2
    reasons = pa.array(REASONS)
    n2 = len(a2)
    per_round = n2 * 2 * n_adm1
    rng = np.random.default_rng(seed)
    opts = pacsv.WriteOptions(include_header=False, quoting_style="none", batch_size=65_536)
    with open(path, "wb") as fh:
        fh.write((LARGE_COLUMNS + "\n" + LARGE_HXL + "\n").encode("utf-8"))
        writer = None
        for start in range(0, n_rows, chunk_rows):
            m = min(chunk_rows, n_rows - start)
            k = np.arange(start, start + m, dtype=np.int64)
            rnd, w = np.divmod(k, per_round)
            adm2, rest = np.divmod(w, 2 * n_adm1)
            reason, origin = np.divmod(rest, n_adm1)
            adm1 = a2_parent[adm2]
            r0 = int(rnd[0])
            month = np.datetime64("2000-01", "M") + np.arange(r0, int(rnd[-1]) + 1)  # rounds in chunk
            month_end = (month + 1).astype("datetime64[D]") - np.timedelta64(1, "D")
            local = pa.array(rnd - r0)
            date_str = pa.array([f"{d}T00:00:00" for d in month_end.astype(str)]).take(local)
            years = pa.array(month.astype("datetime64[Y]").astype(np.int64) + 1970).take(local)
            months = pa.array(month.astype(np.int64) % 12 + 1).take(local)
            total = np.rint(rng.lognormal(4.5, 1.4, m)).astype(np.int64) + 1
            males = rng.binomial(total, 0.48)
            females = total - males
            no_sex = rng.random(m) < 0.3
            bad = rng.random(m) < bad_share
            kind = rng.integers(0, 4, m)
            neg, nonnum, badcode, sexsum = (bad & (kind == i) for i in range(4))
            total = np.where(neg, -total, total)
            males = np.where(sexsum, total, males)
            females = np.where(sexsum, total // 2 + 1, females)
            no_sex &= ~sexsum
            value = pc.cast(pa.array(total), pa.string())
            if nonnum.any():
                value = pc.if_else(pa.array(nonnum), pa.scalar("approx 200"), value)
            code2 = a2_code.take(pa.array(adm2))
            if badcode.any():
                code2 = pc.if_else(pa.array(badcode), pa.scalar(BAD_PCODE), code2)
            table = pa.table({
                "id": pa.array(k + 1),
                "operation": pa.repeat(pa.scalar(OPERATION), m),
                "admin0Name": pa.repeat(pa.scalar(COUNTRY_NAME), m),
                "admin0Pcode": pa.repeat(pa.scalar(ISO3), m),
                "admin1Name": a1_name.take(pa.array(adm1)),
                "admin1Pcode": a1_code.take(pa.array(adm1)),
                "admin2Name": a2_name.take(pa.array(adm2)),
                "admin2Pcode": code2,
                "adminLevel": pa.repeat(pa.scalar(2, pa.int8()), m),
                "numPresentIdpInd": value,
                "reportingDate": date_str,
                "yearReportingDate": years,
                "monthReportingDate": months,
                "roundNumber": pa.array(rnd + 1),
                "displacementReason": reasons.take(pa.array(reason)),
                "numberMales": pa.array(males, mask=no_sex),
                "numberFemales": pa.array(females, mask=no_sex),
                "idpOriginAdmin1Name": a1_name.take(pa.array(origin)),
                "idpOriginAdmin1Pcode": a1_code.take(pa.array(origin)),
                "assessmentType": pa.repeat(pa.scalar("BA"), m),
                "operationStatus": pa.repeat(pa.scalar("Active"), m),
            })
            if writer is None:
                writer = pacsv.CSVWriter(fh, table.schema, write_options=opts)
            writer.write_table(table)
        if writer is not None:
            writer.close()
    return path
