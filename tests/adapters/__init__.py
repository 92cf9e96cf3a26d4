"""Scenario adapters: each turns a worked example's ``input`` into the rule's output as a dict.

Register with ``@adapter("family.name")``; a scenario file names its adapter in ``kind``.
Each family keeps its adapters in its own module here (``contribution.py``, ``timeline.py``, …);
:func:`load_all` imports them all.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any, Callable

from yibao.policy import Policy

Adapter = Callable[[dict[str, Any], Policy, str], dict[str, Any]]
ADAPTERS: dict[str, Adapter] = {}


def adapter(kind: str) -> Callable[[Adapter], Adapter]:
    def register(fn: Adapter) -> Adapter:
        if kind in ADAPTERS:
            raise ValueError(f"adapter {kind} registered twice")
        ADAPTERS[kind] = fn
        return fn

    return register


def load_all() -> dict[str, Adapter]:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return ADAPTERS
