"""``/api/v1/refunds``: quote, request, approve, reject, pay, list; the refund report.
Amounts are integer fen, hours integer hundredths."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from campus.node.refunds import queries
from campus.node.refunds import use_cases as cases
from campus.schema.books.chart import FundAccount
from campus.schema.tables import refunds
from campus.web.api import Api, Input, Output, items_model, json_response, month_span, parse_body, row_model
from campus.web.problems import InvalidInput
from campus.web.usecase import performs, writes_nothing

MAX_FEN = 10_000_000_000_000


class QuoteIn(Input):
    contract_id: str = Field(min_length=1, max_length=36)
    line_ids: list[str] | None = Field(default=None, min_length=1, max_length=50)
    hours_x100: int | None = Field(default=None, gt=0, le=10_000_00)
    materials_fen: int = Field(default=0, ge=0, le=MAX_FEN)

    def ask(self, amount_fen: int | None = None) -> cases.RefundAsk:
        return cases.RefundAsk(self.contract_id, self.line_ids, self.hours_x100, self.materials_fen, amount_fen)


class RefundIn(QuoteIn):
    reason_category: Literal["school", "customer", "other"]
    reason: str = Field(min_length=1, max_length=64)
    notes: str | None = Field(default=None, max_length=2000)
    amount_fen: int | None = Field(default=None, gt=0, le=MAX_FEN)


class DecisionIn(Input):
    note: str | None = Field(default=None, max_length=500)


class RejectIn(Input):
    reason: str = Field(min_length=1, max_length=500)


class PayIn(Input):
    fund_account: FundAccount | None = Field(default=None, strict=False)


def refund_request(body: RefundIn) -> cases.RefundRequest:
    return cases.RefundRequest(body.ask(body.amount_fen), body.reason_category, body.reason, body.notes)


class RefundLine(Output):
    """One contract line's part of a refund (schema.refunds.LineResult)."""

    line_id: str
    hours_x100: int
    gift_hours_x100: int
    value_fen: int
    base_fen: int
    fee_fen: int
    tier: str


class RefundStep(Output):
    """One labelled line of the calculation (schema.refunds.Step)."""

    label: str
    amount_fen: int | None
    detail: str
    line_id: str | None


class RefundCalculation(Output):
    refundable_fen: int
    fee_fen: int
    materials_fen: int
    value_fen: int
    base_fen: int
    lines: list[RefundLine]
    steps: list[RefundStep]


class RefundQuote(RefundCalculation):
    contract_id: str


RefundOut = row_model(refunds, "Refund", lines=list[RefundLine], calculation=RefundCalculation,
                      contract_number=str, student_number=str | None, student_name=str | None,
                      requested_by_name=str | None, decided_by_name=str | None, paid_by_name=str | None)
# a listed refund keeps its lines and calculation as the JSON text the row stores
RefundListOut = items_model(row_model(refunds, "RefundListItem", student_name=str | None), "RefundList")


def register(api: Api) -> None:
    @api.route("/refunds/quote", "POST", "Quote a refund: the refundable amount and every step (writes nothing)",
               "refunds.request", body=QuoteIn, tags=["refunds"], response=RefundQuote)
    @writes_nothing
    async def quote(request: Request) -> Response:
        body = await parse_body(request, QuoteIn)
        node = request.app.state.node
        return json_response(await node.query(cases.quote, node.ctx, body.ask()))

    @api.route("/refunds", "GET", "Refunds of this campus (?status=requested|approved|rejected|paid, "
               "?contract_id=)", "refunds.read", tags=["refunds"], response=RefundListOut)
    async def listing(request: Request) -> Response:
        node = request.app.state.node
        status = request.query_params.get("status") or None
        if status and status not in queries.STATUSES:
            raise InvalidInput([{"field": "status", "message": f"one of {', '.join(queries.STATUSES)}"}])
        items = await node.query(queries.refund_list, node.ctx.id, status, request.query_params.get("contract_id"))
        return json_response({"items": items})

    @api.route("/refunds", "POST", "Request a refund (consultant or academic advisor)", "refunds.request",
               body=RefundIn, tags=["refunds"], response=RefundOut)
    @performs(cases.request_refund)
    async def request_one(request: Request) -> Response:
        body = await parse_body(request, RefundIn)
        return json_response(await request.app.state.node.perform(request, cases.request_refund,
                                                                  refund_request(body)), 201)

    @api.route("/refunds/report", "GET", "Refunds by reason, kind and stage, per month; refund rate; at-risk "
               "contracts (?from=YYYY-MM&to=YYYY-MM)", "refunds.read", tags=["refunds"])
    async def report(request: Request) -> Response:
        node = request.app.state.node
        start, end = month_span(request.query_params, node.ctx.today().isoformat()[:7])
        return json_response(await node.query(queries.refund_report, node.ctx.id, start, end))

    @api.route("/refunds/{refund_id}", "GET", "One refund with its calculation", "refunds.read", tags=["refunds"],
               response=RefundOut)
    async def one(request: Request) -> Response:
        node = request.app.state.node
        return json_response(await node.query(queries.refund_view, request.path_params["refund_id"]))

    @api.route("/refunds/{refund_id}/approve", "POST", "Approve a refund (campus manager)", "refunds.approve",
               body=DecisionIn, tags=["refunds"], response=RefundOut)
    @performs(cases.approve_refund)
    async def approve(request: Request) -> Response:
        body = await parse_body(request, DecisionIn)
        return json_response(await request.app.state.node.perform(
            request, cases.approve_refund, request.path_params["refund_id"], body.note))

    @api.route("/refunds/{refund_id}/reject", "POST", "Reject a refund with a reason (campus manager)",
               "refunds.approve", body=RejectIn, tags=["refunds"], response=RefundOut)
    @performs(cases.reject_refund)
    async def reject(request: Request) -> Response:
        body = await parse_body(request, RejectIn)
        return json_response(await request.app.state.node.perform(
            request, cases.reject_refund, request.path_params["refund_id"], body.reason))

    @api.route("/refunds/{refund_id}/pay", "POST", "Pay an approved refund out of a fund account (finance; the "
               "original channel by default)", "refunds.pay", body=PayIn, tags=["refunds"], response=RefundOut)
    @performs(cases.pay_refund)
    async def pay(request: Request) -> Response:
        body = await parse_body(request, PayIn)
        account = str(body.fund_account) if body.fund_account else None
        return json_response(await request.app.state.node.perform(
            request, cases.pay_refund, request.path_params["refund_id"], account))
