"""Facts about the release directory the process runs from (its cwd)."""

import socket
from pathlib import Path

BROKEN_HEALTH_MARKER = "BROKEN_HEALTH"


def release_dir() -> Path:
    return Path.cwd().resolve()


def release_name() -> str:
    return release_dir().name


def is_broken() -> bool:
    """A release built with `build --broken-health` never reports ready."""
    return (release_dir() / BROKEN_HEALTH_MARKER).exists()


def hostname() -> str:
    return socket.gethostname()
