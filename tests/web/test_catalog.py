"""The Chinese catalog: every message id once, and every screen string translated."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

from campus.web.i18n import LOCALE_DIR

ROOT = Path(__file__).parents[2]


def _catalog():  # type: ignore[no-untyped-def]
    with (LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale="zh_CN")


def test_each_message_id_appears_once() -> None:
    text = (LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")
    ids = re.findall(r'^msgid "(.+)"$', text, re.M)

    assert len(ids) == len(set(ids))


def test_every_string_the_templates_translate_has_a_chinese_translation() -> None:
    catalog = _catalog()
    used = set()
    for template in [*ROOT.glob("node/templates/*.html"), *ROOT.glob("hub/templates/*.html"),
                     *ROOT.glob("web/templates/*.html")]:
        used |= set(re.findall(r'_\("([^"]+)"\)', template.read_text(encoding="utf-8")))
        used |= set(re.findall(r"_\('([^']+)'\)", template.read_text(encoding="utf-8")))

    missing = sorted(message for message in used if not (catalog.get(message) and catalog.get(message).string))

    assert missing == []
