"""The HTTP API: health checks, a visit counter and a slow answer for tests."""

import asyncio
import hashlib
import hmac
from contextlib import asynccontextmanager

from aiobreaker import CircuitBreakerError
from fastapi import FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from app import breakers, db, release
from app.config import settings
from app.shutdown import ShutdownFlag

SLOW_MAX_SECONDS = 60

shutting_down = ShutdownFlag()


@asynccontextmanager
async def lifespan(_: FastAPI):
    # uvicorn runs the lifespan in its event loop, in the main thread (one
    # process with --workers 1, each worker's own main thread otherwise), after
    # it has installed its signal handlers: ours can wrap them here.
    shutting_down.install_sigterm_handler(settings.shutdown_drain_seconds)
    yield


app = FastAPI(title=settings.app_name, lifespan=lifespan)


@app.exception_handler(CircuitBreakerError)
async def circuit_open(_: Request, error: CircuitBreakerError) -> JSONResponse:
    return JSONResponse({"detail": f"database unavailable: {error.message}"}, status_code=503)


def not_ready(reason: str) -> JSONResponse:
    return JSONResponse({"status": "not ready", "reason": reason}, status_code=503)


@app.get("/health")
async def health() -> dict:
    return {"status": "ok"}


@app.get("/health/ready")
async def ready():
    if shutting_down.is_set:
        return not_ready("shutting down")
    if release.is_broken():
        return not_ready(f"{release.BROKEN_HEALTH_MARKER} is present")
    try:
        await db.ping()
    except CircuitBreakerError:
        return not_ready("database: circuit open")
    except Exception as error:  # any failure to reach the database means "not ready"
        return not_ready(f"database: {error.__class__.__name__}")
    return {"status": "ready"}


def bearer_token_matches(authorization: str | None, expected: str) -> bool:
    scheme, _, presented = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    # Digests of equal length: the comparison does not even tell the token's length.
    return hmac.compare_digest(
        hashlib.sha256(presented.strip().encode()).digest(),
        hashlib.sha256(expected.encode()).digest(),
    )


@app.get("/health/detailed")
async def health_detailed(authorization: str | None = Header(default=None)) -> dict:
    if not settings.health_detailed_token:
        raise HTTPException(status_code=404)
    if not bearer_token_matches(authorization, settings.health_detailed_token):
        raise HTTPException(
            status_code=401,
            detail="a valid bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    # Asked past the breaker, so that the answer is the database's own even
    # while the breaker is open, and this report does not move the breaker.
    try:
        await db.ping_unguarded()
        database = {"answers": True}
    except Exception as error:
        database = {"answers": False, "error": error.__class__.__name__}
    return {
        "release": release.release_name(),
        "host": release.hostname(),
        "shutting_down": shutting_down.is_set,
        "database": database,
        "breakers": breakers.describe_all(),
    }


@app.get("/slow")
async def slow(seconds: float = Query(ge=0, le=SLOW_MAX_SECONDS, allow_inf_nan=False)) -> dict:
    """Answers after `seconds`, without the database: holds a request open in tests."""
    await asyncio.sleep(seconds)
    return {
        "app": settings.app_name,
        "release": release.release_name(),
        "host": release.hostname(),
        "seconds": seconds,
    }


@app.get("/")
async def index() -> dict:
    host = release.hostname()
    name = release.release_name()
    return {
        "app": settings.app_name,
        "release": name,
        "host": host,
        "visits": await db.record_visit(host, name),
    }
