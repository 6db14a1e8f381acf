"""The ``alerts`` option: watchdog rules a run wants instead of the server's defaults.

Each entry is a mapping like ``{"rule": "non_finite", "action": "notify"}`` with optional
``threshold``, ``window`` (batches, or milliseconds for ``stall`` and ``gpu_idle``) and
``disabled``; left-out fields keep the server's default. Sent as ``SessionInfo.alert_rules``.
"""

from __future__ import annotations

from typing import Any, Iterable, List, Mapping, Optional

from urllib.parse import urlsplit

from .gen.telemetry.v1 import alerts_pb2
from .rules import MAX_WEBHOOK_URL_LENGTH, MAX_WEBHOOK_URLS_PER_SESSION

RULES = {
    "non_finite": alerts_pb2.ALERT_RULE_KIND_NON_FINITE,
    "loss_spike": alerts_pb2.ALERT_RULE_KIND_LOSS_SPIKE,
    "divergence": alerts_pb2.ALERT_RULE_KIND_DIVERGENCE,
    "plateau": alerts_pb2.ALERT_RULE_KIND_PLATEAU,
    "stall": alerts_pb2.ALERT_RULE_KIND_STALL,
    "gpu_idle": alerts_pb2.ALERT_RULE_KIND_GPU_IDLE,
    "disconnected": alerts_pb2.ALERT_RULE_KIND_DISCONNECTED,
}
ACTIONS = {
    "notify": alerts_pb2.ALERT_ACTION_NOTIFY,
    "pause": alerts_pb2.ALERT_ACTION_PAUSE,
    "stop": alerts_pb2.ALERT_ACTION_STOP,
}


def to_alert_rules(alerts: Optional[Iterable[Mapping[str, Any]]]) -> List[alerts_pb2.AlertRule]:
    """The option as contract rules; raises ValueError naming an unknown rule or action."""
    rules = []
    for index, entry in enumerate(alerts or ()):
        kind = RULES.get(entry.get("rule", ""))
        if kind is None:
            raise ValueError(
                f"alerts[{index}]: unknown rule {entry.get('rule')!r}; one of {', '.join(RULES)}"
            )
        action_name = entry.get("action")
        action = alerts_pb2.ALERT_ACTION_UNSPECIFIED if action_name is None else ACTIONS.get(action_name)
        if action is None:
            raise ValueError(f"alerts[{index}]: action must be notify, pause or stop")
        rules.append(
            alerts_pb2.AlertRule(
                kind=kind,
                threshold=float(entry.get("threshold", 0)),
                window=int(entry.get("window", 0)),
                action=action,
                disabled=bool(entry.get("disabled", False)),
            )
        )
    return rules


def to_webhook_urls(webhooks: Optional[Iterable[str]]) -> List[str]:
    """The ``webhooks`` option checked: http(s) URLs, at most MAX_WEBHOOK_URLS_PER_SESSION.

    Sent as ``SessionInfo.webhook_urls``; the server also checks each host against its
    WEBHOOK_ALLOWED_HOSTS. Errors name the entry, never the URL (its path may be a secret).
    """
    urls = list(webhooks or ())
    if len(urls) > MAX_WEBHOOK_URLS_PER_SESSION:
        raise ValueError(
            f"webhooks: {len(urls)} URLs, at most {MAX_WEBHOOK_URLS_PER_SESSION} per run"
        )
    for index, url in enumerate(urls):
        if not isinstance(url, str) or len(url) > MAX_WEBHOOK_URL_LENGTH:
            raise ValueError(
                f"webhooks[{index}] must be a URL of at most {MAX_WEBHOOK_URL_LENGTH} characters"
            )
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"webhooks[{index}] must be an http:// or https:// URL")
    return urls
