"""The students migration's use case (the lead import's is ``crm.use_cases.import_leads``)."""

from __future__ import annotations

from datetime import date
from typing import IO

from campus.node.context import NodeBatches
from campus.node.finance import migration
from campus.schema.errors import Invalid
from campus.web import imports
from campus.web.imports import ImportReport, Progress
from campus.web.spreadsheets import MappingChoice
from campus.web.usecase import use_case


def balances_day(today: date, as_of: date | None) -> date:
    """The day the old system's figures are as of: before today (the default: the previous month's last day)."""
    chosen = as_of or migration.default_as_of(today)
    if chosen >= today:
        raise Invalid("as_of", f"the balances' day must be before today ({today.isoformat()})")
    return chosen


@use_case("students.migrate", batched=True)
def migrate_students(batches: NodeBatches, stream: IO[bytes], filename: str, choice: MappingChoice | None = None,
                     *, mode: str = "all", as_of: date | None = None,
                     progress: Progress | None = None) -> ImportReport[migration.Position]:
    """Students with their remaining hours and value from an old system, as opening-balance contracts:
    all or nothing by default; the ledger's totals must equal the file's before anything is kept."""
    ctx = batches.ctx
    day = balances_day(ctx.today(), as_of)
    with batches.store.read() as conn:
        existing = migration.existing_students(conn, ctx.id)
    importer = migration.StudentMigration(ctx, ctx.name, day, ctx.timezone, filename, existing, batches.actor.user_id)
    return imports.run(batches, stream, filename, importer, choice, mode=mode, action="students_migrated",
                       failed_action="students_migration_failed", progress=progress)
