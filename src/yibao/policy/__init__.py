"""Dated, regional, cited policy parameters (DESIGN §2, issue: policy packs).

A *pack* is a folder ``packs/<region>/`` of YAML files (one per rule family), each holding
parameters whose values are keyed by effective date, each value with its source and confidence.
Resolution of ``(region, key, on)`` looks in the city pack, then its province (``XX0000``), then
``national``; a parameter found nowhere is an error naming region, date and key — never a default.
Every key must be declared in ``catalog/*.yaml`` with its type; values are parsed to that type
(decimals exactly, never as floats).

    policy = load_policy()
    p = policy.param("510500", "contribution.employee.base_floor_pct", date(2022, 3, 1))
    p.value        # Decimal('0.90')
    p.citation     # Citation(document='泸州市医疗保障局…', article='第三项', confidence='S')
"""

from __future__ import annotations

from yibao.policy.loader import Policy, load_policy, default_policy
from yibao.policy.schema import PARAM_MISSING, UNKNOWN_REGION

__all__ = ["Policy", "load_policy", "default_policy", "PARAM_MISSING", "UNKNOWN_REGION"]
