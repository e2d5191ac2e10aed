"""Moving leads between pools: who may, the daily claim limit, round-robin, automatic return.

The state machine itself is :mod:`campus.node.crm.pools`; this module applies it to stored
leads and records each move in the lead's append-only history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, func, insert, select, update

from campus.node.crm.leads import get_lead
from campus.node.crm.pools import MANAGER_MOVES, Move, Pool, plan_move
from campus.schema.errors import Conflict, Invalid, NotFound
from campus.schema.permissions import PermissionDenied, Principal, Role
from campus.schema.tables import lead_follow_ups, lead_history, leads, local_state, role_grants, users
from campus.sync.capture import UnitOfWork

ROUND_ROBIN_KEY = "round_robin_last"


@dataclass(frozen=True)
class CrmSettings:
    private_pool_days: int = 7
    daily_claim_limit: int = 20
    timezone: str = "Asia/Shanghai"

    def local_date(self, moment: datetime) -> Any:
        return moment.astimezone(ZoneInfo(self.timezone)).date()


class ClaimLimitReached(Conflict):
    """A consultant may claim at most ``daily_claim_limit`` leads a day."""


def _iso(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("UTC")).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def claims_today(conn: Connection, user_id: str, now: datetime, settings: CrmSettings) -> int:
    zone = ZoneInfo(settings.timezone)
    start = datetime.combine(settings.local_date(now), datetime.min.time(), zone)
    return conn.execute(select(func.count()).select_from(lead_history).where(
        lead_history.c.kind == Move.CLAIM.value, lead_history.c.by_user_id == user_id,
        lead_history.c.at >= _iso(start), lead_history.c.at < _iso(start + timedelta(days=1)))).scalar_one()


def active_consultants(conn: Connection, campus_id: str) -> list[str]:
    """User ids holding the consultant role at this campus (or everywhere), by username."""
    rows = conn.execute(select(users.c.id).join(role_grants, role_grants.c.user_id == users.c.id).where(
        role_grants.c.role == Role.CONSULTANT.value, role_grants.c.deleted.is_(False),
        (role_grants.c.campus_id == campus_id) | role_grants.c.campus_id.is_(None),
        users.c.active.is_(True), users.c.deleted.is_(False)).order_by(users.c.username).distinct())
    return list(rows.scalars())


def next_round_robin(conn: Connection, campus_id: str) -> str:
    """The consultant after the one who got the last automatic assignment."""
    consultants = active_consultants(conn, campus_id)
    if not consultants:
        raise Conflict("no active consultant at this campus to assign to")
    last = conn.execute(select(local_state.c.blob_value).where(local_state.c.key == ROUND_ROBIN_KEY)).scalar()
    last_id = last.decode() if last else None
    position = consultants.index(last_id) + 1 if last_id in consultants else 0
    return consultants[position % len(consultants)]


def _remember_round_robin(conn: Connection, user_id: str) -> None:
    done = conn.execute(update(local_state).where(local_state.c.key == ROUND_ROBIN_KEY)
                        .values(blob_value=user_id.encode())).rowcount
    if not done:
        conn.execute(insert(local_state).values(key=ROUND_ROBIN_KEY, blob_value=user_id.encode()))


def move_lead(uow: UnitOfWork, lead_id: str, move: Move, actor: Principal | None, campus_id: str,
              now: datetime, settings: CrmSettings, reason: str | None = None,
              consultant_id: str | None = None) -> dict[str, Any]:
    """Apply one pool move for ``actor`` (None: the system, for automatic return)."""
    lead = get_lead(uow.conn, lead_id, actor, campus_id) if actor else get_lead(uow.conn, lead_id)
    if actor is not None:
        is_manager = actor.can("leads.manage", campus_id)
        if move in MANAGER_MOVES and not is_manager:
            raise PermissionDenied(f"only a manager may {move.value} a lead", action="leads.manage")
        if lead["pool"] != Pool.LEAD and lead["consultant_id"] not in (None, actor.user_id) and not is_manager:
            raise PermissionDenied("this lead belongs to another consultant", action="leads.manage")
    plan = plan_move(Pool(lead["pool"]), move, reason)
    values: dict[str, Any] = {"pool": plan.to_pool.value}
    if move is Move.CLAIM:
        assert actor is not None
        if claims_today(uow.conn, actor.user_id, now, settings) >= settings.daily_claim_limit:
            raise ClaimLimitReached(f"{actor.username} has claimed {settings.daily_claim_limit} leads today",
                                    limit=settings.daily_claim_limit)
        values["consultant_id"] = actor.user_id
    elif move is Move.ASSIGN:
        target = consultant_id or next_round_robin(uow.conn, campus_id)
        if target not in active_consultants(uow.conn, campus_id):
            raise Invalid("consultant_id", "assign to an active consultant of this campus")
        if consultant_id is None:
            _remember_round_robin(uow.conn, target)
        values["consultant_id"] = target
    elif plan.to_pool is Pool.LEAD:
        values["consultant_id"] = None
    uow.update("leads", lead_id, values)
    uow.insert("lead_history", {
        "lead_id": lead_id, "at": _iso(now), "kind": move.value, "by_user_id": actor.user_id if actor else None,
        "from_pool": plan.from_pool.value, "to_pool": plan.to_pool.value, "reason": plan.reason,
        "detail": json.dumps({"consultant_id": values.get("consultant_id", lead["consultant_id"])}),
        "hlc": uow.timestamp()})
    return get_lead(uow.conn, lead_id)


def last_activity(conn: Connection, lead_id: str) -> datetime | None:
    """When the lead last entered the private pool or was followed up, whichever is later."""
    entered = conn.execute(select(func.max(lead_history.c.at)).where(
        lead_history.c.lead_id == lead_id, lead_history.c.to_pool == Pool.PRIVATE.value)).scalar()
    followed = conn.execute(select(func.max(lead_follow_ups.c.at)).where(
        lead_follow_ups.c.lead_id == lead_id)).scalar()
    moments = [_parse(m) for m in (entered, followed) if m]
    return max(moments) if moments else None


def due_for_auto_return(conn: Connection, campus_id: str, now: datetime, settings: CrmSettings) -> list[str]:
    """Private leads with no follow-up for ``private_pool_days`` campus days (day 6 stays, day 7 returns)."""
    today = settings.local_date(now)
    due = []
    private = conn.execute(select(leads.c.id).where(and_(
        leads.c.campus_id == campus_id, leads.c.pool == Pool.PRIVATE.value, leads.c.deleted.is_(False))))
    for lead_id in private.scalars():
        since = last_activity(conn, lead_id)
        if since is None or (today - settings.local_date(since)).days >= settings.private_pool_days:
            due.append(lead_id)
    return due


def auto_return(store: Any, campus_id: str, now: datetime, settings: CrmSettings) -> int:
    """Return every due private lead to the shared pool; returns how many moved."""
    with store.unit_of_work() as uow:
        due = due_for_auto_return(uow.conn, campus_id, now, settings)
        for lead_id in due:
            move_lead(uow, lead_id, Move.AUTO_RETURN, None, campus_id, now, settings,
                      reason=f"no follow-up for {settings.private_pool_days} days")
    return len(due)


def lead_history_of(conn: Connection, lead_id: str) -> list[dict[str, Any]]:
    if conn.execute(select(leads.c.id).where(leads.c.id == lead_id)).first() is None:
        raise NotFound(f"no lead {lead_id}", lead_id=lead_id)
    return [dict(r) for r in conn.execute(select(lead_history).where(lead_history.c.lead_id == lead_id)
                                          .order_by(lead_history.c.at, lead_history.c.id)).mappings()]
