"""The console's translatable messages, gathered for the catalog (``python -m yibao.web.messages``).

Messages are Chinese (the msgids) and come from three places: ``_("…")`` in the templates (Jinja2's
Babel extractor), ``_("…")`` / ``N_("…")`` in the web modules (Babel's Python extractor), and the
Chinese labels kept in tables (actions, fields, payers, status reasons, month kinds, roles).
``python -m yibao.web.messages`` prints the msgids missing from the English catalog; the test
``tests/web/test_i18n.py`` fails while any is missing.
"""

from __future__ import annotations

import io
import sys
from importlib import resources

from babel.messages.extract import extract_python
from babel.messages.pofile import read_po

KEYWORDS = {"_": None, "N_": None}


def N_(message: str) -> str:
    """Mark a message for the catalog without translating it here (it is translated where shown)."""
    return message


def _first(message: object) -> str:
    """The msgid of an extracted call: ``_("… {x}", x=…)`` comes as a tuple whose first item is the text."""
    if isinstance(message, (tuple, list)):
        message = message[0] if message else None
    return message if isinstance(message, str) else ""


def msgids() -> set[str]:
    from jinja2.ext import babel_extract

    from . import actions, timeline_svg, views

    out: set[str] = set()
    root = resources.files("yibao.web")
    for entry in root.joinpath("templates").iterdir():
        if entry.name.endswith(".html"):
            for _line, _func, message, _comments in babel_extract(io.BytesIO(entry.read_bytes()), ["_"], [], {"trimmed": "false"}):
                out.add(_first(message))
    for module in ("views.py", "actions.py", "actions_more.py", "actions_places.py", "timeline_svg.py", "queries.py", "charts.py", "duplicates.py"):
        for _line, _func, message, _comments in extract_python(io.BytesIO(root.joinpath(module).read_bytes()), KEYWORDS, [], {}):
            out.add(_first(message))
    for action in actions.ACTIONS.values():
        out.add(action.title)
        out.add(action.confirm_label)
        for f in action.fields:
            out.add(f.label)
            if f.hint:
                out.add(f.hint)
    out.update(actions.PAYER_ZH.values(), actions.REFUND_RULE_ZH.values(), timeline_svg.STATUS_REASON_ZH.values(), timeline_svg.MONTH_KIND_ZH.values(), views.ROLE_ZH.values())
    return {m for m in out if m}


def catalog(lang: str = "en") -> dict[str, str]:
    from .i18n import po_text

    return {str(m.id): str(m.string) for m in read_po(io.StringIO(po_text(lang)), locale=lang) if m.id}


def missing(lang: str = "en") -> list[str]:
    have = {k for k, v in catalog(lang).items() if v}
    return sorted(msgids() - have)


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    gaps = missing()
    for m in gaps:
        print(m)
    sys.exit(1 if gaps else 0)


__all__ = ["N_", "catalog", "missing", "msgids"]
