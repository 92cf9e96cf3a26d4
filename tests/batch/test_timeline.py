"""Batch timelines == the reference rules (hypothesis), and the fast path really is taken."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yibao.batch.dedup import _connect, register_arrow
from yibao.batch.tables import SCHEMAS
from yibao.batch.timeline import coverage_grid
from yibao.dates import YearMonth

FIRST, LAST = YearMonth(2023, 1), YearMonth(2026, 12)
REGIONS = ["510500", "210200", "140200"]


@st.composite
def people(draw):
    rels, lines, changes = [], [], []
    rid = 0
    for psn in range(1, draw(st.integers(1, 6)) + 1):
        for _ in range(draw(st.integers(1, 2)) if draw(st.integers(0, 3)) == 0 else 1):
            rid += 1
            insutype = draw(st.sampled_from(["310", "310", "310", "390"]))
            s = YearMonth(2023, 1) + draw(st.integers(0, 30))
            n = draw(st.integers(1, 24))
            day = draw(st.sampled_from([1, 1, 1, 10]))
            end = None if draw(st.integers(0, 3)) else (s + n - 1).last_day()
            rels.append({"relation_id": rid, "psn_no": psn, "insutype": insutype, "region": draw(st.sampled_from(REGIONS)),
                         "psn_type": draw(st.sampled_from(["1101", "1101", "1103"])) if insutype == "310" else "1501",
                         "start_date": date(s.year, s.month, day), "end_date": end})
            if insutype == "310":
                payer = draw(st.sampled_from(["UNIT", "UNIT", "UNIT", "INDIVIDUAL"]))
                skip = draw(st.integers(-1, n - 1)) if draw(st.integers(0, 3)) == 0 else -1
                late_month = draw(st.integers(0, n - 1)) if draw(st.integers(0, 3)) == 0 else -1  # one back-paid month
                late_days = draw(st.integers(0, 40))
                for i in range(n):
                    if i == skip:
                        continue
                    m = s + i
                    late = late_days if i == late_month else 0
                    lines.append({"relation_id": rid, "kind": "10", "payer": payer, "paid_on": m.first_day() + timedelta(days=14 + late),
                                  "amount": Decimal("500.00"), "month": m.year * 100 + m.month, "benefit_year": None})
            else:
                for y in sorted({s.year, (s + n - 1).year}):
                    lines.append({"relation_id": rid, "kind": "10", "payer": "INDIVIDUAL", "paid_on": date(y - 1, 11, 1),
                                  "amount": Decimal("400.00"), "month": None, "benefit_year": y})
            if draw(st.integers(0, 5)) == 0:
                changes.append({"relation_id": rid, "effective": (s + draw(st.integers(0, n))).first_day(), "status": "2", "reason": "OTHER"})
    return rels, lines, changes


def _tables(rels, lines, changes):
    return {
        "relations": pa.Table.from_pylist(rels, schema=SCHEMAS["relations"]),
        "contributions": pa.Table.from_pylist(lines, schema=SCHEMAS["contributions"]),
        "status_changes": pa.Table.from_pylist(changes, schema=SCHEMAS["status_changes"]),
    }


@settings(max_examples=int(__import__("os").environ.get("YIBAO_TIMELINE_EXAMPLES", 100)), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(people(), st.dates(date(2023, 6, 1), date(2026, 6, 30)))
def test_batch_timeline_equals_the_reference(data, k) -> None:
    con = _connect(1)
    register_arrow(con, _tables(*data))
    batch = coverage_grid(con, FIRST, LAST, k)
    reference = coverage_grid(con, FIRST, LAST, k, reference_only=True)
    assert (batch.persons == reference.persons).all()
    assert (batch.covered == reference.covered).all(), [
        (int(p), [str(FIRST + i) for i in range(batch.covered.shape[1]) if batch.covered[j, i] != reference.covered[j, i]])
        for j, p in enumerate(batch.persons) if (batch.covered[j] != reference.covered[j]).any()
    ]


def test_steady_unit_employees_take_the_fast_path_and_losers_are_found() -> None:
    rels, lines = [], []
    for psn, (start, last) in enumerate([(YearMonth(2024, 1), YearMonth(2025, 6)), (YearMonth(2024, 3), YearMonth(2025, 3))], start=1):
        rels.append({"relation_id": psn, "psn_no": psn, "insutype": "310", "region": "510500", "psn_type": "1101",
                     "start_date": start.first_day(), "end_date": None})
        m = start
        while m <= last:
            lines.append({"relation_id": psn, "kind": "10", "payer": "UNIT", "paid_on": m.first_day() + timedelta(days=14),
                          "amount": Decimal("500.00"), "month": m.year * 100 + m.month, "benefit_year": None})
            m = m + 1
    con = _connect(1)
    register_arrow(con, _tables(rels, lines, []))
    grid = coverage_grid(con, FIRST, LAST, date(2025, 6, 20))
    assert grid.fast.all()
    reference = coverage_grid(con, FIRST, LAST, date(2025, 6, 20), reference_only=True)
    assert (grid.covered == reference.covered).all()
    assert list(grid.losing_next_month(YearMonth(2025, 3))) == [2]  # paid through 2025-03, more than the grace behind


def test_benefits_starting_after_k_give_no_period_yet() -> None:
    """Found by the property test: Dalian unit hire (wait 1), first month 2023-10 paid, K = 2023-10-15 —
    as known on K nothing is covered yet (the start 2023-11-01 is after every enrolled month)."""
    rels = [{"relation_id": 1, "psn_no": 1, "insutype": "310", "region": "210200", "psn_type": "1101",
             "start_date": date(2023, 10, 1), "end_date": None}]
    lines = [{"relation_id": 1, "kind": "10", "payer": "UNIT", "paid_on": date(2023, 10, 15), "amount": Decimal("500.00"),
              "month": 202310, "benefit_year": None}]
    con = _connect(1)
    register_arrow(con, _tables(rels, lines, []))
    for k, covered in ((date(2023, 10, 15), 0), (date(2023, 11, 16), 1)):
        grid = coverage_grid(con, FIRST, LAST, k)
        reference = coverage_grid(con, FIRST, LAST, k, reference_only=True)
        assert grid.fast.all() and (grid.covered == reference.covered).all()
        assert grid.covered.sum() == (0 if covered == 0 else grid.covered.shape[1] - (YearMonth(2023, 11) - FIRST))
