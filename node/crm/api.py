"""``/api/v1/leads``: thin routes over the lead use cases."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from campus.node.crm import lead_import
from campus.node.crm import use_cases as cases
from campus.node.crm.leads import FollowUpChannel, get_lead, list_leads, present_lead
from campus.node.crm.moves import lead_history_of
from campus.node.crm.pools import Move, Pool
from campus.node.crm.reminders import reminders_for
from campus.node.privacy import audit_lead_view
from campus.node.refunds.queries import refund_reminders
from campus.node.risk.queries import risk_reminders
from campus.node.teaching.alerts import teaching_reminders
from campus.schema.tables import lead_follow_ups, lead_history, leads
from campus.web.api import (
    Api,
    Input,
    items_model,
    json_response,
    page_model,
    page_params,
    parse_body,
    row_model,
)
from campus.web.imports import import_form
from campus.web.problems import InvalidInput, Problem
from campus.web.usecase import performs


class LeadIn(Input):
    name: str = Field(min_length=1, max_length=100)
    phone: str = Field(min_length=1, max_length=40)
    channel: str | None = Field(default=None, max_length=32)
    notes: str | None = Field(default=None, max_length=2000)


class LeadPatch(Input):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    phone: str | None = Field(default=None, min_length=1, max_length=40)
    channel: str | None = Field(default=None, max_length=32)
    notes: str | None = Field(default=None, max_length=2000)
    birthday: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")


class FollowUpIn(Input):
    channel: FollowUpChannel = Field(strict=False)
    content: str = Field(min_length=1, max_length=4000)
    next_follow_up_on: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")


class MoveIn(Input):
    reason: str | None = Field(default=None, max_length=500)
    consultant_id: str | None = Field(default=None, max_length=36)


LeadOut = row_model(leads, "Lead", pool=Pool)
FollowUpOut = row_model(lead_follow_ups, "FollowUp", exclude=("by_user_id",), channel=FollowUpChannel)
LeadHistoryOut = items_model(row_model(lead_history, "LeadHistoryEntry"), "LeadHistory")


def register(api: Api) -> None:
    @api.route("/leads", "POST", "Create a lead", "leads.write", body=LeadIn, tags=["leads"],
               response=LeadOut)
    @performs(cases.create_lead)
    async def create(request: Request) -> Response:
        lead_in = await parse_body(request, LeadIn)
        node = request.app.state.node
        lead = await node.perform(request, cases.create_lead, **lead_in.model_dump())
        return json_response(present_lead(lead, request.state.principal, node.config.campus_id), 201)

    @api.route("/leads", "GET", "This campus's leads (?pool=&consultant=&q=&limit=&offset=)", "leads.read",
               tags=["leads"], response=page_model(LeadOut, "LeadPage"))
    async def index(request: Request) -> Response:
        limit, offset = page_params(request)
        node = request.app.state.node
        params = request.query_params
        pool = params.get("pool") or None
        if pool is not None and pool not in {p.value for p in Pool}:
            raise InvalidInput([{"field": "pool", "message": f"one of {', '.join(p.value for p in Pool)}"}])
        total, rows = await node.query(list_leads, node.config.campus_id, limit, offset, request.state.principal,
                                       pool=pool, consultant_id=params.get("consultant") or None,
                                       query=params.get("q") or None)
        return json_response({"total": total, "limit": limit, "offset": offset, "items": rows})

    @api.route("/leads/{lead_id}", "PATCH", "Edit a lead's descriptive fields", "leads.write", body=LeadPatch,
               tags=["leads"], response=LeadOut)
    @performs(cases.edit_lead)
    async def edit(request: Request) -> Response:
        patch = await parse_body(request, LeadPatch)
        node = request.app.state.node
        campus_id = node.config.campus_id
        lead = await node.perform(request, cases.edit_lead, request.path_params["lead_id"],
                                  patch.model_dump(exclude_unset=True))
        return json_response(present_lead(lead, request.state.principal, campus_id))

    @api.route("/leads/import", "POST", "Import leads from an uploaded .csv or .xlsx (multipart: 'file'; optional "
               "'mapping' as a TOML mapping file, 'mode' rows|all, 'dry_run' true to write nothing); every row's "
               "outcome by its line in the file", "leads.import", tags=["leads"])
    @performs(cases.import_leads)
    async def import_file(request: Request) -> Response:
        node = request.app.state.node
        upload, choice, mode, dry = await import_form(request)
        assert upload.filename  # import_form refuses a file without a name
        if dry:
            report = await node.query(lead_import.dry_run, node.ctx, node.ctx.today(), upload.file, upload.filename,
                                      choice, mode=mode)
        else:
            report = await node.perform(request, cases.import_leads, upload.file, upload.filename, choice, mode=mode)
        return json_response(await node.blocking(report.as_dict, "lead_id"), 201 if report.written else 200)

    @api.route("/leads/{lead_id}/follow-ups", "POST", "Record a follow-up", "leads.write", body=FollowUpIn,
               tags=["leads"], response=FollowUpOut)
    @performs(cases.add_follow_up)
    async def follow_up(request: Request) -> Response:
        follow_up_in = await parse_body(request, FollowUpIn)
        row = await request.app.state.node.perform(request, cases.add_follow_up, request.path_params["lead_id"],
                                                   **follow_up_in.model_dump())
        return json_response(row, 201)

    @api.route("/leads/{lead_id}/{move:str}", "POST",
               "Move a lead: claim, release, assign (round-robin without consultant_id), invite, deposit, sign, "
               "return (reason), confirm-invalid (reason), revive", "leads.move", body=MoveIn, tags=["leads"],
               response=LeadOut)
    @performs(cases.move_lead)
    async def move(request: Request) -> Response:
        name = request.path_params["move"]
        if name not in {m.value for m in Move} - {Move.AUTO_RETURN.value}:
            raise Problem(404, f"no such move {name!r}")
        move_in = await parse_body(request, MoveIn) if await request.body() else MoveIn()
        node = request.app.state.node
        lead = await node.perform(request, cases.move_lead, request.path_params["lead_id"], Move(name),
                                  reason=move_in.reason, consultant_id=move_in.consultant_id)
        return json_response(present_lead(lead, request.state.principal, node.config.campus_id))

    @api.route("/leads/{lead_id}/history", "GET", "Who moved the lead where, and what imports merged into it",
               "leads.read", tags=["leads"], response=LeadHistoryOut)
    async def history(request: Request) -> Response:
        node = request.app.state.node

        def read(conn: Connection) -> list[dict[str, Any]]:
            get_lead(conn, request.path_params["lead_id"], request.state.principal, node.config.campus_id)
            return lead_history_of(conn, request.path_params["lead_id"])

        return json_response({"items": await node.query(read)})

    @api.route("/reminders", "GET", "The signed-in user's reminders: follow-ups, birthdays, returns, "
               "lost claims, absences, lesson changes, students at risk, refunds to approve or pay", "home.view", tags=["leads"])
    async def reminders(request: Request) -> Response:
        node = request.app.state.node
        principal = request.state.principal
        ctx, user_id = node.ctx, principal.user_id

        def read(conn: Connection) -> list[dict[str, Any]]:
            now = ctx.now()
            return (reminders_for(conn, user_id, ctx.id, now, ctx.crm)
                    + teaching_reminders(conn, user_id, ctx.id, now, ctx.teaching)
                    + risk_reminders(conn, user_id, ctx.id)
                    + refund_reminders(conn, ctx.id, ctx.today(), may_approve=principal.can("refunds.approve", ctx.id),
                                       may_pay=principal.can("refunds.pay", ctx.id)))

        return json_response({"items": await node.query(read)})

    @api.route("/leads/{lead_id}", "GET", "One lead", "leads.read", tags=["leads"], response=LeadOut)
    async def show(request: Request) -> Response:
        node = request.app.state.node
        lead = await node.query(get_lead, request.path_params["lead_id"], request.state.principal,
                                node.config.campus_id)
        await audit_lead_view(request, lead)
        return json_response(lead)
