"""Custom actions served by the rasa_sdk action server (runs in .venv)."""

from bot.actions.fallback import ActionDefaultFallback
from bot.actions.knowledge_answer import ActionAnswerServiceQuestion
from bot.actions.out_of_scope import ActionReplyOutOfScope

__all__ = ["ActionAnswerServiceQuestion", "ActionDefaultFallback", "ActionReplyOutOfScope"]
