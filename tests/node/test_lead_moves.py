"""Pool moves on stored leads: who may make them, the claim limit, round-robin, automatic return."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from campus.node.config import NodeConfig
from campus.node.crm.leads import Campus, LeadNotFound, add_follow_up, create_lead
from campus.node.crm.moves import ClaimLimitReached, CrmSettings, auto_return, move_lead
from campus.node.crm.pools import IllegalPoolMove, Move
from campus.node.store import NodeStore
from campus.schema.permissions import PermissionDenied, Principal, Role
from campus.web.accounts.store import create_user, principal_for_user

SETTINGS = CrmSettings(private_pool_days=7, daily_claim_limit=3, timezone="Asia/Shanghai")
MONDAY_9AM = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


def _staff(store: NodeStore, config: NodeConfig, username: str, role: Role) -> Principal:
    with store.unit_of_work() as uow:
        user_id = create_user(uow, username, username, f"{username}-password", [(role, config.campus_id)])
    with store.read() as conn:
        principal = principal_for_user(conn, user_id)
    assert principal is not None
    return principal


def _leads(store: NodeStore, config: NodeConfig, count: int) -> list[str]:
    with store.unit_of_work() as uow:
        return [create_lead(uow, Campus(config.campus_id, "BJ01"), f"学员{k}", f"1380000{k:04d}")["id"]
                for k in range(count)]


def _move(store: NodeStore, config: NodeConfig, lead_id: str, move: Move, actor: Principal | None,
          now: datetime = MONDAY_9AM, **options: str) -> dict:
    with store.unit_of_work() as uow:
        return move_lead(uow, lead_id, move, actor, config.campus_id, now, SETTINGS, **options)


@pytest.fixture
def wang(node_store: NodeStore, node_config: NodeConfig) -> Principal:
    return _staff(node_store, node_config, "wang", Role.CONSULTANT)


def test_a_claim_makes_the_lead_the_consultants_and_is_recorded(node_store, node_config, wang) -> None:  # type: ignore[no-untyped-def]
    [lead_id] = _leads(node_store, node_config, 1)

    lead = _move(node_store, node_config, lead_id, Move.CLAIM, wang)

    assert (lead["pool"], lead["consultant_id"]) == ("private", wang.user_id)
    with node_store.read() as conn:
        history = conn.exec_driver_sql("select kind, by_user_id, from_pool, to_pool from lead_history").all()
    assert history == [("claim", wang.user_id, "lead", "private")]


def test_the_daily_claim_limit_counts_the_campus_day(node_store, node_config, wang) -> None:  # type: ignore[no-untyped-def]
    lead_ids = _leads(node_store, node_config, 5)
    for lead_id in lead_ids[:3]:
        _move(node_store, node_config, lead_id, Move.CLAIM, wang)

    with pytest.raises(ClaimLimitReached):
        _move(node_store, node_config, lead_ids[3], Move.CLAIM, wang)
    # 16:01 UTC is past midnight in Shanghai: a new day
    next_day = _move(node_store, node_config, lead_ids[3], Move.CLAIM, wang, now=datetime(2026, 11, 23, 16, 1, tzinfo=UTC))
    assert next_day["consultant_id"] == wang.user_id


def test_another_consultant_cannot_act_on_a_private_lead(node_store, node_config, wang) -> None:  # type: ignore[no-untyped-def]
    zhao = _staff(node_store, node_config, "zhao", Role.CONSULTANT)
    [lead_id] = _leads(node_store, node_config, 1)
    _move(node_store, node_config, lead_id, Move.CLAIM, wang)

    with pytest.raises(LeadNotFound):  # zhao cannot even see it
        _move(node_store, node_config, lead_id, Move.RELEASE, zhao)


def test_only_a_manager_confirms_a_lead_invalid(node_store, node_config, wang) -> None:  # type: ignore[no-untyped-def]
    manager = _staff(node_store, node_config, "boss", Role.CAMPUS_MANAGER)
    [lead_id] = _leads(node_store, node_config, 1)
    _move(node_store, node_config, lead_id, Move.CLAIM, wang)
    _move(node_store, node_config, lead_id, Move.RETURN, wang, reason="电话一直打不通")

    with pytest.raises(PermissionDenied):
        _move(node_store, node_config, lead_id, Move.CONFIRM_INVALID, wang, reason="空号")
    lead = _move(node_store, node_config, lead_id, Move.CONFIRM_INVALID, manager, reason="空号")

    assert lead["pool"] == "invalid"
    with pytest.raises(IllegalPoolMove):
        _move(node_store, node_config, lead_id, Move.CLAIM, wang)


def test_round_robin_spreads_leads_evenly_over_active_consultants(node_store, node_config, wang) -> None:  # type: ignore[no-untyped-def]
    manager = _staff(node_store, node_config, "boss", Role.CAMPUS_MANAGER)
    others = [_staff(node_store, node_config, name, Role.CONSULTANT) for name in ("zhao", "sun")]
    lead_ids = _leads(node_store, node_config, 10)

    owners = [_move(node_store, node_config, lead_id, Move.ASSIGN, manager)["consultant_id"] for lead_id in lead_ids]

    counts = sorted(owners.count(p.user_id) for p in [wang, *others])
    assert counts == [3, 3, 4]
    assert owners[:3] == [p.user_id for p in sorted([wang, *others], key=lambda p: p.username)]


@pytest.mark.parametrize(("days", "returned"), [(6, 0), (7, 1)])
def test_a_private_lead_returns_on_day_seven_without_a_follow_up(node_store, node_config, wang, days: int,  # type: ignore[no-untyped-def]
                                                                  returned: int) -> None:
    [lead_id] = _leads(node_store, node_config, 1)
    _move(node_store, node_config, lead_id, Move.CLAIM, wang)

    moved = auto_return(node_store, node_config.campus_id, MONDAY_9AM + timedelta(days=days), SETTINGS)

    assert moved == returned
    with node_store.read() as conn:
        pool = conn.exec_driver_sql("select pool from leads").scalar_one()
    assert pool == ("lead" if returned else "private")


def test_a_follow_up_restarts_the_seven_days(node_store, node_config, wang) -> None:  # type: ignore[no-untyped-def]
    [lead_id] = _leads(node_store, node_config, 1)
    _move(node_store, node_config, lead_id, Move.CLAIM, wang)
    with node_store.unit_of_work() as uow:
        add_follow_up(uow, lead_id, "call", "家长说下周再联系", at="2026-11-27T01:00:00Z")

    assert auto_return(node_store, node_config.campus_id, MONDAY_9AM + timedelta(days=7), SETTINGS) == 0
    assert auto_return(node_store, node_config.campus_id, MONDAY_9AM + timedelta(days=11), SETTINGS) == 1
