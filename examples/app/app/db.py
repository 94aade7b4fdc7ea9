"""Database access with psycopg 3 (one short-lived connection per call).

The api's calls (`ping`, `record_visit`) are async and go through the
`database` circuit breaker: while it is open they raise CircuitBreakerError at
once instead of waiting for a connection that will not come.
"""

import psycopg

from app import breakers
from app.config import settings

CONNECT_TIMEOUT_SECONDS = 3


def connect() -> psycopg.Connection:
    return psycopg.connect(settings.database_url, connect_timeout=CONNECT_TIMEOUT_SECONDS)


async def connect_async() -> psycopg.AsyncConnection:
    return await psycopg.AsyncConnection.connect(
        settings.database_url, connect_timeout=CONNECT_TIMEOUT_SECONDS
    )


async def ping_unguarded() -> None:
    """`SELECT 1`, bypassing the breaker: for reports that must not change it."""
    async with await connect_async() as conn:
        await conn.execute("SELECT 1")


@breakers.database
async def ping() -> None:
    await ping_unguarded()


@breakers.database
async def record_visit(host: str, release: str) -> int:
    """Inserts one visit and returns how many visits there are."""
    async with await connect_async() as conn:
        await conn.execute("INSERT INTO visits (host, release) VALUES (%s, %s)", (host, release))
        cursor = await conn.execute("SELECT count(*) FROM visits")
        row = await cursor.fetchone()
    return row[0]
