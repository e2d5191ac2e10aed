"""The node's staff-screen templates; each capability's screens live in its own package."""

from __future__ import annotations

from pathlib import Path

from campus.web.templating import make_templates

TEMPLATES = make_templates(Path(__file__).parent / "templates")
