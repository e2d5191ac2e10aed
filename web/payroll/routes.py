"""Pay plans over HTTP: read by every campus, maintained where the price list is (headquarters at
the hub; a campus never enrolled with a hub keeps its own). The same routes serve both apps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from campus.schema.context import CampusContext
from campus.schema.errors import DomainError, Invalid
from campus.schema.tables import commission_plans
from campus.web.api import Api, Input, Output, json_response, parse_body, row_model
from campus.web.auth import actor_of, check_csrf, guard
from campus.web.i18n import gettext_ as _
from campus.web.payroll.plans import EXAMPLES, PLANNED
from campus.web.payroll.store import plan_list, set_plan
from campus.web.prices.routes import _owned_here
from campus.web.templating import flash, make_templates, render
from campus.web.usecase import Work, perform, performs, query, use_case

TEMPLATES = make_templates(Path(__file__).parent.parent / "templates")
DATE = r"^\d{4}-\d{2}-\d{2}$"


class PlanIn(Input):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=100)
    position: Literal["consultant", "academic_advisor", "teacher"]
    effective_from: str = Field(pattern=DATE)
    rules: dict[str, Any]
    for_campus_id: str | None = Field(default=None, max_length=36)
    active: bool = True


@use_case("payroll.plans")
def save_plan(work: Work[CampusContext], plan: PlanIn) -> dict[str, Any]:
    """Create a pay plan from a date, or change that version of it; the rules are checked first."""
    made = set_plan(work.uow, plan.code, plan.name, plan.position, plan.effective_from, plan.rules,
                    plan.for_campus_id, plan.active, now=work.ctx.now_text())
    work.audit("pay_plan_saved", target_table="commission_plans", target_id=made["id"],
               after={k: made[k] for k in ("code", "name", "position", "effective_from", "for_campus_id", "rules")})
    return made


def _context(request: Request) -> CampusContext:
    return CampusContext(id=request.app.state.auth.campus_id or "", code="")


# the rules as the plan's position has them (see campus.web.payroll.plans): an object, checked on the way in
PlanOut = row_model(commission_plans, "PayPlan", position=Literal["consultant", "academic_advisor", "teacher"],
                    rules=dict[str, Any])


class PlanList(Output):
    items: list[PlanOut]  # type: ignore[valid-type]
    maintained_here: bool  # False at a campus whose pay plans headquarters keeps


def register_pay_plans_api(api: Api) -> None:
    @api.route("/payroll/plans", "GET", "Pay plans (commission, advisor vesting, lesson fees), every version",
               "payroll.read_own", tags=["payroll"], response=PlanList)
    async def plans(request: Request) -> Response:
        listing = await query(request.app.state.auth.store, plan_list)
        return json_response({"items": listing, "maintained_here": request.app.state.manages_price_list})

    @api.route("/payroll/plans", "POST", "Create or change a pay plan from a date (rates in basis points, brackets "
               "from 0 without gap or overlap)", "payroll.plans", body=PlanIn, tags=["payroll"], response=PlanOut)
    @performs(save_plan)
    async def save(request: Request) -> Response:
        given = await parse_body(request, PlanIn)
        _owned_here(request)
        made = await perform(request.app.state.auth.store, _context(request), actor_of(request), save_plan, given)
        return json_response(made, 201)


async def plans_page(request: Request) -> Response:
    """Every plan version; where plans are maintained, a form taking the rules as JSON."""
    if request.method == "POST":
        form = await request.form()
        check_csrf(request, form)
        try:
            _owned_here(request)
            try:
                rules = json.loads(str(form.get("rules", "")))
            except ValueError as exc:
                raise Invalid("rules", f"rules: not JSON ({exc})") from None
            given = PlanIn.model_validate({
                "code": str(form.get("code", "")).strip(), "name": str(form.get("name", "")).strip(),
                "position": str(form.get("position", "")), "effective_from": str(form.get("effective_from", "")),
                "rules": rules, "for_campus_id": str(form.get("for_campus_id", "")).strip() or None})
            await perform(request.app.state.auth.store, _context(request), actor_of(request), save_plan, given)
            flash(request, _("Pay plan saved."), "success")
        except DomainError as exc:
            flash(request, f"{exc.facts.get('field', '')}: {_(exc.detail)}", "error")
        except ValueError as exc:  # the model's own refusal
            flash(request, str(exc).splitlines()[0], "error")
        return RedirectResponse("/payroll-plans", status_code=303)
    listing = await query(request.app.state.auth.store, plan_list)
    return render(TEMPLATES, request, "payroll_plans.html", {
        "app_title": request.app.state.title, "plans": listing, "maintained_here": request.app.state.manages_price_list,
        "positions": [(p.value, _(p.value.replace("_", " ").capitalize())) for p in PLANNED],
        "examples": {p.value: json.dumps(EXAMPLES[p], ensure_ascii=False, indent=1) for p in PLANNED},
        "rules_json": {row["id"]: json.dumps(row["rules"], ensure_ascii=False) for row in listing}})


def pay_plan_routes() -> list[Route]:
    page = performs(save_plan)(plans_page)
    return [Route("/payroll-plans", guard("payroll.read_own", page, screen=True), methods=["GET", "POST"])]
