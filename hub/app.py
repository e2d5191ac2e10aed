"""The hub's Starlette app: console, JSON API and (with the sync issue) ``/sync/v1``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

import campus
from campus.hub.api_schemas import CampusList, CampusReport, ConflictList, SyncRejectionList, SyncStatus
from campus.hub.books.api import register_books_api
from campus.hub.books.rollups import KEEPER_INTERVAL_SECONDS, BooksKeeper
from campus.hub.books.screens import books_routes
from campus.hub.config import HubConfig
from campus.hub.ops import hub_metrics, schedule_for
from campus.hub.payroll import group_payroll_routes, register_group_payroll_api
from campus.hub.refunds import refund_report_routes, register_refund_report_api
from campus.hub.report_rollups import KEEPER_INTERVAL_SECONDS as REPORTS_INTERVAL_SECONDS
from campus.hub.report_rollups import ReportsKeeper
from campus.hub.report_views import group_report_routes, register_group_report_api
from campus.hub.reports import campus_summary
from campus.hub.risk import register_risk_api, risk_routes
from campus.hub.store import HubStore
from campus.hub.sync import HubSync, Refused
from campus.hub.sync import routes as sync_routes
from campus.hub.sync_page import sync_page_routes
from campus.schema.backups import CHECK_SECONDS as BACKUP_CHECK_SECONDS
from campus.schema.db import CHECKPOINT_INTERVAL_SECONDS
from campus.sync.signing import load_private_key
from campus.web.accounts.routes import login_routes, register_accounts_api, register_auth_api
from campus.web.accounts.store import Accounts
from campus.web.api import Api, json_response
from campus.web.auth import PUBLIC, guard
from campus.web.i18n import LocaleMiddleware
from campus.web.jobs import Jobs
from campus.web.kb.routes import kb_routes, register_kb_api
from campus.web.payroll.routes import pay_plan_routes, register_pay_plans_api
from campus.web.prices.routes import price_list_routes, register_price_list_api
from campus.web.problems import EXCEPTION_HANDLERS
from campus.web.refund_policies import refund_policy_routes, register_refund_policy_api
from campus.web.security import SecurityHeadersMiddleware
from campus.web.templating import make_templates, render, static_mount

TEMPLATES = make_templates(Path(__file__).parent / "templates")
NAV = [{"href": "/", "label": "Home"}, {"href": "/price-list", "label": "Price list"},
       {"href": "/users", "label": "Users"}, {"href": "/audit", "label": "Audit trail"},
       {"href": "/books", "label": "集团账务", "action": "reports.group"},
       {"href": "/refunds/report", "label": "Group refund report", "action": "reports.group"},
       {"href": "/reports", "label": "Group reports", "action": "reports.group"},
       {"href": "/payroll", "label": "Group payroll", "action": "reports.group"},
       {"href": "/payroll-plans", "label": "Pay plans", "action": "payroll.plans"},
       {"href": "/kb", "label": "Knowledge base", "action": "kb.read"},
       {"href": "/risk", "label": "Refund risk", "action": "risk.read"},
       {"href": "/sync", "label": "Sync", "action": "hub.view"}]


@dataclass
class Hub:
    config: HubConfig
    store: HubStore
    sync: HubSync


def build_api() -> Api:
    api = Api(title="Campus hub API", version=campus.__version__)
    register_auth_api(api)
    register_accounts_api(api)
    register_price_list_api(api)
    register_kb_api(api)
    register_refund_policy_api(api)
    register_refund_report_api(api)
    register_group_report_api(api)
    register_pay_plans_api(api)
    register_group_payroll_api(api)
    register_books_api(api)
    register_risk_api(api)

    @api.route("/campuses", "GET", "Every campus known to headquarters", "hub.view", tags=["campuses"],
               response=CampusList)
    async def list_campuses(request: Request) -> Response:
        return json_response({"items": request.app.state.hub.store.list_campuses()})

    @api.route("/reports/campuses", "GET", "Consolidated per-campus figures and the group total", "reports.group",
               tags=["reports"], response=CampusReport)
    async def campus_report(request: Request) -> Response:
        return json_response({"items": campus_summary(request.app.state.hub.store)})

    @api.route("/sync/status", "GET", "Per campus: contact, heads, lag, errors, quarantine, keys", "hub.view",
               tags=["sync"], response=SyncStatus)
    async def sync_status(request: Request) -> Response:
        return json_response({"campuses": request.app.state.hub.sync.status()})

    @api.route("/conflicts", "GET", "Conflicts found while merging", "hub.view", tags=["sync"],
               response=ConflictList)
    async def list_conflicts(request: Request) -> Response:
        return json_response({"items": request.app.state.hub.sync.conflicts()})

    @api.route("/sync/rejections", "GET", "Authentic changes that were not applied, and why", "hub.view",
               tags=["sync"], response=SyncRejectionList)
    async def list_rejections(request: Request) -> Response:
        return json_response({"items": request.app.state.hub.sync.rejections()})

    return api


async def home(request: Request) -> Response:
    hub: Hub = request.app.state.hub
    return render(TEMPLATES, request, "hub_home.html",
                  {"app_title": "Campus HQ", "summary": campus_summary(hub.store), "sync": hub.sync.status(),
                   "conflicts": [c for c in hub.sync.conflicts() if not c["resolved_at"] and not c["deleted"]][-50:],
                   "campus_codes": {c["id"]: c["code"] for c in hub.store.list_campuses()},
                   "database": hub.store.engine.url.render_as_string(hide_password=True)})


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok", "role": "hub"})


def create_app(config: HubConfig) -> Starlette:
    # Pushes never pause to checkpoint the WAL (a 4 MB push would do it every time); a job does it.
    store = HubStore(config.store_url, config.hub_id, wal_autocheckpoint=False)
    sync = HubSync(store, load_private_key(config.key_path))
    api = build_api()
    jobs = Jobs()
    books = BooksKeeper(store)
    reports = ReportsKeeper(store, config.reports_low_hours_x100)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        jobs.every(CHECKPOINT_INTERVAL_SECONDS, "wal-checkpoint", store.checkpoint, quiet=True)
        # The group books follow the merged facts off the push path: pushes never wait for them.
        jobs.every(KEEPER_INTERVAL_SECONDS, "books", books.run_once, quiet=True)
        # and so do the report roll-ups the group reports read
        jobs.every(REPORTS_INTERVAL_SECONDS, "reports", reports.run_once, quiet=True)
        if backups := schedule_for(config, store):  # [backup], on SQLite (PostgreSQL: pg_dump)
            jobs.every(BACKUP_CHECK_SECONDS, "backup", backups.tick, quiet=True)
        try:
            yield
        finally:
            jobs.stop()
            store.close()

    app = Starlette(
        routes=[
            Route("/", guard("hub.view", home, screen=True)),
            *login_routes(),
            *price_list_routes(),
            *kb_routes(),  # the knowledge base: kept here or at headquarters
            *refund_policy_routes(),
            *refund_report_routes(),
            *group_report_routes(),
            *pay_plan_routes(),
            *group_payroll_routes(),
            *books_routes(),
            *risk_routes(),
            *sync_page_routes(),  # each campus's sync state and the changes refused
            Route("/healthz", guard(PUBLIC, healthz)),
            Mount("/api/v1", routes=[api.openapi_route(), *api.routes]),
            Mount("/sync/v1", routes=sync_routes.ROUTES),
            # Scraped by Prometheus inside the network: counts and lags only, no personal data.
            Route("/metrics", guard(PUBLIC, hub_metrics(sync, store, config))),
            static_mount(),
        ],
        middleware=[
            Middleware(SessionMiddleware, secret_key=config.secret_key, session_cookie="campus_hub_session",
                       https_only=bool(config.certfile)),  # served over TLS: the cookie is Secure
            Middleware(LocaleMiddleware, default=config.default_locale),
            Middleware(SecurityHeadersMiddleware),
        ],
        exception_handlers={**EXCEPTION_HANDLERS, Refused: sync_routes.on_refused},
        lifespan=lifespan,
    )
    app.state.hub = Hub(config, store, sync)
    app.state.books = books
    app.state.reports = reports
    app.state.auth = Accounts(store, None)
    app.state.manages_accounts = True
    app.state.manages_price_list = True
    app.state.title = "Campus HQ"
    app.state.nav = NAV
    app.state.api = api
    return app
