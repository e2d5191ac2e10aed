"""The price list: unit prices per lesson hour, products (course packages) and promo codes.

Headquarters maintains it at the hub (API, screen, .xlsx import) and it replicates to every
campus; a campus never enrolled with a hub maintains its own with the same functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from campus.schema.errors import Invalid, NotFound
from campus.schema.prepaid import RULES
from campus.schema.pricing import Delivery, Promo
from campus.schema.quantities import Money
from campus.schema.tables import contracts, price_items, products, promo_codes
from campus.schema.times import utc_now_text
from campus.sync.capture import UnitOfWork
from campus.web.spreadsheets import cell_text

DELIVERY_NAMES = {"一对一": Delivery.ONE_ON_ONE, "1对1": Delivery.ONE_ON_ONE, "1v1": Delivery.ONE_ON_ONE,
                  "小班": Delivery.SMALL_CLASS, "大班": Delivery.LARGE_CLASS, "网课": Delivery.ONLINE,
                  "线上": Delivery.ONLINE, "在线": Delivery.ONLINE, **{d.value: d for d in Delivery}}
IMPORT_HEADERS = {
    "grade": {"年级", "grade"},
    "subject": {"科目", "学科", "subject"},
    "level": {"层级", "班型", "级别", "level"},
    "delivery": {"授课方式", "上课方式", "delivery"},
    "unit_price": {"课时单价", "单价", "课时单价(元)", "单价(元)", "unit price", "unit_price"},
}


class UnknownPrice(NotFound):
    """No price for this grade, subject, level and delivery."""


class UnknownProduct(NotFound):
    pass


def delivery_of(text: str) -> Delivery:
    delivery = DELIVERY_NAMES.get(text.strip().lower()) or DELIVERY_NAMES.get(text.strip())
    if delivery is None:
        raise Invalid("delivery", f"{text!r} is not a delivery type ({', '.join(d.value for d in Delivery)})")
    return delivery


def set_price(uow: UnitOfWork, grade: str, subject: str, level: str, delivery: str, unit_price_fen: int,
              active: bool = True) -> dict[str, Any]:
    """Set the unit price of one grade × subject × level × delivery (made if new)."""
    if type(unit_price_fen) is not int or unit_price_fen <= 0:
        raise Invalid("unit_price_fen", "must be a positive whole number of fen")
    key = {"grade": grade.strip(), "subject": subject.strip(), "level": level.strip(),
           "delivery": delivery_of(delivery).value}
    for name, value in key.items():
        if not value:
            raise Invalid(name, "must not be empty")
    existing = uow.conn.execute(select(price_items.c.id).where(
        *(price_items.c[name] == value for name, value in key.items()))).scalar()
    values = {"unit_price_fen": unit_price_fen, "active": active, "deleted": False, "updated_at": utc_now_text()}
    if existing:
        uow.update("price_items", existing, values)
        item_id = existing
    else:
        item_id = uow.insert("price_items", {**key, **values})
    return price_item(uow.conn, item_id)


def price_item(conn: Connection, item_id: str) -> dict[str, Any]:
    row = conn.execute(select(price_items).where(price_items.c.id == item_id)).mappings().first()
    if row is None:
        raise UnknownPrice(f"no price item {item_id}", price_item_id=item_id)
    return dict(row)


def find_price(conn: Connection, grade: str, subject: str, level: str, delivery: str) -> dict[str, Any]:
    row = conn.execute(select(price_items).where(
        price_items.c.grade == grade, price_items.c.subject == subject, price_items.c.level == level,
        price_items.c.delivery == delivery, price_items.c.active.is_(True), price_items.c.deleted.is_(False),
    )).mappings().first()
    if row is None:
        raise UnknownPrice(f"the price list has no active price for {grade} {subject} {level} {delivery}",
                           grade=grade, subject=subject, level=level, delivery=delivery)
    return dict(row)


def set_product(uow: UnitOfWork, code: str, name: str, price_item_id: str, hours_x100: int,
                gift_hours_x100: int = 0, validity_days: int = 365, active: bool = True,
                prepaid_rule: str = "off") -> dict[str, Any]:
    """A course package: so many hours (and gift hours) of one price-list item, valid so many days."""
    price_item(uow.conn, price_item_id)
    if type(hours_x100) is not int or hours_x100 <= 0:
        raise Invalid("hours_x100", "must be a positive whole number of hundredths")
    if type(gift_hours_x100) is not int or gift_hours_x100 < 0:
        raise Invalid("gift_hours_x100", "must be a whole number of hundredths, not negative")
    if type(validity_days) is not int or not 1 <= validity_days <= 3660:
        raise Invalid("validity_days", "must be from 1 to 3660 days")
    if prepaid_rule not in RULES:
        raise Invalid("prepaid_rule", f"one of {', '.join(RULES)}")
    values = {"name": name, "price_item_id": price_item_id, "hours_x100": hours_x100,
              "gift_hours_x100": gift_hours_x100, "validity_days": validity_days, "prepaid_rule": prepaid_rule, "active": active,
              "deleted": False, "updated_at": utc_now_text()}
    existing = uow.conn.execute(select(products.c.id).where(products.c.code == code)).scalar()
    if existing:
        uow.update("products", existing, values)
        product_id = existing
    else:
        product_id = uow.insert("products", {"code": code, **values})
    return product(uow.conn, product_id)


def product(conn: Connection, product_id: str) -> dict[str, Any]:
    row = conn.execute(select(products).where(products.c.id == product_id, products.c.deleted.is_(False))
                       ).mappings().first()
    if row is None:
        raise UnknownProduct(f"no product {product_id}", product_id=product_id)
    return dict(row)


def set_promo(uow: UnitOfWork, code: str, kind: str, amount_fen: int = 0, percent_bp: int = 0,
              valid_from: str | None = None, valid_until: str | None = None, max_uses: int | None = None,
              min_subtotal_fen: int = 0, active: bool = True) -> dict[str, Any]:
    if kind == "amount" and (type(amount_fen) is not int or amount_fen <= 0):
        raise Invalid("amount_fen", "an amount code needs a positive amount in fen")
    if kind == "percent" and (type(percent_bp) is not int or not 0 < percent_bp <= 10_000):
        raise Invalid("percent_bp", "a percent code needs 1 to 10000 basis points")
    if kind not in ("amount", "percent"):
        raise Invalid("kind", "must be amount or percent")
    if valid_from and valid_until and valid_until < valid_from:
        raise Invalid("valid_until", "ends before it starts")
    values = {"kind": kind, "amount_fen": amount_fen if kind == "amount" else 0,
              "percent_bp": percent_bp if kind == "percent" else 0, "valid_from": valid_from,
              "valid_until": valid_until, "max_uses": max_uses, "min_subtotal_fen": min_subtotal_fen,
              "active": active, "deleted": False, "updated_at": utc_now_text()}
    existing = uow.conn.execute(select(promo_codes.c.id).where(promo_codes.c.code == code)).scalar()
    if existing:
        uow.update("promo_codes", existing, values)
        return {"id": existing, "code": code, **values}
    return {"id": uow.insert("promo_codes", {"code": code, **values}), "code": code, **values}


def promo(conn: Connection, code: str) -> tuple[Promo, int]:
    """The promo code and how many contracts this store knows that used it."""
    row = conn.execute(select(promo_codes).where(promo_codes.c.code == code, promo_codes.c.deleted.is_(False))
                       ).mappings().first()
    if row is None:
        raise Invalid("promo_code", f"unknown promo code {code}")
    uses = conn.execute(select(func.count()).select_from(contracts).where(
        contracts.c.promo_code == code, contracts.c.deleted.is_(False))).scalar_one()
    return Promo.from_row(row), uses


def price_list(conn: Connection) -> dict[str, list[dict[str, Any]]]:
    live = price_items.c.deleted.is_(False)
    return {
        "items": [dict(r) for r in conn.execute(select(price_items).where(live).order_by(
            price_items.c.grade, price_items.c.subject, price_items.c.level, price_items.c.delivery)).mappings()],
        "products": [dict(r) for r in conn.execute(select(products).where(products.c.deleted.is_(False))
                                                    .order_by(products.c.code)).mappings()],
        "promo_codes": [dict(r) for r in conn.execute(select(promo_codes).where(promo_codes.c.deleted.is_(False))
                                                       .order_by(promo_codes.c.code)).mappings()],
    }


@dataclass(frozen=True)
class PriceRowResult:
    row: int
    outcome: str  # set | rejected
    field: str | None = None
    reason: str | None = None


def import_price_rows(uow: UnitOfWork, rows: Iterable[tuple[int, dict[str, Any]]]) -> list[PriceRowResult]:
    """Set a price from each spreadsheet row (price in yuan, e.g. 180 or 180.50); each row on its own."""
    results = []
    for number, values in rows:
        try:
            with uow.savepoint():
                text = {k: cell_text(values.get(k)).strip() for k in IMPORT_HEADERS}
                try:
                    fen = Money.parse(text["unit_price"]).fen
                except ValueError as exc:
                    raise Invalid("unit_price", f"{text['unit_price']!r}: {exc}") from None
                set_price(uow, text["grade"], text["subject"], text["level"], text["delivery"], fen)
            results.append(PriceRowResult(number, "set"))
        except Invalid as exc:
            results.append(PriceRowResult(number, "rejected", exc.facts.get("field"), exc.detail))
    return results
