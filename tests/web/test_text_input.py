"""Text in a request body means what the published schema says: its length and pattern hold for the
text as sent; the server then strips leading and trailing spaces, and a required text that is only
spaces is refused as blank with a 422 naming the field."""

from __future__ import annotations

from starlette.testclient import TestClient


def test_a_leads_name_is_stored_without_its_leading_and_trailing_spaces(node_client: TestClient) -> None:
    answer = node_client.post("/api/v1/leads", json={"name": "  王小明 ", "phone": " 13800000001 "})

    assert answer.status_code == 201, answer.text
    assert (answer.json()["name"], answer.json()["phone"]) == ("王小明", "13800000001")


def test_a_required_name_of_only_spaces_is_refused_as_blank_naming_the_field(node_client: TestClient) -> None:
    answer = node_client.post("/api/v1/leads", json={"name": "   ", "phone": "13800000001"})

    assert answer.status_code == 422
    assert answer.json()["errors"] == [{"field": "name", "message": "must not be blank"}]


def test_spaces_longer_than_a_fields_max_length_are_refused_as_too_long(node_client: TestClient) -> None:
    answer = node_client.post("/api/v1/leads", json={"name": "王小明", "phone": "13800000001", "channel": " " * 33})

    assert answer.status_code == 422
    assert answer.json()["errors"] == [{"field": "channel", "message": "String should have at most 32 characters"}]


def test_the_openapi_says_a_required_text_needs_a_character_that_is_not_a_space(node_client: TestClient) -> None:
    schemas = node_client.get("/api/v1/openapi.json").json()["components"]["schemas"]

    assert schemas["LeadIn"]["properties"]["name"] == {
        "type": "string", "minLength": 1, "maxLength": 100, "pattern": r"\S", "title": "Name"}
    assert schemas["LeadIn"]["properties"]["channel"]["anyOf"][0] == {"type": "string", "maxLength": 32}
