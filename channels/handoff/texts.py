"""What the citizen is told about their ticket, in Chinese and English."""

from datetime import datetime
from typing import Optional

from channels.models import BotMessage, Button
from govbot.ratings import LEVELS

TEXTS = {
    "zh": {
        "opened": "已为您转人工客服，工单号 {number}。您前面还有 {ahead} 位，预计等待约 {minutes} 分钟。"
                  "请在这里继续留言，客服接入后都能看到。",
        "opened_offline": "现在没有人工客服在线。已为您登记工单 {number}，{when}。"
                          "请在这里留言说明情况，急事请拨打12345政务服务便民热线。",
        "waiting": "您的留言已转给人工客服（工单 {number}），您排在第 {position} 位，预计等待约 {minutes} 分钟。",
        "waiting_offline": "您的留言已记在工单 {number} 上，{when}。急事请拨打12345。",
        "claimed": "人工客服 {agent} 已接入，正在查看您的问题。",
        "closed": "本次人工服务已结束（工单 {number}），智能助手继续为您服务。请为本次人工服务打分：",
        "cancelled": "已取消人工服务（工单 {number}），智能助手继续为您服务。",
        "rated": "感谢您的评价：{level}。还有什么可以帮您？",
        "cancel": "取消转人工",
        "agent_prefix": "人工客服 {agent}：",
        "soon": "客服上线后会尽快联系您",
        "at": "客服会在{moment:%m月%d日 %H:%M}以后联系您",
    },
    "en": {
        "opened": "You are now in the queue for a person; your ticket number is {number}. {ahead} people are ahead "
                  "of you, the wait is about {minutes} minutes. Keep writing here: the agent will see everything.",
        "opened_offline": "No agent is online right now. Your ticket {number} is registered; {when}. "
                          "Leave your message here; for urgent matters call the 12345 hotline.",
        "waiting": "Your message is with the agents (ticket {number}). You are number {position} in the queue, "
                   "about {minutes} minutes to wait.",
        "waiting_offline": "Your message is on ticket {number}; {when}. For urgent matters call 12345.",
        "claimed": "Agent {agent} has joined and is reading your question.",
        "closed": "The agent has finished (ticket {number}); the assistant is back. Please rate the agent's help:",
        "cancelled": "The request for a person is cancelled (ticket {number}); the assistant is back.",
        "rated": "Thank you for your rating: {level}. What else can I help you with?",
        "cancel": "Cancel the request for a person",
        "agent_prefix": "Agent {agent}: ",
        "soon": "an agent will contact you as soon as one is available",
        "at": "an agent will contact you after {moment:%d %b %H:%M}",
    },
}


def text(language: str, key: str, **values: object) -> str:
    return TEXTS["en" if language == "en" else "zh"][key].format(**values)


def when(language: str, opening: Optional[datetime]) -> str:
    """When the citizen can expect an agent: after the next opening time, or as soon as one is available."""
    return text(language, "at", moment=opening) if opening else text(language, "soon")


def cancel_button(language: str) -> Button:
    return Button(title=text(language, "cancel"), payload="/cancel_handoff")


def rating_buttons(language: str, number: str) -> list[Button]:
    """The five levels, best first, as buttons that rate the ticket."""
    index = 1 if language == "en" else 0
    return [Button(title=names[index], payload=f'/rate_ticket{{"ticket": "{number}", "rating": "{level}"}}')
            for level, names in LEVELS.items()]


def ticket_message(message_text: str, language: str, ticket: dict, buttons: Optional[list[Button]] = None,
                   kind: str = "ticket") -> BotMessage:
    """A message from the handoff (not from Rasa), with the ticket's state in its payload."""
    return BotMessage(text=message_text, buttons=buttons or [],
                      custom={"kind": kind, "language": language, "ticket": ticket})
