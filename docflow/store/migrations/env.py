"""Alembic environment for docflow: runs on the connection handed over by ``docflow.store.migrate``.

docflow never runs Alembic from an ini file; ``migrate.upgrade`` passes an open connection in
``config.attributes["connection"]``.  ``target_metadata`` lets developers autogenerate new revisions.
"""

from __future__ import annotations

from alembic import context

from docflow.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("docflow migrations run programmatically: use `docflow db upgrade --db URL`")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
