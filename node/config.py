"""A campus node's directory: ``campus.toml`` plus the SQLite store beside it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from campus.node.notify.rules import NotifySettings
from campus.node.portal.codes import PortalSettings
from campus.node.risk.rules import RiskSettings, Rule
from campus.node.service.tickets import ServiceSettings
from campus.schema.config import ConfigError, load_toml, write_toml
from campus.schema.ids import new_id, validate_campus_code
from campus.schema.report_rules import ReportSettings

CONFIG_FILE = "campus.toml"
DEFAULT_PORT = 8100
RISK = RiskSettings()  # the [risk] defaults
SERVICE = ServiceSettings()  # the [service] defaults
NOTIFY = NotifySettings()  # the [notify] defaults
PORTAL = PortalSettings()  # the [portal] defaults
REPORTS = ReportSettings()  # the [reports] defaults
SMS_ADAPTERS = ("file", "off")


EXPIRY_POLICIES = ("extension_required", "may_schedule")
INVOICE_LIMITS = ("consumed", "paid")
SUPERVISED_RECEIPTS = ("off", "warn", "refuse")
BOOKS_EXPIRY = ("keep_deferred", "recognise")


def _choice(section: str, key: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigError(f"[{section}] {key} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _expiry_policy(value: str) -> str:
    if value not in EXPIRY_POLICIES:
        raise ConfigError(f"[contracts] expiry_policy must be one of {', '.join(EXPIRY_POLICIES)}, not {value!r}")
    return value


@dataclass(frozen=True)
class NodeConfig:
    directory: Path
    node_id: str
    campus_id: str
    campus_code: str
    campus_name: str
    secret_key: str
    database: str = "node.sqlite"
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    hub_url: str = ""
    hub_public_key: str = ""  # hex, pinned at enrollment
    sync_interval_seconds: int = 30
    default_locale: str = "zh_CN"
    timezone: str = "Asia/Shanghai"  # the campus's day, for claim limits and auto-return
    private_pool_days: int = 7
    daily_claim_limit: int = 20
    # "extension_required": an expired contract's hours cannot be scheduled until it is extended;
    # "may_schedule": they still can (DOMAIN.md §3).
    expiry_policy: str = "extension_required"
    absent_deducts: bool = True  # 旷课 deducts the lesson's hours
    absence_alert_streak: int = 3
    lesson_change_alert: int = 3  # leave requests, make-ups and transfers of a student in 30 days
    # [books]: simplified VAT in basis points (0: off); what happens to deferred value when hours
    # expire; the teaching campus's share of value it teaches for another campus's contract
    vat_rate_bp: int = 0
    books_expiry: str = "keep_deferred"
    inter_campus_share_bp: int = 5000
    invoice_limit: str = "consumed"  # invoices up to the value consumed, or up to the amount "paid"
    supervised_accounts: tuple[str, ...] = ()  # fund accounts under 资金监管
    supervised_receipts: str = "off"  # prepaid tuition into an unsupervised account: off | warn | refuse
    # [refunds]: the payout deadline in working days after approval, before classes start (no
    # hour consumed yet) and after (local rules, e.g. Tianjin: 5 and 15)
    refund_days_before_start: int = 5
    refund_days_after_start: int = 15
    # [reports]: no attended lesson for dormant_days makes a student dormant; a student whose hours
    # here fall to low_hours_x100 (hundredths) or fewer has run low (the renewal rate's denominator)
    reports_dormant_days: int = REPORTS.dormant_days
    reports_low_hours_x100: int = REPORTS.low_hours_x100
    # [backup]: taken by the serving node every so many hours (0: never), the newest `keep` kept,
    # in `folder` (relative to the directory, or absolute: best on another disk)
    backup_every_hours: int = 24
    backup_keep: int = 7
    backup_folder: str = "backups"
    # [server] TLS (uvicorn's own): a certificate and its key, PEM; session cookies are then Secure
    certfile: str = ""
    keyfile: str = ""
    # [sync] a CA bundle (PEM) to trust for the hub's certificate, e.g. a self-signed hub's own
    ca_file: str = ""
    # [devices]: attendance terminals on ZKTeco's PUSH protocol (campus.node.devices): a second port
    # for them only (terminals are often set to 8081 or 80; 0: the node's own port only), plain HTTP
    devices_port: int = 0
    devices_host: str = ""  # where that port listens ("": [server] host; terminals need a LAN address)
    devices_max_body_bytes: int = 2 * 1024 * 1024  # an upload above it is refused (413)
    devices_requests_per_minute: int = 600  # per terminal; more is answered 429
    devices_max_pending: int = 50  # unknown serial numbers recorded as pending, at most
    devices_keep_photos: bool = True  # keep each punch's photo (ATTPHOTO), or accept and discard it
    devices_delay_seconds: int = 10  # Delay=: how often a terminal polls for commands
    devices_error_delay_seconds: int = 30  # ErrorDelay=: how soon it calls again after a failure
    devices_trans_times: str = "00:00;14:05"  # TransTimes=: when it uploads what it holds anyway
    devices_trans_interval_minutes: int = 1  # TransInterval=
    devices_commands_per_poll: int = 100
    devices_command_timeout_seconds: int = 300  # a command sent and never answered goes out again
    devices_people_sync_seconds: int = 15  # how often the terminals' user lists are brought up to date
    # [risk]: the refund-risk score (危单预警), each factor's weight (points at its threshold) and threshold
    risk_alert_threshold: int = RISK.alert_threshold
    risk_absence_streak_weight: int = RISK.absence_streak.weight
    risk_absence_streak_threshold: int = RISK.absence_streak.threshold
    risk_leave_streak_weight: int = RISK.leave_streak.weight
    risk_leave_streak_threshold: int = RISK.leave_streak.threshold
    risk_lesson_changes_weight: int = RISK.lesson_changes.weight
    risk_lesson_changes_threshold: int = RISK.lesson_changes.threshold
    risk_silent_days_weight: int = RISK.silent_days.weight
    risk_silent_days_threshold: int = RISK.silent_days.threshold
    risk_arrears_weight: int = RISK.arrears.weight
    risk_arrears_threshold_fen: int = RISK.arrears.threshold
    risk_expiry_weight: int = RISK.expiry.weight
    risk_expiry_days: int = RISK.expiry.threshold
    risk_expiry_min_hours_x100: int = RISK.expiry_min_hours_x100
    risk_complaints_weight: int = RISK.complaints.weight  # complaint tickets in 90 days
    risk_complaints_threshold: int = RISK.complaints.threshold
    risk_low_ratings_weight: int = RISK.low_ratings.weight  # lesson ratings and survey scores at [service] low_rating
    risk_low_ratings_threshold: int = RISK.low_ratings.threshold
    # [service]: hours to a ticket's first response per category; a rating (1–5) at or below
    # low_rating is low (a reminder to the class teacher, and the risk score's satisfaction factor)
    service_question_hours: int = SERVICE.question_hours
    service_complaint_hours: int = SERVICE.complaint_hours
    service_request_hours: int = SERVICE.request_hours
    service_low_rating: int = SERVICE.low_rating
    # [notify]: the outbox. E-mail goes through this SMTP server (no host: no e-mail); SMS through an
    # adapter ("file": appended to sms_file, for development; "off": none); how often the worker runs
    notify_smtp_host: str = ""
    notify_smtp_port: int = 25
    notify_smtp_username: str = ""
    notify_smtp_password: str = ""
    notify_smtp_starttls: bool = False
    notify_smtp_timeout_seconds: int = 10
    notify_mail_from: str = "campus@localhost"
    notify_sms_adapter: str = "file"
    notify_sms_file: str = "sms-outbox.jsonl"  # relative to the directory, or absolute
    notify_worker_seconds: int = 10
    notify_quiet_start: str = NOTIFY.quiet_start
    notify_quiet_end: str = NOTIFY.quiet_end
    notify_per_recipient_per_hour: int = NOTIFY.per_recipient_per_hour
    notify_per_channel_per_minute: int = NOTIFY.per_channel_per_minute
    notify_max_attempts: int = NOTIFY.max_attempts
    notify_retry_seconds: int = NOTIFY.retry_seconds
    notify_low_hours_x100: int = NOTIFY.low_hours_x100
    notify_expiring_days: int = NOTIFY.expiring_days
    notify_lesson_reminder_hour: int = NOTIFY.lesson_reminder_hour
    # [portal]: the family portal's one-time codes (lifetime, the wait before another, how many an
    # hour per phone) and the lock after wrong codes or passwords
    portal_code_ttl_seconds: int = PORTAL.code_ttl_seconds
    portal_code_resend_seconds: int = PORTAL.code_resend_seconds
    portal_codes_per_hour: int = PORTAL.codes_per_hour
    portal_max_failures: int = PORTAL.max_failures
    portal_lock_minutes: int = PORTAL.lock_minutes
    portal_codes_per_address: int = PORTAL.codes_per_address  # code requests from one client address...
    portal_address_window_minutes: int = PORTAL.address_window_minutes  # ...in this many minutes

    def risk_settings(self) -> RiskSettings:
        return RiskSettings(
            Rule(self.risk_absence_streak_weight, self.risk_absence_streak_threshold),
            Rule(self.risk_leave_streak_weight, self.risk_leave_streak_threshold),
            Rule(self.risk_lesson_changes_weight, self.risk_lesson_changes_threshold),
            Rule(self.risk_silent_days_weight, self.risk_silent_days_threshold),
            Rule(self.risk_arrears_weight, self.risk_arrears_threshold_fen),
            Rule(self.risk_expiry_weight, self.risk_expiry_days),
            self.risk_expiry_min_hours_x100, self.risk_alert_threshold,
            complaints=Rule(self.risk_complaints_weight, self.risk_complaints_threshold),
            low_ratings=Rule(self.risk_low_ratings_weight, self.risk_low_ratings_threshold))

    def notify_settings(self) -> NotifySettings:
        channels = tuple(c for c, on in (("sms", self.notify_sms_adapter != "off"),
                                         ("email", bool(self.notify_smtp_host))) if on)
        return NotifySettings(self.default_locale, channels, self.notify_quiet_start, self.notify_quiet_end,
                              self.notify_per_recipient_per_hour, self.notify_per_channel_per_minute,
                              self.notify_max_attempts, self.notify_retry_seconds, self.notify_low_hours_x100,
                              self.notify_expiring_days, self.notify_lesson_reminder_hour)

    def portal_settings(self) -> PortalSettings:
        return PortalSettings(self.portal_code_ttl_seconds, self.portal_code_resend_seconds,
                              self.portal_codes_per_hour, self.portal_max_failures, self.portal_lock_minutes,
                              codes_per_address=self.portal_codes_per_address,
                              address_window_minutes=self.portal_address_window_minutes,
                              code_key=f"{self.secret_key}/portal-codes")

    def report_settings(self) -> ReportSettings:
        return ReportSettings(self.reports_dormant_days, self.reports_low_hours_x100)

    def service_settings(self) -> ServiceSettings:
        return ServiceSettings(self.service_question_hours, self.service_complaint_hours,
                               self.service_request_hours, self.service_low_rating)

    @property
    def key_path(self) -> Path:
        return self.directory / "node.key"

    @property
    def database_path(self) -> Path:
        return self.directory / self.database

    @classmethod
    def new(cls, directory: Path, campus_code: str, campus_name: str, **overrides: object) -> NodeConfig:
        return cls(
            directory=directory,
            node_id=str(overrides.pop("node_id", None) or new_id()),
            campus_id=str(overrides.pop("campus_id", None) or new_id()),
            campus_code=validate_campus_code(campus_code),
            campus_name=campus_name,
            secret_key=secrets.token_urlsafe(32),
            **overrides,  # type: ignore[arg-type]
        )

    @classmethod
    def load(cls, directory: Path) -> NodeConfig:
        content = load_toml(directory / CONFIG_FILE)
        if "node" not in content:
            raise ConfigError(f"{directory / CONFIG_FILE} has no [node] section: is it a hub directory?")
        node = content["node"]
        values: dict[str, Any] = {"directory": directory, **{k: node[k] for k in REQUIRED}}
        defaults: dict[str, Any] = {f.name: f.default for f in fields(cls)}
        for name, (section, key) in SETTINGS.items():  # each default is stated once: on the field
            given = content.get(section, {}).get(key, defaults[name])
            values[name] = type(defaults[name])(given) if not isinstance(defaults[name], tuple) else tuple(given)
        _expiry_policy(values["expiry_policy"])
        _choice("books", "invoice_limit", values["invoice_limit"], INVOICE_LIMITS)
        _choice("books", "supervised_receipts", values["supervised_receipts"], SUPERVISED_RECEIPTS)
        _choice("books", "expiry", values["books_expiry"], BOOKS_EXPIRY)
        config = cls(**values)
        try:
            config.risk_settings()
        except ValueError as exc:
            raise ConfigError(f"[risk] {exc}") from None
        _choice("notify", "sms_adapter", values["notify_sms_adapter"], SMS_ADAPTERS)
        try:
            config.service_settings()
            config.notify_settings()
            config.portal_settings()
            config.report_settings()
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        return config

    def save(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        content: dict[str, dict[str, Any]] = {"node": {k: getattr(self, k) for k in REQUIRED}}
        for name, (section, key) in SETTINGS.items():
            value = getattr(self, name)
            content.setdefault(section, {})[key] = list(value) if isinstance(value, tuple) else value
        write_toml(self.directory / CONFIG_FILE, content)


REQUIRED = ("node_id", "campus_id", "campus_code", "campus_name", "secret_key")
# Field name → (campus.toml section, key); the default is the field's.
SETTINGS: dict[str, tuple[str, str]] = {
    "database": ("node", "database"), "timezone": ("node", "timezone"),
    "host": ("server", "host"), "port": ("server", "port"),
    "hub_url": ("sync", "hub_url"), "hub_public_key": ("sync", "hub_public_key"),
    "sync_interval_seconds": ("sync", "interval_seconds"),
    "default_locale": ("ui", "default_locale"),
    "private_pool_days": ("crm", "private_pool_days"), "daily_claim_limit": ("crm", "daily_claim_limit"),
    "expiry_policy": ("contracts", "expiry_policy"),
    "absent_deducts": ("teaching", "absent_deducts"), "absence_alert_streak": ("teaching", "absence_alert_streak"),
    "lesson_change_alert": ("teaching", "lesson_change_alert"),
    "vat_rate_bp": ("books", "vat_rate_bp"), "books_expiry": ("books", "expiry"),
    "inter_campus_share_bp": ("books", "inter_campus_share_bp"), "invoice_limit": ("books", "invoice_limit"),
    "supervised_accounts": ("books", "supervised_accounts"),
    "supervised_receipts": ("books", "supervised_receipts"),
    **{name: ("risk", name.removeprefix("risk_")) for name in (
        "risk_alert_threshold", "risk_absence_streak_weight", "risk_absence_streak_threshold",
        "risk_leave_streak_weight", "risk_leave_streak_threshold", "risk_lesson_changes_weight",
        "risk_lesson_changes_threshold", "risk_silent_days_weight", "risk_silent_days_threshold",
        "risk_arrears_weight", "risk_arrears_threshold_fen", "risk_expiry_weight", "risk_expiry_days",
        "risk_expiry_min_hours_x100", "risk_complaints_weight", "risk_complaints_threshold",
        "risk_low_ratings_weight", "risk_low_ratings_threshold")},
    **{name: ("service", name.removeprefix("service_")) for name in (
        "service_question_hours", "service_complaint_hours", "service_request_hours", "service_low_rating")},
    **{name: ("notify", name.removeprefix("notify_")) for name in (
        "notify_smtp_host", "notify_smtp_port", "notify_smtp_username", "notify_smtp_password",
        "notify_smtp_starttls", "notify_smtp_timeout_seconds", "notify_mail_from", "notify_sms_adapter",
        "notify_sms_file", "notify_worker_seconds", "notify_quiet_start", "notify_quiet_end",
        "notify_per_recipient_per_hour", "notify_per_channel_per_minute", "notify_max_attempts",
        "notify_retry_seconds", "notify_low_hours_x100", "notify_expiring_days", "notify_lesson_reminder_hour")},
    **{name: ("portal", name.removeprefix("portal_")) for name in (
        "portal_code_ttl_seconds", "portal_code_resend_seconds", "portal_codes_per_hour", "portal_max_failures",
        "portal_lock_minutes", "portal_codes_per_address", "portal_address_window_minutes")},
    **{name: ("devices", name.removeprefix("devices_")) for name in (
        "devices_port", "devices_host", "devices_max_body_bytes", "devices_requests_per_minute",
        "devices_max_pending", "devices_keep_photos", "devices_delay_seconds", "devices_error_delay_seconds",
        "devices_trans_times", "devices_trans_interval_minutes", "devices_commands_per_poll",
        "devices_command_timeout_seconds", "devices_people_sync_seconds")},
    "refund_days_before_start": ("refunds", "payout_days_before_start"),
    "refund_days_after_start": ("refunds", "payout_days_after_start"),
    "reports_dormant_days": ("reports", "dormant_days"), "reports_low_hours_x100": ("reports", "low_hours_x100"),
    "backup_every_hours": ("backup", "every_hours"), "backup_keep": ("backup", "keep"),
    "backup_folder": ("backup", "folder"),
    "certfile": ("server", "certfile"), "keyfile": ("server", "keyfile"), "ca_file": ("sync", "ca_file"),
}
