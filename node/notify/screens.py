"""Staff screens of the outbox: the messages with their delivery status (a failed or interrupted one
may be sent again), and the campus's wording of each kind of message."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from campus.node.crm.leads import CHANNEL_LABELS as LEAD_CHANNEL_LABELS
from campus.node.notify import marketing, queries
from campus.node.notify import use_cases as cases
from campus.node.notify.producers import staff_address
from campus.node.notify.templates import KINDS, Channel
from campus.node.screens import TEMPLATES
from campus.schema.tables import classes
from campus.web.auth import actor_of, guard
from campus.web.i18n import gettext_ as _
from campus.web.paging import list_view
from campus.web.templating import form_action, render
from campus.web.usecase import performs

KIND_LABELS = {"receipt_issued": "Receipt issued", "ticket_reply": "Reply to a ticket", "birthday": "Birthday",
               "lesson_reminder": "Lesson tomorrow", "low_hours": "Few hours left",
               "contract_expiring": "Contract expiring", "absence_alert": "Absence",
               "leave_confirmed": "Leave recorded", "sign_in_code": "Portal sign-in code",
               "follow_up_due": "Follow-up due", "marketing": "Marketing message"}
STATUS_LABELS = {"queued": "Queued", "sending": "Sending", "sent": "Sent", "failed": "Failed",
                 "skipped": "Not sent (opted out)", "interrupted": "Interrupted"}
CHANNEL_LABELS = {"sms": "SMS", "email": "E-mail"}
LOCALE_LABELS = {"zh_CN": "简体中文", "en": "English"}


def labels() -> dict[str, dict[str, str]]:
    return {"kinds": {k: _(v) for k, v in KIND_LABELS.items()}, "statuses": {k: _(v) for k, v in STATUS_LABELS.items()},
            "channels": {k: _(v) for k, v in CHANNEL_LABELS.items()}, "locales": LOCALE_LABELS}


async def outbox_page(request: Request) -> Response:
    node = request.app.state.node
    view = list_view(request, ("written",), "written", filters={"status": queries.STATUSES, "kind": KIND_LABELS})
    status = view.filters.get("status")
    found = await node.query(queries.outbox_list, node.ctx.id, status=status, kind=view.filters.get("kind"),
                             limit=view.limit, offset=view.offset)
    return render(TEMPLATES, request, "notifications.html", {
        **found, "status": status, "L": labels(), "view": view, "channels": node.ctx.notify.channels,
        "may_manage": actor_of(request).can("notifications.manage", node.ctx.id)})


@performs(cases.send_again)
async def send_again(request: Request) -> Response:
    node = request.app.state.node
    message_id = request.path_params["message_id"]

    def run(_form: FormData) -> str:
        cases.send_again(node.store, node.ctx, actor_of(request), message_id)
        return _("Queued again")

    return await form_action(request, "/notifications", run)


async def templates_page(request: Request) -> Response:
    node = request.app.state.node
    table = await node.query(queries.template_table, node.ctx.id)
    return render(TEMPLATES, request, "notification_templates.html", {
        "templates": table, "L": labels(), "may_manage": actor_of(request).can("notifications.manage", node.ctx.id)})


@performs(cases.save_template, cases.reset_template)
async def template_step(request: Request) -> Response:
    node = request.app.state.node

    def run(form: FormData) -> str:
        kind, channel, locale = (str(form.get(k, "")) for k in ("kind", "channel", "locale"))
        if str(form.get("reset", "")) == "1":
            cases.reset_template(node.store, node.ctx, actor_of(request), kind, channel, locale)
            return _("Back to the default wording")
        subject = str(form.get("subject", "")).strip() or None
        cases.save_template(node.store, node.ctx, actor_of(request), kind, channel, locale, subject,
                            str(form.get("body", "")))
        return _("Saved.")

    return await form_action(request, "/notifications/templates", run)


POOL_LABELS = {"lead": "Lead pool", "private": "Private pool", "invited": "Invited pool", "deposit": "Deposit pool",
               "returned": "Returned pool"}


async def marketing_page(request: Request) -> Response:
    node = request.app.state.node

    def read(conn: Any) -> dict[str, Any]:
        return {"templates": marketing.marketing_templates_of(conn, node.ctx.id),
                "classes": [dict(r) for r in conn.execute(select(classes.c.id, classes.c.name).where(
                    classes.c.campus_id == node.ctx.id, classes.c.deleted.is_(False)).order_by(classes.c.name))
                    .mappings()]}

    return render(TEMPLATES, request, "notification_marketing.html", {
        **await node.query(read), "pools": {k: _(v) for k, v in POOL_LABELS.items()},
        "lead_channels": {code.value: _(label) for code, label in LEAD_CHANNEL_LABELS.items()},
        "fields": KINDS[marketing.KIND].fields, "may_manage": actor_of(request).can("notifications.manage", node.ctx.id)})


@performs(marketing.save_marketing_template)
async def save_marketing_template(request: Request) -> Response:
    node = request.app.state.node

    def run(form: FormData) -> str:
        text = {k: str(form.get(k, "") or "") for k in ("template_id", "name", "subject_zh", "body_zh", "subject_en",
                                                         "body_en")}
        marketing.save_marketing_template(node.store, node.ctx, actor_of(request), text["template_id"] or None,
                                          text["name"], text["subject_zh"] or None, text["body_zh"],
                                          text["subject_en"] or None, text["body_en"])
        return _("Saved.")

    return await form_action(request, "/notifications/marketing", run)


@performs(marketing.send_marketing)
async def send_marketing(request: Request) -> Response:
    node = request.app.state.node

    def run(form: FormData) -> str:
        given = {k: str(form.get(k, "") or "").strip() or None for k in ("grade", "class_id", "channel", "pool")}
        audience = str(form.get("audience", ""))
        if audience == "students":
            given["channel"] = given["pool"] = None
        elif audience == "leads":
            given["grade"] = given["class_id"] = None
        done = marketing.send_marketing(node.store, node.ctx, actor_of(request), str(form.get("template_id", "")),
                                        marketing.Segment(audience, **given))
        return _("Queued: %(messages)s messages to %(recipients)s people (%(skipped)s opted out).") % done

    return await form_action(request, "/notifications/marketing", run)


async def my_address_page(request: Request) -> Response:
    node = request.app.state.node
    user_id = actor_of(request).user_id
    found = dict(await node.query(staff_address, node.ctx.id, user_id or ""))
    return render(TEMPLATES, request, "notification_my_address.html", {
        "phone": found.get(Channel.SMS, ""), "email": found.get(Channel.EMAIL, "")})


@performs(cases.set_staff_address)
async def set_my_address(request: Request) -> Response:
    node = request.app.state.node

    def run(form: FormData) -> str:
        cases.set_staff_address(node.store, node.ctx, actor_of(request),
                                str(form.get("phone", "")).strip() or None, str(form.get("email", "")).strip() or None)
        return _("Saved.")

    return await form_action(request, "/notifications/my-address", run)


def routes() -> list[Route]:
    assert set(KIND_LABELS) == set(KINDS)
    return [
        Route("/notifications", guard("notifications.read", outbox_page, screen=True)),
        Route("/notifications/templates", guard("notifications.read", templates_page, screen=True)),
        Route("/notifications/templates", guard("notifications.manage", template_step, screen=True), methods=["POST"]),
        Route("/notifications/marketing", guard("notifications.read", marketing_page, screen=True)),
        Route("/notifications/marketing/templates", guard("notifications.manage", save_marketing_template, screen=True),
              methods=["POST"]),
        Route("/notifications/marketing/sends", guard("notifications.manage", send_marketing, screen=True),
              methods=["POST"]),
        Route("/notifications/my-address", guard("home.view", my_address_page, screen=True)),
        Route("/notifications/my-address", guard("home.view", set_my_address, screen=True), methods=["POST"]),
        Route("/notifications/{message_id}/send-again", guard("notifications.manage", send_again, screen=True),
              methods=["POST"]),
    ]
