"""The bounded outbox: every message the trainer produced that the server has not acknowledged.

Two lanes share one bound:

- ``pending``: produced, not yet written to the current stream (in order).
- ``in_flight``: written, waiting for an acknowledgement (in sequence order).

Sequence numbers are given when a message is first written, so dropping a message that was never
sent leaves no gap. On reconnect the server says which sequence it applied last; everything above it
goes back to the front of ``pending`` and is written again with its original sequence (a replay the
server recognises and applies once).

Drop policy when over a bound (never raises, every drop is counted):

1. Images first. Their bytes (raw awaiting encoding plus encoded JPEG) have their own budget,
   ``image_budget_bytes``, which fills long before the message bound: over it, the oldest frames
   lose their images, predictions and ground truth, and keep their scalars (loss, epoch, batch).
2. Then scalars, oldest first, by kind. Each message over ``bound`` removes the oldest performance
   sample, else the oldest batch, else the oldest epoch or status message. Command results are
   never dropped: a dashboard is waiting for each of them.
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

# Eviction order when the message bound is exceeded: cheapest to lose first.
_EVICTION_ORDER = (KIND_PERFORMANCE, KIND_BATCH, KIND_EPOCH, KIND_STATUS)


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

    def __init__(self, bound: int = DEFAULT_BOUND, image_budget_bytes: int = DEFAULT_IMAGE_BUDGET_BYTES):
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
            encoded = apply(entry.request)
            self._image_bytes += encoded - entry.image_bytes
            entry.image_bytes = encoded
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
            if found is None:
                return False
            self._highest_acked = max(self._highest_acked, sequence)
            self._image_bytes -= found.image_bytes
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
                    self._image_bytes -= entry.image_bytes
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

    def _all(self) -> Iterable[Entry]:
        # Oldest first: in-flight entries were produced before any pending one.
        yield from self._in_flight
        yield from self._pending

    def _strip(self, entry: Entry) -> None:
        """Drops the images, predictions and ground truth of a batch; keeps its scalars."""
        self._image_bytes -= entry.image_bytes
        entry.image_bytes = 0
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

    def _strip_oldest_frame(self) -> bool:
        for entry in self._all():
            if entry.holds_images:
                self._strip(entry)
                return True
        return False

    def _evict_one(self) -> bool:
        for kind in _EVICTION_ORDER:
            # Prefer a message never sent: removing it leaves no hole in the sequence.
            for lane in (self._pending, self._in_flight):
                victim = next((e for e in lane if e.kind == kind and e.sequence == 0), None)
                if victim is None:
                    victim = next((e for e in lane if e.kind == kind), None)
                if victim is not None:
                    if victim.holds_images:
                        self._strip(victim)
                    lane.remove(victim)
                    self.counters["dropped_messages"] += 1
                    self.counters[f"dropped_{kind}"] += 1
                    return True
        return False

    def _enforce(self) -> None:
        while self._image_bytes > self._image_budget and self._strip_oldest_frame():
            pass
        while len(self._pending) + len(self._in_flight) > self._bound:
            if not self._evict_one():
                break  # only command results left: a handful, each awaited by a dashboard
