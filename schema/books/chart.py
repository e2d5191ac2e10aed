"""The chart of accounts (会计科目表), with the codes of the Chinese accounting standards.

Codes are what the API and the exports use. A sub-account is its parent's code, a dot and a
suffix: ``1012.01`` (WeChat Pay under 其他货币资金), ``1221.SH01`` (the current account with
campus SH01). The hub may add sub-accounts; :func:`account` names any code whose parent is in
the chart, so a journal never holds a code that cannot be named.

Inter-campus current accounts (内部往来) are sub-accounts of 1221 其他应收款, one per
counterpart campus, suffixed with that campus's code. The account is two-sided: a debit
balance is owed *by* the counterpart, a credit balance is owed *to* it. On consolidation the
pair ``1221.<B>`` at campus A and ``1221.<A>`` at campus B cancel out.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    REVENUE = "revenue"
    EXPENSE = "expense"


class Side(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


NORMAL_SIDE = {Kind.ASSET: Side.DEBIT, Kind.EXPENSE: Side.DEBIT, Kind.LIABILITY: Side.CREDIT,
               Kind.EQUITY: Side.CREDIT, Kind.REVENUE: Side.CREDIT}


@dataclass(frozen=True, slots=True)
class Account:
    code: str
    name_zh: str
    name_en: str
    kind: Kind

    @property
    def normal_side(self) -> Side:
        return NORMAL_SIDE[self.kind]

    @property
    def parent_code(self) -> str:
        """The top-level (four-digit) code this account rolls up into."""
        return self.code.split(".", 1)[0]


CASH = "1001"
BANK = "1002"
OTHER_MONETARY_FUNDS = "1012"
WECHAT_PAY = "1012.01"
ALIPAY = "1012.02"
POS = "1012.03"
RECEIVABLE = "1122"
OTHER_RECEIVABLES = "1221"  # parent of the inter-campus current accounts
DEPOSITS_RECEIVED = "2203"  # 预收账款: deposits (订金) not yet applied to a contract
DEFERRED_TUITION = "2204"  # 合同负债: tuition received for hours not yet taught (预收学费)
PAYROLL_PAYABLE = "2211"
TAXES_PAYABLE = "2221"
PAID_IN_CAPITAL = "4001"
PROFIT_OF_THE_YEAR = "4103"
# 期初余额调整: the other side of balances taken over from an old system (a migrated student's remaining
# value in 2204), until the accountant enters the assets that back them (Dr 1002 / Cr 4190).
OPENING_BALANCE_EQUITY = "4190"
TUITION_REVENUE = "6001"  # 课消收入
OTHER_REVENUE = "6051"  # refund handling fees, materials
COST_OF_TEACHING = "6401"
SELLING_EXPENSES = "6601"
ADMINISTRATIVE_EXPENSES = "6602"
CREDIT_LOSSES = "6702"  # bad-debt write-offs

CHART: dict[str, Account] = {a.code: a for a in (
    Account(CASH, "库存现金", "Cash on hand", Kind.ASSET),
    Account(BANK, "银行存款", "Bank deposits", Kind.ASSET),
    Account(OTHER_MONETARY_FUNDS, "其他货币资金", "Other monetary funds", Kind.ASSET),
    Account(WECHAT_PAY, "其他货币资金—微信支付", "Other monetary funds: WeChat Pay", Kind.ASSET),
    Account(ALIPAY, "其他货币资金—支付宝", "Other monetary funds: Alipay", Kind.ASSET),
    Account(POS, "其他货币资金—POS", "Other monetary funds: POS card payments", Kind.ASSET),
    Account(RECEIVABLE, "应收账款", "Accounts receivable", Kind.ASSET),
    Account(OTHER_RECEIVABLES, "其他应收款", "Other receivables", Kind.ASSET),
    Account(DEPOSITS_RECEIVED, "预收账款", "Deposits received", Kind.LIABILITY),
    Account(DEFERRED_TUITION, "合同负债", "Contract liabilities (deferred tuition)", Kind.LIABILITY),
    Account(PAYROLL_PAYABLE, "应付职工薪酬", "Payroll payable", Kind.LIABILITY),
    Account(TAXES_PAYABLE, "应交税费", "Taxes payable", Kind.LIABILITY),
    Account(PAID_IN_CAPITAL, "实收资本", "Paid-in capital", Kind.EQUITY),
    Account(PROFIT_OF_THE_YEAR, "本年利润", "Profit of the year", Kind.EQUITY),
    Account(OPENING_BALANCE_EQUITY, "期初余额调整", "Opening balance equity", Kind.EQUITY),
    Account(TUITION_REVENUE, "主营业务收入", "Tuition revenue", Kind.REVENUE),
    Account(OTHER_REVENUE, "其他业务收入", "Other operating revenue", Kind.REVENUE),
    Account(COST_OF_TEACHING, "主营业务成本", "Cost of teaching", Kind.EXPENSE),
    Account(SELLING_EXPENSES, "销售费用", "Selling expenses", Kind.EXPENSE),
    Account(ADMINISTRATIVE_EXPENSES, "管理费用", "Administrative expenses", Kind.EXPENSE),
    Account(CREDIT_LOSSES, "信用减值损失", "Credit impairment losses", Kind.EXPENSE),
)}

class FundAccount(StrEnum):
    """Where a campus receives money (the one declaration: payments, screens and the API use it)."""

    CASH = "cash"  # 现金
    WECHAT = "wechat"  # 微信支付
    ALIPAY = "alipay"  # 支付宝
    BANK = "bank"  # 银行转账
    POS = "pos"  # POS 刷卡


# Where each fund account's money sits in the books.
FUND_ACCOUNT_CODES: dict[str, str] = {
    FundAccount.CASH: CASH,
    FundAccount.BANK: BANK,
    FundAccount.WECHAT: WECHAT_PAY,
    FundAccount.ALIPAY: ALIPAY,
    FundAccount.POS: POS,
}


class UnknownAccount(ValueError):
    """A code that is neither in the chart nor a sub-account of a code in it."""


def fund_account_code(fund_account: str) -> str:
    """The ledger account a fund account's money is booked to."""
    try:
        return FUND_ACCOUNT_CODES[fund_account]
    except KeyError:
        raise UnknownAccount(f"no ledger account for the fund account {fund_account!r}") from None


def inter_campus_code(counterpart_campus_code: str) -> str:
    """The current account (内部往来) with one counterpart campus: ``1221.SH01``."""
    if not counterpart_campus_code or "." in counterpart_campus_code:
        raise ValueError(f"not a campus code: {counterpart_campus_code!r}")
    return f"{OTHER_RECEIVABLES}.{counterpart_campus_code}"


def is_inter_campus(code: str) -> bool:
    return code.startswith(OTHER_RECEIVABLES + ".")


def account(code: str, chart: dict[str, Account] | None = None) -> Account:
    """The account with this code; a sub-account not in the chart takes its parent's kind."""
    chart = CHART if chart is None else chart
    found = chart.get(code)
    if found is not None:
        return found
    parent = chart.get(code.split(".", 1)[0])
    if parent is None or "." not in code:
        raise UnknownAccount(f"unknown account code {code!r}")
    suffix = code.split(".", 1)[1]
    if parent.code == OTHER_RECEIVABLES:
        return Account(code, f"内部往来—{suffix}", f"Inter-campus current account: {suffix}", parent.kind)
    return Account(code, f"{parent.name_zh}—{suffix}", f"{parent.name_en}: {suffix}", parent.kind)
