"""ID numbers are masked in lists, for non-administrators, in logs; unknown errors are a 500 without a trace."""

from __future__ import annotations

import logging

from yibao.api.logs import MaskingFilter, mask_text, masked_query
from yibao.ids import mask

from .conftest import World

V1 = "/api/v1"


def test_lists_are_masked_even_for_administrators(world: World):
    for who in ("admin", "auditor", "clerk510"):
        items = world.call(who, "GET", f"{V1}/persons", params={"region": "510500", "page_size": 200}).json()["items"]
        numbers = [d["number"] for p in items for d in p["documents"]]
        assert numbers and all("*" in n for n in numbers), who
        assert world.numbers["p510"] not in str(items)
        assert mask(world.numbers["p510"]) in numbers


def test_single_person_is_masked_except_for_administrators(world: World):
    full = world.numbers["p510"]
    assert world.call("admin", "GET", f"{V1}/persons/A510").json()["documents"][0]["number"] == full
    for who in ("clerk510", "auditor", "auditor510"):
        r = world.call(who, "GET", f"{V1}/persons/A510")
        assert r.json()["documents"][0]["number"] == mask(full) and full not in r.text, who
    found = world.call("admin", "POST", f"{V1}/persons/search", json={"cert_type": "01", "number": full})
    assert full not in found.text and found.json()["documents"][0]["number"] == mask(full)


def test_access_log_masks_the_number_of_a_coverage_lookup(world: World, caplog):
    full = world.numbers["p510"]
    with caplog.at_level(logging.INFO, logger="yibao.api.access"):
        r = world.call("clerk510", "GET", f"{V1}/coverage", params={"cert_type": "01", "number": full})
        world.call("clerk510", "GET", f"{V1}/coverage", params={"cert_type": "01", "number": "510502199003070014"})
    assert r.status_code == 200
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "yibao.api.access"]
    assert any("/api/v1/coverage" in line and " 200 " in line for line in lines), lines
    assert full not in caplog.text and "510502199003070014" not in caplog.text
    assert mask(full) in caplog.text


def test_unknown_errors_are_500_with_a_reference_and_a_masked_log_line(world: World, caplog, monkeypatch):
    full = world.numbers["p510"]

    def broken(*args, **kwargs):
        raise RuntimeError(f"database exploded while reading {full}")

    monkeypatch.setattr(world.service, "facts", broken)
    with caplog.at_level(logging.ERROR, logger="yibao.api"):
        r = world.call("clerk510", "GET", f"{V1}/persons/A510")
    assert r.status_code == 500
    err = r.json()["error"]
    assert err["code"] == "INTERNAL_ERROR" and "ref " in err["message_en"] and err["field"] is None
    assert "Traceback" not in r.text and "exploded" not in r.text and full not in r.text
    ref = err["message_en"].split("ref ")[1].split(")")[0]
    assert ref in caplog.text and "RuntimeError" in caplog.text
    assert full not in caplog.text and mask(full) in caplog.text


def test_masking_helpers():
    assert mask_text("cert 510502199003070014 and 11010119900307001X, permit H12345678, psn D000001") == (
        "cert 510***********0014 and 110***********001X, permit H12**5678, psn D000001"
    )
    assert masked_query("cert_type=01&number=H12345678&on=2025-01-01") == "cert_type=01&number=H12**5678&on=2025-01-01"
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "GET %s -> %d", ("/coverage?number=510502199003070014", 200), None)
    MaskingFilter().filter(record)
    assert record.getMessage() == "GET /coverage?number=510***********0014 -> 200"
