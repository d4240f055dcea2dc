"""
eshop_adapters: the plug-ins shipped with eshop.

* :mod:`eshop_adapters.storage` — the SQL storage backend (SQLite, PostgreSQL)
  through SQLAlchemy Core, with alembic migrations;
* :mod:`eshop_adapters.commands` — command-line subcommands that need adapters
  (``eshop demo``).

They register through this distribution's ``[project.entry-points.eshop]``,
exactly like a third party's plug-ins.
"""
