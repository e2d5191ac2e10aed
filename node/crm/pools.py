"""The seven customer pools and the moves between them, as one explicit state machine.

Pure: takes values, returns values. Who may make a move (a manager, the lead's own
consultant) and the daily claim limit are checked by the use cases that call it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from campus.schema.errors import Conflict, Invalid


class Pool(StrEnum):
    LEAD = "lead"  # 线索池/公海: shared by the campus's consultants
    PRIVATE = "private"  # 私有池: one consultant's own
    INVITED = "invited"  # 邀约池: a trial class is booked
    DEPOSIT = "deposit"  # 订金池: a deposit is paid
    SIGNED = "signed"  # 签约池: a contract is signed
    RETURNED = "returned"  # 退回池: a consultant gave it up, with a reason
    INVALID = "invalid"  # 无效池: confirmed by a manager, from the returned pool only


class Move(StrEnum):
    CLAIM = "claim"  # a consultant takes a lead from the shared pool
    ASSIGN = "assign"  # a manager (or round-robin) gives a lead to a consultant
    RELEASE = "release"  # the consultant puts it back in the shared pool
    INVITE = "invite"  # a trial class is booked
    DEPOSIT = "deposit"  # a deposit is paid
    SIGN = "sign"  # a contract is signed
    RETURN = "return"  # the consultant gives it up, stating a reason
    CONFIRM_INVALID = "confirm-invalid"  # a manager confirms a returned lead is worthless
    REVIVE = "revive"  # a returned or invalid lead goes back to the shared pool
    AUTO_RETURN = "auto-return"  # no follow-up for private_pool_days: back to the shared pool


TRANSITIONS: dict[Move, tuple[frozenset[Pool], Pool]] = {
    Move.CLAIM: (frozenset({Pool.LEAD}), Pool.PRIVATE),
    Move.ASSIGN: (frozenset({Pool.LEAD, Pool.RETURNED}), Pool.PRIVATE),
    Move.RELEASE: (frozenset({Pool.PRIVATE}), Pool.LEAD),
    Move.INVITE: (frozenset({Pool.PRIVATE}), Pool.INVITED),
    Move.DEPOSIT: (frozenset({Pool.PRIVATE, Pool.INVITED}), Pool.DEPOSIT),
    Move.SIGN: (frozenset({Pool.PRIVATE, Pool.INVITED, Pool.DEPOSIT}), Pool.SIGNED),
    Move.RETURN: (frozenset({Pool.PRIVATE, Pool.INVITED}), Pool.RETURNED),
    Move.CONFIRM_INVALID: (frozenset({Pool.RETURNED}), Pool.INVALID),
    Move.REVIVE: (frozenset({Pool.RETURNED, Pool.INVALID}), Pool.LEAD),
    Move.AUTO_RETURN: (frozenset({Pool.PRIVATE}), Pool.LEAD),
}
NEEDS_REASON = frozenset({Move.RETURN, Move.CONFIRM_INVALID})
MANAGER_MOVES = frozenset({Move.ASSIGN, Move.CONFIRM_INVALID, Move.REVIVE})


class IllegalPoolMove(Conflict):
    """The move is not allowed from the lead's current pool."""

    def __init__(self, move: Move, current: Pool) -> None:
        allowed = allowed_moves(current)
        super().__init__(
            f"cannot {move.value} a lead in the {current.value} pool; allowed: "
            f"{', '.join(m.value for m in allowed) or 'none'}",
            current_pool=current.value, move=move.value, allowed_moves=[m.value for m in allowed],
        )


@dataclass(frozen=True)
class PoolMove:
    move: Move
    from_pool: Pool
    to_pool: Pool
    reason: str | None


def allowed_moves(current: Pool) -> list[Move]:
    """Moves a person may make from ``current`` (the automatic return is not offered)."""
    return [move for move, (sources, _) in TRANSITIONS.items() if current in sources and move is not Move.AUTO_RETURN]


def plan_move(current: Pool, move: Move, reason: str | None = None) -> PoolMove:
    """The move from ``current``, or :class:`IllegalPoolMove`; a return needs a reason."""
    sources, target = TRANSITIONS[move]
    if current not in sources:
        raise IllegalPoolMove(move, current)
    if move in NEEDS_REASON and not (reason and reason.strip()):
        raise Invalid("reason", f"{move.value} needs a reason")
    return PoolMove(move, current, target, reason.strip() if reason else None)
