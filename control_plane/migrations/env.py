"""Alembic environment: the control plane's metadata, batch mode for SQLite's ALTER limits."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from control_plane.models import metadata
from downbeat.sqlite import configure_sqlite

config = context.config


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata, literal_binds=True, render_as_batch=True
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = configure_sqlite(create_engine(str(config.get_main_option("sqlalchemy.url")), poolclass=pool.NullPool))
    with engine.connect() as conn:
        _run(conn)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
