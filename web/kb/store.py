"""The knowledge base's records: the category tree and articles, each written by an audited use case
(``kb.manage``) where the base is kept (headquarters, or a standalone campus), and read everywhere."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from campus.schema.context import CampusContext
from campus.schema.errors import Invalid, NotFound
from campus.schema.tables import kb_articles, kb_categories
from campus.web.kb.search import ensure_index, related
from campus.web.usecase import Work, use_case

MAX_DEPTH = 5


def _text(value: str | None, field: str, limit: int, required: bool = True) -> str | None:
    cleaned = (value or "").strip()
    if not cleaned:
        if required:
            raise Invalid(field, "must not be empty")
        return None
    if len(cleaned) > limit:
        raise Invalid(field, f"at most {limit} characters")
    return cleaned


def categories(conn: Connection) -> list[dict[str, Any]]:
    """Live categories in tree order (parents first, then by position and name), each with its depth
    and path of names."""
    rows = [dict(r) for r in conn.execute(select(kb_categories).where(kb_categories.c.deleted.is_(False))
                                          .order_by(kb_categories.c.position, kb_categories.c.name)).mappings()]
    children: dict[str | None, list[dict[str, Any]]] = {}
    known = {r["id"] for r in rows}
    for row in rows:
        children.setdefault(row["parent_id"] if row["parent_id"] in known else None, []).append(row)
    ordered: list[dict[str, Any]] = []

    def walk(parent: str | None, depth: int, path: list[str]) -> None:
        for row in children.get(parent, []):
            ordered.append({**row, "depth": depth, "path": [*path, row["name"]]})
            walk(row["id"], depth + 1, [*path, row["name"]])

    walk(None, 0, [])
    return ordered


def subtree(conn: Connection, category_id: str) -> set[str]:
    tree = categories(conn)
    wanted = {category_id}
    for row in tree:  # parents come before their children
        if row["parent_id"] in wanted:
            wanted.add(row["id"])
    return wanted


def _depth(conn: Connection, parent_id: str | None) -> int:
    depth, seen = 0, set()
    while parent_id:
        row = conn.execute(select(kb_categories.c.parent_id).where(kb_categories.c.id == parent_id,
                                                                   kb_categories.c.deleted.is_(False))).first()
        if row is None:
            raise Invalid("parent_id", "no such category")
        if parent_id in seen:
            raise Invalid("parent_id", "a category cannot be inside itself")
        seen.add(parent_id)
        depth, parent_id = depth + 1, row.parent_id
    return depth


@use_case("kb.manage")
def save_category(work: Work[CampusContext], name: str, parent_id: str | None = None, position: int = 0,
                  category_id: str | None = None) -> dict[str, Any]:
    """A category of the tree (at most five levels), new or renamed or moved."""
    values = {"name": _text(name, "name", 100), "parent_id": parent_id or None, "position": position,
              "updated_at": work.ctx.now_text(), "deleted": False}
    if _depth(work.conn, parent_id) >= MAX_DEPTH:
        raise Invalid("parent_id", f"at most {MAX_DEPTH} levels")
    if category_id:
        if parent_id and parent_id in subtree(work.conn, category_id):
            raise Invalid("parent_id", "a category cannot be inside itself")
        if work.conn.execute(select(kb_categories.c.id).where(kb_categories.c.id == category_id)).first() is None:
            raise NotFound(f"no category {category_id}", category_id=category_id)
        work.uow.update("kb_categories", category_id, values)
    else:
        category_id = work.uow.insert("kb_categories", values)
    work.audit("kb_category_saved", target_table="kb_categories", target_id=category_id, after=values)
    return {"id": category_id, **values}


@use_case("kb.manage")
def save_article(work: Work[CampusContext], category_id: str, title: str, body: str, tags: str | None = None,
                 article_id: str | None = None) -> dict[str, Any]:
    """An article, new or edited; the search index follows it (and every replicated change)."""
    ensure_index(work.conn)
    if work.conn.execute(select(kb_categories.c.id).where(kb_categories.c.id == category_id,
                                                          kb_categories.c.deleted.is_(False))).first() is None:
        raise Invalid("category_id", "no such category")
    values = {"category_id": category_id, "title": _text(title, "title", 200), "body": _text(body, "body", 50_000),
              "tags": _text(tags, "tags", 200, required=False), "updated_by": work.actor.user_id,
              "updated_at": work.ctx.now_text(), "deleted": False}
    if article_id:
        before = work.conn.execute(select(kb_articles.c.title).where(kb_articles.c.id == article_id)).first()
        if before is None:
            raise NotFound(f"no article {article_id}", article_id=article_id)
        work.uow.update("kb_articles", article_id, values)
    else:
        article_id = work.uow.insert("kb_articles", values)
    work.audit("kb_article_saved", target_table="kb_articles", target_id=article_id,
               after={"title": values["title"], "category_id": category_id})
    return {"id": article_id, **values}


@use_case("kb.manage")
def delete_article(work: Work[CampusContext], article_id: str) -> dict[str, str]:
    ensure_index(work.conn)
    row = work.conn.execute(select(kb_articles.c.title, kb_articles.c.deleted).where(
        kb_articles.c.id == article_id)).first()
    if row is None or row.deleted:
        raise NotFound(f"no article {article_id}", article_id=article_id)
    work.uow.tombstone("kb_articles", article_id)
    work.audit("kb_article_deleted", target_table="kb_articles", target_id=article_id, before={"title": row.title})
    return {"id": article_id}


def article(conn: Connection, article_id: str) -> dict[str, Any]:
    """One live article, its category's path and the articles related to it."""
    row = conn.execute(select(kb_articles).where(kb_articles.c.id == article_id, kb_articles.c.deleted.is_(False))
                       ).mappings().first()
    if row is None:
        raise NotFound(f"no article {article_id}", article_id=article_id)
    paths = {c["id"]: c["path"] for c in categories(conn)}
    return {**dict(row), "category_path": paths.get(row["category_id"], []),
            "related": related(conn, row["title"], 5, exclude=article_id)}


def latest(conn: Connection, limit: int = 20, category_ids: set[str] | None = None) -> list[dict[str, Any]]:
    query = select(kb_articles.c.id, kb_articles.c.title, kb_articles.c.category_id, kb_articles.c.updated_at).where(
        kb_articles.c.deleted.is_(False))
    if category_ids is not None:
        query = query.where(kb_articles.c.category_id.in_(category_ids))
    return [{**dict(r), "snippet": ""} for r in conn.execute(query.order_by(kb_articles.c.updated_at.desc())
                                                             .limit(limit)).mappings()]
