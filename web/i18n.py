"""Translations from gettext catalogs: Simplified Chinese by default, English on request.

Catalogs are the ``.po`` files under ``locale/``; they are compiled in memory at start-up,
so there is no build step and no binary file in the repository. Message ids are English.
"""

from __future__ import annotations

import gettext
import io
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LOCALE = "zh_CN"
LOCALES = {"zh_CN": "简体中文", "en": "English"}
LOCALE_COOKIE = "campus_lang"

current_locale: ContextVar[str] = ContextVar("current_locale", default=DEFAULT_LOCALE)


@cache
def translations(locale: str) -> gettext.NullTranslations:
    po_path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po_path.exists():
        return gettext.NullTranslations()
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def gettext_(message: str) -> str:
    return translations(current_locale.get()).gettext(message)


def ngettext_(singular: str, plural: str, count: int) -> str:
    return translations(current_locale.get()).ngettext(singular, plural, count)


def choose_locale(request: Request, default: str = DEFAULT_LOCALE) -> str:
    """An explicit ``?lang=`` wins, then the browser's saved choice, then the default."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(LOCALE_COOKIE)):
        if candidate in LOCALES:
            return candidate
    return default


class LocaleMiddleware:
    """Sets the request's locale; a ``?lang=`` choice is remembered in a cookie."""

    def __init__(self, app: ASGIApp, default: str = DEFAULT_LOCALE) -> None:
        self.app = app
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        locale = choose_locale(request, self.default)
        chosen = request.query_params.get("lang") in LOCALES
        token = current_locale.set(locale)
        scope.setdefault("state", {})["locale"] = locale

        async def send_with_cookie(message: Message) -> None:
            if chosen and message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.append("set-cookie", f"{LOCALE_COOKIE}={locale}; Path=/; Max-Age=31536000; SameSite=Lax")
            await send(message)

        try:
            await self.app(scope, receive, send_with_cookie)
        finally:
            current_locale.reset(token)
