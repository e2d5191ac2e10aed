"""Canonical msgpack: the same value encodes to the same bytes on every machine.

Maps are written with their keys sorted, integers in msgpack's shortest form (a function of
the value alone), strings as UTF-8 and bytes as bin. Floats are refused: money and hours
are integers, and a float's bytes would not be stable across writers anyway.

The bytes are msgspec's MessagePack (the same bytes msgpack-python wrote with ``use_bin_type``,
which earlier versions used: every stored hash depends on them, and tests pin them).
"""

from __future__ import annotations

from typing import Any

import msgspec

INT_MIN = -(1 << 63)
INT_MAX = (1 << 64) - 1
_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder()


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


_BASES: tuple[type, ...] = (bool, int, str, bytes)


def _base(value: Any) -> Any:
    for base in _BASES:
        if isinstance(value, base):
            return base(value)
    raise NotCanonical(type(value).__name__)


def encode(value: Any) -> bytes:
    """Canonical bytes of ``value``."""
    try:
        return _ENCODER.encode(_normalise(value))
    except NotCanonical as exc:
        raise NotCanonical(exc.problem, exc.path) from None


def decode(encoded: bytes) -> Any:
    """Inverse of :func:`encode` (maps come back as dicts, arrays as lists); raises ValueError for
    bytes that are not one msgpack value or hold a map key that is not a string."""
    try:
        value = _DECODER.decode(encoded)
    except RecursionError:
        raise ValueError("msgpack value nested too deeply") from None
    _check_keys(value)
    return value


def pack(value: list[Any]) -> bytes:
    """The same bytes as :func:`encode`, without its checks, for a list our own code built of plain
    values (the links of a stored push, the bodies of a feed segment): thousands of them are
    packed per push, and checking each would cost more than packing it."""
    return _ENCODER.encode(value)


def unpack(packed: bytes) -> Any:
    """Inverse of :func:`pack`, for bytes this system stored (no checks)."""
    return _DECODER.decode(packed)


def _check_keys(value: Any) -> None:
    """Refuse a map key that is not a string anywhere in ``value`` (without recursion: the nesting
    comes from the sender)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if type(item) is dict:
            for key, inner in item.items():
                if type(key) is not str:
                    raise ValueError(f"{type(key).__name__} is not allowed for map key")
                if type(inner) is dict or type(inner) is list:
                    pending.append(inner)
        elif type(item) is list:
            pending.extend(inner for inner in item if type(inner) is dict or type(inner) is list)
