"""Performance figures from batch timestamps (no network, no clock: times are given)."""

from __future__ import annotations

import pytest

from trainwatch.performance import PerformanceTracker


def test_fps_time_per_batch_and_eta() -> None:
    tracker = PerformanceTracker(total_epochs=2, batches_per_epoch=10, window=5)
    assert tracker.sample(now=0.0) is None  # nothing to report before the first batch
    for index in range(10):  # 10 batches/s for the first 5, then 20 batches/s
        tracker.record_batch(0, index, now=index * 0.1 if index <= 5 else 0.5 + (index - 5) * 0.05)
    sample = tracker.sample(now=0.75)
    assert sample.current_fps == pytest.approx(20.0)  # the last 5 batches: 4 intervals of 50 ms
    assert sample.time_per_batch_ms == pytest.approx(50.0)
    assert sample.average_fps == pytest.approx(9 / 0.7)  # 9 intervals from the first batch to the last
    assert sample.estimated_time_remaining_sec == pytest.approx(10 / (9 / 0.7))
    assert sample.total_time_for_epoch_sec == pytest.approx(0.75)
    assert sample.resource_usage.memory_bytes > 0 and sample.resource_usage.cpu_percent >= 0
    assert tracker.sample(now=0.8) is None  # no new batch, no new sample
    assert tracker.sample(now=0.8, force=True) is not None


def test_epoch_clock_restarts_with_each_epoch() -> None:
    tracker = PerformanceTracker(total_epochs=2, batches_per_epoch=2)
    tracker.record_batch(0, 0, now=0.0)
    tracker.record_batch(0, 1, now=1.0)
    tracker.record_batch(1, 0, now=1.5)
    sample = tracker.sample(now=2.0)
    assert sample.total_time_for_epoch_sec == pytest.approx(1.0)  # since the previous batch ended
    assert sample.estimated_time_remaining_sec == pytest.approx(1 / (2 / 1.5))


def test_a_new_plan_moves_the_eta() -> None:
    tracker = PerformanceTracker(total_epochs=1, batches_per_epoch=4)
    tracker.record_batch(0, 0, now=0.0)
    tracker.record_batch(0, 1, now=1.0)
    assert tracker.sample(now=1.0).estimated_time_remaining_sec == pytest.approx(2.0)
    tracker.set_plan(total_epochs=2, batches_per_epoch=4)
    assert tracker.sample(now=1.0, force=True).estimated_time_remaining_sec == pytest.approx(6.0)
