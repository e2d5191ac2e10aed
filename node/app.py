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
from campus.node.crm import screens as crm_screens
from campus.node.crm.moves import CrmSettings, auto_return
from campus.node.finance import api as finance_api
from campus.node.finance import screens as finance_screens
from campus.node.finance.use_cases import expire_contracts, lines_due_to_expire
from campus.node.imports import api as imports_api
from campus.node.imports.screens import import_routes
from campus.node.payroll import api as payroll_api
from campus.node.payroll import screens as payroll_screens
from campus.node.refunds import api as refunds_api
from campus.node.refunds import screens as refund_screens
from campus.node.refunds.queries import refund_reminders
from campus.node.risk import api as risk_api
from campus.node.risk import screens as risk_screens
from campus.node.risk.queries import risk_reminders
from campus.node.risk.use_cases import evaluate_due
from campus.node.store import NodeStore
from campus.node.sync import client_for, replica_for
from campus.node.teaching import api as teaching_api
from campus.node.teaching import screens as teaching_screens
from campus.node.teaching.attendance import TeachingSettings
from campus.node.teaching.kiosk_routes import kiosk_routes
from campus.schema.books.entries import record_settings
from campus.schema.conflicts import list_conflicts
from campus.schema.context import Actor, Clock, system_clock
from campus.schema.db import CHECKPOINT_INTERVAL_SECONDS
from campus.sync.client import SyncLoop
from campus.web.accounts.routes import login_routes, register_accounts_api, register_auth_api
from campus.web.accounts.store import Accounts
from campus.web.api import Api
from campus.web.auth import PUBLIC, actor_of, guard
from campus.web.i18n import LocaleMiddleware
from campus.web.jobs import Jobs
from campus.web.payroll.routes import pay_plan_routes, register_pay_plans_api
from campus.web.prices.routes import price_list_routes, register_price_list_api
from campus.web.problems import EXCEPTION_HANDLERS
from campus.web.refund_policies import refund_policy_routes, register_refund_policy_api
from campus.web.security import SecurityHeadersMiddleware
from campus.web.templating import render, static_mount
from campus.web.usecase import UseCase, off_loop, perform, query

TEMPLATES = screens.TEMPLATES
AUTO_RETURN_INTERVAL_SECONDS = 3600
NAV = [{"href": "/", "label": "Home"}, {"href": "/leads", "label": "Leads", "action": "leads.read"},
       {"href": "/leads/new", "label": "New lead", "action": "leads.write"},
       {"href": "/leads/import", "label": "Import leads", "action": "leads.import"},
       {"href": "/students", "label": "Students", "action": "students.read"},
       {"href": "/students/import", "label": "Migrate students", "action": "students.migrate"},
       {"href": "/schedule", "label": "Schedule", "action": "teaching.read"},
       {"href": "/risk", "label": "Refund risk", "action": "risk.read"},
       {"href": "/finance", "label": "Finance", "action": "finance.view"},
       {"href": "/refunds", "label": "Refunds", "action": "refunds.read"},
       {"href": "/books/trial-balance", "label": "Books", "action": "books.read"},
       {"href": "/payroll", "label": "Payroll", "action": "payroll.read_own"},
       {"href": "/price-list", "label": "Price list", "action": "prices.read"},
       {"href": "/conflicts", "label": "Conflicts", "action": "conflicts.read"},
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
    refunds_api.register(api)
    payroll_api.register(api)
    register_pay_plans_api(api)
    register_price_list_api(api)
    register_refund_policy_api(api)
    conflicts_api.register(api)
    status_api.register(api)
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


async def home(request: Request) -> Response:
    node: Node = request.app.state.node
    principal, ctx = request.state.principal, node.ctx
    at_risk = await node.query(risk_reminders, principal.user_id, ctx.id)
    refunds_waiting = await node.query(refund_reminders, ctx.id, ctx.today(),
                                       may_approve=principal.can("refunds.approve", ctx.id),
                                       may_pay=principal.can("refunds.pay", ctx.id))
    return render(TEMPLATES, request, "home.html", {"app_title": node.config.campus_name, "config": node.config,
                                                     "sync": await node.blocking(node.sync_state), "at_risk": at_risk,
                                                     "refunds_waiting": refunds_waiting})


async def conflicts_page(request: Request) -> Response:
    node: Node = request.app.state.node
    rows = await node.query(list_conflicts, node.config.campus_id)
    return render(TEMPLATES, request, "conflicts.html", {"app_title": node.config.campus_name, "conflicts": rows})


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
        jobs.every(AUTO_RETURN_INTERVAL_SECONDS, "auto-return",
                   lambda: auto_return(store, config.campus_id, node.ctx.now(), node.crm_settings))
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
            Route("/", guard("home.view", home, screen=True), name="home"),
            Route("/conflicts", guard("conflicts.read", conflicts_page, screen=True)),
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
            *login_routes(),
            *price_list_routes(),
            *refund_policy_routes(),
            *payroll_screens.routes(),
            *pay_plan_routes(),
            Route("/healthz", guard(PUBLIC, healthz)),
            Mount("/api/v1", routes=[api.openapi_route(), *api.routes]),
            static_mount(),
        ],
        middleware=[
            Middleware(SessionMiddleware, secret_key=config.secret_key, session_cookie="campus_session"),
            Middleware(LocaleMiddleware, default=config.default_locale),
            Middleware(SecurityHeadersMiddleware),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.node = node
    app.state.auth = Accounts(store, config.campus_id)
    app.state.manages_accounts = not config.hub_url  # an enrolled campus's accounts are the hub's
    app.state.manages_price_list = not config.hub_url  # and so is its price list
    app.state.title = config.campus_name
    app.state.timezone = config.timezone  # screens show times in the campus's zone
    app.state.nav = NAV
    app.state.api = api
    return app
