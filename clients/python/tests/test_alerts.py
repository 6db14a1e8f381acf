"""The ``alerts`` option becomes SessionInfo.alert_rules."""

from __future__ import annotations

import pytest

from trainwatch.alerts import to_alert_rules, to_webhook_urls
from trainwatch.gen.telemetry.v1 import alerts_pb2


def test_alerts_option_becomes_rules_with_defaults_left_zero() -> None:
    nan, spike = to_alert_rules(
        [
            {"rule": "non_finite", "action": "notify"},
            {"rule": "loss_spike", "threshold": 4, "window": 20, "disabled": True},
        ]
    )
    assert nan.kind == alerts_pb2.ALERT_RULE_KIND_NON_FINITE
    assert nan.action == alerts_pb2.ALERT_ACTION_NOTIFY
    assert (spike.threshold, spike.window, spike.disabled, spike.action) == (4.0, 20, True, 0)


def test_unknown_rule_or_action_is_named() -> None:
    with pytest.raises(ValueError, match=r"alerts\[0\]: unknown rule 'nan'"):
        to_alert_rules([{"rule": "nan"}])
    with pytest.raises(ValueError, match=r"alerts\[0\]: action must be notify, pause or stop"):
        to_alert_rules([{"rule": "stall", "action": "halt"}])


def test_webhooks_option_takes_http_urls_and_names_a_bad_entry_without_echoing_it() -> None:
    assert to_webhook_urls(["https://hooks.slack.com/services/T/B/x"]) == [
        "https://hooks.slack.com/services/T/B/x"
    ]
    assert to_webhook_urls(None) == []
    with pytest.raises(ValueError, match=r"^webhooks\[0\] must be an http:// or https:// URL$"):
        to_webhook_urls(["file:///etc/secret"])
    with pytest.raises(ValueError, match=r"webhooks: 5 URLs, at most 4 per run"):
        to_webhook_urls([f"https://h{i}.example/" for i in range(5)])
