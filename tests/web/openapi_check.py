"""Checks every ``/api/v1`` answer a test client receives against the OpenAPI its app publishes:
the operation is documented, the content type is the one documented for its status, and the body
validates against the documented schema (when the operation declares one)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import httpx
import jsonschema_rs

STATUS_KEYS = {2: "2XX", 4: "4XX"}


@dataclass
class ResponseChecker:
    spec: dict[str, Any]
    failures: list[str] = field(default_factory=list)
    checked: set[str] = field(default_factory=set)  # "GET /api/v1/leads/{lead_id}": bodies validated
    undeclared: set[str] = field(default_factory=set)  # answered, with no schema to validate against

    def __post_init__(self) -> None:
        templates = sorted(self.spec["paths"], key=lambda t: t.count("{"))  # a literal segment wins
        self._paths = [(re.compile("^" + re.sub(r"\{\w+\}", "[^/]+", t) + "$"), t) for t in templates]

    def __call__(self, response: httpx.Response) -> None:
        path, method = response.request.url.path, response.request.method
        if not path.startswith("/api/v1/") or path == "/api/v1/openapi.json":
            return
        template = next((t for pattern, t in self._paths if pattern.match(path)
                         and method.lower() in self.spec["paths"][t]), None)
        if template is None:
            self.failures.append(f"{method} {path}: not in the OpenAPI")
            return
        name = f"{method} /api/v1{template.removeprefix('/api/v1')}"
        responses = self.spec["paths"][template][method.lower()]["responses"]
        documented = responses.get(STATUS_KEYS.get(response.status_code // 100, ""), responses["default"])
        media = response.headers.get("content-type", "").split(";")[0]
        if media not in documented["content"]:
            self.failures.append(f"{name} {response.status_code}: {media}, not {list(documented['content'])}")
            return
        schema = documented["content"][media].get("schema")
        if schema is None:
            self.undeclared.add(name)
            return
        response.read()
        validator = jsonschema_rs.validator_for({**schema, "components": self.spec["components"]})
        errors = [f"{e.instance_path}: {e.message}"[:300] for e in validator.iter_errors(response.json())]
        if errors:
            self.failures.append(f"{name} {response.status_code}: {errors[:3]}")
        elif response.status_code < 300:
            self.checked.add(name)


def check_responses(client: Any) -> ResponseChecker:
    """Check every later answer ``client`` (a Starlette TestClient) receives."""
    checker = ResponseChecker(client.get("/api/v1/openapi.json").json())
    client.event_hooks = {**client.event_hooks, "response": [*client.event_hooks["response"], checker]}
    return checker
