"""What the hub refuses, and that each refusal leaves its store exactly as it was."""

from __future__ import annotations

import httpx
import pytest

from campus.node.sync import replica_for
from campus.sync import codec, protocol
from campus.sync.changes import Change, link_hash
from campus.sync.signing import generate_private_key, load_private_key, sign
from tests.e2e.sync_helpers import Campus, Group


def _hub_state(group: Group) -> tuple:
    """Everything a refused batch must not touch: merged tables, logs, feed and heads."""
    with group.hub_store.read() as conn:
        counts = tuple(conn.exec_driver_sql(f"select count(*) from {t}").scalar_one()
                       for t in ("node_batches", "hub_feed", "hub_feed_students", "leads", "students", "conflicts", "sync_rejections"))
        heads = tuple(conn.exec_driver_sql("select node_id, head_seq from hub_nodes order by node_id").all())
    digests = tuple(sorted(group.hub_digests(campus).items()) for campus in group.campuses.values())
    return counts, heads, digests


def _links(campus: Campus) -> list[list]:
    return [list(link) for link in replica_for(campus.store()).outgoing(0, 1 << 30)]


def _push(group: Group, node_id: str, links: list[list], key=None) -> httpx.Response:  # type: ignore[no-untyped-def]
    statement = protocol.push_statement(node_id, links[0][0], links[-1][0], links[-1][2])
    body = {"node_id": node_id, "changes": links, "signature": sign(key, statement)}
    return httpx.post(f"{group.hub_server.url}/sync/v1/push", content=protocol.encode_body(body),
                      headers={"content-type": protocol.MEDIA_TYPE})


def _key(campus: Campus):  # type: ignore[no-untyped-def]
    return load_private_key(campus.config.key_path)


def _with_leads(campus: Campus, count: int = 2, start: int = 0) -> None:
    for k in range(start, start + count):
        campus.http.post("/api/v1/leads", json={"name": f"学员{k}", "phone": f"1390000{k:04d}"}).raise_for_status()


def test_a_batch_with_one_flipped_byte_is_refused_as_tampered(group: Group) -> None:
    bj = group.campuses["BJ01"]
    _with_leads(bj)
    links = _links(bj)
    body = bytearray(links[1][1])
    body[-3] ^= 0x01
    links[1][1] = bytes(body)
    before = _hub_state(group)

    answer = _push(group, bj.config.node_id, links, _key(bj))

    assert (answer.status_code, answer.json()["reason"]) == (400, "tampered")
    assert _hub_state(group) == before


def test_a_batch_signed_by_an_unknown_or_revoked_key_is_refused(group: Group) -> None:
    bj = group.campuses["BJ01"]
    _with_leads(bj)
    links = _links(bj)
    before = _hub_state(group)

    stranger = _push(group, bj.config.node_id, links, generate_private_key())
    unknown_node = _push(group, "0190aa00-0000-7000-8000-0000000000aa", links, _key(bj))
    group.hub.sync.revoke_keys("BJ01")
    revoked = _push(group, bj.config.node_id, links, _key(bj))

    assert [(r.status_code, r.json()["reason"]) for r in (stranger, unknown_node, revoked)] == [
        (403, "bad_signature"), (403, "unknown_key"), (403, "revoked_key")]
    assert _hub_state(group) == before


def test_a_replayed_batch_changes_nothing(group: Group) -> None:
    bj = group.campuses["BJ01"]
    _with_leads(bj)
    links = _links(bj)
    first = _push(group, bj.config.node_id, links, _key(bj))
    after_first = _hub_state(group)

    again = _push(group, bj.config.node_id, links, _key(bj))

    assert first.status_code == again.status_code == 200
    assert protocol.decode_body(again.content)["head_seq"] == len(links)
    assert _hub_state(group) == after_first


def test_a_batch_that_skips_seqs_is_answered_with_where_to_resume(group: Group) -> None:
    bj = group.campuses["BJ01"]
    _with_leads(bj, 4)
    links = _links(bj)
    before = _hub_state(group)

    answer = _push(group, bj.config.node_id, links[2:], _key(bj))

    assert (answer.status_code, answer.json()["reason"], answer.json()["resume_from"]) == (409, "gap", 1)
    assert _hub_state(group) == before
    assert bj.sync().pushed == len(links)  # the client resumes where it was told


def test_a_forked_log_quarantines_the_node_and_merges_nothing(group: Group) -> None:
    bj = group.campuses["BJ01"]
    _with_leads(bj, 2)
    bj.sync()
    links = _links(bj)
    wire = codec.decode(links[-1][1])
    wire["fields"] = {**wire["fields"], "name": "另一个版本"}
    forked_body = Change.from_wire(wire).encode()
    forked = [*links[:-1], [links[-1][0], forked_body, link_hash(links[-2][2], forked_body)]]
    before = _hub_state(group)

    answer = _push(group, bj.config.node_id, forked, _key(bj))
    status = next(c for c in group.hub.sync.status() if c["campus_code"] == "BJ01")
    _with_leads(bj, 3, start=10)
    later = _push(group, bj.config.node_id, _links(bj), _key(bj))

    assert (answer.status_code, answer.json()["reason"]) == (409, "fork")
    assert status["quarantined"] is True and "fork" in status["last_error"]
    assert (later.status_code, later.json()["reason"]) == (423, "quarantined")
    assert _hub_state(group)[0] == before[0] and _hub_state(group)[2] == before[2]


def test_a_replay_with_an_altered_hash_is_tampering_not_a_fork(group: Group) -> None:
    bj = group.campuses["BJ01"]
    _with_leads(bj, 2)
    links = _links(bj)
    signature = sign(_key(bj), protocol.push_statement(bj.config.node_id, links[0][0], links[-1][0], links[-1][2]))
    bj.sync()
    before = _hub_state(group)
    altered = [*links[:1], [links[1][0], links[1][1], bytes(32)], *links[2:]]  # the signed last hash kept

    answer = httpx.post(f"{group.hub_server.url}/sync/v1/push", content=protocol.encode_body(
        {"node_id": bj.config.node_id, "changes": altered, "signature": signature}),
        headers={"content-type": protocol.MEDIA_TYPE})
    status = next(c for c in group.hub.sync.status() if c["campus_code"] == "BJ01")

    assert (answer.status_code, answer.json()["reason"]) == (400, "tampered")
    assert status["quarantined"] is False
    assert _hub_state(group) == before
    _with_leads(bj, 1, start=10)
    assert bj.sync().pushed == 1  # the new lead: the campus syncs on, not quarantined


def test_a_request_without_the_node_signature_does_not_touch_its_monitor_row(group: Group) -> None:
    bj = group.campuses["BJ01"]
    _with_leads(bj, 1)
    bj.sync()
    before = next(c for c in group.hub.sync.status() if c["campus_code"] == "BJ01")
    links = _links(bj)

    forged = _push(group, bj.config.node_id, links, generate_private_key())
    empty = httpx.post(f"{group.hub_server.url}/sync/v1/push", content=protocol.encode_body(
        {"node_id": bj.config.node_id, "changes": [], "signature": b"x" * 64}),
        headers={"content-type": protocol.MEDIA_TYPE})
    after = next(c for c in group.hub.sync.status() if c["campus_code"] == "BJ01")

    assert (forged.status_code, empty.status_code) == (403, 400)
    assert (after["last_error"], after["last_contact_at"]) == (before["last_error"], before["last_contact_at"])


def test_a_change_to_another_campus_owned_row_is_kept_in_the_log_but_not_applied(group: Group) -> None:
    bj, sh = group.campuses["BJ01"], group.campuses["SH01"]
    with sh.store().unit_of_work() as uow:  # SH01 writes a student of BJ01's, and a hub-owned campus row
        uow.insert("students", {"home_campus_id": bj.config.campus_id, "number": "BJ01-S-000001", "name": "冒名",
                                "status": "admitted", "created_at": "2026-11-24T08:00:00Z", "deleted": False})
        uow.insert("campuses", {"code": "XX99", "name": "假校区", "created_at": "2026-11-24T08:00:00Z",
                                "deleted": False})

    report = sh.sync()

    assert report.pushed >= 2
    with group.hub_store.read() as conn:
        assert conn.exec_driver_sql("select count(*) from students").scalar_one() == 0
        assert conn.exec_driver_sql("select count(*) from campuses where code = 'XX99'").scalar_one() == 0
    reasons = sorted(r["reason"] for r in group.hub_http.get("/api/v1/sync/rejections").json()["items"])
    assert reasons == ["campuses is owned by headquarters",
                       f"students/{_student_id(sh)} is owned by campus {bj.config.campus_id}"]
    with sh.store().read() as conn:  # the campus learns what was refused, through pull
        assert conn.exec_driver_sql("select count(*) from sync_rejections").scalar_one() == 2


def test_a_malformed_body_is_refused_with_problem_json(group: Group) -> None:
    before = _hub_state(group)

    garbage = httpx.post(f"{group.hub_server.url}/sync/v1/push", content=b"\xc1\xff not msgpack",
                         headers={"content-type": protocol.MEDIA_TYPE})
    missing = httpx.post(f"{group.hub_server.url}/sync/v1/push", content=protocol.encode_body({"node_id": "x"}),
                         headers={"content-type": protocol.MEDIA_TYPE})

    assert garbage.status_code == 400 and garbage.headers["content-type"] == "application/problem+json"
    assert missing.status_code == 400 and {e["field"] for e in missing.json()["errors"]} == {"changes", "signature"}
    assert _hub_state(group) == before


def _student_id(campus: Campus) -> str:
    with campus.store().read() as conn:
        return conn.exec_driver_sql("select id from students").scalar_one()


@pytest.mark.parametrize(("name", "value"), [("cursor", "abc"), ("max_bytes", -1), ("applied", True),
                                             ("own_after", [1]), ("sent_at_ms", "now"), ("cursor", 2**64 - 1),
                                             ("own_after", 2**63)])
def test_a_pull_with_a_field_of_the_wrong_type_is_refused_naming_it(group: Group, name: str, value: object) -> None:
    bj = group.campuses["BJ01"]
    key = load_private_key(bj.config.key_path)
    request = {"cursor": 0, "max_bytes": 1 << 20, "sent_at_ms": protocol.now_ms(), name: value}
    body = {"node_id": bj.config.node_id, "request": request,
            "signature": sign(key, protocol.request_statement("pull", bj.config.node_id, request))}

    answer = httpx.post(f"{group.hub_server.url}/sync/v1/pull", content=protocol.encode_body(body),
                        headers={"content-type": protocol.MEDIA_TYPE})

    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["reason"] == protocol.MALFORMED and answer.json()["field"] == name


@pytest.mark.parametrize(("endpoint", "body", "field"), [
    ("push", {"node_id": ["x"], "changes": [], "signature": b"s"}, "node_id"),
    ("push", {"node_id": "x", "changes": [], "signature": "not bytes"}, "signature"),
    ("hello", {"node_id": "x", "request": {}, "signature": "not bytes"}, "signature"),
    ("pull", {"node_id": "x", "request": [1], "signature": b"s"}, "request"),
    ("enroll", {"token": 7, "node_id": "x", "public_key": b"k", "signature": b"s"}, "token"),
])
def test_a_sync_body_field_of_the_wrong_type_is_refused_naming_it(group: Group, endpoint: str, body: dict,
                                                                 field: str) -> None:
    before = _hub_state(group)

    answer = httpx.post(f"{group.hub_server.url}/sync/v1/{endpoint}", content=protocol.encode_body(body),
                        headers={"content-type": protocol.MEDIA_TYPE})

    assert answer.status_code == 400 and answer.json()["reason"] == protocol.MALFORMED
    assert [e["field"] for e in answer.json()["errors"]] == [field]
    assert _hub_state(group) == before


def test_a_change_with_an_unknown_operation_is_refused_as_malformed(group: Group) -> None:
    bj = group.campuses["BJ01"]
    _with_leads(bj, 1)
    links = _links(bj)
    wire = codec.decode(links[-1][1])
    wire["op"] = "delete"
    body = codec.encode(wire)
    links[-1] = [links[-1][0], body, link_hash(links[-2][2] if len(links) > 1 else bytes(32), body)]
    before = _hub_state(group)

    answer = _push(group, bj.config.node_id, links, _key(bj))

    assert (answer.status_code, answer.json()["reason"]) == (400, "malformed")
    assert "op" in answer.json()["detail"]
    assert _hub_state(group) == before


def _rechain(links: list[list], start: int) -> list[list]:
    """The links with every hash from ``start`` on made again, as a node would have written them."""
    previous = links[start - 1][2] if start else bytes(32)
    for link in links[start:]:
        link[2] = link_hash(previous, link[1])
        previous = link[2]
    return links


def _rewrite(links: list[list], index: int, drop: tuple[str, ...] = (), **fields: object) -> None:
    """Change the fields of link ``index`` as a buggy or hostile node might (rechain after)."""
    wire = codec.decode(links[index][1])
    for name in drop:
        del wire["fields"][name]
    wire["fields"].update(fields)
    links[index][1] = codec.encode(wire)


def _lead_insert_index(links: list[list]) -> int:
    return next(i for i, link in enumerate(links)
                if codec.decode(link[1])["table"] == "leads" and codec.decode(link[1])["op"] == "insert")


def test_a_change_the_store_cannot_hold_is_rejected_and_the_ones_behind_it_go_through(any_group: Group) -> None:
    group = any_group
    bj = group.campuses["BJ01"]
    _with_leads(bj, 3)
    links = _links(bj)
    first = _lead_insert_index(links)
    _rewrite(links, first, drop=("name",))  # NOT NULL
    second = first + 1 + _lead_insert_index(links[first + 1:])
    _rewrite(links, second, number=codec.decode(links[-1][1])["fields"]["number"])  # UNIQUE: the third lead's

    answer = _push(group, bj.config.node_id, _rechain(links, first), _key(bj))

    assert answer.status_code == 200, answer.text
    assert protocol.decode_body(answer.content)["rejected"] == 2
    with group.hub_store.read() as conn:
        assert conn.exec_driver_sql("select count(*) from leads").scalar_one() == 1  # the third lead
        reasons = [r for (r,) in conn.exec_driver_sql("select reason from sync_rejections order by seq")]
    # Each engine words it its own way; both name what was refused.
    assert "null" in reasons[0].lower() and "name" in reasons[0]
    assert ("unique" in reasons[1].lower() or "duplicate" in reasons[1].lower()) and "number" in reasons[1]


def test_changes_written_with_a_clock_a_day_ahead_are_refused_naming_the_clock(group: Group) -> None:
    bj = group.campuses["BJ01"]
    _with_leads(bj, 1)
    links = _links(bj)
    wire = codec.decode(links[-1][1])
    wire["hlc"] = wire["hlc"] + (25 * 3600 * 1000 << 16)  # 25 hours later in the HLC's millisecond part
    links[-1][1] = codec.encode(wire)
    before = _hub_state(group)

    answer = _push(group, bj.config.node_id, _rechain(links, len(links) - 1), _key(bj))
    status = next(c for c in group.hub.sync.status() if c["campus_code"] == "BJ01")

    assert (answer.status_code, answer.json()["reason"]) == (409, "clock_ahead")
    assert "h ahead of the hub's clock" in answer.json()["detail"]
    assert _hub_state(group) == before
    assert status["last_error"].startswith("clock_ahead")


@pytest.mark.parametrize("pull_cursor", ["abc", 2**64 - 1])
def test_a_hello_with_a_pull_cursor_that_is_no_count_is_refused_naming_it(group: Group, pull_cursor: object) -> None:
    bj = group.campuses["BJ01"]
    key = load_private_key(bj.config.key_path)
    request = {"head_seq": 0, "head_hash": bytes(32), "pull_cursor": pull_cursor, "sent_at_ms": protocol.now_ms()}
    body = {"node_id": bj.config.node_id, "request": request,
            "signature": sign(key, protocol.request_statement("hello", bj.config.node_id, request))}

    answer = httpx.post(f"{group.hub_server.url}/sync/v1/hello", content=protocol.encode_body(body),
                        headers={"content-type": protocol.MEDIA_TYPE})

    assert (answer.status_code, answer.json()["reason"], answer.json()["field"]) == (400, "malformed", "pull_cursor")


def test_a_value_too_long_for_its_column_is_a_rejection_not_a_stalled_queue(any_group: Group) -> None:
    group = any_group
    bj = group.campuses["BJ01"]
    _with_leads(bj, 2)
    links = _links(bj)
    first = _lead_insert_index(links)
    _rewrite(links, first, pool="x" * 40)  # the column is VARCHAR(16); SQLite keeps any length

    answer = _push(group, bj.config.node_id, _rechain(links, first), _key(bj))

    assert answer.status_code == 200, answer.text
    with group.hub_store.read() as conn:
        engine = conn.dialect.name
        leads = conn.exec_driver_sql("select count(*) from leads").scalar_one()
        reasons = [r for (r,) in conn.exec_driver_sql("select reason from sync_rejections")]
    if engine == "postgresql":
        assert leads == 1 and len(reasons) == 1 and "too long" in reasons[0]
    else:
        assert leads == 2 and reasons == []
