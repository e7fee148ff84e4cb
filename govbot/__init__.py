"""govbot: the command line on top of an accessible, multi-channel e-government assistant (Rasa 3.6 core)."""

from core import __version__

__all__ = ["__version__"]
