"""Jinja2 templates for the staff screens: the shared base layout plus each app's own pages."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import anyio.to_thread
import jinja2
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from campus.schema.errors import DomainError
from campus.schema.quantities import LessonHours, Money, yuan_in_words
from campus.web.auth import check_csrf, csrf_token, current_principal
from campus.web.i18n import LOCALES, current_locale, gettext_, ngettext_

SHELL_TEMPLATES = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
FLASH_KEY = "_flashes"
REFUSAL_KEY = "_refused_form"


def make_templates(app_templates: Path) -> Jinja2Templates:
    loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(app_templates), jinja2.FileSystemLoader(SHELL_TEMPLATES)])
    environment = jinja2.Environment(loader=loader, autoescape=True, extensions=["jinja2.ext.i18n"])
    environment.install_gettext_callables(gettext_, ngettext_, newstyle=True)  # type: ignore[attr-defined]
    environment.filters["yuan"] = lambda fen: str(Money(fen)) if fen is not None else "—"
    environment.filters["hours"] = lambda x100: str(LessonHours(x100)) if x100 is not None else "—"
    environment.filters["local"] = _local_time
    environment.filters["yuan_words"] = yuan_in_words
    environment.filters["percent"] = lambda bp: f"{Decimal(bp).scaleb(-2).normalize():f}%"
    environment.globals["LOCALES"] = LOCALES
    environment.globals["current_locale"] = current_locale.get
    return Jinja2Templates(env=environment)


DEFAULT_TIMEZONE = "Asia/Shanghai"


@jinja2.pass_context
def _local_time(context: Any, text: str | None) -> str:
    """An instant stored as UTC text, shown in the campus's time zone (``app.state.timezone``)."""
    if not text:
        return "—"
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return str(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    request = context.get("request")
    zone = getattr(request.app.state, "timezone", DEFAULT_TIMEZONE) if request is not None else DEFAULT_TIMEZONE
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def static_mount() -> Mount:
    return Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static")


def flash(request: Request, message: str, category: str = "info") -> None:
    """Queue a message for the next page this browser renders (needs SessionMiddleware)."""
    # A new list, not an append: the session writes its cookie only when a key is set.
    request.session[FLASH_KEY] = [*request.session.get(FLASH_KEY, []), {"message": message, "category": category}]


async def form_action(request: Request, back: str, action: Callable[[FormData], str | None]) -> Response:
    """A staff form's POST: check its CSRF token, run ``action``, flash what it returns (or the
    business rule it broke), and go back to ``back``."""
    form = await request.form()
    check_csrf(request, form)
    try:
        # The action reads and writes the store: on a worker thread, never on the event loop.
        done = await anyio.to_thread.run_sync(action, form)
    except DomainError as exc:
        flash(request, gettext_(exc.detail), "error")  # a refusal with a catalogue entry shows translated
        keep_refusal(request, form, exc)
    else:
        if done:
            flash(request, done, "success")
    return RedirectResponse(back, status_code=303)


def keep_refusal(request: Request, form: FormData, refusal: DomainError) -> None:
    """Remember a refused form for the page it goes back to: the field the refusal names, its
    message and what was typed (never a password or the CSRF token), shown beside that field."""
    field = getattr(refusal, "field", None) or refusal.facts.get("field")
    message = gettext_(refusal.detail)
    named = refusal.__context__  # a refusal a screen said again in its own words keeps the one it replaced
    if not isinstance(field, str) and isinstance(named, DomainError) and isinstance(getattr(named, "field", None), str):
        field, message = named.field, gettext_(named.detail)  # type: ignore[attr-defined]
    if "session" not in request.scope or not isinstance(field, str):
        return
    typed = {key: value for key, value in form.multi_items()
             if isinstance(value, str) and key != "csrf_token" and "password" not in key}
    # An input model's amount_fen and hours_x100 are typed into the form's amount and hours.
    errors = {field: message, field.removesuffix("_fen").removesuffix("_x100"): message}
    request.session[REFUSAL_KEY] = {"action": request.url.path, "errors": errors, "values": typed}


class FormState:
    """A refused form as the page shows it again: each field's message and typed value (for the
    form whose ``action`` was refused), and focus on the first field in error."""

    def __init__(self, action: str = "", errors: dict[str, str] | None = None,
                 values: dict[str, str] | None = None) -> None:
        self.action = action
        self.errors = errors or {}
        self.values = values or {}
        self._focused = False

    def applies(self, action: str | None) -> bool:
        return bool(action) and action == self.action

    def error(self, action: str | None, name: str) -> str | None:
        return self.errors.get(name) if self.applies(action) else None

    def value(self, action: str | None, name: str, default: Any = "") -> Any:
        return self.values.get(name, default) if self.applies(action) else default

    def as_json(self) -> str:
        """For app.js, which shows the refusal on a form drawn without forms.html's macros."""
        return json.dumps({"action": self.action, "errors": self.errors, "values": self.values}, ensure_ascii=False)

    def claim_focus(self) -> bool:
        """True for the first field in error the page renders, so that field takes the focus."""
        if self._focused:
            return False
        self._focused = True
        return True


def pop_refusal(request: Request) -> FormState:
    if "session" not in request.scope:
        return FormState()
    kept = request.session.pop(REFUSAL_KEY, None) or {}
    return FormState(kept.get("action", ""), kept.get("errors"), kept.get("values"))


def pop_flashes(request: Request) -> list[dict[str, str]]:
    if "session" not in request.scope:
        return []
    return request.session.pop(FLASH_KEY, [])


def render(
    templates: Jinja2Templates, request: Request, name: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    principal = current_principal(request)
    campus_id = request.app.state.auth.campus_id
    nav = [item for item in request.app.state.nav
           if principal and (not item.get("action") or principal.can(item["action"], campus_id))]
    page = {"flashes": pop_flashes(request), "form_state": pop_refusal(request), "nav": nav, "principal": principal,
            "csrf": csrf_token(request) if "session" in request.scope else "", **context}
    return templates.TemplateResponse(request, name, page, status_code=status)
