"""The hub's sync page for headquarters' administrators: each campus's contact, heads, lag and key,
and every change it sent that was authentic but not applied (a sync rejection), with why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from campus.hub.ops import last_backup, sqlite_path
from campus.schema.backups import backup_state
from campus.web.auth import guard
from campus.web.templating import make_templates, render
from campus.web.usecase import off_loop

TEMPLATES = make_templates(Path(__file__).parent / "templates")

KEY_STATES = {"active": "Key active", "revoked": "Key revoked", "none": "No key"}
TABLES = {"leads": "Lead", "students": "Student", "contracts": "Contract", "contract_lines": "Contract line",
          "lessons": "Lesson", "classes": "Class", "rooms": "Room", "courses": "Course", "enrolments": "Enrolment",
          "refunds": "Refund", "payments": "Payment", "asset_entries": "Ledger entry",
          "attendance_marks": "Attendance mark", "campaigns": "Campaign", "users": "User"}


async def sync_page(request: Request) -> Response:
    hub = request.app.state.hub
    campus = request.query_params.get("campus") or None

    def read() -> dict[str, Any]:
        codes = {c["id"]: c["code"] for c in hub.store.list_campuses()}
        by_code = {code: campus_id for campus_id, code in codes.items()}
        rejections = hub.sync.rejections(by_code.get(campus, campus) if campus else None)
        backup = backup_state(last_backup(hub.store)) if sqlite_path(hub.config) else None
        return {"status": hub.sync.status(), "rejections": list(reversed(rejections))[:500], "codes": codes,
                "backup": backup}

    found = await off_loop(read)
    return render(TEMPLATES, request, "hub_sync.html", {
        "app_title": "Campus HQ", **found, "campus": campus or "", "key_states": KEY_STATES, "tables": TABLES,
        "backup_every_hours": hub.config.backup_every_hours})


def sync_page_routes() -> list[Route]:
    return [Route("/sync", guard("hub.view", sync_page, screen=True))]
