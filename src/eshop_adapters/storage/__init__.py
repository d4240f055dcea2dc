"""SQL storage backend (SQLite, PostgreSQL) through SQLAlchemy Core."""
