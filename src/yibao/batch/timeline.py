"""Batch entitlement timelines: "covered on the 1st of each month" for a whole population.

A person × month grid (``True`` = covered on day 1 of the month, as known on K), for reports and
for "who loses coverage next month" (``yibao timelines``). Three paths, one answer:

* **Steady employees, vectorised** (Y-BATCH-001; DuckDB projects the lines, NumPy checks and
  fills): one open in-service 310 relation started on the 1st, no status change, every month from
  its first to its last paid once, on time, by one payer (the unit, or the person alone) — all as
  known on K (relations started, lines paid, status changes effective by K). The rules then reduce
  to R-WAIT-005 (the first paid month + the wait of that channel) and Y-GRACE-001 / Y-OPEN-001 (open
  while the last paid month is at most ``employee.collection_grace_months`` behind K's month and
  benefits have begun; otherwise it ends with the last paid month, and there is no period at all
  when benefits would start after it). "Each month once" is checked exactly (Y-BATCH-002).
* **Steady residents, vectorised around a probe** (Y-BATCH-004): later years are 1 January–31
  December; the first year is decided by :func:`build_timeline` itself, once per key.
* **Everything else** goes to the reference, :func:`yibao.rules.entitlement.build_timeline`, in
  chunks and worker processes; people it refuses (e.g. ``UNKNOWN_REGION``) are reported in
  ``CoverageGrid.errors`` (Y-BATCH-003).

The layout is :mod:`yibao.batch.tables` (relations, status_changes, contributions); the facts it
does not carry (groups, events, deaths, wages) are taken as absent. A hypothesis test checks
batch == reference on random histories (tests/batch/test_timeline.py).
"""

from __future__ import annotations

import multiprocessing as mp
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Callable

import numpy as np
import pyarrow as pa

from yibao.batch.dedup import build_facts
from yibao.codes import ContributionKind, InsuType, PsnType
from yibao.dates import YearMonth, month_day
from yibao.errors import YibaoError
from yibao.model import ContributionLine, Enrollment, PayerType, PersonFacts
from yibao.policy import Policy, default_policy
from yibao.rules.entitlement import build_timeline

# in-service employee types (11xx): the only ones the fast path takes
IN_SERVICE = tuple(p.value for p in PsnType if len(p.value) == 4 and p.group == PsnType.IN_SERVICE.value)

# Stage 1 of the fast path (relations, small): each person's only relation known on K, when it is an
# open in-service 310 relation (not retired: a retiree is covered without paying) started on the 1st,
# with no status change effective by K.
FAST_RELATIONS_SQL = f"""
    WITH known AS (SELECT * FROM relations WHERE start_date <= $k),
    single AS (SELECT psn_no FROM known GROUP BY psn_no HAVING count(*) = 1)
    SELECT r.relation_id, r.psn_no, r.region, year(r.start_date) * 12 + month(r.start_date) - 1 AS start_m
    FROM known r JOIN single s ON r.psn_no = s.psn_no
    WHERE r.insutype = '310' AND r.psn_type IN ({", ".join(f"'{p}'" for p in IN_SERVICE)})
      AND r.end_date IS NULL AND day(r.start_date) = 1
      AND r.relation_id NOT IN (SELECT relation_id FROM status_changes WHERE effective <= $k)
    ORDER BY r.relation_id
"""
# Stage 2 (contribution lines, large): one row per line paid by K — no grouping, no DISTINCT; the
# per-relation checks are done in NumPy (:func:`_steady_months`). ``good``: a monthly line of kind
# 10, positive, on time (paid in or before its month), by the unit or the individual (``unit``).
FAST_LINES_SQL = """
    SELECT relation_id, coalesce((month // 100) * 12 + month % 100 - 1, -1)::INTEGER AS m,
           coalesce(month IS NOT NULL AND payer IN ('UNIT', 'INDIVIDUAL') AND kind = '10' AND amount > 0
                    AND year(paid_on) * 100 + month(paid_on) <= month, false) AS good,
           payer = 'UNIT' AS unit
    FROM contributions WHERE paid_on <= $k
"""


WAIT_KEY = ("employee.new_enrollee_wait_individual", "employee.new_enrollee_wait_unit")  # by ``unit``


def _parameter(policy: Policy, region: str, key: str, on: date) -> int:
    """A policy parameter as an int, or -1 where the packs do not have it or the region is not one
    of theirs (the reference refuses such a relation: UNKNOWN_REGION)."""
    try:
        return int(policy.value(policy.check_region(region), key, on))
    except YibaoError:
        return -1


def _positions(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Index of each of ``values`` in the sorted unique ``keys``, -1 where absent. A lookup table
    when the keys are dense enough (one gather per value), else a binary search."""
    if not len(keys) or not len(values):
        return np.full(len(values), -1, dtype=np.int64)
    lo, hi = int(keys[0]), int(keys[-1])
    if lo >= 0 and hi < 8 * len(keys) + (1 << 22):
        table = np.full(hi + 2, -1, dtype=np.int32 if len(keys) < 2**31 else np.int64)
        table[keys] = np.arange(len(keys), dtype=table.dtype)
        return table[np.clip(values, -1, hi + 1)]  # -1 and anything above hi land on a -1 slot
    at = np.minimum(np.searchsorted(keys, values), len(keys) - 1)
    return np.where(keys[at] == values, at, -1)


def _steady_months(
    relation: np.ndarray, line_relation: np.ndarray, month: np.ndarray, good: np.ndarray, unit: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For each of the sorted ``relation`` ids: (steady, first month, last month, by the unit).
    Steady: at least one line, every line ``good`` and of one payer (``unit``: all True or all
    False), and its lines' months exactly first..last, each once (no gap, no duplicate).

    Exact for lines in any order, fast when they come mostly grouped by relation in month order (as
    the store and Parquet exports write them): the lines are cut into *runs* — consecutive lines of
    one relation and one payer with strictly increasing months, so no month twice within a run — and
    only the runs are sorted. A relation's months are then distinct iff its runs, in order of their
    first month, do not overlap; and n distinct months between first and last are exactly
    first..last iff n = last - first + 1.
    """
    r = len(relation)
    steady = np.zeros(r, dtype=bool)
    first = np.zeros(r, dtype=np.int64)
    last = np.zeros(r, dtype=np.int64)
    by_unit = np.zeros(r, dtype=bool)
    if not len(line_relation) or not r:
        return steady, first, last, by_unit
    if unit is None:
        unit = np.ones(len(line_relation), dtype=bool)
    cut = np.empty(len(line_relation), dtype=bool)
    cut[0] = True
    np.not_equal(line_relation[1:], line_relation[:-1], out=cut[1:])
    cut[1:] |= month[1:] <= month[:-1]
    cut[1:] |= unit[1:] != unit[:-1]
    starts = np.flatnonzero(cut)
    if len(starts) > len(line_relation) // SCATTER_WHEN_RUNS_PER_LINE_ABOVE:  # hardly grouped: sorting the runs costs more
        return _steady_months_scattered(relation, line_relation, month, good, unit)
    ends = np.append(starts[1:], len(line_relation))
    run_bad = np.zeros(len(starts), dtype=bool)  # a run holding a line that is not good
    run_bad[np.searchsorted(starts, np.flatnonzero(~good), side="right") - 1] = True
    run_idx = _positions(relation, line_relation[starts])
    mine = run_idx >= 0
    run_idx, run_bad, run_unit = run_idx[mine], run_bad[mine], unit[starts[mine]]
    run_first, run_last = month[starts[mine]].astype(np.int64), month[ends[mine] - 1].astype(np.int64)
    run_len = (ends - starts)[mine]
    order = np.lexsort((run_first, run_idx))
    run_idx, run_bad, run_unit = run_idx[order], run_bad[order], run_unit[order]
    run_first, run_last, run_len = run_first[order], run_last[order], run_len[order]
    same = run_idx[1:] == run_idx[:-1]
    flaw = run_bad.copy()
    flaw[1:] |= same & (run_first[1:] <= run_last[:-1])  # overlaps the run before: a month twice
    flaw[1:] |= same & (run_unit[1:] != run_unit[:-1])  # another payer
    n = np.bincount(run_idx, weights=run_len, minlength=r).astype(np.int64)
    bad = np.bincount(run_idx, weights=flaw, minlength=r) > 0
    head = np.ones(len(run_idx), dtype=bool)
    head[1:] = ~same
    tail = np.ones(len(run_idx), dtype=bool)
    tail[:-1] = head[1:]
    first[run_idx[head]] = run_first[head]
    by_unit[run_idx[head]] = run_unit[head]
    # runs are disjoint and ordered by their first month where not ``bad``: the last run holds the last month
    last[run_idx[tail]] = run_last[tail]
    steady = (n > 0) & ~bad & (n == last - first + 1)
    return steady, first, last, by_unit


SCATTER_WHEN_RUNS_PER_LINE_ABOVE = 4  # more than one run per 4 lines: lines in no useful order


def _steady_months_scattered(
    relation: np.ndarray, line_relation: np.ndarray, month: np.ndarray, good: np.ndarray, unit: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_steady_months` for lines in any order, without sorting: per relation n lines whose
    months sum as first..first+n-1 does (which gives first) and all fall in that range; each line
    then marks its slot among the relation's n slots, and the months are that range once each iff
    every slot is marked (n lines, n slots: no slot twice)."""
    r = len(relation)
    idx = _positions(relation, line_relation)
    mine = idx >= 0
    idx, month, good, unit = idx[mine], month[mine].astype(np.int64), good[mine], unit[mine]
    n = np.bincount(idx, minlength=r)
    units = np.bincount(idx[unit], minlength=r)
    bad = (np.bincount(idx[~good], minlength=r) > 0) | ((units > 0) & (units < n)) | (n == 0)
    # float64 sums of month indexes are exact far beyond any relation's lines (< 2**53)
    arithmetic = np.rint(np.bincount(idx, weights=month, minlength=r)).astype(np.int64) - n * (n - 1) // 2  # = n * first
    safe_n = np.maximum(n, 1)
    bad |= arithmetic % safe_n != 0
    first = arithmetic // safe_n
    offset = month - first[idx]
    inside = (offset >= 0) & (offset < n[idx])
    bad |= np.bincount(idx[~inside], minlength=r) > 0
    starts = np.cumsum(n) - n
    seen = np.zeros(int(n.sum()), dtype=bool)
    seen[(starts[idx] + offset)[inside]] = True
    hit = np.zeros(r, dtype=np.int64)
    has = n > 0
    if has.any():
        hit[has] = np.add.reduceat(seen, starts[has], dtype=np.int64)
    bad |= hit != n
    return ~bad, np.where(bad, 0, first), np.where(bad, 0, first + n - 1), units == n


# Steady residents (Y-BATCH-004): each person's only relation known on K, 390, open, no status
# change by K; their lines other than the fiscal subsidy's (which the rules ignore for coverage).
RESIDENT_RELATIONS_SQL = """
    WITH known AS (SELECT * FROM relations WHERE start_date <= $k),
    single AS (SELECT psn_no FROM known GROUP BY psn_no HAVING count(*) = 1)
    SELECT r.relation_id, r.psn_no, r.region, r.psn_type, r.start_date
    FROM known r JOIN single s ON r.psn_no = s.psn_no
    WHERE r.insutype = '390' AND r.end_date IS NULL
      AND r.relation_id NOT IN (SELECT relation_id FROM status_changes WHERE effective <= $k)
    ORDER BY r.relation_id
"""
RESIDENT_LINES_SQL = """
    SELECT c.relation_id, c.benefit_year AS year, c.paid_on,
           coalesce(c.kind = '10' AND c.amount > 0 AND c.month IS NULL AND c.benefit_year IS NOT NULL
                    AND c.payer = 'INDIVIDUAL', false) AS good
    FROM contributions c JOIN resident_candidates r ON c.relation_id = r.relation_id
    WHERE c.paid_on <= $k AND c.payer <> 'FISCAL_SUBSIDY'
    ORDER BY c.relation_id, c.benefit_year
"""


def _steady_residents(con, k_sql: str, persons: np.ndarray, covered: np.ndarray, fast_mask: np.ndarray, first: YearMonth,
                      n_months: int, as_known_on: date, policy: Policy) -> None:
    """Y-BATCH-004: residents who paid every benefit year from their first (Y0) to their last, once
    each by themselves, and every year after Y0 by the end of its collection window. The rules then
    give each later year 1 January–31 December (on time and continuous, R-RES-001); Y0 — never
    continuous — is decided by the rules themselves on a probe holding only that year's line, once
    per (region, psn_type, relation start, Y0, payment day) and shared by everyone with that key."""
    rel = con.sql(RESIDENT_RELATIONS_SQL.replace("$k", k_sql)).to_arrow_table()
    if not rel.num_rows:
        return
    con.register("resident_candidates", rel.select(["relation_id"]))
    lines = con.sql(RESIDENT_LINES_SQL.replace("$k", k_sql)).to_arrow_table()
    relation_ids = np.asarray(rel.column("relation_id").to_numpy(), dtype=np.int64)
    idx = _positions(relation_ids, np.asarray(lines.column("relation_id").to_numpy(), dtype=np.int64))
    year = np.asarray(lines.column("year").fill_null(-1).to_numpy(), dtype=np.int64)
    paid = np.asarray(lines.column("paid_on").cast(pa.int32()).to_numpy(), dtype=np.int64)  # days since 1970-01-01
    good = np.asarray(lines.column("good").to_numpy(zero_copy_only=False), dtype=bool)
    r = len(relation_ids)
    n = np.bincount(idx, minlength=r)
    bad = (n == 0) | (np.bincount(idx[~good], minlength=r) > 0)
    # sorted by (relation, year): consecutive years, each once
    head = np.ones(len(idx), dtype=bool)
    head[1:] = idx[1:] != idx[:-1]
    step_ok = np.ones(len(idx), dtype=bool)
    step_ok[1:] = head[1:] | (year[1:] == year[:-1] + 1)
    bad |= np.bincount(idx[~step_ok], minlength=r) > 0
    y0 = np.zeros(r, dtype=np.int64)
    y0[idx[head]] = year[head]
    p0 = np.zeros(r, dtype=np.int64)
    p0[idx[head]] = paid[head]
    y1 = y0 + n - 1
    encoded = rel.column("region").combine_chunks().dictionary_encode()
    region_codes = encoded.dictionary.to_pylist()
    region_idx = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    # every later year paid by the end of its collection window (on time; before 1 January): one
    # parameter lookup per (region, year), not per line
    later = np.flatnonzero(~head)
    if len(later):
        pairs, pair_of = np.unique(region_idx[idx[later]] * 10_000 + year[later], return_inverse=True)
        ends = np.array([_window_end_day(policy, region_codes[int(q) // 10_000], int(q) % 10_000) for q in pairs], dtype=np.int64)
        bad |= np.bincount(idx[later][paid[later] > ends[pair_of]], minlength=r) > 0
    keep = np.flatnonzero(~bad)
    if not len(keep):
        return
    # Y0 by the rules: one probe per distinct key, shared
    keys = list(zip(region_idx[keep].tolist(), rel.column("psn_type").take(pa.array(keep)).to_pylist(),
                    rel.column("start_date").take(pa.array(keep)).to_pylist(), y0[keep].tolist(), p0[keep].tolist()))
    index: dict[tuple, int] = {}
    key_of = np.fromiter((index.setdefault(k, len(index)) for k in keys), dtype=np.int64, count=len(keys))
    epoch = date(1970, 1, 1).toordinal()
    probe_rows = np.zeros((len(index), n_months), dtype=bool)
    decided = np.zeros(len(index), dtype=bool)
    for (region, psn_type, start, first_year, paid_day), j in index.items():
        row = _probe_first_year(policy, (region_codes[region], psn_type, start, first_year), date.fromordinal(epoch + paid_day),
                                as_known_on, first, n_months)
        if row is not None:  # None: the rules refuse it (e.g. UNKNOWN_REGION) — the reference path reports why
            probe_rows[j], decided[j] = row, True
    keep, key_of = keep[decided[key_of]], key_of[decided[key_of]]
    months = first.index + np.arange(n_months)
    later_years = (months[None, :] >= ((y0[keep] + 1) * 12)[:, None]) & (months[None, :] <= (y1[keep] * 12 + 11)[:, None])
    rows = np.searchsorted(persons, np.asarray(rel.column("psn_no").to_numpy(), dtype=np.int64)[keep])
    covered[rows] = probe_rows[key_of] | later_years
    fast_mask[rows] = True


_PSN_TYPES = frozenset(p.value for p in PsnType)


def _window_end_day(policy: Policy, region: str, year: int) -> int:
    """The last day of the collection window for benefit year ``year`` (days since 1970), or -1."""
    try:
        value = policy.value(policy.check_region(region), "resident.window_end", date(year, 1, 1))
        return month_day(year - 1, value).toordinal() - date(1970, 1, 1).toordinal()
    except YibaoError:
        return -1


def _probe_first_year(policy: Policy, key: tuple, paid_on: date, as_known_on: date, first: YearMonth, n_months: int) -> np.ndarray | None:
    region, psn_type, start, year = key
    if psn_type not in _PSN_TYPES:
        return None
    probe = PersonFacts(
        "probe",
        enrollments=(Enrollment("R", InsuType.RESIDENT_BASIC, region, PsnType(psn_type), start, None),),
        contributions=(ContributionLine("R", ContributionKind.REGULAR, PayerType.INDIVIDUAL, paid_on, Decimal("1.00"), benefit_year=year),),
    )
    try:
        return covered_firsts(build_timeline(probe, policy, as_known_on, month_grid=False).periods, first, n_months)
    except YibaoError:
        return None


@dataclass(frozen=True)
class CoverageGrid:
    persons: np.ndarray  # psn_no, sorted
    first: YearMonth
    covered: np.ndarray  # bool [person, month]
    fast: np.ndarray  # bool [person]: decided by the vectorised path
    errors: dict[int, YibaoError] = field(default_factory=dict)  # psn_no → why the rules could not decide (row left uncovered)

    def month(self, i: int) -> YearMonth:
        return self.first + i

    def losing_next_month(self, month: YearMonth) -> np.ndarray:
        """psn_no of people covered on the 1st of ``month`` and not on the 1st of the next."""
        i = month - self.first
        return self.persons[self.covered[:, i] & ~self.covered[:, i + 1]]

    def periods(self) -> pa.Table:
        """The grid as covered runs, one row per (person, run of consecutive covered months):
        ``psn_no``, ``first_month``, ``last_month`` (YYYYMM), ``fast`` — compact where the grid is
        a person × month matrix. A run touching the grid's edge may go on beyond it."""
        people, months = self.covered.shape
        edges = np.zeros((people, months + 1), dtype=np.int8)
        edges[:, :-1] = self.covered
        edges[:, 1:] -= self.covered
        if self.errors:  # undetermined people have no periods (not "uncovered")
            edges[np.isin(self.persons, np.fromiter(self.errors, np.int64, len(self.errors)))] = 0
        row_start, col_start = np.nonzero(edges == 1)  # row-major: runs in person, month order
        row_end, col_end = np.nonzero(edges == -1)
        first_index, last_index = self.first.index + col_start, self.first.index + col_end - 1
        return pa.table({
            "psn_no": pa.array(self.persons[row_start], pa.int64()),
            "first_month": pa.array((first_index // 12) * 100 + first_index % 12 + 1, pa.int32()),
            "last_month": pa.array((last_index // 12) * 100 + last_index % 12 + 1, pa.int32()),
            "fast": pa.array(self.fast[row_start], pa.bool_()),
        })


def coverage_grid(
    con, first: YearMonth, last: YearMonth, as_known_on: date, policy: Policy | None = None, *, reference_only: bool = False,
    workers: int = 1, progress: Callable[[str, int, int], None] | None = None,
) -> CoverageGrid:
    """The grid for every person of the DuckDB views ``relations``, ``status_changes``, ``contributions``.

    ``workers`` > 1: the reference path runs in that many processes; ``progress(stage, done,
    total)`` is told of the stages ``fast`` and ``reference``."""
    policy = policy or default_policy()
    persons = np.asarray(con.sql("SELECT DISTINCT psn_no FROM relations ORDER BY psn_no").to_arrow_table().column(0).to_numpy(), dtype=np.int64)
    n_months = last - first + 1
    covered = np.zeros((len(persons), n_months), dtype=bool)
    fast_mask = np.zeros(len(persons), dtype=bool)
    errors: dict[int, YibaoError] = {}
    if not reference_only:
        k_sql = f"DATE '{as_known_on.isoformat()}'"
        rel = con.sql(FAST_RELATIONS_SQL.replace("$k", k_sql)).to_arrow_table()
        lines = con.sql(FAST_LINES_SQL.replace("$k", k_sql)).to_arrow_table()
        relation_ids = np.asarray(rel.column("relation_id").to_numpy(), dtype=np.int64)
        steady, first_m, last_m, by_unit = _steady_months(
            relation_ids, np.asarray(lines.column("relation_id").to_numpy(), dtype=np.int64),
            np.asarray(lines.column("m").to_numpy(), dtype=np.int32), np.asarray(lines.column("good").to_numpy(zero_copy_only=False), dtype=bool),
            np.asarray(lines.column("unit").to_numpy(zero_copy_only=False), dtype=bool),
        )
        del lines
        steady &= first_m == np.asarray(rel.column("start_m").to_numpy(), dtype=np.int64)  # paid from the relation's first month
        keep = np.nonzero(steady)[0]
        k_month = YearMonth.of(as_known_on).index
        # the two parameters per distinct (region, first month) and per region: a few hundred lookups,
        # not one per person; a region or month without them (-1) leaves its people to the reference,
        # which reports why (``CoverageGrid.errors``)
        regions = rel.column("region").combine_chunks().dictionary_encode() if rel.num_rows else pa.array([], pa.string()).dictionary_encode()
        region_codes = regions.dictionary.to_pylist()
        region_idx = np.asarray(regions.indices.to_numpy(zero_copy_only=False), dtype=np.int64)[keep]
        # R-WAIT-005: the wait of the channel that paid the first month (unit or individual)
        pairs, pair_idx = np.unique((region_idx * 100_000 + first_m[keep]) * 2 + by_unit[keep], return_inverse=True)
        wait = np.array([
            _parameter(policy, region_codes[p // 200_000], WAIT_KEY[p % 2], YearMonth.from_index(int(p // 2 % 100_000)).first_day())
            for p in pairs.tolist()
        ], dtype=np.int64)[pair_idx] if len(pairs) else np.zeros(0, np.int64)
        grace_of = np.full(len(region_codes), -1, dtype=np.int64)
        for r in np.unique(region_idx).tolist():  # only the regions of people on this path
            grace_of[r] = _parameter(policy, region_codes[r], "employee.collection_grace_months", YearMonth.from_index(k_month).first_day())
        grace = grace_of[region_idx]
        known = (wait >= 0) & (grace >= 0)
        keep, wait, grace = keep[known], wait[known], grace[known]
        first_m, last_m = first_m[keep], last_m[keep]
        rows = np.searchsorted(persons, np.asarray(rel.column("psn_no").to_numpy(), dtype=np.int64)[keep])
        start = first_m + wait
        # enrolled through K's month (paid, or provisional within the grace): the period is open —
        # if benefits start by then; otherwise it ends with the last paid month (Y-GRACE-001, Y-OPEN-001)
        open_end = ((k_month - last_m) <= grace) & (start <= k_month)
        months = first.index + np.arange(n_months)
        grid = (months[None, :] >= start[:, None]) & ((months[None, :] <= last_m[:, None]) | open_end[:, None])
        covered[rows] = grid
        fast_mask[rows] = True
        _steady_residents(con, k_sql, persons, covered, fast_mask, first, n_months, as_known_on, policy)
    slow = persons[~fast_mask]
    step = progress or (lambda *_: None)
    step("fast", int(fast_mask.sum()), int(fast_mask.sum()))
    done = 0
    for psn_nos, rows in _reference_rows(con, slow, first, n_months, as_known_on, policy, workers):
        for psn_no, row in zip(psn_nos, rows):
            if isinstance(row, YibaoError):  # e.g. a region without a policy pack: reported, not guessed
                errors[psn_no] = row
            else:
                covered[int(np.searchsorted(persons, psn_no))] = row
        done += len(psn_nos)
        step("reference", done, len(slow))
    return CoverageGrid(persons, first, covered, fast_mask, errors)


REFERENCE_CHUNK = 20_000  # people read at a time by the reference path (bounded memory)
REFERENCE_BATCH = 1_000  # people per task of a worker process
_WORKER: dict[str, Any] = {}


def _reference_rows(con, slow: np.ndarray, first: YearMonth, n_months: int, as_known_on: date, policy: Policy, workers: int):
    """The reference rules for ``slow`` people, chunk by chunk: yields (psn_nos, rows), a row being
    the covered months or the error the rules raised. With ``workers`` > 1 the chunks are decided in
    worker processes while the next chunk is read."""
    def chunks():
        for i in range(0, len(slow), REFERENCE_CHUNK):
            part = slow[i : i + REFERENCE_CHUNK]
            con.register("slow_persons", pa.table({"psn_no": pa.array(part, pa.int64())}))
            within = f"psn_no BETWEEN {int(part[0])} AND {int(part[-1])} AND psn_no IN (SELECT psn_no FROM slow_persons)"
            rels = con.sql(f"SELECT * FROM relations WHERE {within}").to_arrow_table().to_pylist()
            ids = f"relation_id IN (SELECT relation_id FROM relations WHERE {within})"
            changes = con.sql(f"SELECT * FROM status_changes WHERE {ids}").to_arrow_table().to_pylist()
            lines = con.sql(f"SELECT * FROM contributions WHERE {ids}").to_arrow_table().to_pylist()
            yield list(_facts(rels, changes, lines).values())

    args = (first, n_months, as_known_on)
    if workers <= 1 or len(slow) < 2 * REFERENCE_CHUNK:
        _WORKER["policy"] = policy
        try:
            for people in chunks():
                yield _decide_rows(people, *args)
        finally:
            _WORKER.clear()
        return
    # spawned, not forked: the parent holds a DuckDB connection (and its threads) while they work
    shipped = None if policy is default_policy() else policy
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_start_worker, initargs=(shipped,)) as pool:
        pending: list = []
        for people in chunks():
            for i in range(0, len(people), REFERENCE_BATCH):  # small batches: even shares, steady progress
                pending.append(pool.submit(_decide_rows, people[i : i + REFERENCE_BATCH], *args))
            while len(pending) > 2 * workers:  # read the next chunk while the workers finish this one
                yield pending.pop(0).result()
        for future in pending:
            yield future.result()


def _start_worker(policy: Policy | None) -> None:
    _WORKER["policy"] = policy or default_policy()


def _decide_rows(people: list[PersonFacts], first: YearMonth, n_months: int, as_known_on: date) -> tuple[list[int], list]:
    policy: Policy = _WORKER["policy"]
    psn_nos, rows = [], []
    for facts in people:
        psn_nos.append(int(facts.person_id))
        try:
            timeline = build_timeline(facts, policy, as_known_on, month_grid=False)
        except YibaoError as error:
            rows.append(error)
            continue
        rows.append(covered_firsts(timeline.periods, first, n_months))
    return psn_nos, rows


def covered_firsts(periods, first: YearMonth, n_months: int) -> np.ndarray:
    """``Timeline.covered`` on the 1st of each month first..first+n-1, from the periods: the 1st of
    month m lies in [start, end] iff m ≥ the first month whose 1st is ≥ start and m ≤ end's month."""
    row = np.zeros(n_months, dtype=bool)
    for period in periods:
        lo = YearMonth.of(period.start).index + (period.start.day > 1) - first.index
        hi = n_months - 1 if period.end is None else min(YearMonth.of(period.end).index - first.index, n_months - 1)
        if hi >= max(lo, 0):
            row[max(lo, 0) : hi + 1] = True
    return row


def _facts(rels: list[dict], changes: list[dict], lines: list[dict]) -> dict[int, PersonFacts]:
    """Rows of the batch layout → each person's facts (the same conversion as the dedup job)."""
    owner = {r["relation_id"]: r["psn_no"] for r in rels}
    rows: dict[int, tuple[list, list, list]] = defaultdict(lambda: ([], [], []))
    for r in rels:
        rows[r["psn_no"]][0].append(r)
    for c in changes:
        rows[owner[c["relation_id"]]][1].append(c)
    for c in lines:
        rows[owner[c["relation_id"]]][2].append(c)
    out = {}
    for psn_no, (r, c, l) in rows.items():
        enrollments, contribution_lines = build_facts(r, c, l)
        out[psn_no] = PersonFacts(str(psn_no), enrollments=tuple(enrollments), contributions=tuple(contribution_lines))
    return out
