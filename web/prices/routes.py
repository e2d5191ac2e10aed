"""The price list over HTTP: read everywhere, maintained where it is owned.

Headquarters owns it at the hub; a campus never enrolled with a hub owns its own. The same
routes serve both (``app.state.manages_price_list`` says whether this store may change it).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from campus.schema import tables
from campus.schema.context import CampusContext
from campus.schema.errors import Conflict, DomainError, Invalid
from campus.schema.quantities import Money
from campus.web.api import Api, Input, Output, json_response, parse_body, row_model, uploaded_file
from campus.web.auth import actor_of, check_csrf, guard
from campus.web.forms import form_model
from campus.web.i18n import gettext_ as _
from campus.web.prices import product_screen as products
from campus.web.prices.store import (
    IMPORT_HEADERS,
    import_price_rows,
    price_list,
    set_price,
    set_product,
    set_promo,
)
from campus.web.spreadsheets import read_rows
from campus.web.templating import flash, make_templates, render
from campus.web.usecase import Work, perform, performs, query, use_case

TEMPLATES = make_templates(Path(__file__).parent.parent / "templates")
DATE = r"^\d{4}-\d{2}-\d{2}$"


class PriceIn(Input):
    grade: str = Field(min_length=1, max_length=32)
    subject: str = Field(min_length=1, max_length=32)
    level: str = Field(min_length=1, max_length=32)
    delivery: str = Field(min_length=1, max_length=16)
    unit_price_fen: int = Field(gt=0, le=100_000_000)
    active: bool = True


class ProductIn(Input):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=100)
    price_item_id: str = Field(min_length=1, max_length=36)
    hours_x100: int = Field(gt=0, le=10_000_00)
    gift_hours_x100: int = Field(default=0, ge=0, le=10_000_00)
    validity_days: int = Field(default=365, ge=1, le=3660)
    prepaid_rule: Literal["off", "warn", "block"] = "off"  # the prepaid-fee rule for K-12 lines
    active: bool = True


class PromoIn(Input):
    code: str = Field(min_length=1, max_length=32)
    kind: Literal["amount", "percent"]
    amount_fen: int = Field(default=0, ge=0)
    percent_bp: int = Field(default=0, ge=0, le=10_000)
    min_subtotal_fen: int = Field(default=0, ge=0)
    valid_from: str | None = Field(default=None, pattern=DATE)
    valid_until: str | None = Field(default=None, pattern=DATE)
    max_uses: int | None = Field(default=None, ge=1)
    active: bool = True


def _owned_here(request: Request) -> None:
    if not request.app.state.manages_price_list:
        raise Conflict("this campus is enrolled with a hub: the price list is maintained at headquarters")


@use_case("prices.manage")
def change_price(work: Work[CampusContext], setter: Callable[..., dict[str, Any]], fields: dict[str, Any]) -> dict[str, Any]:
    """Set a unit price, a product or a promo code (``setter`` says which) and audit the change."""
    item = setter(work.uow, **fields)
    work.audit("price_changed", after=item)
    return item


@use_case("prices.manage")
def import_prices(work: Work[CampusContext], upload: UploadFile) -> list[Any]:
    results = import_price_rows(work.uow, read_rows(upload.file, upload.filename or "", IMPORT_HEADERS,
                                                    set(IMPORT_HEADERS)))
    work.audit("price_list_imported", after={"file": upload.filename, "set": sum(r.outcome == "set" for r in results),
                                             "rejected": sum(r.outcome == "rejected" for r in results)})
    return results


def prices_context(request: Request) -> CampusContext:
    return CampusContext(id=request.app.state.auth.campus_id or "", code="")


async def _perform(request: Request, case: Any, *args: Any) -> Any:
    return await perform(request.app.state.auth.store, prices_context(request), actor_of(request), case, *args)


PriceItemOut = row_model(tables.price_items, "PriceItem")
ProductOut = row_model(tables.products, "Product")
PromoOut = row_model(tables.promo_codes, "PromoCode")


class PriceListOut(Output):
    items: list[PriceItemOut]  # type: ignore[valid-type]
    products: list[ProductOut]  # type: ignore[valid-type]
    promo_codes: list[PromoOut]  # type: ignore[valid-type]
    maintained_here: bool  # False at a campus whose price list headquarters keeps


class PriceRowOut(Output):
    row: int
    outcome: Literal["set", "rejected"]
    field: str | None
    reason: str | None


class PriceImportOut(Output):
    results: list[PriceRowOut]
    set: int
    rejected: int


def register_price_list_api(api: Api) -> None:
    @api.route("/price-list", "GET", "Unit prices, products and promo codes", "prices.read", tags=["prices"],
               response=PriceListOut)
    async def show(request: Request) -> Response:
        listing = await query(request.app.state.auth.store, price_list)
        return json_response({**listing, "maintained_here": request.app.state.manages_price_list})

    @api.route("/price-list/items", "POST", "Set the unit price of a grade × subject × level × delivery",
               "prices.manage", body=PriceIn, tags=["prices"], response=PriceItemOut)
    @performs(change_price)
    async def set_item(request: Request) -> Response:
        price_in = await parse_body(request, PriceIn)
        _owned_here(request)
        item = await _perform(request, change_price, set_price, price_in.model_dump())
        return json_response(item, 201)

    @api.route("/price-list/products", "POST", "Create or change a product (course package)", "prices.manage",
               body=ProductIn, tags=["prices"], response=ProductOut)
    @performs(change_price)
    async def set_package(request: Request) -> Response:
        product_in = await parse_body(request, ProductIn)
        _owned_here(request)
        item = await _perform(request, change_price, set_product, product_in.model_dump())
        return json_response(item, 201)

    @api.route("/price-list/promo-codes", "POST", "Create or change a promo code", "prices.manage", body=PromoIn,
               tags=["prices"], response=PromoOut)
    @performs(change_price)
    async def set_code(request: Request) -> Response:
        promo_in = await parse_body(request, PromoIn)
        _owned_here(request)
        item = await _perform(request, change_price, set_promo, promo_in.model_dump())
        return json_response(item, 201)

    @api.route("/price-list/import", "POST", "Set prices from an uploaded .xlsx or .csv (multipart field 'file'; "
               "columns 年级, 科目, 层级, 授课方式, 课时单价)", "prices.manage", tags=["prices"],
               response=PriceImportOut)
    @performs(import_prices)
    async def import_file(request: Request) -> Response:
        _owned_here(request)
        upload = await uploaded_file(request)
        results = await _perform(request, import_prices, upload)
        return json_response({"results": [vars(r) for r in results],
                              "set": sum(r.outcome == "set" for r in results),
                              "rejected": sum(r.outcome == "rejected" for r in results)}, 201)


async def price_list_page(request: Request) -> Response:
    """The price list; where it is maintained, a form to set one price, one to add a product and an import."""
    results = None
    if request.method == "POST":
        form = await request.form(max_files=1, max_fields=20)
        check_csrf(request, form)
        try:
            _owned_here(request)
            request.state.principal.require("prices.manage", request.app.state.auth.campus_id)
            upload = form.get("file")
            if isinstance(upload, UploadFile) and upload.filename:
                results = await _perform(request, import_prices, upload)
            else:
                await _perform(request, change_price, set_price, {
                    "grade": str(form.get("grade", "")), "subject": str(form.get("subject", "")),
                    "level": str(form.get("level", "")), "delivery": str(form.get("delivery", "")),
                    "unit_price_fen": _yuan_to_fen(str(form.get("unit_price", "")))})
                flash(request, _("Price saved."))
                return RedirectResponse("/price-list", status_code=303)
        except DomainError as exc:
            flash(request, exc.detail, "error")
            if results is None:
                return RedirectResponse("/price-list", status_code=303)
    return await _page(request, results=results)


async def _page(request: Request, results: Any = None, product_values: dict[str, str] | None = None,
                product_errors: dict[str, str] | None = None, status: int = 200) -> Response:
    listing = await query(request.app.state.auth.store, price_list)
    return render(TEMPLATES, request, "price_list.html", {
        "app_title": request.app.state.title, "listing": listing, "results": results,
        "maintained_here": request.app.state.manages_price_list,
        **products.form_context(listing, product_values, product_errors)}, status)


async def product_page(request: Request) -> Response:
    """The products form: a product made (or changed, by its code) through ``change_price``; a
    refusal naming a field is shown beside it with what was typed (422), any other is flashed."""
    form = await request.form(max_files=0, max_fields=20)
    check_csrf(request, form)
    values = {name: str(form.get(name, "")).strip() for name in products.FIELDS}
    try:
        _owned_here(request)
        given = form_model(form, ProductIn)
        made = await _perform(request, change_price, set_product, given.model_dump())
    except DomainError as exc:
        errors = products.errors_of(exc)
        if errors is None:
            flash(request, _(exc.detail), "error")
            return RedirectResponse("/price-list", status_code=303)
        return await _page(request, product_values=values, product_errors=errors, status=422)
    flash(request, _("Product %(code)s saved") % {"code": made["code"]}, "success")
    return RedirectResponse("/price-list#products", status_code=303)


def _yuan_to_fen(text: str) -> int:
    try:
        return Money.parse(text).fen
    except ValueError as exc:
        raise Invalid("unit_price", f"{text!r}: {exc}") from None


def price_list_routes() -> list[Route]:
    page = performs(change_price, import_prices)(price_list_page)
    return [Route("/price-list", guard("prices.read", page, screen=True), methods=["GET", "POST"]),
            Route("/price-list/products", guard("prices.manage", performs(change_price)(product_page), screen=True),
                  methods=["POST"])]
