"""The gateway's client for several Rasa servers (channels/common/rasa_replicas.py), against stand-in Rasa servers
that speak Rasa's REST channel and tracker API on loopback."""

from contextlib import ExitStack

import pytest

from channels.common.rasa_client import RasaUnavailable
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


async def test_a_server_down_answers_its_conversations_unavailable_and_the_health_says_so():
    fake, down = FakeRasa(), f"http://127.0.0.1:{free_port()}"
    with fake.serving() as url:
        replicas = RasaReplicas.from_urls([url, down], timeout=2)
        try:
            on_down = next(sender for sender in SENDERS if replica_of(sender, 2) == 1)
            on_up = next(sender for sender in SENDERS if replica_of(sender, 2) == 0)
            with pytest.raises(RasaUnavailable):
                await replicas.send(on_down, "你好")
            assert (await replicas.send(on_up, "你好"))[0].text == "echo: 你好"
            assert not await replicas.is_up()
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


