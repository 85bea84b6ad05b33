"""Persistence: SQLAlchemy 2 (async) models, repositories and Alembic migrations.

SQLite file by default (demo, one laptop), PostgreSQL in production; the same migrations
serve both. Nothing here knows about HTTP, sessions or transports.
"""
