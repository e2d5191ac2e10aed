"""Roles and the one table of which roles may do what; phone masking.

Every route names one action from :data:`PERMISSIONS`; the check happens in one place
(``campus.web.auth``). A role granted with a campus applies at that campus only; a role
granted without one (headquarters) applies everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from campus.schema.errors import DomainError


class Role(StrEnum):
    HQ_ADMIN = "hq_admin"
    CAMPUS_MANAGER = "campus_manager"
    MARKETING = "marketing"
    CONSULTANT = "consultant"
    ACADEMIC_ADVISOR = "academic_advisor"
    TEACHER = "teacher"
    FINANCE = "finance"
    FRONT_DESK = "front_desk"  # 前台: check-ins, marks, receipts; confirms nothing


ALL_STAFF = frozenset(Role)
MANAGERS = frozenset({Role.HQ_ADMIN, Role.CAMPUS_MANAGER})

PERMISSIONS: dict[str, frozenset[Role]] = {
    # the campus's own screens and state
    "home.view": ALL_STAFF,
    "sync.view": ALL_STAFF,
    # leads
    "leads.read": frozenset({*MANAGERS, Role.MARKETING, Role.CONSULTANT, Role.ACADEMIC_ADVISOR}),
    "leads.write": frozenset({*MANAGERS, Role.MARKETING, Role.CONSULTANT}),
    "leads.import": frozenset({*MANAGERS, Role.MARKETING}),
    "leads.phone.read": frozenset({*MANAGERS, Role.CONSULTANT, Role.ACADEMIC_ADVISOR}),
    "leads.all_private.read": frozenset({*MANAGERS, Role.MARKETING}),  # others' private pools
    "leads.move": frozenset({*MANAGERS, Role.CONSULTANT}),  # claim, release, invite, return...
    "leads.manage": MANAGERS,  # assign, confirm invalid, revive, act on anyone's private lead
    # students, contracts, money
    "students.read": ALL_STAFF - {Role.MARKETING},
    "students.write": frozenset({*MANAGERS, Role.CONSULTANT, Role.ACADEMIC_ADVISOR}),
    "students.phone.read": frozenset({*MANAGERS, Role.CONSULTANT, Role.ACADEMIC_ADVISOR, Role.FINANCE}),
    "students.id_number.read": frozenset({*MANAGERS, Role.FINANCE}),  # 身份证号: enrolment papers, invoices
    "students.migrate": frozenset({*MANAGERS, Role.FINANCE}),  # students and their balances from an old system
    "contracts.read": frozenset({*MANAGERS, Role.CONSULTANT, Role.ACADEMIC_ADVISOR, Role.FINANCE}),
    "contracts.sign": frozenset({*MANAGERS, Role.CONSULTANT}),
    "contracts.change": frozenset({*MANAGERS, Role.FINANCE}),  # expand, shrink, write-off, extend, exchange
    "payments.take": frozenset({*MANAGERS, Role.FINANCE, Role.CONSULTANT, Role.FRONT_DESK}),  # deposits, instalments
    "finance.view": frozenset({*MANAGERS, Role.FINANCE}),  # payment lists, receipts, fund accounts
    # the books: journal and statements, closes, manual entries, invoices, supervised funds
    "books.read": frozenset({*MANAGERS, Role.FINANCE}),
    "books.write": frozenset({*MANAGERS, Role.FINANCE}),  # manual entries, invoices, releases
    "books.close": frozenset({*MANAGERS, Role.FINANCE}),
    "books.count": frozenset({*MANAGERS, Role.FINANCE, Role.FRONT_DESK}),  # the daily cash count (日结)
    "expenses.submit": frozenset({*MANAGERS, Role.FINANCE}),
    "expenses.approve": MANAGERS,
    # refunds (退费): request by the consultant or academic advisor, approval by the campus manager,
    # payout by finance; policies kept by headquarters (or a standalone campus)
    "refunds.read": frozenset({*MANAGERS, Role.CONSULTANT, Role.ACADEMIC_ADVISOR, Role.FINANCE}),
    "refunds.request": frozenset({*MANAGERS, Role.CONSULTANT, Role.ACADEMIC_ADVISOR}),
    "refunds.approve": MANAGERS,
    "refunds.pay": frozenset({Role.HQ_ADMIN, Role.FINANCE}),
    "refunds.policies": frozenset({Role.HQ_ADMIN}),
    # payroll (工资): everyone reads their own payslips; finance drafts runs and adjusts them, managers
    # approve; plans are headquarters' (or a standalone campus's); bank accounts unmasked for finance
    "payroll.read_own": ALL_STAFF,
    "payroll.read": frozenset({*MANAGERS, Role.FINANCE}),
    "payroll.manage": frozenset({Role.HQ_ADMIN, Role.FINANCE}),
    "payroll.approve": MANAGERS,
    "payroll.staff": frozenset({*MANAGERS, Role.FINANCE}),
    "payroll.bank.read": frozenset({Role.FINANCE}),
    "payroll.plans": frozenset({Role.HQ_ADMIN}),
    "prices.read": ALL_STAFF,
    "prices.manage": frozenset({Role.HQ_ADMIN}),
    # teaching: classes, lessons, attendance, kiosks
    "teaching.read": ALL_STAFF - {Role.MARKETING},
    "teaching.manage": frozenset({*MANAGERS, Role.ACADEMIC_ADVISOR}),  # rooms, courses, classes, scheduling
    "attendance.mark": frozenset({*MANAGERS, Role.ACADEMIC_ADVISOR, Role.TEACHER, Role.FRONT_DESK}),
    "attendance.confirm": frozenset({*MANAGERS, Role.ACADEMIC_ADVISOR, Role.TEACHER}),
    "attendance.reconfirm": frozenset({*MANAGERS, Role.ACADEMIC_ADVISOR}),
    "attendance.export": frozenset({*MANAGERS, Role.ACADEMIC_ADVISOR}),
    "kiosks.manage": MANAGERS,
    # attendance terminals (ZKTeco PUSH): their screen, approving and revoking them, staff PINs
    "devices.read": frozenset({*MANAGERS, Role.ACADEMIC_ADVISOR, Role.FRONT_DESK}),
    "devices.manage": MANAGERS,
    # what an approved terminal itself does (handshake, polls, uploads, command results): no staff
    # role has it; the node acts for the terminal as a machine actor
    "device-serial": frozenset(),
    # the refund-risk warning (危单预警): scores and alerts for those who follow the students;
    # evaluating on demand (the hourly job does it anyway) for managers and academic advisors
    "risk.read": frozenset({*MANAGERS, Role.CONSULTANT, Role.ACADEMIC_ADVISOR}),
    "risk.evaluate": frozenset({*MANAGERS, Role.ACADEMIC_ADVISOR}),
    # the service desk (客服): tickets (问题单) about students and leads, surveys, the outbox, the
    # knowledge base; "family" is what a family signed in to the portal does (no staff role has it)
    "tickets.read": ALL_STAFF - {Role.MARKETING, Role.TEACHER},
    "tickets.write": frozenset({*MANAGERS, Role.CONSULTANT, Role.ACADEMIC_ADVISOR, Role.FRONT_DESK}),
    "tickets.manage": frozenset({*MANAGERS, Role.FRONT_DESK}),  # the desk (客服): reminded of unassigned overdue ones
    "notifications.read": frozenset({*MANAGERS, Role.FRONT_DESK, Role.ACADEMIC_ADVISOR}),  # the outbox, templates
    "notifications.manage": MANAGERS,  # the campus's wording of messages; sending a failed one again
    "surveys.read": ALL_STAFF - {Role.MARKETING},  # results and satisfaction per class, teacher, campus
    "surveys.manage": frozenset({*MANAGERS, Role.ACADEMIC_ADVISOR}),  # write, open, close surveys
    "surveys.answer": frozenset({*MANAGERS, Role.ACADEMIC_ADVISOR, Role.CONSULTANT, Role.FRONT_DESK}),  # during a call
    "kb.read": ALL_STAFF,  # the knowledge base (知识库): everyone reads and searches it
    "kb.manage": frozenset({Role.HQ_ADMIN}),  # kept by headquarters (or a standalone campus), like the price list
    "family": frozenset(),  # a family signed in to the portal (/portal/): no staff role; audited as family:<phone>
    # merge conflicts
    "conflicts.read": ALL_STAFF,
    "conflicts.resolve": frozenset({*MANAGERS, Role.CONSULTANT, Role.ACADEMIC_ADVISOR}),
    # accounts and the audit trail
    "users.read": MANAGERS,
    "users.manage": frozenset({Role.HQ_ADMIN}),
    "audit.read": MANAGERS,
    "data.export": MANAGERS,  # every business table of a campus, to leave with it (audited)
    # headquarters
    "hub.view": frozenset({Role.HQ_ADMIN}),
    "reports.group": frozenset({Role.HQ_ADMIN, Role.FINANCE}),
    # reports of a campus; the dashboard (a consultant's or advisor's own KPI targets); setting targets
    "reports.read": frozenset({*MANAGERS, Role.FINANCE, Role.MARKETING}),
    "reports.dashboard": frozenset({*MANAGERS, Role.FINANCE, Role.MARKETING, Role.CONSULTANT, Role.ACADEMIC_ADVISOR}),
    "kpi.manage": MANAGERS,
}


# Actions that need no audit event of their own, and why: every other action's use case cannot
# commit without one (DOMAIN §9: refunds, prices, attendance changes, permissions... are audited),
# and every other mutating route reaches such a use case (tests walk the route tables).
NOT_SENSITIVE: dict[str, str] = {
    "public": "signing in and out (the account code audits sign-ins and lock-outs); pairing a kiosk browser",
    "device-signature": "kiosk marks: signed by the device, stored append-only with its id, confirmed later",
    "node-signature": "sync: signed, hash-chained batches kept verbatim",
    "device-serial": "attendance terminals (ZKTeco PUSH): known by an approved serial number (optionally pinned to "
                     "its address); punches are append-only rows, idempotent on terminal, PIN and time, marks "
                     "confirmed later; the user lists it keeps in step follow the campus's own records",
    "home.view": "revoking one's own API token",
    "leads.write": "new leads and follow-ups are themselves dated records naming who wrote them",
    "leads.move": "every pool move is a lead_history row: who, when, from which pool to which, why",
    "attendance.mark": "a mark is an append-only row naming its source and user; changing a confirmed one "
                       "(attendance.reconfirm) is audited",
}


class PermissionDenied(DomainError):
    """The signed-in user's roles do not allow this action here (403)."""

    status = 403


class NotSignedIn(DomainError):
    """No valid session or token (401)."""

    status = 401


@dataclass(frozen=True)
class Principal:
    """Who is asking: a user and their roles, per campus (None: every campus)."""

    user_id: str
    username: str
    display_name: str
    grants: dict[str | None, frozenset[Role]] = field(default_factory=dict)

    def roles_at(self, campus_id: str | None) -> frozenset[Role]:
        return self.grants.get(None, frozenset()) | (self.grants.get(campus_id, frozenset()) if campus_id else frozenset())

    def can(self, action: str, campus_id: str | None) -> bool:
        return bool(self.roles_at(campus_id) & PERMISSIONS[action])

    def require(self, action: str, campus_id: str | None) -> None:
        if not self.can(action, campus_id):
            raise PermissionDenied(f"{self.username} may not {action} here", action=action)


def mask_id_number(number: str | None) -> str | None:
    """110105********1234: the region and the last four, enough to tell two documents apart."""
    if not number:
        return number
    if len(number) <= 8:
        return "*" * len(number)
    return f"{number[:6]}{'*' * (len(number) - 10)}{number[-4:]}" if len(number) > 10 else \
        f"{number[:2]}{'*' * (len(number) - 4)}{number[-2:]}"


def mask_phone(phone: str | None) -> str | None:
    """138****5678: enough to recognise a number on the phone, not enough to call it."""
    if not phone:
        return phone
    if len(phone) <= 7:
        return "*" * len(phone)
    return f"{phone[:3]}{'*' * (len(phone) - 7)}{phone[-4:]}"
