"""Handoff settings (working hours, SLA targets, queue timing, agents' sessions and log-ins), from the one Settings
object."""

from dataclasses import dataclass, field
from datetime import timedelta

from core.settings import Settings, SettingsError
from handoff.login_guard import Backoff
from handoff.passwords import DEFAULT_MIN_LENGTH
from handoff.policy import SlaTargets, WorkingHours

SESSION_LIFETIME = timedelta(hours=12)  # an agent logs in again at least this often, however busy
SESSION_IDLE = timedelta(minutes=30)


@dataclass(frozen=True)
class HandoffConfig:
    """How the handoff desk times tickets, tells waiting users about the queue, and guards agents' sessions."""

    sla: SlaTargets = field(default_factory=SlaTargets)
    hours: WorkingHours = field(default_factory=lambda: WorkingHours.parse("always"))
    hours_text: str = "always"
    minutes_per_ticket: float = 4.0
    update_seconds: float = 15.0
    heartbeat_seconds: float = 15.0
    session_lifetime: timedelta = SESSION_LIFETIME
    session_idle: timedelta = SESSION_IDLE
    password_min_length: int = DEFAULT_MIN_LENGTH
    # failed log-ins: a username is locked after 5 failures in a row, an address (maybe an office behind one
    # NAT) after 10; 15 s, then doubling up to 15 minutes
    user_backoff: Backoff = field(default_factory=Backoff)
    address_backoff: Backoff = field(default_factory=lambda: Backoff(free_failures=10))

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
                   heartbeat_seconds=settings.handoff_heartbeat_seconds,
                   session_idle=timedelta(minutes=settings.agent_idle_minutes),
                   password_min_length=settings.password_min_length)
