"""Running an app under uvicorn: in the foreground for ``serve``, in a thread for the demo and tests."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def tls_files(certfile: str | None, keyfile: str | None) -> tuple[str | None, str | None]:
    """uvicorn's own TLS: a certificate (PEM, with its chain) and its private key, both or neither."""
    if bool(certfile) != bool(keyfile):
        raise ValueError("TLS needs both a certificate file (--certfile) and its key file (--keyfile)")
    for path in (certfile, keyfile):
        if path and not Path(path).is_file():
            raise ValueError(f"{path} does not exist")
    return certfile or None, keyfile or None


def serve_forever(app: ASGIApp, host: str, port: int, certfile: str | None = None,
                  keyfile: str | None = None) -> None:
    cert, key = tls_files(certfile, keyfile)
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False, ssl_certfile=cert, ssl_keyfile=key)


class BackgroundServer:
    """uvicorn on a loopback port in a daemon thread; ``with`` starts it and stops it."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int | None = None,
                 certfile: str | None = None, keyfile: str | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        cert, key = tls_files(certfile, keyfile)
        self.scheme = "https" if cert else "http"
        self.server = uvicorn.Server(
            uvicorn.Config(app, host=host, port=self.port, log_level="warning", lifespan="on", ssl_certfile=cert,
                           ssl_keyfile=key)
        )
        self.thread = threading.Thread(target=self.server.run, name=f"uvicorn:{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def start(self, timeout: float = 15.0) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"server on {self.url} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
