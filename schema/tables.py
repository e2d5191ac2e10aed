"""Every table of Campus in one ``MetaData``; each declares its replication policy.

Conventions: ids are UUIDv7 strings; money columns end in ``_fen`` and lesson-hour columns
in ``_hours_x100`` (integers only); dates are ISO-8601 text (``2026-11-24``) and instants
are HLC integers or ISO-8601 UTC text; LWW tables carry a ``deleted`` tombstone.
Tables whose ``info["sync"]`` is ``None`` stay on the store that wrote them.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from campus.sync.policy import HUB_OWNED, LAST_WRITER_WINS, campus_owned

# Bumped with every migration; every change carries the version it was written under.
SCHEMA_VERSION = 1

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = 36  # UUIDv7 text


def _id() -> Column:
    return Column("id", String(ID), primary_key=True)


def _tombstone() -> Column:
    return Column("deleted", Boolean, nullable=False, default=False, server_default="0")


# --- local bookkeeping (never replicated) -------------------------------------------------

change_log = Table(
    "change_log",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("hlc", BigInteger, nullable=False),
    Column("table_name", String(64), nullable=False),
    Column("row_id", String(ID), nullable=False),
    Column("body", LargeBinary, nullable=False),  # canonical msgpack of the change
    Column("hash", LargeBinary(32), nullable=False),
    info={"sync": None},
)

local_state = Table(
    "local_state",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("int_value", BigInteger),
    Column("blob_value", LargeBinary),
    info={"sync": None},
)

number_counters = Table(
    "number_counters",
    metadata,
    Column("campus_code", String(12), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("last_value", Integer, nullable=False),
    info={"sync": None},
)

# --- hub-owned directory ----------------------------------------------------------------

campuses = Table(
    "campuses",
    metadata,
    _id(),
    Column("code", String(12), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("created_at", String(32), nullable=False),
    _tombstone(),
    info={"sync": HUB_OWNED},
)

users = Table(
    "users",
    metadata,
    _id(),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(100), nullable=False),
    Column("password_hash", Text),
    Column("locale", String(16)),
    Column("active", Boolean, nullable=False, default=True, server_default="1"),
    Column("created_at", String(32), nullable=False),
    _tombstone(),
    info={"sync": HUB_OWNED},
)

# --- CRM ----------------------------------------------------------------------------------

leads = Table(
    "leads",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("number", String(32), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("phone", String(20), nullable=False),
    Column("channel", String(32)),
    Column("campaign_id", String(ID)),
    Column("consultant_id", String(ID)),
    Column("pool", String(16), nullable=False, default="lead", server_default="lead"),
    Column("birthday", String(10)),
    Column("notes", Text),
    Column("created_at", String(32), nullable=False),
    _tombstone(),
    Index("ix_leads_phone", "phone"),
    Index("ix_leads_campus_pool", "campus_id", "pool"),
    # A lead at another campus may be claimed or edited offline; conflicts are found after merge.
    info={"sync": LAST_WRITER_WINS},
)

# --- students -----------------------------------------------------------------------------

students = Table(
    "students",
    metadata,
    _id(),
    Column("home_campus_id", String(ID), nullable=False),
    Column("number", String(32), nullable=False),
    Column("name", String(100), nullable=False),
    Column("phone", String(20)),
    Column("status", String(16), nullable=False, default="pending", server_default="pending"),
    Column("lead_id", String(ID)),
    Column("birthday", String(10)),
    Column("created_at", String(32), nullable=False),
    _tombstone(),
    UniqueConstraint("number"),
    # The home campus owns the record (DOMAIN.md §2).
    info={"sync": campus_owned(column="home_campus_id")},
)
