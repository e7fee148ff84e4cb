"""The handoff domain: tickets, agents, the queue and its SLA timers, the desk. No HTTP here."""
