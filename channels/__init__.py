"""govbot's channels: the gateway (web page and APIs) and, later, Telegram and voice."""
