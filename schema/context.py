"""The campus a piece of work is done for, and its clock: what "now" and "today" mean there.

Every use case and read query takes a :class:`CampusContext` instead of calling
``date.today()`` (the server's day) or reaching into an app's state: a lesson at 07:00 in
Beijing is on the same day for the schedule screen, the JSON API and a report, and a test can
move the clock without touching the machine's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from campus.schema.permissions import PermissionDenied, Principal
from campus.schema.times import local_days_utc, utc_text

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class CampusContext:
    """One campus (``id`` and ``code`` as the domain functions use them), its time zone and clock;
    at the hub, ``id`` is empty: headquarters acts for every campus."""

    id: str
    code: str
    name: str = ""
    timezone: str = "Asia/Shanghai"
    clock: Clock = field(default=system_clock, compare=False, repr=False)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def now(self) -> datetime:
        """The current instant (aware, UTC)."""
        return self.clock().astimezone(UTC)

    def now_text(self) -> str:
        return utc_text(self.now())

    def today(self) -> date:
        """The campus's calendar day now, in its own time zone (not the server's)."""
        return self.now().astimezone(self.zone).date()

    def local(self, instant: datetime | str) -> datetime:
        """An instant (aware, or stored UTC text) in the campus's time zone."""
        if isinstance(instant, str):
            instant = datetime.fromisoformat(instant.replace("Z", "+00:00"))
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=UTC)
        return instant.astimezone(self.zone)

    def local_date(self, instant: datetime | str) -> date:
        return self.local(instant).date()

    def day_bounds(self, first: date, last: date | None = None) -> tuple[str, str]:
        """The stored-text UTC instants where campus day ``first`` begins and ``last`` (default:
        the same day) ends: the ``>= start AND < end`` bounds of a query for those days."""
        return local_days_utc(first, last or first, self.timezone)


@dataclass(frozen=True)
class Actor:
    """Who does a piece of work: a signed-in user (``principal``) from an address, or a named
    machine actor (the command line, a scheduled job) with no user behind it."""

    principal: Principal | None
    client_ip: str | None = None
    system: str | None = None  # "cli", "auto-return": what acted when no user did

    @classmethod
    def machine(cls, name: str) -> Actor:
        return cls(None, None, name)

    @property
    def user_id(self) -> str | None:
        return self.principal.user_id if self.principal else None

    @property
    def username(self) -> str | None:
        return self.principal.username if self.principal else self.system

    def can(self, action: str, campus_id: str | None) -> bool:
        """A machine actor acts for the campus's operator, who may do anything there."""
        return self.principal is None or self.principal.can(action, campus_id)

    def require(self, action: str, campus_id: str | None) -> None:
        if self.principal is not None:
            self.principal.require(action, campus_id)
        elif self.system is None:
            raise PermissionDenied("nobody is acting", action=action)
