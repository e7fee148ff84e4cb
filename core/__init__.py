"""The core: settings, logging, language, database, the rating scale and the shared vocabulary.

Every other layer may import from here; this package imports none of them. `core.language` is also
loaded by the Rasa server's environment, so modules here import nothing heavy at package level.
"""

__version__ = "0.1.0"
