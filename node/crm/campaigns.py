"""Campaigns (市场活动): a channel, the period it runs and what it cost; leads link to the campaign
that brought them, and a campaign's page lists its leads and how far each has come (its pool)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import Field
from sqlalchemy import Connection, case, func, or_, select
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from campus.node.context import NodeWork
from campus.node.crm.leads import Channel, get_lead, normalise_channel, visible_leads
from campus.node.crm.pools import Pool
from campus.node.screens import TEMPLATES
from campus.node.workbench.labels import labels
from campus.node.workbench.refusals import Refused, refusal
from campus.schema.errors import DomainError, Invalid, NotFound
from campus.schema.permissions import Principal
from campus.schema.search import ordered, paged
from campus.schema.tables import campaigns, leads, users
from campus.web.api import Api, Input, Output, items_model, json_response, parse_body, row_model
from campus.web.auth import actor_of, guard
from campus.web.forms import form_model
from campus.web.i18n import gettext_ as _
from campus.web.paging import list_view
from campus.web.templating import form_action, render
from campus.web.usecase import performs, use_case

DATE = r"^\d{4}-\d{2}-\d{2}$"
MAX_FEN = 10**13


class CampaignIn(Input):
    name: str = Field(min_length=1, max_length=100)
    channel: str | None = Field(default=None, max_length=32)
    starts_on: str | None = Field(default=None, pattern=DATE)
    ends_on: str | None = Field(default=None, pattern=DATE)
    cost_fen: int = Field(default=0, ge=0, le=MAX_FEN)


class LeadCampaignIn(Input):
    campaign_id: str | None = Field(default=None, max_length=36)


def _day(text: str | None, field: str) -> str | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise Invalid(field, f"{text!r} is not a date") from None


def _ours(campus_id: str) -> Any:
    return campaigns.c.deleted.is_(False) & ((campaigns.c.campus_id == campus_id) | campaigns.c.campus_id.is_(None))


def campaign_row(conn: Connection, campus_id: str, campaign_id: str) -> dict[str, Any]:
    row = conn.execute(select(campaigns).where(campaigns.c.id == campaign_id, _ours(campus_id))).mappings().first()
    if row is None:
        raise NotFound(f"no campaign {campaign_id}", campaign_id=campaign_id)
    return dict(row)


@use_case("leads.import")
def create_campaign(work: NodeWork, new: CampaignIn) -> dict[str, Any]:
    """A campaign of this campus: its channel (a known one by its code), period and cost."""
    if not new.name.strip():
        raise Invalid("name", "Field required")
    starts, ends = _day(new.starts_on, "starts_on"), _day(new.ends_on, "ends_on")
    if starts and ends and ends < starts:
        raise Invalid("ends_on", "the campaign ends after it starts")
    row: dict[str, Any] = {"campus_id": work.ctx.id, "name": new.name.strip(), "channel": normalise_channel(new.channel) or None,
           "cost_fen": new.cost_fen, "starts_on": starts, "ends_on": ends, "created_at": work.ctx.now_text(),
           "deleted": False}
    campaign_id = work.uow.insert("campaigns", row)
    row["id"] = campaign_id
    work.audit("campaign_created", target_table="campaigns", target_id=campaign_id,
               after={k: row[k] for k in ("name", "channel", "cost_fen", "starts_on", "ends_on")})
    return row


@use_case("leads.write")
def set_lead_campaign(work: NodeWork, lead_id: str, campaign_id: str | None) -> dict[str, Any]:
    """Link a lead to the campaign that brought it (or to none)."""
    principal = work.actor.principal
    lead = get_lead(work.conn, lead_id, principal, work.ctx.id) if principal else get_lead(work.conn, lead_id)
    if campaign_id:
        try:
            campaign_row(work.conn, work.ctx.id, campaign_id)
        except NotFound:
            raise Invalid("campaign_id", f"no campaign {campaign_id} here") from None
    work.uow.update("leads", lead_id, {"campaign_id": campaign_id})
    work.audit("lead_edited", target_table="leads", target_id=lead_id, before={"campaign_id": lead["campaign_id"]},
               after={"campaign_id": campaign_id})
    return {**lead, "campaign_id": campaign_id}


def campaign_list(conn: Connection, campus_id: str) -> list[dict[str, Any]]:
    """The campus's campaigns (and the group's), newest first, with how many leads each brought and
    how many of them signed."""
    counted = {r.campaign_id: (r.total, r.signed) for r in conn.execute(
        select(leads.c.campaign_id, func.count().label("total"),
               func.sum(case((leads.c.pool == Pool.SIGNED.value, 1), else_=0)).label("signed"))
        .where(leads.c.campaign_id.is_not(None), leads.c.deleted.is_(False), leads.c.campus_id == campus_id)
        .group_by(leads.c.campaign_id))}
    found = []
    for row in conn.execute(select(campaigns).where(_ours(campus_id))
                            .order_by(campaigns.c.starts_on.desc(), campaigns.c.created_at.desc())).mappings():
        total, signed = counted.get(row["id"], (0, 0))
        found.append({**dict(row), "leads": int(total or 0), "signed": int(signed or 0),
                      "cost_per_lead_fen": row["cost_fen"] // total if total else None})
    return found


CAMPAIGN_LEAD_SORTS = {"number": leads.c.number, "name": leads.c.name, "stage": leads.c.pool,
                       "created": leads.c.created_at}


def campaign_view(conn: Connection, campus_id: str, campaign_id: str, viewer: Principal, limit: int = 50,
                  offset: int = 0, sort: str = "number", descending: bool = False) -> dict[str, Any]:
    """One campaign, a page of its leads as the viewer may see them (in the order of one of
    ``CAMPAIGN_LEAD_SORTS``, by number unless told) with how many there are, and the count in each pool."""
    campaign = campaign_row(conn, campus_id, campaign_id)
    where = (leads.c.campaign_id == campaign_id) & leads.c.deleted.is_(False) & (leads.c.campus_id == campus_id)
    stages: dict[str, int] = dict(conn.execute(select(leads.c.pool, func.count()).where(where).group_by(leads.c.pool)).all())
    shown, rows = paged(conn, select(leads.c.id, leads.c.number, leads.c.name, leads.c.pool, leads.c.channel,
                                     leads.c.created_at, users.c.display_name.label("consultant"))
                        .outerjoin(users, users.c.id == leads.c.consultant_id)
                        .where(where, visible_leads(viewer, campus_id)),
                        ordered(CAMPAIGN_LEAD_SORTS.get(sort, leads.c.number), descending, leads.c.id), limit, offset)
    total = sum(stages.values())
    return {"campaign": campaign, "leads": rows, "total": total, "shown_total": shown,
            "stages": [(pool.value, stages.get(pool.value, 0)) for pool in Pool],
            "cost_per_lead_fen": campaign["cost_fen"] // total if total else None,
            "cost_per_signed_fen": campaign["cost_fen"] // stages[Pool.SIGNED.value]
            if stages.get(Pool.SIGNED.value) else None}


def campaign_choices(conn: Connection, campus_id: str) -> list[dict[str, Any]]:
    """The campaigns a lead of this campus may be linked to, newest first (for a select)."""
    return [dict(r) for r in conn.execute(select(campaigns.c.id, campaigns.c.name).where(_ours(campus_id))
                                          .order_by(campaigns.c.created_at.desc()).limit(200)).mappings()]


def find_lead(conn: Connection, campus_id: str, text: str) -> str:
    """A lead of this campus by its number or phone, for linking it to a campaign."""
    text = text.strip()
    found = conn.execute(select(leads.c.id).where(leads.c.campus_id == campus_id, leads.c.deleted.is_(False),
                                                  or_(leads.c.number == text.upper(), leads.c.phone == text))).first()
    if found is None:
        raise Invalid("lead", "no lead with this number or phone")
    return str(found.id)


# --- screens ----------------------------------------------------------------------------------


async def campaigns_page(request: Request) -> Response:
    node, viewer = request.app.state.node, request.state.principal
    return render(TEMPLATES, request, "campaigns.html", {
        "app_title": node.config.campus_name, "campaigns": await node.query(campaign_list, node.config.campus_id),
        "channels": [c.value for c in Channel], "L": labels(), "today": node.ctx.today().isoformat(),
        "may_create": viewer.can("leads.import", node.config.campus_id)})


@performs(create_campaign)
async def campaign_create(request: Request) -> Response:
    node = request.app.state.node

    def create(form: FormData) -> str:
        try:
            made = create_campaign(node.store, node.ctx, actor_of(request), form_model(form, CampaignIn))
        except DomainError as exc:
            raise Refused(refusal(exc, fields={"name": "Name of the campaign"})) from None
        return _("Campaign %(name)s created") % {"name": made["name"]}

    return await form_action(request, "/campaigns", create)


async def campaign_page(request: Request) -> Response:
    node, viewer = request.app.state.node, request.state.principal
    listing = list_view(request, CAMPAIGN_LEAD_SORTS, "number", default_descending=False)
    view = await node.query(campaign_view, node.config.campus_id, request.path_params["campaign_id"], viewer,
                            listing.limit, listing.offset, listing.sort, listing.descending)
    return render(TEMPLATES, request, "campaign.html", {
        "app_title": node.config.campus_name, **view, "L": labels(), "view": listing,
        "may_link": viewer.can("leads.write", node.config.campus_id)})


@performs(set_lead_campaign)
async def campaign_add_lead(request: Request) -> Response:
    """Link a lead, found by its number or phone, to this campaign."""
    node = request.app.state.node
    campaign_id = request.path_params["campaign_id"]

    def link(form: FormData) -> str:
        try:
            with node.store.read() as conn:
                lead_id = find_lead(conn, node.config.campus_id, str(form.get("lead", "")))
            lead = set_lead_campaign(node.store, node.ctx, actor_of(request), lead_id, campaign_id)
        except DomainError as exc:
            raise Refused(refusal(exc, fields={"lead": "Lead"})) from None
        return _("Lead %(number)s linked to the campaign") % {"number": lead["number"]}

    return await form_action(request, f"/campaigns/{campaign_id}", link)


@performs(set_lead_campaign)
async def campaign_remove_lead(request: Request) -> Response:
    node = request.app.state.node
    campaign_id = request.path_params["campaign_id"]

    def unlink(form: FormData) -> str:
        try:
            lead = set_lead_campaign(node.store, node.ctx, actor_of(request), request.path_params["lead_id"], None)
        except DomainError as exc:
            raise Refused(refusal(exc)) from None
        return _("Lead %(number)s taken off the campaign") % {"number": lead["number"]}

    return await form_action(request, f"/campaigns/{campaign_id}", unlink)


@performs(set_lead_campaign)
async def lead_campaign(request: Request) -> Response:
    """From the lead's page: the campaign that brought it (or none)."""
    node = request.app.state.node
    lead_id = request.path_params["lead_id"]

    def link(form: FormData) -> str:
        try:
            set_lead_campaign(node.store, node.ctx, actor_of(request), lead_id,
                              str(form.get("campaign_id", "")).strip() or None)
        except DomainError as exc:
            raise Refused(refusal(exc)) from None
        return _("Campaign saved")

    return await form_action(request, f"/leads/{lead_id}", link)


def routes() -> list[Route]:
    def screen(path: str, action: str, endpoint: Any, methods: tuple[str, ...] = ("GET",)) -> Route:
        return Route(path, guard(action, endpoint, screen=True), methods=list(methods))

    return [screen("/campaigns", "leads.read", campaigns_page),
            screen("/campaigns", "leads.import", campaign_create, ("POST",)),
            screen("/campaigns/{campaign_id}", "leads.read", campaign_page),
            screen("/campaigns/{campaign_id}/leads", "leads.write", campaign_add_lead, ("POST",)),
            screen("/campaigns/{campaign_id}/leads/{lead_id}/remove", "leads.write", campaign_remove_lead, ("POST",)),
            screen("/leads/{lead_id}/campaign", "leads.write", lead_campaign, ("POST",))]


CampaignOut = row_model(campaigns, "Campaign")
ListedCampaignOut = row_model(campaigns, "ListedCampaign", leads=int, signed=int, cost_per_lead_fen=int | None)


class CampaignLeadOut(Output):
    id: str
    number: str
    name: str
    pool: Pool
    channel: str | None
    created_at: str
    consultant: str | None  # the consultant's display name


class CampaignViewOut(Output):
    campaign: CampaignOut  # type: ignore[valid-type]
    leads: list[CampaignLeadOut]
    total: int
    stages: list[tuple[Pool, int]]  # every pool with its count of the campaign's leads
    cost_per_lead_fen: int | None
    cost_per_signed_fen: int | None


def register(api: Api) -> None:
    @api.route("/campaigns", "GET", "This campus's campaigns (and the group's) with their leads and signings",
               "leads.read", tags=["leads"], response=items_model(ListedCampaignOut, "CampaignList"))
    async def index(request: Request) -> Response:
        node = request.app.state.node
        return json_response({"items": await node.query(campaign_list, node.config.campus_id)})

    @api.route("/campaigns", "POST", "Create a campaign: channel, period (starts_on, ends_on) and cost",
               "leads.import", body=CampaignIn, tags=["leads"], response=CampaignOut)
    @performs(create_campaign)
    async def create(request: Request) -> Response:
        given = await parse_body(request, CampaignIn)
        return json_response(await request.app.state.node.perform(request, create_campaign, given), 201)

    @api.route("/campaigns/{campaign_id}", "GET", "A campaign with its leads and the count in each pool",
               "leads.read", tags=["leads"], response=CampaignViewOut)
    async def show(request: Request) -> Response:
        node = request.app.state.node
        shown = await node.query(campaign_view, node.config.campus_id, request.path_params["campaign_id"],
                                 request.state.principal, limit=500)
        shown.pop("shown_total")
        return json_response(shown)

    @api.route("/leads/{lead_id}/campaign", "PUT", "Link a lead to a campaign (campaign_id null: to none)",
               "leads.write", body=LeadCampaignIn, tags=["leads"], response=row_model(leads, "Lead", pool=Pool))
    @performs(set_lead_campaign)
    async def link(request: Request) -> Response:
        given = await parse_body(request, LeadCampaignIn)
        return json_response(await request.app.state.node.perform(request, set_lead_campaign,
                                                                  request.path_params["lead_id"], given.campaign_id))
