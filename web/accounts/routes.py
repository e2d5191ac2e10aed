"""Signing in and out: ``POST /api/v1/auth/token`` for the API, ``/login`` for the screens."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from campus.schema.context import CampusContext
from campus.schema.errors import Conflict, DomainError, Invalid
from campus.schema.permissions import Role
from campus.schema.tables import audit_events, campuses
from campus.web.accounts.store import (
    AUDIT_SORTS,
    USER_SORTS,
    LoginFailed,
    check_password,
    create_user,
    issue_token,
    list_audit,
    precise_now,
    revoke_token,
    set_password,
    set_roles,
    users_with_roles,
)
from campus.web.accounts.store import audit_page as audit_page_of
from campus.web.accounts.store import users_page as users_page_of
from campus.web.api import Api, Input, Output, items_model, json_response, parse_body, row_model
from campus.web.auth import PUBLIC, actor_of, check_csrf, client_ip, csrf_token, guard, require
from campus.web.forms import refusal_message
from campus.web.i18n import gettext_ as _
from campus.web.paging import list_view
from campus.web.problems import InvalidInput
from campus.web.templating import flash, keep_refusal, make_templates, render
from campus.web.usecase import Work, off_loop, perform, performs, query, use_case

TEMPLATES = make_templates(Path(__file__).parent.parent / "templates")


class TokenIn(Input):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class SignedInUser(Output):
    id: str
    username: str


class IssuedToken(Output):
    token: str
    token_type: Literal["bearer"]
    expires_at: str
    user: SignedInUser


class PasswordChanged(Output):
    changed: Literal[True]
    token: str  # a new one: every other session and token of the user has ended
    expires_at: str


class Revoked(Output):
    revoked: Literal[True]


class UserOut(Output):
    id: str
    username: str
    display_name: str
    active: bool
    grants: list[tuple[str, Role]]  # (campus id, or "*" for every campus; role)


class UserList(Output):
    items: list[UserOut]


class CreatedUser(Output):
    id: str
    username: str


class UserRoles(Output):
    id: str
    roles: list[tuple[str, Role]]  # as granted now: (campus id, or "*"; role)


class PasswordSet(Output):
    id: str
    changed: Literal[True]


AuditList = items_model(row_model(audit_events, "AuditEvent"), "AuditList")


def register_auth_api(api: Api) -> None:
    @api.route("/auth/token", "POST", "Exchange a username and password for a bearer token", PUBLIC,
               body=TokenIn, tags=["auth"], response=IssuedToken)
    async def token(request: Request) -> Response:
        credentials = await parse_body(request, TokenIn)
        auth = request.app.state.auth
        # Argon2 and the store: on a worker thread, so a sign-in never stalls the node's other requests.
        principal = await off_loop(auth.sign_in, credentials.username, credentials.password, client_ip(request))
        value, expires = await off_loop(issue_token, auth.store, principal.user_id)
        return json_response({"token": value, "token_type": "bearer", "expires_at": expires,
                              "user": {"id": principal.user_id, "username": principal.username}}, 201)

    @api.route("/auth/password", "POST", "Change one's own password (every other session and token ends)",
               "home.view", body=PasswordChangeIn, tags=["auth"], response=PasswordChanged)
    @performs(change_own_password)
    async def change_password(request: Request) -> Response:
        body = await parse_body(request, PasswordChangeIn)
        _manages_accounts(request)
        await perform(request.app.state.auth.store, accounts_context(request), actor_of(request),
                      change_own_password, body.current_password, body.new_password)
        value, expires = await off_loop(issue_token, request.app.state.auth.store,
                                        request.state.principal.user_id)
        if "session" in request.scope and request.session.get("user_id"):
            request.session["signed_in_at"] = precise_now()
        return json_response({"changed": True, "token": value, "expires_at": expires})

    @api.route("/auth/revoke", "POST", "Revoke the bearer token this request carries", "home.view", tags=["auth"],
               response=Revoked)
    async def revoke(request: Request) -> Response:
        await off_loop(revoke_token, request.app.state.auth.store, request.headers["authorization"][7:].strip())
        return json_response({"revoked": True})


async def login(request: Request) -> Response:
    next_path = request.query_params.get("next", "/")
    if not next_path.startswith("/") or next_path.startswith("//"):
        next_path = "/"
    error = None
    if request.method == "POST":
        form = await request.form()
        check_csrf(request, form)
        try:
            principal = await off_loop(request.app.state.auth.sign_in, str(form.get("username", "")),
                                       str(form.get("password", "")), client_ip(request))
        except LoginFailed:
            error = _("Wrong username or password, or the account is locked for a while.")
        else:
            request.session.clear()
            request.session["user_id"] = principal.user_id
            request.session["signed_in_at"] = precise_now()
            return RedirectResponse(next_path, status_code=303)
    return render(TEMPLATES, request, "login.html",
                  {"app_title": request.app.state.title, "error": error, "next": next_path,
                   "csrf": csrf_token(request)}, 401 if error else 200)


async def logout(request: Request) -> Response:
    require(request, "home.view")
    check_csrf(request, await request.form())
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


AUDITED_ACTIONS = {
    "login": "Signed in",
    "login_failed": "Sign-in failed",
    "permission_change": "Permissions changed",
    "password_changed": "Password changed",
    "password_reset": "Password reset by an administrator",
    "conflict_resolved": "Conflict resolved",
    "leads_imported": "Leads imported",
    "leads_import_failed": "Lead import failed",
    "students_migrated": "Students migrated",
    "students_migration_failed": "Student migration failed",
    "data_exported": "All data exported",
    "contract_signed": "Contract signed",
    "manual_discount": "Manual discount",
    "deposit_taken": "Deposit taken",
    "payment_taken": "Payment taken",
    "attendance_confirmed": "Attendance confirmed",
    "attendance_changed": "Attendance corrected",
    "personal_data_exported": "Personal data exported",
    "personal_data_viewed": "Personal data viewed in full",
    "price_changed": "Price changed",
    "books_month_closed": "Month closed",
    "journal_entry_posted": "Journal entry posted",
    "expense_approved": "Expense approved",
    "invoice_issued": "Invoice issued",
    "invoice_cancelled": "Invoice cancelled (red)",
    "supervised_funds_released": "Supervised funds released",
    "cash_counted": "Cash counted",
    "class_transferred": "Class transferred",
    "commission_clawback": "Commission clawed back",
    "contract_exchange": "Hours exchanged",
    "contract_expand": "Contract expanded",
    "contract_extend": "Contract extended",
    "contract_shrink": "Contract shrunk",
    "contract_write_off": "Bad debt written off",
    "contracts_expired": "Contracts expired",
    "expense_rejected": "Expense rejected",
    "expense_submitted": "Expense submitted",
    "lead_edited": "Lead edited",
    "lesson_cancelled": "Lesson cancelled",
    "campaign_created": "Campaign created",
    "lesson_moved": "Lesson moved",
    "room_added": "Room added",
    "course_added": "Course added",
    "class_opened": "Class opened",
    "student_enrolled": "Student enrolled",
    "lesson_booked": "Lesson booked",
    "makeup_booked": "Make-up lesson booked",
    "kiosk_added": "Kiosk added",
    "kiosk_renamed": "Kiosk renamed",
    "kiosk_revoked": "Kiosk revoked",
    "kiosk_secret_renewed": "Kiosk secret renewed",
    "lessons_scheduled": "Lessons scheduled",
    "pay_plan_saved": "Pay plan saved",
    "kpi_targets_set": "KPI targets set",
    "payroll_adjusted": "Payroll adjusted",
    "payroll_run_drafted": "Payroll drafted",
    "payroll_run_approved": "Payroll approved",
    "payroll_run_paid": "Payroll paid",
    "payroll_run_recomputed": "Payroll recomputed",
    "payroll_run_returned": "Payroll returned for changes",
    "payroll_run_submitted": "Payroll submitted for review",
    "prepaid_rule_warning": "Prepaid-fee rule warning",
    "price_list_imported": "Price list imported",
    "refund_approved": "Refund approved",
    "refund_paid": "Refund paid",
    "refund_policy_saved": "Refund policy saved",
    "refund_rejected": "Refund rejected",
    "refund_requested": "Refund requested",
    "risk_evaluated": "Refund risk evaluated",
    "staff_record_added": "Staff record added",
    "staff_record_changed": "Staff record changed",
    "statement_format_added": "Statement format added",
    "statement_imported": "Statement imported",
    "student_admit": "Student admitted",
    "student_created": "Student created",
    "student_finish": "Student finished",
    "student_readmit": "Student readmitted",
    "student_withdraw": "Student withdrew",
    "supervision_warning": "Supervised-account warning",
    "device_approved": "Attendance terminal approved",
    "device_revoked": "Attendance terminal revoked",
    "device_changed": "Attendance terminal changed",
    "device_command_queued": "Command queued for a terminal",
    "device_people_synced": "Terminals' user lists brought up to date",
    "student_enrolled_on_devices": "Student put on the terminals",
    "staff_pin_added": "Staff PIN given",
    "staff_pin_removed": "Staff PIN taken away",
    "ticket_opened": "Ticket opened",
    "ticket_replied": "Ticket answered",
    "ticket_noted": "Internal note on a ticket",
    "ticket_status_changed": "Ticket status changed",
    "ticket_assigned": "Ticket assigned",
    "notifications_queued": "Messages queued",
    "notification_template_saved": "Message wording saved",
    "notification_template_reset": "Message wording reset",
    "notification_opt_out": "Family's message choice",
    "notification_sent_again": "Message sent again",
    "family_email_changed": "Family e-mail address changed",
    "portal_code_sent": "Portal: code sent",
    "portal_signed_in": "Portal: signed in",
    "portal_sign_in_failed": "Portal: sign-in failed",
    "portal_password_set": "Portal: password set",
    "portal_preferences_set": "Portal: messages and e-mail set",
    "portal_leave_requested": "Portal: leave asked for",
    "portal_ticket_opened": "Portal: ticket opened",
    "lesson_rated": "Lesson rated",
    "survey_created": "Survey written",
    "survey_status_changed": "Survey opened or closed",
    "survey_answered": "Survey answered during a call",
    "portal_survey_answered": "Portal: survey answered",
    "kb_category_saved": "Knowledge base category saved",
    "kb_article_saved": "Knowledge base article saved",
    "kb_article_deleted": "Knowledge base article removed",
    "portal_ticket_replied": "Portal: ticket replied to",
    "family_locale_changed": "Family's language changed",
    "staff_address_set": "Own message address set",
    "marketing_template_saved": "Marketing wording saved",
    "marketing_sent": "Marketing message sent to a segment",
    "survey_edited": "Survey changed",
    "survey_versioned": "Survey saved as a new version",
    "survey_targeted": "Survey audience set",
}  # what the filter offers, with the label shown for each



async def audit_page(request: Request) -> Response:
    """The audit trail with filters: a campus's own at a node, every campus's at the hub."""
    auth = request.app.state.auth
    view = list_view(request, AUDIT_SORTS, "at", filters={"action": AUDITED_ACTIONS, "username": None})
    action, username = view.filters.get("action"), view.filters.get("username")
    total, events = await query(auth.store, audit_page_of, auth.campus_id, view.limit, view.offset, action, username,
                                view.sort, view.descending)
    return render(TEMPLATES, request, "audit.html",
                  {"app_title": request.app.state.title, "events": events, "total": total, "view": view,
                   "actions": {code: _(label) for code, label in AUDITED_ACTIONS.items()},
                   "chosen_action": action or "", "chosen_username": username or ""})


ROLE_LABELS = {Role.HQ_ADMIN: "HQ admin", Role.CAMPUS_MANAGER: "Campus manager", Role.MARKETING: "Marketing",
               Role.CONSULTANT: "Consultant", Role.ACADEMIC_ADVISOR: "Academic advisor", Role.TEACHER: "Teacher",
               Role.FINANCE: "Finance", Role.FRONT_DESK: "Front desk"}


async def users_page(request: Request) -> Response:
    """Users and their roles; where accounts are managed here, create users and change roles."""
    auth, principal = request.app.state.auth, request.state.principal
    manages = request.app.state.manages_accounts and principal.can("users.manage", auth.campus_id)
    if request.method == "POST":
        form = await request.form()
        check_csrf(request, form)
        require(request, "users.manage")
        try:
            _manages_accounts(request)
            await off_loop(_change_users, request, form)
            flash(request, _("Saved."), "success")
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            flash(request, f"{field}: {first['msg']}", "error")
            named = field.split(".")[-1] if field.startswith("roles") else field.split(".")[0]
            keep_refusal(request, form, Invalid(named, refusal_message(first)))
        except (DomainError, ValueError) as exc:
            flash(request, getattr(exc, "detail", str(exc)), "error")
            if isinstance(exc, DomainError):
                keep_refusal(request, form, exc)
        return RedirectResponse("/users", status_code=303)

    view = list_view(request, USER_SORTS, "username", default_descending=False,
                     filters={"role": [role.value for role in Role]})

    def read(conn: Any) -> tuple[int, list[dict[str, Any]], dict[str, str]]:
        total, people = users_page_of(conn, view.limit, view.offset, view.q or None, view.filters.get("role"),
                                      view.sort, view.descending)
        return total, people, {row.id: row.name for row in conn.execute(
            select(campuses.c.id, campuses.c.name).where(campuses.c.deleted.is_(False)))}

    total, people, places = await query(auth.store, read)
    return render(TEMPLATES, request, "users.html", {
        "app_title": request.app.state.title, "people": people, "campuses": places, "manages": manages,
        "total": total, "view": view,
        "roles": [(role.value, _(label)) for role, label in ROLE_LABELS.items()],
        "role_names": {role.value: _(label) for role, label in ROLE_LABELS.items()}})


def _change_users(request: Request, form: Any) -> None:
    store, ctx, actor = request.app.state.auth.store, accounts_context(request), actor_of(request)
    action = str(form.get("action", ""))
    campus = str(form.get("campus_id", "")) or None
    if action == "create":
        user_in = UserIn(username=str(form.get("username", "")), display_name=str(form.get("display_name", "")),
                         password=str(form.get("password", "")),
                         roles=[GrantIn(role=str(form.get("role", "")), campus_id=campus)])
        create_account(store, ctx, actor, user_in.username, user_in.display_name, user_in.password,
                       [(g.role, g.campus_id) for g in user_in.roles])
        return
    user_id = str(form.get("user_id", ""))
    with store.read() as conn:
        current = next((p for p in users_with_roles(conn) if p["id"] == user_id), None)
    if current is None:
        raise Invalid("user_id", "no such user")
    grants = {(role, None if place == "*" else place) for place, role in current["grants"]}
    change = (Role(str(form.get("role", ""))).value, campus)
    if action == "grant":
        grants.add(change)
    elif action == "revoke":
        grants.discard(change)
    else:
        raise Invalid("action", "create, grant or revoke")
    replace_roles(store, ctx, actor, user_id, [(Role(r), c) for r, c in sorted(grants, key=str)])


@use_case("users.manage")
def create_account(work: Work[CampusContext], username: str, display_name: str, password: str,
                   grants: list[tuple[Role, str | None]]) -> str:
    user_id = create_user(work.uow, username, display_name, password, grants)
    work.audit("permission_change", target_table="users", target_id=user_id, before=[],
               after=sorted([c or "*", r.value] for r, c in grants))
    return user_id


@use_case("home.view")
def change_own_password(work: Work[CampusContext], current_password: str, new_password: str) -> str:
    """A signed-in user changes their password: every other session and token of theirs ends."""
    user_id = work.actor.user_id
    if user_id is None or not check_password(work.conn, user_id, current_password):
        raise Invalid("current_password", "the current password is not right")
    changed = set_password(work.uow, user_id, new_password)
    work.audit("password_changed", target_table="users", target_id=user_id)
    return changed


@use_case("users.manage")
def reset_password(work: Work[CampusContext], user_id: str, new_password: str) -> str:
    """An administrator sets a user's password: every session and token of that user ends."""
    changed = set_password(work.uow, user_id, new_password)
    work.audit("password_reset", target_table="users", target_id=user_id)
    return changed


@use_case("users.manage")
def replace_roles(work: Work[CampusContext], user_id: str, grants: list[tuple[Role, str | None]]) -> list[Any]:
    before, after = set_roles(work.uow, user_id, grants)
    work.audit("permission_change", target_table="users", target_id=user_id, before=before, after=after)
    return after


def accounts_context(request: Request) -> CampusContext:
    """The campus the accounts are kept for (empty at the hub: headquarters)."""
    return CampusContext(id=request.app.state.auth.campus_id or "", code="")


def login_routes() -> list[Route]:
    return [Route("/login", guard(PUBLIC, login), methods=["GET", "POST"]),
            Route("/logout", guard(PUBLIC, logout), methods=["POST"]),
            Route("/audit", guard("audit.read", audit_page, screen=True)),
            Route("/users", guard("users.read", performs(create_account, replace_roles)(users_page), screen=True), methods=["GET", "POST"])]


class GrantIn(Input):
    role: Role = Field(strict=False)  # strict mode would take only Role objects, never JSON strings
    campus_id: str | None = Field(default=None, max_length=36)


class PasswordChangeIn(Input):
    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=8, max_length=200)


class PasswordIn(Input):
    password: str = Field(min_length=8, max_length=200)


class UserIn(Input):
    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    display_name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=8, max_length=200)
    roles: list[GrantIn] = Field(default_factory=list)


class RolesIn(Input):
    roles: list[GrantIn]


def _manages_accounts(request: Request) -> None:
    if not request.app.state.manages_accounts:
        raise Conflict("accounts of an enrolled campus are managed at headquarters")


def register_accounts_api(api: Api) -> None:
    """Users, their roles and the audit trail; the same routes at a node and at the hub."""

    @api.route("/users", "GET", "Users and their roles", "users.read", tags=["accounts"],
               response=UserList)
    async def list_users(request: Request) -> Response:
        people = await query(request.app.state.auth.store, lambda conn: list(users_with_roles(conn)))
        return json_response({"items": people})

    @api.route("/users", "POST", "Create a user with roles", "users.manage", body=UserIn, tags=["accounts"],
               response=CreatedUser)
    @performs(create_account)
    async def create(request: Request) -> Response:
        user_in = await parse_body(request, UserIn)
        _manages_accounts(request)
        user_id = await perform(request.app.state.auth.store, accounts_context(request), actor_of(request),
                                create_account, user_in.username, user_in.display_name, user_in.password,
                                [(grant.role, grant.campus_id) for grant in user_in.roles])
        return json_response({"id": user_id, "username": user_in.username}, 201)

    @api.route("/users/{user_id}/roles", "PUT", "Replace a user's roles", "users.manage", body=RolesIn,
               tags=["accounts"], response=UserRoles)
    @performs(replace_roles)
    async def replace_user_roles(request: Request) -> Response:
        roles_in = await parse_body(request, RolesIn)
        _manages_accounts(request)
        user_id = request.path_params["user_id"]
        after = await perform(request.app.state.auth.store, accounts_context(request), actor_of(request),
                              replace_roles, user_id, [(g.role, g.campus_id) for g in roles_in.roles])
        return json_response({"id": user_id, "roles": after})

    @api.route("/users/{user_id}/password", "POST", "Set a user's password (their sessions and tokens end)",
               "users.manage", body=PasswordIn, tags=["accounts"], response=PasswordSet)
    @performs(reset_password)
    async def set_user_password(request: Request) -> Response:
        body = await parse_body(request, PasswordIn)
        _manages_accounts(request)
        await perform(request.app.state.auth.store, accounts_context(request), actor_of(request), reset_password,
                      request.path_params["user_id"], body.password)
        return json_response({"id": request.path_params["user_id"], "changed": True})

    @api.route("/audit", "GET", "The audit trail (?action=&username=&limit=)", "audit.read", tags=["accounts"],
               response=AuditList)
    async def audit(request: Request) -> Response:
        auth = request.app.state.auth
        limit = request.query_params.get("limit", "200")
        if not limit.isdigit() or not 1 <= int(limit) <= 1000:
            raise InvalidInput([{"field": "limit", "message": "must be an integer from 1 to 1000"}])
        rows = await query(auth.store, list_audit, auth.campus_id, request.query_params.get("action") or None,
                           request.query_params.get("username") or None, int(limit))
        return json_response({"items": rows})
