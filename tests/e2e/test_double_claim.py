"""Two consultants claim one lead on two campuses while offline: the earlier claim keeps it,
the other consultant gets a conflict record and a reminder, and every store agrees."""

from __future__ import annotations

from contextlib import closing

import pytest

from tests.e2e.sync_helpers import Group, differences, signed_in_client


@pytest.fixture
def group(group: Group) -> Group:
    """The shared two-campus group (tests/e2e/conftest.py) with a consultant on each campus."""
    for username, code in (("wang", "BJ01"), ("zhao", "SH01")):
        response = group.hub_http.post("/api/v1/users", json={
            "username": username, "display_name": username, "password": f"{username}-password",
            "roles": [{"role": "consultant", "campus_id": group.campuses[code].config.campus_id}]})
        assert response.status_code == 201, response.text
    return group


def _consultant(group: Group, code: str, username: str):  # type: ignore[no-untyped-def]
    return closing(signed_in_client(group.campuses[code].url, {"username": username,
                                                               "password": f"{username}-password"}))


@pytest.mark.parametrize("order", [["SH01", "BJ01", "SH01", "BJ01"], ["BJ01", "SH01", "BJ01", "SH01"]])
def test_offline_double_claim_ends_with_the_earlier_claimant_and_one_conflict_everywhere(
    group: Group, order: list[str]
) -> None:
    bj, sh = group.campuses["BJ01"], group.campuses["SH01"]
    bj.sync(), sh.sync()  # both campuses know wang and zhao
    lead = bj.http.post("/api/v1/leads", json={"name": "张伟", "phone": "13800138000"}).json()
    bj.sync(), sh.sync()  # and the lead

    with _consultant(group, "BJ01", "wang") as wang, _consultant(group, "SH01", "zhao") as zhao:
        assert wang.post(f"/api/v1/leads/{lead['id']}/claim").status_code == 200  # first, offline
        assert zhao.post(f"/api/v1/leads/{lead['id']}/claim").status_code == 200  # second, offline elsewhere
        for code in order:
            group.campuses[code].sync()

        owners = {code: campus.http.get(f"/api/v1/leads/{lead['id']}").json()["consultant_id"]
                  for code, campus in group.campuses.items()}
        wang_id = _user_id(group, "wang")
        assert owners == {"BJ01": wang_id, "SH01": wang_id}
        assert [r["kind"] for r in zhao.get("/api/v1/reminders").json()["items"]] == ["claim_lost"]
        assert wang.get("/api/v1/reminders").json()["items"] == []

    bj.sync(), sh.sync()  # reading the lead in full was audited at each campus: those facts replicate too
    assert differences(group) == {"BJ01": [], "SH01": []}
    for store in (group.hub_store, bj.store(), sh.store()):
        with store.read() as conn:
            kinds = conn.exec_driver_sql("select kind from conflicts").scalars().all()
        assert kinds == ["double_claim"]


def _user_id(group: Group, username: str) -> str:
    users = group.hub_http.get("/api/v1/users").json()["items"]
    return next(u["id"] for u in users if u["username"] == username)
