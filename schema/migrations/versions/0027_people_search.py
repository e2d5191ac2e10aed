"""people search: trigram indexes over the name, phone and number of leads and students

Per table, two FTS5 indexes: ``<table>_search``, the trigrams of the name, phone and number, for a
term of three characters or more; and ``<table>_names``, each pair of neighbouring characters of the
name as a word, for a two-character name such as 张伟, which has no trigram. Triggers put every
inserted, edited or deleted row on ``search_queue``, and the store brings the indexes up to it
before each write transaction commits (campus.schema.search.flush_search_queue): an FTS5 table
written row by row from a trigger flushes at every statement, ten times the cost of one write of
the whole transaction's rows. SQLite only; PostgreSQL (a large hub) searches with ILIKE.

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
NAME_PAIRS = 16  # pairs indexed from the start of a name: names are short


def _pairs(name: str) -> str:
    """张伟明 → '张伟 伟明 明 ...': the name's pairs of characters, separated by spaces."""
    return " || ' ' || ".join(f"substr({name}, {i}, 2)" for i in range(1, NAME_PAIRS + 1))


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("CREATE TABLE search_queue (table_name TEXT NOT NULL, row INTEGER NOT NULL, "
               "PRIMARY KEY (table_name, row)) WITHOUT ROWID")
    for table in INDEXED:
        op.execute(f"CREATE VIRTUAL TABLE {table}_search USING fts5(name, phone, number, tokenize='trigram', "
                   "columnsize=0)")
        op.execute(f"CREATE VIRTUAL TABLE {table}_names USING fts5(pairs, tokenize='unicode61', columnsize=0)")
        for event, row, when in (("insert", "new", "INSERT"), ("update", "new", "UPDATE OF name, phone, number"),
                                 ("delete", "old", "DELETE")):
            op.execute(f"CREATE TRIGGER {table}_search_{event} AFTER {when} ON {table} BEGIN "
                       f"INSERT OR IGNORE INTO search_queue (table_name, row) VALUES ('{table}', {row}.rowid); END")
        op.execute(f"INSERT INTO {table}_search (rowid, name, phone, number) SELECT rowid, name, phone, number "
                   f"FROM {table}")
        op.execute(f"INSERT INTO {table}_names (rowid, pairs) SELECT rowid, {_pairs('name')} FROM {table}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in INDEXED:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_search_{event}")
        op.execute(f"DROP TABLE IF EXISTS {table}_search")
        op.execute(f"DROP TABLE IF EXISTS {table}_names")
    op.execute("DROP TABLE IF EXISTS search_queue")
