"""Scenario adapters for identity documents and employer codes (SPEC §4 R-ID-001…007, E-04, E-12).

``ids.document``     input {cert_type, cert_no, nationality?, migration?, registration_date?}
                     → {cert_type, number, birth_date, sex, person_key ('|'-joined), nationality,
                        and for type 17 region (HK/MO/TW), for type 07 card, province_code, nationality_code}
``ids.upgrade``      input {cert_no} → {number} (R-ID-002, the 15 → 18 upgrade on its own)
``ids.uscc``         input {code} → {code, org_code, org_check, check}
``ids.age``          input {cert_no, cert_type?} or {birth_date}, and {on} → {birth_date, age}
``ids.declared``     input {cert_type, cert_no, declared_birth_date?, declared_sex?} → {notices, notice_fields,
                        birth_date, sex} (the document's own values, to show nothing was overwritten)
``ids.same_person``  input {documents: [{cert_type, cert_no, migration?, nationality?}, …]}
                     → {same, person_keys, distinct}
``ids.account_band`` input {cert_no, cert_type?, month, base, psn_type?} → the ``account.credit`` output for the
                     birth date the number gives (R-ID-007 example 2 → R-ACCT-002 bands)
Errors surface as :class:`~yibao.errors.YibaoError` (the scenario says ``expect: {error: …, field: …}``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from adapters import adapter
from yibao import ids
from yibao.codes import CertType
from yibao.policy import Policy


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _cert_type(inp: dict[str, Any]) -> str:
    value = inp.get("cert_type", "01")
    if not isinstance(value, str):  # an unquoted 01 in YAML reads as the integer 1
        raise TypeError(f"cert_type must be quoted text in the scenario, got {value!r}")
    return value


def _document(inp: dict[str, Any]) -> ids.Document:
    return ids.validate_document(
        _cert_type(inp),
        inp["cert_no"],
        nationality=inp.get("nationality"),
        registration_date=_day(inp.get("registration_date")),
        migration=bool(inp.get("migration", False)),
    )


def _key(doc: ids.Document) -> str:
    return "|".join(doc.person_key)


@adapter("ids.document")
def document(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    doc = _document(inp)
    out: dict[str, Any] = {
        "cert_type": doc.cert_type.value,
        "number": doc.number,
        "birth_date": doc.birth_date,
        "sex": doc.sex,
        "person_key": _key(doc),
        "nationality": doc.nationality,
    }
    if doc.cert_type is CertType.HMT_RESIDENCE_PERMIT:
        out["region"] = ids.validate_residence_permit(doc.number).region
    if doc.cert_type is CertType.FOREIGN_PERMANENT_RESIDENCE:
        card = ids.validate_foreign_permanent_residence(doc.number)
        out["card"] = card.card
        out["province_code"] = card.province_code
        out["nationality_code"] = card.nationality_code
    return out


@adapter("ids.upgrade")
def upgrade(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    return {"number": ids.upgrade_15_to_18(inp["cert_no"])}


@adapter("ids.uscc")
def uscc(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    code = ids.validate_uscc(inp["code"])
    return {"code": code, "org_code": code[8:17], "org_check": code[16], "check": code[17]}


@adapter("ids.age")
def age(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    birth = _day(inp["birth_date"]) if "birth_date" in inp else _document(inp).birth_date
    if birth is None:
        raise ValueError("the document carries no birth date; give birth_date in the scenario")
    return {"birth_date": birth, "age": ids.age_on(birth, _day(inp["on"]))}


@adapter("ids.declared")
def declared(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    doc = _document(inp)
    notices = ids.check_declared_attributes(
        doc,
        declared_birth_date=_day(inp.get("declared_birth_date")),
        declared_sex=None if inp.get("declared_sex") is None else str(inp["declared_sex"]),
    )
    return {
        "notices": [n.code for n in notices],
        "notice_fields": [n.field for n in notices],
        "derived": [n.details.get("derived") for n in notices],
        "birth_date": doc.birth_date,
        "sex": doc.sex,
    }


@adapter("ids.same_person")
def same_person(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    keys = [_key(_document(d)) for d in inp["documents"]]
    return {"same": len(set(keys)) == 1, "person_keys": keys, "distinct": len(set(keys))}


@adapter("ids.account_band")
def account_band(inp: dict[str, Any], policy: Policy, region: str) -> dict[str, Any]:
    from adapters.account import credit

    doc = _document(inp)
    out = credit(
        {"psn_type": inp.get("psn_type", "1101"), "month": inp["month"], "base": inp["base"], "birth_date": doc.birth_date},
        policy,
        region,
    )
    return {**out, "birth_date": doc.birth_date}
