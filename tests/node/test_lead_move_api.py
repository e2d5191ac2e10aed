"""Pool moves, history and reminders through the JSON API."""

from __future__ import annotations

from starlette.testclient import TestClient


def _lead(client: TestClient, phone: str = "13800138000", **extra: str) -> dict:
    response = client.post("/api/v1/leads", json={"name": "张伟", "phone": phone, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def test_claim_invite_and_return_are_recorded_in_the_history(node_client: TestClient) -> None:
    lead = _lead(node_client)

    claimed = node_client.post(f"/api/v1/leads/{lead['id']}/claim")
    invited = node_client.post(f"/api/v1/leads/{lead['id']}/invite", json={})
    returned = node_client.post(f"/api/v1/leads/{lead['id']}/return", json={"reason": "家长决定明年再报"})

    assert [r.json()["pool"] for r in (claimed, invited, returned)] == ["private", "invited", "returned"]
    history = node_client.get(f"/api/v1/leads/{lead['id']}/history").json()["items"]
    assert [(h["kind"], h["from_pool"], h["to_pool"]) for h in history] == [
        ("claim", "lead", "private"), ("invite", "private", "invited"), ("return", "invited", "returned")]
    assert history[-1]["reason"] == "家长决定明年再报"


def test_an_illegal_move_is_409_naming_the_pool_and_the_allowed_moves(node_client: TestClient) -> None:
    lead = _lead(node_client)

    response = node_client.post(f"/api/v1/leads/{lead['id']}/invite")

    assert response.status_code == 409
    problem = response.json()
    assert problem["current_pool"] == "lead"
    assert problem["allowed_moves"] == ["claim", "assign"]


def test_a_return_without_a_reason_is_422_naming_reason(node_client: TestClient) -> None:
    lead = _lead(node_client)
    node_client.post(f"/api/v1/leads/{lead['id']}/claim")

    response = node_client.post(f"/api/v1/leads/{lead['id']}/return", json={})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "reason"


def test_an_unknown_move_is_404(node_client: TestClient) -> None:
    lead = _lead(node_client)

    assert node_client.post(f"/api/v1/leads/{lead['id']}/teleport").status_code == 404


def test_reminders_list_a_follow_up_due_today(node_client: TestClient) -> None:
    lead = _lead(node_client)
    node_client.post(f"/api/v1/leads/{lead['id']}/claim")
    node_client.post(f"/api/v1/leads/{lead['id']}/follow-ups",
                     json={"channel": "call", "content": "约了试听", "next_follow_up_on": "2020-01-01"})

    items = node_client.get("/api/v1/reminders").json()["items"]

    assert [(i["kind"], i["number"]) for i in items] == [("follow_up_due", "BJ01-L-000001")]
