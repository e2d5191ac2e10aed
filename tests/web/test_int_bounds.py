"""Integers no store column can hold are refused with a 422 naming the field, at the hub and at a
node, before any model or store sees them; the OpenAPI says so with each integer's bounds."""

from __future__ import annotations

from starlette.testclient import TestClient

from campus.hub.app import create_app as create_hub
from campus.hub.config import HubConfig
from tests.conftest import sign_in


def test_a_promo_code_minimum_of_ten_to_the_thirty_is_a_422_naming_the_field(hub_config: HubConfig) -> None:
    with TestClient(create_hub(hub_config), raise_server_exceptions=False) as client:
        sign_in(client)
        answer = client.post("/api/v1/price-list/promo-codes", json={
            "code": "BIG", "kind": "amount", "amount_fen": 100, "min_subtotal_fen": 10**30})
        schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]["PromoIn"]

    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == ["min_subtotal_fen"]
    assert schema["properties"]["min_subtotal_fen"]["maximum"] == 2**63 - 1


def test_openapi_paths_name_their_parameters_as_openapi_does(node_client: TestClient) -> None:
    paths = node_client.get("/api/v1/openapi.json").json()["paths"]
    assert not [p for p in paths if ":" in p]
    assert any("{decision}" in p for p in paths)
