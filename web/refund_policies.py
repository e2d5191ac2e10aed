"""Refund policies over HTTP: read everywhere, maintained where the price list is (headquarters
at the hub; a campus never enrolled with a hub keeps its own). A policy is attached to one
product, to a product line (a subject), or is the default; its tiers are data
(:mod:`campus.schema.refunds`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import Connection, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from campus.schema.context import CampusContext
from campus.schema.errors import DomainError, Invalid
from campus.schema.quantities import Money
from campus.schema.refunds import ACTION_LABELS, EXAMPLE_TIERS, Action, parse_tiers, tiers_json
from campus.schema.tables import products, refund_policies
from campus.schema.times import utc_now_text
from campus.sync.capture import UnitOfWork
from campus.web.api import Api, Input, Output, json_response, parse_body, row_model
from campus.web.auth import actor_of, check_csrf, guard
from campus.web.i18n import gettext_ as _
from campus.web.prices.routes import _owned_here
from campus.web.templating import flash, make_templates, render
from campus.web.usecase import Work, perform, performs, query, use_case

TEMPLATES = make_templates(Path(__file__).parent / "templates")
TIER_ROWS = 6  # tier rows the screen's form offers


class TierIn(Input):
    label: str = Field(min_length=1, max_length=100)
    action: Literal["keep_paid", "keep_unconsumed", "fixed_fee", "full", "none"]
    min_consumed_bp: int = Field(default=0, ge=0, le=10_000)
    max_consumed_bp: int | None = Field(default=None, ge=0, le=10_001)
    max_days_since_signing: int | None = Field(default=None, ge=0, le=3660)
    rate_bp: int | None = Field(default=None, ge=0, le=10_000)
    fee_fen: int | None = Field(default=None, ge=0, le=100_000_000_000)


class PolicyIn(Input):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=100)
    product_id: str | None = Field(default=None, max_length=36)
    subject: str | None = Field(default=None, max_length=32)
    is_default: bool = False
    tiers: list[TierIn] = Field(min_length=1, max_length=20)
    active: bool = True


def policy_list(conn: Connection) -> list[dict[str, Any]]:
    names = {r.id: r.name for r in conn.execute(select(products.c.id, products.c.name))}
    return [{**dict(r), "tiers": json.loads(r["tiers"]), "product_name": names.get(r["product_id"])}
            for r in conn.execute(select(refund_policies).where(refund_policies.c.deleted.is_(False))
                                  .order_by(refund_policies.c.code)).mappings()]


def set_policy(uow: UnitOfWork, code: str, name: str, tiers: list[dict[str, Any]], product_id: str | None = None,
               subject: str | None = None, is_default: bool = False, active: bool = True) -> dict[str, Any]:
    """Create or change the policy ``code``; its tiers are checked (covering 0–100%, integer rates)."""
    checked = parse_tiers([{k: v for k, v in t.items() if v is not None} for t in tiers])
    if sum(bool(x) for x in (product_id, subject, is_default)) != 1:
        raise Invalid("product_id", "attach the policy to one product, or one product line (subject), or make it "
                                    "the default")
    if product_id and uow.conn.execute(select(products.c.id).where(products.c.id == product_id)).first() is None:
        raise Invalid("product_id", f"no product {product_id}")
    values = {"code": code, "name": name, "product_id": product_id or None, "subject": subject or None,
              "is_default": is_default, "tiers": tiers_json(checked), "active": active,
              "updated_at": utc_now_text(), "deleted": False}
    existing = uow.conn.execute(select(refund_policies.c.id).where(refund_policies.c.code == code)).first()
    if existing:
        uow.update("refund_policies", existing.id, values)
        policy_id = existing.id
    else:
        policy_id = uow.insert("refund_policies", values)
    row = uow.conn.execute(select(refund_policies).where(refund_policies.c.id == policy_id)).mappings().one()
    return {**dict(row), "tiers": json.loads(row["tiers"])}


@use_case("refunds.policies")
def save_policy(work: Work[CampusContext], fields: dict[str, Any]) -> dict[str, Any]:
    before = work.conn.execute(select(refund_policies).where(refund_policies.c.code == fields["code"])
                               ).mappings().first()
    policy = set_policy(work.uow, **fields)
    work.audit("refund_policy_saved", target_table="refund_policies", target_id=policy["id"],
               before={"tiers": json.loads(before["tiers"]), "active": before["active"]} if before else None,
               after={"code": policy["code"], "tiers": policy["tiers"], "active": policy["active"]})
    return policy


def _context(request: Request) -> CampusContext:
    return CampusContext(id=request.app.state.auth.campus_id or "", code="")


class TierOut(Output):
    """A tier as stored: its bounds and amounts, a bound that is not set left out."""

    label: str
    action: Action
    min_consumed_bp: int = 0
    max_consumed_bp: int | None = None
    max_days_since_signing: int | None = None
    rate_bp: int = 0
    fee_fen: int = 0


PolicyOut = row_model(refund_policies, "RefundPolicy", tiers=list[TierOut])


ListedPolicyOut = row_model(refund_policies, "ListedRefundPolicy", tiers=list[TierOut], product_name=str | None)


class PolicyList(Output):
    items: list[ListedPolicyOut]  # type: ignore[valid-type]
    maintained_here: bool  # False at a campus whose policies headquarters keeps


def register_refund_policy_api(api: Api) -> None:
    @api.route("/refund-policies", "GET", "Refund policies and their tiers", "refunds.read", tags=["refunds"],
               response=PolicyList)
    async def show(request: Request) -> Response:
        items = await query(request.app.state.auth.store, policy_list)
        return json_response({"items": items, "maintained_here": request.app.state.manages_price_list})

    @api.route("/refund-policies", "POST", "Create or change a refund policy (tiers in basis points and fen)",
               "refunds.policies", body=PolicyIn, tags=["refunds"], response=PolicyOut)
    @performs(save_policy)
    async def save(request: Request) -> Response:
        body = await parse_body(request, PolicyIn)
        _owned_here(request)
        policy = await perform(request.app.state.auth.store, _context(request), actor_of(request), save_policy,
                               body.model_dump())
        return json_response(policy, 201)


def _percent_bp(text: str, field: str) -> int | None:
    text = text.strip().rstrip("%")
    if not text:
        return None
    try:
        return Money.parse(text).fen  # "12.5" percent is 1250 basis points: the same two decimals as yuan
    except ValueError:
        raise Invalid(field, f"{text!r} is not a percentage like 20 or 12.5") from None


def _yuan(text: str, field: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    try:
        return Money.parse(text).fen
    except ValueError:
        raise Invalid(field, f"{text!r} is not an amount in yuan") from None


def tiers_from_form(form: Any) -> list[dict[str, Any]]:
    tiers = []
    for i in range(TIER_ROWS):
        label = str(form.get(f"tier{i}_label", "")).strip()
        if not label:
            continue
        days = str(form.get(f"tier{i}_days", "")).strip()
        tier: dict[str, Any] = {
            "label": label, "action": str(form.get(f"tier{i}_action", "")),
            "min_consumed_bp": _percent_bp(str(form.get(f"tier{i}_min", "")), f"tiers.{i}.min_consumed_bp") or 0,
            "max_consumed_bp": _percent_bp(str(form.get(f"tier{i}_max", "")), f"tiers.{i}.max_consumed_bp"),
            "max_days_since_signing": int(days) if days.isdigit() else None,
            "rate_bp": _percent_bp(str(form.get(f"tier{i}_rate", "")), f"tiers.{i}.rate_bp"),
            "fee_fen": _yuan(str(form.get(f"tier{i}_fee", "")), f"tiers.{i}.fee_fen")}
        tiers.append(tier)
    return tiers


async def refund_policies_page(request: Request) -> Response:
    """The policies with their tiers; where they are maintained, a form to save one."""
    if request.method == "POST":
        form = await request.form(max_files=0, max_fields=80)
        check_csrf(request, form)
        try:
            _owned_here(request)
            request.state.principal.require("refunds.policies", request.app.state.auth.campus_id)
            attach = str(form.get("attach", "default"))
            target = str(form.get("target", "")).strip()
            await perform(request.app.state.auth.store, _context(request), actor_of(request), save_policy, {
                "code": str(form.get("code", "")).strip(), "name": str(form.get("name", "")).strip(),
                "product_id": target if attach == "product" else None,
                "subject": target if attach == "subject" else None, "is_default": attach == "default",
                "tiers": tiers_from_form(form)})
            flash(request, _("Refund policy saved."))
        except DomainError as exc:
            flash(request, exc.detail, "error")
        return RedirectResponse("/refund-policies", status_code=303)
    items = await query(request.app.state.auth.store, policy_list)
    return render(TEMPLATES, request, "refund_policies.html", {
        "app_title": request.app.state.title, "items": items, "actions": ACTION_LABELS, "action_names": list(Action),
        "maintained_here": request.app.state.manages_price_list, "rows": range(TIER_ROWS),
        "example": EXAMPLE_TIERS})


def refund_policy_routes() -> list[Route]:
    page = performs(save_policy)(refund_policies_page)
    return [Route("/refund-policies", guard("refunds.read", page, screen=True), methods=["GET", "POST"])]
