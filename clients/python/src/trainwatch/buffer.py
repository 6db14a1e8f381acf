"""The bounded outbox: every message the trainer produced that the server has not acknowledged.

The behaviour is the one both SDKs share, written down in libs/sdk-scenarios/README.md and checked by
its scenarios (tests/test_scenarios.py).

Two lanes share the bounds:

- ``pending``: produced, not yet written to the current stream (in order).
- ``in_flight``: written, waiting for an acknowledgement (in sequence order).

Sequence numbers are given when a message is first written, in log order, so dropping a message that
was never sent leaves no gap, and a message logged while a restarted trainer re-registers is numbered
above what the server already applied. On reconnect the server says which sequence it applied last;
everything above it goes back to the front of ``pending`` and is written again with its original
sequence (a replay the server recognises and applies once).

Bounds: ``bound`` slots (a message takes one, a batch still carrying images one more) and
``image_budget_bytes`` of images (raw awaiting encoding plus encoded JPEG). Room is made in this
order, never raising, every drop counted and handed to ``on_drop``:

1. the images (and predictions, ground truth) of the oldest batch that still has some, the new one
   counting as newest; its scalars (loss, epoch, batch, metrics) stay;
2. the oldest latest-wins sample (performance figures, system scalars);
3. the oldest message of any kind except a command result.

Command results are never dropped: a dashboard is waiting for each of them; alone they may exceed the
bound (there are few).
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Dict, Iterable, List, Optional, Tuple

from .gen.telemetry.v1 import telemetry_pb2 as pb

DEFAULT_BOUND = 1000
"""Messages kept when the server does not say (ServerConfig.buffer_size wins when it does)."""

DEFAULT_IMAGE_BUDGET_BYTES = 64 * 1024 * 1024
"""Image bytes (raw awaiting encoding plus encoded JPEG) kept before the oldest frames lose theirs."""

KIND_BATCH = "batch"
KIND_EPOCH = "epoch"
KIND_PERFORMANCE = "performance"
KIND_STATUS = "status"
KIND_COMMAND_RESULT = "command_result"
KIND_SCALARS = "scalars"
KIND_SYSTEM = "system"
"""Scalars that are all system series (``system/...``): sampled every second or two, latest-wins."""
KIND_METADATA = "metadata"

LATEST_WINS_KINDS = frozenset({KIND_PERFORMANCE, KIND_SYSTEM})
"""Samples a newer one supersedes: dropped before any other scalar."""

DROP_IMAGES = "images"
DROP_MESSAGE = "message"

DropHandler = Callable[[str, "Entry"], None]
"""Told about every drop: (DROP_IMAGES or DROP_MESSAGE, the entry), under the outbox lock."""


@dataclass(eq=False)
class Entry:
    """One buffered message.

    ``raw`` holds the caller's images/predictions while they wait for the encoder; the entry can
    only be written once ``raw`` is None (encoded, or dropped under pressure).
    """

    kind: str
    request: pb.MetricsRequest
    raw: Optional[Any] = None
    image_bytes: int = 0
    sequence: int = 0
    created: float = field(default_factory=time.monotonic)
    sent_at: float = 0.0

    @property
    def ready(self) -> bool:
        return self.raw is None

    @property
    def holds_images(self) -> bool:
        return self.image_bytes > 0


class Outbox:
    """Thread-safe bounded buffer between the training thread, the encoder and the stream."""

    def __init__(
        self,
        bound: int = DEFAULT_BOUND,
        image_budget_bytes: int = DEFAULT_IMAGE_BUDGET_BYTES,
        on_drop: Optional[DropHandler] = None,
    ):
        if bound < 1:
            raise ValueError(f"bound must be >= 1, got {bound}")
        if image_budget_bytes < 0:
            raise ValueError(f"image_budget_bytes must be >= 0, got {image_budget_bytes}")
        self._bound = bound
        self._image_budget = image_budget_bytes
        self._pending: Deque[Entry] = collections.deque()
        self._in_flight: Deque[Entry] = collections.deque()
        self._to_encode: Deque[Entry] = collections.deque()
        self._image_bytes = 0
        self._frames = 0  # entries holding images: each takes a second slot
        self._on_drop = on_drop
        self._next_sequence = 1
        self._highest_acked = 0
        self.cond = threading.Condition()
        self.counters: Dict[str, int] = collections.Counter()

    # -- producer side -------------------------------------------------------------------------

    def add(self, entry: Entry) -> None:
        """Appends a message, then enforces both bounds. Never blocks on the network."""
        with self.cond:
            self._pending.append(entry)
            self._image_bytes += entry.image_bytes
            self._frames += entry.holds_images
            if entry.raw is not None:
                self._to_encode.append(entry)
            self.counters["produced"] += 1
            self._enforce()
            self.cond.notify_all()

    def set_bound(self, bound: int) -> None:
        with self.cond:
            self._bound = max(1, bound)
            self._enforce()

    @property
    def bound(self) -> int:
        return self._bound

    # -- encoder side --------------------------------------------------------------------------

    def next_to_encode(self, timeout: float) -> Optional[Entry]:
        """Oldest entry whose images await encoding, waiting up to ``timeout`` seconds."""
        with self.cond:
            if not self._to_encode:
                self.cond.wait(timeout)
            return self._to_encode[0] if self._to_encode else None

    def finish_encoding(self, entry: Entry, apply: Callable[[pb.MetricsRequest], int]) -> None:
        """Applies the encoder's result to ``entry`` unless it was dropped meanwhile.

        ``apply`` fills the request and returns the encoded image bytes; it runs under the lock so a
        concurrent strip cannot interleave, and must therefore only copy prepared data in.
        """
        with self.cond:
            if self._to_encode and self._to_encode[0] is entry:
                self._to_encode.popleft()
            if entry.raw is None:
                return  # stripped or evicted while encoding; its scalars are already final
            entry.raw = None
            self._set_image_bytes(entry, apply(entry.request))
            self._enforce()
            self.cond.notify_all()

    # -- stream side ---------------------------------------------------------------------------

    def take_next(self) -> Optional[Tuple[Entry, bool]]:
        """Moves the oldest ready pending entry to in-flight, giving it a sequence if it has none.

        Returns (entry, replayed) or None when the head is missing or still being encoded.
        """
        with self.cond:
            if not self._pending or not self._pending[0].ready:
                return None
            entry = self._pending.popleft()
            replayed = entry.sequence != 0
            if not replayed:
                entry.sequence = self._next_sequence
                self._next_sequence += 1
                entry.request.sequence = entry.sequence
            entry.sent_at = time.monotonic()
            self._in_flight.append(entry)
            self.counters["sent"] += 1
            if replayed:
                self.counters["replayed"] += 1
            return entry, replayed

    def has_ready(self) -> bool:
        with self.cond:
            return bool(self._pending) and self._pending[0].ready

    def ack(self, sequence: int, success: bool = True, duplicate: bool = False) -> bool:
        """Removes the in-flight entry ``sequence``; False when it is unknown (late or duplicate ack)."""
        with self.cond:
            found = None
            if self._in_flight and self._in_flight[0].sequence == sequence:
                found = self._in_flight.popleft()
            else:
                for candidate in self._in_flight:
                    if candidate.sequence == sequence:
                        found = candidate
                        break
                if found is not None:
                    self._in_flight.remove(found)
            # The server applied it even when it is no longer held (dropped after it was written).
            self._highest_acked = max(self._highest_acked, sequence)
            if found is None:
                return False
            self._set_image_bytes(found, 0)
            self.counters["acked"] += 1
            if not success:
                self.counters["rejected"] += 1
            if duplicate:
                self.counters["duplicates"] += 1
            self.cond.notify_all()
            return True

    def oldest_in_flight_age(self, now: float) -> float:
        """Seconds since the oldest unacknowledged message was written (0 when none)."""
        with self.cond:
            return now - self._in_flight[0].sent_at if self._in_flight else 0.0

    def rewind(self, last_applied: int) -> int:
        """After a reconnect: forget what the server applied, queue the rest for replay.

        Returns how many in-flight entries will be written again.
        """
        with self.cond:
            kept = [e for e in self._in_flight if e.sequence > last_applied]
            for entry in self._in_flight:
                if entry.sequence <= last_applied:
                    self._set_image_bytes(entry, 0)
                    self.counters["acked"] += 1
            self._in_flight.clear()
            self._pending.extendleft(reversed(kept))
            # A fresh server (e.g. restarted) may remember less than we sent; never reuse a number.
            self._next_sequence = max(self._next_sequence, last_applied + 1)
            self._highest_acked = max(self._highest_acked, last_applied)
            self.cond.notify_all()
            return len(kept)

    # -- introspection -------------------------------------------------------------------------

    def __len__(self) -> int:
        with self.cond:
            return len(self._pending) + len(self._in_flight)

    @property
    def highest_acked(self) -> int:
        """Highest sequence the server acknowledged (SessionInfo.resume_from_sequence)."""
        with self.cond:
            return self._highest_acked

    @property
    def image_bytes(self) -> int:
        with self.cond:
            return self._image_bytes

    @property
    def slots(self) -> int:
        """Slots in use: one per message, one more per batch still carrying images."""
        with self.cond:
            return self._slots()

    @property
    def last_sequence(self) -> int:
        """Last sequence given to a message (0 before the first write)."""
        with self.cond:
            return self._next_sequence - 1

    def is_drained(self) -> bool:
        with self.cond:
            return not self._pending and not self._in_flight

    def wait_drained(self, timeout: Optional[float]) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: not self._pending and not self._in_flight, timeout)

    def snapshot(self) -> List[Entry]:
        with self.cond:
            return [*self._in_flight, *self._pending]

    # -- bounds --------------------------------------------------------------------------------

    def _slots(self) -> int:
        return len(self._pending) + len(self._in_flight) + self._frames

    def _set_image_bytes(self, entry: Entry, value: int) -> None:
        self._image_bytes += value - entry.image_bytes
        self._frames += (value > 0) - entry.holds_images
        entry.image_bytes = value

    def _all(self) -> Iterable[Entry]:
        # Oldest first: in-flight entries were produced before any pending one.
        yield from self._in_flight
        yield from self._pending

    def _dropped(self, what: str, entry: Entry) -> None:
        if self._on_drop is not None:
            try:
                self._on_drop(what, entry)
            except Exception:  # a reporting hook must not break the buffer
                pass

    def _strip(self, entry: Entry) -> None:
        """Drops the images, predictions and ground truth of a batch; keeps its scalars."""
        self._set_image_bytes(entry, 0)
        if entry.raw is not None:
            entry.raw = None
            try:
                self._to_encode.remove(entry)
            except ValueError:
                pass
        # A new message, not an edit: the stream may be serializing the old one on another thread.
        stripped = pb.MetricsRequest()
        stripped.CopyFrom(entry.request)
        batch = stripped.batch_data
        del batch.images[:]
        del batch.predictions[:]
        del batch.ground_truth[:]
        entry.request = stripped
        self.counters["dropped_image_frames"] += 1
        self._dropped(DROP_IMAGES, entry)

    def _strip_oldest_frame(self) -> bool:
        for entry in self._all():
            if entry.holds_images:
                self._strip(entry)
                return True
        return False

    def _evict_one(self) -> bool:
        victim = next((e for e in self._all() if e.kind in LATEST_WINS_KINDS), None)
        if victim is None:
            victim = next((e for e in self._all() if e.kind != KIND_COMMAND_RESULT), None)
        if victim is None:
            return False
        if victim.raw is not None:
            try:
                self._to_encode.remove(victim)
            except ValueError:
                pass
            victim.raw = None
        self._set_image_bytes(victim, 0)
        if victim.sequence == 0:
            self._pending.remove(victim)
        else:
            try:
                self._in_flight.remove(victim)
            except ValueError:
                self._pending.remove(victim)  # written before, queued again for replay
        self.counters["dropped_messages"] += 1
        self.counters[f"dropped_{victim.kind}"] += 1
        self._dropped(DROP_MESSAGE, victim)
        return True

    def _enforce(self) -> None:
        while self._image_bytes > self._image_budget or self._slots() > self._bound:
            if not self._strip_oldest_frame():
                break
        while self._slots() > self._bound:
            if not self._evict_one():
                break  # only command results left: a handful, each awaited by a dashboard
