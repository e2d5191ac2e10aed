"""A node's campus context: the campus, its clock and the settings its use cases apply."""

from __future__ import annotations

from dataclasses import dataclass, field

from campus.node.books.rules import BooksPolicy, policy_of
from campus.node.config import NodeConfig
from campus.node.crm.moves import CrmSettings
from campus.node.notify.rules import NotifySettings
from campus.node.portal.codes import PortalSettings
from campus.node.refunds.rules import RefundSettings
from campus.node.risk.rules import RiskSettings
from campus.node.service.tickets import ServiceSettings
from campus.node.teaching.attendance import TeachingSettings
from campus.schema.context import CampusContext, Clock, system_clock
from campus.schema.report_rules import ReportSettings
from campus.web.usecase import Batches, Work


@dataclass(frozen=True)
class NodeContext(CampusContext):
    crm: CrmSettings = field(default_factory=CrmSettings)
    teaching: TeachingSettings = field(default_factory=TeachingSettings)
    books: BooksPolicy = field(default_factory=BooksPolicy)
    risk: RiskSettings = field(default_factory=RiskSettings)
    refunds: RefundSettings = field(default_factory=RefundSettings)
    service: ServiceSettings = field(default_factory=ServiceSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    portal: PortalSettings = field(default_factory=PortalSettings)
    reports: ReportSettings = field(default_factory=ReportSettings)

    @property
    def expiry_policy(self) -> str:
        return self.teaching.expiry_policy

    @classmethod
    def of(cls, config: NodeConfig, clock: Clock = system_clock) -> NodeContext:
        return cls(id=config.campus_id, code=config.campus_code, name=config.campus_name,
                   timezone=config.timezone, clock=clock,
                   crm=CrmSettings(config.private_pool_days, config.daily_claim_limit, config.timezone),
                   teaching=TeachingSettings(config.absent_deducts, config.absence_alert_streak,
                                             config.lesson_change_alert, config.expiry_policy, config.timezone),
                   books=policy_of(config.vat_rate_bp, config.books_expiry, config.inter_campus_share_bp,
                                   config.invoice_limit, config.supervised_accounts, config.supervised_receipts),
                   risk=config.risk_settings(),
                   refunds=RefundSettings(config.refund_days_before_start, config.refund_days_after_start),
                   service=config.service_settings(), notify=config.notify_settings(),
                   portal=config.portal_settings(), reports=config.report_settings())


NodeWork = Work[NodeContext]  # what a node's use case works with: its context carries the settings
NodeBatches = Batches[NodeContext]
