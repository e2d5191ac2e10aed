"""Lead and student search: a name, a phone fragment (the last four digits, a piece from the
middle, typed with separators) or a number finds the record through the trigram index, also after
an edit and for a row that arrives by sync, and every term must match."""

from __future__ import annotations

from sqlalchemy import select, update
from starlette.testclient import TestClient

from campus.node.store import NodeStore
from campus.schema.search import matching, search_terms
from campus.schema.tables import leads


def _names(client: TestClient, path: str, query: str) -> list[str]:
    response = client.get(path, params={"q": query})
    assert response.status_code == 200, response.text
    return sorted(item["name"] for item in response.json()["items"])


def test_search_terms_fold_full_width_digits_and_drop_phone_separators() -> None:
    assert search_terms("１３８-1234  张伟 张伟") == ["1381234", "张伟"]
    assert search_terms("BJ01-L-000002") == ["BJ01-L-000002"]
    assert search_terms("   ") == []


def test_a_lead_is_found_by_name_phone_fragment_and_number(node_client: TestClient) -> None:
    made = {name: node_client.post("/api/v1/leads", json={"name": name, "phone": phone}).json()
            for name, phone in (("欧阳娜娜", "13912345678"), ("张伟", "13800138000"), ("张伟明", "13600004321"))}

    assert _names(node_client, "/api/v1/leads", "欧阳娜") == ["欧阳娜娜"]
    assert _names(node_client, "/api/v1/leads", "张伟") == ["张伟", "张伟明"]
    assert _names(node_client, "/api/v1/leads", "5678") == ["欧阳娜娜"]
    assert _names(node_client, "/api/v1/leads", "0138") == ["张伟"]
    assert _names(node_client, "/api/v1/leads", "136-0000") == ["张伟明"]
    assert _names(node_client, "/api/v1/leads", made["张伟明"]["number"]) == ["张伟明"]
    assert _names(node_client, "/api/v1/leads", "张伟 4321") == ["张伟明"]
    assert _names(node_client, "/api/v1/leads", "9999") == []


def test_a_student_is_found_by_name_phone_fragment_and_number(node_client: TestClient) -> None:
    made = [node_client.post("/api/v1/students", json={"name": name, "phone": phone}).json()
            for name, phone in (("王小明", "13711112222"), ("李雷", "13733334444"))]

    assert _names(node_client, "/api/v1/students", "王小明") == ["王小明"]
    assert _names(node_client, "/api/v1/students", "李雷") == ["李雷"]
    assert _names(node_client, "/api/v1/students", "3334") == ["李雷"]
    assert _names(node_client, "/api/v1/students", made[0]["number"]) == ["王小明"]
    assert _names(node_client, "/api/v1/students", "137") == ["李雷", "王小明"]


def test_the_index_follows_an_edit_and_a_row_written_outside_the_use_cases(node_store: NodeStore) -> None:
    with node_store.write() as conn:
        conn.execute(leads.insert().values(id="l-sync", campus_id="c", number="SH01-L-000042", name="陈静怡",
                                           phone="18600001111", created_at="2026-12-01T00:00:00Z"))
    with node_store.read() as conn:
        assert conn.execute(select(leads.c.id).where(matching(conn, leads, "静怡 1111"))).scalars().all() == ["l-sync"]
    with node_store.write() as conn:
        conn.execute(update(leads).where(leads.c.id == "l-sync").values(name="陈思远", phone="18622223333"))
    with node_store.read() as conn:
        assert conn.execute(select(leads.c.id).where(matching(conn, leads, "1111"))).scalars().all() == []
        assert conn.execute(select(leads.c.id).where(matching(conn, leads, "思远 2222"))).scalars().all() == ["l-sync"]
        assert conn.execute(select(leads.c.id).where(matching(conn, leads, "L-000042"))).scalars().all() == ["l-sync"]


def test_a_two_character_name_is_found_inside_a_longer_one_and_a_whole_number_exactly(node_store: NodeStore) -> None:
    with node_store.write() as conn:
        for n, name in enumerate(("王小明", "小明", "李明华")):
            conn.execute(leads.insert().values(id=f"l-{n}", campus_id="c", number=f"BJ01-L-00000{n}", name=name,
                                               phone=f"1860000000{n}", created_at="2026-12-01T00:00:00Z"))
    with node_store.read() as conn:
        def found(query: str) -> list[str]:
            return sorted(conn.execute(select(leads.c.name).where(matching(conn, leads, query))).scalars())

        assert found("小明") == ["小明", "王小明"]
        assert found("明华") == ["李明华"]
        assert found("明") == ["小明", "李明华", "王小明"]
        assert found("bj01-l-000002") == ["李明华"]
