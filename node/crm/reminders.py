"""A user's reminders: follow-ups due, birthdays coming, own leads about to return to the pool."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from campus.node.crm.moves import CrmSettings, last_activity
from campus.node.crm.pools import Pool
from campus.schema.tables import conflicts, lead_follow_ups, leads

BIRTHDAY_WINDOW_DAYS = 7
RETURN_WARNING_DAYS = 2


def reminders_for(conn: Connection, user_id: str, campus_id: str, now: datetime,
                  settings: CrmSettings) -> list[dict[str, Any]]:
    today = settings.local_date(now)
    mine = conn.execute(select(leads).where(leads.c.campus_id == campus_id, leads.c.consultant_id == user_id,
                                            leads.c.deleted.is_(False))).mappings().all()
    found: list[dict[str, Any]] = []
    for lead in mine:
        base = {"lead_id": lead["id"], "number": lead["number"], "name": lead["name"]}
        due = conn.execute(select(func.max(lead_follow_ups.c.next_follow_up_on)).where(
            lead_follow_ups.c.lead_id == lead["id"])).scalar()
        if due and due <= today.isoformat() and lead["pool"] not in (Pool.SIGNED, Pool.INVALID):
            found.append({**base, "kind": "follow_up_due", "on": due})
        if lead["birthday"]:
            month_day = lead["birthday"][5:]
            for ahead in range(BIRTHDAY_WINDOW_DAYS + 1):
                day = today + timedelta(days=ahead)
                if day.strftime("%m-%d") == month_day:
                    found.append({**base, "kind": "birthday", "on": day.isoformat()})
                    break
        if lead["pool"] == Pool.PRIVATE:
            since = last_activity(conn, lead["id"])
            if since is not None:
                returns_on = settings.local_date(since) + timedelta(days=settings.private_pool_days)
                if (returns_on - today).days <= RETURN_WARNING_DAYS:
                    found.append({**base, "kind": "about_to_return", "on": returns_on.isoformat()})
    lost_claims = conn.execute(select(conflicts.c.row_id, conflicts.c.detected_at, leads.c.number, leads.c.name)
                               .join(leads, leads.c.id == conflicts.c.row_id).where(
        conflicts.c.kind == "double_claim", conflicts.c.resolved_at.is_(None),
        conflicts.c.lost_value == json.dumps(user_id)))
    for lead_id, detected_at, number, name in lost_claims:
        found.append({"lead_id": lead_id, "number": number, "name": name, "kind": "claim_lost",
                      "on": detected_at[:10]})
    return sorted(found, key=lambda r: (r["on"], r["kind"], r["number"]))
