"""Time-ordered ids and campus-prefixed human numbers."""

from __future__ import annotations

import uuid

import pytest

from campus.schema.ids import human_number, new_id, validate_campus_code


def test_ids_are_uuid_version_7() -> None:
    value = uuid.UUID(new_id())

    assert (value.version, value.variant) == (7, uuid.RFC_4122)


def test_ids_made_in_a_tight_loop_are_unique_and_sorted() -> None:
    ids = [new_id() for _ in range(10_000)]

    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_human_numbers_carry_the_campus_code() -> None:
    assert human_number("BJ01", "receipt", 123) == "BJ01-R-000123"
    assert human_number("SH01", "lead", 1) == "SH01-L-000001"


@pytest.mark.parametrize("bad", ["bj01", "", "1ABC", "B", "ABCDEFGHIJKLM", "BJ 01"])
def test_bad_campus_codes_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        validate_campus_code(bad)
