"""SIGTERM handling for the API process.

uvicorn installs its own SIGTERM handler before the app starts; once it runs,
uvicorn closes its listening socket at once and waits for in-flight requests.
So that a health check can still see the app going away, our handler first
marks the app as shutting down (`/health/ready` answers 503), keeps serving for
SHUTDOWN_DRAIN_SECONDS, and then calls uvicorn's handler, which performs the
usual graceful shutdown. A second SIGTERM skips the rest of the drain.

uvicorn's handler only sets a flag that its main loop looks at every 0.1s, so
calling it from the drain's timer thread is safe. Python runs signal handlers
in the main thread only: with `--workers 1` that is where uvicorn runs the
event loop and the lifespan, which installs this handler.
"""

import logging
import signal
import threading

log = logging.getLogger("app.shutdown")


class ShutdownFlag:
    def __init__(self) -> None:
        self._event = threading.Event()

    @property
    def is_set(self) -> bool:
        return self._event.is_set()

    def install_sigterm_handler(self, drain_seconds: float) -> None:
        """Call it after uvicorn has installed its handlers (e.g. in the lifespan)."""
        if threading.current_thread() is not threading.main_thread():
            log.warning("not in the main thread: SIGTERM is left to the server")
            return
        chained = signal.getsignal(signal.SIGTERM)
        if not callable(chained):
            # Nothing to hand over to after the drain (not run by uvicorn?):
            # taking SIGTERM over would keep the process from ever stopping.
            log.warning("SIGTERM has no handler to chain to: it is left as it is")
            return

        def call_chained(signum, frame) -> None:
            chained(signum, frame)

        def on_sigterm(signum, frame) -> None:
            if self._event.is_set() or drain_seconds <= 0:
                self._event.set()
                call_chained(signum, frame)
                return
            self._event.set()
            log.warning("SIGTERM: not ready any more, stopping in %.1fs", drain_seconds)
            timer = threading.Timer(drain_seconds, call_chained, args=(signum, None))
            timer.daemon = True
            timer.start()

        signal.signal(signal.SIGTERM, on_sigterm)
