"""The Telegram channel: an aiogram bot in the gateway that talks to Rasa like the web page does."""
