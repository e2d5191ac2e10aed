"""Every answer of node and hub carries the security headers, and no screen needs inline script:
the one script is served by the app and the policy allows nothing else."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.testclient import TestClient

from campus.hub.app import create_app as create_hub
from campus.hub.config import HubConfig
from tests.conftest import sign_in

ROOT = Path(__file__).parents[2]


def _assert_secured(headers: dict[str, str]) -> None:
    policy = headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"


def test_node_pages_api_and_errors_carry_the_security_headers(node_client: TestClient) -> None:
    for path in ("/", "/students", "/api/v1/openapi.json", "/api/v1/students/nobody", "/login", "/static/app.js"):
        _assert_secured(node_client.get(path).headers)


def test_hub_pages_carry_the_security_headers(hub_config: HubConfig) -> None:
    with TestClient(create_hub(hub_config)) as client:
        sign_in(client)
        for path in ("/", "/books", "/api/v1/campuses"):
            _assert_secured(client.get(path).headers)


def test_no_template_holds_inline_script_or_inline_event_handlers() -> None:
    for template in [*ROOT.glob("node/templates/*.html"), *ROOT.glob("hub/templates/*.html"),
                     *ROOT.glob("web/templates/*.html")]:
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"\son[a-z]+=", text), template.name
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template.name
