"""The agent console's defences through its HTTP API (the agent router on a desk whose clock the tests move, and
once through the whole gateway): an unknown username costs what a wrong password costs, failed log-ins lock
out, idle and old sessions die and are purged, state changes only from the console's own origin, Secure cookies
behind TLS, nothing cached."""

from collections.abc import Iterator

import anyio
import pytest
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import handoff.passwords
from channels.common.errors import validation_error_response
from channels.web.agent_routes import agent_router
from channels.web.agent_session import NotLoggedIn, not_logged_in
from handoff.config import HandoffConfig
from handoff.desk import Desk
from handoff.models import AgentSessionRow
from handoff.records import TicketOpening
from handoff.store import TicketStore
from testkit.handoff import Clock

PASSWORD = "violet-harbour-ladder-93"
BASE = "http://testserver"  # TestClient's origin
JSON = {"Content-Type": "application/json"}


def console_app(desk: Desk, behind_tls: bool = False) -> FastAPI:
    """The agent router wired as channels/gateway.py wires it."""
    app = FastAPI()
    app.exception_handler(RequestValidationError)(validation_error_response)
    app.add_exception_handler(NotLoggedIn, not_logged_in)
    app.include_router(agent_router(desk, behind_tls))
    return app


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path, clock) -> Iterator[TicketStore]:
    store = TicketStore(f"sqlite:///{tmp_path / 'govbot.db'}", clock=clock)
    store.add_agent("alice", PASSWORD, "Alice")
    yield store
    store.engine.dispose()


@pytest.fixture
def desk(store) -> Desk:
    return Desk(store, HandoffConfig())  # idle 30 minutes, lifetime 12 hours, 5 free failures per username


@pytest.fixture
def client(desk) -> TestClient:
    return TestClient(console_app(desk), base_url=BASE)


@pytest.fixture
def scrypts(monkeypatch) -> list[int]:
    """Counts the scrypt computations (one element per call)."""
    calls: list[int] = []
    real = handoff.passwords._scrypt

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(handoff.passwords, "_scrypt", counting)
    return calls


def log_in(client: TestClient, username: str = "alice", password: str = PASSWORD, **headers: str):
    return client.post("/api/agent/login", json={"username": username, "password": password},
                       headers={"Origin": BASE, **headers})


def me_with(desk: Desk, token: str) -> int:
    """The status of GET /api/agent/me from a browser holding that session token."""
    with TestClient(console_app(desk), base_url=BASE, cookies={"govbot_agent": token}) as browser:
        return browser.get("/api/agent/me").status_code


def session_rows(store: TicketStore) -> int:
    with Session(store.engine) as session:
        return int(session.scalar(select(func.count()).select_from(AgentSessionRow)) or 0)


# --- log-in ---------------------------------------------------------------------------------------------------

def test_an_unknown_username_costs_one_scrypt_like_a_wrong_password(client, scrypts):
    wrong = log_in(client, password="violet-harbour-ladder-94")
    wrong_cost = len(scrypts)
    unknown = log_in(client, username="mallory")
    unknown_cost = len(scrypts) - wrong_cost
    assert wrong_cost == unknown_cost == 1  # (before: two for an unknown name, a hash and a check)
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"error": {"code": "bad_credentials",
                                                        "message": "wrong username or password"}}


def test_failed_log_ins_lock_the_username_out_with_429_and_retry_after(client, clock, scrypts):
    for _ in range(5):
        assert log_in(client, password="not her password at all").status_code == 401
    scrypts.clear()
    locked = log_in(client)  # the right password, while locked
    assert locked.status_code == 429 and locked.headers["Retry-After"] == "15"
    assert locked.json()["error"]["code"] == "too_many_attempts" and locked.json()["retry_after"] == 15
    assert "govbot_agent" not in locked.cookies
    assert scrypts == []  # refused without checking the password
    clock.advance(seconds=14)
    assert log_in(client).headers["Retry-After"] == "1"
    clock.advance(seconds=1)
    assert log_in(client, password="still not her password").status_code == 401  # the 6th failure
    assert log_in(client).headers["Retry-After"] == "30"  # doubles
    clock.advance(seconds=30)
    assert log_in(client).status_code == 200  # and the success resets the count
    for _ in range(4):
        assert log_in(client, password="not her password at all").status_code == 401
    assert log_in(client).status_code == 200


def test_an_unknown_username_is_locked_out_like_a_real_one(client):
    answers = [log_in(client, username="ghost", password=PASSWORD).status_code for _ in range(6)]
    assert answers == [401] * 5 + [429]  # so a lock-out does not tell which names exist


def test_one_address_guessing_many_names_is_locked_out(client):
    answers = [log_in(client, username=f"guess{n}").status_code for n in range(11)]
    assert answers == [401] * 10 + [429]
    assert log_in(client).status_code == 429  # also for a real agent from that address


# --- sessions ---------------------------------------------------------------------------------------------------

def test_a_session_nobody_uses_for_the_idle_time_is_dead(client, clock):
    assert log_in(client).status_code == 200
    clock.advance(minutes=29)
    assert client.get("/api/agent/me").status_code == 200  # the agent did something: 30 more minutes
    clock.advance(minutes=29)
    assert client.get("/api/agent/me").status_code == 200
    clock.advance(minutes=30)
    refused = client.get("/api/agent/me")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "not_logged_in"


def test_the_consoles_own_refreshes_do_not_keep_a_session_alive(client, clock, store):
    assert log_in(client).status_code == 200
    background = {"X-Govbot-Background": "1"}
    for _ in range(2):
        clock.advance(minutes=14)
        assert client.get("/api/agent/queue", headers=background).status_code == 200
    assert store.agents_online() == 1  # the refreshes still say the agent is there
    clock.advance(minutes=2)  # 30 minutes since the log-in, the last thing the agent did
    assert client.get("/api/agent/queue", headers=background).status_code == 401
    assert store.agents_online() == 0


def test_even_a_busy_session_ends_after_its_lifetime(client, clock):
    assert log_in(client).status_code == 200
    for _ in range(11 * 3 + 2):  # active every 20 minutes for 11 h 40 min
        clock.advance(minutes=20)
        assert client.get("/api/agent/me").status_code == 200
    clock.advance(minutes=20)  # 12 hours after the log-in
    assert client.get("/api/agent/me").status_code == 401


async def test_the_consoles_event_stream_ends_with_the_session(store, clock):
    desk = Desk(store, HandoffConfig(heartbeat_seconds=0.01))
    logged_in = await desk.log_in("alice", PASSWORD)
    assert logged_in is not None
    token = logged_in[0]
    agent = await desk.session_agent(token)
    stream = desk.agent_events(agent, token)
    assert (await anext(stream))["type"] == "hello"
    clock.advance(minutes=31)
    with pytest.raises(StopAsyncIteration):
        await anext(stream)  # the next heartbeat finds the session dead


def test_expired_sessions_are_purged_and_log_out_deletes_the_session(client, desk, store, clock):
    first = log_in(client).cookies["govbot_agent"]
    with TestClient(console_app(desk), base_url=BASE) as other:
        assert log_in(other).status_code == 200
    assert session_rows(store) == 2
    clock.advance(minutes=31)
    assert store.purge_expired_sessions(dry_run=True) == 2  # `govbot purge --dry-run` counts them
    assert session_rows(store) == 2
    assert anyio.run(desk.purge_expired_sessions) == 2  # govbot run's hourly retention run purges them
    assert session_rows(store) == 0
    assert me_with(desk, first) == 401

    assert log_in(client).status_code == 200
    clock.advance(minutes=31)
    assert log_in(client).status_code == 200  # a log-in also clears out the dead sessions
    assert session_rows(store) == 1
    current = client.cookies["govbot_agent"]
    out = client.post("/api/agent/logout", headers={"Origin": BASE})
    assert out.status_code == 200 and session_rows(store) == 0
    assert me_with(desk, current) == 401


def test_a_new_log_in_replaces_the_browsers_old_session(client, desk, store):
    assert log_in(client).status_code == 200
    old = client.cookies["govbot_agent"]
    assert log_in(client).status_code == 200
    assert client.cookies["govbot_agent"] != old and session_rows(store) == 1
    assert me_with(desk, old) == 401


# --- where requests come from; cookies; caching -------------------------------------------------------------------

def test_state_changes_only_from_the_consoles_own_origin(client, store):
    number = store.open_ticket(TicketOpening("web:someone", "web", "zh", "user_request")).number
    assert log_in(client).status_code == 200
    claim = f"/api/agent/tickets/{number}/claim"
    refused = {
        "bodiless, no origin (a cross-site form)": client.post(claim),
        "a form body": client.post(claim, content="a=1", headers={"Content-Type": "application/x-www-form-urlencoded"}),
        "text/plain": client.post(claim, content="{}", headers={"Content-Type": "text/plain"}),
        "a foreign origin": client.post(claim, json={}, headers={"Origin": "https://evil.example"}),
        "a sibling port": client.post(claim, json={}, headers={"Origin": "http://testserver:8081"}),
        "https for an http deployment": client.post(claim, json={}, headers={"Origin": "https://testserver"}),
        "an opaque origin": client.post(claim, json={}, headers={"Origin": "null"}),
        "a cross-site fetch": client.post(claim, json={}, headers={"Sec-Fetch-Site": "cross-site"}),
        "a same-site fetch": client.post(claim, json={}, headers={"Sec-Fetch-Site": "same-site"}),
    }
    for label, response in refused.items():
        assert response.status_code == 403, label
        assert response.json()["error"]["code"] == "cross_origin", label
        assert response.headers["Cache-Control"] == "no-store", label
    assert store.ticket(number).status == "waiting"  # nothing happened
    foreign_logout = client.post("/api/agent/logout", json={}, headers={"Origin": "https://evil.example"})
    assert foreign_logout.status_code == 403 and client.get("/api/agent/me").status_code == 200
    foreign_login = log_in(client, Origin="https://evil.example")
    assert foreign_login.status_code == 403

    assert client.post(claim, headers={"Origin": BASE}).status_code == 200  # the console (a browser)
    release = f"/api/agent/tickets/{number}/release"
    assert client.post(release, headers={"Origin": "HTTP://TestServer:80"}).status_code == 200  # same origin
    assert client.post(claim, headers={"Sec-Fetch-Site": "same-origin"}).status_code == 200
    assert client.post(release, json={}).status_code == 200  # curl with a JSON body
    assert client.post(claim, content="{}", headers={"Content-Type": "application/json; charset=utf-8"}).status_code \
        == 200


def test_every_agent_answer_is_not_to_be_stored(client, store):
    number = store.open_ticket(TicketOpening("web:someone", "web", "zh", "user_request")).number
    answers = [client.get("/api/agent/me"), log_in(client, password="wrong password here"), log_in(client),
               client.get("/api/agent/queue"), client.get(f"/api/agent/tickets/{number}"),
               client.get("/api/agent/tickets/20200101-0001"), client.get("/agent")]
    assert [a.status_code for a in answers] == [401, 401, 200, 200, 200, 404, 200]
    assert all(a.headers["Cache-Control"] == "no-store" for a in answers)


@pytest.mark.parametrize("behind_tls", [False, True])
def test_the_cookie_is_secure_when_the_deployment_says_it_is_behind_tls(desk, behind_tls):
    # the scheme the gateway sees says nothing: TLS ends at the proxy
    with TestClient(console_app(desk, behind_tls), base_url="http://testserver") as client:
        origin = "https://testserver" if behind_tls else "http://testserver"
        wrong_scheme = "http://testserver" if behind_tls else "https://testserver"
        assert log_in(client, Origin=wrong_scheme).status_code == 403
        response = log_in(client, Origin=origin)
        assert response.status_code == 200
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower() and "Max-Age=43200" in cookie
        assert ("Secure" in cookie) is behind_tls
        out = client.post("/api/agent/logout", headers={"Origin": origin})  # the cookie's removal, alike
        assert out.status_code == 200 and ("Secure" in out.headers["set-cookie"]) is behind_tls


def test_the_gateway_wires_the_console_with_its_settings(tmp_path):
    from core.database import database_url
    from core.settings import Settings

    settings = Settings(var_dir=tmp_path / "var", behind_tls=True, tts_gtts=False, rate_login=100,
                        conversation_secret="agent-security-tests-secret", password_min_length=16)
    store = TicketStore(database_url(settings))
    store.add_agent("alice", PASSWORD, "Alice")
    store.engine.dispose()
    from channels.gateway import create_app

    client = TestClient(create_app(settings), base_url="http://testserver")  # no lifespan: no Rasa needed
    assert client.post("/api/agent/logout").status_code == 403
    response = log_in(client, Origin="https://testserver")
    assert response.status_code == 200 and "Secure" in response.headers["set-cookie"]
    assert response.headers["Cache-Control"] == "no-store"
    assert log_in(client, Origin="http://testserver").status_code == 403
