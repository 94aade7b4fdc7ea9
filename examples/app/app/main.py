"""The HTTP API: health checks and a visit counter."""

from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from app import db, release
from app.config import settings
from app.shutdown import ShutdownFlag

shutting_down = ShutdownFlag()


@asynccontextmanager
async def lifespan(_: FastAPI):
    shutting_down.install_sigterm_handler(settings.shutdown_drain_seconds)
    yield


app = FastAPI(title=settings.app_name, lifespan=lifespan)


def not_ready(reason: str) -> JSONResponse:
    return JSONResponse({"status": "not ready", "reason": reason}, status_code=503)


@app.get("/health")
def health() -> dict:
    return {"status": "ok"}


@app.get("/health/ready")
def ready():
    if shutting_down.is_set:
        return not_ready("shutting down")
    if release.is_broken():
        return not_ready(f"{release.BROKEN_HEALTH_MARKER} is present")
    try:
        db.ping()
    except Exception as error:  # any failure to reach the database means "not ready"
        return not_ready(f"database: {error.__class__.__name__}")
    return {"status": "ready"}


@app.get("/")
def index() -> dict:
    host = release.hostname()
    name = release.release_name()
    return {
        "app": settings.app_name,
        "release": name,
        "host": host,
        "visits": db.record_visit(host, name),
    }
