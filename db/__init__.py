"""Database schema, migrations and connection helpers."""
