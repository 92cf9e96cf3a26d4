"""Batch timelines == the reference rules (hypothesis), and the fast path really is taken."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yibao.batch.dedup import _connect, register_arrow
from yibao.batch.tables import SCHEMAS
from yibao.batch.timeline import _steady_months, coverage_grid
from yibao.dates import YearMonth

FIRST, LAST = YearMonth(2023, 1), YearMonth(2026, 12)
REGIONS = ["510500", "210200", "140200", "510500", "650100"]  # 650100: no policy pack


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
            if insutype == "390" and draw(st.booleans()):
                s, day = YearMonth(s.year, 1), 1  # a resident enrolled for the whole year
            end = None if draw(st.integers(0, 3)) else (s + n - 1).last_day()
            rels.append({"relation_id": rid, "psn_no": psn, "insutype": insutype, "region": draw(st.sampled_from(REGIONS)),
                         "psn_type": draw(st.sampled_from(["1101", "1101", "1103", "1201"])) if insutype == "310" else draw(st.sampled_from(["1501", "1501", "1403"])),
                         "start_date": date(s.year, s.month, day), "end_date": end})
            if insutype == "310":
                payer = draw(st.sampled_from(["UNIT", "UNIT", "UNIT", "INDIVIDUAL"]))
                skip = draw(st.integers(-1, n - 1)) if draw(st.integers(0, 3)) == 0 else -1
                late_month = draw(st.integers(0, n - 1)) if draw(st.integers(0, 3)) == 0 else -1  # one back-paid month
                late_days = draw(st.integers(0, 40))
                switch_at = draw(st.integers(1, n)) if n > 1 and draw(st.integers(0, 4)) == 0 else -1
                for i in range(n):
                    if i == skip:
                        continue
                    m = s + i
                    late = late_days if i == late_month else 0
                    if i == switch_at:  # the payer changes: employment ends, the person goes on alone
                        payer = "INDIVIDUAL" if payer == "UNIT" else "UNIT"
                    lines.append({"relation_id": rid, "kind": "10", "payer": payer, "paid_on": m.first_day() + timedelta(days=14 + late),
                                  "amount": Decimal("500.00"), "month": m.year * 100 + m.month, "benefit_year": None})
                if n and draw(st.integers(0, 5)) == 0:  # a second line for a month: a top-up, or a refund of it
                    m = s + draw(st.integers(0, n - 1))
                    lines.append({"relation_id": rid, "kind": "10", "payer": payer, "paid_on": m.first_day() + timedelta(days=20),
                                  "amount": draw(st.sampled_from([Decimal("50.00"), Decimal("-500.00")])), "month": m.year * 100 + m.month,
                                  "benefit_year": None})
            else:  # resident years: paid early, in the window, after it, in the year, after it; gaps, second lines
                years = list(range(s.year, s.year + draw(st.integers(1, 4))))
                if len(years) > 2 and draw(st.integers(0, 4)) == 0:
                    years.pop(draw(st.integers(1, len(years) - 2)))  # a broken year
                for y in years:
                    offset = draw(st.sampled_from([-120, -75, -60, -40, -40, -40, -20, -3, 10, 45, 120, 400]))
                    lines.append({"relation_id": rid, "kind": "10", "payer": draw(st.sampled_from(["INDIVIDUAL"] * 5 + ["MEDICAL_ASSISTANCE"])),
                                  "paid_on": date(y, 1, 1) + timedelta(days=offset), "amount": Decimal("400.00"), "month": None,
                                  "benefit_year": y})
                    if draw(st.booleans()):
                        lines.append({"relation_id": rid, "kind": "10", "payer": "FISCAL_SUBSIDY", "paid_on": date(y, 3, 1),
                                      "amount": Decimal("700.00"), "month": None, "benefit_year": y})
                    if draw(st.integers(0, 6)) == 0:  # a second line for the year: a top-up, or a refund
                        lines.append({"relation_id": rid, "kind": draw(st.sampled_from(["10", "20"])), "payer": "INDIVIDUAL",
                                      "paid_on": date(y, 1, 1) + timedelta(days=draw(st.integers(-60, 200))),
                                      "amount": draw(st.sampled_from([Decimal("20.00"), Decimal("-400.00")])), "month": None, "benefit_year": y})
            if draw(st.integers(0, 5)) == 0:
                changes.append({"relation_id": rid, "effective": (s + draw(st.integers(0, n))).first_day(), "status": "2", "reason": "OTHER"})
    if draw(st.booleans()):  # lines in any order: the store and exports group them, but nothing guarantees it
        lines = draw(st.permutations(lines))
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
    assert {p: e.code for p, e in batch.errors.items()} == {p: e.code for p, e in reference.errors.items()}
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


def _steady_reference(relation, raw):
    """_steady_months the slow, obvious way: per relation, its months as a sorted list."""
    out = []
    for rid in relation.tolist():
        mine = [(m, g, u) for r, m, g, u in raw if r == rid]
        months = sorted(m for m, _, _ in mine)
        steady = (bool(mine) and all(g for _, g, _ in mine) and len({u for _, _, u in mine}) == 1
                  and months == list(range(months[0], months[0] + len(months))))
        out.append((steady, months[0] if steady else None, months[-1] if steady else None, mine[0][2] if steady else None))
    return out


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 6), st.integers(0, 9), st.booleans() | st.just(True), st.just(True) | st.booleans()), max_size=40),
       st.booleans())
def test_steady_months_equals_the_obvious_definition(raw, grouped) -> None:
    """Runs cut from lines in any order, duplicates, gaps, bad lines, mixed payers, relations without
    lines or with lines of unknown relations: the vectorised check equals the definition."""
    if grouped:
        raw = sorted(raw)
    relation = np.array([1, 2, 3, 5], dtype=np.int64)  # 4 and 6 have lines but are not asked about
    columns = [np.array(c) for c in zip(*raw)] if raw else [np.zeros(0)] * 4
    import yibao.batch.timeline as timeline

    for threshold in (1, 10**9):  # 1: always the runs; 10**9: always the scatter (no sort)
        saved, timeline.SCATTER_WHEN_RUNS_PER_LINE_ABOVE = timeline.SCATTER_WHEN_RUNS_PER_LINE_ABOVE, threshold
        try:
            steady, first, last, by_unit = _steady_months(
                relation, columns[0].astype(np.int64), columns[1].astype(np.int32), columns[2].astype(bool), columns[3].astype(bool),
            )
        finally:
            timeline.SCATTER_WHEN_RUNS_PER_LINE_ABOVE = saved
        for i, (want, want_first, want_last, want_unit) in enumerate(_steady_reference(relation, raw)):
            assert bool(steady[i]) == want, (threshold, int(relation[i]), raw)
            if want:
                assert (int(first[i]), int(last[i]), bool(by_unit[i])) == (want_first, want_last, want_unit), threshold


def test_a_duplicate_month_hidden_by_a_gap_is_not_steady() -> None:
    """Months 3, 1, 1 vs 3, 1, 2 (n = 3): with sums alone 0, 3, 3, 4, 4, 5, 5 and 0..6 look alike
    too; the duplicate must be found — in order, and in no order (the scatter)."""
    from yibao.batch.timeline import _steady_months_scattered

    for check in (_steady_months, lambda *a: _steady_months_scattered(*a, np.ones(len(a[1]), bool))):
        steady = check(np.array([7]), np.array([7, 7, 7]), np.array([3, 1, 1], dtype=np.int32), np.ones(3, bool))[0]
        assert not steady[0]
        steady, first, last = check(np.array([7]), np.array([7, 7, 7]), np.array([3, 1, 2], dtype=np.int32), np.ones(3, bool))[:3]
        assert steady[0] and (first[0], last[0]) == (1, 3)
        moments = np.array([0, 0, 3, 4, 4, 5, 5], dtype=np.int32)  # count, sum and sum of squares of 0..6
        assert not check(np.array([7]), np.full(7, 7), moments, np.ones(7, bool))[0][0]


def test_periods_are_the_grids_runs() -> None:
    from yibao.batch.timeline import CoverageGrid

    covered = np.array([[0, 1, 1, 0, 1], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0]], dtype=bool)
    grid = CoverageGrid(np.array([5, 8, 9]), YearMonth(2024, 11), covered, np.array([True, False, True]))
    assert grid.periods().to_pylist() == [
        {"psn_no": 5, "first_month": 202412, "last_month": 202501, "fast": True},
        {"psn_no": 5, "first_month": 202503, "last_month": 202503, "fast": True},
        {"psn_no": 8, "first_month": 202411, "last_month": 202503, "fast": False},
    ]


def _steady(psn: int, psn_type: str, payers: list[str], start: YearMonth, region: str = "210200") -> tuple[dict, list[dict]]:
    rel = {"relation_id": psn, "psn_no": psn, "insutype": "310", "region": region, "psn_type": psn_type,
           "start_date": start.first_day(), "end_date": None}
    lines = [{"relation_id": psn, "kind": "10", "payer": payer, "paid_on": (start + i).first_day() + timedelta(days=9),
              "amount": Decimal("300.00"), "month": (start + i).year * 100 + (start + i).month, "benefit_year": None}
             for i, payer in enumerate(payers)]
    return rel, lines


def test_flexible_individual_payers_take_the_fast_path_retirees_and_payer_changes_do_not() -> None:
    """Dalian: a flexible worker paying alone waits the individual channel's months (R-WAIT-005), a
    unit hire the unit's; a retiree relation (covered without paying) and a unit → individual change
    (Luzhou-style continuation questions) are left to the reference."""
    people = [
        _steady(1, "1103", ["INDIVIDUAL"] * 18, YearMonth(2024, 1)),
        _steady(2, "1101", ["UNIT"] * 18, YearMonth(2024, 1)),
        _steady(3, "1201", ["UNIT"] * 18, YearMonth(2024, 1)),
        _steady(4, "1101", ["UNIT"] * 9 + ["INDIVIDUAL"] * 9, YearMonth(2024, 1)),
    ]
    rels = [r for r, _ in people]
    lines = [line for _, ls in people for line in ls]
    con = _connect(1)
    register_arrow(con, _tables(rels, lines, []))
    k = date(2025, 6, 20)
    grid = coverage_grid(con, FIRST, LAST, k)
    reference = coverage_grid(con, FIRST, LAST, k, reference_only=True)
    assert grid.fast.tolist() == [True, True, False, False]
    assert (grid.covered == reference.covered).all()
    from yibao.policy import default_policy

    policy = default_policy()
    waits = [policy.value("210200", f"employee.new_enrollee_wait_{c}", date(2024, 1, 1)) for c in ("individual", "unit")]
    assert waits[0] != waits[1]  # the two channels really differ here, so the choice is tested
    first_covered = [YearMonth(2023, 1) + int(np.argmax(row)) for row in grid.covered[:2]]
    assert first_covered == [YearMonth(2024, 1) + waits[0], YearMonth(2024, 1) + waits[1]]


def test_reference_path_in_worker_processes_and_chunks_gives_the_same_grid(tmp_path, monkeypatch) -> None:
    """The reference path read in chunks and decided in forked workers: the same grid and errors
    as one process, and the progress reaches every person."""
    import yibao.batch.timeline as timeline
    from yibao.batch.dedup import register_parquet
    from yibao.batch.synth import synthesize

    synthesize(tmp_path, relations=1200, seed=8)
    con = _connect(1)
    register_parquet(con, tmp_path)
    k = date(2025, 6, 20)
    one = coverage_grid(con, FIRST, LAST, k)
    monkeypatch.setattr(timeline, "REFERENCE_CHUNK", 50)
    monkeypatch.setattr(timeline, "REFERENCE_BATCH", 20)
    seen: list[tuple[str, int, int]] = []
    two = coverage_grid(con, FIRST, LAST, k, workers=2, progress=lambda *a: seen.append(a))
    assert (one.covered == two.covered).all() and (one.fast == two.fast).all()
    assert {p: e.code for p, e in one.errors.items()} == {p: e.code for p, e in two.errors.items()} != {}
    slow = int((~two.fast).sum())
    tasks = sum(-(-min(50, slow - i) // 20) for i in range(0, slow, 50))  # chunks of 50 read, batches of 20 decided
    assert seen[-1] == ("reference", slow, slow) and len([s for s in seen if s[0] == "reference"]) == tasks


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.dates(date(2022, 6, 1), date(2027, 6, 30)), st.none() | st.integers(0, 900)), max_size=4),
       st.integers(0, 40))
def test_covered_firsts_equals_timeline_covered(spans, offset) -> None:
    """The reference path's month row from the periods equals ``Timeline.covered`` on each 1st."""
    from yibao.batch.timeline import covered_firsts
    from yibao.codes import InsuType
    from yibao.rules.entitlement import BenefitPeriod, Timeline

    periods = tuple(BenefitPeriod(f"R{i}", InsuType.RESIDENT_BASIC, "350000", s, None if n is None else s + timedelta(days=n), ())
                    for i, (s, n) in enumerate(spans))
    timeline = Timeline("P", None, periods, (), (), (), ())
    first = YearMonth(2022, 1) + offset
    assert covered_firsts(periods, first, 48).tolist() == [timeline.covered((first + i).first_day()) for i in range(48)]


def test_steady_residents_take_the_fast_path_around_a_probe_of_the_rules() -> None:
    """Fujian residents: every year paid in the collection window → vectorised, equal to the rules;
    a year paid after its window, a broken year or a medical-assistance payer → the reference."""
    def resident(psn: int, paid: list[tuple[int, date, str]], start: date = date(2024, 1, 1)) -> tuple[dict, list[dict]]:
        rel = {"relation_id": psn, "psn_no": psn, "insutype": "390", "region": "350000", "psn_type": "1501",
               "start_date": start, "end_date": None}
        return rel, [{"relation_id": psn, "kind": "10", "payer": payer, "paid_on": day, "amount": Decimal("400.00"),
                      "month": None, "benefit_year": year} for year, day, payer in paid]

    people = [
        resident(1, [(2024, date(2024, 2, 10), "INDIVIDUAL"), (2025, date(2024, 11, 1), "INDIVIDUAL"), (2026, date(2025, 10, 20), "INDIVIDUAL")]),
        resident(2, [(2024, date(2023, 11, 1), "INDIVIDUAL"), (2025, date(2025, 2, 10), "INDIVIDUAL")]),
        resident(3, [(2024, date(2023, 11, 1), "INDIVIDUAL"), (2026, date(2025, 11, 1), "INDIVIDUAL")]),
        resident(4, [(2024, date(2023, 11, 1), "MEDICAL_ASSISTANCE"), (2025, date(2024, 11, 1), "INDIVIDUAL")]),
        resident(5, [(2024, date(2024, 2, 10), "INDIVIDUAL"), (2025, date(2024, 11, 1), "INDIVIDUAL")]),  # shares 1's probe
    ]
    rels = [r for r, _ in people]
    lines = [line for _, ls in people for line in ls]
    con = _connect(1)
    register_arrow(con, _tables(rels, lines, []))
    k = date(2025, 12, 1)
    grid = coverage_grid(con, FIRST, LAST, k)
    reference = coverage_grid(con, FIRST, LAST, k, reference_only=True)
    from yibao.dates import month_day
    from yibao.policy import default_policy

    window_end = month_day(2024, default_policy().value("350000", "resident.window_end", date(2025, 1, 1)))
    assert window_end < date(2025, 2, 10)  # person 2 really paid 2025 after its window
    assert grid.fast.tolist() == [True, False, False, False, True]
    assert (grid.covered == reference.covered).all()
    assert grid.covered[0, YearMonth(2026, 12) - FIRST]  # 2026 paid in its window, before K: known and covered
    assert not grid.covered[0, YearMonth(2024, 1) - FIRST]  # 2024 paid in the year: a waiting period (the probe's answer)
