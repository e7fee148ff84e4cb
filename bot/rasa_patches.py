"""Changes to Rasa 3.6's per-message work (govbot.rasa_launcher installs them in the Rasa process before Rasa starts).

- Rasa checks every answer of the action server against its response schema with `jsonschema.validate`, which
  first checks the *schema itself* against the JSON Schema meta-schema, at every call: 18 % of the Rasa process's
  time per message. `install()` validates against the same schema with a validator built once; an invalid answer
  is still refused with the same ValidationError (best match first, as `jsonschema.validate` raises it)
  (docs/performance.md has the measurements).
- Each user message is processed at most once per request id. The gateway sends `metadata["request_id"]` (1-64 of
  A-Z a-z 0-9 . _ : -; anything else is ignored) and sends a retried message (after a lost answer, a killed Rasa
  server, a load balancer's retry) with the same id. `MessageProcessor.handle_message`, which Rasa's agent runs
  inside the conversation's lock, stores the id as the UserUttered event's `message_id`; when the conversation's
  tracker, as Rasa loads it for the message, already holds a user event with that id and the same text, the message
  is not logged, parsed or predicted again: the bot utterances of that turn (the BotUttered events after it, up to
  the turn's `action_listen` or the next user event) are sent again through the message's output channel, as the
  REST channel collected them the first time, and returned. Rasa saves a turn's events only when the turn is done,
  so a stored user event always comes with its replies. The check sees the tracker store's window (30 events, three
  or four turns: bot/tracker_store.py), which a retry seconds later is always in.
- A message that cannot be handled is answered HTTP 503, not 200 with no replies. Rasa's REST channel logs any
  error of a turn (the lock store unreachable, the tracker store failing) and returns the replies collected so far;
  and Rasa's FailSafeTrackerStore answers a failed load with a new, empty conversation and keeps a failed save in
  memory, so the citizen would get an answer without the conversation's context and the turn would be lost. Here a
  tracker store error fails the turn (TrackerStoreUnavailable), a failed turn is marked and logged by the error's
  type only (never the user's text, which Rasa's own log line would carry), and a response middleware
  turns the webhook's answer into a 503 for the gateway, which tries another server or tells the citizen to try
  again. Nothing of the failed turn is stored. An action server that cannot be reached (or fails) aborts the turn
  the same way (TurnAborted): Rasa would log it, drop the action's events, and store a turn without any reply,
  which a retry of the same request id would then replay as no reply at all. A turn that was done and saved keeps
  its answer when only releasing the conversation's lock fails afterwards (the lock expires by its lifetime).
"""

import logging
import re
from contextvars import ContextVar
from functools import lru_cache
from typing import Any, Dict, List, Optional, Sequence, Text

log = logging.getLogger(__name__)

REQUEST_ID_KEY = "request_id"  # the key of the request id in a message's metadata
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")  # what channels.common.rasa_client sends; anything else is ignored

# the UserMessage being handled whose request id is still to be looked for in the first tracker Rasa loads for it
_unchecked: ContextVar[Optional[Any]] = ContextVar("govbot_unchecked_message", default=None)
# set when the turn of the request being answered failed (reset at each request: a connection serves many)
_turn_failed: ContextVar[bool] = ContextVar("govbot_turn_failed", default=False)
WEBHOOK_PATH = "/webhooks/"
_installed = False


@lru_cache(maxsize=1)
def _action_result_validator() -> Any:
    """A validator of the action server's answers, built (and its schema checked) once."""
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def validate_action_result(result: Dict[Text, Any]) -> None:
    """Raise jsonschema's ValidationError (with Rasa's explanation added) when `result` is not a valid answer."""
    from jsonschema.exceptions import best_match
    from rasa.shared.constants import DOCS_BASE_URL

    error = best_match(_action_result_validator().iter_errors(result))
    if error is not None:
        error.message += (". Failed to validate Action server response from API, make sure your response from the "
                          f"Action endpoint is valid. For more information about the format visit "
                          f"{DOCS_BASE_URL}/custom-actions")
        raise error


def request_id_of(metadata: Any) -> Optional[str]:
    """The request id in a message's metadata, when there is a valid one."""
    value = metadata.get(REQUEST_ID_KEY) if isinstance(metadata, dict) else None
    return value if isinstance(value, str) and REQUEST_ID.fullmatch(value) else None


def user_event_index(events: Sequence[Any], message_id: str, text: Optional[str]) -> Optional[int]:
    """Where the user event with this message id and text is among the events (None: not there)."""
    from rasa.shared.core.events import UserUttered

    return next((index for index, event in enumerate(events) if isinstance(event, UserUttered)
                 and event.message_id == message_id and event.text == text), None)


def turn_replies(events: Sequence[Any], user_index: int) -> List[Any]:
    """The BotUttered events of the turn of the user event at `user_index`: after it, up to the turn's action_listen
    or the next user event (bot events appended later, e.g. an agent's words, are not the turn's)."""
    from rasa.shared.core.constants import ACTION_LISTEN_NAME
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

    replies = []
    for event in events[user_index + 1:]:
        if isinstance(event, UserUttered) or \
                (isinstance(event, ActionExecuted) and event.action_name == ACTION_LISTEN_NAME):
            break
        if isinstance(event, BotUttered):
            replies.append(event)
    return replies


class AlreadyHandled(Exception):
    """The message's request id is in its tracker already: the replies of that turn (BotUttered events)."""

    def __init__(self, replies: List[Any]) -> None:
        super().__init__("message already handled")
        self.replies = replies


def check_request(message: Any, tracker: Any) -> None:
    """Raise AlreadyHandled when the tracker holds a user event with the message's request id and text (the same id
    with another text is not a retry: that message is handled as new)."""
    events = list(tracker.events)
    index = user_event_index(events, message.message_id, message.text)
    if index is not None:
        raise AlreadyHandled(turn_replies(events, index))


async def replay(message: Any, replies: List[Any]) -> Optional[List[Dict[Text, Any]]]:
    """Send the turn's replies again through the message's output channel; what handle_message returns."""
    from rasa.core.channels.channel import CollectingOutputChannel

    for event in replies:
        await message.output_channel.send_response(message.sender_id, event.message())
    log.info("request_replayed", extra={"fields": {"request_id": message.message_id, "replies": len(replies)}})
    if isinstance(message.output_channel, CollectingOutputChannel):
        return list(message.output_channel.messages)
    return None


class TrackerStoreUnavailable(RuntimeError):
    """The tracker store failed: the turn is not handled (rather than handled without its conversation)."""


class TurnAborted(BaseException):
    """The action server failed: the turn stops here, unsaved. A BaseException, so that Rasa's processor (which
    catches every Exception of an action and goes on without its events) lets it through to the agent."""


def refuse_fallback(_store: Any, error: Exception) -> None:
    """FailSafeTrackerStore's error callbacks: fail the turn instead of falling back to an empty, in-memory tracker."""
    raise TrackerStoreUnavailable(f"the tracker store failed: {type(error).__name__}") from error


async def start_request(_request: Any) -> None:
    """Sanic request middleware: no turn of this request has failed yet."""
    _turn_failed.set(False)


async def failed_turn_response(request: Any, _response: Any) -> Any:
    """Sanic response middleware: a webhook call whose turn failed is answered 503 (None: the answer as it is)."""
    if _turn_failed.get() and request.path.startswith(WEBHOOK_PATH):
        from sanic.response import json as json_response

        return json_response({"error": "the message could not be handled now (a store is unavailable)"}, status=503)
    return None


def install() -> None:
    """Put the changes in place (once per process)."""
    global _installed
    if _installed:
        return
    from rasa.core.actions.action import RemoteAction
    from rasa.core.processor import MessageProcessor

    def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
        validate_action_result(result)
        return True

    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]

    handle_message, get_tracker = MessageProcessor.handle_message, MessageProcessor.get_tracker

    async def _handle_message(self: MessageProcessor, message: Any) -> Optional[List[Dict[Text, Any]]]:
        request_id = request_id_of(message.metadata)
        if request_id is None:
            return await handle_message(self, message)
        message.message_id = request_id  # stored in the UserUttered event
        unchecked = _unchecked.set(message)
        try:
            return await handle_message(self, message)
        except AlreadyHandled as handled:
            return await replay(message, handled.replies)
        finally:
            _unchecked.reset(unchecked)

    async def _get_tracker(self: MessageProcessor, conversation_id: Text) -> Any:
        tracker = await get_tracker(self, conversation_id)
        message = _unchecked.get()
        if message is not None and message.sender_id == conversation_id:
            _unchecked.set(None)  # the message's own tracker (the first Rasa loads for it): checked once
            check_request(message, tracker)
        return tracker

    MessageProcessor.handle_message = _handle_message  # type: ignore[method-assign]
    MessageProcessor.get_tracker = _get_tracker  # type: ignore[method-assign]
    _install_failed_turns()
    _installed = True


def _install_failed_turns() -> None:
    """Fail a turn on a tracker store error, mark failed turns, and answer their webhook calls 503."""
    from rasa.core import run
    from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
    from rasa.core.agent import Agent
    from rasa.core.tracker_store import FailSafeTrackerStore

    FailSafeTrackerStore.on_tracker_store_error = refuse_fallback  # type: ignore[method-assign,assignment]
    FailSafeTrackerStore.on_tracker_store_retrieve_error = refuse_fallback  # type: ignore[method-assign,assignment]

    async def _agent_handle_message(self: Agent, message: Any) -> Optional[List[Dict[Text, Any]]]:
        if not self.is_ready() or self.processor is None:
            log.info("message_ignored reason=no_model")
            return None
        handled: List[Optional[List[Dict[Text, Any]]]] = []  # the turn's replies, once it is done and saved
        try:
            async with self.lock_store.lock(message.sender_id):
                handled.append(await self.processor.handle_message(message))
            return handled[0]
        except (Exception, TurnAborted) as error:
            if handled:
                # the turn is saved; only releasing the conversation's lock failed (it expires by its lifetime):
                # the answer stands, as a retry would replay it
                log.warning("lock_release_failed error=%s", type(error).__name__,
                            extra={"fields": {"error": type(error).__name__}})
                return handled[0]
            # not re-raised: the REST channel would log the user's text with it. The response middleware sees this.
            _turn_failed.set(True)
            kind, cause = type(error).__name__, type(error.__cause__).__name__
            log.error("turn_failed error=%s cause=%s", kind, cause, extra={"fields": {"error": kind, "cause": cause}})
            return None

    Agent.handle_message = _agent_handle_message  # type: ignore[method-assign]

    remote_run = RemoteAction.run

    async def _remote_run(self: RemoteAction, *args: Any, **kwargs: Any) -> Any:
        try:
            return await remote_run(self, *args, **kwargs)
        except ActionExecutionRejection:
            raise  # a form's validation refusing a slot: part of the dialogue, not a failure
        except Exception as error:
            raise TurnAborted(f"the action server failed: {type(error).__name__}") from error

    RemoteAction.run = _remote_run  # type: ignore[method-assign]

    configure_app = run.configure_app

    def _configure_app(*args: Any, **kwargs: Any) -> Any:
        app = configure_app(*args, **kwargs)
        app.register_middleware(start_request, "request")
        app.register_middleware(failed_turn_response, "response")
        return app

    run.configure_app = _configure_app
