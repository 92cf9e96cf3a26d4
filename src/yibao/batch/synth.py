"""Synthetic populations for benchmarks, demos and tests (`yibao synth`) — deterministic by seed.

Vectorised with NumPy and written as Parquet in the layout of :mod:`yibao.batch.tables`:

* persons hold a valid 18-digit resident ID (R-ID-001) with their home region as address code;
* each person has 1–3 relations over the horizon (default 2021-01..2025-12, 2 on average), never
  overlapping one another: a scheme mix of 310 (unit or flexible 1103) and 390, gaps between them,
  moves between regions, unpaid months, open-ended current 310 relations (E-05);
* employee relations have one contribution line per paid month (费款所属期); resident relations two
  lines per benefit year (the individual contribution and the fiscal subsidy);
* **planted duplicates** (rate ``dup_rate`` of persons): a second relation overlapping the first
  one, in another region, within or across schemes (R-DUP-001). Half of them sit on a *second
  person record* whose document is another spelling of the same number — full-width digits,
  spaces, hyphens, lower-case ``x``, the 15-digit legacy form (E-12) — so they are found only after
  normalisation and merging (R-ID-005);
* **decoys** (rate ``decoy_rate``): overlaps that are *not* duplicates — a suspended relation
  (E-05 / R-SPEC-001), a terminated one, a status-1 relation never paid, a 330 rider;
* ``truth.parquet`` lists the planted pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from yibao.batch.tables import AMOUNT, SCHEMAS, write

REGIONS = (
    "110100", "120100", "130100", "140100", "140200", "150100", "210100", "210200", "220100", "230100",
    "310100", "320100", "330100", "340100", "350100", "350200", "360100", "370100", "410100", "420100",
    "430100", "440100", "440300", "450100", "460100", "500100", "510100", "510500", "520100", "530100",
    "610100", "620100", "630100", "640100", "650100",
)
_W = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
_EPOCH = np.datetime64("1970-01-01", "D")
_BIRTH_DAYS = 60 * 365  # births 1945-01-01 … 2004-12
RESIDENT_INDIVIDUAL = {2020: 280, 2021: 320, 2022: 350, 2023: 380, 2024: 400, 2025: 400, 2026: 400}
RESIDENT_SUBSIDY = {2020: 550, 2021: 580, 2022: 610, 2023: 640, 2024: 670, 2025: 700, 2026: 724}


@dataclass(frozen=True)
class SynthSummary:
    persons: int
    person_records: int
    relations: int
    contributions: int
    planted: int
    decoys: int
    folder: Path


def _days(year: np.ndarray, month: np.ndarray, day: np.ndarray | int = 1) -> np.ndarray:
    """Epoch days of (year, month, day) arrays."""
    ym = (year - 1970) * 12 + (month - 1)
    return (ym.astype("datetime64[M]").astype("datetime64[D]") - _EPOCH).astype(np.int64) + (np.asarray(day) - 1)


def _month_first(index: np.ndarray, y0: int) -> np.ndarray:
    return _days(y0 + index // 12, index % 12 + 1)


def _month_last(index: np.ndarray, y0: int) -> np.ndarray:
    return _month_first(index + 1, y0) - 1


def _decimal(fen: np.ndarray) -> pa.Array:
    """int64 fen → decimal128(14, 2) without Python objects (unscaled little-endian 128-bit)."""
    fen = np.ascontiguousarray(fen, dtype=np.int64)
    words = np.empty((len(fen), 2), dtype=np.int64)
    words[:, 0] = fen
    words[:, 1] = np.where(fen < 0, -1, 0)
    return pa.Array.from_buffers(AMOUNT, len(fen), [None, pa.py_buffer(words.tobytes())])


def resident_ids(home: np.ndarray, birth: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """Valid 18-digit IDs (R-ID-001) as an array of ASCII bytes (n, 18)."""
    n = len(home)
    digits = np.zeros((n, 17), dtype=np.int64)
    prefix = np.array([[int(c) for c in r] for r in REGIONS], dtype=np.int64)[home]
    digits[:, :6] = prefix
    b = birth.astype("datetime64[D]")
    years = b.astype("datetime64[Y]").astype(np.int64) + 1970
    months = (b.astype("datetime64[M]").astype(np.int64) % 12) + 1
    days = (b - b.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    for i, (value, width) in enumerate(((years, 4), (months, 2), (days, 2))):
        offset = 6 + (0 if i == 0 else 4 if i == 1 else 6)
        for k in range(width):
            digits[:, offset + k] = (value // 10 ** (width - 1 - k)) % 10
    digits[:, 14], digits[:, 15], digits[:, 16] = seq // 100, (seq // 10) % 10, seq % 10
    check = _CHECK[(digits * _W).sum(axis=1) % 11]
    out = np.empty((n, 18), dtype=np.uint8)
    out[:, :17] = digits + ord("0")
    out[:, 17] = check
    return out


def _as_strings(ascii_rows: np.ndarray) -> pa.Array:
    flat = np.ascontiguousarray(ascii_rows).view(f"S{ascii_rows.shape[1]}").ravel()
    return pa.array(flat, type=pa.binary(ascii_rows.shape[1])).cast(pa.string())


_FULL_WIDTH = {c: chr(0xFF10 + int(c)) for c in "0123456789"}


def messy_spelling(number: str, how: int) -> str:
    """Another way a clerk may have typed ``number`` (E-12); ``how`` picks the variant."""
    if how == 0:  # full-width digits, full-width ｘ
        return "".join(_FULL_WIDTH.get(c, "ｘ" if c == "X" else c) for c in number)
    if how == 1:  # spaces, ideographic space
        return f" {number[:6]} {number[6:14]}\u3000{number[14:]} "
    if how == 2:  # hyphens and a lower-case x
        return f"{number[:6]}-{number[6:14]}-{number[14:]}".lower()
    if how == 3 and number[6:8] == "19":  # the 15-digit legacy number (R-ID-002)
        return number[:6] + number[8:17]
    return number.lower() + " "


def synthesize(
    folder: Path,
    *,
    relations: int = 100_000,
    seed: int = 1,
    dup_rate: float = 0.005,
    decoy_rate: float = 0.005,
    first_year: int = 2021,
    years: int = 5,
    progress: Callable[[str, int], None] | None = None,
) -> SynthSummary:
    """Write a synthetic population of ``relations`` relations (exactly, unless too few to plant) to ``folder`` (Parquet)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    step = progress or (lambda _label, _n: None)
    rng = np.random.default_rng(seed)
    horizon = 12 * years
    # 2 relations a person on average, plus one for each planted duplicate and decoy
    n = max(1, int(relations / (2.0 + dup_rate + decoy_rate)))
    n_dup, n_decoy = int(round(dup_rate * n)), int(round(decoy_rate * n))

    # --- persons and documents ------------------------------------------------------------
    psn_no = np.arange(1, n + 1, dtype=np.int64)
    # unique (region, birth date, sequence) triples: one person, one number (no accidental merges)
    space = len(REGIONS) * _BIRTH_DAYS * 1000
    codes = np.unique(rng.integers(0, space, size=int(n * 1.05) + 16))
    while len(codes) < n:
        codes = np.unique(np.concatenate([codes, rng.integers(0, space, size=n)]))
    codes = rng.permutation(codes)[:n]
    home = codes // (_BIRTH_DAYS * 1000)
    birth = np.datetime64("1945-01-01") + ((codes // 1000) % _BIRTH_DAYS).astype("timedelta64[D]")
    ids = resident_ids(home, birth, codes % 1000)
    step("people", n)

    # --- relation segments: k non-overlapping month ranges per person ---------------------------
    k = rng.choice(np.array([1, 2, 3]), p=[0.25, 0.5, 0.25], size=n)
    # exactly ``relations`` in all where the draw allows: move the sum by ±1 on random people
    short = relations - n_dup - n_decoy - int(k.sum())
    movable = np.flatnonzero(k < 3 if short > 0 else k > 1)
    k[rng.permutation(movable)[: min(abs(short), len(movable))]] += 1 if short > 0 else -1
    span = horizon - 2 * k + 1
    vals = np.floor(rng.random((n, 6)) * span[:, None]).astype(np.int64)
    vals[np.arange(6)[None, :] >= 2 * k[:, None]] = 10 ** 6
    vals.sort(axis=1)
    vals += np.arange(6)[None, :]
    seg_person = np.repeat(np.arange(n), k)
    seg_j = np.arange(len(seg_person)) - np.repeat(np.cumsum(k) - k, k)
    s = vals[seg_person, 2 * seg_j]
    e = vals[seg_person, 2 * seg_j + 1]
    r = len(seg_person)
    employee = rng.random(r) < 0.55
    flexible = employee & (rng.random(r) < 0.15)
    moved = (seg_j > 0) & (rng.random(r) < 0.25)
    region = home[seg_person].copy()
    region[moved] = rng.integers(0, len(REGIONS), size=int(moved.sum()))
    last = seg_j == k[seg_person] - 1
    open_end = employee & last & (e == horizon - 1) & (rng.random(r) < 0.7)
    age = (np.datetime64(f"{first_year}-01-01") - birth[seg_person]).astype(np.int64) // 365
    first_index = np.zeros(n, dtype=np.int64)
    first_index[:] = np.cumsum(k) - k  # each person's first relation
    step("segments", r)

    # --- planted duplicates and decoys -------------------------------------------------------
    chosen = rng.permutation(n)
    dup_people, decoy_people = chosen[:n_dup], chosen[n_dup : n_dup + n_decoy]

    def extra(people: np.ndarray, flip_p: float) -> dict[str, np.ndarray]:
        x = first_index[people]
        xs, xe = s[x], e[x]
        ys = xs + np.floor(rng.random(len(people)) * (xe - xs + 1)).astype(np.int64)
        flip = rng.random(len(people)) < flip_p
        y_emp = np.where(flip, ~employee[x], employee[x])
        y_region = (region[x] + 1 + rng.integers(0, len(REGIONS) - 1, size=len(people))) % len(REGIONS)
        return {"x": x, "s": ys, "e": xe, "employee": y_emp, "region": y_region, "person": people}

    plant = extra(dup_people, 0.5)
    decoy = extra(decoy_people, 0.5)
    decoy_kind = rng.integers(0, 4, size=n_decoy)  # 0 suspended, 1 terminated, 2 never paid, 3 rider 330
    decoy_kind[(decoy_kind == 3) & ~decoy["employee"]] = 2  # a rider needs an employee base
    split = rng.random(n_dup) < 0.5
    split_psn = n + 1 + np.arange(int(split.sum()), dtype=np.int64)

    # --- assemble relations -------------------------------------------------------------------
    all_person = np.concatenate([seg_person, plant["person"], decoy["person"]])
    all_s = np.concatenate([s, plant["s"], decoy["s"]])
    all_e = np.concatenate([e, plant["e"], decoy["e"]])
    all_emp = np.concatenate([employee, plant["employee"], decoy["employee"]])
    all_flex = np.concatenate([flexible, plant["employee"] & (rng.random(n_dup) < 0.3), np.zeros(n_decoy, bool)])
    all_region = np.concatenate([region, plant["region"], decoy["region"]])
    all_open = np.concatenate([open_end, np.zeros(n_dup + n_decoy, bool)])
    all_age = np.concatenate([age, age[plant["x"]], age[decoy["x"]]])
    rider = np.concatenate([np.zeros(r + n_dup, bool), (decoy_kind == 3) & decoy["employee"]])
    total = len(all_person)
    relation_id = np.arange(1, total + 1, dtype=np.int64)
    owner = psn_no[all_person].copy()
    plant_rows = r + np.arange(n_dup)
    owner[plant_rows[split]] = split_psn
    insutype = np.where(rider, "330", np.where(all_emp, "310", "390"))
    psn_type = np.where(
        all_emp, np.where(all_flex, "1103", "1101"), np.where(all_age < 18, "1403", "1501")
    )
    y0 = first_year
    start_days = _month_first(all_s, y0)
    end_days = _month_last(all_e, y0)
    end_arr = pa.array(end_days.astype(np.int32), type=pa.int32(), mask=all_open).cast(pa.date32())
    region_codes = np.array(REGIONS)
    relations_table = pa.table(
        {
            "relation_id": relation_id,
            "psn_no": owner,
            "insutype": pa.array(insutype).dictionary_encode(),
            "region": pa.array(region_codes[all_region]).dictionary_encode(),
            "psn_type": pa.array(psn_type).dictionary_encode(),
            "start_date": pa.array(start_days.astype(np.int32)).cast(pa.date32()),
            "end_date": end_arr,
        }
    )
    write(relations_table.cast(pa.schema([f.with_type(pa.string()) if pa.types.is_dictionary(f.type) else f for f in relations_table.schema])), folder, "relations")
    step("relations", total)

    # --- status changes (decoys 0: suspended, 1: terminated) -----------------------------------
    decoy_rows = r + n_dup + np.arange(n_decoy)
    sc_rows = decoy_rows[decoy_kind <= 1]
    sc_status = np.where(decoy_kind[decoy_kind <= 1] == 0, "2", "4")
    sc_reason = np.where(sc_status == "2", "SEASONAL_EMPLOYMENT", "DUPLICATE_CLEANUP")
    write(
        pa.table(
            {
                "relation_id": relation_id[sc_rows],
                "effective": pa.array(start_days[sc_rows].astype(np.int32)).cast(pa.date32()),
                "status": pa.array(sc_status, type=pa.string()),
                "reason": pa.array(sc_reason, type=pa.string()),
            }
        ),
        folder,
        "status_changes",
    )

    # --- contributions, written in chunks of relations (bounded memory) ------------------------
    paid_rel = ~np.isin(np.arange(total), decoy_rows[decoy_kind == 2])
    must_pay_rel = np.zeros(total, bool)
    must_pay_rel[np.concatenate([plant_rows, decoy_rows, plant["x"], decoy["x"]])] = True
    wage_fen = rng.integers(3000_00, 15000_00, size=total)
    n_lines = 0
    with pq.ParquetWriter(folder / "contributions.parquet", SCHEMAS["contributions"], compression="zstd") as writer:
        for lo in range(0, total, _CHUNK):
            part = _contribution_chunk(
                rng, np.arange(lo, min(lo + _CHUNK, total)), all_emp, paid_rel, must_pay_rel, all_s, all_e, all_flex,
                wage_fen, relation_id, y0,
            )
            writer.write_table(part, row_group_size=1 << 20)
            n_lines += part.num_rows
            step("contributions", n_lines)

    # --- documents: one per person record; split records get another spelling (E-12) -----------
    numbers = _as_strings(ids)
    split_of = dup_people[split]
    how = rng.integers(0, 5, size=len(split_of))
    originals = numbers.take(pa.array(split_of)).to_pylist()
    messy = [messy_spelling(num, int(h)) for num, h in zip(originals, how)]
    documents = pa.table(
        {
            "psn_no": np.concatenate([psn_no, split_psn]),
            "cert_type": pa.array(np.full(n + len(split_psn), "01")),
            "cert_no": pa.concat_arrays([numbers, pa.array(messy, type=pa.string())]),
            "nationality": pa.nulls(n + len(split_psn), pa.string()),
        }
    )
    write(documents, folder, "documents")
    step("documents", documents.num_rows)

    # --- person context: the places the R-DUP priorities name, for planted people --------------
    x_region = region_codes[all_region[plant["x"]]]
    y_region = region_codes[plant["region"]]
    keep_x = rng.random(n_dup) < 0.5
    kept_region = np.where(keep_x, x_region, y_region)
    both_resident = ~employee[plant["x"]] & ~plant["employee"]
    both_employee = employee[plant["x"]] & plant["employee"]
    context = pa.table(
        {
            "psn_no": psn_no[dup_people],
            "habitual_region": pa.array(np.where(both_resident, kept_region, None).tolist(), type=pa.string()),
            "employment_region": pa.array(np.where(both_employee, kept_region, None).tolist(), type=pa.string()),
            "study_region": pa.nulls(n_dup, pa.string()),
            "student_cause": pa.nulls(n_dup, pa.string()),
            "employee_part_time": pa.array(np.zeros(n_dup, bool)),
            "assisted_both": pa.array(np.zeros(n_dup, bool)),
            "assist_choice_region": pa.nulls(n_dup, pa.string()),
            "assist_commitment_id": pa.nulls(n_dup, pa.string()),
        }
    )
    write(context, folder, "person_context")

    a, b = relation_id[plant["x"]], relation_id[plant_rows]
    kind = np.where(both_employee, "EMPLOYEE_EMPLOYEE", np.where(both_resident, "RESIDENT_RESIDENT", "CROSS_SCHEME"))
    truth = pa.table(
        {
            "psn_no": psn_no[dup_people],
            "first": np.minimum(a, b),
            "second": np.maximum(a, b),
            "kind": pa.array(kind),
            "split": split,
        }
    )
    write(truth, folder, "truth")
    return SynthSummary(n, n + len(split_psn), total, n_lines, n_dup, n_decoy, folder)


_CHUNK = 1_000_000  # relations per contributions chunk
_PAYERS = pa.array(["UNIT", "INDIVIDUAL", "FISCAL_SUBSIDY"])


def _codes(indices: np.ndarray, dictionary: pa.Array) -> pa.Array:
    """A dictionary-encoded string column (Parquet stores it as strings, read back as strings)."""
    return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32)), dictionary)


def _contribution_chunk(rng, rows, all_emp, paid_rel, must_pay_rel, all_s, all_e, all_flex, wage_fen, relation_id, y0) -> pa.Table:
    emp_rows = rows[all_emp[rows] & paid_rel[rows]]
    length = all_e[emp_rows] - all_s[emp_rows] + 1
    line_rel = np.repeat(emp_rows, length)
    line_month = np.repeat(all_s[emp_rows], length) + (np.arange(length.sum()) - np.repeat(np.cumsum(length) - length, length))
    keep = must_pay_rel[line_rel] | (rng.random(len(line_rel)) < 0.97)  # a few unpaid months
    line_rel, line_month = line_rel[keep], line_month[keep]
    is_flex = all_flex[line_rel]
    amount = np.where(is_flex, 480_00, (wage_fen[line_rel] * 10) // 100)
    m_year = y0 + line_month // 12
    m_month = line_month % 12 + 1
    emp_paid_on = _days(m_year, m_month, 15)

    res_rows = rows[~all_emp[rows] & paid_rel[rows]]
    y_first = y0 + all_s[res_rows] // 12
    y_last = y0 + all_e[res_rows] // 12
    n_years = y_last - y_first + 1
    res_rel = np.repeat(res_rows, n_years)
    res_year = np.repeat(y_first, n_years) + (np.arange(n_years.sum()) - np.repeat(np.cumsum(n_years) - n_years, n_years))
    years = np.arange(2020, 2027)
    indiv = np.array([RESIDENT_INDIVIDUAL[y] for y in years])[res_year - 2020] * 100
    subsidy = np.array([RESIDENT_SUBSIDY[y] for y in years])[res_year - 2020] * 100
    res_paid_on = _days(res_year - 1, np.full(len(res_year), 10), 15)

    n_emp, n_res = len(line_rel), len(res_rel)
    n = n_emp + 2 * n_res
    return pa.table(
        {
            "relation_id": np.concatenate([relation_id[line_rel], relation_id[res_rel], relation_id[res_rel]]),
            "kind": _codes(np.zeros(n), pa.array(["10"])),
            "payer": _codes(np.concatenate([is_flex.astype(np.int32), np.ones(n_res), np.full(n_res, 2)]), _PAYERS),
            "paid_on": pa.array(np.concatenate([emp_paid_on, res_paid_on, res_paid_on]).astype(np.int32)).cast(pa.date32()),
            "amount": _decimal(np.concatenate([amount, indiv, subsidy])),
            "month": pa.array(
                np.concatenate([(m_year * 100 + m_month).astype(np.int32), np.zeros(2 * n_res, np.int32)]),
                mask=np.concatenate([np.zeros(n_emp, bool), np.ones(2 * n_res, bool)]),
            ),
            "benefit_year": pa.array(
                np.concatenate([np.zeros(n_emp, np.int32), res_year.astype(np.int32), res_year.astype(np.int32)]),
                mask=np.concatenate([np.ones(n_emp, bool), np.zeros(2 * n_res, bool)]),
            ),
        }
    ).cast(SCHEMAS["contributions"])
