"""Persistence: SQLAlchemy 2 models and repositories with Alembic migrations; SQLite by
default, PostgreSQL in production. The only layer that speaks SQL.
"""
