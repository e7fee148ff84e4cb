"""Handoff settings (working hours, SLA targets, queue timing), taken from the one Settings object."""

from dataclasses import dataclass, field

from core.settings import Settings, SettingsError
from handoff.policy import SlaTargets, WorkingHours


@dataclass(frozen=True)
class HandoffConfig:
    """How the handoff desk times tickets and tells waiting users about the queue."""

    sla: SlaTargets = field(default_factory=SlaTargets)
    hours: WorkingHours = field(default_factory=lambda: WorkingHours.parse("always"))
    hours_text: str = "always"
    minutes_per_ticket: float = 4.0
    update_seconds: float = 15.0
    heartbeat_seconds: float = 15.0

    @classmethod
    def from_settings(cls, settings: Settings) -> "HandoffConfig":
        """The handoff configuration from settings; SettingsError when the working hours cannot be read."""
        try:
            hours = WorkingHours.parse(settings.handoff_hours, settings.handoff_timezone)
        except ValueError as error:
            raise SettingsError(f"GOVBOT_HANDOFF_HOURS / GOVBOT_HANDOFF_TIMEZONE: {error}") from None
        sla = SlaTargets(first_response=settings.sla_first_response, next_response=settings.sla_next_response,
                         resolution=settings.sla_resolution, warn_share=min(0.99, settings.sla_warn_share))
        return cls(sla=sla, hours=hours, hours_text=settings.handoff_hours,
                   minutes_per_ticket=settings.handoff_minutes_per_ticket,
                   update_seconds=settings.handoff_update_seconds,
                   heartbeat_seconds=settings.handoff_heartbeat_seconds)
