"""Full-text search of the knowledge base. On SQLite an FTS5 table with the trigram tokenizer
(``kb_search``) indexes each live article's title, body and tags; triggers on ``kb_articles`` keep
it in step with every write, a replicated one included, so the index is derived and never synced.
It is made the first time a store searches (and rebuilt if it ever disagrees with the articles).

The trigram tokenizer matches any piece of three characters or more anywhere in the text, which is
what Chinese needs (no word boundaries); a term of one or two characters (退费, 请假) is matched by
LIKE over the same table. Every term must match; articles rank by BM25 where FTS5 ranks them.

On PostgreSQL (a large hub) the search is ILIKE over each article's title, body and tags, served by
a GIN trigram index (pg_trgm, which also cuts Chinese into trigrams) made the first time the hub
searches: ``CREATE EXTENSION IF NOT EXISTS pg_trgm`` needs a role allowed to create it (or a DBA
who did). Where the server refuses, the search still answers, as ILIKE over every article, and
the hub's log says so once.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import Connection, and_, case, func, literal_column, or_, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import ColumnElement

from campus.schema.tables import kb_articles

INDEX = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS kb_search USING fts5(article_id UNINDEXED, title, body, tags, "
    "tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS kb_search_insert AFTER INSERT ON kb_articles WHEN NOT new.deleted BEGIN "
    "INSERT INTO kb_search (article_id, title, body, tags) VALUES (new.id, new.title, new.body, "
    "coalesce(new.tags, '')); END",
    "CREATE TRIGGER IF NOT EXISTS kb_search_update AFTER UPDATE ON kb_articles BEGIN "
    "DELETE FROM kb_search WHERE article_id = old.id; "
    "INSERT INTO kb_search (article_id, title, body, tags) SELECT new.id, new.title, new.body, "
    "coalesce(new.tags, '') WHERE NOT new.deleted; END",
]
REBUILD = ("DELETE FROM kb_search", "INSERT INTO kb_search (article_id, title, body, tags) "
           "SELECT id, title, body, coalesce(tags, '') FROM kb_articles WHERE NOT deleted")
MAX_TERMS = 8
RELATED_TRIGRAMS = 24
_ready: set[str] = set()  # the databases whose index this process made sure of
_lock = threading.Lock()
log = logging.getLogger("campus.kb")
# PostgreSQL: what is searched (one text, so one index serves every term) and its trigram index.
SEARCHED = "(title || ' ' || body || ' ' || coalesce(tags, ''))"
TRIGRAM_INDEX = "ix_kb_articles_trigram"
TRIGRAM_DDL = ("CREATE EXTENSION IF NOT EXISTS pg_trgm",
               f"CREATE INDEX IF NOT EXISTS {TRIGRAM_INDEX} ON kb_articles USING gin ({SEARCHED} gin_trgm_ops)")


def ensure_trigram_index(conn: Connection) -> bool:
    """PostgreSQL: make the pg_trgm extension and the articles' GIN trigram index if missing; False
    (and a warning in the log) where the server does not allow it, and the search is a scan."""
    key = str(conn.engine.url)
    if key in _ready:
        return has_index(conn)
    with _lock:
        try:
            with conn.begin_nested():  # a refusal must not spoil the caller's transaction
                for statement in TRIGRAM_DDL:
                    conn.exec_driver_sql(statement)
        except DBAPIError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            log.warning("knowledge-base search without a trigram index (pg_trgm: %s): every search reads "
                        "every article; a database owner can run %s", reason, "; ".join(TRIGRAM_DDL))
            made = False
        else:
            made = True
        _ready.add(key)
    return made


def ensure_index(conn: Connection) -> bool:
    """Make the index and its triggers if missing, and rebuild it when it does not count the live
    articles (on PostgreSQL: the trigram index); False where there is none. Call inside a write
    transaction."""
    if conn.dialect.name == "postgresql":
        return ensure_trigram_index(conn)
    if conn.dialect.name != "sqlite":
        return False
    key = str(conn.engine.url)
    if key in _ready:
        return True
    with _lock:
        for statement in INDEX:
            conn.exec_driver_sql(statement)
        indexed = conn.exec_driver_sql("SELECT count(*) FROM kb_search").scalar_one()
        live = conn.execute(select(func.count()).where(kb_articles.c.deleted.is_(False))).scalar_one()
        if indexed != live:
            for statement in REBUILD:
                conn.exec_driver_sql(statement)
        _ready.add(key)
    return True


def prepare(store: Any) -> None:
    """Make sure ``store`` (a node's or the hub's) has its index, in a write transaction of its own."""
    if str(store.engine.url) in _ready:
        return
    with store.write() as conn:
        ensure_index(conn)


def has_index(conn: Connection) -> bool:
    """Whether the store has its search index (SQLite: the FTS5 table; PostgreSQL: the trigram index)."""
    if conn.dialect.name == "postgresql":
        return conn.exec_driver_sql("SELECT 1 FROM pg_indexes WHERE indexname = %(name)s",
                                    {"name": TRIGRAM_INDEX}).first() is not None
    if conn.dialect.name != "sqlite":
        return False
    return conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'kb_search'").first() is not None


def search_method(conn: Connection) -> str:
    """How this store searches: "fts5-trigram", "pg_trgm" or "scan" (ILIKE or LIKE over every article)."""
    if not has_index(conn):
        return "scan"
    return "pg_trgm" if conn.dialect.name == "postgresql" else "fts5-trigram"


def terms_of(query: str) -> list[str]:
    """The search's terms: words split on spaces, each once, at most eight."""
    return list(dict.fromkeys(t for t in query.split() if t))[:MAX_TERMS]


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def search(conn: Connection, query: str, limit: int = 20, category_ids: set[str] | None = None
           ) -> list[dict[str, Any]]:
    """Live articles matching every term of ``query``, best first (ids, titles, category, a snippet)."""
    terms = terms_of(query)
    if not terms:
        return []
    if conn.dialect.name != "sqlite" or not has_index(conn):
        return _search_without_index(conn, terms, limit, category_ids)
    long_terms = [t for t in terms if len(t) >= 3]
    where, params = [], {}
    if long_terms:
        where.append("kb_search MATCH :match")
        params["match"] = " AND ".join(_phrase(t) for t in long_terms)
    for n, term in enumerate(t for t in terms if len(t) < 3):
        where.append(f"(title LIKE :t{n} ESCAPE '\\' OR body LIKE :t{n} ESCAPE '\\' OR tags LIKE :t{n} ESCAPE '\\')")
        params[f"t{n}"] = _like(term)
    order = "rank" if long_terms else "article_id DESC"
    found = conn.execute(text(
        "SELECT article_id, title, substr(body, 1, 120) AS snippet FROM kb_search "
        f"WHERE {' AND '.join(where)} ORDER BY {order} LIMIT :limit"), {**params, "limit": limit * 4}).all()
    return _with_categories(conn, [r.article_id for r in found], {r.article_id: r.snippet for r in found},
                            limit, category_ids)


def _with_categories(conn: Connection, ids: list[str], snippets: dict[str, str], limit: int,
                     category_ids: set[str] | None) -> list[dict[str, Any]]:
    rows = {r.id: r for r in conn.execute(select(kb_articles.c.id, kb_articles.c.title, kb_articles.c.category_id,
                                                 kb_articles.c.updated_at).where(kb_articles.c.id.in_(ids)))}
    shown = []
    for article_id in ids:
        row = rows.get(article_id)
        if row is None or (category_ids is not None and row.category_id not in category_ids):
            continue
        shown.append({"id": row.id, "title": row.title, "category_id": row.category_id,
                      "snippet": snippets.get(article_id, ""), "updated_at": row.updated_at})
        if len(shown) == limit:
            break
    return shown


def _contains(searched: ColumnElement[str], term: str) -> ColumnElement[bool]:
    """PostgreSQL: ``term`` inside the text, without regard to case where it has any (ILIKE folds
    case for every character it reads, several times slower than LIKE over Chinese text)."""
    if term.lower() == term.upper():
        return searched.like(_like(term), escape="\\")
    return searched.ilike(_like(term), escape="\\")


def _search_without_index(conn: Connection, terms: list[str], limit: int, category_ids: set[str] | None
                          ) -> list[dict[str, Any]]:
    """ILIKE for every term: on PostgreSQL over the one text the trigram index covers (so the index
    serves it when it exists), elsewhere over each column."""
    if conn.dialect.name == "postgresql":
        searched: ColumnElement[str] = literal_column(SEARCHED)
        matched = and_(*(_contains(searched, t) for t in terms))
    else:
        matched = and_(*(or_(kb_articles.c.title.ilike(_like(t), escape="\\"),
                             kb_articles.c.body.ilike(_like(t), escape="\\"),
                             kb_articles.c.tags.ilike(_like(t), escape="\\")) for t in terms))
    query = select(kb_articles.c.id, kb_articles.c.body).where(kb_articles.c.deleted.is_(False), matched)
    if category_ids is not None:
        query = query.where(kb_articles.c.category_id.in_(category_ids))
    found = conn.execute(query.order_by(kb_articles.c.updated_at.desc()).limit(limit)).all()
    return _with_categories(conn, [r.id for r in found], {r.id: r.body[:120] for r in found}, limit, None)


def trigrams(textual: str) -> list[str]:
    """The distinct three-character pieces of a text's words (spaces and punctuation split them)."""
    pieces: list[str] = []
    word = []
    for char in textual + " ":
        if char.isalnum():
            word.append(char)
            continue
        for start in range(len(word) - 2):
            pieces.append("".join(word[start:start + 3]))
        word = []
    return list(dict.fromkeys(pieces))


def related(conn: Connection, textual: str, limit: int = 5, exclude: str | None = None) -> list[dict[str, Any]]:
    """Articles sharing the most three-character pieces with ``textual`` (a ticket's subject and
    body, an article's title): what is shown beside it."""
    pieces = trigrams(textual)[:RELATED_TRIGRAMS]
    if not pieces or not has_index(conn):
        return []
    if conn.dialect.name == "postgresql":
        return _related_by_trigram_index(conn, pieces, limit, exclude)
    found = conn.execute(text("SELECT article_id, substr(body, 1, 120) AS snippet FROM kb_search "
                              "WHERE kb_search MATCH :match ORDER BY rank LIMIT :limit"),
                         {"match": " OR ".join(_phrase(p) for p in pieces), "limit": limit + 1}).all()
    ids = [r.article_id for r in found if r.article_id != exclude]
    return _with_categories(conn, ids, {r.article_id: r.snippet for r in found}, limit, None)


def _related_by_trigram_index(conn: Connection, pieces: list[str], limit: int, exclude: str | None
                              ) -> list[dict[str, Any]]:
    """PostgreSQL: the articles containing the most of the pieces (the trigram index finds them)."""
    searched: ColumnElement[str] = literal_column(SEARCHED)
    hits = [_contains(searched, p) for p in pieces]
    shared: ColumnElement[int] = sum((case((hit, 1), else_=0) for hit in hits), literal_column("0"))
    found = conn.execute(select(kb_articles.c.id, func.substr(kb_articles.c.body, 1, 120).label("snippet"))
                         .where(kb_articles.c.deleted.is_(False), or_(*hits))
                         .order_by(shared.desc(), kb_articles.c.updated_at.desc()).limit(limit + 1)).all()
    ids = [r.id for r in found if r.id != exclude]
    return _with_categories(conn, ids, {r.id: r.snippet for r in found}, limit, None)
