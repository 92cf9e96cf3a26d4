"""Benchmark: explain one person with a 20-year history, in process (DESIGN §7 budget: ≤ 5 ms median).

The history: employee months 2006-01..2025-12 with two interruptions (one back-paid, one long),
a transfer between regions, two resident years in between, a scheme switch, monthly unit and
individual lines (about 480 contribution lines). The timeline is built as known on a date and
the question "covered on D?" answered, as `yibao explain` does.

    python bench/bench_explain.py [--repeat 300]
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date, timedelta
from decimal import Decimal

from yibao.codes import ContributionKind, InsuType, PsnType
from yibao.dates import YearMonth, month_range
from yibao.model import ContributionLine, Enrollment, PayerType, PersonFacts
from yibao.policy import default_policy
from yibao.rules.entitlement import answer_coverage, build_timeline


def twenty_year_history() -> PersonFacts:
    lines: list[ContributionLine] = []

    def monthly(rel: str, first: YearMonth, last: YearMonth, payer: PayerType, amount: str, kind=ContributionKind.REGULAR, paid_on=None):
        for m in month_range(first, last):
            lines.append(ContributionLine(rel, kind, payer, paid_on or (m.first_day() + timedelta(days=14)), Decimal(amount), month=m))

    # Dalian unit job 2006-01..2013-06, with a 2-month gap in 2010 back-paid later
    monthly("E1", YearMonth(2006, 1), YearMonth(2010, 2), PayerType.UNIT, "320.00")
    monthly("E1", YearMonth(2006, 1), YearMonth(2010, 2), PayerType.INDIVIDUAL, "80.00")
    monthly("E1", YearMonth(2010, 3), YearMonth(2010, 4), PayerType.INDIVIDUAL, "400.00", ContributionKind.INTERRUPTION_BACKPAY, date(2010, 5, 20))
    monthly("E1", YearMonth(2010, 5), YearMonth(2013, 6), PayerType.UNIT, "360.00")
    monthly("E1", YearMonth(2010, 5), YearMonth(2013, 6), PayerType.INDIVIDUAL, "90.00")
    # Resident in Luzhou 2014–2015
    lines.append(ContributionLine("R1", ContributionKind.REGULAR, PayerType.INDIVIDUAL, date(2013, 10, 10), Decimal("120.00"), benefit_year=2014))
    lines.append(ContributionLine("R1", ContributionKind.REGULAR, PayerType.INDIVIDUAL, date(2014, 10, 10), Decimal("150.00"), benefit_year=2015))
    # Luzhou flexible 2016-01..2019-12, then a 7-month break, then unit 2020-08..2025-12
    monthly("E2", YearMonth(2016, 1), YearMonth(2019, 12), PayerType.INDIVIDUAL, "420.00")
    monthly("E3", YearMonth(2020, 8), YearMonth(2025, 12), PayerType.UNIT, "441.00")
    monthly("E3", YearMonth(2020, 8), YearMonth(2025, 12), PayerType.INDIVIDUAL, "126.00")
    enrollments = (
        Enrollment("E1", InsuType.EMPLOYEE_BASIC, "210200", PsnType.EMPLOYEE_IN_SERVICE, date(2006, 1, 1), date(2013, 6, 30)),
        Enrollment("R1", InsuType.RESIDENT_BASIC, "510500", PsnType.ADULT_RESIDENT, date(2014, 1, 1), date(2015, 12, 31)),
        Enrollment("E2", InsuType.EMPLOYEE_BASIC, "510500", PsnType.FLEXIBLE_IN_SERVICE, date(2016, 1, 1), date(2019, 12, 31)),
        Enrollment("E3", InsuType.EMPLOYEE_BASIC, "510500", PsnType.EMPLOYEE_IN_SERVICE, date(2020, 8, 1)),
    )
    return PersonFacts("BENCH", birth_date=date(1984, 5, 6), enrollments=enrollments, contributions=tuple(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    facts = twenty_year_history()
    policy = default_policy()
    k, d = date(2025, 12, 20), date(2025, 6, 1)
    timeline = build_timeline(facts, policy, k)  # warm the parameter cache, as a running service would
    assert timeline.covered(d)
    samples = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        timeline = build_timeline(facts, policy, k)
        answer_coverage(timeline, d)
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    median = statistics.median(samples)
    p95 = samples[int(len(samples) * 0.95) - 1]
    print(f"explain one person, 20-year history ({len(facts.contributions)} contribution lines, {len(timeline.periods)} benefit periods)")
    print(f"  median {median:.2f} ms   p95 {p95:.2f} ms   over {args.repeat} runs   budget ≤ 5 ms: {'OK' if median <= 5 else 'OVER'}")


if __name__ == "__main__":
    main()
