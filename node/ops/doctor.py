"""``campus doctor --dir D`` for a campus node: what is wrong with it, and what to do.

Beside the checks node and hub share (:mod:`campus.schema.doctor`), an enrolled campus's: the
hub answers, its certificate is trusted and not about to expire (plain HTTP only to a private
address), this computer's clock agrees with the hub's, and the outbox is being pushed (and no
restore from a backup is waiting for its first sync)."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from campus.node.config import CONFIG_FILE, NodeConfig
from campus.node.ops.backup import backup_folder
from campus.node.ops.restore import PENDING_FILE
from campus.schema.config import ConfigError
from campus.schema.doctor import (
    MAX_WAL_BYTES,
    MIN_FREE_BYTES,
    Finding,
    check_permissions,
    check_store,
    read_only,
    state_value,
)
from campus.sync.client import tls_verify

MAX_CLOCK_SKEW_SECONDS = 60.0  # the campus's day, lesson times and edit order all follow its clock
OUTBOX_MAX_HOURS = 1.0  # changes waiting longer than this mean sync is not happening
CERT_MIN_DAYS = 14  # a certificate expiring sooner is renewed now, not when the campus stops syncing


def _age(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 7200 else f"{seconds / 60:.0f} min"


def check_hub(config: NodeConfig, now: Callable[[], float] = time.time,
              max_skew: float = MAX_CLOCK_SKEW_SECONDS) -> list[Finding]:
    """The hub answers its health check, and its clock (the ``Date`` of the answer) agrees with ours."""
    url = f"{config.hub_url.rstrip('/')}/healthz"
    try:
        sent = now()
        answer = httpx.get(url, timeout=10, verify=tls_verify(config.ca_file))
        received = now()
    except httpx.HTTPError as exc:
        return [Finding("hub", False, f"{config.hub_url} does not answer: {exc}",
                        "is the network up? is the hub's address in [sync] hub_url right? the campus keeps "
                        "working offline and syncs when the hub is back"),
                Finding("clock", False, "cannot compare with the hub's clock: the hub does not answer")]
    if answer.status_code != 200 or answer.headers.get("content-type", "").split(";")[0] != "application/json" \
            or answer.json().get("role") != "hub":
        return [Finding("hub", False, f"{url} answers {answer.status_code}, not as a Campus hub",
                        "check [sync] hub_url"),
                Finding("clock", False, "cannot compare with the hub's clock")]
    found = [Finding("hub", True, f"{config.hub_url} answers in {(received - sent) * 1000:.0f} ms")]
    try:
        hub_time = parsedate_to_datetime(answer.headers["date"]).timestamp()
    except (KeyError, TypeError, ValueError):
        return [*found, Finding("clock", False, "the hub's answer carries no Date to compare with")]
    # The Date header has whole seconds: the hub's clock read between our two readings, give or take one.
    skew = (sent + received) / 2 - (hub_time + 0.5)
    if abs(skew) > max_skew + (received - sent) / 2:
        direction = "ahead of" if skew > 0 else "behind"
        found.append(Finding("clock", False, f"this computer's clock is {abs(skew):.0f} s {direction} the hub's",
                             "set the clock right (turn on network time: timedatectl set-ntp true); a campus "
                             "clock a day ahead is refused by the hub"))
    else:
        found.append(Finding("clock", True, f"within {max(abs(skew), 1):.0f} s of the hub's"))
    return found


def _private(host: str) -> bool:
    if host in ("localhost",):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_private or address.is_loopback


def check_certificate(config: NodeConfig, now: Callable[[], float] = time.time,
                      min_days: int = CERT_MIN_DAYS) -> Finding:
    """The hub's certificate is trusted (by the system, or the pinned ``[sync] ca_file``) and
    valid for at least ``min_days`` more; plain HTTP is accepted only to a private address."""
    parts = urlsplit(config.hub_url)
    host = parts.hostname or ""
    if parts.scheme != "https":
        if _private(host):
            return Finding("certificate", True, f"plain HTTP to {host}, a private address")
        return Finding("certificate", False, f"the hub is reached over plain HTTP at {host}",
                       "serve the hub over TLS (campus hub serve --certfile --keyfile, or behind Caddy or nginx) "
                       "and use its https:// address in [sync] hub_url")
    context = tls_verify(config.ca_file)
    if not isinstance(context, ssl.SSLContext):
        context = ssl.create_default_context()
    try:
        with socket.create_connection((host, parts.port or 443), timeout=10) as raw, \
                context.wrap_socket(raw, server_hostname=host) as tls:
            certificate = tls.getpeercert() or {}
    except ssl.SSLCertVerificationError as exc:
        pin = f" (trusting only {config.ca_file})" if config.ca_file else ""
        return Finding("certificate", False, f"the hub's certificate is not trusted{pin}: {exc.verify_message}",
                       "renew it, or pin a self-signed hub's certificate with [sync] ca_file (see the README)")
    except OSError as exc:
        return Finding("certificate", False, f"no TLS connection to {host}: {exc}", "is the hub up?")
    expires = ssl.cert_time_to_seconds(str(certificate["notAfter"]))
    days = (expires - now()) / 86400
    if days < min_days:
        return Finding("certificate", False, f"the hub's certificate expires in {days:.0f} days "
                       f"({certificate['notAfter']})", "renew it at headquarters now")
    return Finding("certificate", True, f"trusted{' (pinned ' + config.ca_file + ')' if config.ca_file else ''}, "
                   f"valid {days:.0f} more days")


def check_outbox(config: NodeConfig, head_seq: int, pushed_seq: int, last_sync_ms: int,
                 now: Callable[[], float] = time.time, max_hours: float = OUTBOX_MAX_HOURS) -> Finding:
    if (config.directory / PENDING_FILE).exists():
        return Finding("outbox", False, "restored from a backup and not yet synced: the node must not serve",
                       f"campus sync now --dir {config.directory} once the hub is reachable")
    waiting = head_seq - pushed_seq
    since = now() - last_sync_ms / 1000 if last_sync_ms else None
    last = f"last sync {_age(since)} ago" if since is not None else "never synced"
    if waiting and (since is None or since > max_hours * 3600):
        return Finding("outbox", False, f"{waiting} change(s) wait to be pushed; {last}",
                       "is the node serving (it syncs in the background) and the hub reachable? "
                       f"campus sync now --dir {config.directory} shows what fails")
    return Finding("outbox", True, f"{waiting} change(s) wait to be pushed; {last}")


def doctor(directory: Path, now: Callable[[], float] = time.time, min_free_bytes: int = MIN_FREE_BYTES,
           max_wal_bytes: int = MAX_WAL_BYTES, max_skew: float = MAX_CLOCK_SKEW_SECONDS) -> list[Finding]:
    """Every check of a node directory; all is well when every finding is ok."""
    try:
        config = NodeConfig.load(directory)
    except (ConfigError, KeyError, ValueError, TypeError) as exc:
        return [Finding("config", False, f"{directory / CONFIG_FILE}: {exc}", "fix or restore campus.toml")]
    found = [Finding("config", True, f"campus {config.campus_code} ({config.campus_name}), "
                     f"{'enrolled with ' + config.hub_url if config.hub_url else 'standalone'}"),
             check_permissions([directory / CONFIG_FILE, config.key_path])]
    database = config.database_path
    found += check_store(database, config.backup_every_hours, backup_folder(config), now(),
                         "restore it: campus node restore --from-backup FILE, or from the hub",
                         min_free_bytes, max_wal_bytes)
    if not database.exists():
        return found
    with read_only(database) as conn:
        head, pushed = state_value(conn, "log_head"), state_value(conn, "pushed_seq")
        last_sync = state_value(conn, "last_sync_ms")
    if config.hub_url:
        found += check_hub(config, now, max_skew)
        found.append(check_certificate(config, now))
        found.append(check_outbox(config, head, pushed, last_sync, now))
    return found
