"""Benchmark: batch entitlement timelines, 1 million people × 10 years (DESIGN §7: ≥ 20 M
person-months/s on 2 cores, identical to the reference rules on a sample).

    python bench/bench_batch_timeline.py [--people 1000000] [--sample 1000] [--other-share 0.0] [--shuffle] [--workers 2]

The population: steady employees (one open 310 relation in a pack region, started on the 1st of a
month between 2016-01 and 2025-12, every month paid on time — by the unit, or for 15 % of them,
flexible workers, by themselves — 10 % stopping before K) — the history the vectorised path
handles — plus ``--other-share`` people with a resident relation (paid yearly), which go to the
reference rules. Lines come grouped by relation and month, as the store and exports write them;
``--shuffle`` puts them in random order (the exact duplicate-month check's slow case). Printed: person-months, wall
time of `coverage_grid`, throughput, the share decided by the fast path, the reference's
throughput on ``--sample`` people of the same population and the ratio, and whether batch and
reference agree on that sample.
"""

from __future__ import annotations

import argparse
import time
from datetime import date

import numpy as np
import pyarrow as pa

from yibao.batch.dedup import _connect, register_arrow
from yibao.batch.synth import _days, _decimal
from yibao.batch.tables import SCHEMAS
from yibao.batch.timeline import coverage_grid
from yibao.dates import YearMonth

BUDGET = 20_000_000
REGIONS = np.array(["510500", "210200", "140200", "220000", "350000"])
FIRST, LAST, K = YearMonth(2016, 1), YearMonth(2025, 12), date(2025, 12, 20)


def population(n: int, other_share: float, seed: int = 1, shuffle: bool = False) -> dict[str, pa.Table]:
    rng = np.random.default_rng(seed)
    psn = np.arange(1, n + 1, dtype=np.int64)
    other = rng.random(n) < other_share
    start = rng.integers(0, 120, size=n)  # month index from 2016-01
    stop = np.where(rng.random(n) < 0.1, rng.integers(0, 120, size=n), 119)  # 10 % stop paying before K's month
    stop = np.maximum(stop, start)
    region = REGIONS[rng.integers(0, len(REGIONS), size=n)]
    y0 = FIRST.year
    start_days = _days(y0 + start // 12, start % 12 + 1)
    flexible = ~other & (rng.random(n) < 0.15)  # flexible workers paying alone (个人缴费)
    rels = pa.table({
        "relation_id": psn, "psn_no": psn, "insutype": np.where(other, "390", "310"), "region": region,
        "psn_type": np.where(other, "1501", np.where(flexible, "1103", "1101")),
        "start_date": pa.array(start_days.astype(np.int32)).cast(pa.date32()),
        "end_date": pa.nulls(n, pa.date32()),
    })
    emp = np.nonzero(~other)[0]
    length = stop[emp] - start[emp] + 1
    rel = np.repeat(emp, length)
    month = np.repeat(start[emp], length) + (np.arange(length.sum()) - np.repeat(np.cumsum(length) - length, length))
    res = np.nonzero(other)[0]
    res_year = y0 + start[res] // 12
    yy, mm = y0 + month // 12, month % 12 + 1
    lines = pa.table({
        "relation_id": np.concatenate([psn[rel], psn[res]]),
        "kind": pa.array(np.full(len(rel) + len(res), "10")),
        "payer": pa.array(np.concatenate([np.where(flexible[rel], "INDIVIDUAL", "UNIT"), np.full(len(res), "INDIVIDUAL")])),
        "paid_on": pa.array(np.concatenate([_days(yy, mm, 15), _days(res_year - 1, np.full(len(res), 11), 1)]).astype(np.int32)).cast(pa.date32()),
        "amount": _decimal(np.concatenate([np.full(len(rel), 500_00), np.full(len(res), 400_00)])),
        "month": pa.array(np.concatenate([(yy * 100 + mm).astype(np.int32), np.zeros(len(res), np.int32)]),
                          mask=np.concatenate([np.zeros(len(rel), bool), np.ones(len(res), bool)])),
        "benefit_year": pa.array(np.concatenate([np.zeros(len(rel), np.int32), res_year.astype(np.int32)]),
                                 mask=np.concatenate([np.ones(len(rel), bool), np.zeros(len(res), bool)])),
    })
    if shuffle:  # lines in no order at all: the exact check's slow case (every line its own run)
        lines = lines.take(rng.permutation(lines.num_rows))
    return {"relations": rels.cast(SCHEMAS["relations"]), "contributions": lines.cast(SCHEMAS["contributions"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=1000)
    parser.add_argument("--other-share", type=float, default=0.0)
    parser.add_argument("--workers", type=int, default=2, help="processes for the people the reference rules decide")
    parser.add_argument("--shuffle", action="store_true", help="contribution lines in random order (default: grouped by relation and month, as exported)")
    args = parser.parse_args()
    t = time.perf_counter()
    tables = population(args.people, args.other_share, shuffle=args.shuffle)
    print(f"population: {args.people:,} people, {tables['contributions'].num_rows:,} contribution lines ({time.perf_counter() - t:.1f} s to build)")
    con = _connect(2)
    register_arrow(con, tables)
    months = LAST - FIRST + 1
    t = time.perf_counter()
    grid = coverage_grid(con, FIRST, LAST, K, workers=args.workers)
    seconds = time.perf_counter() - t
    person_months = len(grid.persons) * months
    rate = person_months / seconds
    print(f"batch: {person_months:,} person-months in {seconds:.2f} s = {rate / 1e6:.1f} M person-months/s "
          f"({grid.fast.mean():.1%} on the vectorised path); budget ≥ 20 M: {'OK' if rate >= BUDGET else 'MISSED'}")

    sample = {
        "relations": tables["relations"].slice(0, args.sample),
        "contributions": tables["contributions"].filter(pa.compute.less_equal(tables["contributions"].column("relation_id"), args.sample)),
    }
    con2 = _connect(2)
    register_arrow(con2, sample)
    t = time.perf_counter()
    fast = coverage_grid(con2, FIRST, LAST, K)
    fast_s = time.perf_counter() - t
    t = time.perf_counter()
    ref = coverage_grid(con2, FIRST, LAST, K, reference_only=True)
    ref_s = time.perf_counter() - t
    ref_rate = args.sample * months / ref_s
    print(f"reference (build_timeline per person) on {args.sample:,} people: {ref_s:.2f} s = {ref_rate / 1e6:.3f} M person-months/s; "
          f"batch on the same sample {fast_s:.3f} s; ratio batch/reference at full size: {rate / ref_rate:.0f}×")
    print(f"identical on the sample: {bool((fast.covered == ref.covered).all())}")


if __name__ == "__main__":
    main()
