"""A user's sessions and tokens end when their password changes or a role is taken away; sign-in
is limited per client address as well as per account."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.conftest import sign_in


def _user(admin: TestClient, username: str, roles: list[dict[str, str]]) -> str:
    made = admin.post("/api/v1/users", json={"username": username, "display_name": username,
                                             "password": f"{username}-pass-1", "roles": roles})
    assert made.status_code == 201, made.text
    return made.json()["id"]


def _token(client: TestClient, username: str, password: str) -> dict[str, str]:
    answer = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def test_a_password_reset_ends_the_users_tokens_and_sessions(node_client: TestClient) -> None:
    user_id = _user(node_client, "teacher9", [{"role": "teacher"}])
    old = _token(node_client, "teacher9", "teacher9-pass-1")
    browser = TestClient(node_client.app)
    sign_in(browser, "teacher9", "teacher9-pass-1")
    assert node_client.get("/api/v1/lessons", headers=old).status_code == 200
    assert browser.get("/schedule", follow_redirects=False).status_code == 200

    reset = node_client.post(f"/api/v1/users/{user_id}/password", json={"password": "brand-new-pass"})

    assert reset.status_code == 200, reset.text
    assert node_client.get("/api/v1/lessons", headers=old).status_code == 401
    assert browser.get("/schedule", follow_redirects=False).headers["location"].startswith("/login")
    assert node_client.get("/api/v1/lessons", headers=_token(node_client, "teacher9", "brand-new-pass")).status_code \
        == 200


def test_taking_a_role_away_ends_the_users_tokens_but_adding_one_does_not(node_client: TestClient) -> None:
    user_id = _user(node_client, "advisor9", [{"role": "academic_advisor"}, {"role": "teacher"}])
    token = _token(node_client, "advisor9", "advisor9-pass-1")
    added = node_client.put(f"/api/v1/users/{user_id}/roles", json={"roles": [
        {"role": "academic_advisor"}, {"role": "teacher"}, {"role": "front_desk"}]})
    assert added.status_code == 200
    assert node_client.get("/api/v1/lessons", headers=token).status_code == 200

    node_client.put(f"/api/v1/users/{user_id}/roles", json={"roles": [{"role": "teacher"}]})

    assert node_client.get("/api/v1/lessons", headers=token).status_code == 401


def test_changing_ones_own_password_ends_the_other_tokens_and_gives_a_new_one(node_client: TestClient) -> None:
    _user(node_client, "finance9", [{"role": "finance"}])
    first = _token(node_client, "finance9", "finance9-pass-1")
    second = _token(node_client, "finance9", "finance9-pass-1")
    wrong = node_client.post("/api/v1/auth/password", headers=first,
                             json={"current_password": "nope", "new_password": "another-pass-9"})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "current_password"

    changed = node_client.post("/api/v1/auth/password", headers=first,
                               json={"current_password": "finance9-pass-1", "new_password": "another-pass-9"})

    assert changed.status_code == 200, changed.text
    fresh = {"Authorization": f"Bearer {changed.json()['token']}"}
    assert node_client.get("/api/v1/students", headers=second).status_code == 401
    assert node_client.get("/api/v1/students", headers=fresh).status_code == 200


def test_sign_in_is_refused_from_an_address_that_failed_too_often_whatever_the_account(
        node_client: TestClient) -> None:
    for k in range(20):
        failed = node_client.post("/api/v1/auth/token", json={"username": f"guess{k}", "password": "x" * 8})
        assert failed.status_code == 401

    right = node_client.post("/api/v1/auth/token", json={"username": "admin", "password": "admin-password-1"})

    assert right.status_code == 401


def test_an_id_number_is_masked_like_a_phone_for_roles_without_the_right_to_it(node_client: TestClient) -> None:
    student = node_client.post("/api/v1/students", json={"name": "钱小明", "phone": "13800138077",
                                                         "id_number": "110105201001011234"}).json()
    _user(node_client, "consultant9", [{"role": "consultant"}])
    _user(node_client, "finance8", [{"role": "finance"}])

    seen_by_consultant = node_client.get(f"/api/v1/students/{student['id']}",
                                         headers=_token(node_client, "consultant9", "consultant9-pass-1")).json()
    seen_by_finance = node_client.get(f"/api/v1/students/{student['id']}",
                                      headers=_token(node_client, "finance8", "finance8-pass-1")).json()

    assert seen_by_consultant["id_number"] == "110105********1234"
    assert seen_by_consultant["phone"] == "13800138077"  # consultants may call the family
    assert seen_by_finance["id_number"] == "110105201001011234"
