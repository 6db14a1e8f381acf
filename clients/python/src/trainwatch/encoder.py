"""The encoder thread: raw samples in the outbox → JPEG images and predictions, in order."""

from __future__ import annotations

import logging
import threading
from typing import Callable, List, Optional, Sequence

from . import images as imaging
from .buffer import Entry, Outbox
from .gen.telemetry.v1 import telemetry_pb2 as pb

log = logging.getLogger("trainwatch")

FALLBACK_MAX_SIDE = 256
"""Largest image side when a server reports no limit (the documented default frame size)."""


class Encoder:
    """Encodes pending batches one at a time, oldest first, once the server's limits are known."""

    def __init__(
        self,
        outbox: Outbox,
        limits: Callable[[], Optional[pb.ServerConfig]],
        class_names: Callable[[], Sequence[str]],
        max_image_side: Optional[int],
        stopping: threading.Event,
    ) -> None:
        self._outbox = outbox
        self._limits = limits
        self._class_names = class_names
        self._max_image_side = max_image_side
        self._stopping = stopping
        self.thread = threading.Thread(target=self._run, name="trainwatch-encoder", daemon=True)

    def _run(self) -> None:
        while not self._stopping.is_set():
            limits = self._limits()
            if limits is None:
                self._stopping.wait(0.05)  # the server's limits decide image size and count
                continue
            entry = self._outbox.next_to_encode(0.2)
            if entry is not None and entry.raw is not None:
                self._encode(entry, limits)

    def _encode(self, entry: Entry, limits: pb.ServerConfig) -> None:
        side = limits.max_image_dimension or FALLBACK_MAX_SIDE
        if self._max_image_side is not None:
            side = min(side, self._max_image_side)
        try:
            images, predictions, truth = imaging.encode(
                entry.raw, limits.max_batch_size, side, self._class_names()
            )
        except Exception as error:  # bad shapes must not stop the stream; the scalars still go
            log.warning(
                "trainwatch: could not encode batch images (%s); sending the batch without them", error
            )
            images, predictions, truth = [], [], []
        names = self._class_names()
        if names and not _classes_in_range(predictions, truth, len(names)):
            # The server refuses a whole batch (its loss too) that names an unknown class: a model
            # with more outputs than named classes. Send the scalars, report, keep going.
            self._outbox.counters["batches_class_out_of_range"] += 1
            count = self._outbox.counters["batches_class_out_of_range"]
            if count <= 3 or count % 100 == 0:
                log.warning(
                    "trainwatch: batch %d names a class index outside config.class_names (%d classes); "
                    "sent without its images (%d batches so far)",
                    entry.request.batch_data.batch_idx,
                    len(names),
                    count,
                )
            images, predictions, truth = [], [], []
        self._outbox.finish_encoding(
            entry, self._filler(images, predictions, truth, limits.max_message_bytes)
        )

    def _filler(
        self, images: List[pb.ImageData], predictions: List[pb.Prediction], truth: List[int], max_bytes: int
    ) -> Callable[[pb.MetricsRequest], int]:
        def apply(request: pb.MetricsRequest) -> int:
            batch = request.batch_data
            batch.images.extend(images)
            batch.predictions.extend(predictions)
            batch.ground_truth.extend(truth)
            if max_bytes > 0 and request.ByteSize() > max_bytes:
                # The server would refuse the whole message (RESOURCE_EXHAUSTED); its loss still matters.
                log.warning(
                    "trainwatch: batch %d is over the server's %d-byte limit; sending it without images",
                    batch.batch_idx,
                    max_bytes,
                )
                del batch.images[:]
                self._outbox.counters["dropped_image_frames"] += 1
                return 0
            return imaging.encoded_size(images)

        return apply


def _classes_in_range(predictions: List[pb.Prediction], truth: List[int], classes: int) -> bool:
    return all(0 <= p.predicted_class < classes for p in predictions) and all(0 <= t < classes for t in truth)
