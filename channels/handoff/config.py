"""Handoff settings, from GOVBOT_HANDOFF_* and GOVBOT_SLA_* environment variables."""

import os
from dataclasses import dataclass, field

from channels.handoff.policy import SlaTargets, WorkingHours
from govbot.settings import SettingsError


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise SettingsError(f"{name} must be positive, got {raw!r}")
    return value


@dataclass(frozen=True)
class HandoffConfig:
    sla: SlaTargets = field(default_factory=SlaTargets)
    hours: WorkingHours = field(default_factory=lambda: WorkingHours.parse("always"))
    hours_text: str = "always"
    minutes_per_ticket: float = 4.0
    update_seconds: float = 15.0
    heartbeat_seconds: float = 15.0

    @classmethod
    def from_env(cls) -> "HandoffConfig":
        hours_text = os.environ.get("GOVBOT_HANDOFF_HOURS", "always")
        try:
            hours = WorkingHours.parse(hours_text, os.environ.get("GOVBOT_HANDOFF_TIMEZONE", "Asia/Shanghai"))
        except ValueError as error:
            raise SettingsError(f"GOVBOT_HANDOFF_HOURS / GOVBOT_HANDOFF_TIMEZONE: {error}") from None
        sla = SlaTargets(first_response=_number("GOVBOT_SLA_FIRST_RESPONSE", 120),
                         next_response=_number("GOVBOT_SLA_NEXT_RESPONSE", 300),
                         resolution=_number("GOVBOT_SLA_RESOLUTION", 1800),
                         warn_share=min(0.99, _number("GOVBOT_SLA_WARN_SHARE", 0.8)))
        return cls(sla=sla, hours=hours, hours_text=hours_text,
                   minutes_per_ticket=_number("GOVBOT_HANDOFF_MINUTES_PER_TICKET", 4),
                   update_seconds=_number("GOVBOT_HANDOFF_UPDATE_SECONDS", 15),
                   heartbeat_seconds=_number("GOVBOT_HANDOFF_HEARTBEAT_SECONDS", 15))
