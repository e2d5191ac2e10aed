"""Students, contracts and money: one use case per action (see ``campus.web.usecase``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from campus.node.context import NodeWork
from campus.node.crm.leads import get_lead, visible_leads
from campus.node.finance import contracts, ledger, payments, students
from campus.node.finance.contracts import LineSpec
from campus.node.notify.use_cases import receipt_issued
from campus.schema import assets
from campus.schema.errors import Conflict, Invalid
from campus.schema.permissions import PermissionDenied, Role
from campus.schema.tables import asset_entries, contract_lines, leads
from campus.schema.tables import contracts as contract_rows
from campus.web.usecase import use_case


class NotHomeCampus(Conflict):
    """Only a student's home campus changes their record."""


@dataclass(frozen=True)
class NewStudent:
    name: str | None = None
    phone: str | None = None
    lead_id: str | None = None
    birthday: str | None = None
    grade: str | None = None
    id_number: str | None = None
    partner_institution: str | None = None
    notes: str | None = None
    guardians: list[dict[str, str]] = field(default_factory=list)


@use_case("students.write")
def admit_student(work: NodeWork, new: NewStudent) -> dict[str, Any]:
    if not new.name and not new.lead_id:
        raise Invalid("name", "give a name, or the lead_id the student comes from")
    fields = {k: v for k, v in vars(new).items() if k not in ("name", "phone", "guardians")}
    student = students.create_student(work.uow, work.ctx, new.name, new.phone, guardian_list=new.guardians,
                                      **fields)
    work.audit("student_created", target_table="students", target_id=student["id"],
               after={"number": student["number"], "lead_id": new.lead_id})
    return student


@use_case("students.write")
def change_student_status(work: NodeWork, student_id: str, move: str) -> dict[str, Any]:
    """Admit, finish, withdraw or readmit; only at the student's home campus."""
    before = students.get_student(work.conn, student_id)
    if before["home_campus_id"] != work.ctx.id:
        raise NotHomeCampus("this student's record belongs to their home campus; change it there",
                            home_campus_id=before["home_campus_id"])
    after = students.move_status(work.uow, student_id, move)
    work.audit(f"student_{move}", target_table="students", target_id=student_id,
               before={"status": before["status"]}, after={"status": after["status"]})
    return after


def _check_lead_visible(work: NodeWork, lead_id: str) -> None:
    """A deposit on a lead is taken by someone who may see it: not on a colleague's private lead."""
    get_lead(work.conn, lead_id)  # 404 when there is no such lead at all
    principal = work.actor.principal
    if principal is None:
        return
    seen = work.conn.execute(select(leads.c.id).where(leads.c.id == lead_id,
                                                      visible_leads(principal, work.ctx.id))).first()
    if seen is None:
        raise PermissionDenied("this lead is in another consultant's private pool", action="leads.manage",
                               lead_id=lead_id)


def _supervision(work: NodeWork, fund_account: str, amount_fen: int) -> list[str]:
    """Prepaid tuition belongs in a supervised account where the campus says so (资金监管): refused,
    or taken with a warning that the audit trail keeps."""
    policy = getattr(work.ctx, "books", None)
    if policy is None or policy.supervised_receipts == "off" or not policy.supervised_accounts \
            or fund_account in policy.supervised_accounts:
        return []
    detail = (f"prepaid tuition is received into a supervised account ({', '.join(policy.supervised_accounts)}), "
              f"not {fund_account}")
    if policy.supervised_receipts == "refuse":
        raise UnsupervisedReceipt(detail, field="fund_account", supervised_accounts=list(policy.supervised_accounts))
    work.audit("supervision_warning", after={"fund_account": fund_account, "amount_fen": amount_fen})
    return [detail]


class UnsupervisedReceipt(Conflict):
    """Tuition taken into an account that is not supervised, where the campus refuses that (409)."""


@use_case("payments.take")
def take_deposit(work: NodeWork, amount_fen: int, fund_account: str, *, student_id: str | None = None,
                 lead_id: str | None = None, note: str | None = None) -> dict[str, Any]:
    if lead_id:
        _check_lead_visible(work, lead_id)
    warnings = _supervision(work, fund_account, amount_fen)
    payment = payments.take_deposit(work.uow, work.ctx, amount_fen, fund_account, student_id=student_id,
                                    lead_id=lead_id, by_user_id=work.actor.user_id, note=note,
                                    crm=work.ctx.crm, actor=work.actor.principal, now=work.ctx.now())
    work.audit("deposit_taken", target_table="payments", target_id=payment["id"],
               after={"receipt_number": payment["receipt_number"], "amount_fen": amount_fen,
                      "fund_account": fund_account, "student_id": student_id, "lead_id": lead_id})
    receipt_issued(work, payment)  # the family's receipt, queued with the payment
    return {**payment, "warnings": warnings}


@use_case("payments.take")
def take_payment(work: NodeWork, contract_id: str, amount_fen: int, fund_account: str, *,
                 note: str | None = None) -> dict[str, Any]:
    warnings = _supervision(work, fund_account, amount_fen)
    payment = payments.take_payment(work.uow, work.ctx, contract_id, amount_fen, fund_account,
                                    by_user_id=work.actor.user_id, note=note)
    work.audit("payment_taken", target_table="payments", target_id=payment["id"],
               after={"receipt_number": payment["receipt_number"], "amount_fen": amount_fen,
                      "fund_account": fund_account, "contract_id": contract_id})
    receipt_issued(work, payment)
    return {**payment, "warnings": warnings}


@dataclass(frozen=True)
class NewContract:
    student_id: str
    lines: list[LineSpec]
    promo_code: str | None = None
    manual_discount_fen: int = 0
    deposit_ids: list[str] = field(default_factory=list)
    expires_on: str | None = None


@use_case("contracts.sign")
def sign_contract(work: NodeWork, new: NewContract) -> dict[str, Any]:
    principal = work.actor.principal
    roles = principal.roles_at(work.ctx.id) if principal else frozenset({Role.CAMPUS_MANAGER})
    contract = contracts.sign_contract(
        work.uow, work.ctx, new.student_id, new.lines, roles=roles, by_user_id=work.actor.user_id,
        today=work.ctx.today(), promo_code=new.promo_code, manual_discount_fen=new.manual_discount_fen,
        deposit_ids=new.deposit_ids, expires_on=new.expires_on, crm=work.ctx.crm)
    work.audit("contract_signed", target_table="contracts", target_id=contract["id"],
               after={"number": contract["number"], "student_id": new.student_id,
                      "amount_fen": contract["amount_fen"]})
    if contract["prepaid_warnings"]:
        work.audit("prepaid_rule_warning", target_table="contracts", target_id=contract["id"],
                   after={"number": contract["number"], "findings": contract["prepaid_warnings"]})
    if contract["manual_discount_fen"]:
        work.audit("manual_discount", target_table="contracts", target_id=contract["id"],
                   after={"number": contract["number"], "manual_discount_fen": contract["manual_discount_fen"]})
    return contract


@dataclass(frozen=True)
class ContractChange:
    kind: str
    line_id: str | None = None
    hours_x100: int | None = None
    gift_hours_x100: int = 0
    amount_fen: int | None = None
    expires_on: str | None = None
    target: LineSpec | None = None
    reason: str | None = None


@use_case("contracts.change")
def change_contract(work: NodeWork, contract_id: str, change: ContractChange) -> dict[str, Any]:
    before = contracts.contract_view(work.conn, contract_id)
    after = contracts.change_contract(
        work.uow, work.ctx, contract_id, change.kind, by_user_id=work.actor.user_id, today=work.ctx.today(),
        line_id=change.line_id, hours_x100=change.hours_x100, gift_hours_x100=change.gift_hours_x100,
        amount_fen=change.amount_fen, expires_on=change.expires_on, target=change.target, reason=change.reason)
    work.audit(f"contract_{change.kind}", target_table="contracts", target_id=contract_id,
               before={"due_fen": before["due_fen"], "expires_on": before["expires_on"]},
               after={"due_fen": after["due_fen"], "expires_on": after["expires_on"], "reason": change.reason})
    return after


def lines_due_to_expire(conn: Connection, campus_id: str, today: str) -> list[dict[str, Any]]:
    """Lines of this campus's contracts that expired before ``today`` and still hold hours that no
    expiry has taken yet (each with its balance)."""
    expired_contracts = {row.id for row in conn.execute(select(contract_rows.c.id).where(
        contract_rows.c.campus_id == campus_id, contract_rows.c.deleted.is_(False),
        contract_rows.c.expires_on < today))}
    if not expired_contracts:
        return []
    reversed_ids = {row.reverses_entry_id for row in conn.execute(
        select(asset_entries.c.reverses_entry_id).where(asset_entries.c.contract_id.in_(expired_contracts),
                                                        asset_entries.c.reverses_entry_id.is_not(None)))}
    due = []
    for line in conn.execute(select(contract_lines).where(contract_lines.c.contract_id.in_(expired_contracts))
                             ).mappings():
        live_expiry = any(e["kind"] == "expired" and e["id"] not in reversed_ids
                          for e in ledger.entries_of(conn, line["id"]))
        balance = ledger.line_balance(conn, line["id"])
        if not live_expiry and (balance.paid_hours_x100 > 0 or balance.gift_hours_x100 > 0):
            due.append({**dict(line), "balance": balance})
    return due


@use_case("contracts.change")
def expire_contracts(work: NodeWork) -> int:
    """Take the hours left on expired contracts off their lines (under ``extension_required``: such
    hours cannot be scheduled until an extension gives them back). What the books do with the
    value is the campus's ``[books] expiry`` setting. Returns the lines expired."""
    due = lines_due_to_expire(work.conn, work.ctx.id, work.ctx.today().isoformat())
    for line in due:
        ledger.post(work.uow, line, assets.expire(line["balance"]), recorded_campus_id=work.ctx.id,
                    cause_table="contracts", cause_id=line["contract_id"], by_user_id=work.actor.user_id,
                    at=work.ctx.now_text())
    work.audit("contracts_expired", after={"lines": len(due), "contracts": sorted({x["contract_id"] for x in due})})
    return len(due)
