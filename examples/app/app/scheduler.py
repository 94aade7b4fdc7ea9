"""Scheduler: inserts a row into `ticks` every SCHEDULER_INTERVAL_SECONDS."""

import logging
import signal
import threading

from app import db
from app.config import settings

log = logging.getLogger("app.scheduler")


def tick() -> None:
    with db.connect() as conn:
        conn.execute("INSERT INTO ticks DEFAULT VALUES")


def run() -> None:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    log.info("scheduler started, every %ss", settings.scheduler_interval_seconds)
    while not stop.is_set():
        try:
            tick()
            log.info("tick")
        except Exception as error:
            log.error("tick failed: %s", error)
        stop.wait(settings.scheduler_interval_seconds)
    log.info("scheduler stopped")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    run()
