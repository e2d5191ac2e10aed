"""The products (课时包) part of the price-list screen: the listing in labels and the form that
creates or changes one product through the same use case as ``POST /api/v1/price-list/products``.

The form is read into the API's own :class:`ProductIn` (hours typed in hours, "20" or "1.5"); a
refusal is shown beside the field it names, in the screen's language, and the typed values stay.
"""

from __future__ import annotations

from typing import Any

from campus.schema.errors import DomainError, Invalid
from campus.schema.prepaid import RULES
from campus.schema.pricing import list_price
from campus.schema.quantities import Money
from campus.web.i18n import gettext_ as _

# The form's fields, in order (the model's hours_x100 is typed as "hours", gift_hours_x100 as "gift_hours").
FIELDS = ("code", "name", "price_item_id", "hours", "gift_hours", "validity_days", "prepaid_rule")
DEFAULTS = {"validity_days": "365", "prepaid_rule": "off"}
# What each field accepts, said as a person would (shown beside the field when it is refused).
RULE_OF_FIELD = {
    "code": "Code: 1 to 32 characters, e.g. MATH8-20",
    "name": "Name of the product: 1 to 100 characters",
    "price_item_id": "Price item: choose a price from the price list",
    "hours": "Hours: more than 0 and at most 10000, e.g. 20 or 1.5",
    "gift_hours": "Gift hours: 0 to 10000, e.g. 2 or 0.5",
    "validity_days": "Valid for (days): a whole number from 1 to 3660",
    "prepaid_rule": "Prepaid-fee rule: choose one of the list",
}
PREPAID_LABELS = {"off": "Not covered (adult or vocational)", "warn": "Covered: warn when a contract breaks it",
                  "block": "Covered: refuse a contract that breaks it"}


def form_field(model_field: str) -> str:
    """The form's name for a field of ``ProductIn`` (``hours_x100`` is typed as ``hours``)."""
    base = model_field.split(".", 1)[0]
    return base.removesuffix("_x100")


def errors_of(exc: DomainError) -> dict[str, str] | None:
    """``{form field: what it accepts}`` for a refusal that names one of the form's fields (an
    unknown price item is one); None for any other refusal."""
    if isinstance(exc, Invalid):
        field = form_field(exc.field)
    elif "price_item_id" in exc.facts:
        field = "price_item_id"
    else:
        return None
    return {field: _(RULE_OF_FIELD[field])} if field in RULE_OF_FIELD else None


def item_label(item: dict[str, Any] | None) -> str:
    """A price item as the screen names it: 初二 · 数学 · 提高 · 小班."""
    if item is None:
        return "—"
    return " · ".join([item["grade"], item["subject"], item["level"], _(item["delivery"])])


def listing_rows(listing: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Each product with its price item named, its list price (hours × unit price) and its
    prepaid-fee rule as a label, never the stored code."""
    items = {i["id"]: i for i in listing["items"]}
    rows = []
    for product in listing["products"]:
        item = items.get(product["price_item_id"])
        rows.append({**product, "item_label": item_label(item),
                     "list_price_fen": list_price(product["hours_x100"], item["unit_price_fen"]) if item else None,
                     "prepaid_label": _(PREPAID_LABELS.get(product["prepaid_rule"], product["prepaid_rule"]))})
    return rows


def form_context(listing: dict[str, list[dict[str, Any]]], values: dict[str, str] | None = None,
                 errors: dict[str, str] | None = None) -> dict[str, Any]:
    """What the template needs for the products table and the form."""
    return {
        "products": listing_rows(listing),
        "item_choices": [(i["id"], f"{item_label(i)} · {Money(i['unit_price_fen'])}") for i in listing["items"]
                         if i["active"]],
        "prepaid_choices": [(rule, _(PREPAID_LABELS[rule])) for rule in RULES],
        "product_values": {**DEFAULTS, **(values or {})},
        "product_errors": errors or {},
    }
