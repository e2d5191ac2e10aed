"""Reading and writing the TOML configuration file kept in a node's or the hub's directory."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import tomli_w


class ConfigError(Exception):
    pass


def load_toml(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ConfigError(f"{path} does not exist: run 'campus ... init' for this directory first")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None


def write_toml(path: Path, content: dict[str, Any]) -> None:
    path.write_text(tomli_w.dumps(content), encoding="utf-8")
    path.chmod(0o600)  # it holds the session secret
