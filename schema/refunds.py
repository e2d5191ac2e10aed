"""Refund policies and the refund calculation (退费计算): pure functions over values.

A **policy** is an ordered list of tiers, kept as data (JSON) by headquarters or a standalone
campus. The first tier that matches a line applies. A tier matches on the share of the line's
paid hours already consumed, in basis points, ``min_consumed_bp <= share < max_consumed_bp``
(no upper bound when ``max_consumed_bp`` is ``None``; a tier whose ``max_consumed_bp`` is 0
matches a line of which nothing was consumed: "before the first lesson"), and optionally on
the days since the contract was signed. It then keeps a share of the paid amount, a share of
the unconsumed value, a fixed fee, nothing (a full refund: the cooling-off rule), or
everything (no refund).

The **calculation** gives back what was paid and not consumed, never more than the value of
the hours taken back, less the tier's fee and the materials handed out, never below zero and
never above what was paid. Every step is a labelled line with its figures; the quote, the
approval screen, the printed refund form and the audit event all show the same lines.
Money is integer fen, hours integer hundredths, rates integer basis points.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from enum import StrEnum
from fractions import Fraction
from typing import Any

from campus.schema.errors import Conflict, Invalid
from campus.schema.quantities import LessonHours, Money, round_half_up

FULL_BP = 10_000


class Action(StrEnum):
    KEEP_PAID = "keep_paid"  # keep rate_bp of the amount paid for the hours refunded (扣除已付金额的 x%)
    KEEP_UNCONSUMED = "keep_unconsumed"  # keep rate_bp of the unconsumed value (扣未上课时价值的 x% 手续费)
    FIXED_FEE = "fixed_fee"  # keep fee_fen
    FULL = "full"  # keep nothing (cooling-off: 冷静期全额退)
    NONE = "none"  # refund nothing (不予退费)


# English message ids the screens translate (zh_CN: 扣除已付金额的比例, 扣除未消耗价值的比例, ...)
ACTION_LABELS = {Action.KEEP_PAID: "Keep a share of the amount paid",
                 Action.KEEP_UNCONSUMED: "Keep a share of the unconsumed value",
                 Action.FIXED_FEE: "Keep a fixed fee", Action.FULL: "Refund in full", Action.NONE: "No refund"}


def _int(value: Any, field_name: str, *, low: int = 0, high: int | None = None) -> int:
    if type(value) is not int:
        raise Invalid(field_name, f"must be a whole number (integer units), not {value!r}")
    if value < low or (high is not None and value > high):
        raise Invalid(field_name, f"must be between {low} and {high}" if high is not None else f"must be ≥ {low}")
    return value


@dataclass(frozen=True, slots=True)
class Tier:
    label: str
    action: Action
    min_consumed_bp: int = 0
    max_consumed_bp: int | None = None  # exclusive; None: no bound; 0: nothing consumed yet
    max_days_since_signing: int | None = None  # inclusive, e.g. a 7-day cooling-off
    rate_bp: int = 0  # keep_paid, keep_unconsumed
    fee_fen: int = 0  # fixed_fee

    def matches(self, consumed_bp: int, days_since_signing: int) -> bool:
        if self.max_days_since_signing is not None and days_since_signing > self.max_days_since_signing:
            return False
        if self.max_consumed_bp == 0:
            return consumed_bp == 0
        if consumed_bp < self.min_consumed_bp:
            return False
        return self.max_consumed_bp is None or consumed_bp < self.max_consumed_bp

    def describe(self) -> str:
        return self.label


@dataclass(frozen=True, slots=True)
class Policy:
    code: str
    name: str
    tiers: tuple[Tier, ...]

    def tier_for(self, consumed_bp: int, days_since_signing: int) -> Tier:
        for tier in self.tiers:
            if tier.matches(consumed_bp, days_since_signing):
                return tier
        raise NoTier(f"policy {self.code} has no tier for {consumed_bp / 100:.2f}% consumed", policy=self.code)


class NoTier(Conflict):
    """No tier of the policy covers the line (policies are checked to cover 0–100%, so this is a
    policy saved before the check)."""


def parse_tiers(raw: Any, field_name: str = "tiers") -> tuple[Tier, ...]:
    """Tiers as typed or stored (a list of objects), checked; refusals name the field. The tiers
    without a day condition must together cover every share from 0% to 100% with no gap, so
    every line finds a tier."""
    if not isinstance(raw, list) or not raw:
        raise Invalid(field_name, "a policy is a non-empty list of tiers")
    tiers = []
    for i, item in enumerate(raw):
        at = f"{field_name}.{i}"
        if not isinstance(item, Mapping):
            raise Invalid(at, "each tier is an object")
        label = item.get("label")
        if not isinstance(label, str) or not label.strip():
            raise Invalid(f"{at}.label", "each tier needs a label (shown on the refund form)")
        try:
            action = Action(str(item.get("action")))
        except ValueError:
            raise Invalid(f"{at}.action", f"one of {', '.join(Action)}") from None
        low = _int(item.get("min_consumed_bp", 0), f"{at}.min_consumed_bp", high=FULL_BP)
        high = item.get("max_consumed_bp")
        if high is not None:
            high = _int(high, f"{at}.max_consumed_bp", high=FULL_BP + 1)
            if high != 0 and high <= low:
                raise Invalid(f"{at}.max_consumed_bp", "must be above min_consumed_bp (or 0: before the first lesson)")
        days = item.get("max_days_since_signing")
        if days is not None:
            days = _int(days, f"{at}.max_days_since_signing", high=3660)
        rate = _int(item.get("rate_bp", 0), f"{at}.rate_bp", high=FULL_BP)
        fee = _int(item.get("fee_fen", 0), f"{at}.fee_fen", high=10**11)
        if action in (Action.KEEP_PAID, Action.KEEP_UNCONSUMED) and "rate_bp" not in item:
            raise Invalid(f"{at}.rate_bp", "give the share kept, in basis points (1000 = 10%)")
        if action is Action.FIXED_FEE and "fee_fen" not in item:
            raise Invalid(f"{at}.fee_fen", "give the fee kept, in fen")
        tiers.append(Tier(label.strip(), action, low, high, days, rate, fee))
    _check_coverage(tiers, field_name)
    return tuple(tiers)


def _check_coverage(tiers: Sequence[Tier], field_name: str) -> None:
    """Every share 0..10000 bp is matched by some tier that has no day condition."""
    plain = [t for t in tiers if t.max_days_since_signing is None]
    edges = sorted({0, 1, FULL_BP, *(t.min_consumed_bp for t in plain),
                    *(t.max_consumed_bp for t in plain if t.max_consumed_bp)})
    # Between two consecutive edges every share behaves alike: testing each edge and the share just
    # after it (1 bp) is enough.
    for share in sorted({e for e in edges if e <= FULL_BP} | {min(e + 1, FULL_BP) for e in edges if e < FULL_BP}):
        if not any(t.matches(share, 0) for t in plain):
            raise Invalid(field_name, f"no tier covers {share / 100:.2f}% consumed: the tiers (without a day "
                                      f"condition) must cover 0% to 100% with no gap")


def tiers_json(tiers: Sequence[Tier]) -> str:
    return json.dumps([{k: v for k, v in asdict(t).items() if v is not None} for t in tiers], ensure_ascii=False)


def policy_from_row(row: Mapping[str, Any]) -> Policy:
    return Policy(row["code"], row["name"], parse_tiers(json.loads(row["tiers"])))


# The three policies heard in practice (DOMAIN §6), and the national model contract's cooling-off.
EXAMPLE_TIERS: list[dict[str, Any]] = [
    {"label": "冷静期内未上课：全额退款", "action": "full", "max_consumed_bp": 0, "max_days_since_signing": 7},
    {"label": "退课在开课前：扣除已付金额的10%", "action": "keep_paid", "max_consumed_bp": 0, "rate_bp": 1000},
    {"label": "已上课时不足50%：退还未上课时价值，扣20%手续费", "action": "keep_unconsumed",
     "min_consumed_bp": 0, "max_consumed_bp": 5000, "rate_bp": 2000},
    {"label": "已上课时达到50%及以上：不予退费", "action": "none", "min_consumed_bp": 5000},
]


# --- the calculation -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LineState:
    """One contract line as its ledger stands (paid hours only carry value; gift hours none)."""

    line_id: str
    label: str
    consumed_hours_x100: int  # paid hours consumed, net of reversals
    remaining_paid_hours_x100: int
    remaining_gift_hours_x100: int
    remaining_value_fen: int  # the ledger value of the remaining paid hours

    @property
    def consumed_bp(self) -> int:
        """The share of the line's paid hours consumed, in basis points (rounded down)."""
        held = self.consumed_hours_x100 + self.remaining_paid_hours_x100
        return 0 if held <= 0 else max(0, self.consumed_hours_x100) * FULL_BP // held

    @property
    def unit_price_fen(self) -> int:
        """The price actually paid per hour after discounts (what the remaining value says)."""
        if self.remaining_paid_hours_x100 <= 0:
            return 0
        return round_half_up(Fraction(self.remaining_value_fen * 100, self.remaining_paid_hours_x100))


@dataclass(frozen=True, slots=True)
class ContractState:
    number: str
    signed_on: date
    received_fen: int  # money received on the contract (payments and deposits applied)
    settled_fen: int  # what earlier refunds took from it: paid back, fees and materials kept
    consumed_value_fen: int  # the value of every hour consumed on the contract
    arrears_fen: int
    lines: Mapping[str, LineState]

    @property
    def paid_fen(self) -> int:
        return self.received_fen - self.settled_fen


@dataclass(frozen=True, slots=True)
class LineRequest:
    line_id: str
    hours_x100: int | None = None  # None: every remaining paid hour (the whole line)


@dataclass(frozen=True, slots=True)
class Step:
    """One labelled line of the calculation: ``label`` is the English message id the screens
    translate; ``detail`` gives the figures, in the words of the printed refund form (退费单)."""

    label: str
    amount_fen: int | None = None
    detail: str = ""
    line_id: str | None = None


@dataclass(frozen=True, slots=True)
class LineResult:
    line_id: str
    hours_x100: int  # paid hours taken back
    gift_hours_x100: int  # gift hours cancelled with them (never refunded)
    value_fen: int  # their ledger value
    base_fen: int  # what was paid for them and not consumed
    fee_fen: int
    tier: str


@dataclass(frozen=True, slots=True)
class Calculation:
    refundable_fen: int
    fee_fen: int  # handling fees kept under the policy
    materials_fen: int  # materials kept
    value_fen: int  # ledger value of the hours taken back
    lines: tuple[LineResult, ...]
    steps: tuple[Step, ...] = field(default_factory=tuple)

    @property
    def base_fen(self) -> int:
        return sum(x.base_fen for x in self.lines)

    @property
    def kept_fen(self) -> int:
        """What the school keeps of the paid, unconsumed money (fee and materials)."""
        return self.base_fen - self.refundable_fen

    def as_dict(self) -> dict[str, Any]:
        return {"refundable_fen": self.refundable_fen, "fee_fen": self.fee_fen,
                "materials_fen": self.materials_fen, "value_fen": self.value_fen, "base_fen": self.base_fen,
                "lines": [asdict(x) for x in self.lines], "steps": [asdict(s) for s in self.steps]}


class RefundRefused(Conflict):
    """The refund asked for cannot be made (gift hours, more hours than the line holds...)."""


def _value_of(line: LineState, hours_x100: int) -> int:
    if hours_x100 == line.remaining_paid_hours_x100:
        return line.remaining_value_fen
    return round_half_up(Fraction(line.remaining_value_fen * hours_x100, line.remaining_paid_hours_x100))


def _fee(tier: Tier, base_fen: int, paid_basis_fen: int) -> tuple[int, str]:
    if tier.action is Action.KEEP_PAID:
        fee = round_half_up(Fraction(paid_basis_fen * tier.rate_bp, FULL_BP))
        return fee, f"已付金额 {Money(paid_basis_fen)} × {tier.rate_bp / 100:g}%"
    if tier.action is Action.KEEP_UNCONSUMED:
        fee = round_half_up(Fraction(base_fen * tier.rate_bp, FULL_BP))
        return fee, f"未消耗价值 {Money(base_fen)} × {tier.rate_bp / 100:g}%"
    if tier.action is Action.FIXED_FEE:
        return tier.fee_fen, f"固定手续费 {Money(tier.fee_fen)}"
    if tier.action is Action.NONE:
        return base_fen, "不予退费：未消耗价值全部扣除"
    return 0, "全额退还，不扣手续费"


def calculate(contract: ContractState, requests: Sequence[LineRequest], policies: Mapping[str, Policy],
              today: date, materials_fen: int = 0) -> Calculation:
    """The refund of ``requests`` (lines, or some hours of them) under each line's policy.

    refundable = Σ per line (min(value of the hours taken back, paid and not yet consumed) − the
    tier's fee), less materials; never below zero, never above what was paid."""
    if not requests:
        raise Invalid("line_ids", "name at least one line of the contract")
    _int(materials_fen, "materials_fen", high=10**11)
    seen: set[str] = set()
    steps: list[Step] = []
    paid = contract.paid_fen
    available = max(0, paid - contract.consumed_value_fen)
    steps.append(Step("Paid on the contract", contract.received_fen, f"合同 {contract.number} 累计收款"))
    if contract.settled_fen:
        steps.append(Step("Settled by earlier refunds", -contract.settled_fen, "以前退费的退款、手续费和教材费"))
    steps.append(Step("Value of hours consumed", -contract.consumed_value_fen, "已确认课消，按实际成交单价（折后）计"))
    if contract.arrears_fen > 0:
        steps.append(Step("Arrears", None, f"尚欠 {Money(contract.arrears_fen)}：未付部分不退"))
    steps.append(Step("Paid and not consumed", available, "已付金额 − 已消耗课时价值，不低于零"))
    days = (today - contract.signed_on).days
    results: list[LineResult] = []
    for i, request in enumerate(requests):
        at = f"line_ids.{i}"
        if request.line_id in seen:
            raise Invalid(at, "a line is named once")
        seen.add(request.line_id)
        line = contract.lines.get(request.line_id)
        if line is None:
            raise Invalid(at, f"no line {request.line_id} on contract {contract.number}")
        hours = line.remaining_paid_hours_x100 if request.hours_x100 is None else request.hours_x100
        if request.hours_x100 is not None:
            _int(request.hours_x100, "hours_x100", low=1)
        if line.remaining_paid_hours_x100 <= 0:
            detail = ("only gift hours are left on this line, and gift hours are never refunded"
                      if line.remaining_gift_hours_x100 > 0 else "no paid hours are left on this line")
            raise RefundRefused(detail, field="hours_x100" if request.hours_x100 else at)
        if hours > line.remaining_paid_hours_x100:
            raise RefundRefused(f"the line holds {LessonHours(line.remaining_paid_hours_x100)} paid hours; "
                                f"gift hours are never refunded", field="hours_x100",
                                remaining_paid_hours_x100=line.remaining_paid_hours_x100)
        whole = hours == line.remaining_paid_hours_x100
        gift = line.remaining_gift_hours_x100 if whole else 0
        value = _value_of(line, hours)
        base = min(value, available)
        available -= base
        policy = policies.get(line.line_id)
        if policy is None:
            raise Invalid(at, f"no refund policy applies to line {line.label}")
        share = line.consumed_bp
        tier = policy.tier_for(share, days)
        paid_basis = min(paid, base + round_half_up(Fraction(line.consumed_hours_x100 * line.unit_price_fen, 100))) \
            if whole else base
        fee, how = _fee(tier, base, paid_basis)
        fee = min(fee, base)
        results.append(LineResult(line.line_id, hours, gift, value, base, fee, tier.label))
        steps.append(Step("Hours refunded", value,
                          f"{line.label}：退 {LessonHours(hours)} 小时 × 实际单价 {Money(line.unit_price_fen)}", line.line_id))
        if base < value:
            steps.append(Step("Of which paid", base, "退还以已付未消耗金额为限", line.line_id))
        steps.append(Step("Policy tier applied", None,
                          f"{policy.name}：{tier.label}（已消耗 {share / 100:.2f}%，签约 {days} 天）", line.line_id))
        steps.append(Step("Handling fee", -fee, how, line.line_id))
        if gift:
            steps.append(Step("Gift hours", 0, f"{LessonHours(gift)} 小时随退课取消，不予退费", line.line_id))
    base_total = sum(x.base_fen for x in results)
    fees = sum(x.fee_fen for x in results)
    materials = min(materials_fen, base_total - fees)
    if materials_fen:
        steps.append(Step("Materials", -materials, f"已领教材按记录价值扣除 {Money(materials_fen)}"))
    refundable = max(0, min(base_total - fees - materials, paid))
    steps.append(Step("Refundable", refundable, "不低于零，不高于已付金额"))
    return Calculation(refundable, fees, materials, sum(x.value_fen for x in results), tuple(results), tuple(steps))
