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

    def __init__(self, problem: str, path: str = "") -> None:
        super().__init__(f"${path}: {problem}")
        self.problem = problem
        self.path = path

    def within(self, step: str) -> NotCanonical:
        """The same problem, one step further from the top."""
        return NotCanonical(self.problem, step + self.path)


_PLAIN = frozenset({str, bytes, bool, type(None)})


def _normalise(value: Any) -> Any:
    """``value`` with maps sorted and subclasses made plain; raises :class:`NotCanonical` with the
    path to the bad part (built only when something is wrong, so the common case stays fast)."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is int:
        if not INT_MIN <= value <= INT_MAX:
            raise NotCanonical(f"integer {value} does not fit in 64 bits")
        return value
    if kind is dict:
        out = {}
        for key in sorted(value) if all(type(key) is str for key in value) else _bad_keys(value):
            try:
                out[key] = _normalise(value[key])
            except NotCanonical as exc:
                raise exc.within(f".{key}") from None
        return out
    if kind is list or kind is tuple:
        if all(type(item) in _PLAIN for item in value):
            return value  # a list of plain values (a sync link, say) is canonical as it is
        items = []
        for index, item in enumerate(value):
            try:
                items.append(_normalise(item))
            except NotCanonical as exc:
                raise exc.within(f"[{index}]") from None
        return items
    if kind is float:
        raise NotCanonical("floats are not accepted; use integer fen or hundredths")
    if isinstance(value, int | str | bytes):  # subclasses such as IntEnum / StrEnum
        return _normalise(_base(value))
    raise NotCanonical(f"{kind.__name__} has no canonical encoding")


def _bad_keys(value: dict[Any, Any]) -> list[str]:
    key = next(key for key in value if type(key) is not str)
    raise NotCanonical(f"map keys must be strings, got {type(key).__name__}")


def _base(value: Any) -> Any:
    for base in (bool, int, str, bytes):
        if isinstance(value, base):
            return base(value)
    raise NotCanonical(type(value).__name__)


def encode(value: Any) -> bytes:
    """Canonical bytes of ``value``."""
    try:
        return msgpack.packb(_normalise(value), use_bin_type=True)
    except NotCanonical as exc:
        raise NotCanonical(exc.problem, exc.path) from None


def decode(encoded: bytes) -> Any:
    """Inverse of :func:`encode` (maps come back as dicts, arrays as lists)."""
    return msgpack.unpackb(encoded, raw=False, strict_map_key=True, use_list=True)
