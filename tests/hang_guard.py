"""A hang guard for in-process tests: fail (not hang) when a call runs far past any honest time.

Not a timing assertion: the limit is minutes where the work takes seconds, so a busy machine
never trips it, while a hang (an alias bomb, a quadratic loop) still ends the test with a message."""
from __future__ import annotations

import contextlib
import signal


@contextlib.contextmanager
def hang_guard(seconds: float, what: str = "the call"):
    def expire(signum, frame):
        raise TimeoutError(f"{what} ran past the {seconds:.0f} s hang guard")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
