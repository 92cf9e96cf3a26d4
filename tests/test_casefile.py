"""The case-file format: the published JSON Schema matches the model, and the examples follow it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from yibao.casefile import json_schema, read_case
from yibao.policy.loader import load_yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples" / "cases").glob("*.yaml")) + sorted((ROOT / "examples" / "cases").glob("*.json"))


def _shape(schema: dict) -> dict:
    """What a case-file author relies on: each definition's properties, required fields and enums.
    (The exact text of, e.g., a decimal pattern differs between pydantic releases.)"""

    def one(node: dict) -> tuple:
        return (sorted(node.get("properties", {})), sorted(node.get("required", [])), sorted(map(str, node.get("enum", []))))

    return {"(root)": one(schema), **{name: one(node) for name, node in schema.get("$defs", {}).items()}}


def test_published_schema_is_current() -> None:
    published = json.loads((ROOT / "docs" / "case-file.schema.json").read_text(encoding="utf-8"))
    assert _shape(published) == _shape(json_schema()), "regenerate docs/case-file.schema.json (see docs/case-file.md)"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_validate_and_load(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8")) if path.suffix == ".json" else load_yaml(path.read_text(encoding="utf-8"))
    jsonschema.validate(json.loads(json.dumps(data, default=str)), json_schema())
    facts, _ = read_case(path)
    assert facts.person_id


def test_examples_exist() -> None:
    assert len(EXAMPLES) >= 3


def test_rider_needs_its_base_relation() -> None:
    from datetime import date

    from yibao.casefile import parse_case
    from yibao.errors import YibaoError

    base = {"id": "E1", "insutype": "310", "region": "140200", "psn_type": "1101", "start": date(2025, 1, 1)}
    rider = {"id": "D1", "insutype": "330", "region": "140200", "psn_type": "1101", "start": date(2025, 1, 1)}
    parse_case({"person": {"id": "X"}, "enrollments": [base, rider]})
    with pytest.raises(YibaoError) as info:
        parse_case({"person": {"id": "X"}, "enrollments": [rider]})
    assert (info.value.code, info.value.field) == ("RIDER_WITHOUT_BASE", "enrollments.0.insutype")
    elsewhere = {**base, "region": "210200"}
    with pytest.raises(YibaoError):
        parse_case({"person": {"id": "X"}, "enrollments": [elsewhere, {**rider, "id": "D2"}]})
