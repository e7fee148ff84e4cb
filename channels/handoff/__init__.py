"""Human handoff: tickets, the queue, routing between citizens and agents, and the agent console."""
