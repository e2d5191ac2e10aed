"""The campus node's Starlette app: JSON API, staff screens, health check."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

import campus
from campus.node import screens
from campus.node.api import conflicts as conflicts_api
from campus.node.api import status as status_api
from campus.node.books import api as books_api
from campus.node.books import screens as books_screens
from campus.node.config import NodeConfig
from campus.node.context import NodeContext
from campus.node.crm import api as leads_api
from campus.node.crm import campaigns as crm_campaigns
from campus.node.crm import screens as crm_screens
from campus.node.crm.moves import CrmSettings, auto_return
from campus.node.devices import api as devices_api
from campus.node.devices import routes as device_routes
from campus.node.devices import screens as device_screens
from campus.node.devices.use_cases import keep_terminals_up_to_date
from campus.node.finance import api as finance_api
from campus.node.finance import screens as finance_screens
from campus.node.finance.use_cases import expire_contracts, lines_due_to_expire
from campus.node.imports import api as imports_api
from campus.node.imports.screens import import_routes
from campus.node.notify import api as notify_api
from campus.node.notify import screens as notify_screens
from campus.node.notify.setup import start_outbox
from campus.node.ops.backup import CHECK_SECONDS as BACKUP_CHECK_SECONDS
from campus.node.ops.backup import backup_state, last_backup, schedule_for
from campus.node.ops.metrics import node_metrics
from campus.node.payroll import api as payroll_api
from campus.node.payroll import screens as payroll_screens
from campus.node.portal import routes as portal_routes
from campus.node.refunds import api as refunds_api
from campus.node.refunds import screens as refund_screens
from campus.node.reports import api as reports_api
from campus.node.reports import screens as report_screens
from campus.node.risk import api as risk_api
from campus.node.risk import screens as risk_screens
from campus.node.risk.use_cases import evaluate_due
from campus.node.service import api as service_api
from campus.node.service import screens as service_screens
from campus.node.store import NodeStore
from campus.node.sync import client_for, replica_for
from campus.node.teaching import api as teaching_api
from campus.node.teaching import kiosk_admin
from campus.node.teaching import moves as lesson_moves
from campus.node.teaching import screens as teaching_screens
from campus.node.teaching import setup_screens as teaching_setup
from campus.node.teaching import timetable as teaching_timetable
from campus.node.teaching.attendance import TeachingSettings
from campus.node.teaching.kiosk_routes import kiosk_routes
from campus.node.workbench import screens as workbench_screens
from campus.schema.books.entries import record_settings
from campus.schema.context import Actor, Clock, system_clock
from campus.schema.db import CHECKPOINT_INTERVAL_SECONDS
from campus.sync.client import SyncLoop
from campus.web.accounts.routes import login_routes, register_accounts_api, register_auth_api
from campus.web.accounts.store import Accounts
from campus.web.api import Api
from campus.web.auth import PUBLIC, actor_of, guard
from campus.web.i18n import LocaleMiddleware
from campus.web.jobs import Jobs
from campus.web.kb.routes import kb_routes, register_kb_api
from campus.web.payroll.routes import pay_plan_routes, register_pay_plans_api
from campus.web.prices.routes import price_list_routes, register_price_list_api
from campus.web.problems import EXCEPTION_HANDLERS
from campus.web.refund_policies import refund_policy_routes, register_refund_policy_api
from campus.web.security import SecurityHeadersMiddleware
from campus.web.templating import static_mount
from campus.web.usecase import UseCase, off_loop, perform, query

TEMPLATES = screens.TEMPLATES
AUTO_RETURN_INTERVAL_SECONDS = 3600
NAV = [{"href": "/", "label": "Home"}, {"href": "/leads", "label": "Leads", "action": "leads.read"},
       {"href": "/leads/new", "label": "New lead", "action": "leads.write"},
       {"href": "/leads/import", "label": "Import leads", "action": "leads.import"},
       {"href": "/campaigns", "label": "Campaigns", "action": "leads.read"},
       {"href": "/students", "label": "Students", "action": "students.read"},
       {"href": "/students/import", "label": "Migrate students", "action": "students.migrate"},
       {"href": "/schedule", "label": "Schedule", "action": "teaching.read"},
       {"href": "/timetable", "label": "Week timetable", "action": "teaching.read"},
       {"href": "/classes", "label": "Classes", "action": "teaching.read"},
       {"href": "/kiosks", "label": "Kiosks", "action": "kiosks.manage"},
       {"href": "/devices", "label": "Attendance terminals", "action": "devices.read"},
       {"href": "/risk", "label": "Refund risk", "action": "risk.read"},
       {"href": "/tickets", "label": "Tickets", "action": "tickets.read"},
       {"href": "/surveys", "label": "Surveys", "action": "surveys.read"},
       {"href": "/kb", "label": "Knowledge base", "action": "kb.read"},
       {"href": "/notifications", "label": "Notifications", "action": "notifications.read"},
       {"href": "/finance", "label": "Finance", "action": "finance.view"},
       {"href": "/refunds", "label": "Refunds", "action": "refunds.read"},
       {"href": "/books/trial-balance", "label": "Books", "action": "books.read"},
       {"href": "/payroll", "label": "Payroll", "action": "payroll.read_own"},
       {"href": "/reminders", "label": "Reminders"},
       {"href": "/notifications/my-address", "label": "Where I get messages", "action": "leads.move"},
       {"href": "/reports", "label": "Reports", "action": "reports.dashboard"},
       {"href": "/price-list", "label": "Price list", "action": "prices.read"},
       {"href": "/conflicts", "label": "Conflicts", "action": "conflicts.read"},
       {"href": "/sync", "label": "Sync", "action": "audit.read"},
       {"href": "/users", "label": "Users", "action": "users.read"},
       {"href": "/audit", "label": "Audit trail", "action": "audit.read"}]


@dataclass
class Node:
    """What every route of a node needs: its configuration, its store and its sync loop."""

    config: NodeConfig
    store: NodeStore
    sync_loop: SyncLoop | None = None
    clock: Clock = system_clock

    @cached_property
    def ctx(self) -> NodeContext:
        """The campus, its clock and settings, as every use case and query takes them (the config
        is frozen and the clock fixed, so it is built once, not on every request)."""
        return NodeContext.of(self.config, self.clock)

    @property
    def crm_settings(self) -> CrmSettings:
        return self.ctx.crm

    @property
    def teaching_settings(self) -> TeachingSettings:
        return self.ctx.teaching

    async def perform(self, request: Request, case: UseCase[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a use case for the request's user, off the event loop."""
        return await perform(self.store, self.ctx, actor_of(request), case, *args, **kwargs)

    async def query(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """A read query ``fn(conn, ...)``, off the event loop."""
        return await query(self.store, fn, *args, **kwargs)

    async def blocking(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return await off_loop(fn, *args, **kwargs)

    def sync_state(self) -> dict[str, Any]:
        replica = replica_for(self.store, self.config.campus_id)
        seq, digest = replica.head()
        last_ms = replica.last_sync_ms()
        return {
            "enrolled": bool(self.config.hub_url),
            "hub_url": self.config.hub_url or None,
            "head_seq": seq,
            "head_hash": digest.hex(),
            "outbox_size": seq - replica.pushed_seq(),
            "pull_cursor": replica.pull_cursor(),
            "last_successful_sync": (datetime.fromtimestamp(last_ms / 1000, UTC).isoformat(timespec="seconds")
                                     .replace("+00:00", "Z") if last_ms else None),
            "last_error": self.sync_loop.last_error if self.sync_loop else None,
            "divergent_tables": replica.divergent_table_count(),
            **backup_state(last_backup(self.store)),
        }


def build_api() -> Api:
    api = Api(title="Campus node API", version=campus.__version__)
    register_auth_api(api)
    register_accounts_api(api)
    imports_api.register(api)  # before the routes whose paths would take "import" for an id
    leads_api.register(api)
    finance_api.register(api)
    teaching_api.register(api)
    books_api.register(api)
    risk_api.register(api)
    service_api.register(api)
    notify_api.register(api)
    refunds_api.register(api)
    payroll_api.register(api)
    reports_api.register(api)
    devices_api.register(api)
    register_pay_plans_api(api)
    register_price_list_api(api)
    register_kb_api(api)
    register_refund_policy_api(api)
    conflicts_api.register(api)
    status_api.register(api)
    workbench_screens.register(api)
    lesson_moves.register(api)
    kiosk_admin.register(api)
    crm_campaigns.register(api)
    return api


def expire_due(node: Node) -> int:
    """The hourly job: hours left on contracts that expired come off their lines, where the campus
    requires an extension before they are scheduled (``[contracts] expiry_policy``)."""
    ctx = node.ctx
    if ctx.expiry_policy != "extension_required":
        return 0
    with node.store.read() as conn:
        if not lines_due_to_expire(conn, ctx.id, ctx.today().isoformat()):
            return 0
    return expire_contracts(node.store, ctx, Actor.machine("contract-expiry"))


async def healthz(request: Request) -> Response:
    node: Node = request.app.state.node
    seq, _ = await node.blocking(node.store.head)
    return JSONResponse({"status": "ok", "role": "node", "campus": node.config.campus_code, "head_seq": seq})


def create_app(config: NodeConfig, background_sync: bool = True, clock: Clock = system_clock) -> Starlette:
    # Requests never pause to checkpoint the WAL; a background job does it instead.
    store = NodeStore(config.database_path, config.node_id, wal_autocheckpoint=False)
    api = build_api()

    node = Node(config, store, clock=clock)
    with store.unit_of_work() as uow:  # the hub derives this campus's books under the same settings
        record_settings(uow, config.campus_id, node.ctx.books.settings, config.timezone, node.ctx.now_text())

    jobs = Jobs()

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # What exists at start lives as long as the node: keep it out of the cyclic collector's
        # walks, so a collection (a large pull makes many) stays short for the requests it stalls.
        gc.freeze()
        if config.hub_url and config.sync_interval_seconds > 0 and background_sync:
            node.sync_loop = SyncLoop(client_for(config, store), config.sync_interval_seconds)
            node.sync_loop.start()
        # Also at start, so a node that was switched off catches up with what fell due meanwhile.
        jobs.every(CHECKPOINT_INTERVAL_SECONDS, "wal-checkpoint", store.checkpoint, quiet=True)
        jobs.every(AUTO_RETURN_INTERVAL_SECONDS, "contract-expiry", lambda: expire_due(node))
        jobs.every(AUTO_RETURN_INTERVAL_SECONDS, "refund-risk", lambda: evaluate_due(store, node.ctx))
        start_outbox(jobs, config, store, node.ctx)  # [notify]: queue what fell due, send what is queued
        jobs.every(AUTO_RETURN_INTERVAL_SECONDS, "auto-return",
                   lambda: auto_return(store, config.campus_id, node.ctx.now(), node.crm_settings))
        jobs.every(config.devices_people_sync_seconds, "device-people",  # PINs and the terminals' user lists
                   lambda: keep_terminals_up_to_date(store, node.ctx), quiet=True)
        jobs.every(BACKUP_CHECK_SECONDS, "backup", schedule_for(config, store).tick, quiet=True)  # [backup]
        try:
            yield
        finally:
            jobs.stop()
            if node.sync_loop:
                node.sync_loop.stop()
                node.sync_loop.client.close()
            store.close()

    app = Starlette(
        routes=[
            *workbench_screens.routes(),  # the workbench home, sync, reminders, conflicts
            *teaching_setup.routes(),  # rooms, courses, classes, enrolments, schedules, lesson changes
            *teaching_timetable.routes(),  # the week timetable
            *kiosk_admin.routes(),  # adding, renaming, pairing and revoking kiosks
            *crm_campaigns.routes(),  # campaigns and the leads they brought
            Route("/leads", guard("leads.read", crm_screens.lead_list, screen=True)),
            Route("/leads/new", guard("leads.write", crm_screens.new_lead, screen=True), methods=["GET", "POST"]),
            *import_routes(),  # before /leads/{lead_id} and /students/{student_id}
            Route("/leads/{lead_id}", guard("leads.read", crm_screens.lead_detail, screen=True)),
            Route("/leads/{lead_id}/move", guard("leads.move", crm_screens.lead_move, screen=True), methods=["POST"]),
            Route("/leads/{lead_id}/deposit", guard("payments.take", crm_screens.lead_deposit, screen=True),
                  methods=["POST"]),
            Route("/leads/{lead_id}/follow-ups", guard("leads.write", crm_screens.lead_follow_up, screen=True),
                  methods=["POST"]),
            Route("/students", guard("students.read", finance_screens.student_list, screen=True)),
            Route("/students/new", guard("students.write", finance_screens.student_new, screen=True),
                  methods=["GET", "POST"]),
            Route("/students/{student_id}", guard("students.read", finance_screens.student_detail, screen=True)),
            Route("/students/{student_id}/deposits", guard("payments.take", finance_screens.student_deposit,
                                                           screen=True), methods=["POST"]),
            Route("/students/{student_id}/contracts", guard("contracts.sign", finance_screens.contract_sign,
                                                            screen=True), methods=["POST"]),
            Route("/contracts/{contract_id}", guard("contracts.read", finance_screens.contract_detail, screen=True)),
            Route("/contracts/{contract_id}/payments", guard("payments.take", finance_screens.contract_payment,
                                                             screen=True), methods=["POST"]),
            Route("/contracts/{contract_id}/changes", guard("contracts.change", finance_screens.contract_change,
                                                            screen=True), methods=["POST"]),
            Route("/finance", guard("finance.view", finance_screens.finance_page, screen=True)),
            Route("/receipts/{payment_id}", guard("payments.take", finance_screens.receipt, screen=True)),
            Route("/books", guard("books.read", books_screens.books_page, screen=True)),
            Route("/books/{report}", guard("books.read", books_screens.books_page, screen=True)),
            Route("/books/closes", guard("books.close", books_screens.close_month, screen=True), methods=["POST"]),
            Route("/books/expenses", guard("expenses.submit", books_screens.submit_expense, screen=True),
                  methods=["POST"]),
            Route("/books/expenses/{expense_id}/decision", guard("expenses.approve", books_screens.decide_expense,
                                                                 screen=True), methods=["POST"]),
            Route("/books/invoices", guard("books.write", books_screens.issue_invoice, screen=True), methods=["POST"]),
            Route("/books/releases", guard("books.write", books_screens.release_funds, screen=True),
                  methods=["POST"]),
            Route("/books/cash-counts", guard("books.count", books_screens.count_cash, screen=True),
                  methods=["POST"]),
            Route("/books/statements", guard("books.write", books_screens.import_statement, screen=True),
                  methods=["POST"]),
            Route("/refunds", guard("refunds.read", refund_screens.refunds_page, screen=True)),
            Route("/refunds/report", guard("refunds.read", refund_screens.refund_report_page, screen=True)),
            Route("/refunds/{refund_id}", guard("refunds.read", refund_screens.refund_page, screen=True)),
            Route("/refunds/{refund_id}/print", guard("refunds.read", refund_screens.refund_page, screen=True)),
            *(Route(f"/refunds/{{refund_id}}/{step}", guard(action, refund_screens.refund_step, screen=True),
                    methods=["POST"])
              for step, action in (("approve", "refunds.approve"), ("reject", "refunds.approve"),
                                   ("pay", "refunds.pay"))),
            Route("/contracts/{contract_id}/refund", guard("refunds.request", refund_screens.new_refund_page,
                                                           screen=True)),
            Route("/contracts/{contract_id}/refund", guard("refunds.request", refund_screens.request_refund,
                                                           screen=True), methods=["POST"]),
            Route("/risk", guard("risk.read", risk_screens.risk_page, screen=True)),
            Route("/risk/evaluate", guard("risk.evaluate", risk_screens.evaluate_now, screen=True), methods=["POST"]),
            Route("/students/{student_id}/risk", guard("risk.read", risk_screens.student_risk_page, screen=True)),
            Route("/schedule", guard("teaching.read", teaching_screens.schedule_page, screen=True)),
            Route("/lessons/{lesson_id}", guard("teaching.read", teaching_screens.lesson_page, screen=True)),
            Route("/lessons/{lesson_id}/marks", guard("attendance.mark", teaching_screens.lesson_marks, screen=True),
                  methods=["POST"]),
            Route("/lessons/{lesson_id}/reconfirm", guard("attendance.reconfirm", teaching_screens.lesson_reconfirm,
                                                          screen=True), methods=["POST"]),
            Route("/attendance/print", guard("attendance.export", teaching_screens.attendance_print, screen=True)),
            *kiosk_routes(),
            *device_routes.iclock_routes(),  # terminals (ZKTeco PUSH): their serial number, never a user
            *device_screens.routes(),
            *login_routes(),
            *price_list_routes(),
            *kb_routes(),  # the knowledge base: kept here or at headquarters
            *refund_policy_routes(),
            *payroll_screens.routes(),
            *service_screens.routes(),  # tickets, surveys
            *notify_screens.routes(),  # the outbox and the message wording
            *portal_routes.routes(),  # /portal/: families, signed in by a code or their password
            *report_screens.routes(),
            *pay_plan_routes(),
            Route("/healthz", guard(PUBLIC, healthz)),
            # Scraped by Prometheus inside the school's network: counts and ages only, no personal data.
            Route("/metrics", guard(PUBLIC, device_routes.with_terminal_metrics(  # and each terminal's
                node_metrics(store, config.campus_id)))),
            Mount("/api/v1", routes=[api.openapi_route(), *api.routes]),
            static_mount(),
        ],
        middleware=[
            Middleware(SessionMiddleware, secret_key=config.secret_key, session_cookie="campus_session",
                       https_only=bool(config.certfile)),  # served over TLS: the cookie is Secure
            Middleware(LocaleMiddleware, default=config.default_locale),
            Middleware(SecurityHeadersMiddleware),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.node = node
    app.state.devices = device_routes.device_runtime(node)
    app.state.auth = Accounts(store, config.campus_id)
    app.state.manages_accounts = not config.hub_url  # an enrolled campus's accounts are the hub's
    app.state.manages_price_list = not config.hub_url  # and so is its price list
    app.state.title = config.campus_name
    app.state.timezone = config.timezone  # screens show times in the campus's zone
    app.state.nav = NAV
    app.state.api = api
    return app
