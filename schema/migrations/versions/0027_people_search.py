"""people search: trigram indexes over the name, phone and number of leads and students

Each is an FTS5 table over its rows (external content: the text stays in the row, the index keeps
its trigrams) that triggers keep in step with every insert, update and delete, so a replicated row
is found as soon as it is applied. SQLite only; PostgreSQL (a large hub) searches with ILIKE.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-02
"""

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

INDEXED = ("leads", "students")
COLUMNS = "name, phone, number"


def _statements(table: str) -> list[str]:
    old = "old.name, old.phone, old.number"
    new = "new.name, new.phone, new.number"
    return [
        f"CREATE VIRTUAL TABLE {table}_search USING fts5({COLUMNS}, content='{table}', tokenize='trigram')",
        f"CREATE TRIGGER {table}_search_insert AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {table}_search (rowid, {COLUMNS}) VALUES (new.rowid, {new}); END",
        f"CREATE TRIGGER {table}_search_delete AFTER DELETE ON {table} BEGIN "
        f"INSERT INTO {table}_search ({table}_search, rowid, {COLUMNS}) VALUES ('delete', old.rowid, {old}); END",
        f"CREATE TRIGGER {table}_search_update AFTER UPDATE OF {COLUMNS} ON {table} BEGIN "
        f"INSERT INTO {table}_search ({table}_search, rowid, {COLUMNS}) VALUES ('delete', old.rowid, {old}); "
        f"INSERT INTO {table}_search (rowid, {COLUMNS}) VALUES (new.rowid, {new}); END",
        f"INSERT INTO {table}_search ({table}_search) VALUES ('rebuild')",
    ]


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in INDEXED:
        for statement in _statements(table):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in INDEXED:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_search_{event}")
        op.execute(f"DROP TABLE IF EXISTS {table}_search")
