"""govbot: an accessible, multi-channel e-government assistant (Rasa 3.6 core)."""

__version__ = "0.1.0"
