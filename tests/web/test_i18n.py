"""Chinese first, English through the gettext catalog: every message of the console is translated."""

from __future__ import annotations

import re

from yibao.web import i18n
from yibao.web.messages import catalog, missing, msgids


def test_every_console_message_has_an_english_translation() -> None:
    assert missing("en") == []


def test_the_catalog_has_no_stale_entries() -> None:
    assert sorted(set(catalog("en")) - msgids()) == []


def test_placeholders_survive_translation() -> None:
    for zh, en in catalog("en").items():
        assert set(re.findall(r"\{(\w+)\}", zh)) == set(re.findall(r"\{(\w+)\}", en)), zh


def test_the_catalog_is_compiled_by_babel_and_chinese_is_the_default() -> None:
    assert i18n.gettext_for("en")("查找参保人") == "Find a person"
    assert i18n.gettext_for("zh")("查找参保人") == "查找参保人"
    assert i18n.gettext_for("en")("{day} 不享受待遇", day="2026-01-01") == "Not covered on 2026-01-01"
    assert i18n.language(None) == "zh" and i18n.language("fr") == "zh" and i18n.language("en") == "en"


def test_a_message_missing_from_the_catalog_shows_in_chinese() -> None:
    assert i18n.gettext_for("en")("一条没有翻译的消息") == "一条没有翻译的消息"
