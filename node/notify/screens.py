"""Staff screens of the outbox: the messages with their delivery status (a failed or interrupted one
may be sent again), and the campus's wording of each kind of message."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from campus.node.notify import queries
from campus.node.notify import use_cases as cases
from campus.node.notify.templates import KINDS
from campus.node.screens import TEMPLATES
from campus.web.auth import actor_of, guard
from campus.web.i18n import gettext_ as _
from campus.web.templating import form_action, render
from campus.web.usecase import performs

KIND_LABELS = {"receipt_issued": "Receipt issued", "ticket_reply": "Reply to a ticket", "birthday": "Birthday",
               "lesson_reminder": "Lesson tomorrow", "low_hours": "Few hours left",
               "contract_expiring": "Contract expiring", "absence_alert": "Absence",
               "leave_confirmed": "Leave recorded", "sign_in_code": "Portal sign-in code"}
STATUS_LABELS = {"queued": "Queued", "sending": "Sending", "sent": "Sent", "failed": "Failed",
                 "skipped": "Not sent (opted out)", "interrupted": "Interrupted"}
CHANNEL_LABELS = {"sms": "SMS", "email": "E-mail"}
LOCALE_LABELS = {"zh_CN": "简体中文", "en": "English"}


def labels() -> dict[str, dict[str, str]]:
    return {"kinds": {k: _(v) for k, v in KIND_LABELS.items()}, "statuses": {k: _(v) for k, v in STATUS_LABELS.items()},
            "channels": {k: _(v) for k, v in CHANNEL_LABELS.items()}, "locales": LOCALE_LABELS}


async def outbox_page(request: Request) -> Response:
    node = request.app.state.node
    status = request.query_params.get("status") or None
    status = status if status in queries.STATUSES else None
    found = await node.query(queries.outbox_list, node.ctx.id, status=status, limit=200)
    return render(TEMPLATES, request, "notifications.html", {
        **found, "status": status, "L": labels(), "channels": node.ctx.notify.channels,
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


def routes() -> list[Route]:
    assert set(KIND_LABELS) == set(KINDS)
    return [
        Route("/notifications", guard("notifications.read", outbox_page, screen=True)),
        Route("/notifications/templates", guard("notifications.read", templates_page, screen=True)),
        Route("/notifications/templates", guard("notifications.manage", template_step, screen=True), methods=["POST"]),
        Route("/notifications/{message_id}/send-again", guard("notifications.manage", send_again, screen=True),
              methods=["POST"]),
    ]
