"""The knowledge base over HTTP, the same at a node and at the hub: ``/api/v1/kb`` and the /kb
screens. Everyone reads and searches; articles and categories are written where headquarters' data
is kept (the hub; a campus never enrolled with one keeps its own: ``app.state.manages_price_list``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from campus.schema.context import CampusContext
from campus.schema.errors import Conflict
from campus.web.api import Api, Input, json_response, parse_body
from campus.web.auth import actor_of, guard
from campus.web.i18n import gettext_ as _
from campus.web.kb import store
from campus.web.kb.search import prepare, search
from campus.web.problems import InvalidInput
from campus.web.templating import form_action, make_templates, render
from campus.web.usecase import off_loop, perform, performs, query

TEMPLATES = make_templates(Path(__file__).parent.parent / "templates")
MAX_QUERY = 100


class CategoryIn(Input):
    name: str = Field(min_length=1, max_length=100)
    parent_id: str | None = Field(default=None, min_length=1, max_length=36)
    position: int = Field(default=0, ge=0, le=10_000)


class ArticleIn(Input):
    category_id: str = Field(min_length=1, max_length=36)
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=50_000)
    tags: str | None = Field(default=None, max_length=200)


def _context(request: Request) -> CampusContext:
    return CampusContext(id=request.app.state.auth.campus_id or "", code="")


def _kept_here(request: Request) -> None:
    if not request.app.state.manages_price_list:
        raise Conflict("this campus is enrolled with a hub: the knowledge base is kept at headquarters")


async def _perform(request: Request, case: Any, *args: Any) -> Any:
    _kept_here(request)
    return await perform(request.app.state.auth.store, _context(request), actor_of(request), case, *args)


async def _searchable(request: Request) -> None:
    """The index is made (or caught up) the first time this process searches the store."""
    await off_loop(prepare, request.app.state.auth.store)


def _query_param(request: Request) -> str:
    typed = (request.query_params.get("q") or "").strip()
    if len(typed) > MAX_QUERY:
        raise InvalidInput([{"field": "q", "message": f"at most {MAX_QUERY} characters"}])
    return typed


async def _found(request: Request, typed: str, category_id: str | None, limit: int) -> list[dict[str, Any]]:
    db = request.app.state.auth.store

    def read(conn: Any) -> list[dict[str, Any]]:
        within = store.subtree(conn, category_id) if category_id else None
        return search(conn, typed, limit, within) if typed else store.latest(conn, limit, within)

    await _searchable(request)
    return await query(db, read)


def register_kb_api(api: Api) -> None:
    @api.route("/kb/categories", "GET", "The category tree, parents first, each with its depth and path",
               "kb.read", tags=["kb"])
    async def tree(request: Request) -> Response:
        return json_response({"items": await query(request.app.state.auth.store, store.categories)})

    @api.route("/kb/categories", "POST", "Add a category (at most five levels deep)", "kb.manage", body=CategoryIn,
               tags=["kb"])
    @performs(store.save_category)
    async def add_category(request: Request) -> Response:
        body = await parse_body(request, CategoryIn)
        return json_response(await _perform(request, store.save_category, body.name, body.parent_id, body.position),
                             201)

    @api.route("/kb/articles", "GET", "Search the articles (?q= words, Chinese found inside longer text; every word "
               "must match; ?category_id= and the categories under it) or, without q, the latest", "kb.read",
               tags=["kb"])
    async def articles(request: Request) -> Response:
        category_id = request.query_params.get("category_id") or None
        return json_response({"items": await _found(request, _query_param(request), category_id, 50)})

    @api.route("/kb/articles", "POST", "Write an article", "kb.manage", body=ArticleIn, tags=["kb"])
    @performs(store.save_article)
    async def add_article(request: Request) -> Response:
        body = await parse_body(request, ArticleIn)
        return json_response(await _perform(request, store.save_article, body.category_id, body.title, body.body,
                                            body.tags), 201)

    @api.route("/kb/articles/{article_id}", "GET", "One article with the articles related to it", "kb.read",
               tags=["kb"])
    async def one(request: Request) -> Response:
        await _searchable(request)
        return json_response(await query(request.app.state.auth.store, store.article, request.path_params["article_id"]))

    @api.route("/kb/articles/{article_id}", "PUT", "Change an article", "kb.manage", body=ArticleIn, tags=["kb"])
    @performs(store.save_article)
    async def change(request: Request) -> Response:
        body = await parse_body(request, ArticleIn)
        return json_response(await _perform(request, store.save_article, body.category_id, body.title, body.body,
                                            body.tags, request.path_params["article_id"]))

    @api.route("/kb/articles/{article_id}/delete", "POST", "Take an article out of the knowledge base", "kb.manage",
               tags=["kb"])
    @performs(store.delete_article)
    async def delete(request: Request) -> Response:
        return json_response(await _perform(request, store.delete_article, request.path_params["article_id"]))


async def kb_page(request: Request) -> Response:
    typed = (request.query_params.get("q") or "").strip()[:MAX_QUERY]
    category_id = request.query_params.get("category_id") or None
    found = await _found(request, typed, category_id, 50)
    tree = await query(request.app.state.auth.store, store.categories)
    return render(TEMPLATES, request, "kb.html", {
        "app_title": request.app.state.title, "q": typed, "category_id": category_id, "articles": found,
        "categories": tree, "names": {c["id"]: " / ".join(c["path"]) for c in tree},
        "may_manage": request.app.state.manages_price_list
        and actor_of(request).can("kb.manage", request.app.state.auth.campus_id)})


async def article_page(request: Request) -> Response:
    await _searchable(request)
    db = request.app.state.auth.store
    found = await query(db, store.article, request.path_params["article_id"])
    return render(TEMPLATES, request, "kb_article.html", {
        "app_title": request.app.state.title, "article": found, "categories": await query(db, store.categories),
        "may_manage": request.app.state.manages_price_list
        and actor_of(request).can("kb.manage", request.app.state.auth.campus_id)})


@performs(store.save_category, store.save_article, store.delete_article)
async def kb_step(request: Request) -> Response:
    def run(form: FormData) -> str:
        _kept_here(request)
        db, ctx, actor = request.app.state.auth.store, _context(request), actor_of(request)
        what = str(form.get("what", ""))
        if what == "category":
            position = str(form.get("position", "0") or "0")
            store.save_category(db, ctx, actor, str(form.get("name", "")), str(form.get("parent_id", "")) or None,
                                int(position) if position.isdigit() else 0)
            return _("Category saved")
        if what == "delete":
            store.delete_article(db, ctx, actor, str(form.get("article_id", "")))
            return _("Article removed")
        store.save_article(db, ctx, actor, str(form.get("category_id", "")), str(form.get("title", "")),
                           str(form.get("body", "")), str(form.get("tags", "")) or None,
                           str(form.get("article_id", "")) or None)
        return _("Article saved")

    return await form_action(request, "/kb", run)


def kb_routes() -> list[Route]:
    return [Route("/kb", guard("kb.read", kb_page, screen=True)),
            Route("/kb", guard("kb.manage", kb_step, screen=True), methods=["POST"]),
            Route("/kb/{article_id}", guard("kb.read", article_page, screen=True))]
