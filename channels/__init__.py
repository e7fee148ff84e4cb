"""govbot's delivery side: the gateway (composition root: web page, APIs, agent console), Telegram, voice."""
