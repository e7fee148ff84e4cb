"""Fixtures shared by all tests."""

from tests.postgres import postgres_server, postgres_url  # noqa: F401  (a real PostgreSQL server, per session)
