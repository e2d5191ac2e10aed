"""RFC 9457 problem details for every error the apps return."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from campus.schema.errors import Conflict, DomainError, Invalid, NotFound
from campus.schema.permissions import NotSignedIn, PermissionDenied

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
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.type = type_
        self.errors = errors
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
    return JSONResponse(problem.body(instance), status_code=problem.status, media_type=PROBLEM_JSON)


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(exc, request)


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    problem = Problem(exc.status_code, exc.detail or HTTPStatus(exc.status_code).phrase)
    response = problem_response(problem, request)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    problem = Problem(500, "an unexpected error occurred; it has been logged", type_="/problems/internal")
    return problem_response(problem, request)




def _domain_problem(exc: Exception) -> Problem:
    name = type(exc).__name__
    slug = "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")
    facts = dict(getattr(exc, "facts", {}))
    if isinstance(exc, Invalid):
        return Problem(422, exc.detail, title=name, type_=f"/problems/{slug}",
                       errors=[{"field": exc.field, "message": exc.detail}], **facts)
    if isinstance(exc, NotSignedIn):
        problem = Problem(401, str(exc), title=name, type_=f"/problems/{slug}", **facts)
        problem.headers = {"www-authenticate": "Bearer"}
        return problem
    status = (403 if isinstance(exc, PermissionDenied) else 404 if isinstance(exc, NotFound)
              else 409 if isinstance(exc, Conflict) else 400)
    return Problem(status, str(exc), title=name, type_=f"/problems/{slug}", **facts)


async def _on_domain_error(request: Request, exc: Exception) -> Response:
    problem = _domain_problem(exc)
    response = problem_response(problem, request)
    response.headers.update(getattr(problem, "headers", {}))
    return response


EXCEPTION_HANDLERS: dict[Any, Any] = {
    Problem: _on_problem,
    DomainError: _on_domain_error,
    HTTPException: _on_http_exception,
    Exception: _on_unexpected,
}
