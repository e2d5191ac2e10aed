"""``/api/v1/notifications``: the outbox with each message's delivery status, the campus's wording
of each kind of message (templates), families' opt-outs, and sending a failed message again."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from campus.node.notify import marketing, queries
from campus.node.notify import use_cases as cases
from campus.node.notify.templates import KINDS
from campus.schema.errors import NotFound
from campus.web.api import Api, Input, json_response, page_params, parse_body
from campus.web.problems import InvalidInput
from campus.web.usecase import performs

KindName = Literal["receipt_issued", "ticket_reply", "birthday", "lesson_reminder", "low_hours",
                   "contract_expiring", "absence_alert", "leave_confirmed", "marketing"]


class TemplateIn(Input):
    subject: str | None = Field(default=None, max_length=200)
    body: str = Field(min_length=1, max_length=2000)


class OptOutIn(Input):
    student_id: str = Field(min_length=1, max_length=36)
    kind: KindName
    opted_out: bool


class EmailIn(Input):
    student_id: str = Field(min_length=1, max_length=36)
    guardian_id: str | None = Field(default=None, min_length=1, max_length=36)
    email: str | None = Field(max_length=200)


class MarketingTemplateIn(Input):
    name: str = Field(min_length=1, max_length=100)
    subject_zh: str | None = Field(default=None, max_length=200)
    body_zh: str = Field(min_length=1, max_length=2000)
    subject_en: str | None = Field(default=None, max_length=200)
    body_en: str = Field(min_length=1, max_length=2000)


class SegmentIn(Input):
    audience: Literal["students", "leads"]
    grade: str | None = Field(default=None, min_length=1, max_length=32)
    class_id: str | None = Field(default=None, min_length=1, max_length=36)
    channel: str | None = Field(default=None, min_length=1, max_length=32)
    pool: Literal["lead", "private", "invited", "deposit", "returned"] | None = None

    def segment(self) -> marketing.Segment:
        return marketing.Segment(self.audience, self.grade, self.class_id, self.channel, self.pool)


class MarketingSendIn(Input):
    template_id: str = Field(min_length=1, max_length=36)
    segment: SegmentIn


class LocaleIn(Input):
    student_id: str = Field(min_length=1, max_length=36)
    locale: Literal["zh_CN", "en"] | None


class StaffAddressIn(Input):
    phone: str | None = Field(default=None, max_length=20)
    email: str | None = Field(default=None, max_length=200)


def _template_key(request: Request) -> tuple[str, str, str]:
    kind, channel, locale = (request.path_params[k] for k in ("kind", "channel", "locale"))
    errors = [{"field": name, "message": f"one of {', '.join(allowed)}"} for name, value, allowed in (
        ("kind", kind, list(KINDS)),
        ("channel", channel, ["sms", "email"]), ("locale", locale, ["zh_CN", "en"])) if value not in allowed]
    if errors:
        raise InvalidInput(errors)
    return kind, channel, locale


def register(api: Api) -> None:
    @api.route("/notifications", "GET", "The outbox, newest first, with each message's delivery status "
               "(?status=queued|sending|sent|failed|skipped|interrupted, ?kind=, ?student_id=)",
               "notifications.read", tags=["notifications"])
    async def listing(request: Request) -> Response:
        node = request.app.state.node
        limit, offset = page_params(request)
        status = request.query_params.get("status") or None
        kind = request.query_params.get("kind") or None
        if status and status not in queries.STATUSES:
            raise InvalidInput([{"field": "status", "message": f"one of {', '.join(queries.STATUSES)}"}])
        if kind and kind not in KINDS:
            raise InvalidInput([{"field": "kind", "message": f"one of {', '.join(KINDS)}"}])
        return json_response(await node.query(queries.outbox_list, node.ctx.id, status=status, kind=kind,
                                              student_id=request.query_params.get("student_id") or None,
                                              limit=limit, offset=offset))

    @api.route("/notifications/templates", "GET", "Each kind of message per channel and language: the wording used "
               "and the named fields it may use", "notifications.read", tags=["notifications"])
    async def templates(request: Request) -> Response:
        node = request.app.state.node
        return json_response({"items": await node.query(queries.template_table, node.ctx.id)})

    @api.route("/notifications/templates/{kind}/{channel}/{locale}", "PUT", "Save the campus's wording of a kind of "
               "message; a {placeholder} the kind does not provide is refused (422 naming subject or body)",
               "notifications.manage", body=TemplateIn, tags=["notifications"])
    @performs(cases.save_template)
    async def save(request: Request) -> Response:
        kind, channel, locale = _template_key(request)
        body = await parse_body(request, TemplateIn)
        return json_response(await request.app.state.node.perform(request, cases.save_template, kind, channel,
                                                                  locale, body.subject, body.body))

    @api.route("/notifications/templates/{kind}/{channel}/{locale}/reset", "POST", "Back to the default wording",
               "notifications.manage", tags=["notifications"])
    @performs(cases.reset_template)
    async def reset(request: Request) -> Response:
        kind, channel, locale = _template_key(request)
        return json_response(await request.app.state.node.perform(request, cases.reset_template, kind, channel,
                                                                  locale))

    @api.route("/notifications/opt-outs", "GET", "A family's opt-outs per kind of message (?student_id=)",
               "notifications.read", tags=["notifications"])
    async def opt_outs(request: Request) -> Response:
        node = request.app.state.node
        student_id = request.query_params.get("student_id") or ""
        if not student_id:
            raise InvalidInput([{"field": "student_id", "message": "required"}])
        if not await node.query(queries.student_exists, student_id):
            raise NotFound(f"no student {student_id}", student_id=student_id)
        return json_response({"student_id": student_id, "opted_out": await node.query(queries.opt_outs, student_id)})

    @api.route("/notifications/opt-outs", "POST", "Record a family's wish not to get (or again to get) a kind of "
               "message", "students.write", body=OptOutIn, tags=["notifications"])
    @performs(cases.set_opt_out)
    async def set_opt_out(request: Request) -> Response:
        body = await parse_body(request, OptOutIn)
        return json_response(await request.app.state.node.perform(request, cases.set_opt_out, body.student_id,
                                                                  body.kind, body.opted_out))

    @api.route("/notifications/{message_id}/send-again", "POST", "Queue a failed or interrupted message again",
               "notifications.manage", tags=["notifications"])
    @performs(cases.send_again)
    async def send_again(request: Request) -> Response:
        return json_response(await request.app.state.node.perform(request, cases.send_again,
                                                                  request.path_params["message_id"]))

    @api.route("/notifications/addresses", "POST", "Record the e-mail address a family gets messages at (a "
               "guardian's, or the student's own; null: none), at the student's home campus", "students.write",
               body=EmailIn, tags=["notifications"])
    @performs(cases.set_email)
    async def set_email(request: Request) -> Response:
        body = await parse_body(request, EmailIn)
        return json_response(await request.app.state.node.perform(request, cases.set_email, body.student_id,
                                                                  body.guardian_id, body.email))

    @api.route("/notifications/languages", "POST", "Record the language a family reads (zh_CN or en; null: the "
               "campus's): their messages and the portal's default, at the student's home campus", "students.write",
               body=LocaleIn, tags=["notifications"])
    @performs(cases.set_family_locale)
    async def set_locale(request: Request) -> Response:
        body = await parse_body(request, LocaleIn)
        return json_response(await request.app.state.node.perform(request, cases.set_family_locale, body.student_id,
                                                                  body.locale))

    register_marketing(api)


def register_marketing(api: Api) -> None:
    @api.route("/notifications/marketing/templates", "GET", "The campus's marketing wordings (Chinese and English)",
               "notifications.read", tags=["notifications"])
    async def marketing_templates(request: Request) -> Response:
        node = request.app.state.node
        return json_response({"items": await node.query(marketing.marketing_templates_of, node.ctx.id)})

    @api.route("/notifications/marketing/templates", "POST", "Save a new marketing wording; a {placeholder} other "
               "than {name} and {campus_name} is refused (422 naming body_zh, subject_en...)", "notifications.manage",
               body=MarketingTemplateIn, tags=["notifications"])
    @performs(marketing.save_marketing_template)
    async def new_marketing_template(request: Request) -> Response:
        body = await parse_body(request, MarketingTemplateIn)
        return json_response(await request.app.state.node.perform(
            request, marketing.save_marketing_template, None, body.name, body.subject_zh, body.body_zh,
            body.subject_en, body.body_en), 201)

    @api.route("/notifications/marketing/templates/{template_id}", "PUT", "Change a marketing wording",
               "notifications.manage", body=MarketingTemplateIn, tags=["notifications"])
    @performs(marketing.save_marketing_template)
    async def change_marketing_template(request: Request) -> Response:
        body = await parse_body(request, MarketingTemplateIn)
        return json_response(await request.app.state.node.perform(
            request, marketing.save_marketing_template, request.path_params["template_id"], body.name,
            body.subject_zh, body.body_zh, body.subject_en, body.body_en))

    @api.route("/notifications/marketing/sends", "POST", "Send a marketing wording to a segment (students of a grade "
               "or class, leads of a channel or pool): one message per address, in each family's language, "
               "opted-out families skipped", "notifications.manage", body=MarketingSendIn, tags=["notifications"])
    @performs(marketing.send_marketing)
    async def send_marketing(request: Request) -> Response:
        body = await parse_body(request, MarketingSendIn)
        return json_response(await request.app.state.node.perform(
            request, marketing.send_marketing, body.template_id, body.segment.segment()), 201)

    @api.route("/notifications/my-address", "PUT", "Where the signed-in member of staff gets messages to them "
               "(a follow-up falling due): a phone and an e-mail address", "home.view", body=StaffAddressIn,
               tags=["notifications"])
    @performs(cases.set_staff_address)
    async def my_address(request: Request) -> Response:
        body = await parse_body(request, StaffAddressIn)
        return json_response(await request.app.state.node.perform(
            request, cases.set_staff_address, body.phone or None, body.email or None))
