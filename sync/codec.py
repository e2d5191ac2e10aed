"""Canonical msgpack: the same value encodes to the same bytes on every machine.

Maps are written with their keys sorted, integers in msgpack's shortest form (a function of
the value alone), strings as UTF-8 and bytes as bin. Floats are refused: money and hours
are integers, and a float's bytes would not be stable across writers anyway.
"""

from __future__ import annotations

from typing import Any

import msgpack

INT_MIN = -(1 << 63)
INT_MAX = (1 << 64) - 1


class NotCanonical(TypeError):
    """A value that has no canonical encoding (a float, a set, a non-string map key...)."""


def _normalise(value: Any, path: str) -> Any:
    kind = type(value)
    if value is None or kind is bool or kind is str or kind is bytes:
        return value
    if kind is int:
        if not INT_MIN <= value <= INT_MAX:
            raise NotCanonical(f"{path}: integer {value} does not fit in 64 bits")
        return value
    if kind is dict:
        out = {}
        for key in sorted(value):
            if type(key) is not str:
                raise NotCanonical(f"{path}: map keys must be strings, got {type(key).__name__}")
            out[key] = _normalise(value[key], f"{path}.{key}")
        return out
    if kind is list or kind is tuple:
        return [_normalise(item, f"{path}[{i}]") for i, item in enumerate(value)]
    if kind is float:
        raise NotCanonical(f"{path}: floats are not accepted; use integer fen or hundredths")
    if isinstance(value, int | str | bytes):  # subclasses such as IntEnum / StrEnum
        return _normalise(_base(value), path)
    raise NotCanonical(f"{path}: {kind.__name__} has no canonical encoding")


def _base(value: Any) -> Any:
    for base in (bool, int, str, bytes):
        if isinstance(value, base):
            return base(value)
    raise NotCanonical(type(value).__name__)


def encode(value: Any) -> bytes:
    """Canonical bytes of ``value``."""
    return msgpack.packb(_normalise(value, "$"), use_bin_type=True)


def decode(encoded: bytes) -> Any:
    """Inverse of :func:`encode` (maps come back as dicts, arrays as lists)."""
    return msgpack.unpackb(encoded, raw=False, strict_map_key=True, use_list=True)
