"""The kinds of file a campus imports, described once for the command line, the screens and the API:
their fields, use case, preview and dry run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

from sqlalchemy import Connection

from campus.node.context import NodeContext
from campus.node.crm import lead_import
from campus.node.crm import use_cases as lead_cases
from campus.node.finance import migration
from campus.node.imports import use_cases as migration_cases
from campus.schema.quantities import LessonHours, Money
from campus.web import imports
from campus.web.imports import Importer, ImportReport, Progress
from campus.web.spreadsheets import Field, Layout, MappingChoice, Sheet, find_layout
from campus.web.usecase import UseCase


@dataclass(frozen=True)
class ImportKind:
    name: str  # leads | students
    title: str  # English; screens translate it
    record: str  # what a row creates
    merged: str  # what a merged row is merged into (English, as the command line says it)
    permission: str
    default_mode: str
    fields: tuple[Field, ...]
    use_case: UseCase[..., Any]
    id_key: str  # the API's name of a result's record id
    path: str  # the screen
    record_path: str  # a created record's screen, with {id}
    make: Callable[[Connection | None, NodeContext, str, dict[str, Any]], Importer[Any]]
    shown: Callable[[Any], dict[str, str]]  # a checked row as the preview shows it, by field

    def options(self, ctx: NodeContext, as_of: date | None = None) -> dict[str, Any]:
        """The use case's options beyond the file: the students migration's balances day."""
        if self.name == "students":
            return {"as_of": migration_cases.balances_day(ctx.today(), as_of)}
        return {}

    def label(self, key: str) -> str:
        return next((f.label for f in self.fields if f.key == key), key)

    def layout(self, sheet: Sheet, choice: MappingChoice | None = None) -> Layout:
        """The columns as found by their names (or chosen), even with a required field unmapped."""
        return find_layout(sheet, self.fields, choice)

    def missing(self, layout: Layout) -> list[str]:
        return layout.missing(f.key for f in self.fields if f.required)

    def preview(self, ctx: NodeContext, options: dict[str, Any], sheet: Sheet, layout: Layout,
                limit: int = 10) -> list[dict[str, Any]]:
        items = imports.preview(sheet, layout, self.make(None, ctx, sheet.filename, options), limit)
        for item in items:
            if "checked" in item:
                item["landed"] = self.shown(item.pop("checked"))
        return items

    def dry_run(self, conn: Connection, ctx: NodeContext, options: dict[str, Any], stream: IO[bytes], filename: str,
                choice: MappingChoice | None = None, *, mode: str | None = None,
                progress: Progress | None = None) -> ImportReport[Any]:
        return imports.dry_run(conn, stream, filename, self.make(conn, ctx, filename, options), choice,
                               mode=mode or self.default_mode, progress=progress)

    def total_text(self, key: str, value: int) -> str:
        if key.endswith("_fen"):
            return f"{key.removesuffix('_fen').replace('_', ' ')} {Money(value)}"
        if key.endswith("_x100"):
            return f"{key.removesuffix('_x100').replace('_', ' ')} {LessonHours(value)}"
        return f"{key} {value}"


def _lead(conn: Connection | None, ctx: NodeContext, filename: str, options: dict[str, Any]) -> Importer[Any]:
    return lead_import.LeadImporter(ctx, ctx.today(), filename)


def _shown_lead(row: lead_import.CheckedRow) -> dict[str, str]:
    return {"name": row.name, "phone": row.phone, "channel": row.channel or "", "campaign": row.campaign or "",
            "birthday": row.birthday or "", "notes": row.notes or ""}


def _migration(conn: Connection | None, ctx: NodeContext, filename: str, options: dict[str, Any]) -> Importer[Any]:
    existing = migration.existing_students(conn, ctx.id) if conn is not None else {}
    as_of = options.get("as_of") or migration.default_as_of(ctx.today())
    return migration.StudentMigration(ctx, ctx.name, as_of, ctx.timezone, filename, existing)


def _shown_position(row: migration.Position) -> dict[str, str]:
    return {"name": row.name, "phone": row.phone or "", "guardian_name": row.guardian_name or "",
            "guardian_relation": row.guardian_relation or "", "guardian_phone": row.guardian_phone or "",
            "birthday": row.birthday or "", "grade": row.grade or "", "course": row.course, "level": row.level,
            "delivery": row.delivery, "paid_hours": str(LessonHours(row.paid_hours_x100)),
            "gift_hours": str(LessonHours(row.gift_hours_x100)), "value": str(Money(row.value_fen)),
            "unit_price": str(Money(row.unit_price_fen)), "expires_on": row.expires_on, "signed_on": row.signed_on,
            "notes": row.notes or ""}


LEADS = ImportKind("leads", "Import leads", "lead", "into an existing lead by phone", "leads.import", "rows", lead_import.FIELDS, lead_cases.import_leads,
                   "lead_id", "/leads/import", "/leads/{id}", _lead, _shown_lead)
STUDENTS = ImportKind("students", "Migrate students", "student", "as another course of a student above",
                      "students.migrate", "all", migration.FIELDS,
                      migration_cases.migrate_students, "student_id", "/students/import", "/students/{id}",
                      _migration, _shown_position)
KINDS = {kind.name: kind for kind in (LEADS, STUDENTS)}
