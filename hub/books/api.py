"""``/api/v1/books/...`` at the hub: the group's statements from the roll-ups, and a campus's journal
as the hub derived it, behind ``reports.group``. Amounts in fen; a bad query parameter is a 422
problem naming it."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import anyio.to_thread
from sqlalchemy import Connection, or_, select
from starlette.requests import Request
from starlette.responses import Response

from campus.hub.books import rollups, statements
from campus.hub.store import HubStore
from campus.schema.books.projection import DEFAULT_TIMEZONE
from campus.schema.tables import campuses
from campus.web.api import Api, json_response
from campus.web.problems import InvalidInput

PERMISSION = "reports.group"
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def this_month(timezone: str = DEFAULT_TIMEZONE) -> str:
    return datetime.now(ZoneInfo(timezone)).strftime("%Y-%m")


def month_param(params: Any, name: str, default: str | None) -> str:
    """A ``YYYY-MM`` query parameter, or 422 naming it."""
    raw = params.get(name)
    if raw is None or raw == "":
        if default is None:
            raise InvalidInput([{"field": name, "message": "required, a month as YYYY-MM"}])
        return default
    if not MONTH.match(raw):
        raise InvalidInput([{"field": name, "message": f"a month as YYYY-MM, not {raw!r}"}])
    return raw


def month_range(params: Any) -> tuple[str, str]:
    """``from`` and ``to`` (default: January of this year to this month), ``from`` not after ``to``."""
    end = month_param(params, "to", this_month())
    start = month_param(params, "from", f"{end[:4]}-01")
    if start > end:
        raise InvalidInput([{"field": "from", "message": f"{start} is after to={end}"}])
    return start, end


def find_campus(conn: Connection, given: str) -> dict[str, str] | None:
    row = conn.execute(select(campuses.c.id, campuses.c.code, campuses.c.name)
                       .where(or_(campuses.c.id == given, campuses.c.code == given))).first()
    return {"id": row.id, "code": row.code, "name": row.name} if row else None


def entry_json(entry: Any) -> dict[str, Any]:
    return {"id": entry.id, "campus_id": entry.campus_id, "date": entry.date, "period": entry.period,
            "rule": entry.rule, "memo": entry.memo, "source": {"table": entry.source_table, "id": entry.source_id},
            "counterpart_campus_id": entry.counterpart_campus_id, "origin_period": entry.origin_period,
            "debit_fen": entry.debit_fen,
            "lines": [{"account": ln.account, "account_name": statements.account_label(ln.account),
                       "debit_fen": ln.debit_fen, "credit_fen": ln.credit_fen, "contract_id": ln.contract_id}
                      for ln in entry.lines]}


def campus_journal(conn: Connection, params: Any) -> dict[str, Any]:
    given = params.get("campus", "")
    if not given:
        raise InvalidInput([{"field": "campus", "message": "required: a campus id or code"}])
    period = month_param(params, "period", None)
    campus = find_campus(conn, given)
    if campus is None:
        raise InvalidInput([{"field": "campus", "message": f"no campus {given!r}"}])
    entries = rollups.stored_journal(conn, campus["id"], period)
    return {"campus_id": campus["id"], "campus_code": campus["code"], "campus_name": campus["name"],
            "period": period, "items": [entry_json(e) for e in entries]}


async def read(request: Request, compute: Callable[[Connection], Any]) -> Any:
    """Run ``compute`` over one consistent read of the hub's store, on a worker thread."""
    store: HubStore = request.app.state.hub.store

    def run() -> Any:
        with store.read(snapshot=True) as conn:
            return compute(conn)

    return await anyio.to_thread.run_sync(run)


def register_books_api(api: Api) -> None:
    @api.route("/books/trial-balance", "GET", "Group trial balance (科目余额表) per campus, eliminations and group",
               PERMISSION, tags=["books"])
    async def trial_balance(request: Request) -> Response:
        start, end = month_range(request.query_params)
        return json_response(await read(request, lambda c: statements.group_trial_balance(c, start, end)))

    @api.route("/books/income-statement", "GET", "Group income statement (利润表) by campus and month",
               PERMISSION, tags=["books"])
    async def income_statement(request: Request) -> Response:
        start, end = month_range(request.query_params)
        return json_response(await read(request, lambda c: statements.group_income_statement(c, start, end)))

    @api.route("/books/balance-sheet", "GET", "Group balance sheet (资产负债表) and every campus's fund balances",
               PERMISSION, tags=["books"])
    async def balance_sheet(request: Request) -> Response:
        period = month_param(request.query_params, "period", this_month())

        def compute(conn: Connection) -> dict[str, Any]:
            return {**statements.group_balance_sheet(conn, period),
                    "books_balance": statements.books_balance(conn, period)}

        return json_response(await read(request, compute))

    @api.route("/books/journal", "GET", "One campus's journal (凭证) for a month, as the hub derived it",
               PERMISSION, tags=["books"])
    async def journal(request: Request) -> Response:
        params = request.query_params
        return json_response(await read(request, lambda c: campus_journal(c, params)))

    @api.route("/books/status", "GET", "Each campus's books balance and how far the books are behind the merge",
               PERMISSION, tags=["books"])
    async def status(request: Request) -> Response:
        store: HubStore = request.app.state.hub.store

        def compute(conn: Connection) -> dict[str, Any]:
            return {"books_balance": statements.books_balance(conn)}

        payload = await read(request, compute)
        payload["changes_behind"] = await anyio.to_thread.run_sync(rollups.behind, store)
        return json_response(payload)
