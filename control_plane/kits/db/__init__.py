"""The db kit: column types, the connection pool, raw psycopg access, Core statements compiled
once, and Alembic migrations."""

__all__: list[str] = []
