"""The one phone normaliser, on the ways people really type numbers (from the shared lead exports)."""

from __future__ import annotations

import pytest

from campus.schema.phones import InvalidPhone, normalise_phone


@pytest.mark.parametrize(("typed", "stored"), [
    ("138 0013 8000", "13800138000"), ("+86 139-1234-5678", "13912345678"), ("8613912345678", "13912345678"),
    ("010-6552 1234", "01065521234"), ("(021)64381234", "02164381234"), ("１３９１１１１２２２２", "13911112222"),
    ("0755-8888 6666", "075588886666"), ("020 12345678", "02012345678"), (" 15012345678 ", "15012345678"),
    ("186-1234-5678", "18612345678"), (13800138000, "13800138000"), ("0086 13800138000", "13800138000"),
])
def test_numbers_are_stored_as_digits_only(typed: str, stored: str) -> None:
    assert normalise_phone(typed) == stored


@pytest.mark.parametrize("typed", ["12345", "", None, "12012345678", "1381234567", "138123456789", "138-abcd-0000"])
def test_malformed_numbers_are_refused_with_a_reason(typed: str | None) -> None:
    with pytest.raises(InvalidPhone) as refused:
        normalise_phone(typed)

    assert refused.value.reason


@pytest.mark.parametrize("prefix", ["13", "14", "15", "16", "17", "18", "19"])
def test_every_mainland_mobile_prefix_is_accepted(prefix: str) -> None:
    assert normalise_phone(f"{prefix}812345678") == f"{prefix}812345678"
