"""The trial balance and the balance sheet read the roll-ups through their ``*_balances`` index
(campus, account, period, debit, credit): whatever the roll-ups went through (inserts, a recompute
that rewrites, moves and drops entries of earlier months), every figure equals one summed from
scratch out of the journal lines the hub holds; and on SQLite the grouping streams off the index,
with or without statistics, never through a temporary B-tree over every roll-up row."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from campus.hub.books import statements
from campus.hub.books.rollups import apply_journal, eliminated, regroup
from campus.hub.store import HubStore
from campus.schema.books.posting import JournalEntry, Line
from campus.schema.db import sqlite_url
from campus.schema.tables import campuses, hub_book_eliminations, hub_book_rollups, hub_journal_lines

CODES = {"00000000-0000-7000-8000-00000000000a": "BJ01", "00000000-0000-7000-8000-00000000000b": "SH01",
         "00000000-0000-7000-8000-00000000000c": "GZ01"}
CAMPUSES = sorted(CODES)
MONTHS = [f"2025-{m:02d}" for m in range(1, 13)] + [f"2026-{m:02d}" for m in range(1, 7)]
WINDOWS = [("2020-01", "2035-12"), ("2025-01", "2025-01"), ("2025-04", "2025-09"), ("2026-01", "2026-06"),
           ("2025-12", "2026-02"), ("2026-06", "2030-12"), ("2019-01", "2019-12")]
PLAIN = [("1001", "2204"), ("1012.01", "2204"), ("2204", "6001"), ("6602", "1002"), ("6601", "1012.01"),
         ("1002", "2204")]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HubStore]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else sqlite_url(tmp_path / "h.db")
    hub = HubStore(url, "hub")
    with hub.write() as conn:
        conn.execute(insert(campuses), [{"id": c, "code": code, "name": code, "created_at": "2025-01-01T00:00:00Z",
                                         "deleted": False} for c, code in CODES.items()])
    yield hub
    hub.close()


def journals(rng: random.Random, count: int) -> dict[str, list[JournalEntry]]:
    """Receipts, revenue and expenses at each campus, and settlements for teaching another
    campus's students (6401 and 1221.<teacher> at the contract's campus; 1221.<owner> and 6001 at
    the teaching campus), over eighteen months."""
    made: dict[str, list[JournalEntry]] = defaultdict(list)
    for n in range(count):
        campus = rng.choice(CAMPUSES)
        period = rng.choice(MONTHS)
        date = f"{period}-{rng.randint(1, 28):02d}"
        amount = rng.randint(1, 900_000)
        if rng.random() < 0.3:
            other = rng.choice([c for c in CAMPUSES if c != campus])
            made[campus].append(JournalEntry(
                f"s{n}-a", campus, date, period, "teaching_settlement", "结算", "lessons", f"f{n}",
                (Line("6401", amount, 0), Line(f"1221.{CODES[other]}", 0, amount)), other))
            made[other].append(JournalEntry(
                f"s{n}-b", other, date, period, "teaching_settlement", "结算", "lessons", f"f{n}",
                (Line(f"1221.{CODES[campus]}", amount, 0), Line("6001", 0, amount)), campus))
        else:
            debit, credit = rng.choice(PLAIN)
            made[campus].append(JournalEntry(f"e{n}", campus, date, period, "receipt", "收费", "payments", f"f{n}",
                                             (Line(debit, amount, 0), Line(credit, 0, amount))))
    return made


def rewrite_earlier_months(rng: random.Random, made: dict[str, list[JournalEntry]]) -> dict[str, list[JournalEntry]]:
    """A recompute that changes the past: some entries of the first half year change amount, some
    are moved months later by a late close (same id, another period), some are gone, and new ones
    post into the first months."""
    changed: dict[str, list[JournalEntry]] = {}
    for campus, entries in made.items():
        kept = []
        for entry in entries:
            if entry.period > "2025-06" or entry.rule == "teaching_settlement" and rng.random() < 0.5:
                kept.append(entry)
                continue
            roll = rng.random()
            if roll < 0.25:
                continue  # its fact is gone
            if roll < 0.5:
                factor = rng.choice([2, 3])
                kept.append(replace(entry, lines=tuple(Line(ln.account, ln.debit_fen * factor, ln.credit_fen * factor)
                                                       for ln in entry.lines)))
            elif roll < 0.75:
                later = rng.choice([m for m in MONTHS if m > entry.period])
                kept.append(replace(entry, period=later, date=f"{later}-01", origin_period=entry.period))
            else:
                kept.append(entry)
        for n in range(5):
            period = rng.choice(MONTHS[:3])
            amount = rng.randint(1, 50_000)
            kept.append(JournalEntry(f"late-{campus[-1]}-{n}", campus, f"{period}-15", period, "receipt", "补记",
                                     "payments", f"late-{n}", (Line("1002", amount, 0), Line("2204", 0, amount))))
        changed[campus] = kept
    return changed


def apply_all(store: HubStore, made: dict[str, list[JournalEntry]]) -> None:
    with store.write() as conn:
        for campus in CAMPUSES:
            apply_journal(conn, campus, made.get(campus, []))


def from_lines(store: HubStore) -> list[tuple[str, str, str, int, int, bool]]:
    """Every line the hub holds: campus, period, account, debit, credit, eliminated or not."""
    line = hub_journal_lines.c
    with store.read() as conn:
        return [(r.campus_id, r.period, r.account, int(r.debit_fen), int(r.credit_fen),
                 eliminated(r.account, r.rule, r.counterpart_campus_id))
                for r in conn.execute(select(line.campus_id, line.period, line.account, line.debit_fen,
                                             line.credit_fen, line.rule, line.counterpart_campus_id))]


Figures = dict[str, tuple[int, int, int, int]]  # account → opening, debit, credit, closing


def _shown(figures: dict[str, list[int]]) -> Figures:
    return {a: (o, d, c, o + d - c) for a, (o, d, c) in figures.items() if o or d or c}


def expected_trial_balance(lines: list[tuple[str, str, str, int, int, bool]], start: str,
                           end: str) -> tuple[dict[str, Figures], Figures, Figures]:
    """Per campus, the eliminations and the group, summed straight from the lines."""
    own: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for campus, period, account, debit, credit, is_eliminated in lines:
        if period > end:
            continue
        move = [debit - credit, 0, 0] if period < start else [0, debit, credit]
        for figures in (own[campus][account], *((out[account],) if is_eliminated else ())):
            for i in range(3):
                figures[i] += move[i]
    group: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for accounts in own.values():
        for account, figures in accounts.items():
            group[account] = [g + f for g, f in zip(group[account], figures, strict=True)]
    for account, figures in out.items():
        group[account] = [g - f for g, f in zip(group[account], figures, strict=True)]
    campus_figures = {campus: shown for campus, accounts in own.items() if (shown := _shown(accounts))}
    return campus_figures, _shown(out), _shown(group)


def _figures(rows: list[dict[str, Any]]) -> Figures:
    return {r["code"]: (r["opening_fen"], r["debit_fen"], r["credit_fen"], r["closing_fen"]) for r in rows}


def assert_statements_equal_the_lines(store: HubStore) -> None:
    lines = from_lines(store)
    assert lines, "the store holds no lines: nothing is being checked"
    for start, end in WINDOWS:
        with store.read() as conn:
            trial = statements.group_trial_balance(conn, start, end)
        per_campus, out, group = expected_trial_balance(lines, start, end)
        assert {c["campus_id"]: _figures(c["rows"]) for c in trial["campuses"] if c["rows"]} == per_campus
        assert _figures(trial["eliminations"]["rows"]) == out
        assert _figures(trial["group"]["rows"]) == group
        assert trial["group"]["total"]["balanced"] and all(c["total"]["balanced"] for c in trial["campuses"])
    for period in ("2024-12", "2025-03", "2025-12", "2026-06"):
        with store.read() as conn:
            sheet = statements.group_balance_sheet(conn, period)
        _, out, _ = expected_trial_balance(lines, "0000-00", period)  # everything up to the period: debits net
        assert sheet["eliminations"] == {a: d - c for a, (_o, d, c, _k) in sorted(out.items()) if d - c}
        assert sheet["group"]["balanced"] and all(c["balanced"] for c in sheet["campuses"])


def test_the_trial_balance_equals_the_lines_through_a_recompute_of_earlier_months(store: HubStore) -> None:
    rng = random.Random(15)
    made = journals(rng, 400)
    apply_all(store, made)
    assert_statements_equal_the_lines(store)

    changed = rewrite_earlier_months(rng, made)
    with store.read() as conn:
        before = statements.group_trial_balance(conn, "2025-01", "2025-06")
    apply_all(store, changed)
    with store.read() as conn:
        after = statements.group_trial_balance(conn, "2025-01", "2025-06")
    assert after != before  # the recompute did move the first months
    assert_statements_equal_the_lines(store)

    apply_all(store, rewrite_earlier_months(rng, changed))  # and again, over what the first one left
    assert_statements_equal_the_lines(store)

    with store.read() as conn:
        kept = {start_end: statements.group_trial_balance(conn, *start_end) for start_end in WINDOWS}
    with store.write() as conn:
        regroup(conn)  # the roll-ups made again from scratch: the statements do not move
    with store.read() as conn:
        assert {start_end: statements.group_trial_balance(conn, *start_end) for start_end in WINDOWS} == kept


@pytest.mark.parametrize("analyzed", [False, True], ids=["no-statistics", "analyzed"])
def test_sqlite_groups_the_balances_off_the_covering_index(tmp_path: Path, analyzed: bool) -> None:
    """The plan, not a timing: no temporary B-tree for the GROUP BY and no lookup into the table,
    whether or not the store was analyzed (a hub never is; the bench analyzes its journal)."""
    hub = HubStore(sqlite_url(tmp_path / "h.db"), "hub")
    try:
        apply_all(hub, journals(random.Random(7), 300))
        with hub.write() as conn:
            if analyzed:
                conn.exec_driver_sql("ANALYZE")
        with hub.read() as conn:
            for table in (hub_book_rollups, hub_book_eliminations):
                for query in (statements.tb_query(table, "2026-01", "2026-06"),
                              statements.tb_query(table, "2025-01", "2035-12")):
                    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
                    plan = " / ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
                    assert f"USING COVERING INDEX ix_{table.name}_balances" in plan, plan
                    assert "TEMP B-TREE" not in plan, plan
    finally:
        hub.close()
