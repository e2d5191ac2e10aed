"""Every action a use case audits has a label on the audit screen (and in its Chinese catalogue):
the audit trail never shows a raw code where a label belongs."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

from campus.web.accounts.routes import AUDITED_ACTIONS
from campus.web.i18n import LOCALE_DIR

ROOT = Path(__file__).parents[2]
# Names built at run time: every value each f-string can take
DYNAMIC = {"student_admit", "student_finish", "student_withdraw", "student_readmit", "contract_expand",
           "contract_shrink", "contract_write_off", "contract_extend", "contract_exchange", "expense_approved",
           "expense_rejected"}


def _audited() -> set[str]:
    found = set(DYNAMIC)
    for folder in ("node", "hub", "web", "campus"):
        for source in (ROOT / folder).rglob("*.py"):
            found |= set(re.findall(r'audit\(\s*"([a-z_]+)"', source.read_text(encoding="utf-8")))
    return found


def test_every_audited_action_has_a_label_on_the_audit_screen() -> None:
    assert sorted(_audited() - set(AUDITED_ACTIONS)) == []


def test_every_audit_label_is_translated() -> None:
    with (LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale="zh_CN")
    missing = [label for label in AUDITED_ACTIONS.values() if not (catalog.get(label) and catalog.get(label).string)]
    assert missing == []
