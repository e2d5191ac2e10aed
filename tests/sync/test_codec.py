"""The canonical codec: equal values give equal bytes on every machine; floats never get in."""

from __future__ import annotations

import hashlib
import random
from enum import IntEnum, StrEnum

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from campus.sync.changes import Change, decode_change
from campus.sync.codec import NotCanonical, decode, encode, pack, unpack

scalars = st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64 - 1) | st.text() | st.binary()
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner,
                                                                                          max_size=5), max_leaves=30)


@given(values)
def test_decoding_gives_back_what_was_encoded(value: object) -> None:
    assert decode(encode(value)) == value


@given(st.dictionaries(st.text(), scalars, min_size=2, max_size=12), st.randoms())
def test_equal_maps_encode_to_equal_bytes_whatever_their_insertion_order(mapping: dict, rng: random.Random) -> None:
    keys = list(mapping)
    rng.shuffle(keys)
    shuffled = {key: mapping[key] for key in keys}

    assert encode(shuffled) == encode(mapping)
    assert encode({"outer": shuffled}) == encode({"outer": mapping})


def test_known_value_has_known_bytes() -> None:
    # Pinned: a codec change that alters these bytes breaks every stored hash chain.
    assert encode({"b": 1, "a": [True, None, "课"], "c": b"\x00"}).hex() == \
        "83a16193c3c0a3e8afbea16201a163c40100"


def test_every_width_of_integer_string_bytes_array_and_map_keeps_its_known_bytes() -> None:
    # Pinned from msgpack-python (packb, use_bin_type=True), which wrote the codec's bytes before
    # msgspec did: every stored hash chain depends on the two agreeing.
    value = {"ints": [0, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**63 - 1, 2**64 - 1,
                      -1, -32, -33, -128, -129, -32768, -32769, -2**31, -2**31 - 1, -2**63],
             "text": ["", "a" * 31, "a" * 32, "课" * 100, "b" * 65536],
             "bytes": [b"", b"\x00" * 255, b"\x01" * 256, b"\x02" * 65536],
             "lists": [[], [None] * 15, [True] * 16, [False] * 65536],
             "maps": {str(i): i for i in range(16)}}

    assert hashlib.sha256(encode(value)).hexdigest() == \
        "6b674d8b031d70fecb92996701905993b8d8ee24f06608ffbf6b43783e7431a6"


def test_tuples_encode_like_lists() -> None:
    assert encode((1, "a")) == encode([1, "a"])


@pytest.mark.parametrize("value", [1.5, {"amount_fen": 12.0}, [1, [2, 0.1]], {"a": {"b": float("nan")}}])
def test_a_float_anywhere_is_refused_naming_where(value: object) -> None:
    with pytest.raises(NotCanonical, match="floats are not accepted"):
        encode(value)


@pytest.mark.parametrize("value", [{1: "x"}, {("a",): 1}, {1, 2}, 2**64, -(2**63) - 1])
def test_values_without_a_canonical_form_are_refused(value: object) -> None:
    with pytest.raises(NotCanonical):
        encode(value)


class Level(IntEnum):
    ONE = 1


class Pool(StrEnum):
    LEAD = "lead"


def test_enum_values_encode_like_their_plain_values() -> None:
    assert encode({"level": Level.ONE, "pool": Pool.LEAD}) == encode({"level": 1, "pool": "lead"})


def test_a_change_reads_back_from_its_canonical_bytes() -> None:
    change = Change(node="n", seq=3, hlc=1 << 40, table="leads", row_id="r1", op="update",
                    fields={"name": "张伟", "deleted": False}, schema=13)

    assert decode_change(change.encode()) == change


@pytest.mark.parametrize(("wire", "named"), [
    ({"seq": "3"}, "seq"), ({"fields": ["name"]}, "fields"), ({"id": None}, "id"), ({"op": "delete"}, "op")])
def test_a_change_with_a_field_of_the_wrong_type_is_refused_naming_it(wire: dict, named: str) -> None:
    good = {"node": "n", "seq": 3, "hlc": 1, "table": "leads", "id": "r1", "op": "update", "fields": {},
            "schema": 13}

    with pytest.raises(ValueError, match=named):
        decode_change(encode({**good, **wire}))


@pytest.mark.parametrize("value", [12.5, [1, 2], {"yuan": 1}, 2**63, 2**64 - 1])
def test_a_change_carrying_a_float_or_a_nested_value_is_refused_as_it_is_read(value: object) -> None:
    body = msgspec.msgpack.encode({"node": "n", "seq": 3, "hlc": 1, "table": "payments", "id": "r1", "op": "insert",
                                   "fields": {"amount_fen": value}, "schema": 13})

    with pytest.raises(ValueError, match="amount_fen"):
        decode_change(body)


@pytest.mark.parametrize("encoded", [
    bytes.fromhex("810102"),  # {1: 2}
    bytes.fromhex("9181a16181910102"),  # [{"a": {[1]: 2}}]
    bytes.fromhex("0102"),  # two values
    bytes.fromhex("9201"),  # cut short
    bytes.fromhex("c1"),  # no such type
    bytes.fromhex("91") * 100_000 + b"\x01",  # nested beyond any real value
])
def test_bytes_that_are_not_one_value_with_string_keys_are_refused_as_value_errors(encoded: bytes) -> None:
    with pytest.raises(ValueError):
        decode(encoded)


def test_packing_a_list_of_plain_values_gives_the_canonical_bytes() -> None:
    links = [(1, b"change", bytes(32)), (2, "课".encode(), b"\xff" * 32)]

    assert pack(links) == encode(links)
    assert unpack(pack(links)) == decode(encode(links)) == [list(link) for link in links]
