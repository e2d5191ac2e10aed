"""Applying a recomputed journal to a real hub store: lines diffed by entry id, the roll-ups moved
by the delta in the same transaction, so they always equal a GROUP BY of the lines (an entry a late
close moved to another month keeps its id and moves its amounts with it)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from campus.hub.books.rollups import apply_journal, stored_journal, verify
from campus.hub.store import HubStore
from campus.schema.books.posting import JournalEntry, Line
from campus.schema.db import sqlite_url
from campus.schema.tables import hub_book_eliminations, hub_book_rollups
from tests.hub.books.test_group_books import rollups_and_group_by

A, B = "00000000-0000-7000-8000-00000000000a", "00000000-0000-7000-8000-00000000000b"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HubStore]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else sqlite_url(tmp_path / "h.db")
    hub = HubStore(url, "hub")
    yield hub
    hub.close()


def entry(entry_id: str, campus: str, date: str, *lines: Line, rule: str = "receipt",
          counterpart: str | None = None) -> JournalEntry:
    return JournalEntry(entry_id, campus, date, date[:7], rule, "memo", "payments", f"f-{entry_id}", lines,
                        counterpart)


class Holder:  # rollups_and_group_by reads group.hub_store
    def __init__(self, store: HubStore) -> None:
        self.hub_store = store


def test_the_rollups_follow_every_insert_move_and_removal(store: HubStore) -> None:
    receipt = entry("e1", A, "2026-01-10", Line("1001", 500, 0), Line("2204", 0, 500))
    settlement = entry("e2", A, "2026-01-11", Line("6401", 70, 0), Line("1221.SH01", 0, 70),
                       rule="teaching_settlement", counterpart=B)
    with store.write() as conn:
        delta = apply_journal(conn, A, [receipt, settlement])
    assert (delta.inserted, delta.deleted) == (4, 0)
    held, summed = rollups_and_group_by(Holder(store))  # type: ignore[arg-type]
    assert held == summed and held[(A, "2026-01", "1001")] == (500, 0)

    late = replace(receipt, date="2026-02-01", period="2026-02", origin_period="2026-01")  # a close moved it
    with store.write() as conn:
        delta = apply_journal(conn, A, [late, settlement])
    assert (delta.inserted, delta.deleted) == (2, 2)
    held, summed = rollups_and_group_by(Holder(store))  # type: ignore[arg-type]
    assert held == summed
    assert (A, "2026-01", "1001") not in held and held[(A, "2026-02", "1001")] == (500, 0)
    with store.read() as conn:
        assert stored_journal(conn, A) == [settlement, late]
        eliminated = {(r.account, r.counterpart_campus_id): (r.debit_fen, r.credit_fen)
                      for r in conn.execute(hub_book_eliminations.select())}
    assert eliminated == {("6401", B): (70, 0), ("1221.SH01", B): (0, 70)}

    with store.write() as conn:
        apply_journal(conn, A, [late])  # the settlement's fact is gone: so are its lines and roll-ups
    with store.read() as conn:
        assert conn.execute(hub_book_eliminations.select()).all() == []
        assert {r.account for r in conn.execute(hub_book_rollups.select())} == {"1001", "2204"}
    assert verify(store) != []  # no fact in this store posts these entries: verify says so
