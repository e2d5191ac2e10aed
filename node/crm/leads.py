"""Lead use cases. The pool state machine, import and assignment arrive with the CRM issue."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Connection, func, select, true

from campus.schema.errors import Conflict, Invalid, NotFound
from campus.schema.numbers import next_number
from campus.schema.permissions import Principal, mask_phone
from campus.schema.phones import InvalidPhone, normalise_phone
from campus.schema.search import search_page
from campus.schema.tables import leads
from campus.schema.times import utc_now_text
from campus.sync.capture import UnitOfWork


class DuplicatePhone(Conflict):
    """The institution already has a lead with this phone number."""


class LeadNotFound(NotFound):
    pass


@dataclass(frozen=True)
class Campus:
    id: str
    code: str


class CampusRef(Protocol):
    """What the domain functions read of a campus: a :class:`Campus`, or a use case's context."""

    @property
    def id(self) -> str: ...

    @property
    def code(self) -> str: ...


class Channel(StrEnum):
    """Where a lead came from; a channel typed that is none of these is kept as typed."""

    DOUYIN = "douyin"
    BAIDU = "baidu"
    REFERRAL = "referral"
    WALK_IN = "walk-in"
    EVENT = "event"
    XIAOHONGSHU = "xiaohongshu"
    WECHAT = "wechat"


CHANNEL_LABELS = {Channel.DOUYIN: "Douyin", Channel.BAIDU: "Baidu", Channel.REFERRAL: "Referral",
                  Channel.WALK_IN: "Walk-in", Channel.EVENT: "Event", Channel.XIAOHONGSHU: "Xiaohongshu",
                  Channel.WECHAT: "WeChat"}
CHANNELS = {"抖音": Channel.DOUYIN, "百度": Channel.BAIDU, "转介绍": Channel.REFERRAL, "介绍": Channel.REFERRAL,
            "到访": Channel.WALK_IN, "上门": Channel.WALK_IN, "地推": Channel.EVENT, "活动": Channel.EVENT,
            "小红书": Channel.XIAOHONGSHU, "微信": Channel.WECHAT}


class FollowUpChannel(StrEnum):
    CALL = "call"
    WECHAT = "wechat"
    VISIT = "visit"


FOLLOW_UP_LABELS = {FollowUpChannel.CALL: "Call", FollowUpChannel.WECHAT: "WeChat", FollowUpChannel.VISIT: "Visit"}


def normalise_channel(channel: str | None) -> str | None:
    """Known channel names (抖音, 百度, 转介绍...) become their codes; anything else is kept as typed."""
    if channel is None:
        return None
    typed = channel.strip()
    return CHANNELS[typed].value if typed in CHANNELS else typed


def find_lead_by_phone(conn: Connection, phone: str) -> dict[str, Any] | None:
    """The institution's lead with this normalised phone, if any (the dedupe key)."""
    row = conn.execute(select(leads).where(leads.c.phone == phone, leads.c.deleted.is_(False))).mappings().first()
    return dict(row) if row else None


def insert_lead(uow: UnitOfWork, campus: CampusRef, **fields: Any) -> dict[str, Any]:
    """Write a new lead in the lead pool; ``fields`` are already checked and normalised."""
    row = {
        "campus_id": campus.id,
        "number": next_number(uow.conn, campus.code, "lead"),
        "pool": "lead",
        "created_at": utc_now_text(),
        "deleted": False,
        **fields,
    }
    row_id = uow.insert("leads", row)
    return {"id": row_id, **row}


def create_lead(
    uow: UnitOfWork, campus: CampusRef, name: str, phone: str, channel: str | None = None, notes: str | None = None
) -> dict[str, Any]:
    try:
        normalised = normalise_phone(phone)
    except InvalidPhone as exc:
        raise Invalid("phone", str(exc)) from None
    existing = find_lead_by_phone(uow.conn, normalised)
    if existing:
        raise DuplicatePhone(f"lead {existing['number']} already has phone {normalised}",
                             lead_id=existing["id"], number=existing["number"])
    return insert_lead(uow, campus, name=name, phone=normalised, channel=normalise_channel(channel), notes=notes)


EDITABLE_FIELDS = ("name", "phone", "channel", "notes", "birthday")


def edit_lead(uow: UnitOfWork, lead_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Change descriptive fields; each field replicates on its own (last writer wins per field)."""
    get_lead(uow.conn, lead_id)
    values = {k: v for k, v in changes.items() if k in EDITABLE_FIELDS}
    if "phone" in values:
        try:
            values["phone"] = normalise_phone(values["phone"])
        except InvalidPhone as exc:
            raise Invalid("phone", str(exc)) from None
        clash = uow.conn.execute(select(leads.c.id, leads.c.number).where(
            leads.c.phone == values["phone"], leads.c.id != lead_id, leads.c.deleted.is_(False))).first()
        if clash:
            raise DuplicatePhone(f"lead {clash.number} already has phone {values['phone']}",
                                 lead_id=clash.id, number=clash.number)
    uow.update("leads", lead_id, values)
    return get_lead(uow.conn, lead_id)


FOLLOW_UP_CHANNELS = tuple(c.value for c in FollowUpChannel)


def add_follow_up(uow: UnitOfWork, lead_id: str, channel: str, content: str,
                  next_follow_up_on: str | None = None, at: str | None = None) -> dict[str, Any]:
    """Record a follow-up (跟进记录): a fact, never edited afterwards."""
    get_lead(uow.conn, lead_id)
    if channel not in FOLLOW_UP_CHANNELS:
        raise Invalid("channel", f"channel must be one of {', '.join(FOLLOW_UP_CHANNELS)}")
    now = utc_now_text()
    row = {"lead_id": lead_id, "at": at or now, "channel": channel, "content": content,
           "next_follow_up_on": next_follow_up_on, "created_at": now}
    return {"id": uow.insert("lead_follow_ups", row), **row}


def get_lead(conn: Connection, lead_id: str, viewer: Principal | None = None,
             campus_id: str | None = None) -> dict[str, Any]:
    """One lead; with a viewer, as that viewer may see it (another's private lead is not found)."""
    query = select(leads).where(leads.c.id == lead_id)
    if viewer is not None and campus_id is not None:
        query = query.where(visible_leads(viewer, campus_id))
    row = conn.execute(query).mappings().first()
    if row is None:
        raise LeadNotFound(f"no lead {lead_id}", lead_id=lead_id)
    return present_lead(dict(row), viewer, campus_id) if viewer is not None and campus_id else dict(row)


def visible_leads(viewer: Principal, campus_id: str) -> ColumnElement[bool]:
    """Consultants see the shared pools and their own private pool, not colleagues' private pools."""
    if viewer.can("leads.all_private.read", campus_id):
        return true()
    return (leads.c.pool != "private") | (leads.c.consultant_id == viewer.user_id)


def present_lead(row: dict[str, Any], viewer: Principal, campus_id: str) -> dict[str, Any]:
    """A lead as this viewer may see it: the phone masked for roles without the right to it."""
    if viewer.can("leads.phone.read", campus_id):
        return row
    return {**row, "phone": mask_phone(row["phone"])}


LEAD_SORTS = {"created": leads.c.created_at, "number": leads.c.number, "name": leads.c.name,
              "channel": leads.c.channel, "pool": leads.c.pool}


def list_leads(conn: Connection, campus_id: str, limit: int, offset: int, viewer: Principal,
               pool: str | None = None, consultant_id: str | None = None,
               query: str | None = None, sort: str = "created", descending: bool = True,
               channel: str | None = None) -> tuple[int, list[dict[str, Any]]]:
    """This campus's leads the viewer may see, optionally by pool, consultant, channel, or a
    name/phone/number search, in the order of one of ``LEAD_SORTS``."""
    where = (leads.c.campus_id == campus_id) & leads.c.deleted.is_(False) & visible_leads(viewer, campus_id)
    if pool:
        where &= leads.c.pool == pool
    if consultant_id:
        where &= leads.c.consultant_id == consultant_id
    if channel:
        where &= leads.c.channel == channel
    column = LEAD_SORTS.get(sort, leads.c.created_at)
    total, rows = search_page(conn, leads, where, query, limit, offset,
                              order=[column.desc() if descending else column.asc()])
    return total, [present_lead(row, viewer, campus_id) for row in rows]


def pool_counts(conn: Connection, campus_id: str, viewer: Principal) -> dict[str, int]:
    where = (leads.c.campus_id == campus_id) & leads.c.deleted.is_(False) & visible_leads(viewer, campus_id)
    return dict(conn.execute(select(leads.c.pool, func.count()).where(where).group_by(leads.c.pool)).all())
