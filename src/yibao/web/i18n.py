"""Chinese first, English on request: gettext catalogs compiled with Babel when the console starts.

The messages of the templates and of the web layer are written in Chinese (the msgids); the English
catalog ``locale/en/LC_MESSAGES/messages.po`` translates them. The ``.po`` file is compiled in memory
(``babel.messages.mofile``) the first time it is needed, so no compiled ``.mo`` has to be kept in step
with it. A message missing from the catalog shows in Chinese; ``tests/web/test_i18n.py`` checks
that every message of the templates has its English translation.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import cache
from importlib import resources

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

DEFAULT = "zh"
LANGUAGES = ("zh", "en")
COOKIE = "yibao_lang"


def po_text(lang: str) -> str:
    return resources.files("yibao.web").joinpath("locale", lang, "LC_MESSAGES", "messages.po").read_text(encoding="utf-8")


@cache
def translations(lang: str) -> NullTranslations:
    if lang == DEFAULT or lang not in LANGUAGES:
        return NullTranslations()
    catalog = read_po(io.StringIO(po_text(lang)), locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def language(cookie: str | None) -> str:
    return cookie if cookie in LANGUAGES else DEFAULT


def gettext_for(lang: str) -> Callable[..., str]:
    """``_("…{x}…", x=1)``: translated, then formatted with the keywords (if any)."""
    t = translations(lang)

    def _(message: str, **values: object) -> str:
        text = t.gettext(message)
        return text.format(**values) if values else text

    return _


__all__ = ["COOKIE", "DEFAULT", "LANGUAGES", "gettext_for", "language", "translations"]
