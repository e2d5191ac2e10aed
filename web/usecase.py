"""Use cases: one function per action, the only code at a node or the hub that writes.

A use case is declared with :func:`use_case` and the permission it needs. Called with the
node's store, a :class:`CampusContext` and an :class:`Actor`, it checks the permission, runs
in one unit of work (its rows, their change-log entries and its audit event commit together
or not at all), and returns a value or raises a named :class:`DomainError`. It must record
an audit event through :meth:`Work.audit` unless its permission is listed in
``NOT_SENSITIVE`` (with the reason); one that does not is a programming error and writes nothing. The JSON API, the staff screens and the command line only parse input, call
it (off the event loop, through :func:`perform`) and render what it returns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Generic, ParamSpec, Protocol, TypeVar

import anyio.to_thread
from sqlalchemy import Connection

from campus.schema.context import Actor, CampusContext
from campus.schema.permissions import NOT_SENSITIVE
from campus.sync.capture import UnitOfWork
from campus.web.accounts.store import record_audit

P = ParamSpec("P")
R = TypeVar("R")
C = TypeVar("C", bound=CampusContext)  # a node's use cases work with its own context, with its settings


class Store(Protocol):
    def unit_of_work(self) -> Any: ...

    def read(self) -> Any: ...


class Unaudited(RuntimeError):
    """A use case finished without recording its audit event: nothing it wrote is kept."""


@dataclass
class Work(Generic[C]):
    """What a use case works with: its unit of work, the campus and who acts."""

    uow: UnitOfWork
    ctx: C
    actor: Actor
    audited: list[str] = field(default_factory=list)

    @property
    def conn(self) -> Connection:
        return self.uow.conn

    def can(self, action: str) -> bool:
        return self.actor.can(action, self.ctx.id or None)

    def require(self, action: str) -> None:
        self.actor.require(action, self.ctx.id or None)

    def audit(self, action: str, *, target_table: str | None = None, target_id: str | None = None,
              before: Any = None, after: Any = None) -> None:
        record_audit(self.uow, action, campus_id=self.ctx.id or None, client_ip=self.actor.client_ip,
                     user_id=self.actor.user_id, username=self.actor.username, target_table=target_table,
                     target_id=target_id, before=before, after=after)
        self.audited.append(action)


@dataclass
class Batches(Generic[C]):
    """What a batched use case works with: it opens one unit of work per batch (a long import
    must not hold the write lock for its whole length), and audits in the last of them."""

    store: Store
    ctx: C
    actor: Actor
    audited: list[str] = field(default_factory=list)

    @contextmanager
    def unit(self) -> Iterator[Work[C]]:
        with self.store.unit_of_work() as uow:
            work = Work(uow, self.ctx, self.actor, self.audited)
            yield work


@dataclass(frozen=True)
class UseCase(Generic[P, R]):
    """A registered use case; call it as ``case(store, ctx, actor, *input)``."""

    name: str
    permission: str
    body: Callable[..., R]
    batched: bool = False

    def __call__(self, store: Store, ctx: CampusContext, actor: Actor, *args: Any, **kwargs: Any) -> R:
        actor.require(self.permission, ctx.id or None)  # "": headquarters, every campus
        if self.batched:
            batches = Batches(store, ctx, actor)
            result = self.body(batches, *args, **kwargs)
            if not batches.audited and self.permission not in NOT_SENSITIVE:
                raise Unaudited(f"use case {self.name} recorded no audit event")
            return result
        with store.unit_of_work() as uow:
            work = Work(uow, ctx, actor)
            result = self.body(work, *args, **kwargs)
            if not work.audited and self.permission not in NOT_SENSITIVE:
                raise Unaudited(f"use case {self.name} recorded no audit event")
        return result


USE_CASES: dict[str, UseCase[..., Any]] = {}


def use_case(permission: str, batched: bool = False) -> Callable[[Callable[..., R]], UseCase[..., R]]:
    """Register ``body(work, ...)`` as the use case for an action needing ``permission``
    (``batched``: ``body(batches, ...)``, writing in several units of work)."""

    def register(body: Callable[..., R]) -> UseCase[..., R]:
        name = f"{body.__module__.rsplit('.', 1)[-1]}.{body.__name__}"
        case: UseCase[..., R] = UseCase(name, permission, body, batched)
        USE_CASES[name] = case
        return case

    return register


# The store's work runs on worker threads (anyio's default pool of 40 per event loop), never on
# the event loop: one long pull, import or report must not stall every kiosk check-in and screen
# of the node. SQLite serialises the writers among them itself.


async def off_loop(fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """Run blocking ``fn`` on a worker thread and wait for it without blocking the loop."""
    return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs))


async def perform(store: Store, ctx: CampusContext, actor: Actor, case: UseCase[..., R], *args: Any,
                  **kwargs: Any) -> R:
    return await off_loop(case, store, ctx, actor, *args, **kwargs)


async def query(store: Store, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """A read query ``fn(conn, ...)`` in one read transaction, off the event loop."""

    def run() -> R:
        with store.read() as conn:
            return fn(conn, *args, **kwargs)

    return await off_loop(run)


def performs(*cases: UseCase[..., Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a route's endpoint with the use cases it calls, so a walk of the route table can
    prove every mutating route reaches one (the permission check is ``guard``'s)."""

    def mark(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        endpoint.use_cases = cases  # type: ignore[attr-defined]
        return endpoint

    return mark


def writes_nothing(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a POST endpoint that only computes (a refund quote): the route walk accepts it without a
    use case, and its tests prove that it leaves the store as it was."""
    endpoint.writes_nothing = True  # type: ignore[attr-defined]
    return endpoint
