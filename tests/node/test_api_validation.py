"""Bad input to the node's API gets a 4xx problem+json naming the field, and writes nothing."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from campus.node.store import NodeStore

PROBLEM = "application/problem+json"


def _snapshot(store: NodeStore) -> tuple[int, int]:
    with store.read() as conn:
        leads = conn.exec_driver_sql("select count(*) from leads").scalar_one()
    return leads, store.head()[0]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "field"),
    [
        ('{"name": "张伟", "phone": ', "application/json", 400, "body"),
        ("[1, 2]", "application/json", 422, "body"),
        ('{"phone": "13800138000"}', "application/json", 422, "name"),
        ('{"name": "张伟"}', "application/json", 422, "phone"),
        ('{"name": "张伟", "phone": 13800138000}', "application/json", 422, "phone"),
        ('{"name": "", "phone": "13800138000"}', "application/json", 422, "name"),
        ('{"name": "张伟", "phone": "13800138000", "colour": "red"}', "application/json", 422, "colour"),
        ('{"name": "张伟", "phone": "12345"}', "application/json", 422, "phone"),
        ("name=x", "application/x-www-form-urlencoded", 415, "body"),
    ],
)
def test_bad_lead_body_is_refused_naming_the_field_and_nothing_is_written(
    node_client: TestClient, node_store: NodeStore, body: str, content_type: str, status: int, field: str
) -> None:
    before = _snapshot(node_store)

    response = node_client.post("/api/v1/leads", content=body.encode(), headers={"content-type": content_type})

    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == status
    assert field in [error["field"] for error in problem["errors"]]
    assert field in problem["detail"] or status in (400, 415)
    assert _snapshot(node_store) == before


def test_lead_is_created_with_its_normalised_phone_and_campus_number(node_client: TestClient) -> None:
    response = node_client.post("/api/v1/leads", json={"name": "李娜", "phone": "+86 139-1234-5678"})

    assert response.status_code == 201
    lead = response.json()
    assert lead["phone"] == "13912345678"
    assert lead["number"] == "BJ01-L-000001"
    assert node_client.get(f"/api/v1/leads/{lead['id']}").json()["name"] == "李娜"


def test_second_lead_with_same_phone_is_a_conflict_naming_the_first(node_client: TestClient) -> None:
    first = node_client.post("/api/v1/leads", json={"name": "张伟", "phone": "138 0013 8000"}).json()

    response = node_client.post("/api/v1/leads", json={"name": "杨磊", "phone": "13800138000"})

    assert response.status_code == 409
    assert response.json()["lead_id"] == first["id"]
    assert node_client.get("/api/v1/leads").json()["total"] == 1


def test_unknown_lead_is_404_problem(node_client: TestClient) -> None:
    response = node_client.get("/api/v1/leads/0190aa00-0000-7000-8000-000000000000")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM


def test_unknown_route_is_404_problem(node_client: TestClient) -> None:
    response = node_client.get("/api/v1/nothing-here")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["instance"] == "/api/v1/nothing-here"


@pytest.mark.parametrize("query", ["limit=0", "limit=abc", "limit=501", "offset=-1"])
def test_bad_paging_parameters_are_422_naming_them(node_client: TestClient, query: str) -> None:
    response = node_client.get(f"/api/v1/leads?{query}")

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == query.split("=")[0]


def test_openapi_describes_every_api_route(node_client: TestClient) -> None:
    document = node_client.get("/api/v1/openapi.json").json()

    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) >= {"/api/v1/leads", "/api/v1/leads/{lead_id}", "/api/v1/log/head"}
    schema = document["components"]["schemas"]["LeadIn"]
    assert set(schema["required"]) == {"name", "phone"}
