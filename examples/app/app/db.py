"""Database access with psycopg 3 (one short-lived connection per call)."""

import psycopg

from app.config import settings

CONNECT_TIMEOUT_SECONDS = 3


def connect() -> psycopg.Connection:
    return psycopg.connect(settings.database_url, connect_timeout=CONNECT_TIMEOUT_SECONDS)


async def connect_async() -> psycopg.AsyncConnection:
    return await psycopg.AsyncConnection.connect(
        settings.database_url, connect_timeout=CONNECT_TIMEOUT_SECONDS
    )


def ping() -> None:
    with connect() as conn:
        conn.execute("SELECT 1")


def record_visit(host: str, release: str) -> int:
    """Inserts one visit and returns how many visits there are."""
    with connect() as conn:
        conn.execute("INSERT INTO visits (host, release) VALUES (%s, %s)", (host, release))
        row = conn.execute("SELECT count(*) FROM visits").fetchone()
    return row[0]
