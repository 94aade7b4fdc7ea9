"""Facts about the release directory the process runs from (its cwd)."""

import socket
from pathlib import Path

BROKEN_HEALTH_MARKER = "BROKEN_HEALTH"


def release_dir() -> Path:
    return Path.cwd().resolve()


def release_name() -> str:
    return release_dir().name


def is_broken() -> bool:
    """A release built with `build --broken-health` never reports ready; one
    built with `--broken-health-on HOSTS` only on those hosts (a `hosts=`
    line of the marker names them, comma-separated)."""
    marker = release_dir() / BROKEN_HEALTH_MARKER
    if not marker.exists():
        return False
    for line in marker.read_text().splitlines():
        if line.startswith("hosts="):
            return hostname() in line.removeprefix("hosts=").split(",")
    return True


def hostname() -> str:
    return socket.gethostname()
