"""people search: trigram indexes over the name, phone and number of leads and students

Per table, two FTS5 indexes that triggers keep in step with every insert, update and delete, so a
replicated row is found as soon as it is applied: ``<table>_search``, the trigrams of the name,
phone and number (external content: the text stays in the row), for a term of three characters or
more; and ``<table>_names``, each pair of neighbouring characters of the name as a word (contentless),
for a two-character name such as 张伟, which has no trigram. SQLite only; PostgreSQL (a large hub)
searches with ILIKE.

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
NAME_PAIRS = 24  # pairs indexed from the start of a name: names are short


def _pairs(name: str) -> str:
    """张伟明 → '张伟 伟明 明 ...': the name's pairs of characters, separated by spaces."""
    return " || ' ' || ".join(f"substr({name}, {i}, 2)" for i in range(1, NAME_PAIRS + 1))


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
        f"CREATE VIRTUAL TABLE {table}_names USING fts5(pairs, content='', tokenize='unicode61')",
        f"CREATE TRIGGER {table}_names_insert AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {table}_names (rowid, pairs) VALUES (new.rowid, {_pairs('new.name')}); END",
        f"CREATE TRIGGER {table}_names_delete AFTER DELETE ON {table} BEGIN "
        f"INSERT INTO {table}_names ({table}_names, rowid, pairs) VALUES ('delete', old.rowid, {_pairs('old.name')}); END",
        f"CREATE TRIGGER {table}_names_update AFTER UPDATE OF name ON {table} BEGIN "
        f"INSERT INTO {table}_names ({table}_names, rowid, pairs) VALUES ('delete', old.rowid, {_pairs('old.name')}); "
        f"INSERT INTO {table}_names (rowid, pairs) VALUES (new.rowid, {_pairs('new.name')}); END",
        f"INSERT INTO {table}_names (rowid, pairs) SELECT rowid, {_pairs('name')} FROM {table}",
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
        for index in ("search", "names"):
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_{index}_{event}")
            op.execute(f"DROP TABLE IF EXISTS {table}_{index}")
