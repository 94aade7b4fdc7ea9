"""The app's circuit breakers, one per dependency.

Each process (api, worker) has its own instances: a breaker counts the
failures its own process saw. `/health/detailed` reports the api's.
"""

from datetime import timedelta

from aiobreaker import CircuitBreaker, CircuitBreakerState

DATABASE_FAIL_MAX = 5
DATABASE_OPEN_SECONDS = 30

database = CircuitBreaker(
    fail_max=DATABASE_FAIL_MAX,
    timeout_duration=timedelta(seconds=DATABASE_OPEN_SECONDS),
    name="database",
)

ALL = (database,)

_STATE_NAMES = {
    CircuitBreakerState.CLOSED: "closed",
    CircuitBreakerState.OPEN: "open",
    CircuitBreakerState.HALF_OPEN: "half-open",
}


def describe(breaker: CircuitBreaker) -> dict:
    return {
        "name": breaker.name,
        "state": _STATE_NAMES[breaker.current_state],
        "failures": breaker.fail_counter,
        "fail_max": breaker.fail_max,
        "open_seconds": breaker.timeout_duration.total_seconds(),
    }


def describe_all() -> list[dict]:
    return [describe(breaker) for breaker in ALL]
