"""The hub's group figures under random facts at three campuses: each campus's statement read off
the roll-ups is the one its journal gives, and the group is the sum of the campuses less the
eliminations, balanced, with no inter-campus current account left in it."""

from __future__ import annotations

import tempfile
from collections import defaultdict
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from sqlalchemy import insert

from campus.hub.books import statements
from campus.hub.books.rollups import apply_journal
from campus.hub.store import HubStore
from campus.schema.books.posting import BooksSettings
from campus.schema.books.projection import project, trial_balance
from campus.schema.db import sqlite_url
from campus.schema.tables import campuses
from tests.schema.books.test_properties import CAMPUSES, CODES, book_settings, make_facts, steps

EVERY_MONTH = ("2020-01", "2035-12")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=steps, books=book_settings)
def test_the_group_is_the_campuses_less_the_eliminations_and_balances(plan: list[tuple],
                                                                      books: BooksSettings) -> None:
    projected = project(make_facts(plan), settings=books, campus_codes=CODES)
    with tempfile.TemporaryDirectory() as folder:
        store = HubStore(sqlite_url(Path(folder) / "hub.sqlite"), "hub")
        try:
            with store.write() as conn:
                conn.execute(insert(campuses), [{"id": c, "code": CODES[c], "name": CODES[c],
                                                 "created_at": "2026-01-01T00:00:00Z", "deleted": False}
                                                for c in CAMPUSES])
                for campus in CAMPUSES:
                    apply_journal(conn, campus, projected.of_campus(campus))
            with store.read() as conn:
                trial = statements.group_trial_balance(conn, *EVERY_MONTH)
                income = statements.group_income_statement(conn, *EVERY_MONTH)
        finally:
            store.close()

    for shown in trial["campuses"]:
        own = {r.code: (r.debit_fen, r.credit_fen, r.closing_fen)
               for r in trial_balance(projected.of_campus(shown["campus_id"]), *EVERY_MONTH)}
        assert {r["code"]: (r["debit_fen"], r["credit_fen"], r["closing_fen"]) for r in shown["rows"]} == own
        assert shown["total"]["balanced"]

    summed: dict[str, int] = defaultdict(int)
    for shown in trial["campuses"]:
        for row in shown["rows"]:
            summed[row["code"]] += row["closing_fen"]
    for row in trial["eliminations"]["rows"]:
        summed[row["code"]] -= row["closing_fen"]
    grouped = {r["code"]: r["closing_fen"] for r in trial["group"]["rows"]}
    assert {k: v for k, v in summed.items() if v} == {k: v for k, v in grouped.items() if v}
    assert trial["group"]["total"]["balanced"] and sum(grouped.values()) == 0
    assert not any(code.startswith("1221.") and amount for code, amount in grouped.items())

    campus_profit = sum(c["total"]["profit_fen"] for c in income["campuses"])
    assert income["eliminations"]["total"]["profit_fen"] == 0  # settlement revenue at one is cost at the other
    assert income["group"]["total"]["profit_fen"] == campus_profit
