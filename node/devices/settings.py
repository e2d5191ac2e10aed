"""The ``[devices]`` section of campus.toml, as the devices capability applies it."""

from __future__ import annotations

from dataclasses import dataclass, field

from campus.node.config import NodeConfig
from campus.node.devices.protocol import Schedule


@dataclass(frozen=True)
class DeviceSettings:
    port: int = 0  # a second port for terminals only; 0: the node's own port only
    host: str = ""  # where that port listens ("": the node's own address)
    max_body_bytes: int = 2 * 1024 * 1024
    requests_per_minute: int = 600  # per terminal; a burst of check-ins at a lesson's start fits
    max_pending: int = 50  # unknown serial numbers recorded as pending at most
    keep_photos: bool = True  # ATTPHOTO: keep each punch's photo, or accept and discard it
    commands_per_poll: int = 100
    command_timeout_seconds: int = 300  # a command sent and never answered goes out again after this
    people_sync_seconds: int = 15  # how often the terminals' user lists are brought up to date
    schedule: Schedule = field(default_factory=Schedule)

    @classmethod
    def of(cls, config: NodeConfig) -> DeviceSettings:
        return cls(config.devices_port, config.devices_host, config.devices_max_body_bytes,
                   config.devices_requests_per_minute, config.devices_max_pending, config.devices_keep_photos,
                   config.devices_commands_per_poll, config.devices_command_timeout_seconds,
                   config.devices_people_sync_seconds,
                   Schedule(config.devices_error_delay_seconds, config.devices_delay_seconds,
                            config.devices_trans_times, config.devices_trans_interval_minutes, True))
