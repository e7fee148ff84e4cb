"""A user message is processed at most once per request id (bot/rasa_patches.py, issue 18).

The first tests run Rasa 3.6's own MessageProcessor.handle_message (patched) in .venv-rasa over an in-memory tracker
store, with a conversation whose turns carry message ids: a known request id gets its turn's replies again, as the REST
channel's collector got them, without anything else of the processor running. The slow test posts to the real Rasa
server, started as `govbot run` starts it: the same message twice with one request id is answered the same and stored
once; with two ids it is processed twice.
"""

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.rasa_patches import REQUEST_ID
from channels.common.rasa_client import REQUEST_ID_PATTERN, valid_request_id
from testkit.stack import rasa_and_action_server
from tests.integration.test_sentence_featurizer import run_in_rasa

REPLAY = """
    import asyncio, json
    from types import SimpleNamespace
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
    from rasa.core.processor import MessageProcessor
    from rasa.core.tracker_store import InMemoryTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
    from bot import rasa_patches

    rasa_patches.install()
    rasa_patches.install()  # twice: still one patch

    class Proceeded(Exception):
        pass

    domain = Domain.empty()
    store = InMemoryTrackerStore(domain)
    processor = object.__new__(MessageProcessor)  # only what handle_message needs up to loading the tracker
    processor.tracker_store = store
    processor.model_metadata = SimpleNamespace(model_id="m", assistant_id="a")
    seen = []

    async def update_session(tracker, output_channel, metadata):  # the first step after loading: "processed"
        seen.append(tracker.sender_id)
        raise Proceeded()

    processor._update_tracker_session = update_session
    buttons = [{"title": "ID card", "payload": '/choose_item{"item": "id-card"}'}]
    tracker = store.init_tracker("web:citizen")
    tracker.update_with_events([
        ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen"),
        UserUttered("hello", {"name": "greet"}, message_id="r-1"),
        ActionExecuted("action_answer"), BotUttered("Hello!\\n\\nHow can I help?"),
        BotUttered(None, {"custom": {"kind": "greeting", "language": "en"}}), ActionExecuted("action_listen"),
        BotUttered("an agent's words, appended later", metadata={"handoff_ticket": 3}),
        UserUttered("passport", {"name": "ask"}, message_id="r-2"),
        ActionExecuted("action_answer"), BotUttered("Which one?", {"buttons": buttons}),
        SlotSet("current_item", None), ActionExecuted("action_listen"),
        UserUttered("silence", {"name": "ask"}, message_id="r-3"),
    ], domain)
    asyncio.run(store.save(tracker))

    async def send(text, metadata, sender="web:citizen"):
        collector = CollectingOutputChannel()
        message = UserMessage(text, collector, sender, input_channel="rest", metadata=metadata)
        try:
            returned = await processor.handle_message(message)
        except Proceeded:
            return {"processed": True, "message_id": message.message_id}
        return {"processed": False, "returned": returned, "collected": collector.messages,
                "message_id": message.message_id}

    async def main():
        results = {
            "first": await send("hello", {"request_id": "r-1", "channel": "web"}),
            "second": await send("passport", {"request_id": "r-2"}),
            "no_replies": await send("silence", {"request_id": "r-3"}),
            "new_id": await send("hello", {"request_id": "r-4"}),
            "no_id": await send("hello", {"channel": "web"}),
            "invalid_id": await send("hello", {"request_id": "r-1 "}),
            "not_text": await send("hello", {"request_id": 1}),
            "reused_id": await send("something else", {"request_id": "r-1"}),
            "other_conversation": await send("hello", {"request_id": "r-1"}, sender="web:neighbour"),
        }
        stored = await store.retrieve("web:citizen")
        results["stored_events"] = len(stored.events)
        results["loaded"] = seen
        results["patched"] = [MessageProcessor.handle_message.__module__, MessageProcessor.get_tracker.__module__]
        print(json.dumps(results))

    asyncio.run(main())
"""


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_in_rasa(REPLAY, tmp_path_factory.mktemp("replay"))


def test_a_known_request_id_gets_its_turns_replies_as_the_rest_channel_collected_them(replay):
    first = replay["first"]
    assert first["processed"] is False and first["message_id"] == "r-1"
    assert first["returned"] == first["collected"] == [
        {"recipient_id": "web:citizen", "text": "Hello!"}, {"recipient_id": "web:citizen", "text": "How can I help?"},
        {"recipient_id": "web:citizen", "custom": {"kind": "greeting", "language": "en"}}]
    assert replay["second"]["returned"] == [
        {"recipient_id": "web:citizen", "text": "Which one?",
         "buttons": [{"title": "ID card", "payload": '/choose_item{"item": "id-card"}'}]}]
    assert replay["no_replies"] == {"processed": False, "returned": [], "collected": [], "message_id": "r-3"}
    assert replay["stored_events"] == 15  # nothing was added by the replays
    assert replay["patched"] == ["bot.rasa_patches", "bot.rasa_patches"]


def test_other_messages_are_processed_with_their_request_id_as_message_id(replay):
    assert replay["new_id"] == {"processed": True, "message_id": "r-4"}
    assert replay["other_conversation"] == {"processed": True, "message_id": "r-1"}  # ids belong to a conversation
    for name in ("no_id", "invalid_id", "not_text"):  # no valid request id: Rasa's own random message id
        assert replay[name]["processed"] is True and len(replay[name]["message_id"]) == 32, name
    assert replay["reused_id"] == {"processed": True, "message_id": "r-1"}  # another text: not a retry
    assert replay["loaded"] == ["web:citizen"] * 5 + ["web:neighbour"]


def test_the_gateway_and_rasa_accept_the_same_request_ids():
    assert REQUEST_ID.pattern == REQUEST_ID_PATTERN.pattern
    for value in ("a", "m-0f3c2a1e-9b7d-4c1e-8f00-123456789abc", "tg-123-45", "tg--100123-7", "x" * 64, "a.b:c_d"):
        assert valid_request_id(value) == value and REQUEST_ID.fullmatch(value)
    for value in ("", "x" * 65, "a b", "a/b", "é", "a\n", None, 7):
        assert valid_request_id(value) is None
        assert not (isinstance(value, str) and REQUEST_ID.fullmatch(value))


# --- the real Rasa server, started as `govbot run` starts it ---------------------------------------------------------

def user_events(rasa: str, token: str, sender: str) -> list[dict[str, Any]]:
    events = httpx.get(f"{rasa}/conversations/{sender}/tracker", params={"token": token, "include_events": "ALL"},
                       timeout=60).json().get("events") or []
    return [event for event in events if event.get("event") == "user"]


@pytest.mark.slow
def test_the_real_rasa_answers_a_retried_message_once(tmp_path: Path) -> None:
    token = "rasa-" + uuid.uuid4().hex + uuid.uuid4().hex
    with rasa_and_action_server(tmp_path, token, "actions-" + uuid.uuid4().hex * 2) as (settings, _):
        rasa = f"http://127.0.0.1:{settings.rasa_port}"

        def post(sender: str, text: str, request_id: str) -> list[dict[str, Any]]:
            response = httpx.post(f"{rasa}/webhooks/rest/webhook", params={"token": token}, timeout=120,
                                  json={"sender": sender, "message": text, "metadata": {"request_id": request_id}})
            assert response.status_code == 200, response.text
            return response.json()

        once = "web:request-once"
        first = post(once, "身份证丢了怎么补办", "req-1")
        assert any(reply.get("text") for reply in first)
        assert post(once, "身份证丢了怎么补办", "req-1") == first  # the retry: the same replies...
        users = user_events(rasa, token, once)
        assert [(event["text"], event["message_id"]) for event in users] == [("身份证丢了怎么补办", "req-1")]  # ...once

        twice = "web:request-twice"
        assert post(twice, "hello", "req-a") and post(twice, "hello", "req-b")
        assert [event["message_id"] for event in user_events(rasa, token, twice)] == ["req-a", "req-b"]
        # after another turn, a late retry of the first message still gets that turn's replies
        assert post(once, "hello", "req-2") != first
        assert post(once, "身份证丢了怎么补办", "req-1") == first
        assert [event["message_id"] for event in user_events(rasa, token, once)] == ["req-1", "req-2"]


@pytest.mark.slow
def test_a_turn_the_action_server_cannot_serve_is_a_503_that_stores_nothing(tmp_path: Path) -> None:
    token = "rasa-" + uuid.uuid4().hex + uuid.uuid4().hex
    with rasa_and_action_server(tmp_path, token, "actions-" + uuid.uuid4().hex * 2) as (settings, services):
        action_server, rasa_server = services
        assert action_server.process is not None
        action_server.process.terminate()
        action_server.process.wait(30)
        rasa = f"http://127.0.0.1:{settings.rasa_port}"
        sender, text = "web:actions-down", "身份证丢了怎么补办 110101199003071234"
        response = httpx.post(f"{rasa}/webhooks/rest/webhook", params={"token": token}, timeout=120,
                              json={"sender": sender, "message": text, "metadata": {"request_id": "down-1"}})
        # not 200 with no replies (Rasa's own behaviour), which a retry of "down-1" would get again and again
        assert response.status_code == 503, response.text
        assert user_events(rasa, token, sender) == []  # the failed turn was not stored
    log = rasa_server.log_path.read_text(encoding="utf-8", errors="replace")
    assert "turn_failed error=TurnAborted" in log
    assert "110101199003071234" not in log and "\\u8eab\\u4efd" not in log  # the user's text is not logged
