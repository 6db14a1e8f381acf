"""Log calls whose work runs on a background thread, in call order: the loop pays for an append.

``log_batch`` builds nothing on the calling thread: it appends its arguments here and returns. The
logger thread turns them into requests (metrics checked, samples copied, the outbox) within
``DRAIN_INTERVAL`` seconds. Anything that must come after them (another message, ``flush``,
``stats``, ``close``) calls :meth:`DeferredCalls.drain` first, so the outbox sees messages in the
order they were logged.

The logger thread polls every ``DRAIN_INTERVAL`` while calls keep coming instead of being woken per
call: waking a thread blocked on an Event or a queue costs the caller a lock round trip and a
system call (15-40 µs on a busy machine, most of the call's budget). After
``IDLE_POLLS_BEFORE_SLEEP`` empty polls it blocks; the next call wakes it once.

Bounded: at ``bound`` waiting calls the next one runs them all on its own thread first, so a loop
that starves the logger thread cannot grow this queue.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Any, Callable, Deque

log = logging.getLogger("trainwatch")

LOG_CALLS_DEFERRED = 64
"""Calls that may wait for the logger thread; the next one runs them on the caller's thread."""

DRAIN_INTERVAL = 0.002
"""Seconds between polls while calls come: the most a call normally waits for its work."""

IDLE_POLLS_BEFORE_SLEEP = 250
"""Empty polls (0.5 s) before the logger thread blocks until the next call."""

_SLEEP_CHECK = 1.0
"""Seconds a blocked logger thread waits before looking at ``stopping`` again."""


class DeferredCalls:
    """A bounded queue of call arguments and the thread that runs ``run`` on each, in order."""

    def __init__(self, bound: int, run: Callable[[Any], None], stopping: threading.Event) -> None:
        if bound < 1:
            raise ValueError(f"bound must be >= 1, got {bound}")
        self._bound = bound
        self._run = run
        self._stopping = stopping
        self._items: Deque[Any] = collections.deque()
        # Held while calls run; whoever adds a message after them holds it too (see drain).
        self.lock = threading.RLock()
        self._draining = False
        self._polling = False
        self._wake = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="trainwatch-logger", daemon=True)

    def __len__(self) -> int:
        return len(self._items)

    def defer(self, item: Any) -> None:
        """Queues ``item`` for ``run``; at the bound, runs every waiting item here first."""
        items = self._items
        items.append(item)
        if len(items) >= self._bound:
            self.drain()
        elif not self._polling:
            self._polling = True
            self._wake.set()

    def drain(self) -> None:
        """Runs every waiting item, oldest first. Call with ``lock`` held to add a message after them.

        A message added by ``run`` itself (re-entering on the same thread) goes on without waiting,
        keeping the order.
        """
        with self.lock:
            if self._draining:
                return
            self._draining = True
            try:
                items = self._items
                while items:
                    item = items.popleft()
                    try:
                        self._run(item)
                    except Exception as error:  # one bad call must not lose the ones after it
                        log.warning(
                            "trainwatch: a logged batch could not be turned into a message: %s", error
                        )
            finally:
                self._draining = False

    def stop(self) -> None:
        """Runs what waits and lets the logger thread end (the session is closing)."""
        self.drain()
        self._wake.set()

    def _loop(self) -> None:
        idle = 0
        while not self._stopping.is_set():
            if not self._polling:
                self._wake.wait(_SLEEP_CHECK)
                self._wake.clear()
                self._polling = True
                idle = 0
            time.sleep(DRAIN_INTERVAL)
            if self._items:
                idle = 0
                self.drain()
                continue
            idle += 1
            if idle >= IDLE_POLLS_BEFORE_SLEEP:
                self._polling = False
                # A call that saw _polling still True just before appended without waking us.
                if self._items:
                    self._polling = True
        self.drain()
