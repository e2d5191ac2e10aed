"""A campus node's directory: ``campus.toml`` plus the SQLite store beside it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from campus.schema.config import ConfigError, load_toml, write_toml
from campus.schema.ids import new_id, validate_campus_code

CONFIG_FILE = "campus.toml"
DEFAULT_PORT = 8100


EXPIRY_POLICIES = ("extension_required", "may_schedule")


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
        node, server, sync, ui = (content.get(k, {}) for k in ("node", "server", "sync", "ui"))
        return cls(
            directory=directory,
            node_id=node["node_id"],
            campus_id=node["campus_id"],
            campus_code=node["campus_code"],
            campus_name=node["campus_name"],
            secret_key=node["secret_key"],
            database=node.get("database", "node.sqlite"),
            host=server.get("host", "127.0.0.1"),
            port=int(server.get("port", DEFAULT_PORT)),
            hub_url=sync.get("hub_url", ""),
            hub_public_key=sync.get("hub_public_key", ""),
            sync_interval_seconds=int(sync.get("interval_seconds", 30)),
            default_locale=ui.get("default_locale", "zh_CN"),
            timezone=node.get("timezone", "Asia/Shanghai"),
            private_pool_days=int(content.get("crm", {}).get("private_pool_days", 7)),
            daily_claim_limit=int(content.get("crm", {}).get("daily_claim_limit", 20)),
            absent_deducts=bool(content.get("teaching", {}).get("absent_deducts", True)),
            absence_alert_streak=int(content.get("teaching", {}).get("absence_alert_streak", 3)),
            lesson_change_alert=int(content.get("teaching", {}).get("lesson_change_alert", 3)),
            expiry_policy=_expiry_policy(content.get("contracts", {}).get("expiry_policy", "extension_required")),
        )

    def save(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        write_toml(
            self.directory / CONFIG_FILE,
            {
                "node": {
                    "node_id": self.node_id,
                    "campus_id": self.campus_id,
                    "campus_code": self.campus_code,
                    "campus_name": self.campus_name,
                    "secret_key": self.secret_key,
                    "database": self.database,
                    "timezone": self.timezone,
                },
                "server": {"host": self.host, "port": self.port},
                "sync": {"hub_url": self.hub_url, "hub_public_key": self.hub_public_key,
                         "interval_seconds": self.sync_interval_seconds},
                "ui": {"default_locale": self.default_locale},
                "crm": {"private_pool_days": self.private_pool_days, "daily_claim_limit": self.daily_claim_limit},
                "contracts": {"expiry_policy": self.expiry_policy},
                "teaching": {"absent_deducts": self.absent_deducts, "absence_alert_streak": self.absence_alert_streak,
                             "lesson_change_alert": self.lesson_change_alert},
            },
        )
