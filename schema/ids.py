"""Time-ordered ids (UUIDv7) made without coordination, and campus-prefixed human numbers."""

from __future__ import annotations

import os
import re
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_last_rand = 0


def new_id() -> str:
    """A UUIDv7 string; ids made later in this process sort after earlier ones."""
    global _last_ms, _last_rand
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            # Same millisecond (or the clock went back): keep order by counting up.
            ms = _last_ms
            rand = _last_rand + 1
        else:
            rand = int.from_bytes(os.urandom(10), "big") >> 6  # 74 random bits
        _last_ms, _last_rand = ms, rand
    rand_a = (rand >> 62) & 0xFFF
    rand_b = rand & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return str(uuid.UUID(int=value))


CAMPUS_CODE = re.compile(r"^[A-Z][A-Z0-9]{1,11}$")
NUMBER_KINDS = {
    "lead": "L",
    "student": "S",
    "contract": "C",
    "receipt": "R",
    "refund": "F",
    "journal": "J",  # manual journal entries (凭证)
    "expense": "E",
    "invoice": "I",
    "ticket": "T",  # 问题单: a question, complaint or request
}


def validate_campus_code(code: str) -> str:
    if not CAMPUS_CODE.match(code or ""):
        raise ValueError(f"campus code {code!r} must be 2-12 upper-case letters or digits, starting with a letter")
    return code


def human_number(campus_code: str, kind: str, counter: int) -> str:
    """``BJ01-R-000123``: unique across campuses because each campus numbers only its own."""
    return f"{campus_code}-{NUMBER_KINDS[kind]}-{counter:06d}"
