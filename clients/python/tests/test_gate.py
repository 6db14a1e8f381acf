"""The pause/resume/stop gate (no network)."""

from __future__ import annotations

import threading

from harness import wait_for

from trainwatch.gate import Gate


def test_running_gate_lets_the_loop_through() -> None:
    assert Gate().wait(0) is True


def test_pause_holds_until_resume() -> None:
    gate = Gate()
    assert gate.pause() and not gate.pause()
    passed = []
    loop = threading.Thread(target=lambda: passed.append(gate.wait()))
    loop.start()
    wait_for(lambda: gate.waiting == 1, what="loop held")
    assert passed == []
    assert gate.resume()
    loop.join(5)
    assert passed == [True] and gate.waiting == 0


def test_stop_releases_a_paused_loop_and_is_final() -> None:
    gate = Gate()
    gate.pause()
    results = []
    loop = threading.Thread(target=lambda: results.append(gate.wait()))
    loop.start()
    wait_for(lambda: gate.waiting == 1, what="loop held")
    assert gate.stop()
    loop.join(5)
    assert results == [False]
    assert not gate.resume() and not gate.pause() and gate.state == "stopped" and gate.wait() is False


def test_wait_with_a_timeout_returns_while_still_paused() -> None:
    gate = Gate()
    gate.pause()
    assert gate.wait(0.01) is True and gate.state == "paused"
