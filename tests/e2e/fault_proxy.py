"""An HTTP proxy on loopback that misbehaves on purpose, between a node and the hub."""

from __future__ import annotations

import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

PASS, DROP_REQUEST, DROP_RESPONSE, DUPLICATE, DELAY = "pass", "drop_request", "drop_response", "duplicate", "delay"


class FaultProxy:
    """Forwards to ``target``; each request suffers ``fault`` with probability ``rate``.

    The draw is seeded, so a failing run can be repeated. (A fixed cycle of faults can fall
    in step with the requests of one sync round and fail the same request for ever.)"""

    def __init__(self, target: str, fault: str, rate: float, seed: int = 7) -> None:
        self.target = target.rstrip("/")
        self.fault, self.rate = fault, rate
        self.random = random.Random(seed)
        self.seen: list[str] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 (the name http.server calls)
                with proxy._lock:
                    fault = proxy.fault if proxy.random.random() < proxy.rate else PASS
                    proxy.seen.append(fault)
                length = int(self.headers.get("content-length", 0))
                if fault == DROP_REQUEST:
                    self.rfile.read(length // 2)  # the connection dies mid-body
                    self.close_connection = True
                    return
                body = self.rfile.read(length)
                headers = {"content-type": self.headers.get("content-type", "")}
                if fault == DELAY:
                    time.sleep(0.3)
                with httpx.Client(timeout=30) as client:
                    answer = client.post(f"{proxy.target}{self.path}", content=body, headers=headers)
                    if fault == DUPLICATE:
                        answer = client.post(f"{proxy.target}{self.path}", content=body, headers=headers)
                if fault == DROP_RESPONSE:  # the hub did the work; the node never hears back
                    self.close_connection = True
                    return
                self.send_response(answer.status_code)
                for name in ("content-type",):
                    if name in answer.headers:
                        self.send_header(name, answer.headers[name])
                self.send_header("content-length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
