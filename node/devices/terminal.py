"""A simulated attendance terminal that behaves as the PUSH protocol says a terminal does: the
demo's clock at the door, the tests' device, and ``scripts/device_sim.py``'s.

It shakes hands (``GET /iclock/cdata?options=all``) and takes its stamps and Delay from the
answer; keeps its punches in its own log, each with a stamp, and uploads those after the last
stamp the node confirmed (``POST /iclock/cdata?table=ATTLOG&Stamp=...``), re-sending until it
reads ``OK``; polls ``getrequest`` every Delay seconds and carries out the commands it gets
(users put on and taken off, CHECK, INFO, DATA QUERY ATTLOG, REBOOT), answering each on
``devicecmd``. Names come and go in its charset: GB18030 when it is set to Chinese.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

import httpx

from campus.node.devices import protocol

CHINESE = protocol.CHINESE


@dataclass
class LoggedPunch:
    stamp: int
    punch: protocol.Punch


@dataclass
class Terminal:
    url: str
    serial: str
    push_version: str | None = protocol.PUSH_VERSION  # None: an old terminal, without pushver
    language: str = "69"  # 83: Simplified Chinese, names in GB18030
    batch_size: int = 500
    timeout: float = 10.0
    failing_pins: set[str] = field(default_factory=set)  # user commands for these PINs answer Return=-1002
    options: dict[str, str] = field(default_factory=dict)
    log: list[LoggedPunch] = field(default_factory=list)
    confirmed_stamp: int = 0  # punches up to this stamp are stored at the node
    users: dict[str, str] = field(default_factory=dict)  # PIN → name, as the node put them on
    executed: list[str] = field(default_factory=list)
    last_status: int | None = None
    last_text: str = ""
    commands_response: httpx.Response | None = None  # the last answer to getrequest, as it came

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.url, timeout=self.timeout)
        self._lock = threading.Lock()

    @property
    def charset(self) -> str:
        return protocol.default_charset(self.language)

    @property
    def delay(self) -> float:
        return float(self.options.get("Delay", 10))

    @property
    def error_delay(self) -> float:
        return float(self.options.get("ErrorDelay", 30))

    def close(self) -> None:
        self.client.close()

    def _params(self, **extra: str) -> dict[str, str]:
        return {"SN": self.serial, **extra}

    def _text(self, response: httpx.Response) -> str:
        self.last_status = response.status_code
        self.last_text = response.content.decode(self.charset, errors="replace")
        return self.last_text

    # --- the handshake --------------------------------------------------------------------------

    def handshake(self) -> bool:
        """Ask for the options; True when the node serves this terminal. The node's stamp says where
        its uploads resume (0: everything it holds)."""
        params = self._params(options="all", language=self.language)
        if self.push_version:
            params["pushver"] = self.push_version
        try:
            text = self._text(self.client.get("/iclock/cdata", params=params))
        except httpx.TransportError:
            return False
        if self.last_status != 200 or not text.startswith("GET OPTION FROM:"):
            return False
        self.options = dict(line.split("=", 1) for line in text.splitlines()[1:] if "=" in line)
        kept = self.options.get("ATTLOGStamp", self.options.get("Stamp", "0"))
        self.confirmed_stamp = int(kept) if kept.isdigit() else 0
        return True

    # --- punches ----------------------------------------------------------------------------------

    def punch(self, pin: str, at: datetime, status: str = "0", verify: str = "1", extra: tuple[str, ...] = ()) -> None:
        """Someone punches in: kept in the terminal's log with the next stamp."""
        with self._lock:
            stamp = (self.log[-1].stamp if self.log else 0) + 1
            self.log.append(LoggedPunch(stamp, protocol.Punch(pin, at.replace(microsecond=0), status, verify, "0", extra)))

    def pending(self) -> list[LoggedPunch]:
        with self._lock:
            return [p for p in self.log if p.stamp > self.confirmed_stamp]

    def upload_once(self, chunk_delay: float = 0.0) -> int | None:
        """Upload the next batch after the confirmed stamp; the number the node said it took
        (``OK: n``), 0 when nothing waits, None when the upload failed (it goes again)."""
        batch = self.pending()[:self.batch_size]
        if not batch:
            return 0
        body = ("\n".join(p.punch.line() for p in batch) + "\n").encode()
        count = self.post_table("ATTLOG", body, stamp=str(batch[-1].stamp), chunk_delay=chunk_delay)
        if count is None:
            return None
        with self._lock:
            self.confirmed_stamp = max(self.confirmed_stamp, batch[-1].stamp)
        return count

    def upload_all(self, deadline: float, retry_every: float | None = None) -> bool:
        """Upload everything pending, re-sending a batch until the node says OK (shaking hands
        again after a failure, as a terminal does), until ``deadline`` (time.monotonic())."""
        while self.pending():
            if time.monotonic() > deadline:
                return False
            if self.upload_once() is None:
                time.sleep(self.error_delay if retry_every is None else retry_every)
                self.handshake()
        return True

    def post_table(self, table: str, body: bytes, stamp: str | None = None, chunk_delay: float = 0.0) -> int | None:
        """POST ``body`` to ``/iclock/cdata?table=...``: the count of ``OK: n`` (or 0 for a bare OK),
        None unless the node said OK."""
        params = self._params(table=table)
        if stamp is not None:
            params["Stamp"] = stamp
        try:
            if chunk_delay:
                response = self.client.post("/iclock/cdata", params=params, content=_slowly(body, chunk_delay),
                                            headers={"Content-Length": str(len(body))})
            else:
                response = self.client.post("/iclock/cdata", params=params, content=body)
        except httpx.TransportError:
            self.last_status = None
            return None
        text = self._text(response).strip()
        if response.status_code != 200 or not text.startswith("OK"):
            return None
        count = text.partition(":")[2].strip()
        return int(count) if count.isdigit() else 0

    def upload_users(self, users: dict[str, str], stamp: str = "1") -> int | None:
        """Upload the users enrolled on it (OPERLOG), names in its charset."""
        lines = [f"USER PIN={pin}\tName={name}\tPri=0\tPasswd=\tCard=\tGrp=1" for pin, name in users.items()]
        return self.post_table("OPERLOG", ("\n".join(lines) + "\n").encode(self.charset), stamp=stamp)

    # --- commands ---------------------------------------------------------------------------------

    def poll(self) -> list[str]:
        """``getrequest``: carry out each command and answer them all on ``devicecmd``."""
        try:
            self.commands_response = self.client.get("/iclock/getrequest", params=self._params())
        except httpx.TransportError:
            return []
        text = self._text(self.commands_response)
        if self.last_status != 200:
            return []
        results, done = [], []
        for line in text.splitlines():
            if not line.startswith("C:"):
                continue
            _, number, command = line.split(":", 2)
            code, info = self._execute(command)
            results.append(f"ID={number}&Return={code}&CMD={command.split()[0]}" + "".join(f"\n{k}={v}" for k, v in info))
            done.append(command)
        if results:
            try:
                self._text(self.client.post("/iclock/devicecmd", params=self._params(),
                                            content=("\n".join(results) + "\n").encode(self.charset)))
            except httpx.TransportError:
                pass  # the node sends them again after its timeout
        self.executed += done
        return done

    def _execute(self, command: str) -> tuple[int, list[tuple[str, str]]]:
        fields = dict(part.split("=", 1) for part in command.split("\t") if "=" in part)
        first = command.split("\t")[0]
        if first.startswith(("DATA UPDATE USERINFO", "DATA DELETE USERINFO")):
            pin = first.rsplit("PIN=", 1)[-1]
            if pin in self.failing_pins:
                return -1002, []
            if first.startswith("DATA UPDATE"):
                self.users[pin] = fields.get("Name", "")
            else:
                self.users.pop(pin, None)
            return 0, []
        if command == "CHECK":  # as the firmware that takes it most broadly: upload everything it holds again
            self.handshake()
            self.confirmed_stamp = 0
            while self.pending() and self.upload_once() is not None:
                pass
            return 0, []
        if command.startswith("DATA QUERY ATTLOG"):
            start = protocol.parse_time(fields.get("StartTime", ""))
            end = protocol.parse_time(fields.get("EndTime", ""))
            again = [p for p in self.log if start and end and start <= p.punch.time <= end]
            if again:
                body = ("\n".join(p.punch.line() for p in again) + "\n").encode()
                self.post_table("ATTLOG", body, stamp=str(again[-1].stamp))
            return 0, []
        if command == "INFO":
            return 0, [("~DeviceName", "SimClock"), ("UserCount", str(len(self.users))),
                       ("TransactionCount", str(len(self.log)))]
        if command in ("REBOOT", "LOG"):
            return 0, []
        return -1, []

    # --- the terminal's own loop ------------------------------------------------------------------

    def run(self, stop: threading.Event, delay: float | None = None) -> None:
        """What the terminal does while switched on: shake hands until served, then every Delay
        seconds poll for commands and upload what it holds, re-sending until OK."""
        while not stop.is_set() and not self.handshake():
            stop.wait(self.error_delay if delay is None else delay)
        while not stop.is_set():
            self.poll()
            if self.upload_once() is None:
                stop.wait(self.error_delay if delay is None else delay)
                self.handshake()
                continue
            stop.wait(self.delay if delay is None else delay)


def _slowly(body: bytes, chunk_delay: float, pieces: int = 10) -> Iterator[bytes]:
    """The body in pieces with a pause between them: a terminal on a slow link."""
    size = max(1, len(body) // pieces)
    for start in range(0, len(body), size):
        yield body[start:start + size]
        time.sleep(chunk_delay)
