"""The week timetable (周课表): the campus's lessons of one week as a grid of days and hours, for the
whole campus, one teacher or one room; each lesson a block with its class, teacher, room and
roll-call state that opens the roll call. On a phone it is a list of days (a teacher's own week,
today first in view); it prints on one landscape page."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from campus.node.screens import TEMPLATES
from campus.node.teaching.setup_screens import lookups
from campus.node.workbench.labels import labels
from campus.node.workbench.queries import lessons_with_state
from campus.schema.permissions import Role
from campus.web.auth import guard
from campus.web.templating import render

FIRST_HOUR, LAST_HOUR = 8, 21  # the grid shows at least 08:00 to 21:59, more when lessons fall outside


def week_of(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def week_grid(found: list[dict[str, Any]], monday: date) -> dict[str, Any]:
    """Days × hours: ``cells[hour][i]`` holds the lessons that start in that hour on day ``i``."""
    days = [monday + timedelta(days=i) for i in range(7)]
    hours = [lesson["hour"] for lesson in found]
    last_hours = [int(lesson["to"][:2]) - (1 if lesson["to"].endswith(":00") else 0) for lesson in found]
    first, last = min([FIRST_HOUR, *hours]), max([LAST_HOUR, *hours, *last_hours])
    cells: dict[int, list[list[dict[str, Any]]]] = {hour: [[] for _ in days] for hour in range(first, last + 1)}
    by_day: list[list[dict[str, Any]]] = [[] for _ in days]
    for lesson in found:
        index = (date.fromisoformat(lesson["day"]) - monday).days
        if 0 <= index < 7:
            start = int(lesson["from"][:2]) * 60 + int(lesson["from"][3:])
            end = int(lesson["to"][:2]) * 60 + int(lesson["to"][3:])
            lesson["span"] = max(1, min(6, -(-(end - start) // 60)))  # how many hour rows it covers
            cells[lesson["hour"]][index].append(lesson)
            by_day[index].append(lesson)
    return {"days": [d.isoformat() for d in days], "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "hours": list(cells), "cells": cells, "by_day": by_day}


async def timetable_page(request: Request) -> Response:
    node, principal = request.app.state.node, request.state.principal
    ctx = node.ctx
    params = request.query_params
    today = ctx.today()
    try:
        monday = week_of(date.fromisoformat(params.get("week", "")))
    except ValueError:
        monday = week_of(today)
    teacher_id = params.get("teacher") or None
    room_id = params.get("room") or None
    if params.get("by") == "teacher" and params.get("id"):
        teacher_id = params["id"]
    if params.get("by") == "room" and params.get("id"):
        room_id = params["id"]
    roles = principal.roles_at(ctx.id)
    if not teacher_id and not room_id and "all" not in params and Role.TEACHER in roles \
            and not principal.can("teaching.manage", ctx.id):
        teacher_id = principal.user_id  # a teacher opens their own week

    def read(conn: Connection) -> tuple[Any, ...]:
        return (lessons_with_state(conn, ctx, monday, monday + timedelta(days=6), teacher_id=teacher_id,
                                   room_id=None if teacher_id else room_id), lookups(conn, ctx.id))

    found, choices = await node.query(read)
    grid = week_grid(found, monday)
    teacher_name = next((t["name"] for t in choices["teachers"] if t["id"] == teacher_id), None)
    room_name = next((r["name"] for r in choices["rooms"] if r["id"] == room_id), None)
    scope = ("teacher", teacher_id) if teacher_id else ("room", room_id) if room_id else ("campus", None)
    keep = f"&teacher={teacher_id}" if teacher_id else f"&room={room_id}" if room_id else "&all=1"
    return render(TEMPLATES, request, "timetable.html", {
        "app_title": node.config.campus_name, "grid": grid, "lessons": found, "choices": choices, "scope": scope,
        "teacher_id": teacher_id or "", "room_id": room_id or "", "teacher_name": teacher_name, "room_name": room_name,
        "monday": monday.isoformat(), "sunday": (monday + timedelta(days=6)).isoformat(), "today": today.isoformat(),
        "previous": (monday - timedelta(days=7)).isoformat(), "next": (monday + timedelta(days=7)).isoformat(),
        "keep": keep, "L": labels()})


def routes() -> list[Route]:
    return [Route("/timetable", guard("teaching.read", timetable_page, screen=True))]
