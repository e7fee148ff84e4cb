"""The aiogram bot: routers whose handlers each do one thing, and the TelegramChats they share.

Handlers get the TelegramChats from the dispatcher's workflow data (`dispatcher["conversation"]`).
Every message handler is registered with `F.from_user`, so a message without a sender never reaches one;
the handlers still check it (aiogram types it as optional) and ignore such a message.
"""

import asyncio
import html
import logging
import time
from dataclasses import replace
from typing import Any, Awaitable, Callable, Optional

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import (BufferedInputFile, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup,
                           KeyboardButton, Message, ReplyKeyboardMarkup, ReplyKeyboardRemove, User)

from channels.common.conversation import Conversation
from channels.common.rasa_client import RasaUnavailable
from channels.telegram.audio import AudioConversionError, ogg_duration, to_ogg_opus
from channels.telegram.render import PayloadKeys, TelegramMessage, render_replies, spoken_text
from channels.telegram.state import UserState, UserStates
from channels.telegram.texts import KEYBOARD, KEYBOARD_ACTIONS, language_of, message
from channels.voice.audio import AudioError, DecoderUnavailable
from channels.voice.service import VoiceInput, not_set_up
from channels.voice.stt import AUTO, LANGUAGES, EngineNotConfigured, RecognitionFailed
from channels.voice.tts import EngineFailed, SpeechError, TextToSpeech
from core import payloads
from core.messages import BotMessage

log = logging.getLogger("govbot.telegram")

ALERT_KINDS = ("rating", "mode", "language")  # short confirmations a callback answer announces
MAX_ALERT_CHARS = 200                          # Telegram's limit for a callback answer's text
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


def sender_id(user: User) -> str:
    return f"telegram:{user.id}"


def message_request_id(event: Message) -> str:
    """The request id of a Telegram message (the same when Telegram delivers its update again)."""
    return f"tg-{event.chat.id}-{event.message_id}"


def callback_request_id(query: CallbackQuery) -> str:
    """The request id of an inline button press (the same when Telegram delivers its update again)."""
    return f"tgcb-{query.id}"[:64]


def mode_payload(name: str, currently_on: Optional[bool]) -> str:
    """The payload that toggles a mode ("large_text" or "voice") from its known state (unknown: off)."""
    return payloads.mode(name, not currently_on)


def reply_keyboard(language: str) -> ReplyKeyboardMarkup:
    """The large-text mode's persistent keyboard of text-labelled buttons."""
    rows = [[KeyboardButton(text=label) for label, _ in row] for row in KEYBOARD[language]]
    return ReplyKeyboardMarkup(keyboard=rows, is_persistent=True, resize_keyboard=True)


def inline_markup(rendered: TelegramMessage) -> Optional[InlineKeyboardMarkup]:
    if not rendered.keyboard:
        return None
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=b.text, callback_data=b.callback_data)
                                                  for b in row] for row in rendered.keyboard])


def keyboard_change(before: UserState, after: UserState) -> Optional[Markup]:
    """The reply keyboard to show or remove when large-text mode (or its language) changed."""
    if after.large_text and (not before.large_text or before.language != after.language):
        return reply_keyboard(language_of(None, after.language))
    if before.large_text and after.large_text is False:
        return ReplyKeyboardRemove()
    return None


class TelegramChats:
    """Telegram users' turns: text into the Conversation, replies rendered and sent back, spoken if the modes say."""

    def __init__(self, conversation: Conversation, tts: Optional[TextToSpeech], keys: Optional[PayloadKeys] = None,
                 states: Optional[UserStates] = None, max_chars: int = 2000, tts_timeout: float = 180.0,
                 voice: Optional[VoiceInput] = None) -> None:
        self.conversation, self.tts, self.voice = conversation, tts, voice
        self.keys = keys or PayloadKeys()
        self.states = states or UserStates()
        self.max_chars, self.tts_timeout = max_chars, tts_timeout

    def language(self, user: User) -> str:
        return language_of(user.language_code, self.states.get(user.id).language)

    async def ask(self, user: User, text: str,
                  request_id: Optional[str] = None) -> Optional[tuple[list[BotMessage], UserState, UserState]]:
        """Send the text on (with the Telegram message's request id, if given); the replies and the user's state
        before and after (None: Rasa is unavailable)."""
        started = time.perf_counter()
        metadata: dict[str, Any] = {"channel": "telegram", "language_code": user.language_code}
        if request_id is not None:
            metadata["request_id"] = request_id
        try:
            replies = await self.conversation.send(sender_id(user), text, metadata)
        except RasaUnavailable as error:
            log.warning("rasa_unavailable", extra={"fields": {"channel": "telegram", "reason": str(error)}})
            return None
        before, after = self.states.update_from(user.id, replies)
        kinds = [(reply.custom or {}).get("kind") for reply in replies]
        log.info("telegram_turn", extra={"fields": {"chars": len(text), "replies": len(replies), "kinds": kinds,
                                                    "ms": round((time.perf_counter() - started) * 1000, 1)}})
        return replies, before, after

    async def deliver(self, bot: Bot, chat_id: int, replies: list[BotMessage],
                      before: UserState, after: UserState) -> None:
        """Send the rendered replies (and the reply keyboard when large-text mode changed), then the voice."""
        rendered = render_replies(replies, self.keys, large_text=bool(after.large_text))
        change = keyboard_change(before, after)
        plain = [index for index, out in enumerate(rendered) if not out.keyboard]
        for index, out in enumerate(rendered):
            markup: Optional[Markup] = inline_markup(out)
            if change is not None and plain and index == plain[-1]:
                markup, change = change, None
            await bot.send_message(chat_id, out.html, reply_markup=markup)
        if change is not None:  # every message had an inline keyboard: the reply keyboard needs its own
            await bot.send_message(chat_id, message("keyboard_on", language_of(None, after.language)),
                                   reply_markup=change)
        if after.speaks and self.tts is not None:
            await self.speak(bot, chat_id, replies, after)

    async def turn(self, bot: Bot, chat_id: int, user: User, text: str,
                   request_id: Optional[str] = None) -> Optional[list[BotMessage]]:
        """Ask and deliver; tells the user when Rasa is unavailable."""
        asked = await self.ask(user, text, request_id)
        if asked is None:
            await bot.send_message(chat_id, message("unavailable", self.language(user)))
            return None
        await self.deliver(bot, chat_id, *asked)
        return asked[0]

    async def speak(self, bot: Bot, chat_id: int, replies: list[BotMessage], state: UserState) -> None:
        """The replies as one voice message (OGG/Opus; an answer in its short form), slower in large-text mode; a
        failure is logged and skipped."""
        text = spoken_text(replies)
        if not text or self.tts is None:
            return
        limit = self.tts.max_chars
        if len(text) > limit:  # read the beginning, cut at a line end
            text = text[:limit].rsplit("\n", 1)[0]
        language = language_of(None, state.language)
        started = time.perf_counter()
        try:
            speech = await asyncio.wait_for(asyncio.to_thread(self.tts.speak, text, language, bool(state.large_text)),
                                            self.tts_timeout)
            ogg = await asyncio.to_thread(to_ogg_opus, speech.audio)
        except (SpeechError, EngineFailed, AudioConversionError, asyncio.TimeoutError) as error:
            log.warning("telegram_voice_failed", extra={"fields": {"reason": f"{type(error).__name__}: {error}"}})
            return
        await bot.send_voice(chat_id, BufferedInputFile(ogg, filename="answer.ogg"), duration=ogg_duration(ogg))
        log.info("telegram_voice", extra={"fields": {"engine": speech.engine, "chars": len(text), "bytes": len(ogg),
                                                     "ms": round((time.perf_counter() - started) * 1000, 1)}})

    async def say_not_set_up(self, bot: Bot, chat_id: int, user: User, language: str) -> None:
        """Voice input in this language is not set up here: said in words and as a voice message."""
        reply = not_set_up(language)
        await bot.send_message(chat_id, html.escape(reply.message))
        state = replace(self.states.get(user.id), language=reply.speech_language)
        await self.speak(bot, chat_id, [BotMessage(text=reply.speech)], state)

    async def command(self, bot: Bot, chat_id: int, user: User, action: str, argument: str = "") -> None:
        """A channel command (help, large, voice, human, lang) turned into its Rasa payload."""
        state = self.states.get(user.id)
        if action == "help":
            await bot.send_message(chat_id, message("help", self.language(user)))
            return
        if action == "large":
            payload = mode_payload("large_text", state.large_text)
        elif action == "voice":
            payload = mode_payload("voice", state.voice)
        elif action == "human":
            payload = payloads.ASK_PERSON
        else:  # lang: the one named, else the other one
            target = argument.strip().lower()[:2]
            if target not in ("zh", "en"):
                target = "en" if self.language(user) == "zh" else "zh"
            payload = payloads.switch_language(target)
        await self.turn(bot, chat_id, user, payload)


async def on_start(event: Message, bot: Bot, conversation: TelegramChats) -> None:
    """/start: greet in the user's Telegram language (Rasa greets in the language it is greeted in), then the help."""
    user = event.from_user
    if user is None:
        return
    language = language_of(user.language_code)
    if await conversation.turn(bot, event.chat.id, user, message("greeting_prompt", language)) is not None:
        await bot.send_message(event.chat.id, message("help", conversation.language(user)))


CommandHandler = Callable[[Message, Bot, TelegramChats, CommandObject], Awaitable[None]]


def on_command(action: str) -> CommandHandler:
    """The handler of one channel command (/help, /large, /voice, /human, /lang)."""
    async def handler(event: Message, bot: Bot, conversation: TelegramChats, command: CommandObject) -> None:
        if event.from_user is not None:
            await conversation.command(bot, event.chat.id, event.from_user, action, command.args or "")
    handler.__name__ = f"on_{action}"
    return handler


async def on_unknown_command(event: Message, bot: Bot, conversation: TelegramChats) -> None:
    """Any other /command: the help (typed payloads are not passed to Rasa)."""
    if event.from_user is not None:
        await conversation.command(bot, event.chat.id, event.from_user, "help")


async def on_keyboard_button(event: Message, bot: Bot, conversation: TelegramChats) -> None:
    """A button of the large-text reply keyboard: the command it is labelled with."""
    if event.from_user is not None and event.text is not None:
        await conversation.command(bot, event.chat.id, event.from_user, KEYBOARD_ACTIONS[event.text])


async def on_callback(query: CallbackQuery, bot: Bot, conversation: TelegramChats) -> None:
    """An inline button: its payload to Rasa; the answer announced (show_alert) when it is a short confirmation."""
    user = query.from_user
    payload = conversation.keys.resolve(query.data or "")
    if payload is None or query.message is None:
        await query.answer(message("expired", conversation.language(user)), show_alert=True)
        return
    chat_id = query.message.chat.id
    asked = await conversation.ask(user, payload, callback_request_id(query))
    if asked is None:
        await query.answer(message("unavailable", conversation.language(user)), show_alert=True)
        return
    replies, before, after = asked
    alert = informative_answer(replies)
    await query.answer(alert, show_alert=alert is not None)
    try:  # the choice is made: take the buttons away so they are not pressed twice
        await bot.edit_message_reply_markup(chat_id=chat_id, message_id=query.message.message_id, reply_markup=None)
    except TelegramBadRequest:
        pass  # the message is too old to edit, or has no keyboard any more
    await conversation.deliver(bot, chat_id, replies, before, after)


def informative_answer(replies: list[BotMessage]) -> Optional[str]:
    """The text a callback answer should announce: a single short confirmation (rating, mode, language)."""
    texts = [reply for reply in replies if reply.text]
    if len(texts) != 1 or (texts[0].custom or {}).get("kind") not in ALERT_KINDS:
        return None
    text = (texts[0].text or "").strip()
    return text if len(text) <= MAX_ALERT_CHARS else None


async def on_text(event: Message, bot: Bot, conversation: TelegramChats) -> None:
    """A question or answer typed by the user: to Rasa, the replies back."""
    user = event.from_user
    if user is None:
        return
    text = (event.text or "").strip()
    if len(text) > conversation.max_chars:
        await event.answer(message("too_long", conversation.language(user), limit=conversation.max_chars))
        return
    await conversation.turn(bot, event.chat.id, user, text, message_request_id(event))


async def on_location(event: Message, bot: Bot, conversation: TelegramChats) -> None:
    """A shared location: to Rasa as `/share_location{"latitude": .., "longitude": ..}`, like a typed message (the
    report form takes it as the place; outside a report it starts one)."""
    user, location = event.from_user, event.location
    if user is None or location is None:
        return
    await conversation.turn(bot, event.chat.id, user, payloads.share_location(location.latitude, location.longitude),
                            message_request_id(event))


def listening_language(state: UserState) -> str:
    """The language a voice note is heard in: the one the user chose, else "auto" (the server detects zh/en)."""
    return state.language if state.language_chosen and state.language in LANGUAGES else AUTO


async def on_voice_note(event: Message, bot: Bot, conversation: TelegramChats) -> None:
    """A voice note: recognised (in the language the user chose, else the one detected), "I heard: …" sent back in
    the language heard, then answered like typed text (asked first when unsure). When the user's language (chosen,
    else the bot's or Telegram's) cannot be recognised here, the honest "not set up" reply instead."""
    user, chat_id, note = event.from_user, event.chat.id, event.voice
    if user is None or note is None:
        return
    asked, language = listening_language(conversation.states.get(user.id)), conversation.language(user)
    voice = conversation.voice
    if voice is None or not voice.supports(language):  # the user's language (chosen, else likely) has no engine:
        await conversation.say_not_set_up(bot, chat_id, user, language)  # say so, in both languages, not guess
        return
    downloaded = await bot.download(note.file_id)
    try:
        transcript = await voice.handle(downloaded.read() if downloaded else b"", asked)
    except AudioError as error:
        await event.answer(message("voice_bad_audio", language, reason=html.escape(str(error))))
        return
    except EngineNotConfigured as error:  # its model turned out unusable (detection names the language)
        await conversation.say_not_set_up(bot, chat_id, user, error.language if error.language in LANGUAGES
                                          else language)
        return
    except (DecoderUnavailable, RecognitionFailed) as error:
        log.error("telegram_stt_failed", extra={"fields": {"reason": f"{type(error).__name__}: {error}"}})
        await event.answer(message("voice_unavailable", language))
        return
    heard_in = transcript.language if transcript.language in LANGUAGES else language
    await event.answer(message("heard", heard_in, text=html.escape(transcript.text)))
    if voice.needs_confirmation(transcript):
        state = replace(conversation.states.get(user.id), language=heard_in)  # asked (and spoken) as heard
        await conversation.deliver(bot, chat_id, [voice.confirmation(transcript, heard_in)], state, state)
        return
    await conversation.turn(bot, chat_id, user, transcript.text, message_request_id(event))


async def on_other(event: Message, conversation: TelegramChats) -> None:
    """Stickers, photos and the like: ask for text."""
    if event.from_user is not None:
        await event.answer(message("unsupported", conversation.language(event.from_user)))


def build_routers() -> list[Router]:
    """Fresh routers (a router joins one dispatcher only), in the order they must see a message."""
    commands = Router(name="telegram-commands")
    commands.message.register(on_start, CommandStart(), F.from_user)
    for action in ("help", "large", "voice", "human", "lang"):
        commands.message.register(on_command(action), Command(action), F.from_user)
    commands.message.register(on_unknown_command, F.text.startswith("/"), F.from_user)
    keyboard_buttons = Router(name="telegram-reply-keyboard")
    keyboard_buttons.message.register(on_keyboard_button, F.text.in_(KEYBOARD_ACTIONS), F.from_user)
    callbacks = Router(name="telegram-callbacks")
    callbacks.callback_query.register(on_callback, F.data)
    messages = Router(name="telegram-messages")
    messages.message.register(on_text, F.text, F.from_user)
    messages.message.register(on_voice_note, F.voice, F.from_user)
    messages.message.register(on_location, F.location, F.from_user)
    messages.message.register(on_other, F.from_user)
    return [commands, keyboard_buttons, callbacks, messages]
