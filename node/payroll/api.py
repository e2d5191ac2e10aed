"""``/api/v1/payroll``: staff records, monthly runs (draft → review → approved → paid), adjustments,
payslips and the Excel export of a run. Amounts are integer fen; bad input is a 4xx problem naming
the field, and writes nothing."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from campus.node.payroll import queries
from campus.node.payroll import use_cases as cases
from campus.node.payroll.export import export_response
from campus.schema.books.chart import FundAccount
from campus.schema.tables import payroll_adjustments, payroll_runs, payslips, staff_records
from campus.web.api import Api, Input, Output, items_model, json_response, parse_body, row_model
from campus.web.auth import actor_of
from campus.web.payroll.plans import Position
from campus.web.problems import InvalidInput
from campus.web.usecase import performs

DATE = r"^\d{4}-\d{2}-\d{2}$"
PERIOD = r"^(19|20)\d{2}-(0[1-9]|1[0-2])$"  # a month of a year a calendar holds
MAX_FEN = cases.MAX_FEN


class StaffIn(Input):
    user_id: str = Field(min_length=1, max_length=36)
    position: Position = Field(strict=False)
    start_on: str = Field(pattern=DATE)
    base_salary_fen: int = Field(default=0, ge=0, le=MAX_FEN)
    level: str | None = Field(default=None, max_length=16)
    end_on: str | None = Field(default=None, pattern=DATE)
    bank_name: str | None = Field(default=None, max_length=100)
    bank_account: str | None = Field(default=None, max_length=64)


class RunIn(Input):
    period: str = Field(pattern=PERIOD)


class AdjustmentIn(Input):
    user_id: str = Field(min_length=1, max_length=36)
    amount_fen: int = Field(ge=-MAX_FEN, le=MAX_FEN)
    reason: str = Field(min_length=1, max_length=500)


class ReasonIn(Input):
    reason: str = Field(min_length=1, max_length=500)


class PayIn(Input):
    fund_account: FundAccount = Field(strict=False)


StaffRecordOut = row_model(staff_records, "StaffRecord", name=str, active=bool)  # the bank account masked unless finance
PayslipOut = row_model(payslips, "Payslip", name=str, lines=list[dict[str, Any]])
AdjustmentOut = row_model(payroll_adjustments, "PayrollAdjustment", name=str)
RunOut = row_model(payroll_runs, "PayrollRun", payslips=list[PayslipOut], adjustments=list[AdjustmentOut],  # type: ignore[valid-type]
                   by=dict[str, str | None])  # who created, submitted, approved and paid it, by name
PayslipDetailOut = row_model(payslips, "PayslipDetail", name=str, lines=list[dict[str, Any]], run_status=str,
                             approved_at=str | None, paid_at=str | None)


class OwnPayslip(Output):
    id: str
    run_id: str
    period: str
    total_fen: int
    base_fen: int
    commission_fen: int
    lesson_fee_fen: int
    bonus_fen: int
    clawback_fen: int
    adjustment_fen: int
    carry_out_fen: int


def register(api: Api) -> None:
    @api.route("/payroll/staff", "GET", "Staff records of this campus (bank accounts masked except to finance)",
               "payroll.read", tags=["payroll"], response=items_model(StaffRecordOut, "StaffRecordList"))
    async def staff(request: Request) -> Response:
        node = request.app.state.node
        return json_response({"items": await node.query(queries.staff_list, node.ctx, actor_of(request),
                                                        node.ctx.today())})

    @api.route("/payroll/staff", "POST", "Add a staff record: a user's position, level and base salary here",
               "payroll.staff", body=StaffIn, tags=["payroll"])
    @performs(cases.add_staff)
    async def add_staff(request: Request) -> Response:
        given = await parse_body(request, StaffIn)
        made = await request.app.state.node.perform(request, cases.add_staff, cases.StaffRecord(**given.model_dump()))
        return json_response(made, 201)

    @api.route("/payroll/staff/{record_id}", "POST", "Change a staff record (position, level, salary, dates, bank)",
               "payroll.staff", body=StaffIn, tags=["payroll"])
    @performs(cases.change_staff)
    async def change_staff(request: Request) -> Response:
        given = await parse_body(request, StaffIn)
        made = await request.app.state.node.perform(request, cases.change_staff, request.path_params["record_id"],
                                                    cases.StaffRecord(**given.model_dump()))
        return json_response(made)

    @api.route("/payroll/runs", "GET", "This campus's payroll runs, latest month first", "payroll.read",
               tags=["payroll"], response=items_model(row_model(payroll_runs, "ListedPayrollRun", payslips=int),
                                                      "PayrollRunList"))
    async def runs(request: Request) -> Response:
        node = request.app.state.node
        return json_response({"items": await node.query(queries.run_list, node.ctx.id)})

    @api.route("/payroll/runs", "POST", "Compute a month's draft run (or recompute it) from the facts",
               "payroll.manage", body=RunIn, tags=["payroll"])
    @performs(cases.draft_run)
    async def draft(request: Request) -> Response:
        given = await parse_body(request, RunIn)
        return json_response(await request.app.state.node.perform(request, cases.draft_run, given.period), 201)

    @api.route("/payroll/runs/{run_id}", "GET", "A run with every payslip, each line with its source fact",
               "payroll.read", tags=["payroll"], response=RunOut)
    async def run(request: Request) -> Response:
        node = request.app.state.node
        return json_response(await node.query(queries.run_view, node.ctx.id, request.path_params["run_id"]))

    @api.route("/payroll/runs/{run_id}/export.xlsx", "GET", "A run as a workbook: payslips and every line",
               "payroll.read", tags=["payroll"])
    async def export(request: Request) -> Response:
        return await export_response(request)

    @api.route("/payroll/runs/{run_id}/adjustments", "POST", "Adjust one employee's pay in a draft (reason required)",
               "payroll.manage", body=AdjustmentIn, tags=["payroll"])
    @performs(cases.adjust_pay)
    async def adjust(request: Request) -> Response:
        given = await parse_body(request, AdjustmentIn)
        made = await request.app.state.node.perform(request, cases.adjust_pay, request.path_params["run_id"],
                                                    given.user_id, given.amount_fen, given.reason)
        return json_response(made, 201)

    def step(name: str, summary: str, action: str, case: Any, body: type[Input] | None = None) -> None:
        @api.route(f"/payroll/runs/{{run_id}}/{name}", "POST", summary, action, body=body, tags=["payroll"])
        @performs(case)
        async def endpoint(request: Request) -> Response:
            extra: list[Any] = []
            if body is ReasonIn:
                extra.append((await parse_body(request, ReasonIn)).reason)
            elif body is PayIn:
                extra.append(str((await parse_body(request, PayIn)).fund_account))
            return json_response(await request.app.state.node.perform(request, case, request.path_params["run_id"],
                                                                      *extra))

        endpoint.__name__ = f"run_{name}"

    step("recompute", "Recompute a draft from the facts as they are now", "payroll.manage", cases.recompute_run)
    step("submit", "Send a draft for review", "payroll.manage", cases.submit_run)
    step("return", "Send a run under review back to draft, saying why", "payroll.approve", cases.return_run,
         ReasonIn)
    step("approve", "Approve a run under review: it is locked and posts to the books", "payroll.approve",
         cases.approve_run)
    step("pay", "Record an approved run as paid from a fund account", "payroll.manage", cases.pay_run, PayIn)

    @api.route("/payroll/payslips", "GET", "The signed-in user's payslips here (finance and managers: ?user_id=)",
               "payroll.read_own", tags=["payroll"], response=items_model(OwnPayslip, "OwnPayslips"))
    async def my_payslips(request: Request) -> Response:
        node = request.app.state.node
        actor = actor_of(request)
        user_id = request.query_params.get("user_id") or actor.user_id or ""
        if user_id != actor.user_id:
            actor.require("payroll.read", node.ctx.id)
        if not re.match(r"^[\w-]{1,36}$", user_id):
            raise InvalidInput([{"field": "user_id", "message": "a user id"}])
        return json_response({"items": await node.query(queries.payslips_of, node.ctx.id, user_id)})

    @api.route("/payroll/payslips/{payslip_id}", "GET", "One payslip with every line and its source (its employee, "
               "finance and managers only)", "payroll.read_own", tags=["payroll"], response=PayslipDetailOut)
    async def payslip(request: Request) -> Response:
        node = request.app.state.node
        return json_response(await node.query(queries.payslip_for, node.ctx, actor_of(request),
                                              request.path_params["payslip_id"]))
