"""Leads: one use case per action (see ``campus.web.usecase``)."""

from __future__ import annotations

from typing import IO, Any

from campus.node.context import NodeBatches, NodeWork
from campus.node.crm import lead_import, leads
from campus.node.crm.moves import move_lead as apply_move
from campus.node.crm.pools import Move
from campus.web import imports
from campus.web.imports import ImportReport, Progress
from campus.web.spreadsheets import MappingChoice
from campus.web.usecase import use_case


def _visible(work: NodeWork, lead_id: str) -> dict[str, Any]:
    """The lead as the actor may see it: another consultant's private lead is not found."""
    principal = work.actor.principal
    if principal is None:
        return leads.get_lead(work.conn, lead_id)
    return leads.get_lead(work.conn, lead_id, principal, work.ctx.id)


@use_case("leads.write")
def create_lead(work: NodeWork, name: str, phone: str, channel: str | None = None,
                notes: str | None = None) -> dict[str, Any]:
    return leads.create_lead(work.uow, work.ctx, name, phone, channel, notes)


@use_case("leads.write")
def edit_lead(work: NodeWork, lead_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    before = _visible(work, lead_id)
    lead = leads.edit_lead(work.uow, lead_id, changes)
    work.audit("lead_edited", target_table="leads", target_id=lead_id,
               before={k: before.get(k) for k in changes}, after={k: lead.get(k) for k in changes})
    return lead


@use_case("leads.write")
def add_follow_up(work: NodeWork, lead_id: str, channel: str, content: str,
                  next_follow_up_on: str | None = None) -> dict[str, Any]:
    _visible(work, lead_id)
    return leads.add_follow_up(work.uow, lead_id, channel, content, next_follow_up_on)


@use_case("leads.move")
def move_lead(work: NodeWork, lead_id: str, move: Move, reason: str | None = None,
              consultant_id: str | None = None) -> dict[str, Any]:
    """One pool move by the actor (claim, release, assign, invite, return, confirm invalid, revive...);
    the lead's history records it."""
    _visible(work, lead_id)
    return apply_move(work.uow, lead_id, move, work.actor.principal, work.ctx.id, work.ctx.now(), work.ctx.crm,
                      reason=reason, consultant_id=consultant_id)


@use_case("leads.import", batched=True)
def import_leads(batches: NodeBatches, stream: IO[bytes], filename: str, choice: MappingChoice | None = None, *,
                 mode: str = "rows", progress: Progress | None = None) -> ImportReport[lead_import.CheckedRow]:
    """Import a lead file: every row checked first, then the valid ones (``rows``; ``all``: none unless
    every row is valid) written in one transaction with the audit event; a failed import is audited too."""
    importer = lead_import.LeadImporter(batches.ctx, batches.ctx.today(), filename, batches.actor.user_id)
    return imports.run(batches, stream, filename, importer, choice, mode=mode, action="leads_imported",
                       failed_action="leads_import_failed", progress=progress)
