"""Pay lines, payslips and a run's result: every line names its category, amount and source fact.

The category decides the expense account a line posts to when the run is approved (6401 lesson
fees, 6601 commissions net of clawbacks, 6602 base pay and adjustments; credited to 2211).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from campus.node.payroll.facts import whole


class Category(StrEnum):
    BASE = "base"  # 基本工资
    COMMISSION = "commission"  # 签约提成
    RENEWAL_VESTING = "renewal_vesting"  # 学管续费提成 (课消)
    LESSON_FEE = "lesson_fee"  # 课时费
    ADD_ON = "add_on"  # 人数加成
    BONUS = "bonus"  # 班级人数奖励
    CLAWBACK = "clawback"  # 退费扣回
    CARRIED_IN = "carried_in"  # 上月未扣完的扣回
    CARRY_FORWARD = "carry_forward"  # 本月扣不完，结转下月
    ADJUSTMENT = "adjustment"  # 人工调整


# The expense account each category posts to when a run is approved (Cr 2211 应付职工薪酬).
LESSON_FEES_ACCOUNT, COMMISSIONS_ACCOUNT, OTHER_PAY_ACCOUNT = "6401", "6601", "6602"
ACCOUNT_OF = {Category.LESSON_FEE: LESSON_FEES_ACCOUNT, Category.ADD_ON: LESSON_FEES_ACCOUNT,
              Category.BONUS: LESSON_FEES_ACCOUNT, Category.COMMISSION: COMMISSIONS_ACCOUNT,
              Category.RENEWAL_VESTING: COMMISSIONS_ACCOUNT, Category.CLAWBACK: COMMISSIONS_ACCOUNT,
              Category.CARRIED_IN: COMMISSIONS_ACCOUNT, Category.CARRY_FORWARD: COMMISSIONS_ACCOUNT,
              Category.BASE: OTHER_PAY_ACCOUNT, Category.ADJUSTMENT: OTHER_PAY_ACCOUNT}
# Lines that pay for a fact once: a fact already in an approved run is never paid again.
FACT_CATEGORIES = frozenset({Category.COMMISSION, Category.RENEWAL_VESTING, Category.LESSON_FEE, Category.CLAWBACK})
ATTENDED = frozenset({"present", "late", "extra"})  # the marks that count a student in the class


@dataclass(frozen=True)
class PayLine:
    category: Category
    amount_fen: int
    ref: str  # what a person reads to find the source: a contract number, a lesson's date and course
    source_table: str
    source_id: str
    source_period: str
    late: bool = False  # a fact of an earlier month whose run was approved without it
    detail: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        whole(self.amount_fen, "amount_fen")

    def as_json(self) -> dict[str, Any]:
        return {"category": str(self.category), "amount_fen": self.amount_fen, "ref": self.ref,
                "source_table": self.source_table, "source_id": self.source_id, "source_period": self.source_period,
                "late": self.late, "detail": dict(self.detail)}


@dataclass(frozen=True)
class Payslip:
    user_id: str
    positions: tuple[str, ...]
    lines: tuple[PayLine, ...]

    def of(self, *categories: Category) -> int:
        return sum(line.amount_fen for line in self.lines if line.category in categories)

    @property
    def total_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)

    @property
    def carry_out_fen(self) -> int:
        return self.of(Category.CARRY_FORWARD)

    def by_account(self) -> dict[str, int]:
        sums: dict[str, int] = defaultdict(int)
        for line in self.lines:
            sums[ACCOUNT_OF[line.category]] += line.amount_fen
        return dict(sums)

    def columns(self) -> dict[str, int]:
        """The payslip's stored figures."""
        return {"base_fen": self.of(Category.BASE),
                "commission_fen": self.of(Category.COMMISSION, Category.RENEWAL_VESTING),
                "lesson_fee_fen": self.of(Category.LESSON_FEE, Category.ADD_ON), "bonus_fen": self.of(Category.BONUS),
                "clawback_fen": self.of(Category.CLAWBACK, Category.CARRIED_IN),
                "adjustment_fen": self.of(Category.ADJUSTMENT), "carry_out_fen": self.carry_out_fen,
                "total_fen": self.total_fen}


@dataclass(frozen=True)
class RunResult:
    period: str
    payslips: tuple[Payslip, ...]
    warnings: tuple[str, ...] = ()

    @property
    def total_fen(self) -> int:
        return sum(p.total_fen for p in self.payslips)

    @property
    def lines(self) -> tuple[PayLine, ...]:
        return tuple(line for p in self.payslips for line in p.lines)

    def by_account(self) -> dict[str, int]:
        sums = {LESSON_FEES_ACCOUNT: 0, COMMISSIONS_ACCOUNT: 0, OTHER_PAY_ACCOUNT: 0}
        for payslip in self.payslips:
            for account, amount in payslip.by_account().items():
                sums[account] += amount
        return sums
