"""``/api/v1/tickets`` (问题单) and ``/api/v1/surveys``: the service desk over JSON."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from campus.node.service import survey_cases, survey_queries
from campus.node.service import ticket_cases as cases
from campus.node.service import ticket_queries as queries
from campus.node.service.surveys import Target, target_of
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


class QuestionIn(Input):
    kind: Literal["single", "multiple", "rating", "text"]
    text: str = Field(min_length=1, max_length=500)
    options: list[str] = Field(default_factory=list, max_length=10)


class TargetIn(Input):
    scope: Literal["campus", "classes", "students"]
    ids: list[str] = Field(default_factory=list, max_length=500)

    def target(self) -> Target:
        return target_of(self.scope, self.ids)


class SurveyIn(Input):
    title: str = Field(min_length=1, max_length=200)
    questions: list[QuestionIn] = Field(min_length=1, max_length=30)
    for_families: bool = True
    target: TargetIn | None = None  # default: every family of the campus


class SurveyEditIn(Input):
    title: str = Field(min_length=1, max_length=200)
    questions: list[QuestionIn] = Field(min_length=1, max_length=30)
    for_families: bool = True


class SurveyStatusIn(Input):
    status: Literal["open", "closed"]


class AnswersIn(Input):
    student_id: str = Field(min_length=1, max_length=36)
    class_id: str | None = Field(default=None, min_length=1, max_length=36)
    answers: dict[str, int | str | list[str]] = Field(max_length=30)


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
    register_surveys(api)

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


def register_surveys(api: Api) -> None:
    @api.route("/surveys", "GET", "The campus's surveys with how many answered and their mean rating", "surveys.read",
               tags=["surveys"])
    async def surveys(request: Request) -> Response:
        node = request.app.state.node
        return json_response({"items": await node.query(survey_queries.survey_list, node.ctx.id)})

    @api.route("/surveys", "POST", "Write a survey (a draft): single choice, multiple choice, 1–5 rating and text "
               "questions", "surveys.manage", body=SurveyIn, tags=["surveys"])
    @performs(survey_cases.create_survey)
    async def create(request: Request) -> Response:
        body = await parse_body(request, SurveyIn)
        return json_response(await request.app.state.node.perform(
            request, survey_cases.create_survey, body.title, [q.model_dump() for q in body.questions],
            body.for_families, body.target.target() if body.target else None), 201)

    @api.route("/surveys/satisfaction", "GET", "Mean scores of the last 90 days (hundredths, 1–5) for the campus, "
               "each class and each teacher: lesson ratings and survey answers", "surveys.read", tags=["surveys"])
    async def satisfaction(request: Request) -> Response:
        node = request.app.state.node
        return json_response(await node.query(survey_queries.satisfaction, node.ctx))

    @api.route("/surveys/{survey_id}", "GET", "One survey with its results per question", "surveys.read",
               tags=["surveys"])
    async def one(request: Request) -> Response:
        node = request.app.state.node
        return json_response(await node.query(survey_queries.survey_results, node.ctx,
                                              request.path_params["survey_id"]))

    @api.route("/surveys/{survey_id}", "PUT", "Change a survey's title and questions: in place while nobody has "
               "answered it, else as a new version (the answer names its id) that replaces it and closes the old",
               "surveys.manage", body=SurveyEditIn, tags=["surveys"])
    @performs(survey_cases.edit_survey)
    async def edit(request: Request) -> Response:
        body = await parse_body(request, SurveyEditIn)
        return json_response(await request.app.state.node.perform(
            request, survey_cases.edit_survey, request.path_params["survey_id"], body.title,
            [q.model_dump() for q in body.questions], body.for_families))

    @api.route("/surveys/{survey_id}/target", "POST", "Whose families see the survey in the portal: the campus's, "
               "those of some classes or of some students (ids)", "surveys.manage", body=TargetIn, tags=["surveys"])
    @performs(survey_cases.target_survey)
    async def target(request: Request) -> Response:
        body = await parse_body(request, TargetIn)
        return json_response(await request.app.state.node.perform(
            request, survey_cases.target_survey, request.path_params["survey_id"], body.target()))

    @api.route("/surveys/{survey_id}/status", "POST", "Open or close a survey", "surveys.manage",
               body=SurveyStatusIn, tags=["surveys"])
    @performs(survey_cases.move_survey)
    async def move(request: Request) -> Response:
        body = await parse_body(request, SurveyStatusIn)
        return json_response(await request.app.state.node.perform(
            request, survey_cases.move_survey, request.path_params["survey_id"], body.status))

    @api.route("/surveys/{survey_id}/responses", "POST", "Record a family's answers (during a call): {question id: "
               "answer}", "surveys.answer", body=AnswersIn, tags=["surveys"])
    @performs(survey_cases.answer_survey)
    async def answer(request: Request) -> Response:
        body = await parse_body(request, AnswersIn)
        return json_response(await request.app.state.node.perform(
            request, survey_cases.answer_survey, request.path_params["survey_id"], body.student_id, body.answers,
            body.class_id), 201)
