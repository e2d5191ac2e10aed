"""The knowledge base on a PostgreSQL hub: the first search makes the pg_trgm extension and a GIN
trigram index over each article's title, body and tags, and the search (ILIKE, every word must
match) finds Chinese words inside longer text through it; related articles are found by their
shared three-character pieces. Runs against the real server on 127.0.0.1:5432 in a database of its
own, and is skipped, saying why, when none answers."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import insert, text

from campus.hub.store import HubStore
from campus.schema.ids import new_id
from campus.schema.tables import kb_articles, kb_categories
from campus.web.kb.search import TRIGRAM_INDEX, prepare, related, search, search_method
from tests.web.test_kb import ARTICLES

pytestmark = pytest.mark.postgres


@pytest.fixture
def hub_store(postgres_url: str) -> Iterator[HubStore]:
    store = HubStore(postgres_url, "kb-postgres-test")
    try:
        category = new_id()
        with store.write() as conn:
            conn.execute(insert(kb_categories).values(id=category, parent_id=None, name="常见问题", position=0,
                                                      updated_at="2030-01-01T00:00:00Z", deleted=False))
            conn.execute(insert(kb_articles), [
                {"id": new_id(), "category_id": category, "title": title, "body": body, "tags": None,
                 "updated_by": None, "updated_at": f"2030-01-01T00:00:{n:02d}Z", "deleted": False}
                for n, (_group, title, body) in enumerate(ARTICLES)])
        yield store
    finally:
        store.close()


def _titles(store: HubStore, query: str) -> list[str]:
    with store.read() as conn:
        return sorted(a["title"] for a in search(conn, query, 20))


def test_the_first_search_makes_a_trigram_index_and_finds_chinese_inside_longer_text(hub_store: HubStore) -> None:
    with hub_store.read() as conn:
        before = search_method(conn)

    prepare(hub_store)

    with hub_store.read() as conn:
        method = search_method(conn)
        definition = conn.execute(text("SELECT indexdef FROM pg_indexes WHERE indexname = :name"),
                                  {"name": TRIGRAM_INDEX}).scalar_one()
    assert (before, method) == ("scan", "pg_trgm")
    assert "gin" in definition and "gin_trgm_ops" in definition
    assert _titles(hub_store, "退费流程") == ["如何申请退费"]
    assert _titles(hub_store, "退费") == ["如何申请退费", "退费金额怎么算"]
    assert _titles(hub_store, "请假 医院") == ["临时请假"]
    assert _titles(hub_store, "front DESK") == ["Opening hours"]
    assert _titles(hub_store, "100%") == []  # a % typed is a character, not a wildcard


def test_the_search_expression_is_served_by_the_trigram_index(hub_store: HubStore) -> None:
    prepare(hub_store)
    with hub_store.write() as conn:
        category = conn.execute(text("SELECT id FROM kb_categories LIMIT 1")).scalar_one()
        conn.execute(insert(kb_articles), [
            {"id": new_id(), "category_id": category, "title": f"第{n}号说明", "body": f"编号{n:05d}的课程安排" * 5,
             "tags": None, "updated_by": None, "updated_at": "2030-01-02T00:00:00Z", "deleted": False}
            for n in range(3000)])
        conn.execute(text("ANALYZE kb_articles"))
        conn.execute(text("SET LOCAL enable_seqscan = off"))  # 3,000 rows fit a scan; is the index usable?
        plan = "\n".join(conn.execute(text(
            "EXPLAIN SELECT id FROM kb_articles WHERE (title || ' ' || body || ' ' || coalesce(tags, '')) "
            "ILIKE '%退费流程%'")).scalars())

    assert TRIGRAM_INDEX in plan, plan
    assert _titles(hub_store, "编号02999") == ["第2999号说明"]


def test_related_articles_at_the_hub_share_the_most_pieces(hub_store: HubStore) -> None:
    prepare(hub_store)
    with hub_store.read() as conn:
        found = [a["title"] for a in related(conn, "当天请假需要医院证明吗", 3)]

    # four pieces shared (当天请, 天请假, 医院证, 院证明), then one each (假需要; 天请假)
    assert found[0] == "临时请假" and sorted(found[1:]) == ["病假证明", "请假与补课"]


def test_a_role_that_may_not_create_the_extension_still_searches_and_the_log_says_why(
        hub_store: HubStore, postgres_url: str, caplog: pytest.LogCaptureFixture) -> None:
    role = f"kb_reader_{new_id()[-12:]}"
    database = postgres_url.rsplit("/", 1)[1]
    with hub_store.write() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        conn.execute(text(f'REVOKE CREATE ON DATABASE "{database}" FROM PUBLIC'))
        conn.execute(text(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{role}"'))
    reader = HubStore(postgres_url.replace("//postgres@", f"//{role}@"), "kb-reader")
    try:
        with caplog.at_level("WARNING", logger="campus.kb"):
            prepare(reader)
        with reader.read() as conn:
            method = search_method(conn)
        assert method == "scan"
        assert "knowledge-base search without a trigram index" in caplog.text and "pg_trgm" in caplog.text
        assert _titles(reader, "退费流程") == ["如何申请退费"]
    finally:
        reader.close()
        with hub_store.write() as conn:
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))


@pytest.mark.slow
def test_a_search_of_longer_words_over_five_thousand_articles_at_a_postgresql_hub_takes_under_fifty_ms(
        hub_store: HubStore) -> None:
    prepare(hub_store)
    words = ["课程", "老师", "家长", "校区", "教材", "缴费", "补课", "考试", "作业", "活动", "安排", "通知"]
    with hub_store.write() as conn:
        category = conn.execute(text("SELECT id FROM kb_categories LIMIT 1")).scalar_one()
        conn.execute(insert(kb_articles), [
            {"id": new_id(), "category_id": category, "title": f"常见问题第{n}号：{words[n % 12]}{words[n * 7 % 12]}",
             "body": "".join(words[(n * k) % 12] for k in range(60)) + f"编号{n:05d}", "tags": None,
             "updated_by": None, "updated_at": "2030-01-01T00:00:00Z", "deleted": False} for n in range(5000)])
        conn.execute(text("ANALYZE kb_articles"))
    timings: dict[str, list[float]] = {"indexed": [], "two characters": []}
    with hub_store.read() as conn:
        for query in ("退费流程", "编号04999", "常见问题第", "Opening hours", "退费", "补课 考试", "请假 医院"):
            for _ in range(5):
                start = time.perf_counter()
                found = search(conn, query, 20)
                timings["indexed" if min(len(t) for t in query.split()) >= 3 else "two characters"].append(
                    time.perf_counter() - start)
            assert found or query == "请假 医院"
    print(f"kb search at a PostgreSQL hub over {5000 + len(ARTICLES)} articles: " + "; ".join(
        f"{kind} median {statistics.median(t) * 1000:.1f} ms, max {max(t) * 1000:.1f} ms"
        for kind, t in timings.items()))
    # Words of three characters or more are found through the trigram index; a two-character word
    # (pg_trgm has no trigram in it) is a LIKE over every article, timed and printed but not bounded.
    assert statistics.median(timings["indexed"]) < 0.050
