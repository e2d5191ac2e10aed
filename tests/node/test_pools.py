"""Every legal and every illegal move between the seven customer pools."""

from __future__ import annotations

import itertools

import pytest

from campus.node.crm.pools import IllegalPoolMove, Move, Pool, allowed_moves, plan_move
from campus.schema.errors import Invalid

LEGAL = {
    (Pool.LEAD, Move.CLAIM): Pool.PRIVATE,
    (Pool.LEAD, Move.ASSIGN): Pool.PRIVATE,
    (Pool.RETURNED, Move.ASSIGN): Pool.PRIVATE,
    (Pool.PRIVATE, Move.RELEASE): Pool.LEAD,
    (Pool.PRIVATE, Move.INVITE): Pool.INVITED,
    (Pool.PRIVATE, Move.DEPOSIT): Pool.DEPOSIT,
    (Pool.INVITED, Move.DEPOSIT): Pool.DEPOSIT,
    (Pool.PRIVATE, Move.SIGN): Pool.SIGNED,
    (Pool.INVITED, Move.SIGN): Pool.SIGNED,
    (Pool.DEPOSIT, Move.SIGN): Pool.SIGNED,
    (Pool.PRIVATE, Move.RETURN): Pool.RETURNED,
    (Pool.INVITED, Move.RETURN): Pool.RETURNED,
    (Pool.RETURNED, Move.CONFIRM_INVALID): Pool.INVALID,
    (Pool.RETURNED, Move.REVIVE): Pool.LEAD,
    (Pool.INVALID, Move.REVIVE): Pool.LEAD,
    (Pool.PRIVATE, Move.AUTO_RETURN): Pool.LEAD,
}


@pytest.mark.parametrize(("current", "move"), sorted(LEGAL))
def test_legal_move_lands_in_its_pool(current: Pool, move: Move) -> None:
    planned = plan_move(current, move, reason="家长说暂时不考虑")

    assert (planned.from_pool, planned.to_pool) == (current, LEGAL[(current, move)])


ILLEGAL = sorted(set(itertools.product(Pool, Move)) - set(LEGAL))


@pytest.mark.parametrize(("current", "move"), ILLEGAL)
def test_illegal_move_is_refused_naming_the_pool_and_the_allowed_moves(current: Pool, move: Move) -> None:
    with pytest.raises(IllegalPoolMove) as refused:
        plan_move(current, move, reason="x")

    assert refused.value.facts["current_pool"] == current.value
    assert refused.value.facts["allowed_moves"] == [m.value for m in allowed_moves(current)]


def test_there_are_exactly_sixteen_legal_moves_of_seventy() -> None:
    assert (len(LEGAL), len(ILLEGAL)) == (16, 54)


def test_invalid_pool_is_reached_only_from_the_returned_pool() -> None:
    sources = {current for (current, move), target in LEGAL.items() if target is Pool.INVALID}

    assert sources == {Pool.RETURNED}


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_giving_a_lead_up_needs_a_reason(reason: str | None) -> None:
    with pytest.raises(Invalid) as refused:
        plan_move(Pool.PRIVATE, Move.RETURN, reason=reason)

    assert refused.value.field == "reason"


def test_signed_leads_cannot_move_at_all() -> None:
    assert allowed_moves(Pool.SIGNED) == []
