"""
Alembic environment of eshop's SQL backend.

Run through :mod:`eshop_adapters.storage.migrate`, which passes the connection
(already inside its transaction) as ``config.attributes["connection"]`` and
the PostgreSQL schema, if any, as ``config.attributes["schema"]`` (alembic's
version table is kept in it; the tables get there through the connection's
``schema_translate_map``). With no connection, the URL in the
``sqlalchemy.url`` option is used. Logging is left alone: no ``fileConfig``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from eshop_adapters.storage.metadata import load_metadata

config = context.config
target_metadata = load_metadata()


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        version_table_schema=config.attributes.get("schema"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    """Emit the migrations as SQL for the URL in ``sqlalchemy.url``."""
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=bool(url and url.startswith("sqlite")),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the given connection, or on a new one to ``sqlalchemy.url``."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set sqlalchemy.url or pass a connection in config.attributes['connection']")
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as own:
            _configure(own)
            own.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
