"""The hub's directory: ``campus.toml`` and, by default, the SQLite store beside it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from campus.schema.config import ConfigError, load_toml, write_toml
from campus.schema.db import sqlite_url
from campus.schema.ids import new_id
from campus.schema.report_rules import ReportSettings

CONFIG_FILE = "campus.toml"
DEFAULT_PORT = 8000
REPORTS = ReportSettings()  # the [reports] defaults


@dataclass(frozen=True)
class HubConfig:
    directory: Path
    hub_id: str
    secret_key: str
    database_url: str = ""  # empty: hub.sqlite in the directory
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    default_locale: str = "zh_CN"
    # [backup] of a SQLite hub (a PostgreSQL hub is backed up with pg_dump), as at a node
    backup_every_hours: int = 24
    backup_keep: int = 7
    backup_folder: str = "backups"
    # [server] TLS (uvicorn's own): certificate and key, PEM; session cookies are then Secure
    certfile: str = ""
    keyfile: str = ""
    # [reports]: the group's dormant window and low-hours line (as a node's [reports]); a changed
    # low_hours_x100 rebuilds the report roll-ups when the hub starts
    reports_dormant_days: int = REPORTS.dormant_days
    reports_low_hours_x100: int = REPORTS.low_hours_x100

    def report_settings(self) -> ReportSettings:
        return ReportSettings(self.reports_dormant_days, self.reports_low_hours_x100)

    @property
    def key_path(self) -> Path:
        return self.directory / "hub.key"

    @property
    def store_url(self) -> str:
        return self.database_url or sqlite_url(self.directory / "hub.sqlite")

    @classmethod
    def new(cls, directory: Path, **overrides: object) -> HubConfig:
        return cls(directory=directory, hub_id=new_id(), secret_key=secrets.token_urlsafe(32), **overrides)  # type: ignore[arg-type]

    @classmethod
    def load(cls, directory: Path) -> HubConfig:
        content = load_toml(directory / CONFIG_FILE)
        if "hub" not in content:
            raise ConfigError(f"{directory / CONFIG_FILE} has no [hub] section: is it a node directory?")
        hub, server, ui, backup = (content.get(k, {}) for k in ("hub", "server", "ui", "backup"))
        reports = content.get("reports", {})
        config = cls(
            directory=directory,
            hub_id=hub["hub_id"],
            secret_key=hub["secret_key"],
            database_url=hub.get("database_url", ""),
            host=server.get("host", "127.0.0.1"),
            port=int(server.get("port", DEFAULT_PORT)),
            default_locale=ui.get("default_locale", "zh_CN"),
            backup_every_hours=int(backup.get("every_hours", cls.backup_every_hours)),
            backup_keep=int(backup.get("keep", cls.backup_keep)),
            backup_folder=str(backup.get("folder", cls.backup_folder)),
            certfile=str(server.get("certfile", "")),
            keyfile=str(server.get("keyfile", "")),
            reports_dormant_days=int(reports.get("dormant_days", REPORTS.dormant_days)),
            reports_low_hours_x100=int(reports.get("low_hours_x100", REPORTS.low_hours_x100)),
        )
        try:
            config.report_settings()
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        return config

    def save(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        write_toml(
            self.directory / CONFIG_FILE,
            {
                "hub": {"hub_id": self.hub_id, "secret_key": self.secret_key, "database_url": self.database_url},
                "server": {"host": self.host, "port": self.port, "certfile": self.certfile, "keyfile": self.keyfile},
                "ui": {"default_locale": self.default_locale},
                "backup": {"every_hours": self.backup_every_hours, "keep": self.backup_keep,
                           "folder": self.backup_folder},
                "reports": {"dormant_days": self.reports_dormant_days, "low_hours_x100": self.reports_low_hours_x100},
            },
        )
