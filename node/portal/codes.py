"""One-time sign-in codes and the portal's lock-outs, as pure rules: a code is six digits, kept only
as a keyed hash, expires, is used once; a phone gets a code at most every so many seconds and so
many an hour; five wrong codes (or passwords) in the lock window lock that phone (or student number)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

CODE_DIGITS = 6


@dataclass(frozen=True)
class PortalSettings:
    """campus.toml [portal]."""

    code_ttl_seconds: int = 300
    code_resend_seconds: int = 60
    codes_per_hour: int = 5
    max_failures: int = 5
    lock_minutes: int = 15
    # Code requests from one client address (any phones) in the window: one machine cannot walk
    # through many numbers, each under its own per-phone limit.
    codes_per_address: int = 20
    address_window_minutes: int = 15
    # The key codes are hashed with (from the node's secret key): a stolen store does not give them away.
    code_key: str = field(default="portal-codes", repr=False, compare=False)

    def __post_init__(self) -> None:
        for name, low, high in (("code_ttl_seconds", 30, 3600), ("code_resend_seconds", 0, 3600),
                                ("codes_per_hour", 1, 100), ("max_failures", 1, 100), ("lock_minutes", 1, 1440),
                                ("codes_per_address", 1, 10_000), ("address_window_minutes", 1, 1440)):
            value = getattr(self, name)
            if type(value) is not int or not low <= value <= high:
                raise ValueError(f"[portal] {name} is a whole number from {low} to {high}")

    @property
    def lock_window(self) -> timedelta:
        return timedelta(minutes=self.lock_minutes)

    @property
    def address_window(self) -> timedelta:
        return timedelta(minutes=self.address_window_minutes)


def new_code() -> str:
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def code_hash(key: str, phone: str, code: str) -> str:
    """The only form a code is stored in: an HMAC keyed with the node's secret, bound to the phone."""
    return hmac.new(key.encode(), f"{phone}|{code}".encode(), hashlib.sha256).hexdigest()


def matches(key: str, phone: str, code: str, stored_hash: str) -> bool:
    return hmac.compare_digest(code_hash(key, phone, code), stored_hash)


def why_no_code(last_sent: datetime | None, sent_last_hour: int, now: datetime, settings: PortalSettings
                ) -> str | None:
    """Why a phone may not be sent another code now ("wait": too soon after the last, "hourly": too
    many this hour), or None."""
    if last_sent is not None and now - last_sent < timedelta(seconds=settings.code_resend_seconds):
        return "wait"
    if sent_last_hour >= settings.codes_per_hour:
        return "hourly"
    return None


def is_locked(failures_in_window: int, settings: PortalSettings) -> bool:
    return failures_in_window >= settings.max_failures


def usable(expires_at: datetime, used: bool, now: datetime) -> bool:
    return not used and now < expires_at
