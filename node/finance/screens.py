"""Staff screens for students, contracts, payments and printable receipts."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import segno
from markupsafe import Markup
from sqlalchemy import Connection, Select, func, select
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from campus.node.devices.queries import device_pin
from campus.node.finance import ledger
from campus.node.finance import use_cases as cases
from campus.node.finance.api import ChangeIn, ContractIn, DepositIn, PaymentIn, StudentIn
from campus.node.finance.contracts import contract_view, contracts_of
from campus.node.finance.payments import FUND_ACCOUNTS, get_payment, open_deposits
from campus.node.finance.students import STUDENT_SORTS, Status, get_student, list_students, present_student
from campus.node.privacy import audit_student_view
from campus.node.screens import TEMPLATES
from campus.schema.context import CampusContext
from campus.schema.errors import DomainError, Invalid
from campus.schema.quantities import LessonHours, Money
from campus.schema.search import ordered, paged
from campus.schema.tables import campuses, payments, students
from campus.web.auth import actor_of, check_csrf
from campus.web.forms import form_model
from campus.web.i18n import gettext_ as _
from campus.web.paging import list_view
from campus.web.prices.store import price_list
from campus.web.templating import flash, form_action, render
from campus.web.usecase import performs

FUND_LABELS = {"cash": "Cash", "wechat": "WeChat Pay", "alipay": "Alipay", "bank": "Bank transfer", "pos": "POS"}


def form_fen(text: str, field: str) -> int:
    """An amount typed in yuan ("1,234.5") as fen, or Invalid naming the field."""
    try:
        return Money.parse(text or "0").fen
    except ValueError as exc:
        raise Invalid(field, f"{text!r}: {exc}") from None


def form_hours_x100(text: str, field: str) -> int:
    try:
        return LessonHours.parse(text or "0").x100
    except ValueError as exc:
        raise Invalid(field, f"{text!r}: {exc}") from None


async def student_list(request: Request) -> Response:
    node = request.app.state.node
    view = list_view(request, STUDENT_SORTS, "created", filters={"status": [s.value for s in Status]})
    total, rows = await node.query(list_students, node.config.campus_id, view.limit, view.offset, view.q or None,
                                   view.filters.get("status"), view.sort, view.descending)
    viewer = request.state.principal
    return render(TEMPLATES, request, "students.html", {
        "app_title": node.config.campus_name, "q": view.q, "total": total, "view": view,
        "status_choices": [(s.value, _(s.value)) for s in Status],
        "students": [present_student(r, viewer, node.config.campus_id) for r in rows]})


@performs(cases.admit_student)
async def student_new(request: Request) -> Response:
    node = request.app.state.node
    lead_id = request.query_params.get("lead") or None
    if request.method == "POST":
        form = await request.form()
        check_csrf(request, form)
        guardian = [{"name": str(form.get("guardian_name", "")).strip(),
                     "relation": str(form.get("guardian_relation", "")).strip() or "parent",
                     "phone": str(form.get("guardian_phone", "")).strip()}]
        try:
            given = form_model(form, StudentIn, guardians=guardian if guardian[0]["name"] and guardian[0]["phone"]
                               else [])
            student = await node.perform(request, cases.admit_student, cases.NewStudent(
                **given.model_dump(exclude={"guardians"}), guardians=[g.model_dump() for g in given.guardians]))
        except DomainError as exc:
            # Shown again as typed, the refusal beside the field it names (or above the form).
            field = getattr(exc, "field", None)
            if not isinstance(field, str):
                flash(request, _(exc.detail), "error")
            typed = {key: str(value) for key, value in form.items() if key != "csrf_token"}
            return render(TEMPLATES, request, "student_new.html", {
                "app_title": node.config.campus_name, "lead_id": lead_id, "values": typed,
                "errors": {_field_of_student_form(field): _(exc.detail)} if isinstance(field, str) else {}}, 422)
        flash(request, _("Student %(number)s admitted") % {"number": student["number"]}, "success")
        return RedirectResponse(f"/students/{student['id']}", status_code=303)
    return render(TEMPLATES, request, "student_new.html", {"app_title": node.config.campus_name, "lead_id": lead_id,
                                                          "values": {}, "errors": {}})


def _field_of_student_form(field: str) -> str:
    """The form's field for a refusal naming the input model's (guardians.0.phone → guardian_phone)."""
    if field.startswith("guardians"):
        return "guardian_" + field.rsplit(".", 1)[-1]
    return field


async def student_detail(request: Request) -> Response:
    node, viewer = request.app.state.node, request.state.principal
    student_id = request.path_params["student_id"]

    def read(conn: Connection) -> tuple[Any, ...]:
        student = present_student({**get_student(conn, student_id),  # its PIN on the attendance terminals
                                   "device_pin": device_pin(conn, node.config.campus_id, student_id)},
                                  viewer, node.config.campus_id)
        return (student, ledger.student_account(conn, student_id), contracts_of(conn, student_id),
                open_deposits(conn, student_id, student["lead_id"]), price_list(conn))

    student, account, contracts, deposits, listing = await node.query(read)
    await audit_student_view(request, student)
    # The check-in card: a kiosk's scanner reads the student number from this code.
    card = Markup(segno.make(student["number"], error="m").svg_inline(scale=4, title=student["number"]))
    return render(TEMPLATES, request, "student_detail.html", {
        "app_title": node.config.campus_name, "student": student, "account": account, "contracts": contracts,
        "card": card,
        "deposits": deposits, "products": [p for p in listing["products"] if p["active"]],
        "may_sign": viewer.can("contracts.sign", node.config.campus_id),
        "may_take_deposit": viewer.can("payments.take", node.config.campus_id),
        "fund_accounts": [(f, _(FUND_LABELS[f])) for f in FUND_ACCOUNTS]})


async def deposit_form(request: Request, back: str, **payer: str) -> Response:
    """A deposit (订金) typed at the desk, from a student or a lead (``payer``), then back to ``back``."""
    node = request.app.state.node

    def take(form: FormData) -> str:
        given = form_model(form, DepositIn, **payer)
        payment = cases.take_deposit(node.store, node.ctx, actor_of(request), given.amount_fen, given.fund_account,
                                     note=given.note, **payer)
        return _("Deposit received: receipt %(number)s") % {"number": payment["receipt_number"]}

    return await form_action(request, back, take)


@performs(cases.take_deposit)
async def student_deposit(request: Request) -> Response:
    """A deposit from a student before a contract (for a course still being chosen)."""
    student_id = request.path_params["student_id"]
    return await deposit_form(request, f"/students/{student_id}", student_id=student_id)


@performs(cases.sign_contract)
async def contract_sign(request: Request) -> Response:
    node = request.app.state.node
    student_id = request.path_params["student_id"]
    form = await request.form()
    check_csrf(request, form)
    try:
        given = form_model(form, ContractIn, student_id=student_id,
                           lines=[{"product_id": str(form.get("product_id", "")) or None}],
                           deposit_ids=[str(d) for d in form.getlist("deposit_id")])
        contract = await node.perform(request, cases.sign_contract, cases.NewContract(
            student_id, [line.spec() for line in given.lines], given.promo_code, given.manual_discount_fen,
            given.deposit_ids, given.expires_on))
    except DomainError as exc:
        flash(request, exc.detail, "error")
        return RedirectResponse(f"/students/{student_id}", status_code=303)
    flash(request, _("Contract %(number)s signed") % {"number": contract["number"]}, "success")
    return RedirectResponse(f"/contracts/{contract['id']}", status_code=303)


async def contract_detail(request: Request) -> Response:
    node, viewer = request.app.state.node, request.state.principal

    def read(conn: Connection) -> tuple[dict[str, Any], dict[str, Any]]:
        contract = contract_view(conn, request.path_params["contract_id"])
        return contract, get_student(conn, contract["student_id"])

    contract, student = await node.query(read)
    campus_id = node.config.campus_id
    return render(TEMPLATES, request, "contract_detail.html", {
        "app_title": node.config.campus_name, "contract": contract, "student": student,
        "fund_accounts": [(f, _(FUND_LABELS[f])) for f in FUND_ACCOUNTS],
        "may_pay": viewer.can("payments.take", campus_id), "may_change": viewer.can("contracts.change", campus_id)})


@performs(cases.take_payment)
async def contract_payment(request: Request) -> Response:
    node = request.app.state.node
    contract_id = request.path_params["contract_id"]

    def take(form: FormData) -> str:
        given = form_model(form, PaymentIn, contract_id=contract_id)
        payment = cases.take_payment(node.store, node.ctx, actor_of(request), contract_id, given.amount_fen,
                                     given.fund_account, note=given.note)
        return _("Payment received: receipt %(number)s") % {"number": payment["receipt_number"]}

    return await form_action(request, f"/contracts/{contract_id}", take)


@performs(cases.change_contract)
async def contract_change(request: Request) -> Response:
    node = request.app.state.node
    contract_id = request.path_params["contract_id"]

    def change(form: FormData) -> str:
        given = form_model(form, ChangeIn)
        cases.change_contract(node.store, node.ctx, actor_of(request), contract_id,
                              cases.ContractChange(**given.model_dump(exclude={"target"})))
        return _("Change recorded")

    return await form_action(request, f"/contracts/{contract_id}", change)


async def receipt(request: Request) -> Response:
    """A printable receipt (收据) for one payment or deposit."""
    node = request.app.state.node

    def read(conn: Connection) -> tuple[Any, ...]:
        payment = get_payment(conn, request.path_params["payment_id"])
        student: dict[str, Any] | None = None
        if payment["student_id"]:
            student = dict(conn.execute(select(students.c.name, students.c.number).where(
                students.c.id == payment["student_id"])).mappings().first() or {})
        campus_name = conn.execute(select(campuses.c.name).where(campuses.c.id == payment["campus_id"])).scalar()
        contract = contract_view(conn, payment["contract_id"]) if payment["contract_id"] else None
        return payment, student, campus_name, contract

    payment, student, campus_name, contract = await node.query(read)
    return render(TEMPLATES, request, "receipt.html", {
        "app_title": node.config.campus_name, "payment": payment, "student": student, "contract": contract,
        "campus_name": campus_name or node.config.campus_name,
        "fund_label": _(FUND_LABELS[payment["fund_account"]]) if payment["fund_account"] else _("Deposit applied")})


RECEIPT_SORTS = {"paid": payments.c.paid_at, "number": payments.c.receipt_number, "amount": payments.c.amount_fen,
                 "student": students.c.name}
RECEIPT_KINDS = ("deposit", "payment", "deposit_applied", "opening")


def _receipts_of(ctx: CampusContext, start: date, end: date) -> Select[Any]:
    bounds = ctx.day_bounds(start, end)
    return (select(payments, students.c.name.label("student_name"), students.c.number.label("student_number"))
            .outerjoin(students, students.c.id == payments.c.student_id)
            .where(payments.c.campus_id == ctx.id, payments.c.paid_at >= bounds[0], payments.c.paid_at < bounds[1]))


def receipts_between(conn: Connection, ctx: CampusContext, start: date, end: date) -> list[dict[str, Any]]:
    """Every receipt the campus issued on its days ``start`` to ``end``, in order."""
    return [dict(r) for r in conn.execute(_receipts_of(ctx, start, end).order_by(payments.c.paid_at)).mappings()]


def receipt_page(conn: Connection, ctx: CampusContext, start: date, end: date, limit: int, offset: int,
                 sort: str = "paid", descending: bool = False, fund_account: str | None = None,
                 kind: str | None = None) -> tuple[int, list[dict[str, Any]], dict[str, int]]:
    """One page of the period's receipts (optionally of one fund account or kind) in the order of
    one of ``RECEIPT_SORTS``, their count, and the money received per fund account in the whole period."""
    listed = _receipts_of(ctx, start, end)
    if fund_account:
        listed = listed.where(payments.c.fund_account == fund_account)
    if kind:
        listed = listed.where(payments.c.kind == kind)
    total, rows = paged(conn, listed, ordered(RECEIPT_SORTS.get(sort, payments.c.paid_at), descending, payments.c.id),
                        limit, offset)
    bounds = ctx.day_bounds(start, end)
    # Applying a deposit moves no new money: only deposits and payments count as received.
    received = dict(conn.execute(
        select(payments.c.fund_account, func.sum(payments.c.amount_fen))
        .where(payments.c.campus_id == ctx.id, payments.c.paid_at >= bounds[0], payments.c.paid_at < bounds[1],
               payments.c.kind.in_(("deposit", "payment")))
        .group_by(payments.c.fund_account)).tuples().all())
    return total, rows, {account: int(fen) for account, fen in received.items()}


async def finance_page(request: Request) -> Response:
    """Money received at this campus over a period: its receipts, a page at a time, and totals per fund account."""
    node = request.app.state.node
    ctx = node.ctx
    today = ctx.today()
    try:
        start = date.fromisoformat(request.query_params.get("from", "")) if request.query_params.get("from") \
            else today
        end = date.fromisoformat(request.query_params.get("to", "")) if request.query_params.get("to") else start
    except ValueError:
        start = end = today
    view = list_view(request, RECEIPT_SORTS, "paid", default_descending=False,
                     filters={"fund_account": FUND_ACCOUNTS, "kind": RECEIPT_KINDS})
    view = replace(view, filters={"from": start.isoformat(), "to": end.isoformat(), **view.filters})
    total, rows, totals = await node.query(receipt_page, ctx, start, end, view.limit, view.offset, view.sort,
                                           view.descending, view.filters.get("fund_account"), view.filters.get("kind"))
    return render(TEMPLATES, request, "finance.html", {
        "app_title": node.config.campus_name, "rows": rows, "start": start.isoformat(), "end": end.isoformat(),
        "total": total, "view": view, "fund_choices": [(f, _(FUND_LABELS[f])) for f in FUND_ACCOUNTS],
        "kind_choices": [(k, _(k)) for k in RECEIPT_KINDS],
        "totals": [(_(FUND_LABELS[f]), totals[f]) for f in FUND_ACCOUNTS if f in totals],
        "received": sum(totals.values())})
