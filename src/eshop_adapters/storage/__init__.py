"""
The SQL storage backend: SQLite now, PostgreSQL next, through SQLAlchemy Core.

``Shop.open("sqlite:///shop.db")`` (or an SQLAlchemy ``Engine``) opens a
:class:`~eshop_adapters.storage.sql.SqlBackend`. Its pieces:

* :mod:`~eshop_adapters.storage.metadata` — the one shared ``MetaData`` every
  table is declared on, with a naming convention for constraints;
* :mod:`~eshop_adapters.storage.types` — column types: UTC datetimes, UUIDs, JSON;
* :mod:`~eshop_adapters.storage.mapping` and :mod:`~eshop_adapters.storage.mappings`
  — how each aggregate maps onto its tables (money as minor units plus
  currency, personal fields through :mod:`~eshop_adapters.storage.personal`
  with a blind-index column each);
* :mod:`~eshop_adapters.storage.ports` — the SQL named ports: outbox, timers,
  audit log and the test kit's ``WidgetStock``;
* :mod:`~eshop_adapters.storage.migrate` and ``migrations/`` — alembic run from
  the package, one linear revision per change.

Only this package imports SQLAlchemy and alembic.
"""
