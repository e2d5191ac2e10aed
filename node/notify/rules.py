"""When the outbox may send a message: retries with exponential backoff, quiet hours in the
campus's day, and the limits per recipient and per channel. Pure: values in, values out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

BACKOFF_CAP = timedelta(hours=6)
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


@dataclass(frozen=True)
class NotifySettings:
    """campus.toml [notify]: what is sent and how fast (the SMTP server and the SMS adapter are in
    the node's configuration, not here: rules do not talk to the network)."""

    locale: str = "zh_CN"  # the language messages are written in ([ui] default_locale)
    channels: tuple[str, ...] = ("sms", "email")  # those set up at the campus (an SMTP host, an SMS adapter)
    quiet_start: str = "21:00"  # campus time; equal start and end: no quiet hours
    quiet_end: str = "08:00"
    per_recipient_per_hour: int = 6
    per_channel_per_minute: int = 60
    max_attempts: int = 8  # then the message is failed, for staff to look at
    retry_seconds: int = 60  # the first retry's wait; each next one waits twice as long
    low_hours_x100: int = 400  # a line with this many hours or fewer left (and some left): low hours
    expiring_days: int = 14  # a contract with hours left expiring within this many days
    lesson_reminder_hour: int = 17  # the day before a lesson, reminders are written from this hour

    def __post_init__(self) -> None:
        for name in ("quiet_start", "quiet_end"):
            if not HHMM.match(getattr(self, name)):
                raise ValueError(f"[notify] {name} is a time like 21:00")
        for name, low, high in (("per_recipient_per_hour", 1, 1000), ("per_channel_per_minute", 1, 100_000),
                                ("max_attempts", 1, 100), ("retry_seconds", 1, 86_400),
                                ("low_hours_x100", 0, 1_000_000), ("expiring_days", 0, 366),
                                ("lesson_reminder_hour", 0, 23)):
            value = getattr(self, name)
            if type(value) is not int or not low <= value <= high:
                raise ValueError(f"[notify] {name} is a whole number from {low} to {high}")


def backoff(attempts: int, retry_seconds: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 1, 2, 4, 8... times ``retry_seconds``,
    never more than six hours."""
    return min(timedelta(seconds=retry_seconds * 2 ** max(attempts - 1, 0)), BACKOFF_CAP)


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def quiet_until(local_now: datetime, quiet_start: str, quiet_end: str) -> datetime | None:
    """The local instant quiet hours end if ``local_now`` (aware, in the campus's zone) falls in
    them, else None. The window may run past midnight (21:00–08:00) or not (12:00–14:00)."""
    start, end = _clock(quiet_start), _clock(quiet_end)
    if start == end:
        return None
    now = local_now.timetz().replace(tzinfo=None)
    today_end = local_now.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if start < end:
        return today_end if start <= now < end else None
    if now >= start:
        return today_end + timedelta(days=1)
    if now < end:
        return today_end
    return None


def over_limit(sent_to_recipient_last_hour: int, sent_on_channel_last_minute: int,
               settings: NotifySettings) -> str | None:
    """Which limit one more message would break ("recipient" or "channel"), or None."""
    if sent_to_recipient_last_hour >= settings.per_recipient_per_hour:
        return "recipient"
    if sent_on_channel_last_minute >= settings.per_channel_per_minute:
        return "channel"
    return None
