"""Named values checked against the contract before they are sent.

The server rejects a whole message (a batch's loss included) for one bad name, so a bad name is left
out here and logged (once per name) instead, and the training loop is never interrupted. Same rules
as the server and the TypeScript SDK: the series name pattern, ``loss`` reserved for batch_loss, a
number per name, at most max_metrics_per_message names per message and max_series distinct series
per session (loss and the system series included).
"""

from __future__ import annotations

import logging
import numbers
import threading
from typing import Any, Dict, List, Mapping, Optional, Tuple

from .rules import (
    DEFAULT_MAX_METRICS_PER_MESSAGE,
    DEFAULT_MAX_SERIES,
    LOSS_SERIES,
    SERIES_NAME_PATTERN,
    SERIES_NAME_RULE,
)

log = logging.getLogger("trainwatch")

REPORTED_NAMES_BOUND = 1000
"""Distinct rejected names remembered so each is reported once, not every batch."""


class MetricFilter:
    def __init__(self) -> None:
        self._series = {LOSS_SERIES}
        self._reported: set = set()
        self._lock = threading.Lock()
        self.max_series = DEFAULT_MAX_SERIES
        self.max_per_message = DEFAULT_MAX_METRICS_PER_MESSAGE
        self.problems: List[Tuple[str, str]] = []  # (name, message), bounded like _reported
        self.left_out = 0

    def set_limits(self, max_series: int, max_per_message: int) -> None:
        """The server's limits; 0 means "not said" and keeps the contract default."""
        if max_series > 0:
            self.max_series = max_series
        if max_per_message > 0:
            self.max_per_message = max_per_message

    @property
    def series_count(self) -> int:
        return len(self._series)

    def filter(self, values: Optional[Mapping[str, Any]], where: str) -> Dict[str, float]:
        kept: Dict[str, float] = {}
        if not values:
            return kept
        with self._lock:
            for name, value in values.items():
                problem = self._check(name, value, len(kept))
                if problem is not None:
                    self.left_out += 1
                    self._once(str(name), f"{where}: left out {str(name)[:80]!r}: {problem}")
                    continue
                self._series.add(name)
                kept[name] = float(value)
        return kept

    def _check(self, name: Any, value: Any, count: int) -> Optional[str]:
        if not isinstance(name, str) or not SERIES_NAME_PATTERN.fullmatch(name):
            length = len(name) if isinstance(name, str) else 0
            return f"a series name must be {SERIES_NAME_RULE} (got {length} characters)"
        if name == LOSS_SERIES:
            return f'"{LOSS_SERIES}" is the batch loss\'s series; pass it as loss'
        if hasattr(value, "item") and callable(value.item):  # 0-d tensors and numpy scalars
            try:
                value = value.item()
            except Exception:
                pass
        # NaN and infinities are numbers and are sent: a diverging run produces them.
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return f"the value must be a number, got {type(value).__name__}"
        if count >= self.max_per_message:
            return f"a message carries at most {self.max_per_message} named values"
        if name not in self._series and len(self._series) >= self.max_series:
            return f"the session already has {self.max_series} series, the most the server allows"
        return None

    def _once(self, name: str, message: str) -> None:
        if name in self._reported:
            return
        if len(self._reported) < REPORTED_NAMES_BOUND:
            self._reported.add(name)
            self.problems.append((name, message))
        log.warning("trainwatch: %s", message)
