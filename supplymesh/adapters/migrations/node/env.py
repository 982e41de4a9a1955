"""Alembic environment for a node's database: runs on the connection it is given."""

from alembic import context

from supplymesh.adapters.node_store import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=context.config.attributes["version_table"],
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
