"""Batch detection == the reference rules, on random small populations (hypothesis).

The reference merges person records with yibao.ids directly and runs
yibao.rules.duplicate.find_duplicates on each merged person; the batch job (DuckDB SQL for keys
and candidates) must find exactly the same groups — never fewer (its prefilter is a superset) and
never more.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batch.helpers import tables
from yibao.batch.dedup import detect_arrow
from yibao.codes import ContributionKind, InsuStatus, InsuType, PsnType
from yibao.dates import YearMonth
from yibao.ids import validate_document
from yibao.model import ContributionLine, Enrollment, PayerType, StatusChange
from yibao.rules.duplicate import find_duplicates

NUMBERS = ["110101199003070011", "１１０１０１１９９００３０７００１１", "110101900307001", "11010119900307002X", "11010119900307002x", "110101198001010010"]
REGIONS = ["350100", "510500", "140200"]


@st.composite
def population(draw):
    n_records = draw(st.integers(1, 4))
    docs = [(p, "01", draw(st.sampled_from(NUMBERS))) for p in range(1, n_records + 1)]
    rels = []
    for rid in range(1, draw(st.integers(0, 6)) + 1):
        insutype = draw(st.sampled_from(["310", "390", "330"]))
        s = draw(st.integers(0, 23))
        length = draw(st.integers(1, 24))
        start = YearMonth(2024, 1) + s
        end_ym = start + (length - 1)
        open_end = draw(st.booleans())
        rel = {"id": rid, "psn": draw(st.integers(1, n_records)), "insutype": insutype, "region": draw(st.sampled_from(REGIONS)),
               "start": start.first_day() + timedelta(days=draw(st.integers(0, 20))), "end": None if open_end else end_ym.last_day()}
        if insutype == "390":
            rel["years"] = draw(st.lists(st.sampled_from([2024, 2025, 2026]), unique=True, max_size=3))
        else:
            rel["months"] = [(m.year, m.month) for m in (start + i for i in range(length)) if draw(st.booleans())]
        if draw(st.integers(0, 2)) == 0:  # suspended or terminated, sometimes from (or before) the start, sometimes restored
            first = start.first_day() + timedelta(days=draw(st.integers(-10, 400)))
            rel["status"] = [(first, draw(st.sampled_from(["2", "4"])))]
            if rel["status"][0][1] == "2" and draw(st.booleans()):
                rel["status"].append((first + timedelta(days=draw(st.integers(1, 300))), "1"))
        rels.append(rel)
    return docs, rels


def reference(docs, rels) -> set[tuple[int, tuple[str, ...]]]:
    key_of = {p: validate_document(t, n, migration=True).person_key for p, t, n in docs}
    person = {p: min(q for q in key_of if key_of[q] == key_of[p]) for p in key_of}  # one document each: same key = same person
    out = set()
    for pid in set(person.values()):
        mine = [r for r in rels if person[r["psn"]] == pid]
        enrollments = [
            Enrollment(str(r["id"]), InsuType(r["insutype"]), r["region"], PsnType("1101" if r["insutype"] != "390" else "1501"),
                       r["start"], r["end"], tuple(StatusChange(d, InsuStatus(s)) for d, s in r.get("status", [])))
            for r in mine
        ]
        lines = [ContributionLine(str(r["id"]), ContributionKind.REGULAR, PayerType.UNIT, date(y, m, 15), Decimal("500"), month=YearMonth(y, m))
                 for r in mine for y, m in r.get("months", [])]
        lines += [ContributionLine(str(r["id"]), ContributionKind.REGULAR, PayerType.INDIVIDUAL, date(y - 1, 10, 10), Decimal("400"), benefit_year=y)
                  for r in mine for y in r.get("years", [])]
        out |= {(pid, g.relation_ids) for g in find_duplicates(str(pid), enrollments, lines)}
    return out


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(population())
def test_batch_detection_equals_the_reference_rules(data) -> None:
    docs, rels = data
    proposals, _ = detect_arrow(tables(docs, rels), date(2026, 6, 30))
    batch = {(p, tuple(r.split(","))) for p, r in zip(proposals.column("person_id").to_pylist(), proposals.column("relations").to_pylist())}
    assert batch == reference(docs, rels)
