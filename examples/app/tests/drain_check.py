#!/usr/bin/env python3
"""Checks that the api drains on SIGTERM the way a blue/green switch needs.

Starts uvicorn from VENV as the api unit does (one process), with no database
behind DATABASE_URL, holds a `/slow` request open, sends SIGTERM and checks:

1. at once, `/health/ready` answers 503 with the reason "shutting down";
2. during SHUTDOWN_DRAIN_SECONDS, other requests are still answered;
3. after the drain, uvicorn stops accepting connections;
4. the request in flight completes with 200, before the process exits;
5. the process exits by itself, well within the graceful-shutdown timeout.

The slow request outlasts the drain on purpose, so that it is still running
when uvicorn's own graceful shutdown starts. Only the standard library is
used:

    python3 examples/app/tests/drain_check.py --venv VENV

exits 0 when every check passes, 1 otherwise (with uvicorn's log).
"""

import argparse
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

APP_DIR = Path(__file__).resolve().parent.parent
NOTHING_LISTENS = "postgresql://drain-check:none@127.0.0.1:1/none"  # port 1: refused at once
READY_FLIP_LIMIT_SECONDS = 0.5
# With --workers N > 1 uvicorn's supervisor gets SIGTERM and passes it on to
# the workers when it next looks at its signals, every 0.5s.
READY_FLIP_LIMIT_SECONDS_SUPERVISED = 1.0
GRACEFUL_SHUTDOWN_SECONDS = 30


class CheckFailed(Exception):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(port: int, path: str, timeout: float = 5) -> tuple[int, object]:
    """One request on its own connection: (status, JSON body or text)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        response = conn.getresponse()
        raw = response.read().decode()
    finally:
        conn.close()
    try:
        return response.status, json.loads(raw)
    except ValueError:
        return response.status, raw


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise CheckFailed(what)
    print(f"ok: {what}")


def reason_of(body: object) -> object:
    return body.get("reason") if isinstance(body, dict) else None


class SlowRequest(threading.Thread):
    def __init__(self, port: int, seconds: float) -> None:
        super().__init__(daemon=True)
        self.port, self.seconds = port, seconds
        self.status: int | None = None
        self.body: object = None
        self.error: Exception | None = None
        self.done_at: float | None = None

    def run(self) -> None:
        try:
            path = f"/slow?seconds={self.seconds}"
            self.status, self.body = get(self.port, path, timeout=self.seconds + 60)
        except Exception as error:  # reported by the check that joins the thread
            self.error = error
        self.done_at = time.monotonic()


def start_server(args: argparse.Namespace, port: int, log) -> subprocess.Popen:
    env = dict(os.environ)
    env.pop("HEALTH_DETAILED_TOKEN", None)
    env.update(
        DATABASE_URL=args.database_url,
        SHUTDOWN_DRAIN_SECONDS=str(args.drain_seconds),
    )
    command = [
        str(Path(args.venv) / "bin" / "uvicorn"),
        "app.main:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(args.workers),
        "--loop",
        "uvloop",
        "--timeout-graceful-shutdown",
        str(GRACEFUL_SHUTDOWN_SECONDS),
    ]
    print("starting:", " ".join(command))
    return subprocess.Popen(command, cwd=APP_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_until_up(server: subprocess.Popen, port: int, limit: float = 30) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise CheckFailed(f"uvicorn exited early with {server.returncode}")
        try:
            if get(port, "/health", timeout=1)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise CheckFailed(f"/health did not answer 200 within {limit}s")


def wait_for_ready_flip(port: int, since: float, limit: float) -> float:
    """Polls /health/ready until it says "shutting down"; returns how long that took."""
    while True:
        try:
            status, body = get(port, "/health/ready")
        except OSError as error:
            raise CheckFailed(f"/health/ready did not answer after SIGTERM: {error}") from None
        took = time.monotonic() - since
        if status == 503 and reason_of(body) == "shutting down":
            return took
        if took > limit:
            raise CheckFailed(f"/health/ready still {status} {body} {took:.2f}s after SIGTERM")
        time.sleep(0.02)


def connection_refused(port: int) -> bool:
    try:
        get(port, "/health", timeout=2)
    except ConnectionRefusedError:
        return True
    return False


def check(args: argparse.Namespace, server: subprocess.Popen, port: int, log_path: Path) -> None:
    wait_until_up(server, port)
    if args.workers == 1:
        started = re.findall(r"Started server process \[(\d+)\]", log_path.read_text())
        expect(started == [str(server.pid)], "--workers 1 serves from the process given SIGTERM")

    status, body = get(port, "/health/ready")
    expect(
        reason_of(body) != "shutting down",
        f"before SIGTERM /health/ready is {status}, not draining",
    )

    slow = SlowRequest(port, args.slow_seconds)
    slow.start()
    time.sleep(0.5)  # the request is in flight
    expect(slow.is_alive(), f"/slow?seconds={args.slow_seconds} is in flight")

    server.send_signal(signal.SIGTERM)
    term_at = time.monotonic()
    limit = READY_FLIP_LIMIT_SECONDS if args.workers == 1 else READY_FLIP_LIMIT_SECONDS_SUPERVISED
    took = wait_for_ready_flip(port, term_at, limit)
    print(f"ok: /health/ready answers 503 'shutting down' {took:.3f}s after SIGTERM")

    status, _ = get(port, "/health")
    expect(status == 200, f"during the drain /health still answers ({status})")
    status, body = get(port, "/slow?seconds=0")
    expect(status == 200, f"during the drain /slow?seconds=0 still answers ({status})")

    # With more workers the supervisor keeps the listening socket open until it
    # exits: new connections wait in its backlog instead of being refused.
    if args.workers == 1 and args.slow_seconds > args.drain_seconds + 1.5:
        time.sleep(max(0.0, term_at + args.drain_seconds + 0.7 - time.monotonic()))
        expect(slow.is_alive(), "after the drain the slow request is still in flight")
        expect(connection_refused(port), "after the drain new connections are refused")

    slow.join(args.slow_seconds + GRACEFUL_SHUTDOWN_SECONDS)
    if slow.error is not None:
        raise CheckFailed(f"the in-flight request got no answer: {slow.error!r}")
    expect(slow.status == 200, f"the in-flight request completed with {slow.status}: {slow.body}")
    expect(
        isinstance(slow.body, dict) and {"release", "host"} <= slow.body.keys(),
        "its answer names the release and the host",
    )

    try:
        code = server.wait(GRACEFUL_SHUTDOWN_SECONDS)
    except subprocess.TimeoutExpired:
        raise CheckFailed("uvicorn did not exit after the in-flight request") from None
    exited_at = time.monotonic()
    expect(slow.done_at <= exited_at, "the in-flight request completed before the process exited")
    # uvicorn re-raises the SIGTERM it caught once it has shut down.
    expect(code in (0, -signal.SIGTERM), f"uvicorn exited cleanly ({code})")
    expect(
        exited_at - term_at < args.drain_seconds + args.slow_seconds + 5,
        f"it exited {exited_at - term_at:.1f}s after SIGTERM",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", required=True, help="a venv with requirements.txt installed")
    parser.add_argument("--drain-seconds", type=float, default=1, help="SHUTDOWN_DRAIN_SECONDS")
    parser.add_argument("--slow-seconds", type=float, default=3, help="the in-flight request")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn's --workers")
    parser.add_argument("--database-url", default=NOTHING_LISTENS)
    args = parser.parse_args()

    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "uvicorn.log"
        with log_path.open("w") as log:
            server = start_server(args, port, log)
            try:
                check(args, server, port, log_path)
            except (CheckFailed, OSError) as error:
                print(f"FAILED: {error}", file=sys.stderr)
                print("--- uvicorn's log\n" + log_path.read_text(), file=sys.stderr)
                return 1
            finally:
                if server.poll() is None:
                    server.kill()
                    server.wait()
    print("drain check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
