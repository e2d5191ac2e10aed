"""The one phone normaliser: the dedupe key of leads across the institution."""

from __future__ import annotations

import re
import unicodedata

MOBILE = re.compile(r"^1[3-9]\d{9}$")
# 010 and 02X have 3-digit area codes; every other 0XXX code has 4 digits.
LANDLINE = re.compile(r"^(010|02\d|0[3-9]\d{2})([1-9]\d{6,7})$")
SEPARATORS = re.compile(r"[\s\-()（）.]")


class InvalidPhone(ValueError):
    def __init__(self, typed: str, reason: str) -> None:
        super().__init__(f"{typed!r} is not a valid phone number: {reason}")
        self.typed = typed
        self.reason = reason


def normalise_phone(typed: str | int | None) -> str:
    """Mainland mobiles as 11 digits, landlines as area code + number, digits only."""
    if typed is None or str(typed).strip() == "":
        raise InvalidPhone("", "empty")
    text = unicodedata.normalize("NFKC", str(typed)).strip()
    digits = SEPARATORS.sub("", text)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if not digits.isdigit():
        raise InvalidPhone(str(typed), "contains characters other than digits")
    if MOBILE.match(digits) or LANDLINE.match(digits):
        return digits
    if digits.startswith("1"):
        raise InvalidPhone(str(typed), "a mobile number has 11 digits and starts with 13-19")
    raise InvalidPhone(str(typed), "neither a mobile number nor a landline with area code")
