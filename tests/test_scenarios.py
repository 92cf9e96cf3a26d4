"""Runs every scenario file in ``tests/scenarios/`` (one per worked example of SPEC, named by rule ID).

A scenario file:

    rule: R-CONT-002                 # the rule ID; the file name starts with it
    title: …
    kind: contribution.employee_month  # the adapter in tests/adapters/
    region: "510500"                 # pooling region whose pack is used
    policy_overrides: {key: value}   # the parameter values the worked example states
    examples:
      - name: wage below the floor
        input: {…}                   # handed to the adapter
        expect: {key: value}         # every key must match the adapter's output (as text)
      - name: bad input
        input: {…}
        expect: {error: CHECK_DIGIT, field: cert_no}
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters import load_all
from yibao.dates import YearMonth
from yibao.errors import YibaoError
from yibao.policy import default_policy
from yibao.policy.loader import load_yaml

SCENARIOS = Path(__file__).parent / "scenarios"
SPEC = Path(__file__).resolve().parents[2] / "shared" / "domain" / "SPEC.md"
ADAPTERS = load_all()


def _files() -> list[Path]:
    return sorted(SCENARIOS.glob("*.yaml"))


def _cases() -> list[Any]:
    out = []
    for path in _files():
        doc = load_yaml(path.read_text(encoding="utf-8"))
        for i, example in enumerate(doc.get("examples", [])):
            out.append(pytest.param(path, i, id=f"{path.stem}[{i}] {example.get('name', '')}"))
    return out


def normalise(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (date, YearMonth)):
        return str(value) if isinstance(value, YearMonth) else value.isoformat()
    if isinstance(value, (list, tuple)):
        return [normalise(v) for v in value]
    if isinstance(value, dict):
        return {str(k): normalise(v) for k, v in value.items()}
    if hasattr(value, "value") and hasattr(value, "name"):
        return value.value
    return value


def _same(expected: Any, actual: Any) -> bool:
    expected, actual = normalise(expected), normalise(actual)
    if isinstance(expected, dict) and isinstance(actual, dict):
        return all(k in actual and _same(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(_same(e, a) for e, a in zip(expected, actual))
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected == actual
    try:  # numbers compare by value: 441 == 441.00
        return Decimal(str(expected)) == Decimal(str(actual))
    except Exception:
        return str(expected) == str(actual)


@pytest.mark.parametrize(("path", "index"), _cases())
def test_scenario(path: Path, index: int) -> None:
    doc = load_yaml(path.read_text(encoding="utf-8"))
    assert path.stem.startswith(doc["rule"]), f"{path.name} must be named by its rule ID {doc['rule']}"
    kind = doc["kind"]
    assert kind in ADAPTERS, f"no adapter {kind!r} in tests/adapters"
    example = doc["examples"][index]
    region = str(doc.get("region", "national"))
    policy = default_policy()
    overrides = {**(doc.get("policy_overrides") or {}), **(example.get("policy_overrides") or {})}
    if overrides:
        policy = policy.with_overrides(region, overrides, label=f"{path.name}")
    expect = example["expect"]
    if "error" in expect:
        with pytest.raises(YibaoError) as info:
            ADAPTERS[kind](example["input"], policy, region)
        assert info.value.code == expect["error"]
        if "field" in expect:
            assert info.value.field == expect["field"]
        return
    actual = ADAPTERS[kind](example["input"], policy, region)
    mismatches = {k: (v, actual.get(k, "<missing>")) for k, v in expect.items() if not _same(v, actual.get(k, "<missing>"))}
    assert not mismatches, f"{path.name} example {example.get('name')!r}: expected vs actual {mismatches}"


# Sections whose worked examples must each have a scenario file (issue 2, "Done means").
REQUIRED_SECTIONS = ("4", "6", "7", "8", "9", "10", "12", "14")


def _rules_with_examples() -> list[str]:
    text = SPEC.read_text(encoding="utf-8")
    sections = re.split(r"^## (\d+)\. ", text, flags=re.M)
    out = []
    for number, body in zip(sections[1::2], sections[2::2]):
        if number not in REQUIRED_SECTIONS:
            continue
        for block in re.split(r"^### ", body, flags=re.M)[1:]:
            rule_id = block.split()[0]
            if re.match(r"R-[A-Z]+-\d{3}$", rule_id) and re.search(r"\*\*Examples?\b|^Examples?:|^\*\*Example", block, flags=re.M):
                out.append(rule_id)
    return out


@pytest.mark.skipif(not SPEC.exists(), reason="../shared/domain/SPEC.md is not beside the checkout")
def test_every_worked_example_has_a_scenario_file() -> None:
    rules = _rules_with_examples()
    assert len(rules) > 30  # the parser found the catalog
    have = {p.stem.split("_")[0] for p in _files()}
    have |= {re.match(r"(R-[A-Z]+-\d{3})", p.stem).group(1) for p in _files() if re.match(r"R-[A-Z]+-\d{3}", p.stem)}
    missing = [r for r in rules if r not in have]
    assert not missing, f"worked examples without a scenario file: {missing}"
