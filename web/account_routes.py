"""Signing in and out: ``POST /api/v1/auth/token`` for the API, ``/login`` for the screens."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from campus.schema.accounts import LoginFailed, issue_token, revoke_token
from campus.web.api import Api, Input, json_response, parse_body
from campus.web.auth import PUBLIC, check_csrf, client_ip, csrf_token, guard, require
from campus.web.i18n import gettext_ as _
from campus.web.templating import make_templates, render

TEMPLATES = make_templates(Path(__file__).parent / "templates")


class TokenIn(Input):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


def register_auth_api(api: Api) -> None:
    @api.route("/auth/token", "POST", "Exchange a username and password for a bearer token", PUBLIC,
               body=TokenIn, tags=["auth"])
    async def token(request: Request) -> Response:
        credentials = await parse_body(request, TokenIn)
        auth = request.app.state.auth
        principal = auth.sign_in(credentials.username, credentials.password, client_ip(request))
        value, expires = issue_token(auth.store, principal.user_id)
        return json_response({"token": value, "token_type": "bearer", "expires_at": expires,
                              "user": {"id": principal.user_id, "username": principal.username}}, 201)

    @api.route("/auth/revoke", "POST", "Revoke the bearer token this request carries", "home.view", tags=["auth"])
    async def revoke(request: Request) -> Response:
        revoke_token(request.app.state.auth.store, request.headers["authorization"][7:].strip())
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
            principal = request.app.state.auth.sign_in(str(form.get("username", "")), str(form.get("password", "")),
                                                       client_ip(request))
        except LoginFailed:
            error = _("Wrong username or password, or the account is locked for a while.")
        else:
            request.session.clear()
            request.session["user_id"] = principal.user_id
            return RedirectResponse(next_path, status_code=303)
    return render(TEMPLATES, request, "login.html",
                  {"app_title": request.app.state.title, "error": error, "next": next_path,
                   "csrf": csrf_token(request)}, 401 if error else 200)


async def logout(request: Request) -> Response:
    require(request, "home.view")
    check_csrf(request, await request.form())
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


def login_routes() -> list[Route]:
    return [Route("/login", guard(PUBLIC, login), methods=["GET", "POST"]),
            Route("/logout", guard(PUBLIC, logout), methods=["POST"])]
