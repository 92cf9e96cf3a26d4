"""The stored coverage index answers exactly as the timeline does (the coverage projection's premise).

* encode → decode of a timeline's :class:`CoverageIndex` gives the same index, so every answer
  (reasons, parameters, citations, notices) is exactly the timeline's own;
* ``knowledge_stable_through``: as known on any day K' in [K, stable_through], with no new facts,
  the index is the same as on K — so a projection computed on K may answer until then.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yibao.api.present import coverage as present_coverage
from yibao.codes import InsuStatus
from yibao.explain import jsonable
from yibao.model import PersonFacts, StatusChange, StatusReason
from yibao.rules import coverage_codec
from yibao.rules.entitlement import answer_coverage, build_timeline, coverage_index, knowledge_stable_through

from test_timeline_properties import DAYS, POLICY, histories

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def eventful_histories(draw) -> PersonFacts:
    """The timeline property histories, plus what makes the answer depend on the day: status changes
    (some recorded later than they take effect), a relation end, a death."""
    facts = draw(histories())
    enrollments = list(facts.enrollments)
    i = draw(st.integers(0, len(enrollments) - 1))
    rel = enrollments[i]
    changes = []
    if draw(st.booleans()):
        suspended = draw(st.dates(date(2017, 1, 1), date(2027, 1, 1)))
        late = draw(st.sampled_from([None, 0, 20, 200]))
        changes.append(StatusChange(suspended, InsuStatus.SUSPENDED, StatusReason.OTHER, recorded_on=None if late is None else suspended + timedelta(days=late)))
        if draw(st.booleans()):
            changes.append(StatusChange(suspended + timedelta(days=draw(st.integers(1, 500))), InsuStatus.NORMAL, StatusReason.OTHER))
    end = draw(st.one_of(st.none(), st.dates(date(2017, 1, 1), date(2027, 1, 1))))
    enrollments[i] = replace(rel, status_changes=tuple(changes), end=end)
    death = draw(st.one_of(st.none(), st.dates(date(2018, 1, 1), date(2027, 1, 1))))
    death_recorded = None if death is None else death + timedelta(days=draw(st.integers(0, 60)))
    return replace(facts, enrollments=tuple(enrollments), death_date=death, death_recorded_on=death_recorded)


def presented(decision, k) -> dict:
    return jsonable(present_coverage("P", decision, k))


def index_json(facts: PersonFacts, k: date) -> str:
    """The index as stored, but for the day it was computed on."""
    index = coverage_index(build_timeline(facts, POLICY, k))
    return coverage_codec.encode(replace(index, as_known_on=None, stable_through=None))


@SETTINGS
@given(eventful_histories(), st.dates(date(2016, 6, 1), date(2027, 3, 1)))
def test_a_decoded_index_answers_exactly_as_the_timeline(facts: PersonFacts, k: date) -> None:
    timeline = build_timeline(facts, POLICY, k)
    index = coverage_index(timeline, knowledge_stable_through(facts, k))
    decoded = coverage_codec.decode(coverage_codec.encode(index))
    assert decoded == index
    for d in DAYS[::5] + [k, k + timedelta(days=1)]:
        assert answer_coverage(decoded, d) == answer_coverage(timeline, d), d
        assert presented(answer_coverage(decoded, d), k) == presented(answer_coverage(timeline, d), k), d


@SETTINGS
@given(eventful_histories(), st.dates(date(2016, 6, 1), date(2027, 3, 1)), st.data())
def test_the_index_holds_until_stable_through(facts: PersonFacts, k: date, data) -> None:
    through = knowledge_stable_through(facts, k)
    assert k <= through <= date(k.year, k.month, 28) + timedelta(days=4)
    later = data.draw(st.dates(k, through))
    assert index_json(facts, later) == index_json(facts, through) == index_json(facts, k)


def test_stable_through_is_the_end_of_the_month_without_dated_facts() -> None:
    facts = PersonFacts("P")
    assert knowledge_stable_through(facts, date(2026, 2, 10)) == date(2026, 2, 28)


def test_a_format_change_is_recomputed_not_misread() -> None:
    assert coverage_codec.decode('{"format": 0}') is None


@given(
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.text(), st.decimals(allow_nan=False, allow_infinity=False), st.dates(),
                  st.sampled_from(list(InsuStatus))),
        lambda inner: st.one_of(st.lists(inner, max_size=3), st.tuples(inner, inner), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
        max_leaves=8,
    )
)
def test_values_keep_their_types(value) -> None:
    assert coverage_codec._unvalue(json.loads(json.dumps(coverage_codec._value(value)))) == value


def test_a_value_of_another_type_is_refused() -> None:
    with pytest.raises(coverage_codec.Unencodable):
        coverage_codec._value(1.5)
