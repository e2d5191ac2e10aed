"""``/api/v1/tickets`` (问题单) and ``/api/v1/surveys``: the service desk over JSON."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from campus.node.service import ticket_cases as cases
from campus.node.service import ticket_queries as queries
from campus.node.service.tickets import Category, Status
from campus.web.api import Api, Input, json_response, page_params, parse_body
from campus.web.problems import InvalidInput
from campus.web.usecase import performs

CategoryName = Literal["question", "complaint", "request"]
PriorityName = Literal["low", "normal", "high", "urgent"]
StatusName = Literal["open", "in_progress", "resolved", "closed", "reopened"]


class TicketIn(Input):
    category: CategoryName
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=5000)
    priority: PriorityName = "normal"
    student_id: str | None = Field(default=None, min_length=1, max_length=36)
    lead_id: str | None = Field(default=None, min_length=1, max_length=36)
    source: Literal["staff", "phone"] = "staff"
    assignee_id: str | None = Field(default=None, min_length=1, max_length=36)

    def new(self) -> cases.NewTicket:
        return cases.NewTicket(self.category, self.subject, self.body, self.priority, self.student_id, self.lead_id,
                               self.source, self.assignee_id)


class ReplyIn(Input):
    body: str = Field(min_length=1, max_length=5000)
    internal: bool = False  # a note only staff see


class MoveIn(Input):
    status: StatusName


class AssignIn(Input):
    assignee_id: str | None = Field(max_length=36)


def _choice(request: Request, name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.query_params.get(name) or None
    if value is not None and value not in allowed:
        raise InvalidInput([{"field": name, "message": f"one of {', '.join(allowed)}"}])
    return value


def _flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name, "")
    if value not in ("", "0", "1", "true", "false"):
        raise InvalidInput([{"field": name, "message": "1 or 0"}])
    return value in ("1", "true")


def register(api: Api) -> None:
    @api.route("/tickets", "GET", "The campus's tickets, unresolved and most urgent first (?status=, ?category=, "
               "?assignee_id=, ?student_id=, ?unresolved=1, ?overdue=1: unanswered past the response deadline)",
               "tickets.read", tags=["tickets"])
    async def listing(request: Request) -> Response:
        node = request.app.state.node
        limit, offset = page_params(request)
        status = _choice(request, "status", tuple(s.value for s in Status))
        category = _choice(request, "category", tuple(c.value for c in Category))
        return json_response(await node.query(
            queries.ticket_list, node.ctx, status=status, category=category,
            assignee_id=request.query_params.get("assignee_id") or None,
            student_id=request.query_params.get("student_id") or None, overdue=_flag(request, "overdue"),
            unresolved=_flag(request, "unresolved"), limit=limit, offset=offset))

    @api.route("/tickets", "POST", "Open a ticket about a student or a lead; its response deadline follows its "
               "category ([service])", "tickets.write", body=TicketIn, tags=["tickets"])
    @performs(cases.open_ticket)
    async def open_one(request: Request) -> Response:
        body = await parse_body(request, TicketIn)
        return json_response(await request.app.state.node.perform(request, cases.open_ticket, body.new()), 201)

    @api.route("/tickets/{ticket_id}", "GET", "One ticket with its thread (replies, internal notes, status moves)",
               "tickets.read", tags=["tickets"])
    async def one(request: Request) -> Response:
        node = request.app.state.node
        return json_response(await node.query(queries.ticket_view, node.ctx, request.path_params["ticket_id"]))

    @api.route("/tickets/{ticket_id}/replies", "POST", "Reply to the family (the first reply answers the ticket) "
               "or, with internal, add a note only staff see", "tickets.write", body=ReplyIn, tags=["tickets"])
    @performs(cases.reply_to_ticket)
    async def reply(request: Request) -> Response:
        body = await parse_body(request, ReplyIn)
        return json_response(await request.app.state.node.perform(
            request, cases.reply_to_ticket, request.path_params["ticket_id"], body.body, body.internal), 201)

    @api.route("/tickets/{ticket_id}/status", "POST", "Move a ticket: in_progress, resolved, closed or reopened, "
               "as its status allows", "tickets.write", body=MoveIn, tags=["tickets"])
    @performs(cases.move_ticket)
    async def move(request: Request) -> Response:
        body = await parse_body(request, MoveIn)
        return json_response(await request.app.state.node.perform(
            request, cases.move_ticket, request.path_params["ticket_id"], body.status))

    @api.route("/tickets/{ticket_id}/assignee", "POST", "Give a ticket to a member of staff (null: nobody)",
               "tickets.write", body=AssignIn, tags=["tickets"])
    @performs(cases.assign_ticket)
    async def assign(request: Request) -> Response:
        body = await parse_body(request, AssignIn)
        return json_response(await request.app.state.node.perform(
            request, cases.assign_ticket, request.path_params["ticket_id"], body.assignee_id))
