"""Background worker: a heartbeat row per host in `workers`, every few seconds.

Database calls are retried with tenacity and guarded by the aiobreaker circuit
breaker `app.breakers.database` (this process's own instance), so a database
outage costs a few quick failures and then one cheap "circuit open" message
per beat until the breaker lets a trial call through.
"""

import asyncio
import logging
import signal

from aiobreaker import CircuitBreakerError
from tenacity import (
    retry,
    retry_if_not_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from app import breakers, db, release
from app.config import settings

log = logging.getLogger("app.worker")


@retry(
    stop=stop_after_attempt(3),
    wait=wait_exponential(multiplier=0.5, max=4),
    retry=retry_if_not_exception_type(CircuitBreakerError),
    reraise=True,
)
@breakers.database
async def beat(host: str) -> None:
    async with await db.connect_async() as conn:
        await conn.execute(
            "INSERT INTO workers (host, seen_at) VALUES (%s, now())"
            " ON CONFLICT (host) DO UPDATE SET seen_at = EXCLUDED.seen_at",
            (host,),
        )


async def run() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    host = release.hostname()
    log.info("worker started on %s, release %s", host, release.release_name())
    while not stop.is_set():
        try:
            await beat(host)
            log.info("heartbeat")
        except CircuitBreakerError:
            log.warning("database circuit open, skipping heartbeat")
        except Exception as error:
            log.error("heartbeat failed: %s", error)
        try:
            await asyncio.wait_for(stop.wait(), timeout=settings.worker_heartbeat_seconds)
        except TimeoutError:
            pass
    log.info("worker stopped")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    asyncio.run(run())
