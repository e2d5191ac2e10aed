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

from campus.sync.policy import (
    APPEND_ONLY,
    HUB_OWNED,
    LAST_WRITER_WINS,
    Merge,
    Owner,
    SyncPolicy,
    Visits,
    campus_owned,
)

# Bumped with every migration; every change carries the version it was written under.
SCHEMA_VERSION = 28

metadata = MetaData(
    # A student is active at home and at every campus named as the study campus of one of their lines.
    info={"visits": Visits("contract_lines", "student_id", "study_campus_id", "students", "home_campus_id")},
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


def _counter() -> BigInteger:
    """A 64-bit sequence number; INTEGER on SQLite, so that a primary key is the rowid."""
    return BigInteger().with_variant(Integer, "sqlite")


def _tombstone() -> Column:
    return Column("deleted", Boolean, nullable=False, default=False, server_default="0")


# --- local bookkeeping (never replicated) -------------------------------------------------

change_log = Table(
    "change_log",
    metadata,
    Column("seq", _counter(), primary_key=True, autoincrement=False),
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

field_versions = Table(
    "field_versions",
    metadata,
    Column("table_name", String(64), primary_key=True),
    Column("row_id", String(ID), primary_key=True),
    Column("field", String(64), primary_key=True),
    Column("hlc", BigInteger, nullable=False),
    Column("node_id", String(ID), nullable=False),
    # Set only while the row itself has not arrived (an edit merged before its insert).
    Column("pending_value", LargeBinary),
    info={"sync": None},
)

# --- hub only: directory of nodes, their logs, and the feed nodes pull from --------------

node_keys = Table(
    "node_keys",
    metadata,
    Column("public_key", LargeBinary(32), primary_key=True),
    Column("node_id", String(ID), nullable=False, index=True),
    Column("campus_id", String(ID), nullable=False),
    Column("status", String(16), nullable=False),  # active | retired | revoked
    Column("created_at", String(32), nullable=False),
    Column("revoked_at", String(32)),
    info={"sync": None},
)

hub_nodes = Table(
    "hub_nodes",
    metadata,
    Column("node_id", String(ID), primary_key=True),
    Column("campus_id", String(ID), nullable=False, index=True),
    Column("head_seq", BigInteger, nullable=False, default=0),
    Column("head_hash", LargeBinary(32), nullable=False),
    Column("head_hlc", BigInteger, nullable=False, default=0),
    Column("quarantined", Boolean, nullable=False, default=False),
    Column("quarantine_reason", Text),
    Column("enrolled_at", String(32), nullable=False),
    Column("last_contact_at", String(32)),
    Column("last_push_at", String(32)),
    Column("last_error", Text),
    Column("pull_cursor", BigInteger, nullable=False, default=0),
    info={"sync": None},
)

enrollment_tokens = Table(
    "enrollment_tokens",
    metadata,
    Column("token_hash", LargeBinary(32), primary_key=True),
    Column("campus_id", String(ID), nullable=False),
    Column("purpose", String(16), nullable=False),  # enroll | restore
    Column("expires_at", String(32), nullable=False),
    Column("used_at", String(32)),
    Column("used_by_node", String(ID)),
    info={"sync": None},
)

# A node's pushes, kept as they arrived (for audit, fork checks and restore): one row per push,
# its links packed as msgpack ``[[seq, change, hash], ...]`` with the signature over the last link.
node_batches = Table(
    "node_batches",
    metadata,
    Column("node_id", String(ID), primary_key=True),
    Column("first_seq", _counter(), primary_key=True, autoincrement=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("last_hash", LargeBinary(32), nullable=False),
    Column("signed_from", BigInteger),  # the first seq the push signed (a re-sent push may start earlier)
    Column("signature", LargeBinary(64)),  # NULL for changes kept before batches were stored whole
    Column("links", LargeBinary, nullable=False),
    Column("received_at", String(32), nullable=False),
    Index("ix_node_batches_last", "node_id", "last_seq"),
    info={"sync": None},
)

# What nodes pull, in one order: segments of change bodies from one origin node for one scope
# (a campus, or NULL for every node), packed as msgpack ``[change, ...]``.
hub_feed = Table(
    "hub_feed",
    metadata,
    Column("feed_seq", _counter(), primary_key=True, autoincrement=True),
    Column("origin_node", String(ID), nullable=False),
    Column("first_origin_seq", BigInteger, nullable=False),
    Column("last_origin_seq", BigInteger, nullable=False),
    Column("campus_id", String(ID)),  # NULL: every node subscribes
    Column("count", Integer, nullable=False),
    Column("bodies", LargeBinary, nullable=False),
    Column("accepted_at_ms", BigInteger),  # when the hub took it in: the sync monitor's lag in seconds
    Index("ix_hub_feed_campus", "campus_id", "feed_seq"),
    info={"sync": None},
)

# Which feed segments carry rows about a student: the history a campus gets when the student
# starts to study there.
hub_feed_students = Table(
    "hub_feed_students",
    metadata,
    Column("student_id", String(ID), primary_key=True),
    Column("feed_seq", _counter(), primary_key=True, autoincrement=False),
    info={"sync": None},
)

# --- replicated sync records ----------------------------------------------------------------

conflicts = Table(
    "conflicts",
    metadata,
    _id(),
    Column("campus_id", String(ID)),
    Column("kind", String(32), nullable=False),
    Column("table_name", String(64), nullable=False),
    Column("row_id", String(ID), nullable=False),
    Column("field", String(64)),
    Column("kept_value", Text),  # JSON
    Column("lost_value", Text),  # JSON: what a person may restore
    Column("lost_node_id", String(ID)),
    Column("lost_hlc", BigInteger),
    Column("kept_node_id", String(ID)),
    Column("kept_hlc", BigInteger),
    Column("detail", Text, nullable=False),
    Column("detected_at", String(32), nullable=False),
    Column("resolved_at", String(32)),
    Column("resolved_by", String(ID)),
    Column("resolution", Text),
    _tombstone(),
    info={"sync": SyncPolicy(Merge.LAST_WRITER_WINS, Owner.ANY, "campus_id")},
)

sync_rejections = Table(
    "sync_rejections",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("node_id", String(ID), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("table_name", String(64), nullable=False),
    Column("row_id", String(ID), nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    info={"sync": SyncPolicy(Merge.APPEND_ONLY, Owner.HUB, "campus_id")},
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
    # When the password changed or a role was taken away: sessions and tokens issued before end.
    Column("credentials_changed_at", String(32)),
    _tombstone(),
    info={"sync": HUB_OWNED},
)

role_grants = Table(
    "role_grants",
    metadata,
    _id(),
    Column("user_id", String(ID), nullable=False, index=True),
    Column("role", String(32), nullable=False),
    Column("campus_id", String(ID)),  # NULL: every campus (headquarters roles)
    Column("granted_at", String(32), nullable=False),
    _tombstone(),  # revoking a role tombstones its grant
    info={"sync": HUB_OWNED},
)

# --- local to each store: sign-in state that must not travel ------------------------------

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_hash", LargeBinary(32), primary_key=True),
    Column("user_id", String(ID), nullable=False, index=True),
    Column("created_at", String(32), nullable=False),
    Column("expires_at", String(32), nullable=False),
    Column("revoked_at", String(32)),
    info={"sync": None},
)

login_attempts = Table(
    "login_attempts",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("failures", Integer, nullable=False, default=0),
    Column("locked_until", String(32)),
    info={"sync": None},
)

# --- audit trail ----------------------------------------------------------------------------

audit_events = Table(
    "audit_events",
    metadata,
    _id(),
    Column("campus_id", String(ID)),  # NULL: a headquarters action
    Column("at", String(32), nullable=False),
    Column("user_id", String(ID)),
    Column("username", String(64)),
    Column("client_ip", String(64)),
    Column("action", String(64), nullable=False),
    Column("target_table", String(64)),
    Column("target_id", String(ID)),
    Column("before", Text),  # JSON
    Column("after", Text),  # JSON
    Index("ix_audit_events_campus_at", "campus_id", "at"),
    # Written once, never changed; a campus's events go to the hub, headquarters' stay there.
    info={"sync": SyncPolicy(Merge.APPEND_ONLY, Owner.ANY, "campus_id", unscoped_rows_shared=False)},
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
    Index("ix_leads_campus_created", "campus_id", "created_at"),  # reports: leads of a span of days
    # A lead at another campus may be claimed or edited offline; conflicts are found after merge.
    # Who owns a lead is settled by the double-claim rule (the earlier claim wins), not by LWW.
    info={"sync": SyncPolicy(Merge.LAST_WRITER_WINS, quiet_fields=frozenset({"pool", "consultant_id"}))},
)

campaigns = Table(
    "campaigns",
    metadata,
    _id(),
    Column("campus_id", String(ID)),  # NULL: a campaign of the whole group
    Column("name", String(100), nullable=False),
    Column("channel", String(32)),
    Column("cost_fen", BigInteger, nullable=False, default=0, server_default="0"),
    Column("created_at", String(32), nullable=False),
    _tombstone(),
    Column("starts_on", String(10)),  # the period it runs (dates); its leads may come in later
    Column("ends_on", String(10)),
    info={"sync": LAST_WRITER_WINS},
)

lead_history = Table(
    "lead_history",
    metadata,
    _id(),
    Column("lead_id", String(ID), nullable=False, index=True),
    Column("at", String(32), nullable=False),
    Column("kind", String(16), nullable=False),  # pool_move | import_merge
    Column("by_user_id", String(ID)),
    Column("from_pool", String(16)),
    Column("to_pool", String(16)),
    Column("reason", Text),
    Column("detail", Text),  # JSON: the import row, channel and note of a merge
    Column("hlc", BigInteger),  # orders moves made on different nodes (the earlier claim wins)
    Index("ix_lead_history_at", "at"),  # reports: the moves of a span of days
    # Who moved a lead where, and why; what an import merged into it. Never edited.
    info={"sync": APPEND_ONLY},
)

lead_follow_ups = Table(
    "lead_follow_ups",
    metadata,
    _id(),
    Column("lead_id", String(ID), nullable=False, index=True),
    Column("at", String(32), nullable=False),
    Column("channel", String(16), nullable=False),  # call | wechat | visit
    Column("content", Text, nullable=False),
    Column("next_follow_up_on", String(10)),
    Column("by_user_id", String(ID)),
    Column("created_at", String(32), nullable=False),
    # A fact: corrected by a new follow-up, never edited. Goes wherever its lead goes.
    info={"sync": APPEND_ONLY},
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
    Column("email", String(200)),  # where e-mail notifications go (the portal lets a family set it)
    Column("status", String(16), nullable=False, default="pending", server_default="pending"),
    Column("lead_id", String(ID)),
    Column("birthday", String(10)),
    Column("grade", String(32)),
    Column("id_number", String(32)),  # 身份证号, for certificates of qualification programmes
    Column("partner_institution", String(100)),  # the partner school that issues the certificate
    Column("notes", Text),
    Column("created_at", String(32), nullable=False),
    _tombstone(),
    Column("locale", String(8)),  # the family's language (zh_CN | en): their messages and portal; NULL: the campus's
    UniqueConstraint("number"),
    # The home campus owns the record (DOMAIN.md §2); campuses where the student studies get it too.
    info={"sync": campus_owned(column="home_campus_id", student_column="id")},
)

guardians = Table(
    "guardians",
    metadata,
    _id(),
    Column("student_id", String(ID), nullable=False, index=True),
    Column("home_campus_id", String(ID), nullable=False),  # the student's, which owns it
    Column("name", String(100), nullable=False),
    Column("relation", String(32), nullable=False),  # mother | father | other...
    Column("phone", String(20), nullable=False),
    Column("email", String(200)),
    Column("created_at", String(32), nullable=False),
    _tombstone(),
    info={"sync": campus_owned(column="home_campus_id", student_column="student_id")},
)

# --- price list (headquarters' own; a node never enrolled with a hub keeps its own) --------

price_items = Table(
    "price_items",
    metadata,
    _id(),
    Column("grade", String(32), nullable=False),
    Column("subject", String(32), nullable=False),
    Column("level", String(32), nullable=False),
    Column("delivery", String(16), nullable=False),  # one_on_one | small_class | large_class | online
    Column("unit_price_fen", BigInteger, nullable=False),  # per lesson hour
    Column("active", Boolean, nullable=False, default=True, server_default="1"),
    Column("updated_at", String(32), nullable=False),
    _tombstone(),
    UniqueConstraint("grade", "subject", "level", "delivery"),
    info={"sync": HUB_OWNED},
)

products = Table(
    "products",
    metadata,
    _id(),
    Column("code", String(32), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("price_item_id", String(ID), nullable=False),
    Column("hours_x100", BigInteger, nullable=False),
    Column("gift_hours_x100", BigInteger, nullable=False, default=0, server_default="0"),
    Column("validity_days", Integer, nullable=False, default=365, server_default="365"),
    # Prepaid-fee rule for courses aimed at primary and secondary pupils (DOMAIN.md §3):
    # off (adult and vocational lines) | warn | block.
    Column("prepaid_rule", String(8), nullable=False, default="off", server_default="off"),
    Column("active", Boolean, nullable=False, default=True, server_default="1"),
    Column("updated_at", String(32), nullable=False),
    _tombstone(),
    info={"sync": HUB_OWNED},
)

promo_codes = Table(
    "promo_codes",
    metadata,
    _id(),
    Column("code", String(32), nullable=False, unique=True),
    Column("kind", String(8), nullable=False),  # amount | percent
    Column("amount_fen", BigInteger, nullable=False, default=0, server_default="0"),
    Column("percent_bp", Integer, nullable=False, default=0, server_default="0"),  # basis points off
    Column("min_subtotal_fen", BigInteger, nullable=False, default=0, server_default="0"),
    Column("valid_from", String(10)),
    Column("valid_until", String(10)),
    Column("max_uses", Integer),  # NULL: no limit
    Column("active", Boolean, nullable=False, default=True, server_default="1"),
    Column("updated_at", String(32), nullable=False),
    _tombstone(),
    info={"sync": HUB_OWNED},
)

# --- contracts, the asset account, payments ------------------------------------------------

contracts = Table(
    "contracts",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("number", String(32), nullable=False, unique=True),
    Column("student_id", String(ID), nullable=False, index=True),
    Column("kind", String(8), nullable=False),  # new | renewal
    Column("signed_at", String(32), nullable=False),
    Column("expires_on", String(10), nullable=False),  # moved only by an extension event
    Column("list_fen", BigInteger, nullable=False),
    Column("promo_code", String(32)),
    Column("promo_discount_fen", BigInteger, nullable=False, default=0, server_default="0"),
    Column("manual_discount_fen", BigInteger, nullable=False, default=0, server_default="0"),
    Column("amount_fen", BigInteger, nullable=False),  # as signed; changes add their due_delta_fen
    Column("consultant_id", String(ID)),
    Column("created_by", String(ID)),
    Column("created_at", String(32), nullable=False),
    _tombstone(),
    Index("ix_contracts_campus_signed", "campus_id", "signed_at"),  # reports: signings of a span of days
    info={"sync": campus_owned(student_column="student_id")},
)

contract_lines = Table(
    "contract_lines",
    metadata,
    _id(),
    Column("contract_id", String(ID), nullable=False, index=True),
    Column("campus_id", String(ID), nullable=False),  # the contract's campus
    Column("student_id", String(ID), nullable=False, index=True),
    Column("product_id", String(ID)),
    Column("price_item_id", String(ID)),
    Column("grade", String(32), nullable=False),
    Column("subject", String(32), nullable=False),
    Column("level", String(32), nullable=False),
    Column("delivery", String(16), nullable=False),
    Column("study_campus_id", String(ID), nullable=False),  # where the hours are meant to be used
    Column("unit_price_fen", BigInteger, nullable=False),
    Column("hours_x100", BigInteger, nullable=False),  # as signed (0 for a line made by an exchange)
    Column("gift_hours_x100", BigInteger, nullable=False, default=0, server_default="0"),
    Column("list_fen", BigInteger, nullable=False),
    Column("discount_fen", BigInteger, nullable=False, default=0, server_default="0"),
    Column("amount_fen", BigInteger, nullable=False),
    Column("from_line_id", String(ID)),  # a line opened by an exchange
    Column("created_at", String(32), nullable=False),
    # What was sold, as sold: later changes are events and ledger entries, never edits.
    # A line's study campus is where the student is active besides home (metadata.info["visits"]).
    info={"sync": campus_owned(Merge.APPEND_ONLY, student_column="student_id")},
)

contract_events = Table(
    "contract_events",
    metadata,
    _id(),
    Column("contract_id", String(ID), nullable=False, index=True),
    Column("campus_id", String(ID), nullable=False),
    Column("student_id", String(ID)),  # so the change reaches every campus where the student studies
    Column("line_id", String(ID)),
    Column("kind", String(16), nullable=False),  # expand | shrink | write_off | extend | exchange
    Column("hours_x100", BigInteger, nullable=False, default=0, server_default="0"),
    Column("due_delta_fen", BigInteger, nullable=False, default=0, server_default="0"),  # change to what is owed
    Column("detail", Text),  # JSON: the new expiry, the exchange's target line, prices used
    Column("reason", Text),
    Column("by_user_id", String(ID)),
    Column("at", String(32), nullable=False),
    info={"sync": campus_owned(Merge.APPEND_ONLY, student_column="student_id")},
)

asset_entries = Table(
    "asset_entries",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),  # the contract's campus
    Column("recorded_campus_id", String(ID), nullable=False),  # where the entry was made
    Column("student_id", String(ID), nullable=False, index=True),
    Column("contract_id", String(ID), nullable=False),
    Column("line_id", String(ID), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("hours_x100", BigInteger, nullable=False),  # signed
    Column("value_fen", BigInteger, nullable=False),  # signed
    Column("gift", Boolean, nullable=False, default=False, server_default="0"),
    Column("cause_table", String(32)),  # contract_lines | contract_events | lessons | refunds...
    Column("cause_id", String(ID)),
    Column("reverses_entry_id", String(ID)),
    Column("by_user_id", String(ID)),
    Column("at", String(32), nullable=False),
    # reports: 课消 of a span of days at the contract's campus, and what was taught at the teaching one
    Index("ix_asset_entries_campus_at", "campus_id", "at"),
    Index("ix_asset_entries_recorded_at", "recorded_campus_id", "at"),
    # The ledger: append-only, corrected by reversing entries. Another campus may post to it
    # (a lesson taken there), so any node may write; it travels with the contract's campus.
    info={"sync": SyncPolicy(Merge.APPEND_ONLY, Owner.ANY, "campus_id", student_column="student_id")},
)

payments = Table(
    "payments",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("receipt_number", String(32), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),  # deposit | payment | deposit_applied
    Column("student_id", String(ID), index=True),
    Column("lead_id", String(ID)),  # a deposit taken before the lead became a student
    Column("contract_id", String(ID), index=True),
    Column("amount_fen", BigInteger, nullable=False),
    Column("fund_account", String(16)),  # cash | wechat | alipay | bank | pos (none for deposit_applied)
    Column("source_payment_id", String(ID)),  # deposit_applied: the deposit it draws on
    Column("paid_at", String(32), nullable=False),
    Column("by_user_id", String(ID)),
    Column("note", Text),
    Column("created_at", String(32), nullable=False),
    Index("ix_payments_campus_paid", "campus_id", "paid_at"),  # reports: cash received in a span of days
    # Money received is a fact: never edited; a mistake is corrected by a reversing payment. It goes
    # to every campus where the student studies, so each shows the same arrears.
    info={"sync": campus_owned(Merge.APPEND_ONLY, student_column="student_id")},
)

# --- teaching: courses, classes, lessons, attendance ---------------------------------------

rooms = Table(
    "rooms",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("name", String(64), nullable=False),
    Column("capacity", Integer, nullable=False, default=0, server_default="0"),
    Column("created_at", String(32), nullable=False),
    _tombstone(),
    info={"sync": campus_owned()},
)

courses = Table(
    "courses",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("name", String(100), nullable=False),
    Column("price_item_id", String(ID)),  # which contract lines pay for it
    Column("grade", String(32)),
    Column("subject", String(32)),
    Column("level", String(32)),
    Column("delivery", String(16)),
    Column("lesson_hours_x100", BigInteger, nullable=False),  # deducted per lesson attended
    Column("created_at", String(32), nullable=False),
    _tombstone(),
    info={"sync": campus_owned()},
)

classes = Table(
    "classes",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("course_id", String(ID), nullable=False),
    Column("name", String(100), nullable=False),
    Column("category", String(16), nullable=False),  # regular | exam | self_study | online | one_on_one
    Column("teacher_id", String(ID)),
    Column("class_teacher_id", String(ID)),  # 班主任: the academic advisor who follows the students
    Column("room_id", String(ID)),
    Column("capacity", Integer),
    Column("created_at", String(32), nullable=False),
    _tombstone(),
    info={"sync": campus_owned()},
)

enrolments = Table(
    "enrolments",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),  # the class's campus
    Column("class_id", String(ID), nullable=False, index=True),
    Column("student_id", String(ID), nullable=False, index=True),
    Column("line_id", String(ID), nullable=False),  # the contract line its lessons are deducted from
    Column("joined_on", String(10), nullable=False),
    Column("left_on", String(10)),
    Column("status", String(16), nullable=False),  # active | transferred | left
    Column("transferred_to", String(ID)),  # the enrolment a class transfer opened
    Column("created_at", String(32), nullable=False),
    _tombstone(),
    info={"sync": campus_owned()},
)

schedules = Table(
    "schedules",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("class_id", String(ID), nullable=False),
    Column("rule", Text, nullable=False),  # JSON: weekdays, local start and end, first date, weeks
    Column("created_at", String(32), nullable=False),
    # How a run of lessons was made; the lessons themselves are the schedule.
    info={"sync": campus_owned(Merge.APPEND_ONLY)},
)

lessons = Table(
    "lessons",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("class_id", String(ID), index=True),
    Column("course_id", String(ID), nullable=False),
    Column("teacher_id", String(ID), nullable=False),
    Column("room_id", String(ID)),
    Column("starts_at", String(32), nullable=False),  # UTC, ISO-8601
    Column("ends_at", String(32), nullable=False),
    Column("hours_x100", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),  # regular | makeup | extra
    Column("makeup_for_lesson_id", String(ID)),
    Column("schedule_id", String(ID)),
    Column("status", String(16), nullable=False),  # scheduled | cancelled
    Column("created_at", String(32), nullable=False),
    _tombstone(),
    Index("ix_lessons_campus_starts", "campus_id", "starts_at"),
    info={"sync": campus_owned()},
)

lesson_students = Table(
    "lesson_students",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("lesson_id", String(ID), nullable=False, index=True),
    Column("student_id", String(ID), nullable=False, index=True),
    Column("enrolment_id", String(ID)),
    Column("line_id", String(ID), nullable=False),
    Column("created_at", String(32), nullable=False),
    _tombstone(),  # a student taken off a lesson (class transfer, leave moved to a make-up)
    info={"sync": campus_owned()},
)

leave_requests = Table(
    "leave_requests",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("lesson_id", String(ID), nullable=False, index=True),
    Column("student_id", String(ID), nullable=False),
    Column("reason", Text),
    Column("by_user_id", String(ID)),
    Column("created_at", String(32), nullable=False),
    info={"sync": campus_owned(Merge.APPEND_ONLY)},
)

class_transfers = Table(
    "class_transfers",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("student_id", String(ID), nullable=False, index=True),
    Column("from_enrolment_id", String(ID), nullable=False),
    Column("to_enrolment_id", String(ID), nullable=False),
    Column("on_date", String(10), nullable=False),
    Column("reason", Text),
    Column("by_user_id", String(ID)),
    Column("created_at", String(32), nullable=False),
    info={"sync": campus_owned(Merge.APPEND_ONLY)},
)

attendance_marks = Table(
    "attendance_marks",
    metadata,
    _id(),  # a kiosk mark keeps the id the kiosk gave it, so a re-sent mark is the same row
    Column("campus_id", String(ID), nullable=False),
    Column("lesson_id", String(ID), index=True),  # NULL: a check-in that matched no lesson
    Column("student_id", String(ID), nullable=False, index=True),
    Column("mark", String(16), nullable=False),  # present | late | leave | absent | forfeited | extra
    Column("source", String(8), nullable=False),  # kiosk | teacher | desk
    Column("device_id", String(ID)),
    Column("device_time", String(32)),
    Column("recorded_at", String(32), nullable=False),
    Column("hlc", BigInteger, nullable=False),  # the latest mark of a lesson and student counts
    Column("by_user_id", String(ID)),
    info={"sync": campus_owned(Merge.APPEND_ONLY)},
)

attendance_confirmations = Table(
    "attendance_confirmations",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),  # where the lesson was
    Column("lesson_id", String(ID), nullable=False, index=True),
    Column("student_id", String(ID), nullable=False),
    Column("line_id", String(ID), nullable=False),
    Column("mark", String(16), nullable=False),
    Column("hours_x100", BigInteger, nullable=False),  # deducted (0 for leave, or absence when not deducted)
    Column("entry_ids", Text, nullable=False),  # JSON: the ledger entries it posted
    Column("supersedes_id", String(ID)),  # a re-confirmation names the confirmation it replaces
    Column("reason", Text),
    Column("by_user_id", String(ID)),
    Column("confirmed_at", String(32), nullable=False),
    Column("hlc", BigInteger, nullable=False),
    info={"sync": campus_owned(Merge.APPEND_ONLY)},
)

# --- kiosks: devices of one node, never replicated ------------------------------------------

kiosk_devices = Table(
    "kiosk_devices",
    metadata,
    _id(),
    Column("name", String(64), nullable=False),
    Column("secret", String(64), nullable=False),  # HMAC key, shared with the device only
    Column("created_at", String(32), nullable=False),
    Column("revoked_at", String(32)),
    info={"sync": None},
)

# A reminder a user marked done (a follow-up due, a lead about to return...): it stays off their
# list. Kept on the node where they work; the reminder itself is computed from the facts.
reminder_dismissals = Table(
    "reminder_dismissals",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("user_id", String(ID), nullable=False),
    Column("reminder_key", String(120), nullable=False),  # kind:subject:date, as the list names it
    Column("done_at", String(32), nullable=False),
    UniqueConstraint("user_id", "reminder_key"),
    info={"sync": None},
)

kiosk_requests = Table(
    "kiosk_requests",
    metadata,
    Column("signature", String(64), primary_key=True),  # a request seen once is a replay the next time
    Column("device_id", String(ID), nullable=False),
    Column("received_at", String(32), nullable=False, index=True),
    info={"sync": None},
)

# --- attendance terminals speaking ZKTeco's PUSH protocol (campus.node.devices) --------------
# Registrations, command queues, what each terminal holds and its photos stay on the node that
# talks to it; PINs (who a number on the terminals is) and punches replicate like kiosk marks.

attendance_devices = Table(
    "attendance_devices",
    metadata,
    _id(),
    Column("serial", String(32), nullable=False, unique=True),  # SN=, as the terminal sends it
    Column("name", String(64), nullable=False),
    Column("status", String(10), nullable=False),  # pending | approved | revoked
    Column("charset", String(8), nullable=False),  # utf-8 | gb18030: how names go out to it
    Column("pinned_address", String(64)),  # when set, only requests from this address are accepted
    Column("push_version", String(16)),  # pushver= of its handshake; none for an old terminal
    Column("language", String(8)),
    Column("first_address", String(64)),
    Column("last_address", String(64)),
    Column("attlog_stamp", String(20), nullable=False, default="0", server_default="0"),
    Column("operlog_stamp", String(20), nullable=False, default="0", server_default="0"),
    Column("photo_stamp", String(20), nullable=False, default="0", server_default="0"),
    Column("info", Text),  # JSON: what it said about itself (options, INFO=)
    Column("malformed_lines", Integer, nullable=False, default=0, server_default="0"),
    Column("last_malformed", Text),
    Column("last_contact_at", String(32)),
    Column("created_at", String(32), nullable=False),
    Column("approved_at", String(32)),
    Column("revoked_at", String(32)),
    info={"sync": None},
)

device_commands = Table(
    "device_commands",
    metadata,
    Column("id", _counter(), primary_key=True, autoincrement=True),  # C:<id>:... on the wire
    Column("device_id", String(ID), nullable=False),
    Column("command", Text, nullable=False),
    Column("kind", String(16), nullable=False),  # user_update | user_delete | check | info | reboot | query
    Column("pin", String(24)),  # the person a user command is about
    Column("state", String(8), nullable=False),  # queued | sent | done | failed | retried | cancelled
    Column("queued_at", String(32), nullable=False),
    Column("queued_by", String(64)),
    Column("sent_at", String(32)),
    Column("sent_count", Integer, nullable=False, default=0, server_default="0"),
    Column("answered_at", String(32)),
    Column("return_code", Integer),  # Return= of devicecmd: 0 is success
    Column("result", Text),
    Index("ix_device_commands_device_id_state", "device_id", "state"),
    info={"sync": None},
)

device_users = Table(
    "device_users",
    metadata,
    Column("device_id", String(ID), primary_key=True),
    Column("pin", String(24), primary_key=True),
    Column("kind", String(8), nullable=False),  # student | staff | other (made on the terminal itself)
    Column("person_id", String(ID)),  # the student or user
    Column("name", String(100)),  # as last sent
    Column("state", String(10), nullable=False),  # queued | present | failed | deleting | deleted | reported
    Column("origin", String(6), nullable=False),  # node: the node put it there | device: enrolled on it
    Column("command_id", BigInteger),
    Column("reported_name", String(100)),  # as the terminal reported it (OPERLOG USER)
    Column("privilege", Integer),
    Column("fingerprints", Integer, nullable=False, default=0, server_default="0"),
    Column("faces", Integer, nullable=False, default=0, server_default="0"),
    Column("updated_at", String(32), nullable=False),
    info={"sync": None},
)

device_pins = Table(
    "device_pins",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("pin", Integer, nullable=False),  # the number the terminals know a person by; never reused
    Column("kind", String(8), nullable=False),  # student | staff
    Column("student_id", String(ID)),
    Column("user_id", String(ID)),
    Column("created_at", String(32), nullable=False),
    _tombstone(),  # a staff PIN taken away (a student keeps theirs)
    UniqueConstraint("campus_id", "pin"),
    Index("ix_device_pins_campus_student", "campus_id", "student_id"),
    Index("ix_device_pins_campus_user", "campus_id", "user_id"),
    info={"sync": campus_owned()},
)

device_punches = Table(
    "device_punches",
    metadata,
    _id(),  # made from (serial, PIN, time): the same punch sent again is the same row
    Column("campus_id", String(ID), nullable=False),
    Column("device_id", String(ID), nullable=False),
    Column("serial", String(32), nullable=False),
    Column("pin", String(24), nullable=False),
    Column("punched_at", String(32), nullable=False),  # UTC, from the terminal's campus-local time
    Column("local_time", String(19), nullable=False),  # as the terminal sent it
    Column("status", String(8)),  # 0 check-in, 1 check-out, 2 break out, 3 break in, 4/5 overtime in/out
    Column("verify", String(8)),  # 0 password, 1 fingerprint, 15 face, 4 card...
    Column("workcode", String(16)),
    Column("extra", Text),  # JSON: further fields (mask, temperature...)
    Column("kind", String(8), nullable=False),  # student | staff | stray (no one at this campus has the PIN)
    Column("student_id", String(ID)),
    Column("user_id", String(ID)),
    Column("mark_id", String(ID)),  # the attendance mark a student's check-in became
    Column("received_at", String(32), nullable=False),
    Index("ix_device_punches_campus_punched", "campus_id", "punched_at"),
    Index("ix_device_punches_device_punched", "device_id", "punched_at"),
    info={"sync": campus_owned(Merge.APPEND_ONLY)},
)

device_photos = Table(
    "device_photos",
    metadata,
    _id(),
    Column("device_id", String(ID), nullable=False),
    Column("pin", String(24)),
    Column("file_name", String(64), nullable=False),
    Column("taken_at", String(32)),
    Column("punch_id", String(ID), index=True),  # the punch it was taken with
    Column("content", LargeBinary, nullable=False),
    Column("received_at", String(32), nullable=False),
    UniqueConstraint("device_id", "file_name"),
    info={"sync": None},
)

# --- books: what the journal projects beyond the money and lesson facts above ----------------
# The journal itself is never stored at a node: it is derived from facts (schema/books), so node
# and hub compute the same entries. These tables hold the facts only the books know about.

book_closes = Table(
    "book_closes",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("period", String(7), nullable=False),  # YYYY-MM
    Column("facts", Text, nullable=False),  # JSON: the fact keys ("table:id") the close included
    Column("closed_at", String(32), nullable=False),
    Column("by_user_id", String(ID)),
    UniqueConstraint("campus_id", "period"),
    info={"sync": campus_owned(Merge.APPEND_ONLY)},
)

manual_entries = Table(
    "manual_entries",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("number", String(32), nullable=False, unique=True),  # BJ01-J-000001
    Column("entry_date", String(10), nullable=False),  # the campus-local date it is for
    Column("memo", Text, nullable=False),
    Column("lines", Text, nullable=False),  # JSON: [{"account", "debit_fen", "credit_fen"}], balanced
    Column("reverses_id", String(ID)),  # a correction reverses an earlier manual entry
    Column("by_user_id", String(ID)),
    Column("created_at", String(32), nullable=False),
    info={"sync": campus_owned(Merge.APPEND_ONLY)},
)

expenses = Table(
    "expenses",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("number", String(32), nullable=False, unique=True),  # BJ01-E-000001
    Column("category", String(16), nullable=False),  # rent | materials | marketing | utilities | other
    Column("account", String(16), nullable=False),  # the expense account it posts to (6601, 6602...)
    Column("amount_fen", BigInteger, nullable=False),
    Column("fund_account", String(16), nullable=False),  # paid from
    Column("incurred_on", String(10), nullable=False),
    Column("campaign_id", String(ID)),  # a marketing expense may name the campaign it paid for
    Column("description", Text, nullable=False),
    Column("status", String(12), nullable=False),  # submitted | approved | rejected
    Column("submitted_by", String(ID)),
    Column("decided_by", String(ID)),
    Column("decided_at", String(32)),
    Column("created_at", String(32), nullable=False),
    _tombstone(),
    info={"sync": campus_owned()},
)

invoices = Table(
    "invoices",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("number", String(32), nullable=False, unique=True),  # BJ01-I-000001 (F is taken by refunds)
    Column("kind", String(8), nullable=False),  # blue (an invoice) | red (冲红: cancels a blue one)
    Column("contract_id", String(ID), nullable=False, index=True),
    Column("student_id", String(ID)),
    Column("amount_fen", BigInteger, nullable=False),  # positive; a red invoice cancels its blue one's amount
    Column("red_of_id", String(ID)),
    Column("buyer_name", String(200), nullable=False),  # 抬头
    Column("buyer_tax_id", String(32)),
    Column("issued_at", String(32), nullable=False),
    Column("by_user_id", String(ID)),
    info={"sync": campus_owned(Merge.APPEND_ONLY, student_column="student_id")},
)

fund_releases = Table(
    "fund_releases",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("fund_account", String(16), nullable=False),  # the supervised account released from
    Column("amount_fen", BigInteger, nullable=False),
    Column("released_on", String(10), nullable=False),
    Column("note", Text),
    Column("by_user_id", String(ID)),
    Column("created_at", String(32), nullable=False),
    info={"sync": campus_owned(Merge.APPEND_ONLY)},
)

# Reconciliation: how a bank's, WeChat Pay's or Alipay's statement export names its columns
# (mapped once per format), and each imported line with the receipt it was matched to.
statement_formats = Table(
    "statement_formats",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("name", String(64), nullable=False),  # 工商银行流水, 微信支付账单...
    Column("fund_account", String(16), nullable=False),  # whose receipts its lines are matched to
    Column("date_column", String(64), nullable=False),
    Column("amount_column", String(64), nullable=False),
    Column("reference_column", String(64)),
    Column("counterparty_column", String(64)),
    Column("created_at", String(32), nullable=False),
    _tombstone(),
    info={"sync": campus_owned()},
)

statement_lines = Table(
    "statement_lines",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("format_id", String(ID), nullable=False),
    Column("fund_account", String(16), nullable=False),
    Column("source", String(200), nullable=False),  # the file it came from
    Column("row_number", Integer, nullable=False),
    Column("booked_on", String(10), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),  # money in positive, out negative
    Column("reference", String(200)),
    Column("counterparty", String(200)),
    Column("matched_payment_id", String(ID), index=True),  # the receipt it is, when matched
    Column("imported_at", String(32), nullable=False),
    Column("by_user_id", String(ID)),
    info={"sync": campus_owned(Merge.APPEND_ONLY)},
)

# How a campus's books are derived (campus.toml [books] and its time zone), as data: the hub
# derives the campus's journal under the same settings as its node, so both compute the same.
campus_book_settings = Table(
    "campus_book_settings",
    metadata,
    _id(),  # the campus id: one row per campus
    Column("campus_id", String(ID), nullable=False, unique=True),
    Column("timezone", String(64), nullable=False),
    Column("vat_rate_bp", Integer, nullable=False),
    Column("expiry", String(16), nullable=False),
    Column("inter_campus_share_bp", Integer, nullable=False),
    Column("updated_at", String(32), nullable=False),
    info={"sync": campus_owned()},
)

cash_counts = Table(
    "cash_counts",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("day", String(10), nullable=False),  # 日结: the campus-local day counted
    Column("fund_account", String(16), nullable=False),
    Column("counted_fen", BigInteger, nullable=False),
    Column("book_fen", BigInteger, nullable=False),  # what the books said at the count
    Column("difference_fen", BigInteger, nullable=False),  # counted - book
    Column("note", Text),
    Column("by_user_id", String(ID)),
    Column("counted_at", String(32), nullable=False),
    info={"sync": campus_owned(Merge.APPEND_ONLY)},
)

# --- refunds (退费) and the refund-risk warning (危单预警) ------------------------------------

# A policy is an ordered list of tiers (JSON, see campus.node.refunds.rules), kept by headquarters
# (or a standalone campus) and attached to a product, to a product line (a subject), or the default.
refund_policies = Table(
    "refund_policies",
    metadata,
    _id(),
    Column("code", String(32), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("product_id", String(ID)),  # this product's policy
    Column("subject", String(32)),  # or the policy of a product line
    Column("is_default", Boolean, nullable=False, default=False, server_default="0"),
    Column("tiers", Text, nullable=False),  # JSON: the ordered tiers
    Column("active", Boolean, nullable=False, default=True, server_default="1"),
    Column("updated_at", String(32), nullable=False),
    _tombstone(),
    info={"sync": HUB_OWNED},
)

# A refund, from request to payout; each step is also an audit event. The campus that requests
# it approves and pays it (a student's home or study campus); lines, policy and the calculation
# are kept as they were when it was requested, so the form printed later shows what was decided.
refunds = Table(
    "refunds",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),  # the campus that requested and pays it
    Column("number", String(32), nullable=False, unique=True),  # BJ01-F-000001
    Column("contract_id", String(ID), nullable=False, index=True),
    Column("contract_campus_id", String(ID), nullable=False),
    Column("student_id", String(ID), nullable=False, index=True),
    Column("consultant_id", String(ID)),  # whose commission the payout claws back
    Column("lines", Text, nullable=False),  # JSON: [{"line_id", "hours_x100", "gift_hours_x100", "value_fen"}]
    Column("policy_id", String(ID)),
    Column("calculation", Text, nullable=False),  # JSON: the labelled steps and the tier applied
    Column("refundable_fen", BigInteger, nullable=False),  # as calculated
    Column("amount_fen", BigInteger, nullable=False),  # paid back
    Column("fee_fen", BigInteger, nullable=False),  # kept: handling fee under the policy (6051)
    Column("materials_fen", BigInteger, nullable=False, default=0, server_default="0"),  # kept: materials
    Column("value_fen", BigInteger, nullable=False),  # ledger value of the hours the refund takes off
    Column("kind", String(8), nullable=False),  # full | partial
    Column("stage", String(12), nullable=False),  # new | continuing (the contract's kind)
    Column("reason_category", String(8), nullable=False),  # school | customer | other (校方/客户/其他)
    Column("reason", String(64), nullable=False),  # the sub-reason
    Column("notes", Text),  # retention-visit notes (挽单回访)
    Column("status", String(10), nullable=False),  # requested | approved | rejected | paid
    Column("requested_by", String(ID)),
    Column("requested_at", String(32), nullable=False),
    Column("decided_by", String(ID)),
    Column("decided_at", String(32)),
    Column("decision_reason", Text),
    Column("due_on", String(10)),  # payout deadline: working days after approval
    Column("fund_account", String(16)),  # paid into (the original channel by default)
    Column("paid_by", String(ID)),
    Column("paid_at", String(32)),
    Column("updated_at", String(32), nullable=False),
    _tombstone(),
    info={"sync": campus_owned(student_column="student_id")},
)

# A student whose refund-risk score crossed the threshold: raised once, not again while the
# score stays above; cleared when it falls below, so a later rise raises a new one.
risk_alerts = Table(
    "risk_alerts",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("student_id", String(ID), nullable=False, index=True),
    Column("score", Integer, nullable=False),
    Column("threshold", Integer, nullable=False),
    Column("factors", Text, nullable=False),  # JSON: each factor's figure and contribution
    Column("notified", Text),  # JSON: the user ids reminded (consultant, academic advisor)
    Column("raised_on", String(10), nullable=False),  # campus-local date
    Column("raised_at", String(32), nullable=False),
    Column("cleared_at", String(32)),
    Column("updated_at", String(32), nullable=False),
    _tombstone(),
    info={"sync": campus_owned(student_column="student_id")},
)

# --- payroll (issue 17): staff records, commission plans as data, monthly runs and payslips --------

# A user's position at a campus: what payroll pays them there. A teacher teaching at two campuses
# has a record at each (lesson fees follow the campus where the lesson was taught). The bank
# account is shown masked except to finance.
staff_records = Table(
    "staff_records",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("user_id", String(ID), nullable=False),
    Column("position", String(20), nullable=False),  # consultant | academic_advisor | teacher | front_desk | manager
    Column("level", String(16)),  # a teacher's star level, as the lesson-fee plan names it
    Column("base_salary_fen", BigInteger, nullable=False, default=0, server_default="0"),  # a full month's
    Column("start_on", String(10), nullable=False),
    Column("end_on", String(10)),  # the last day worked
    Column("bank_name", String(100)),
    Column("bank_account", String(64)),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    _tombstone(),
    Index("ix_staff_records_campus_user", "campus_id", "user_id"),
    info={"sync": campus_owned()},
)

# A pay plan for one position, effective from a date (JSON rules, validated by
# campus.web.payroll.plans): kept by headquarters, or by a campus that runs without a hub. A plan
# naming a campus applies there instead of the group's plan for the position.
commission_plans = Table(
    "commission_plans",
    metadata,
    _id(),
    Column("code", String(32), nullable=False),
    Column("name", String(100), nullable=False),
    Column("position", String(20), nullable=False),  # consultant | academic_advisor | teacher
    Column("for_campus_id", String(ID)),  # NULL: every campus
    Column("effective_from", String(10), nullable=False),
    Column("rules", Text, nullable=False),  # JSON: rates in basis points, money in fen, hours in hundredths
    Column("active", Boolean, nullable=False, default=True, server_default="1"),
    Column("updated_at", String(32), nullable=False),
    _tombstone(),
    UniqueConstraint("code", "effective_from"),
    info={"sync": HUB_OWNED},
)

# One campus's payroll for one month: draft → review → approved → paid. The totals per expense
# account are frozen at approval; approval and payment are what the books post (schema.books.payroll).
payroll_runs = Table(
    "payroll_runs",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("period", String(7), nullable=False),  # YYYY-MM
    Column("status", String(10), nullable=False),  # draft | review | approved | paid
    Column("total_fen", BigInteger, nullable=False),  # the sum of its payslips, and so of every line
    Column("lesson_fees_fen", BigInteger, nullable=False),  # 6401: lesson fees, add-ons, class bonuses
    Column("commissions_fen", BigInteger, nullable=False),  # 6601: commissions less clawbacks
    Column("other_pay_fen", BigInteger, nullable=False),  # 6602: base pay and adjustments
    Column("facts_digest", String(64), nullable=False),  # SHA-256 of the facts the draft was computed from
    Column("computed_at", String(32), nullable=False),
    Column("created_by", String(ID)),
    Column("submitted_by", String(ID)),
    Column("submitted_at", String(32)),
    Column("approved_by", String(ID)),
    Column("approved_at", String(32)),
    Column("paid_by", String(ID)),
    Column("paid_at", String(32)),
    Column("fund_account", String(16)),  # paid from
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    _tombstone(),
    UniqueConstraint("campus_id", "period"),
    info={"sync": campus_owned()},
)

# One employee's pay in a run, with every line and the fact it came from (JSON
# ``[{"category", "label", "amount_fen", "source_table", "source_id", "source_period", "late", "detail"}]``).
payslips = Table(
    "payslips",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("run_id", String(ID), nullable=False, index=True),
    Column("period", String(7), nullable=False),
    Column("user_id", String(ID), nullable=False, index=True),
    Column("positions", String(100), nullable=False),  # comma-separated, as the staff records name them
    Column("base_fen", BigInteger, nullable=False),
    Column("commission_fen", BigInteger, nullable=False),
    Column("lesson_fee_fen", BigInteger, nullable=False),
    Column("bonus_fen", BigInteger, nullable=False),
    Column("clawback_fen", BigInteger, nullable=False),  # negative: taken back this month (carried included)
    Column("adjustment_fen", BigInteger, nullable=False),
    Column("carry_out_fen", BigInteger, nullable=False),  # clawback beyond this month's pay, taken next month
    Column("total_fen", BigInteger, nullable=False),  # never negative
    Column("lines", Text, nullable=False),
    Column("updated_at", String(32), nullable=False),
    _tombstone(),
    info={"sync": campus_owned()},
)

# A manual adjustment of one employee's pay in a draft run; a reason is required. Corrected by a
# further adjustment, never edited.
payroll_adjustments = Table(
    "payroll_adjustments",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("run_id", String(ID), nullable=False, index=True),
    Column("user_id", String(ID), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),  # signed, never zero
    Column("reason", Text, nullable=False),
    Column("by_user_id", String(ID)),
    Column("created_at", String(32), nullable=False),
    info={"sync": campus_owned(Merge.APPEND_ONLY)},
)

# --- the hub's books (issue 15): hub only, never replicated; on a node these stay empty ----------
# The journal lines the hub derived per campus from the merged facts (schema.books.projection),
# kept so that group statements and the roll-ups never re-derive them; and the roll-ups
# themselves, maintained by the delta of every recompute in the same transaction.

hub_journal_lines = Table(
    "hub_journal_lines",
    metadata,
    Column("entry_id", String(ID), primary_key=True),
    Column("line_no", Integer, primary_key=True, autoincrement=False),
    Column("campus_id", String(ID), nullable=False),
    Column("period", String(7), nullable=False),  # YYYY-MM the entry posts in
    Column("entry_date", String(10), nullable=False),
    Column("account", String(24), nullable=False),
    Column("debit_fen", BigInteger, nullable=False),
    Column("credit_fen", BigInteger, nullable=False),
    Column("counterpart_campus_id", String(ID)),  # the other campus of an inter-campus entry
    Column("contract_id", String(ID)),
    Column("rule", String(40), nullable=False),
    Column("memo", Text, nullable=False),
    Column("source_table", String(40), nullable=False),
    Column("source_id", String(ID), nullable=False),
    Column("origin_period", String(7)),  # a prior-period adjustment: the month its fact belongs to
    Index("ix_hub_journal_lines_campus_period", "campus_id", "period"),
    info={"sync": None},
)

# campus × month × account: what the group statements read.
hub_book_rollups = Table(
    "hub_book_rollups",
    metadata,
    Column("campus_id", String(ID), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("account", String(24), primary_key=True),
    Column("debit_fen", BigInteger, nullable=False),
    Column("credit_fen", BigInteger, nullable=False),
    # campus × account balances (trial balance, balance sheet) read off this alone, in its order
    Index("ix_hub_book_rollups_balances", "campus_id", "account", "period", "debit_fen", "credit_fen"),
    info={"sync": None},
)

# The lines consolidation eliminates (内部往来 1221.*, and the settlement's 6001/6401 between
# campuses), rolled up the same way, per counterpart campus.
hub_book_eliminations = Table(
    "hub_book_eliminations",
    metadata,
    Column("campus_id", String(ID), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("account", String(24), primary_key=True),
    Column("counterpart_campus_id", String(ID), primary_key=True),
    Column("debit_fen", BigInteger, nullable=False),
    Column("credit_fen", BigInteger, nullable=False),
    Index("ix_hub_book_eliminations_balances", "campus_id", "account", "period", "debit_fen", "credit_fen"),
    info={"sync": None},
)

# How far into each node's log the books have been brought up to date.
hub_books_marks = Table(
    "hub_books_marks",
    metadata,
    Column("node_id", String(ID), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    info={"sync": None},
)


# --- reports (issue 18): KPI targets, and the hub's report roll-ups ----------------------------

# A month's target for a campus (user_id NULL) or one person there, on one metric (signed_fen,
# renewal_fen, cash_fen, consumed_fen, new_leads, signings), set by a campus manager at the node or
# by headquarters at the hub. The id is made from (campus, month, person, metric), so the same
# target set on both sides is one row, the later edit winning.
kpi_targets = Table(
    "kpi_targets",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("period", String(7), nullable=False),  # YYYY-MM
    Column("user_id", String(ID)),  # NULL: the campus's own target
    Column("metric", String(24), nullable=False),
    Column("target", BigInteger, nullable=False),  # fen, a count, or hours in hundredths, as the metric says
    Column("set_by", String(ID)),
    Column("updated_at", String(32), nullable=False),
    _tombstone(),
    Index("ix_kpi_targets_campus_period", "campus_id", "period"),
    info={"sync": SyncPolicy(Merge.LAST_WRITER_WINS, Owner.ANY, "campus_id")},
)

# campus × day (YYYY-MM-DD) or month (YYYY-MM) × metric × dimension (a channel, a person, an hour...):
# the additive figures the group reports read (campus.schema.report_facts), kept in step with the
# merged facts by campus.hub.report_rollups; a month's rows are the sum of its days'.
hub_report_rollups = Table(
    "hub_report_rollups",
    metadata,
    Column("campus_id", String(ID), primary_key=True),
    Column("period", String(10), primary_key=True),
    Column("metric", String(24), primary_key=True),
    Column("dim", String(120), primary_key=True),
    Column("value", BigInteger, nullable=False),
    # a group report reads one metric over a span of periods for every campus, off the index alone
    Index("ix_hub_report_rollups_metric", "metric", "period", "campus_id", "dim", "value"),
    info={"sync": None},
)

# How far into each node's log the report roll-ups have been brought up to date.
hub_report_marks = Table(
    "hub_report_marks",
    metadata,
    Column("node_id", String(ID), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    info={"sync": None},
)


# --- the service desk and families (issue 21): tickets, ratings, surveys, the notification outbox,
# the family portal and the knowledge base -----------------------------------------------------

# A question, complaint or request (问题单) about a student or a lead, handled by the campus that
# opened it; its thread (replies, internal notes, status moves) is append-only in ticket_events.
tickets = Table(
    "tickets",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("number", String(32), nullable=False, unique=True),  # BJ01-T-000001
    Column("student_id", String(ID), index=True),
    Column("lead_id", String(ID), index=True),
    Column("category", String(16), nullable=False),  # question | complaint | request
    Column("priority", String(8), nullable=False),  # low | normal | high | urgent
    Column("subject", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("source", String(8), nullable=False),  # staff | phone | portal
    Column("status", String(12), nullable=False),  # open | in_progress | resolved | closed | reopened
    Column("assignee_id", String(ID)),
    Column("opened_by", String(ID)),  # the staff user; NULL when a family opened it in the portal
    Column("contact_phone", String(20)),  # who is answered (the family who wrote, or the lead)
    Column("respond_by", String(32), nullable=False),  # UTC: the category's response deadline
    Column("responded_at", String(32)),  # the first reply the family sees
    Column("resolved_at", String(32)),
    Column("closed_at", String(32)),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    _tombstone(),
    Column("awaiting_staff_since", String(32)),  # UTC: the family wrote last (the portal); NULL once staff reply
    Index("ix_tickets_campus_status", "campus_id", "status"),
    info={"sync": campus_owned(student_column="student_id")},
)

ticket_events = Table(
    "ticket_events",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),  # the ticket's
    Column("ticket_id", String(ID), nullable=False, index=True),
    Column("student_id", String(ID)),
    Column("kind", String(8), nullable=False),  # reply | note (internal) | status | assign
    Column("body", Text),
    Column("from_status", String(12)),
    Column("to_status", String(12)),
    Column("assignee_id", String(ID)),
    Column("by_user_id", String(ID)),
    Column("by_family", Boolean, nullable=False, default=False, server_default="0"),
    Column("created_at", String(32), nullable=False),
    info={"sync": campus_owned(Merge.APPEND_ONLY, student_column="student_id")},
)

# A family's rating of one lesson (1–5 and a comment): one per student and lesson (the id is made
# from both), kept by the campus where the lesson was.
lesson_ratings = Table(
    "lesson_ratings",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("lesson_id", String(ID), nullable=False, index=True),
    Column("student_id", String(ID), nullable=False, index=True),
    Column("class_id", String(ID)),
    Column("teacher_id", String(ID)),
    Column("rating", Integer, nullable=False),
    Column("comment", Text),
    Column("created_at", String(32), nullable=False),
    info={"sync": campus_owned(Merge.APPEND_ONLY, student_column="student_id")},
)

surveys = Table(
    "surveys",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("title", String(200), nullable=False),
    Column("questions", Text, nullable=False),  # JSON: [{"id", "kind", "text", "options"}]
    Column("status", String(8), nullable=False),  # draft | open | closed
    Column("for_families", Boolean, nullable=False, default=True, server_default="1"),  # shown in the portal
    Column("created_by", String(ID)),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    _tombstone(),
    # JSON {"scope": "campus" | "classes" | "students", "ids": [...]}: whose families see it; NULL: the campus's
    Column("target", Text),
    Column("version", Integer, nullable=False, default=1, server_default="1"),
    Column("replaces_id", String(ID)),  # the version before, closed when this one was written
    info={"sync": campus_owned()},
)

survey_responses = Table(
    "survey_responses",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("survey_id", String(ID), nullable=False, index=True),
    Column("student_id", String(ID), nullable=False, index=True),
    Column("class_id", String(ID)),  # the class and teacher it is about, for the averages
    Column("teacher_id", String(ID)),
    Column("answers", Text, nullable=False),  # JSON: {question id: answer}
    Column("rating_x100", Integer),  # the mean of its 1–5 answers in hundredths; NULL without one
    Column("lowest_rating", Integer),
    Column("source", String(8), nullable=False),  # call | portal
    Column("by_user_id", String(ID)),
    Column("created_at", String(32), nullable=False),
    info={"sync": campus_owned(Merge.APPEND_ONLY, student_column="student_id")},
)

# A campus's own wording of a message (kind × channel × locale); the defaults live in the code
# (campus.node.notify.templates). The id is made from the four, so one edit is one row.
notification_templates = Table(
    "notification_templates",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("channel", String(8), nullable=False),  # sms | email
    Column("locale", String(8), nullable=False),  # zh_CN | en
    Column("subject", String(200)),
    Column("body", Text, nullable=False),
    Column("updated_by", String(ID)),
    Column("updated_at", String(32), nullable=False),
    _tombstone(),
    info={"sync": campus_owned()},
)

# A family's "no more of this kind" (per student and kind; id made from both), set in the portal or
# by staff at whichever campus, and reaching every campus the student studies at.
notification_optouts = Table(
    "notification_optouts",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),  # where it was set
    Column("student_id", String(ID), nullable=False, index=True),
    Column("kind", String(24), nullable=False),
    Column("opted_out", Boolean, nullable=False),
    Column("updated_at", String(32), nullable=False),
    _tombstone(),
    info={"sync": SyncPolicy(Merge.LAST_WRITER_WINS, Owner.ANY, "campus_id", student_column="student_id")},
)

# The campus's outbox: a message is a row written in the transaction of the fact that caused it,
# sent by the node's worker; the dedupe key makes writing it twice write it once.
outbox = Table(
    "outbox",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("channel", String(8), nullable=False),  # sms | email
    Column("recipient", String(200), nullable=False),  # a phone number or an e-mail address
    Column("student_id", String(ID)),
    Column("locale", String(8), nullable=False),
    Column("subject", String(200)),
    Column("body", Text, nullable=False),  # rendered when queued; a secret one is blanked once sent
    Column("secret", Boolean, nullable=False, default=False, server_default="0"),  # sign-in codes
    Column("dedupe_key", String(200), nullable=False, unique=True),
    Column("status", String(12), nullable=False),  # queued | sending | sent | failed | skipped | interrupted
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("not_before", String(32), nullable=False),  # UTC: not sent before (backoff, quiet hours, limits)
    Column("last_error", Text),
    Column("provider_ref", String(200)),  # the Message-ID or the SMS provider's id
    Column("created_at", String(32), nullable=False),
    Column("sent_at", String(32)),
    Index("ix_outbox_status_not_before", "status", "not_before"),
    Index("ix_outbox_recipient_sent_at", "recipient", "sent_at"),
    info={"sync": None},
)

# A campus's marketing messages (营销短信): named wordings in Chinese and English, sent to a segment.
marketing_templates = Table(
    "marketing_templates",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("name", String(100), nullable=False),
    Column("subject_zh", String(200)),
    Column("body_zh", Text, nullable=False),
    Column("subject_en", String(200)),
    Column("body_en", Text, nullable=False),
    Column("updated_by", String(ID)),
    Column("updated_at", String(32), nullable=False),
    _tombstone(),
    info={"sync": campus_owned()},
)

# Where a member of staff gets the campus's messages to them (a follow-up falling due): their own
# phone and e-mail address at the campus (the id is made from both).
staff_addresses = Table(
    "staff_addresses",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),
    Column("user_id", String(ID), nullable=False, index=True),
    Column("phone", String(20)),
    Column("email", String(200)),
    Column("updated_at", String(32), nullable=False),
    _tombstone(),
    info={"sync": campus_owned()},
)

# Each request for a portal sign-in code by client address (a limit per address): the node's own.
portal_code_requests = Table(
    "portal_code_requests",
    metadata,
    _id(),
    Column("client_ip", String(64), nullable=False),
    Column("at", String(32), nullable=False),
    Index("ix_portal_code_requests_client_ip_at", "client_ip", "at"),
    info={"sync": None},
)

# The portal's one-time sign-in codes (only a keyed hash of each) and failed sign-ins (by phone or
# student number: five in 15 minutes lock it): the node's own, never replicated.
portal_codes = Table(
    "portal_codes",
    metadata,
    _id(),
    Column("phone", String(20), nullable=False, index=True),
    Column("code_hash", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("expires_at", String(32), nullable=False),
    Column("used_at", String(32)),
    info={"sync": None},
)

portal_failures = Table(
    "portal_failures",
    metadata,
    _id(),
    Column("login_key", String(64), nullable=False),  # phone:<number> | student:<number>
    Column("at", String(32), nullable=False),
    Index("ix_portal_failures_login_key_at", "login_key", "at"),
    info={"sync": None},
)

# A family's portal password for a student number (argon2 hash; the id is made from the student).
portal_passwords = Table(
    "portal_passwords",
    metadata,
    _id(),
    Column("campus_id", String(ID), nullable=False),  # where it was set
    Column("student_id", String(ID), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("set_at", String(32), nullable=False),
    _tombstone(),
    info={"sync": SyncPolicy(Merge.LAST_WRITER_WINS, Owner.ANY, "campus_id", student_column="student_id")},
)

# The knowledge base (知识库): articles in a category tree, kept by headquarters (or a standalone
# campus) and replicated to every node; searched through a local full-text index (campus.web.kb).
kb_categories = Table(
    "kb_categories",
    metadata,
    _id(),
    Column("parent_id", String(ID)),
    Column("name", String(100), nullable=False),
    Column("position", Integer, nullable=False, default=0, server_default="0"),
    Column("updated_at", String(32), nullable=False),
    _tombstone(),
    info={"sync": HUB_OWNED},
)

kb_articles = Table(
    "kb_articles",
    metadata,
    _id(),
    Column("category_id", String(ID), nullable=False, index=True),
    Column("title", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("tags", String(200)),
    Column("updated_by", String(ID)),
    Column("updated_at", String(32), nullable=False),
    _tombstone(),
    info={"sync": HUB_OWNED},
)
