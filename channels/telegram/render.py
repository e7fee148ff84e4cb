"""Bot replies as Telegram messages: escaped HTML, bold headings, split under the length limit, inline keyboards."""

import hashlib
import html
import re
from typing import Optional

from cachetools import FIFOCache
from pydantic import BaseModel, Field

from core.messages import BotMessage, Button

MAX_MESSAGE = 4096          # Telegram's limit for a message text (UTF-16 code units)
SAFE_MESSAGE = 4000         # what we fill, leaving room for Telegram's own counting
LARGE_TEXT_MESSAGE = 1000   # large-text mode: shorter messages are easier to read
MAX_CALLBACK_BYTES = 64     # Telegram's limit for callback_data
KEY_PREFIX = "k:"           # callback_data that stands for a longer payload kept in PayloadKeys
ITEM_KINDS = ("answer", "follow_up")

_HEADING = re.compile(r"^[^:：\d][^:：]{0,30}[:：]$")
_LABELLED = re.compile(r"^([^:：\d][^:：]{0,30}[:：]) (.+)$")
_STEP = re.compile(r"^\d+[.、] ")
_SENTENCE_END = re.compile(r"(?<=[。！？；])|(?<=[.!?;] )")  # split after a sentence, keeping its space


class InlineButton(BaseModel):
    """One inline-keyboard button: its label and the callback_data Telegram sends back."""

    text: str
    callback_data: str


class TelegramMessage(BaseModel):
    """One message to send: HTML text and the inline keyboard rows under it (if any)."""

    html: str
    keyboard: list[list[InlineButton]] = Field(default_factory=list)


class PayloadKeys:
    """A bounded map from short keys to payloads too long for callback_data (the key issued longest ago dropped
    first; issuing a key again makes it the newest, resolving it does not)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._payloads: FIFOCache[str, str] = FIFOCache(maxsize=capacity)

    def callback_data(self, payload: str) -> str:
        """The payload itself when it fits in 64 bytes, else a short key that `resolve` turns back into it."""
        if len(payload.encode()) <= MAX_CALLBACK_BYTES and not payload.startswith(KEY_PREFIX):
            return payload
        key = KEY_PREFIX + hashlib.sha256(payload.encode()).hexdigest()[:20]
        if self.capacity > 0:
            self._payloads[key] = payload  # FIFOCache: a key set again moves to the back of the queue
        return key

    def resolve(self, data: str) -> Optional[str]:
        """The payload a callback_data stands for; None when its key has been forgotten."""
        if not data.startswith(KEY_PREFIX):
            return data
        return self._payloads.get(data)

    def __len__(self) -> int:
        return len(self._payloads)


def utf16_length(text: str) -> int:
    """The length Telegram counts: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def format_line(line: str, is_title: bool, structured: bool) -> str:
    """One line as escaped HTML; titles and section headings in bold when the text is a service answer."""
    escaped = html.escape(line, quote=False)
    if not structured or not line.strip():
        return escaped
    if is_title or _HEADING.match(line):
        return f"<b>{escaped}</b>"
    labelled = _LABELLED.match(line)
    if labelled and not _STEP.match(line):
        return f"<b>{html.escape(labelled.group(1), quote=False)}</b> {html.escape(labelled.group(2), quote=False)}"
    return escaped


def split_lines(lines: list[str], limit: int) -> list[list[str]]:
    """Group (raw) lines into messages whose escaped HTML stays under `limit`, breaking only between lines.

    A break before a section heading is preferred once a message is more than half full.
    """
    groups: list[list[str]] = [[]]
    size = 0
    for line in lines:
        cost = utf16_length(html.escape(line)) + 16  # room for <b></b> and the newline
        heading = bool(_HEADING.match(line))
        if groups[-1] and (size + cost > limit or (heading and size > limit // 2)):
            groups.append([])
            size = 0
        groups[-1].append(line)
        size += cost
    return [group for group in groups if any(line.strip() for line in group)]


def expand_long_lines(lines: list[str], limit: int) -> list[str]:
    """Every line short enough for one message (long ones cut at sentence ends or spaces)."""
    out: list[str] = []
    for line in lines:
        if utf16_length(html.escape(line)) + 16 <= limit:
            out.append(line)
        else:
            out.extend(hard_wrap(line, limit - 16))
    return out


def hard_wrap(line: str, limit: int) -> list[str]:
    """Cut one line into pieces whose escaped length is at most `limit`: at sentence ends, spaces, or characters."""
    units = [unit for unit in _SENTENCE_END.split(line) if unit]
    pieces: list[str] = []
    current = ""
    for unit in units:
        for part in _fit(unit, limit):
            if current and utf16_length(html.escape(current + part)) > limit:
                pieces.append(current)
                current = part
            else:
                current += part
    if current:
        pieces.append(current)
    return pieces


def _fit(unit: str, limit: int) -> list[str]:
    """A sentence as parts that each fit: whole, by words, or by characters."""
    if utf16_length(html.escape(unit)) <= limit:
        return [unit]
    parts: list[str] = []
    for word in re.split(r"(?<= )", unit):
        while utf16_length(html.escape(word)) > limit:
            size = max(1, limit // 6)  # one character escapes to at most six units ("&quot;")
            parts.append(word[:size])
            word = word[size:]
        parts.append(word)
    return parts


def keyboard(buttons: list[Button], keys: PayloadKeys, large_text: bool = False) -> list[list[InlineButton]]:
    """Inline-keyboard rows: short choices side by side, longer ones (and all in large-text mode) one per row."""
    if not buttons:
        return []
    inline = [InlineButton(text=button.title, callback_data=keys.callback_data(button.payload)) for button in buttons]
    side_by_side = not large_text and len(buttons) <= 3 and all(len(b.title) <= 8 for b in buttons)
    return [inline] if side_by_side else [[button] for button in inline]


def render_message(message: BotMessage, keys: PayloadKeys, large_text: bool = False) -> list[TelegramMessage]:
    """One bot message as one or more Telegram messages; the keyboard goes under the last one."""
    text = (message.text or "").strip()
    if not text and not message.buttons:
        return []
    kind = (message.custom or {}).get("kind")
    structured = kind in ITEM_KINDS
    lines = text.splitlines()
    if large_text:  # one step (one thing) per line, with air between them
        lines = [line for line in lines if line.strip()]
    limit = LARGE_TEXT_MESSAGE if large_text else SAFE_MESSAGE
    title = lines[0] if structured and lines else None
    groups = split_lines(expand_long_lines(lines, limit), limit) or [[]]
    separator = "\n\n" if large_text else "\n"
    rendered = []
    for number, group in enumerate(groups):
        body = separator.join(format_line(line, is_title=(number == 0 and index == 0 and line == title),
                                          structured=structured) for index, line in enumerate(group))
        rendered.append(TelegramMessage(html=body or "…"))
    rendered[-1].keyboard = keyboard(message.buttons, keys, large_text)
    return rendered


def render_replies(messages: list[BotMessage], keys: PayloadKeys, large_text: bool = False) -> list[TelegramMessage]:
    """All of one turn's bot messages as Telegram messages, in order."""
    return [out for message in messages for out in render_message(message, keys, large_text)]


def spoken_form(message: BotMessage) -> str:
    """What a reply says aloud: its payload's `speech` (an answer's short form) when it has one, else its text."""
    speech = (message.custom or {}).get("speech")
    return (speech if isinstance(speech, str) and speech.strip() else message.text or "").strip()


def spoken_text(messages: list[BotMessage]) -> str:
    """The text of one turn's replies, as it should be read aloud."""
    return "\n".join(spoken for spoken in map(spoken_form, messages) if spoken)
