"""A manager assigns leads from the lead screen: to the consultant chosen, or the next in turn."""

from __future__ import annotations

import re

from starlette.testclient import TestClient


def test_a_manager_assigns_a_lead_to_a_chosen_consultant_or_round_robin(node_client: TestClient) -> None:
    ids = {}
    for name in ("zhang", "zhao"):
        made = node_client.post("/api/v1/users", json={"username": name, "display_name": f"{name}顾问",
                                                       "password": f"{name}-password", "roles": [{"role": "consultant"}]})
        ids[name] = made.json()["id"]
    first = node_client.post("/api/v1/leads", json={"name": "李娜", "phone": "13912345678"}).json()
    second = node_client.post("/api/v1/leads", json={"name": "张伟", "phone": "13800138000"}).json()
    page = node_client.get(f"/leads/{first['id']}").text
    assert "按轮流顺序分配" in page and "zhao顾问" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    node_client.post(f"/leads/{first['id']}/move", data={"csrf_token": token, "move": "assign",
                                                         "consultant_id": ids["zhao"]})
    node_client.post(f"/leads/{second['id']}/move", data={"csrf_token": token, "move": "assign",
                                                          "consultant_id": ""})
    assigned = [node_client.get(f"/api/v1/leads/{lead['id']}").json() for lead in (first, second)]
    assert [(a["pool"], a["consultant_id"]) for a in assigned] == [("private", ids["zhao"]),
                                                                  ("private", ids["zhang"])]
