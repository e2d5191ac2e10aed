"""A change, its canonical bytes, and the hash chain that links a node's changes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Annotated, Any, Final, Literal

import msgspec

from campus.sync import codec

GENESIS_HASH = bytes(32)
# A column's integer is a 64-bit one (SQLite's and PostgreSQL's BIGINT); anything wider is refused as read.
Int64 = Annotated[int, msgspec.Meta(ge=-(1 << 63), le=(1 << 63) - 1)]
INSERT: Final = "insert"
UPDATE: Final = "update"
OPS = (INSERT, UPDATE)


class Change(msgspec.Struct, frozen=True, gc=False):
    """One row write as it travels. Its canonical bytes come from :mod:`campus.sync.codec`
    (sorted keys); reading them back goes through msgspec, which builds the object straight
    from the bytes and checks every field's type (a few times faster than a dict first)."""

    node: str
    seq: int
    hlc: int
    table: str
    row_id: str = msgspec.field(name="id")
    op: Literal["insert", "update"]
    # Column values: text, integers (money in fen, hours in hundredths), booleans, NULL. A float or
    # a nested value is refused as the change is read. (No replicated table has a binary column;
    # msgspec cannot put bytes beside str in one union, so adding one means a wire type for it.)
    fields: dict[str, str | Int64 | bool | None]
    schema: int
    # For an update: the version ``[hlc, node]`` each field had where it was written, i.e. the
    # value its writer saw. A newer write that arrives second overwrote something its writer
    # never saw when the stored version is newer than this: a concurrent edit, kept as a conflict.
    base: dict[str, tuple[Int64, str]] | None = None

    def to_wire(self) -> dict[str, Any]:
        wire = {
            "fields": self.fields,
            "hlc": self.hlc,
            "id": self.row_id,
            "node": self.node,
            "op": self.op,
            "schema": self.schema,
            "seq": self.seq,
            "table": self.table,
        }
        if self.base is not None:  # absent, not null, where there is none: older changes hash as they did
            wire["base"] = {name: list(version) for name, version in self.base.items()}
        return wire

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> Change:
        base = wire.get("base")
        return cls(node=wire["node"], seq=wire["seq"], hlc=wire["hlc"], table=wire["table"], row_id=wire["id"],
                   op=wire["op"], fields=wire["fields"], schema=wire["schema"],
                   base={name: (hlc, node) for name, (hlc, node) in base.items()} if base is not None else None)

    def encode(self) -> bytes:
        return codec.encode(self.to_wire())


_DECODER = msgspec.msgpack.Decoder(Change)


def decode_change(body: bytes) -> Change:
    """The change in ``body``; raises ValueError naming what is wrong with it."""
    try:
        return _DECODER.decode(body)
    except msgspec.DecodeError as exc:
        raise ValueError(_explain(body, exc)) from None


def _explain(body: bytes, error: msgspec.DecodeError) -> str:
    """msgspec says ``$.fields[...]`` for a bad column value; name the column instead."""
    try:
        fields = codec.decode(body).get("fields")
    except Exception:  # the body is not msgpack at all: msgspec's own words say so
        return str(error)
    if isinstance(fields, dict):
        for name, value in fields.items():
            if not (value is None or type(value) in (str, int, bool)):
                return (f"fields.{name}: a {type(value).__name__} is not a column value "
                        "(text, an integer, a boolean or null)")
            if type(value) is int and not -(1 << 63) <= value < (1 << 63):
                return f"fields.{name}: {value} is wider than a 64-bit integer"
    return str(error)


def link_hash(previous_hash: bytes, encoded_change: bytes) -> bytes:
    """``SHA-256(previous_hash ‖ canonical(change))``."""
    return hashlib.sha256(previous_hash + encoded_change).digest()


class ChainBroken(Exception):
    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(f"change log broken at seq {seq}: {reason}")
        self.seq = seq
        self.reason = reason


def verify_chain(
    links: Iterable[tuple[int, bytes, bytes]],
    after_seq: int = 0,
    after_hash: bytes = GENESIS_HASH,
) -> tuple[int, bytes]:
    """Check ``(seq, encoded change, hash)`` links continue from ``(after_seq, after_hash)``.

    Returns the head ``(seq, hash)`` reached; raises :class:`ChainBroken` at the first bad link.
    """
    seq, previous = after_seq, after_hash
    for link_seq, encoded, stored_hash in links:
        if link_seq != seq + 1:
            raise ChainBroken(link_seq, f"expected seq {seq + 1}")
        if link_hash(previous, encoded) != stored_hash:
            raise ChainBroken(link_seq, "hash does not match the change and its predecessor")
        wire = codec.decode(encoded)
        if wire.get("seq") != link_seq:
            raise ChainBroken(link_seq, "the change names another seq")
        seq, previous = link_seq, stored_hash
    return seq, previous
