"""The gateway's client for several Rasa servers (channels/common/rasa_replicas.py), against stand-in Rasa servers
that speak Rasa's REST channel and tracker API on loopback: a conversation on its own server, failing over to the
next one (with the same request id) while that one is not serving, and back when it answers again."""

import socket
import threading
from contextlib import ExitStack, contextmanager
from typing import Iterator

import pytest

from channels.common.rasa_client import RasaClient, RasaUnavailable, RasaUnreachable
from channels.common.rasa_replicas import RasaReplicas, replica_of
from core.settings import Settings
from testkit.helpers import FakeRasa, free_port

SENDERS = [f"web-{number:04d}" for number in range(40)]


def test_a_conversation_always_goes_to_the_same_server_and_all_servers_get_some():
    assert all(replica_of(sender, 3) == replica_of(sender, 3) for sender in SENDERS)
    shares = [sum(replica_of(sender, 3) == index for sender in SENDERS) for index in range(3)]
    assert all(share >= 5 for share in shares), shares
    assert {replica_of(sender, 1) for sender in SENDERS} == {0}


async def test_every_call_of_a_conversation_reaches_its_own_server():
    fakes = [FakeRasa(reply=lambda sender, text, index=index: [{"recipient_id": sender, "text": f"{index}:{text}"}])
             for index in range(2)]
    with ExitStack() as stack:
        urls = [stack.enter_context(fake.serving()) for fake in fakes]
        replicas = RasaReplicas.from_urls(urls, timeout=5)
        try:
            for sender in SENDERS[:12]:
                for turn in range(3):
                    replies = await replicas.send(sender, f"turn {turn}")
                    assert replies[0].text == f"{replica_of(sender, 2)}:turn {turn}"
                await replicas.append_events(sender, [{"event": "slot", "name": "x", "value": 1}])
                events = await replicas.conversation_events(sender)
                assert [event["event"] for event in events] == ["user", "bot"] * 3 + ["slot"]
            assert await replicas.is_up()
        finally:
            await replicas.close()
    for index, fake in enumerate(fakes):
        senders = {body["sender"] for body in fake.received} | {sender for sender, _ in fake.appended}
        assert senders and all(replica_of(sender, 2) == index for sender in senders)


def on_replica(index: int, replicas: int = 2, skip: int = 0) -> str:
    """A sender whose own server is `index` (the `skip`-th such sender)."""
    return [sender for sender in SENDERS if replica_of(sender, replicas) == index][skip]


def numbered(index: int) -> FakeRasa:
    return FakeRasa(reply=lambda sender, text: [{"recipient_id": sender, "text": f"{index}:{text}"}])


@contextmanager
def dropping_server() -> Iterator[str]:
    """A server that reads each request and closes the connection without answering (a Rasa killed mid-turn)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            with connection:
                connection.recv(65536)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_server_down_has_its_conversations_answered_by_the_next_and_the_health_says_so():
    fake, down = numbered(0), f"http://127.0.0.1:{free_port()}"
    with fake.serving() as url:
        replicas = RasaReplicas.from_urls([url, down], timeout=2)
        try:
            assert (await replicas.send(on_replica(1), "你好"))[0].text == "0:你好"  # refused: the next server
            assert (await replicas.send(on_replica(0), "你好"))[0].text == "0:你好"
            assert not await replicas.is_up() and await replicas.any_up()
            assert await replicas.state() == "degraded"
        finally:
            await replicas.close()


async def test_the_retry_carries_the_same_request_id_and_other_conversations_skip_the_failed_server():
    failing, good = FakeRasa(status=503), numbered(1)
    clock = Clock()
    with failing.serving() as failing_url, good.serving() as good_url:
        replicas = RasaReplicas([RasaClient(failing_url, 5), RasaClient(good_url, 5)], cooldown=10, timer=clock)
        try:
            replies = await replicas.send(on_replica(0), "护照", {"channel": "web", "request_id": "m-abc"})
            assert replies[0].text == "1:护照"
            assert failing.received == [{"sender": on_replica(0), "message": "护照",
                                         "metadata": {"channel": "web", "request_id": "m-abc"}}]
            assert good.received == failing.received  # the same call, the same request id
            assert replicas.is_down(0) and not replicas.is_down(1)
            # while it cools down, the failed server's other conversations go straight to the next one
            await replicas.send(on_replica(0, skip=1), "社保")
            await replicas.send(on_replica(0, skip=2), "医保")
            assert len(failing.received) == 1 and len(good.received) == 3
            generated = [body["metadata"]["request_id"] for body in good.received[1:]]
            assert all(len(request_id) == 32 for request_id in generated) and generated[0] != generated[1]
        finally:
            await replicas.close()


async def test_a_conversation_goes_back_to_its_own_server_once_it_answers_again():
    own, other = numbered(0), numbered(1)
    clock = Clock()
    own.status = 500
    with own.serving() as own_url, other.serving() as other_url:
        replicas = RasaReplicas([RasaClient(own_url, 5), RasaClient(other_url, 5)], cooldown=10, timer=clock)
        try:
            sender = on_replica(0)
            assert (await replicas.send(sender, "one"))[0].text == "1:one"
            own.status = 200  # it is back, but still cooling down: not tried
            clock.now += 9
            assert (await replicas.send(sender, "two"))[0].text == "1:two"
            assert len(own.received) == 1
            clock.now += 2  # the cooldown is over: its own server first again
            assert (await replicas.send(sender, "three"))[0].text == "0:three"
            assert (await replicas.send(sender, "four"))[0].text == "0:four"
            assert not replicas.is_down(0)
            assert [body["message"] for body in other.received] == ["one", "two"]
        finally:
            await replicas.close()


async def test_a_server_that_drops_the_connection_is_failed_over():
    good = numbered(1)
    with dropping_server() as dropping, good.serving() as good_url:
        replicas = RasaReplicas.from_urls([dropping, good_url], timeout=5)
        try:
            assert (await replicas.send(on_replica(0), "hi", {"request_id": "r-1"}))[0].text == "1:hi"
            assert good.received[0]["metadata"] == {"request_id": "r-1"}
        finally:
            await replicas.close()


async def test_a_timeout_is_not_failed_over_nor_the_slow_server_marked_down():
    slow, other = FakeRasa(delay=1.5), numbered(1)
    with slow.serving() as slow_url, other.serving() as other_url:
        replicas = RasaReplicas.from_urls([slow_url, other_url], timeout=0.5)
        try:
            with pytest.raises(RasaUnavailable) as raised:
                await replicas.send(on_replica(0), "slow")
            assert not isinstance(raised.value, RasaUnreachable)
            assert other.received == [] and not replicas.is_down(0)
        finally:
            await replicas.close()


async def test_when_every_server_is_down_each_is_tried_and_the_call_fails():
    first, second = FakeRasa(status=502), FakeRasa(status=503)
    clock = Clock()
    with first.serving() as first_url, second.serving() as second_url:
        replicas = RasaReplicas([RasaClient(first_url, 5), RasaClient(second_url, 5)], timer=clock)
        try:
            for _ in range(2):  # all cooling down: still tried, each conversation's own server first
                with pytest.raises(RasaUnreachable):
                    await replicas.send(on_replica(1), "hi")
            assert len(first.received) == len(second.received) == 2
            assert replicas.order_for(on_replica(1)) == [1, 0]
        finally:
            await replicas.close()


async def test_transcripts_and_appended_events_go_to_the_next_server_when_the_first_never_got_them():
    good = numbered(1)
    with good.serving() as good_url:
        sender = on_replica(0)
        good.trackers[sender] = [{"event": "user", "text": "hi"}]
        replicas = RasaReplicas.from_urls([f"http://127.0.0.1:{free_port()}", good_url], timeout=5)
        try:
            assert await replicas.conversation_events(sender) == [{"event": "user", "text": "hi"}]
            event = {"event": "slot", "name": "x", "value": 1}
            await replicas.append_events(sender, [event])
            assert good.appended == [(sender, [event])]
        finally:
            await replicas.close()


async def test_appended_events_are_not_sent_again_after_a_server_got_them():
    good = numbered(1)
    with dropping_server() as dropping, good.serving() as good_url:
        replicas = RasaReplicas.from_urls([dropping, good_url], timeout=5)
        try:
            with pytest.raises(RasaUnreachable):
                await replicas.append_events(on_replica(0), [{"event": "slot", "name": "x", "value": 1}])
            assert good.appended == []
        finally:
            await replicas.close()


def test_no_server_is_refused():
    with pytest.raises(ValueError):
        RasaReplicas([])


def test_the_settings_give_one_url_per_replica():
    settings = Settings.from_env().with_overrides(rasa_port=6000, rasa_replicas=3, rasa_url="")
    assert settings.rasa_ports == [6000, 6001, 6002]
    assert settings.rasa_base_urls == ["http://127.0.0.1:6000", "http://127.0.0.1:6001", "http://127.0.0.1:6002"]
    given = settings.with_overrides(rasa_url="http://10.0.0.5:5005, http://10.0.0.6:5005")
    assert given.rasa_base_urls == ["http://10.0.0.5:5005", "http://10.0.0.6:5005"]
    assert given.rasa_base_url == "http://10.0.0.5:5005"


def test_replicas_start_on_consecutive_ports_with_their_own_logs(tmp_path):
    from govbot.stack import build_services

    settings = Settings.from_env().with_overrides(var_dir=tmp_path, rasa_port=6100, rasa_replicas=2, rasa_url="",
                                                  rasa_token="t" * 32, actions_token="a" * 32)
    services = build_services(settings, tmp_path / "model.tar.gz")
    rasa = [service for service in services if service.name.startswith("rasa server")]
    assert [(s.name, s.port, s.log_path.name) for s in rasa] == [("rasa server", 6100, "rasa.log"),
                                                                ("rasa server 2", 6101, "rasa-2.log")]
    gateway = next(service for service in services if service.name == "gateway")
    assert gateway.env["GOVBOT_RASA_URL"] == "http://127.0.0.1:6100,http://127.0.0.1:6101"


