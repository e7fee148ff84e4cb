"""Custom actions served by the rasa_sdk action server (runs in .venv), one class per action."""

from bot.actions.choosing import ActionChooseItem, ActionChooseNumber
from bot.actions.fallback import ActionDefaultFallback
from bot.actions.follow_up import ActionAnswerFollowUp
from bot.actions.handoff import ActionHandOff
from bot.actions.knowledge_answer import ActionAnswerServiceQuestion
from bot.actions.offers import ActionAffirm, ActionDeny
from bot.actions.preferences import ActionConfirmLanguage, ActionSetMode
from bot.actions.rating import ActionRate
from bot.actions.report_form import ValidateWorkorderForm
from bot.actions.report_outcome import ActionCancelWorkorder, ActionResetWorkorder, ActionSubmitWorkorder
from bot.actions.report_questions import (ActionAskAddress, ActionAskChange, ActionAskContactMethod,
                                          ActionAskContactValue, ActionAskDescription, ActionAskReview,
                                          ActionAskSince)
from bot.actions.small_talk import ActionGoodbye, ActionGreet, ActionReplyOutOfScope, ActionThank
from bot.actions.workorder_status import ActionWorkorderStatus

__all__ = ["ActionAffirm", "ActionAnswerFollowUp", "ActionAnswerServiceQuestion", "ActionAskAddress",
           "ActionAskChange", "ActionAskContactMethod", "ActionAskContactValue", "ActionAskDescription",
           "ActionAskReview", "ActionAskSince", "ActionCancelWorkorder", "ActionChooseItem", "ActionChooseNumber",
           "ActionConfirmLanguage", "ActionDefaultFallback", "ActionDeny", "ActionGoodbye", "ActionGreet",
           "ActionHandOff", "ActionRate", "ActionReplyOutOfScope", "ActionResetWorkorder", "ActionSetMode",
           "ActionSubmitWorkorder", "ActionThank", "ActionWorkorderStatus", "ValidateWorkorderForm"]
