"""The pause/resume/stop gate a training loop checks before each batch."""

from __future__ import annotations

import threading
from typing import Optional

RUNNING = "running"
PAUSED = "paused"
STOPPED = "stopped"


class Gate:
    """Holds the training loop while paused; tells it to end after a stop.

    ``wait()`` returns True to go on and False once stopped. Stop is final: a later resume or pause
    does not undo it.
    """

    def __init__(self) -> None:
        self._state = RUNNING
        self._cond = threading.Condition()
        self._waiting = 0

    @property
    def state(self) -> str:
        with self._cond:
            return self._state

    @property
    def waiting(self) -> int:
        """Threads currently held in ``wait()`` (lets tests and UIs see the loop is parked)."""
        with self._cond:
            return self._waiting

    def pause(self) -> bool:
        """True when the gate was running and is now paused."""
        return self._move(PAUSED)

    def resume(self) -> bool:
        """True when the gate was paused and is now running."""
        return self._move(RUNNING)

    def stop(self) -> bool:
        """True when this call stopped the gate."""
        return self._move(STOPPED)

    def _move(self, target: str) -> bool:
        with self._cond:
            if self._state == STOPPED or self._state == target:
                return False
            self._state = target
            self._cond.notify_all()
            return True

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Blocks while paused (at most ``timeout`` seconds); True to continue, False after a stop.

        On timeout while still paused it returns True: the caller decides what to do next, and can
        read ``state`` to see the gate is still paused.
        """
        with self._cond:
            self._waiting += 1
            try:
                self._cond.wait_for(lambda: self._state != PAUSED, timeout)
            finally:
                self._waiting -= 1
            return self._state != STOPPED
