"""RFC 9457 problem details for every error the apps return."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from campus.schema.errors import DomainError, Invalid
from campus.schema.permissions import NotSignedIn

log = logging.getLogger("campus.web")
PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """An error with a status and a reason a client can act on; rendered as problem+json."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        type_: str = "about:blank",
        errors: list[dict[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.type = type_
        self.errors = errors
        self.headers = dict(headers or {})  # sent with the response, e.g. a 401's challenge
        self.extensions = extensions

    def body(self, instance: str | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status}
        payload["detail"] = self.detail
        if instance:
            payload["instance"] = instance
        if self.errors:
            payload["errors"] = self.errors
        payload.update(self.extensions)
        return payload


class InvalidInput(Problem):
    """422 naming each field that is wrong."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        fields = ", ".join(dict.fromkeys(e["field"] for e in errors))
        super().__init__(
            422,
            f"invalid field(s): {fields}",
            title="Invalid input",
            type_="/problems/invalid-input",
            errors=errors,
        )


def problem_response(problem: Problem, request: Request | None = None) -> Response:
    instance = request.url.path if request is not None else None
    response = JSONResponse(problem.body(instance), status_code=problem.status, media_type=PROBLEM_JSON)
    response.headers.update(problem.headers)
    return response


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(exc, request)


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    problem = Problem(exc.status_code, exc.detail or HTTPStatus(exc.status_code).phrase, headers=exc.headers)
    return problem_response(problem, request)


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    problem = Problem(500, "an unexpected error occurred; it has been logged", type_="/problems/internal")
    return problem_response(problem, request)


def domain_problem(exc: DomainError) -> Problem:
    """The one mapping of a domain error to a problem: the status is the error class's own
    (``DomainError.status``), the title and type its name, its facts the problem's extensions; an
    :class:`Invalid` names its field in ``errors``; :class:`NotSignedIn` carries the Bearer challenge."""
    name = type(exc).__name__
    slug = exc.problem_slug or "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")
    named = exc.field if isinstance(exc, Invalid) else exc.facts.get("field")  # a refusal naming its field
    errors = [{"field": str(named), "message": exc.detail}] if named else None
    headers = {"www-authenticate": "Bearer"} if isinstance(exc, NotSignedIn) else None
    # A fact named like a member of the problem itself (status, title...) would clobber it: keep it, renamed.
    facts = {(f"fact_{key}" if key in RESERVED else key): value for key, value in exc.facts.items()}
    return Problem(exc.status, exc.detail, title=exc.problem_title or name, type_=f"/problems/{slug}",
                   errors=errors, headers=headers, **facts)


RESERVED = frozenset({"status", "detail", "title", "type", "type_", "errors", "headers", "instance"})


async def on_domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return problem_response(domain_problem(exc), request)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    Problem: _on_problem,
    DomainError: on_domain_error,
    HTTPException: _on_http_exception,
    Exception: _on_unexpected,
}
