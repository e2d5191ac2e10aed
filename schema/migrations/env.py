from alembic import context

from campus.schema.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through campus.schema.migrate.upgrade(engine)")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
# Autogenerate renders each table's info={"sync": ...} policy into create_table(); delete those
# lines from a new revision: the policy lives in campus.schema.tables, not in the database.
