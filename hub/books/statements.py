"""Group statements read off the roll-ups: trial balance, income statement by campus and month,
balance sheet, fund balances and each campus's "books balance" indicator, with the inter-campus
eliminations and the group total (the sum of the campuses less what is eliminated).

Everything here reads ``hub_book_rollups`` and ``hub_book_eliminations`` (campus × month ×
account, a few thousand rows for a group of fifty campuses over years), never the journal, so a
statement takes the same time whatever the number of journal lines. All amounts are integer fen;
sums from the database are turned back into ``int`` (PostgreSQL returns NUMERIC for them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, case, func, select

from campus.schema.books import chart
from campus.schema.books.projection import sheet_sides
from campus.schema.tables import campuses, hub_book_eliminations, hub_book_rollups
from campus.sync.bulk import gc_paused

FUND_PARENTS = (chart.CASH, chart.BANK, chart.OTHER_MONETARY_FUNDS)
PROFIT_AND_LOSS = (chart.Kind.REVENUE, chart.Kind.EXPENSE)


@lru_cache(maxsize=4096)
def account_of(code: str) -> chart.Account:
    return chart.account(code)


def _account_fields(code: str) -> dict[str, str]:
    account = account_of(code)
    return {"code": code, "name_zh": account.name_zh, "name_en": account.name_en, "kind": str(account.kind)}


def directory(conn: Connection, *campus_ids: str) -> list[dict[str, str]]:
    """The campuses (id, code, name) by code, with any campus the books name that the directory does not."""
    rows = [{"id": r.id, "code": r.code, "name": r.name}
            for r in conn.execute(select(campuses.c.id, campuses.c.code, campuses.c.name)
                                  .where(campuses.c.deleted.is_(False)).order_by(campuses.c.code))]
    known = {r["id"] for r in rows}
    rows += [{"id": c, "code": c, "name": c} for c in sorted(set(campus_ids) - known)]
    return rows


def _rows(conn: Connection, query: Any) -> list[tuple[Any, ...]]:
    """A statement's rows as plain tuples from the driver: tens of thousands of roll-up rows pass
    through each group statement, and SQLAlchemy's row objects were a third of its time. The
    query's only values are months the callers checked, so it is rendered with them inline."""
    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _sum(column: Any, condition: Any = None) -> Any:
    return func.coalesce(func.sum(column if condition is None else case((condition, column), else_=0)), 0)


# --- trial balance ---------------------------------------------------------------------------------------


def tb_query(table: Any, start: str, end: str) -> Any:
    """campus, account, opening, debit, credit over ``start``..``end`` from a roll-up table.

    Grouped by (campus, account), the order of the table's ``*_balances`` index, which holds the
    amounts too: the rows stream off that index already grouped. (Grouped in any other order, or
    keyed only by (campus, period, account), SQLite sorted every roll-up row up to ``end`` in a
    temporary B-tree and looked each one up in the table: most of the trial balance's time.)"""
    before = table.c.period < start
    return (select(table.c.campus_id, table.c.account, _sum(table.c.debit_fen - table.c.credit_fen, before),
                   _sum(table.c.debit_fen, ~before), _sum(table.c.credit_fen, ~before))
            .where(table.c.period <= end).group_by(table.c.campus_id, table.c.account))


def _tb_rows(conn: Connection, table: Any, start: str, end: str) -> dict[tuple[str, str], list[int]]:
    """(campus, account) → [opening, debit, credit] over ``start``..``end``."""
    rows: Sequence[Sequence[Any]] = _rows(conn, tb_query(table, start, end))
    return {(campus, account): [int(o), int(d), int(c)] for campus, account, o, d, c in rows}


def _tb_lines(figures: dict[str, list[int]]) -> list[dict[str, Any]]:
    return [{**_account_fields(code), "opening_fen": o, "debit_fen": d, "credit_fen": c, "closing_fen": o + d - c}
            for code, (o, d, c) in sorted(figures.items()) if o or d or c]


def _tb_total(rows: list[dict[str, Any]]) -> dict[str, Any]:
    total = {key: sum(r[key] for r in rows) for key in ("opening_fen", "debit_fen", "credit_fen", "closing_fen")}
    return {**total, "balanced": total["debit_fen"] == total["credit_fen"] and total["closing_fen"] == 0}


def group_trial_balance(conn: Connection, start: str, end: str) -> dict[str, Any]:
    with gc_paused():  # thousands of small dicts, no cycles: a collection mid-way only adds a tail
        return _group_trial_balance(conn, start, end)


def _group_trial_balance(conn: Connection, start: str, end: str) -> dict[str, Any]:
    """科目余额表 per campus, the eliminations and the group, for the months ``start``..``end``."""
    per_campus: dict[str, dict[str, list[int]]] = defaultdict(dict)
    group: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for (campus_id, account), figures in _tb_rows(conn, hub_book_rollups, start, end).items():
        per_campus[campus_id][account] = figures
        group[account] = [a + b for a, b in zip(group[account], figures, strict=True)]
    eliminations: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for (_campus, account), figures in _tb_rows(conn, hub_book_eliminations, start, end).items():
        eliminations[account] = [a + b for a, b in zip(eliminations[account], figures, strict=True)]
    for account, figures in eliminations.items():
        group[account] = [a - b for a, b in zip(group[account], figures, strict=True)]
    result_campuses = []
    for campus in directory(conn, *per_campus):
        rows = _tb_lines(per_campus.get(campus["id"], {}))
        result_campuses.append({"campus_id": campus["id"], "campus_code": campus["code"],
                                "campus_name": campus["name"], "rows": rows, "total": _tb_total(rows)})
    eliminated, grouped = _tb_lines(eliminations), _tb_lines(group)
    return {"from": start, "to": end, "campuses": result_campuses,
            "eliminations": {"rows": eliminated, "total": _tb_total(eliminated)},
            "group": {"rows": grouped, "total": _tb_total(grouped)}}


# --- income statement ------------------------------------------------------------------------------------


def _pl_figures(conn: Connection, start: str, end: str) -> dict[tuple[str, str, str], int]:
    """(campus, period, account) → net debit over the revenue and expense accounts (6xxx). The
    roll-ups are already keyed by campus, period and account: the rows are read as they are."""
    table = hub_book_rollups
    query = select(table.c.campus_id, table.c.period, table.c.account, table.c.debit_fen - table.c.credit_fen).where(
        table.c.period >= start, table.c.period <= end, table.c.account >= "6", table.c.account < "7")
    return {(campus, period, account): int(net) for campus, period, account, net in _rows(conn, query)}


def _pl_eliminations(conn: Connection, start: str, end: str) -> dict[tuple[str, str], int]:
    """(period, account) → net debit of the settlement revenue and cost eliminated, all campuses together."""
    table = hub_book_eliminations
    query = (select(table.c.period, table.c.account, _sum(table.c.debit_fen - table.c.credit_fen))
             .where(table.c.period >= start, table.c.period <= end,
                    table.c.account.in_((chart.TUITION_REVENUE, chart.COST_OF_TEACHING)))
             .group_by(table.c.period, table.c.account))
    return {(period, account): int(net) for period, account, net in _rows(conn, query)}


@lru_cache(maxsize=4096)
def _pl_sign(code: str) -> int:
    """+1 for a revenue account, -1 for an expense account, 0 for any other."""
    kind = account_of(code).kind
    return 1 if kind is chart.Kind.REVENUE else -1 if kind is chart.Kind.EXPENSE else 0


def _statement(by_account: dict[str, int]) -> dict[str, Any]:
    """利润表 figures from net debits: revenue and expenses positive in their normal direction."""
    shown: dict[str, int] = {}
    revenue = expenses = 0
    for code in sorted(by_account):
        net, sign = by_account[code], _pl_sign(code)
        if sign > 0:
            revenue -= net
            if net:
                shown[code] = -net
        elif sign < 0:
            expenses += net
            if net:
                shown[code] = net
    return {"revenue_fen": revenue, "expenses_fen": expenses, "profit_fen": revenue - expenses,
            "by_account": shown}


def periods_between(start: str, end: str) -> list[str]:
    periods, year, month = [], int(start[:4]), int(start[5:7])
    while f"{year:04d}-{month:02d}" <= end:
        periods.append(f"{year:04d}-{month:02d}")
        year, month = year + month // 12, month % 12 + 1
    return periods


def _by_month(figures: dict[tuple[str, str], int], periods: list[str]) -> dict[str, Any]:
    """Monthly statements and their total from (period, account) → net debit."""
    monthly: dict[str, dict[str, int]] = defaultdict(dict)
    total: dict[str, int] = defaultdict(int)
    for (period, account), net in figures.items():
        monthly[period][account] = net
        total[account] += net
    return {"months": [{"period": p, **_statement(monthly.get(p, {}))} for p in periods], "total": _statement(total)}


def group_income_statement(conn: Connection, start: str, end: str) -> dict[str, Any]:
    with gc_paused():  # as for the trial balance
        return _group_income_statement(conn, start, end)


def _group_income_statement(conn: Connection, start: str, end: str) -> dict[str, Any]:
    """利润表 by campus and month, the eliminated settlement between campuses, and the group."""
    periods = periods_between(start, end)
    per_campus: dict[str, dict[tuple[str, str], int]] = defaultdict(dict)
    group: dict[tuple[str, str], int] = defaultdict(int)
    for (campus_id, period, account), net in _pl_figures(conn, start, end).items():
        per_campus[campus_id][(period, account)] = net
        group[(period, account)] += net
    eliminated = _pl_eliminations(conn, start, end)
    for key, net in eliminated.items():
        group[key] -= net
    return {"from": start, "to": end, "periods": periods,
            "campuses": [{"campus_id": c["id"], "campus_code": c["code"], "campus_name": c["name"],
                          **_by_month(per_campus.get(c["id"], {}), periods)} for c in directory(conn, *per_campus)],
            "eliminations": _by_month(eliminated, periods), "group": _by_month(group, periods)}


# --- balance sheet, funds, balance indicator --------------------------------------------------------------


def _balances(conn: Connection, table: Any, period: str) -> dict[tuple[str, str], int]:
    query = (select(table.c.campus_id, table.c.account, _sum(table.c.debit_fen - table.c.credit_fen))
             .where(table.c.period <= period).group_by(table.c.campus_id, table.c.account))
    return {(campus, account): int(net) for campus, account, net in _rows(conn, query)}


def _sheet(balances: dict[str, int]) -> dict[str, Any]:
    """资产负债表 from net debits per account, as :func:`campus.schema.books.projection.balance_sheet` makes it."""
    assets, liabilities, equity, profit = sheet_sides(balances)
    total_assets = sum(assets.values())
    total_claims = sum(liabilities.values()) + sum(equity.values()) + profit
    return {"assets": assets, "liabilities": liabilities, "equity": equity, "profit_fen": profit,
            "total_assets_fen": total_assets, "total_liabilities_and_equity_fen": total_claims,
            "balanced": total_assets == total_claims}


def fund_balances(balances: dict[str, int]) -> dict[str, int]:
    """The money a campus holds: 库存现金, 银行存款 and every 其他货币资金 account."""
    return {code: net for code, net in sorted(balances.items())
            if account_of(code).parent_code in FUND_PARENTS and net}


def group_balance_sheet(conn: Connection, period: str) -> dict[str, Any]:
    """资产负债表 at the end of ``period`` per campus, the eliminated current accounts, and the group."""
    per_campus: dict[str, dict[str, int]] = defaultdict(dict)
    group: dict[str, int] = defaultdict(int)
    for (campus_id, account), net in _balances(conn, hub_book_rollups, period).items():
        per_campus[campus_id][account] = net
        group[account] += net
    eliminated: dict[str, int] = defaultdict(int)
    for (_campus, account), net in _balances(conn, hub_book_eliminations, period).items():
        # the current accounts, and the settlement's revenue and cost (out of the profit carried here)
        eliminated[account] += net
        group[account] -= net
    return {"period": period,
            "campuses": [{"campus_id": c["id"], "campus_code": c["code"], "campus_name": c["name"],
                          **_sheet(per_campus.get(c["id"], {})), "funds": fund_balances(per_campus.get(c["id"], {}))}
                         for c in directory(conn, *per_campus)],
            "eliminations": {code: net for code, net in sorted(eliminated.items()) if net},
            "group": {**_sheet(group), "funds": fund_balances(group)}}


def books_balance(conn: Connection, period: str | None = None) -> list[dict[str, Any]]:
    """Per campus: every debit and credit held up to ``period`` (all if None), and whether they agree."""
    query = select(hub_book_rollups.c.campus_id, _sum(hub_book_rollups.c.debit_fen),
                   _sum(hub_book_rollups.c.credit_fen)).group_by(hub_book_rollups.c.campus_id)
    if period is not None:
        query = query.where(hub_book_rollups.c.period <= period)
    sums = {campus: (int(d), int(c)) for campus, d, c in conn.execute(query)}
    return [{"campus_id": c["id"], "campus_code": c["code"], "campus_name": c["name"],
             "debit_fen": sums.get(c["id"], (0, 0))[0], "credit_fen": sums.get(c["id"], (0, 0))[1],
             "difference_fen": sums.get(c["id"], (0, 0))[0] - sums.get(c["id"], (0, 0))[1],
             "balanced": sums.get(c["id"], (0, 0))[0] == sums.get(c["id"], (0, 0))[1]}
            for c in directory(conn, *sums)]


def account_label(code: str) -> str:
    return account_of(code).name_zh
