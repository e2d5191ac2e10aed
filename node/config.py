"""A campus node's directory: ``campus.toml`` plus the SQLite store beside it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from campus.node.risk.rules import RiskSettings, Rule
from campus.schema.config import ConfigError, load_toml, write_toml
from campus.schema.ids import new_id, validate_campus_code

CONFIG_FILE = "campus.toml"
DEFAULT_PORT = 8100
RISK = RiskSettings()  # the [risk] defaults


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

    def risk_settings(self) -> RiskSettings:
        return RiskSettings(
            Rule(self.risk_absence_streak_weight, self.risk_absence_streak_threshold),
            Rule(self.risk_leave_streak_weight, self.risk_leave_streak_threshold),
            Rule(self.risk_lesson_changes_weight, self.risk_lesson_changes_threshold),
            Rule(self.risk_silent_days_weight, self.risk_silent_days_threshold),
            Rule(self.risk_arrears_weight, self.risk_arrears_threshold_fen),
            Rule(self.risk_expiry_weight, self.risk_expiry_days),
            self.risk_expiry_min_hours_x100, self.risk_alert_threshold)

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
        "risk_expiry_min_hours_x100")},
    "refund_days_before_start": ("refunds", "payout_days_before_start"),
    "refund_days_after_start": ("refunds", "payout_days_after_start"),
}
