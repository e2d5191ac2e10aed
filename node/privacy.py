"""Who saw whose personal data in full: a lead's or a student's detail (screen or API) shown to a
user with the right to the unmasked phone or ID number records one audit event naming the record
and the fields shown in full, never their values. Lists are not recorded, nor a record with
nothing unmasked to show (no phone, no ID number, or a viewer who sees them masked)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from campus.node.context import NodeWork
from campus.schema.permissions import Principal
from campus.web.usecase import use_case

VIEWED = "personal_data_viewed"


def unmasked_lead_fields(lead: dict[str, Any], viewer: Principal, campus_id: str) -> list[str]:
    return ["phone"] if lead.get("phone") and viewer.can("leads.phone.read", campus_id) else []


def unmasked_student_fields(student: dict[str, Any], viewer: Principal, campus_id: str) -> list[str]:
    fields = []
    if viewer.can("students.phone.read", campus_id):
        if student.get("phone"):
            fields.append("phone")
        if any(g.get("phone") for g in student.get("guardians", [])):
            fields.append("guardians.phone")
    if student.get("id_number") and viewer.can("students.id_number.read", campus_id):
        fields.append("id_number")
    return fields


@use_case("leads.phone.read")
def lead_viewed(work: NodeWork, lead_id: str, number: str | None, fields: list[str]) -> None:
    work.audit(VIEWED, target_table="leads", target_id=lead_id, after={"number": number, "fields": fields})


@use_case("students.read")
def student_viewed(work: NodeWork, student_id: str, number: str | None, fields: list[str]) -> None:
    work.audit(VIEWED, target_table="students", target_id=student_id, after={"number": number, "fields": fields})


async def audit_lead_view(request: Request, lead: dict[str, Any]) -> None:
    """Record that the request's user saw ``lead`` (as stored, before masking) in full, if they did."""
    node = request.app.state.node
    fields = unmasked_lead_fields(lead, request.state.principal, node.config.campus_id)
    if fields:
        await node.perform(request, lead_viewed, lead["id"], lead.get("number"), fields)


async def audit_student_view(request: Request, student: dict[str, Any]) -> None:
    """Record that the request's user saw ``student`` (as stored, before masking) in full, if they did."""
    node = request.app.state.node
    fields = unmasked_student_fields(student, request.state.principal, node.config.campus_id)
    if fields:
        await node.perform(request, student_viewed, student["id"], student.get("number"), fields)
