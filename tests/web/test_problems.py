"""One mapping from domain errors to problem+json: the status is the error class's own."""

from __future__ import annotations

import pytest

from campus.hub.sync import Refused
from campus.schema.errors import Conflict, DomainError, Invalid, NotFound
from campus.schema.permissions import NotSignedIn, PermissionDenied
from campus.web.problems import domain_problem, problem_response


class SeatsTaken(Conflict):
    pass


@pytest.mark.parametrize(("error", "status"), [
    (DomainError("no"), 400), (Invalid("amount_fen", "must be positive"), 422), (NotFound("no lead"), 404),
    (SeatsTaken("full", seats=12), 409), (PermissionDenied("not here"), 403), (NotSignedIn("sign in"), 401)])
def test_the_status_comes_from_the_error_class(error: DomainError, status: int) -> None:
    assert type(error).status == status
    assert domain_problem(error).status == status


def test_a_problem_is_named_after_the_error_and_carries_its_facts() -> None:
    body = domain_problem(SeatsTaken("full", seats=12)).body("/api/v1/classes/c1")

    assert body == {"type": "/problems/seats-taken", "title": "SeatsTaken", "status": 409, "detail": "full",
                    "instance": "/api/v1/classes/c1", "seats": 12}


def test_an_invalid_value_names_its_field() -> None:
    body = domain_problem(Invalid("amount_fen", "must be positive")).body()

    assert body["errors"] == [{"field": "amount_fen", "message": "must be positive"}]
    assert body["field"] == "amount_fen"


def test_not_signed_in_carries_the_bearer_challenge() -> None:
    response = problem_response(domain_problem(NotSignedIn("sign in")))

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"


def test_a_sync_refusal_keeps_its_own_status_title_and_type() -> None:
    body = domain_problem(Refused(409, "gap", "hub holds up to seq 4", resume_from=5)).body()

    assert body == {"type": "/problems/sync-gap", "title": "Sync refused", "status": 409,
                    "detail": "hub holds up to seq 4", "reason": "gap", "resume_from": 5}


def test_a_fact_named_like_a_problem_member_is_kept_renamed_instead_of_breaking_the_answer() -> None:
    from campus.schema.errors import Conflict
    from campus.web.problems import domain_problem

    body = domain_problem(Conflict("the lesson is cancelled", status="cancelled", title="x")).body()

    assert body["status"] == 409 and body["title"] == "Conflict"
    assert (body["fact_status"], body["fact_title"]) == ("cancelled", "x")
