"""Message kinds, the named fields each one provides, and the default wording in Simplified Chinese
and English per channel. Pure: a template is checked when it is saved (a field the kind does not
provide is refused then, never when the message is sent) and rendered from plain strings.

Placeholders are ``{field}``; ``{{`` and ``}}`` write a brace. Nothing but a bare field name is
allowed inside braces (no attribute, index, conversion or format), so a template cannot reach
into the values it is given.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from enum import StrEnum

from campus.schema.errors import Invalid


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"


LOCALES = ("zh_CN", "en")


@dataclass(frozen=True)
class Kind:
    fields: tuple[str, ...]
    urgent: bool = False  # sent in quiet hours too (a sign-in code is wanted now)
    secret: bool = False  # its body is blanked once sent and never shown to staff
    to_staff: bool = False  # sent to a member of staff, not a family (no family opts out of it)
    campaign: bool = False  # worded by a marketing template chosen when sent, not per kind


COMMON = ("campus_name",)
KINDS: dict[str, Kind] = {
    "receipt_issued": Kind(("student_name", "receipt_number", "amount", "paid_on", *COMMON)),
    "ticket_reply": Kind(("student_name", "ticket_number", "subject", "reply", *COMMON)),
    "birthday": Kind(("student_name", *COMMON)),
    "lesson_reminder": Kind(("student_name", "course_name", "starts_at", "room", *COMMON)),
    "low_hours": Kind(("student_name", "course_name", "remaining_hours", *COMMON)),
    "contract_expiring": Kind(("student_name", "contract_number", "expires_on", "remaining_hours", *COMMON)),
    "absence_alert": Kind(("student_name", "course_name", "starts_at", *COMMON)),
    "leave_confirmed": Kind(("student_name", "course_name", "starts_at", *COMMON)),
    "sign_in_code": Kind(("code", "minutes", *COMMON), urgent=True, secret=True),
    # to the consultant who holds the lead (only they see their private pool; the lead's phone is not in it)
    "follow_up_due": Kind(("consultant_name", "lead_name", "lead_number", "due_on", *COMMON), to_staff=True),
    "marketing": Kind(("name", *COMMON), campaign=True),  # to a segment: {name} is the student's or the lead's
}

# (kind, locale) → (e-mail subject, text); SMS sends the text alone, prefixed with 【campus】.
DEFAULTS: dict[tuple[str, str], tuple[str, str]] = {
    ("receipt_issued", "zh_CN"): ("{campus_name}收款收据 {receipt_number}",
                                  "{student_name}家长您好，已收到学费 {amount} 元（收据号 {receipt_number}，{paid_on}）。谢谢！"),
    ("receipt_issued", "en"): ("{campus_name} receipt {receipt_number}",
                               "Dear parent of {student_name}, we received {amount} yuan on {paid_on} "
                               "(receipt {receipt_number}). Thank you!"),
    ("ticket_reply", "zh_CN"): ("问题单 {ticket_number} 有新回复",
                                "关于「{subject}」（{ticket_number}）：{reply}"),
    ("ticket_reply", "en"): ("A reply to {ticket_number}", "About \"{subject}\" ({ticket_number}): {reply}"),
    ("birthday", "zh_CN"): ("生日快乐", "{student_name}同学，{campus_name}全体老师祝你生日快乐！"),
    ("birthday", "en"): ("Happy birthday", "Happy birthday, {student_name}, from everyone at {campus_name}!"),
    ("lesson_reminder", "zh_CN"): ("明天的课程提醒",
                                   "{student_name}同学明天 {starts_at} 有{course_name}课，地点：{room}。请准时到校。"),
    ("lesson_reminder", "en"): ("Tomorrow's lesson",
                                "{student_name} has {course_name} tomorrow at {starts_at}, room {room}."),
    ("low_hours", "zh_CN"): ("课时不足提醒", "{student_name}同学的{course_name}仅剩 {remaining_hours} 课时，请及时续费。"),
    ("low_hours", "en"): ("Few hours left",
                          "{student_name} has {remaining_hours} hours of {course_name} left; time to renew."),
    ("contract_expiring", "zh_CN"): ("合同即将到期",
                                     "{student_name}同学的合同 {contract_number} 将于 {expires_on} 到期，"
                                     "仍有 {remaining_hours} 课时未上，请尽快安排。"),
    ("contract_expiring", "en"): ("Contract expiring",
                                  "{student_name}'s contract {contract_number} expires on {expires_on} with "
                                  "{remaining_hours} hours still to use."),
    ("absence_alert", "zh_CN"): ("缺勤提醒", "{student_name}同学未参加 {starts_at} 的{course_name}课，请与我们联系。"),
    ("absence_alert", "en"): ("Absence", "{student_name} missed {course_name} at {starts_at}; please contact us."),
    ("leave_confirmed", "zh_CN"): ("请假已登记", "{student_name}同学 {starts_at} 的{course_name}课请假已登记。"),
    ("leave_confirmed", "en"): ("Leave recorded", "{student_name}'s leave from {course_name} at {starts_at} is recorded."),
    ("follow_up_due", "zh_CN"): ("跟进提醒：{lead_name}", "{consultant_name}老师，线索 {lead_name}（{lead_number}）"
                                 "约定 {due_on} 跟进，请及时联系。"),
    ("follow_up_due", "en"): ("Follow-up due: {lead_name}", "{consultant_name}, the follow-up of {lead_name} "
                              "({lead_number}) is due on {due_on}."),
    ("sign_in_code", "zh_CN"): ("登录验证码", "您的验证码是 {code}，{minutes} 分钟内有效。请勿告诉他人。"),
    ("sign_in_code", "en"): ("Sign-in code", "Your code is {code}, valid for {minutes} minutes. Do not share it."),
}

MAX_SUBJECT = 200
MAX_BODY = 2000


def placeholders(text: str, field: str) -> set[str]:
    """The fields ``text`` names; a malformed or non-plain placeholder is refused naming ``field``."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise Invalid(field, f"a brace is not closed or not doubled: {exc}") from None
    names = set()
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise Invalid(field, f"{{{name}}}: a placeholder is a field name only, like {{student_name}}")
        names.add(name)
    return names


def check_template(kind: str, subject: str | None, body: str, suffix: str = "") -> None:
    """A campus's wording of ``kind``: every placeholder must be a field the kind provides (a fault
    names subject or body, with ``suffix``: body_en)."""
    known = KINDS.get(kind)
    if known is None:
        raise Invalid("kind", f"one of {', '.join(KINDS)}")
    if not body.strip():
        raise Invalid(f"body{suffix}", "must not be empty")
    if len(body) > MAX_BODY:
        raise Invalid(f"body{suffix}", f"at most {MAX_BODY} characters")
    if subject is not None and len(subject) > MAX_SUBJECT:
        raise Invalid(f"subject{suffix}", f"at most {MAX_SUBJECT} characters")
    for field, text in ((f"subject{suffix}", subject or ""), (f"body{suffix}", body)):
        unknown = placeholders(text, field) - set(known.fields)
        if unknown:
            raise Invalid(field, f"{', '.join(sorted(unknown))}: not a field of {kind} "
                                 f"(its fields: {', '.join(known.fields)})", unknown=sorted(unknown))


def render(text: str, values: dict[str, str]) -> str:
    """``text`` with each placeholder replaced by its value (a checked template names no other)."""
    return text.format_map({name: str(value) for name, value in values.items()})


def wording(kind: str, locale: str, saved: tuple[str | None, str] | None = None) -> tuple[str, str]:
    """The (subject, text) a message of ``kind`` is written from: the campus's saved wording, else
    the default in ``locale`` (else in Chinese)."""
    if saved is not None:
        subject, body = saved
        default_subject = DEFAULTS.get((kind, locale), DEFAULTS[(kind, "zh_CN")])[0]
        return subject or default_subject, body
    return DEFAULTS.get((kind, locale), DEFAULTS[(kind, "zh_CN")])
