"""``/api/v1`` students, their accounts, contracts and changes, deposits and payments."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from campus.node.devices.queries import device_pin
from campus.node.finance import ledger
from campus.node.finance import use_cases as cases
from campus.node.finance.contracts import ChangeKind, LineSpec, contract_view, contracts_of, schedulable
from campus.node.finance.payments import get_payment
from campus.node.finance.students import STATUS_MOVES, Status, get_student, list_students, present_student
from campus.node.privacy import audit_student_view
from campus.schema.books.chart import FundAccount
from campus.schema.tables import (
    asset_entries,
    contract_events,
    contract_lines,
    contracts,
    guardians,
    payments,
    students,
)
from campus.web.api import Api, Input, Output, json_response, page_model, page_params, parse_body, row_model
from campus.web.problems import InvalidInput, Problem
from campus.web.usecase import performs

DATE = r"^\d{4}-\d{2}-\d{2}$"
MAX_HOURS_X100 = 1_000_000  # 10,000 hours: more is a typo
MAX_FEN = 10_000_000_000  # ¥100 million


class GuardianIn(Input):
    name: str = Field(min_length=1, max_length=100)
    relation: str = Field(min_length=1, max_length=32)
    phone: str = Field(min_length=1, max_length=40)


class StudentIn(Input):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    phone: str | None = Field(default=None, max_length=40)
    lead_id: str | None = Field(default=None, max_length=36)
    birthday: str | None = Field(default=None, pattern=DATE)
    grade: str | None = Field(default=None, max_length=32)
    id_number: str | None = Field(default=None, max_length=32)
    partner_institution: str | None = Field(default=None, max_length=100)
    notes: str | None = Field(default=None, max_length=2000)
    guardians: list[GuardianIn] = Field(default_factory=list, max_length=6)


class LineIn(Input):
    product_id: str | None = Field(default=None, max_length=36)
    grade: str | None = Field(default=None, max_length=32)
    subject: str | None = Field(default=None, max_length=32)
    level: str | None = Field(default=None, max_length=32)
    delivery: str | None = Field(default=None, max_length=16)
    hours_x100: int | None = Field(default=None, gt=0, le=MAX_HOURS_X100)
    gift_hours_x100: int = Field(default=0, ge=0, le=MAX_HOURS_X100)
    study_campus_id: str | None = Field(default=None, max_length=36)

    def spec(self) -> LineSpec:
        return LineSpec(**self.model_dump())


class ContractIn(Input):
    student_id: str = Field(min_length=1, max_length=36)
    lines: list[LineIn] = Field(min_length=1, max_length=20)
    promo_code: str | None = Field(default=None, max_length=32)
    manual_discount_fen: int = Field(default=0, ge=0, le=MAX_FEN)
    deposit_ids: list[str] = Field(default_factory=list, max_length=10)
    expires_on: str | None = Field(default=None, pattern=DATE)


class ChangeIn(Input):
    kind: ChangeKind = Field(strict=False)
    line_id: str | None = Field(default=None, max_length=36)
    hours_x100: int | None = Field(default=None, gt=0, le=MAX_HOURS_X100)
    gift_hours_x100: int = Field(default=0, ge=0, le=MAX_HOURS_X100)
    amount_fen: int | None = Field(default=None, gt=0, le=MAX_FEN)
    expires_on: str | None = Field(default=None, pattern=DATE)
    target: LineIn | None = None
    reason: str | None = Field(default=None, max_length=500)


class DepositIn(Input):
    amount_fen: int = Field(gt=0, le=MAX_FEN)
    fund_account: FundAccount = Field(strict=False)
    student_id: str | None = Field(default=None, max_length=36)
    lead_id: str | None = Field(default=None, max_length=36)
    note: str | None = Field(default=None, max_length=500)


class PaymentIn(Input):
    contract_id: str = Field(min_length=1, max_length=36)
    amount_fen: int = Field(gt=0, le=MAX_FEN)
    fund_account: FundAccount = Field(strict=False)
    note: str | None = Field(default=None, max_length=500)


class Balance(Output):
    """What is left of a line (or of all a student's lines): hours, of them paid and gift, and their value."""

    hours_x100: int
    paid_hours_x100: int
    gift_hours_x100: int
    value_fen: int


class PrepaidFinding(Output):
    subject: str
    rule: str
    detail: str


GuardianOut = row_model(guardians, "Guardian")
StudentOut = row_model(students, "Student", status=Status, guardians=list[GuardianOut])  # type: ignore[valid-type]
MONEY: dict[str, Any] = {"due_fen": int, "paid_fen": int, "arrears_fen": int, "refunded_fen": int}
ContractSummaryOut = row_model(contracts, "ContractSummary", **MONEY)
StudentDetailOut = row_model(students, "StudentDetail", status=Status, guardians=list[GuardianOut],  # type: ignore[valid-type]
                             contracts=list[ContractSummaryOut], device_pin=str | None)  # type: ignore[valid-type]
LineOut = row_model(contract_lines, "ContractLine", balance=Balance)
PaymentOut = row_model(payments, "Payment")
TakenPaymentOut = row_model(payments, "TakenPayment", warnings=list[str])
ContractEventOut = row_model(contract_events, "ContractEvent", detail=dict[str, Any] | None)
ContractOut = row_model(
    contracts, "Contract", **MONEY, lines=list[LineOut], events=list[ContractEventOut],  # type: ignore[valid-type]
    payments=list[PaymentOut], status=Literal["in_force", "partly_refunded", "refunded"],  # type: ignore[valid-type]
    prepaid_warnings=(list[PrepaidFinding], None),  # as signed
    schedulable=(bool, None), not_schedulable_because=(str | None, None))  # as read
LedgerEntryOut = row_model(asset_entries, "LedgerEntry")
AccountLineOut = row_model(contract_lines, "AccountLine", balance=Balance, entries=list[LedgerEntryOut])  # type: ignore[valid-type]


class StudentAccount(Output):
    student_id: str
    lines: list[AccountLineOut]  # type: ignore[valid-type]
    remaining: Balance


def register(api: Api) -> None:
    @api.route("/students", "POST", "Admit a new student (from a lead with lead_id)", "students.write",
               body=StudentIn, tags=["students"], response=StudentOut)
    @performs(cases.admit_student)
    async def create(request: Request) -> Response:
        student_in = await parse_body(request, StudentIn)
        node = request.app.state.node
        student = await node.perform(request, cases.admit_student, cases.NewStudent(
            **student_in.model_dump(exclude={"guardians"}), guardians=[g.model_dump() for g in student_in.guardians]))
        return json_response(present_student(student, request.state.principal, node.config.campus_id), 201)

    @api.route("/students", "GET", "This campus's students (?q=&status=&limit=&offset=)", "students.read",
               tags=["students"], response=page_model(row_model(students, "StudentListItem", status=Status), "StudentPage"))
    async def index(request: Request) -> Response:
        limit, offset = page_params(request)
        status = request.query_params.get("status") or None
        if status is not None and status not in {s.value for s in Status}:
            raise InvalidInput([{"field": "status", "message": f"one of {', '.join(s.value for s in Status)}"}])
        node = request.app.state.node
        total, rows = await node.query(list_students, node.config.campus_id, limit, offset,
                                       request.query_params.get("q") or None, status)
        viewer = request.state.principal
        return json_response({"total": total, "limit": limit, "offset": offset,
                              "items": [present_student(r, viewer, node.config.campus_id) for r in rows]})

    @api.route("/students/{student_id}", "GET", "One student with guardians and contracts", "students.read",
               tags=["students"], response=StudentDetailOut)
    async def show(request: Request) -> Response:
        node = request.app.state.node

        def read(conn: Connection) -> dict[str, Any]:
            student = get_student(conn, request.path_params["student_id"])
            return {**student, "contracts": contracts_of(conn, student["id"]),
                    "device_pin": device_pin(conn, node.config.campus_id, student["id"])}  # on the terminals

        student = await node.query(read)
        await audit_student_view(request, student)
        return json_response(present_student(student, request.state.principal, node.config.campus_id))

    @api.route("/students/{student_id}/account", "GET",
               "The student's lesson-hour account: lines, ledger entries, remaining hours and value",
               "contracts.read", tags=["students"], response=StudentAccount)
    async def account(request: Request) -> Response:
        node = request.app.state.node

        def read(conn: Connection) -> dict[str, Any]:
            get_student(conn, request.path_params["student_id"])
            return ledger.student_account(conn, request.path_params["student_id"])

        return json_response(await node.query(read))

    @api.route("/students/{student_id}/{move:str}", "POST", "Change a student's status: "
               "admit, finish, withdraw, readmit", "students.write", tags=["students"],
               response=StudentOut)
    @performs(cases.change_student_status)
    async def status_move(request: Request) -> Response:
        move = request.path_params["move"]
        if move not in STATUS_MOVES:
            raise Problem(404, f"no such status change {move!r}")
        node = request.app.state.node
        student = await node.perform(request, cases.change_student_status, request.path_params["student_id"], move)
        return json_response(present_student(student, request.state.principal, node.config.campus_id))

    @api.route("/contracts", "POST", "Sign a contract priced from the price list; applies deposits",
               "contracts.sign", body=ContractIn, tags=["contracts"], response=ContractOut)
    @performs(cases.sign_contract)
    async def sign(request: Request) -> Response:
        contract_in = await parse_body(request, ContractIn)
        contract = await request.app.state.node.perform(request, cases.sign_contract, cases.NewContract(
            contract_in.student_id, [line.spec() for line in contract_in.lines], contract_in.promo_code,
            contract_in.manual_discount_fen, contract_in.deposit_ids, contract_in.expires_on))
        return json_response(contract, 201)

    @api.route("/contracts/{contract_id}", "GET", "A contract with lines, balances, changes, payments, arrears",
               "contracts.read", tags=["contracts"], response=ContractOut)
    async def contract(request: Request) -> Response:
        node = request.app.state.node
        contract = await node.query(contract_view, request.path_params["contract_id"])
        contract["schedulable"], contract["not_schedulable_because"] = schedulable(
            contract, node.ctx.today(), node.ctx.expiry_policy)
        return json_response(contract)

    @api.route("/contracts/{contract_id}/changes", "POST", "Record a change: expand, shrink, write_off, extend, "
               "exchange (amounts computed)", "contracts.change", body=ChangeIn, tags=["contracts"],
               response=ContractOut)
    @performs(cases.change_contract)
    async def change(request: Request) -> Response:
        change_in = await parse_body(request, ChangeIn)
        after = await request.app.state.node.perform(
            request, cases.change_contract, request.path_params["contract_id"], cases.ContractChange(
                **change_in.model_dump(exclude={"target"}), target=change_in.target.spec() if change_in.target else None))
        return json_response(after, 201)

    @api.route("/deposits", "POST", "Take a deposit (订金) from a lead or a student", "payments.take",
               body=DepositIn, tags=["payments"], response=TakenPaymentOut)
    @performs(cases.take_deposit)
    async def deposit(request: Request) -> Response:
        deposit_in = await parse_body(request, DepositIn)
        row = await request.app.state.node.perform(
            request, cases.take_deposit, deposit_in.amount_fen, deposit_in.fund_account,
            student_id=deposit_in.student_id, lead_id=deposit_in.lead_id, note=deposit_in.note)
        return json_response(row, 201)

    @api.route("/payments", "POST", "Take an instalment on a contract (more than is owed is refused)",
               "payments.take", body=PaymentIn, tags=["payments"], response=TakenPaymentOut)
    @performs(cases.take_payment)
    async def payment(request: Request) -> Response:
        payment_in = await parse_body(request, PaymentIn)
        row = await request.app.state.node.perform(
            request, cases.take_payment, payment_in.contract_id, payment_in.amount_fen, payment_in.fund_account,
            note=payment_in.note)
        return json_response(row, 201)

    @api.route("/payments/{payment_id}", "GET", "One payment or deposit (its receipt)", "payments.take",
               tags=["payments"], response=PaymentOut)
    async def receipt(request: Request) -> Response:
        return json_response(await request.app.state.node.query(get_payment, request.path_params["payment_id"]))
