"""Paid refunds as facts for the books (the posting rule is ``post_refund`` in posting.py):
Dr 2204 for what the refund settles, Cr the fund account for the money paid back, Cr 6051 for
the handling fee and the materials the school keeps."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, or_, select

from campus.schema.books.facts import Fact, Refund
from campus.schema.books.projection import FACT_READERS
from campus.schema.tables import refunds


def read_refunds(conn: Connection, campus_id: str | None, timezone: str) -> list[Fact]:
    """Every paid refund that posts at ``campus_id`` (the contract's campus, or the campus that paid)."""
    zone = ZoneInfo(timezone)
    query = select(refunds).where(refunds.c.status == "paid", refunds.c.deleted.is_(False))
    if campus_id is not None:
        query = query.where(or_(refunds.c.campus_id == campus_id, refunds.c.contract_campus_id == campus_id))
    facts: list[Fact] = []
    for row in conn.execute(query).mappings():
        paid_at = row["paid_at"]
        local = datetime.fromisoformat(paid_at.replace("Z", "+00:00")).astimezone(zone).date().isoformat()
        facts.append(Refund(id=row["id"], at=paid_at, date=local, campus_id=row["campus_id"],
                            contract_id=row["contract_id"], contract_campus_id=row["contract_campus_id"],
                            amount_fen=row["amount_fen"], fee_fen=row["fee_fen"] + row["materials_fen"],
                            fund_account=row["fund_account"], reference=row["number"]))
    return facts


FACT_READERS.append(read_refunds)
