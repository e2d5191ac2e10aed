"""Creating users and granting and revoking roles from the screen, each change audited."""

from __future__ import annotations

import re

from starlette.testclient import TestClient


def _csrf(client: TestClient) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/users").text).group(1)


def test_a_manager_creates_a_user_grants_and_revokes_roles(node_client: TestClient) -> None:
    token = _csrf(node_client)
    campus_id = re.search(r'<option value="([0-9a-f-]{36})">北京海淀校区', node_client.get("/users").text).group(1)
    made = node_client.post("/users", data={"csrf_token": token, "action": "create", "username": "li.teacher",
                                             "display_name": "李老师", "password": "teacher-pass-1",
                                             "role": "teacher", "campus_id": campus_id})
    assert "已保存" in made.text and "李老师" in made.text
    user = next(u for u in node_client.get("/api/v1/users").json()["items"] if u["username"] == "li.teacher")
    assert user["grants"] == [[campus_id, "teacher"]]

    node_client.post("/users", data={"csrf_token": token, "action": "grant", "user_id": user["id"],
                                     "role": "academic_advisor", "campus_id": campus_id})
    node_client.post("/users", data={"csrf_token": token, "action": "revoke", "user_id": user["id"],
                                     "role": "teacher", "campus_id": campus_id})
    user = next(u for u in node_client.get("/api/v1/users").json()["items"] if u["username"] == "li.teacher")
    assert user["grants"] == [[campus_id, "academic_advisor"]]
    changes = node_client.get("/api/v1/audit", params={"action": "permission_change"}).json()["items"]
    assert len(changes) == 3

    short = node_client.post("/users", data={"csrf_token": token, "action": "create", "username": "x.y",
                                              "display_name": "X", "password": "short", "role": "teacher"})
    assert "flash-error" in short.text and "password" in short.text
