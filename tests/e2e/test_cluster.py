"""End to end, the cluster profile (`govbot run --profile cluster`): PostgreSQL, Redis, two Rasa servers, two
action servers, two gateways and HAProxy, each supervised and started again when it dies.

Under a steady load through HAProxy, one Rasa server, one action server and one gateway are killed in turn: every
message is answered, none twice (its request id is in its conversation's tracker once), each conversation's events
stay in order without duplicates, and an open ticket's live stream goes on (the page on the killed gateway
reconnects with the last id it saw and gets what was sent meanwhile, once). Redis or PostgreSQL stopped gives
clear 503s, and messages are answered again once it is back. Only loopback; every loop bounded in count and time.
"""

import json
import os
import shutil
import signal
import tempfile
import threading
from contextlib import closing
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

import httpx
import psycopg
import pytest

from handoff.records import TicketOpening
from handoff.store import TicketStore
from testkit.handoff import EventStream
from testkit.helpers import WebConversation, free_port, open_conversation
from testkit.stack import Stack

pytestmark = pytest.mark.slow

RESTART_DELAY = 8.0  # seconds the cluster waits before starting a dead process again (the window of an outage)
MESSAGE_DEADLINE = 90.0  # seconds one message may take, its retries included, while a process is dead (a lock
# held by a killed Rasa server lives GOVBOT_CLUSTER_LOCK_LIFETIME, 15 s)
BACK_DEADLINE = 180.0  # seconds a killed process has to be serving again
USERS = 4  # conversations of the steady load
PASSWORD = "violet-harbour-ladder-93"
QUESTIONS = ["怎么办身份证", "护照怎么办理", "How do I apply for a passport?", "社保卡丢了怎么办", "公积金怎么提取",
             "How do I register a business?", "结婚登记要带什么", "12345热线是做什么的"]
RETRIED = {502, 503, 504}  # what the page sends again, with the same X-Request-Id


@dataclass
class Cluster:
    stack: Stack
    postgres_port: int

    @property
    def url(self) -> str:
        """HAProxy: the chat address."""
        return self.stack.url

    def pids(self) -> dict[str, int]:
        return json.loads((self.stack.var_dir / "services.json").read_text(encoding="utf-8"))

    def secret(self, name: str) -> str:
        return json.loads((self.stack.var_dir / "secrets.json").read_text(encoding="utf-8"))[name]

    def database_url(self, database: str = "govbot") -> str:
        return (f"postgresql+psycopg://govbot:{self.secret('cluster_postgres_password')}@127.0.0.1:"
                f"{self.postgres_port}/{database}")

    def tracker_events(self, sender: str) -> list[tuple[int, str, float, dict]]:
        """The conversation's events in Rasa's PostgreSQL tracker store: (id, type, timestamp, data)."""
        with psycopg.connect(host="127.0.0.1", port=self.postgres_port, user="govbot", dbname="govbot_tracker",
                             password=self.secret("cluster_postgres_password"), connect_timeout=5) as connection:
            rows = connection.execute("SELECT id, type_name, timestamp, data FROM events WHERE sender_id = %s "
                                      "ORDER BY id", (sender,)).fetchall()
        return [(row[0], row[1], row[2], json.loads(row[3])) for row in rows]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    # the servers run as their system users when the tests run as root: a folder they can reach
    var_dir = Path(tempfile.mkdtemp(prefix="govbot-cluster-"))
    var_dir.chmod(0o755)
    postgres_port = free_port()
    env = {"GOVBOT_CLUSTER_POSTGRES_PORT": str(postgres_port), "GOVBOT_CLUSTER_REDIS_PORT": str(free_port()),
           "GOVBOT_CLUSTER_RESTART_DELAY": str(RESTART_DELAY), "GOVBOT_RASA_TIMEOUT": "10",
           "GOVBOT_DATABASE_URL": "", "GOVBOT_TELEGRAM_TOKEN": "", "TELEGRAM_BOT_TOKEN": ""}
    stack = Stack(var_dir, env, profile="cluster")
    try:
        stack.wait_ready()
        yield Cluster(stack, postgres_port)
    finally:
        stack.stop()
        shutil.rmtree(var_dir, ignore_errors=True)


def wait_until(condition: Callable[[], object], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds:.0f} s: {what}"
        time.sleep(0.25)


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def kill(cluster: Cluster, name: str, sig: int = signal.SIGKILL) -> int:
    """Send a signal to a supervised process (and its group); its pid."""
    pid = cluster.pids()[name]
    os.killpg(pid, sig)
    return pid


def restarted(cluster: Cluster, name: str, old_pid: int) -> bool:
    return cluster.pids().get(name) not in (None, old_pid)


def kill_and_wait_back(cluster: Cluster, name: str, ready: Callable[[], object]) -> None:
    """SIGKILL a supervised process; return once it has been started again and is `ready`."""
    old = kill(cluster, name)
    wait_until(lambda: restarted(cluster, name, old), BACK_DEADLINE, f"{name} started again")
    wait_until(ready, BACK_DEADLINE, f"{name} serving again")


def send(client: httpx.Client, url: str, conversation: WebConversation, text: str, request_id: str
         ) -> tuple[int, int]:
    """Send a message as the page does: again, with the same request id, while the answer is a dropped connection
    or a 502/503/504 (at most MESSAGE_DEADLINE seconds); the final status and the number of attempts."""
    deadline, attempts, status = time.monotonic() + MESSAGE_DEADLINE, 0, 0
    while time.monotonic() < deadline:
        attempts += 1
        try:
            response = client.post(f"{url}/api/chat", json={"sender": conversation.sender, "text": text},
                                   headers={**conversation.headers, "X-Request-Id": request_id})
            status = response.status_code
            if status not in RETRIED:
                if status == 200:
                    assert response.json()["messages"], f"{request_id}: answered with no message"
                return status, attempts
        except httpx.TransportError:
            status = 0
        time.sleep(0.5)
    return status, attempts


class SteadyLoad:
    """USERS conversations through HAProxy, each sending one message after another until stopped (at most
    `limit` each)."""

    def __init__(self, url: str, limit: int = 2000) -> None:
        self.url, self.limit = url, limit
        self.conversations = [open_conversation(url) for _ in range(USERS)]
        self.sent: dict[str, list[tuple[str, int, int]]] = {c.sender: [] for c in self.conversations}
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._user, args=(index,), daemon=True) for index in range(USERS)]

    def __enter__(self) -> "SteadyLoad":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(MESSAGE_DEADLINE + 10)

    def _user(self, index: int) -> None:
        conversation = self.conversations[index]
        with httpx.Client(timeout=30) as client:
            for number in range(self.limit):
                if self._stop.is_set():
                    return
                request_id = f"load-{index}-{number}"
                status, attempts = send(client, self.url, conversation, QUESTIONS[(index + number) % len(QUESTIONS)],
                                        request_id)
                self.sent[conversation.sender].append((request_id, status, attempts))

    def count(self) -> int:
        return sum(len(sent) for sent in self.sent.values())


def assert_each_message_answered_once(cluster: Cluster, load: SteadyLoad) -> None:
    for sender, sent in load.sent.items():
        assert sent and all(status == 200 for _, status, _ in sent), f"{sender}: {sent}"
        events = cluster.tracker_events(sender)
        users = [(index, data.get("message_id")) for index, (_, kind, _, data) in enumerate(events) if kind == "user"]
        assert [message_id for _, message_id in users] == [request_id for request_id, _, _ in sent], \
            f"{sender}: each message once, in the order sent"
        for (index, message_id), following in zip(users, [*users[1:], (len(events), None)]):
            turn = [kind for _, kind, _, _ in events[index + 1:following[0]]]
            assert "bot" in turn, f"{sender}: {message_id} has no bot reply in its tracker"
        stamps = [stamp for _, _, stamp, _ in events]
        assert stamps == sorted(stamps), f"{sender}: events out of order"
        keys = [(kind, stamp, json.dumps(data, sort_keys=True)) for _, kind, stamp, data in events]
        assert len(keys) == len(set(keys)), f"{sender}: an event stored twice"


def handoff_page(cluster: Cluster) -> tuple[WebConversation, str, httpx.Client, int]:
    """A citizen with an open ticket claimed by an agent logged in through HAProxy: (the conversation, the ticket
    number, the agent's client, the page's gateway port)."""
    store = TicketStore(cluster.database_url())
    try:
        store.add_agent("alice", PASSWORD, "Alice")
        citizen = open_conversation(cluster.url)
        store.open_ticket(TicketOpening(sender_id=citizen.sender, channel="web", language="zh",
                                        reason="user_request"))
        number = store.open_ticket_of(citizen.sender).number
    finally:
        store.engine.dispose()
    agent = httpx.Client(base_url=cluster.url, timeout=20, headers={"Origin": cluster.url})
    assert agent.post("/api/agent/login", json={"username": "alice", "password": PASSWORD}).is_success
    assert agent.post(f"/api/agent/tickets/{number}/claim", json={}).is_success
    return citizen, number, agent, cluster.stack.ports["gateway"] + 1


def agent_reply(agent: httpx.Client, number: str, text: str) -> int:
    """The agent's reply, sent through HAProxy (again while a gateway is dying); its message id."""
    deadline = time.monotonic() + MESSAGE_DEADLINE
    while True:
        try:
            response = agent.post(f"/api/agent/tickets/{number}/reply", json={"text": text})
            if response.status_code not in RETRIED:
                assert response.is_success, response.text
                return int(response.json()["id"])
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the agent's reply was not taken"
        time.sleep(0.5)


def agent_texts(stream: EventStream, seconds: float) -> list[tuple[int, str]]:
    """The agent messages a stream delivers within `seconds` (id, text)."""
    found: list[tuple[int, str]] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            event = stream.next(lambda e: e.get("event") in ("handoff", "reader_error"), timeout=0.5)
        except AssertionError:
            continue
        if event.get("event") == "reader_error":
            break
        if event["data"].get("author") == "agent":
            found.append((int(event["id"]), event["data"]["text"]))
    return found


def test_the_cluster_runs_two_of_each_behind_haproxy(cluster: Cluster) -> None:
    assert set(cluster.pids()) == {"postgresql", "redis", "rasa server", "rasa server 2", "action server 1",
                                   "action server 2", "gateway 1", "gateway 2", "haproxy"}
    health = httpx.get(f"{cluster.url}/health", timeout=10).json()
    assert health["rasa"] == "up"
    conversation = open_conversation(cluster.url)
    with httpx.Client(timeout=30) as client:
        assert send(client, cluster.url, conversation, "怎么办身份证", "first-1") == (200, 1)
    [(_, kind, _, data)] = [e for e in cluster.tracker_events(conversation.sender) if e[1] == "user"]
    assert data["message_id"] == "first-1"  # Rasa's conversation is in PostgreSQL


def test_killing_a_rasa_server_an_action_server_and_a_gateway_loses_no_message(cluster: Cluster) -> None:
    citizen, number, agent, page_port = handoff_page(cluster)
    page_url = f"http://127.0.0.1:{page_port}/api/events?sender={citizen.sender}&token={citizen.token}"
    with closing(agent), SteadyLoad(cluster.url) as load:
        with EventStream(page_url) as page:  # a page whose stream gateway 1 serves
            assert page.status == 200
            page.next(lambda e: e.get("event") == "ticket", timeout=20)
            for name, ready in (("rasa server 2", lambda: httpx.get(f"{cluster.url}/health", timeout=5)
                                 .json()["rasa"] == "up"),
                                ("action server 1",
                                 lambda: answers(f"http://127.0.0.1:{cluster.stack.ports['actions'] + 1}/health"))):
                time.sleep(3)
                kill_and_wait_back(cluster, name, ready)
            live = agent_reply(agent, number, "第一条回复")
            event = page.next(lambda e: e.get("event") == "handoff" and e["data"].get("author") == "agent", 20)
            assert (int(event["id"]), event["data"]["text"]) == (live, "第一条回复")  # the live stream went on
            time.sleep(3)
            old = kill(cluster, "gateway 1")
            missed = agent_reply(agent, number, "网关重启时的回复")  # stored while the page's gateway is dead
            assert page.next(lambda e: e.get("event") == "reader_error", timeout=20)  # its stream ended
        wait_until(lambda: restarted(cluster, "gateway 1", old), BACK_DEADLINE, "gateway 1 started again")
        wait_until(lambda: answers(f"http://127.0.0.1:{page_port}/health"), BACK_DEADLINE, "gateway 1 serving")
        # the page reconnects through HAProxy with the last id it saw: what it missed comes, and only that
        with EventStream(f"{cluster.url}/api/events?sender={citizen.sender}&token={citizen.token}&after={live}") \
                as again:
            assert again.status == 200
            assert agent_texts(again, 8) == [(missed, "网关重启时的回复")]
        time.sleep(3)
    answered = load.count()
    retried = sum(attempts > 1 for sent in load.sent.values() for _, _, attempts in sent)
    print(f"\ncluster under load: {answered} messages answered, {retried} of them after more than one attempt")
    assert answered >= 3 * USERS, f"only {answered} messages in the whole run"
    assert_each_message_answered_once(cluster, load)


@pytest.mark.parametrize("server, stop_signal", [("redis", signal.SIGTERM), ("postgresql", signal.SIGINT)])
def test_a_stopped_store_gives_clear_503s_and_the_service_comes_back(cluster: Cluster, server: str,
                                                                     stop_signal: int) -> None:
    conversation = open_conversation(cluster.url)
    with httpx.Client(timeout=30) as client:
        old = kill(cluster, server, stop_signal)
        refused: Optional[httpx.Response] = None
        answered = []  # sent before the server was quite down
        for number in range(40):  # the server is down for RESTART_DELAY seconds at least
            if restarted(cluster, server, old):
                break
            started = time.monotonic()
            response = client.post(f"{cluster.url}/api/chat",
                                   json={"sender": conversation.sender, "text": "护照怎么办理"},
                                   headers={**conversation.headers, "X-Request-Id": f"{server}-down-{number}"})
            took = time.monotonic() - started
            assert response.status_code != 500, response.text  # never a bare server error
            if response.status_code == 503:
                refused = response
                assert took < 2 * 10 + 5  # within the Rasa timeout (GOVBOT_RASA_TIMEOUT) of each server tried
                break
            assert response.status_code == 200, response.text
            answered.append(f"{server}-down-{number}")
            time.sleep(0.2)
        assert refused is not None, f"no 503 while {server} was down"
        assert refused.json()["error"]["code"] and refused.json()["error"]["message"]
        wait_until(lambda: restarted(cluster, server, old), BACK_DEADLINE, f"{server} started again")
        status, _ = send(client, cluster.url, conversation, "护照怎么办理", f"{server}-back")
    assert status == 200
    users = [data["message_id"] for _, kind, _, data in cluster.tracker_events(conversation.sender) if kind == "user"]
    assert users == [*answered, f"{server}-back"]  # the refused messages left nothing in the conversation
