"""Settings, read from environment variables (systemd's EnvironmentFile)."""

import os
from dataclasses import dataclass, field


def _float_env(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


@dataclass(frozen=True)
class Settings:
    database_url: str
    app_name: str
    worker_heartbeat_seconds: float
    scheduler_interval_seconds: float
    shutdown_drain_seconds: float
    health_detailed_token: str = field(repr=False)  # a secret: never in a repr or a log


def load_settings() -> Settings:
    return Settings(
        database_url=os.environ.get("DATABASE_URL", "postgresql://app:app@127.0.0.1:5432/app"),
        app_name=os.environ.get("APP_NAME", "app"),
        worker_heartbeat_seconds=_float_env("WORKER_HEARTBEAT_SECONDS", 5),
        scheduler_interval_seconds=_float_env("SCHEDULER_INTERVAL_SECONDS", 60),
        shutdown_drain_seconds=_float_env("SHUTDOWN_DRAIN_SECONDS", 3),
        health_detailed_token=os.environ.get("HEALTH_DETAILED_TOKEN", "").strip(),
    )


settings = load_settings()
