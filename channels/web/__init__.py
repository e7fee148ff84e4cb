"""The web chat page (static files served by the gateway)."""
