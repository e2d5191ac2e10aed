"""Serving the node on its own port and, for terminals, on a second one (``[devices] port``).

Terminals are often set to port 8081 or 80 and speak plain HTTP, so the second port is its own
uvicorn server over the same app (its lifespan runs once, with the main server), answering only
``/iclock/...``: staff screens and the API stay on the node's own port, which may use TLS.
"""

from __future__ import annotations

import asyncio
import threading
import time

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from campus.node.devices.routes import PREFIX, text_answer


class TerminalsOnly:
    """The app as the devices port shows it: the iclock endpoints, and 404 for anything else."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(PREFIX + "/"):
            await text_answer("ERROR: only /iclock/ is served on this port", 404)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class NodeServers:
    """The node's server and the terminals' server in one event loop; ``run`` blocks until both
    stop (Ctrl-C or SIGTERM stops both), ``stop`` asks them to."""

    def __init__(self, app: ASGIApp, host: str, port: int, devices_host: str, devices_port: int,
                 certfile: str | None = None, keyfile: str | None = None, log_level: str = "info") -> None:
        self.main = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level=log_level, proxy_headers=False,
                                                  lifespan="on", ssl_certfile=certfile or None,
                                                  ssl_keyfile=keyfile or None))
        self.devices = uvicorn.Server(uvicorn.Config(TerminalsOnly(app), host=devices_host, port=devices_port,
                                                     log_level=log_level, proxy_headers=False, lifespan="off"))

    async def serve(self) -> None:
        # Each server catches SIGINT and SIGTERM while it runs and passes the signal on when it stops,
        # so one signal stops both.
        await asyncio.gather(self.main.serve(), self.devices.serve())

    def run(self) -> None:
        asyncio.run(self.serve())

    @property
    def started(self) -> bool:
        return self.main.started and self.devices.started

    def stop(self) -> None:
        self.main.should_exit = self.devices.should_exit = True


def serve_with_devices(app: ASGIApp, host: str, port: int, devices_host: str, devices_port: int,
                       certfile: str | None = None, keyfile: str | None = None) -> None:
    NodeServers(app, host, port, devices_host, devices_port, certfile, keyfile).run()


class BackgroundNodeServers:
    """Both servers in a daemon thread, for tests: ``with`` starts them and stops them."""

    def __init__(self, app: ASGIApp, port: int, devices_port: int, host: str = "127.0.0.1") -> None:
        self.servers = NodeServers(app, host, port, host, devices_port, log_level="warning")
        self.url, self.devices_url = f"http://{host}:{port}", f"http://{host}:{devices_port}"
        self.thread = threading.Thread(target=self.servers.run, name=f"uvicorn:{port}+{devices_port}", daemon=True)

    def __enter__(self) -> BackgroundNodeServers:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.servers.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the node's servers did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.servers.stop()
        self.thread.join(timeout=15)
