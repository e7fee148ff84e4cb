"""Custom Rasa NLU components (they run inside the Rasa server, in .venv-rasa)."""
