"""Batch entitlement timelines: "covered on the 1st of each month" for a whole population.

A person × month grid (``True`` = covered on day 1 of the month, as known on K), for reports and
for "who loses coverage next month". Two paths, one answer:

* **Fast path, vectorised** (DuckDB to classify, NumPy to fill): the commonest history — one unit
  310 relation (not flexible), started on the 1st of its first paid month, still open, no status
  change, every month from the first to the last paid on time by the unit (kind 10) — all as known
  on K (relations started, lines paid, status changes effective by K). For it the reference rules reduce to R-WAIT-005 (first-time unit enrollee: benefits from
  the first paid month + ``employee.new_enrollee_wait_unit``) and Y-GRACE-001 / Y-OPEN-001 (the
  period stays open while the last paid month is at most ``employee.collection_grace_months``
  behind K's month and benefits have started by K's month; otherwise it ends with the last paid
  month — and there is no period at all when benefits would start after it).
* **Everything else** goes to the reference, :func:`yibao.rules.entitlement.build_timeline`,
  person by person.

The layout is :mod:`yibao.batch.tables` (relations, status_changes, contributions); the facts it
does not carry (groups, events, deaths, wages) are taken as absent. A hypothesis test checks
batch == reference on random histories (tests/batch/test_timeline.py).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa

from yibao.batch.dedup import build_facts
from yibao.codes import PsnType
from yibao.dates import YearMonth
from yibao.model import PersonFacts
from yibao.policy import Policy, default_policy
from yibao.rules.entitlement import build_timeline

FLEXIBLE = tuple(p.value for p in PsnType if p.is_flexible)

FAST_SQL = f"""
    WITH known AS (SELECT * FROM relations WHERE start_date <= $k),
    single AS (
        SELECT psn_no, min(relation_id) AS relation_id FROM known GROUP BY psn_no HAVING count(*) = 1
    ), rel AS (
        SELECT r.* FROM known r JOIN single s ON r.relation_id = s.relation_id
        WHERE r.insutype = '310' AND r.psn_type NOT IN ({", ".join(f"'{p}'" for p in FLEXIBLE)})
          AND r.end_date IS NULL AND day(r.start_date) = 1
          AND r.relation_id NOT IN (SELECT relation_id FROM status_changes WHERE effective <= $k)
    ), stats AS (
        SELECT c.relation_id,
               count(*) AS n, count(DISTINCT c.month) AS n_months,
               min((c.month // 100) * 12 + c.month % 100 - 1) AS first_m,
               max((c.month // 100) * 12 + c.month % 100 - 1) AS last_m,
               bool_and(c.month IS NOT NULL AND c.payer = 'UNIT' AND c.kind = '10' AND c.amount > 0
                        AND year(c.paid_on) * 100 + month(c.paid_on) <= c.month) AS on_time
        FROM contributions c JOIN rel USING (relation_id) WHERE c.paid_on <= $k GROUP BY c.relation_id
    )
    SELECT rel.psn_no, rel.region, s.first_m, s.last_m
    FROM rel JOIN stats s USING (relation_id)
    WHERE s.on_time AND s.n = s.n_months AND s.n = s.last_m - s.first_m + 1
      AND s.first_m = year(rel.start_date) * 12 + month(rel.start_date) - 1
"""


@dataclass(frozen=True)
class CoverageGrid:
    persons: np.ndarray  # psn_no, sorted
    first: YearMonth
    covered: np.ndarray  # bool [person, month]
    fast: np.ndarray  # bool [person]: decided by the vectorised path

    def month(self, i: int) -> YearMonth:
        return self.first + i

    def losing_next_month(self, month: YearMonth) -> np.ndarray:
        """psn_no of people covered on the 1st of ``month`` and not on the 1st of the next."""
        i = month - self.first
        return self.persons[self.covered[:, i] & ~self.covered[:, i + 1]]


def coverage_grid(
    con, first: YearMonth, last: YearMonth, as_known_on: date, policy: Policy | None = None, *, reference_only: bool = False,
) -> CoverageGrid:
    """The grid for every person of the DuckDB views ``relations``, ``status_changes``, ``contributions``."""
    policy = policy or default_policy()
    persons = np.asarray(con.sql("SELECT DISTINCT psn_no FROM relations ORDER BY psn_no").to_arrow_table().column(0).to_numpy(), dtype=np.int64)
    n_months = last - first + 1
    covered = np.zeros((len(persons), n_months), dtype=bool)
    fast_mask = np.zeros(len(persons), dtype=bool)
    if not reference_only:
        fast = con.sql(FAST_SQL.replace("$k", f"DATE '{as_known_on.isoformat()}'")).to_arrow_table()
        psn = np.asarray(fast.column("psn_no").to_numpy(), dtype=np.int64)
        rows = np.searchsorted(persons, psn)
        first_m = np.asarray(fast.column("first_m").to_numpy(), dtype=np.int64)
        last_m = np.asarray(fast.column("last_m").to_numpy(), dtype=np.int64)
        k_month = YearMonth.of(as_known_on).index
        # the two parameters per distinct (region, first month) and region: a few hundred lookups, not one per person
        region_codes, region_idx = np.unique(np.asarray(fast.column("region").to_pylist(), dtype=object), return_inverse=True)
        pairs, pair_idx = np.unique(region_idx * 100_000 + first_m, return_inverse=True)
        wait = np.array([
            policy.value(region_codes[p // 100_000], "employee.new_enrollee_wait_unit", YearMonth.from_index(int(p % 100_000)).first_day())
            for p in pairs
        ], dtype=np.int64)[pair_idx] if len(pairs) else np.zeros(0, np.int64)
        grace = np.array([
            policy.value(r, "employee.collection_grace_months", YearMonth.from_index(k_month).first_day()) for r in region_codes
        ], dtype=np.int64)[region_idx] if len(region_codes) else np.zeros(0, np.int64)
        start = first_m + wait
        # enrolled through K's month (paid, or provisional within the grace): the period is open —
        # if benefits start by then; otherwise it ends with the last paid month (Y-GRACE-001, Y-OPEN-001)
        open_end = ((k_month - last_m) <= grace) & (start <= k_month)
        months = first.index + np.arange(n_months)
        grid = (months[None, :] >= start[:, None]) & ((months[None, :] <= last_m[:, None]) | open_end[:, None])
        covered[rows] = grid
        fast_mask[rows] = True
    slow = persons[~fast_mask]
    if len(slow):
        con.register("slow_persons", pa.table({"psn_no": pa.array(slow, pa.int64())}))
        rels = con.sql("SELECT * FROM relations WHERE psn_no IN (SELECT psn_no FROM slow_persons)").to_arrow_table().to_pylist()
        ids = "relation_id IN (SELECT relation_id FROM relations WHERE psn_no IN (SELECT psn_no FROM slow_persons))"
        changes = con.sql(f"SELECT * FROM status_changes WHERE {ids}").to_arrow_table().to_pylist()
        lines = con.sql(f"SELECT * FROM contributions WHERE {ids}").to_arrow_table().to_pylist()
        for psn_no, facts in _facts(rels, changes, lines).items():
            timeline = build_timeline(facts, policy, as_known_on)
            row = int(np.searchsorted(persons, psn_no))
            covered[row] = [timeline.covered((first + i).first_day()) for i in range(n_months)]
    return CoverageGrid(persons, first, covered, fast_mask)


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
