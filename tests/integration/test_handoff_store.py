"""The handoff store on SQLite and on a real PostgreSQL server: tickets, messages, claims, audit trail, sessions."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.models import AgentRow
from handoff.store import HandoffError, TicketOpening, TicketStore, check_password
from testkit.handoff import START, Clock, race

PASSWORD = "correct horse battery"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(db_url: str, clock: Clock) -> TicketStore:
    store = TicketStore(db_url, clock=clock)
    store.add_agent("alice", PASSWORD, "Alice Wang")
    store.add_agent("bob", PASSWORD, "Bob Li")
    yield store
    store.engine.dispose()


def opening(sender: str = "web-1", **overrides) -> TicketOpening:
    values = {"sender_id": sender, "channel": "web", "language": "zh", "reason": "user_request",
              "item": "passport-apply"} | overrides
    return TicketOpening(**values)


def error_code(call, *args) -> str:
    with pytest.raises(HandoffError) as caught:
        call(*args)
    return caught.value.code


# --- opening ------------------------------------------------------------------------------------------------

def test_a_ticket_gets_a_dated_number_and_is_waiting(store, clock):
    ticket = store.open_ticket(opening(large_text=True))
    assert re.fullmatch(r"20250314-\d{4}", ticket.number)
    assert ticket.status == "waiting" and ticket.agent is None
    assert ticket.created_at == START
    assert (ticket.channel, ticket.language, ticket.reason, ticket.item) == ("web", "zh", "user_request",
                                                                             "passport-apply")
    assert ticket.elderly
    assert store.open_ticket_of("web-1") == ticket
    assert store.open_ticket_of("web-2") is None
    assert [e.action for e in store.transcript(ticket.number).events] == ["opened"]


def test_opening_again_while_open_returns_the_same_ticket_and_a_new_one_after_closing(store):
    first = store.open_ticket(opening(), [("citizen", "hello", START)])
    again = store.open_ticket(opening(reason="complaint"), [("citizen", "hello", START)])
    assert again.id == first.id and again.number == first.number and again.reason == "user_request"
    assert len(store.transcript(first.number).messages) == 1  # the history was not imported twice
    assert len(store.open_tickets()) == 1
    store.cancel(first.number)
    second = store.open_ticket(opening())
    assert second.number != first.number
    assert [t.number for t in store.open_tickets()] == [second.number]


def test_numbers_are_unique_across_conversations(store):
    numbers = {store.open_ticket(opening(f"web-{i}")).number for i in range(5)}
    assert len(numbers) == 5


def test_the_bot_history_is_imported_in_order_clear_while_open_and_masked_once_closed(store):
    history = [("citizen", "我要办护照，身份证号110101199003071234", START - timedelta(minutes=3)),
               ("bot", "请问您的手机号？", START - timedelta(minutes=2)),
               ("citizen", "13812345678", START - timedelta(minutes=1)),
               ("bot", "正在为您转人工", START)]
    ticket = store.open_ticket(opening(), history)
    messages = store.transcript(ticket.number).messages
    assert [(m.author, m.text, m.created_at) for m in messages] == history  # the agent can call back
    store.cancel(ticket.number)
    messages = store.transcript(ticket.number).messages
    assert [(m.author, m.text) for m in messages] == [
        ("citizen", "我要办护照，身份证号**************1234"), ("bot", "请问您的手机号？"),
        ("citizen", "*******5678"), ("bot", "正在为您转人工")]
    assert "110101199003071234" not in repr(messages) and "13812345678" not in repr(messages)


# --- messages ---------------------------------------------------------------------------------------------

def test_citizen_messages_are_timestamped_and_masked_when_the_ticket_closes(store, clock):
    ticket = store.open_ticket(opening())
    clock.advance(seconds=30)
    message = store.add_message(ticket.number, "citizen", "电话 138-1234-5678，身份证 11010119900307123X")
    assert message.text == "电话 138-1234-5678，身份证 11010119900307123X"  # while open, as typed
    assert message.created_at == START + timedelta(seconds=30)
    assert store.ticket(ticket.number).last_citizen_at == START + timedelta(seconds=30)
    store.claim(ticket.number, "alice")
    store.close(ticket.number, "alice", "called 138-1234-5678 back")
    transcript = store.transcript(ticket.number)
    assert transcript.messages[-1].text == "电话 ***-****-5678，身份证 **************123X"
    assert transcript.ticket.resolution == "called ***-****-5678 back"


def test_only_the_agent_who_has_the_ticket_can_write_to_the_citizen(store, clock):
    ticket = store.open_ticket(opening())
    assert error_code(store.add_message, ticket.number, "agent", "hi", "alice") == "not_your_ticket"  # waiting
    store.claim(ticket.number, "alice")
    assert error_code(store.add_message, ticket.number, "agent", "hi", "bob") == "not_your_ticket"
    assert error_code(store.add_message, ticket.number, "agent", "hi", None) == "not_your_ticket"
    clock.advance(seconds=45)
    reply = store.add_message(ticket.number, "agent", "您好，我是Alice", "alice")
    assert (reply.author, reply.agent, reply.text) == ("agent", "alice", "您好，我是Alice")
    clock.advance(seconds=45)
    store.add_message(ticket.number, "agent", "请稍等", "alice")
    after = store.ticket(ticket.number)
    assert after.first_response_at == START + timedelta(seconds=45)  # the first reply, not the latest
    assert after.last_agent_at == START + timedelta(seconds=90)


def test_system_messages_and_notes_are_stored(store):
    ticket = store.open_ticket(opening())
    store.claim(ticket.number, "alice")
    store.add_message(ticket.number, "system", "人工客服 Alice 已接入")
    store.add_message(ticket.number, "note", "citizen sounds upset", "alice")
    ticket_now = store.ticket(ticket.number)
    assert ticket_now.first_response_at is None  # neither counts as a reply to the citizen
    assert [(m.author, m.agent) for m in store.transcript(ticket.number).messages] == [("system", None),
                                                                                      ("note", "alice")]


def test_a_closed_ticket_takes_no_more_citizen_or_agent_messages(store):
    ticket = store.open_ticket(opening())
    store.claim(ticket.number, "alice")
    store.close(ticket.number, "alice", "answered")
    assert error_code(store.add_message, ticket.number, "citizen", "hello?") == "ticket_closed"
    assert error_code(store.add_message, ticket.number, "agent", "bye", "alice") == "ticket_closed"
    store.add_message(ticket.number, "system", "closed, please rate")  # the closing message still goes in
    assert error_code(store.add_message, "20250314-9999", "citizen", "hi") == "no_such_ticket"


# --- claiming, taking over, releasing, forwarding ---------------------------------------------------------------

def test_claim_assigns_the_ticket_and_is_recorded(store, clock):
    ticket = store.open_ticket(opening())
    clock.advance(minutes=2)
    claimed = store.claim(ticket.number, "alice")
    assert (claimed.status, claimed.agent, claimed.claimed_at) == ("assigned", "alice", START + timedelta(minutes=2))
    assert store.claim(ticket.number, "alice").agent == "alice"  # claiming one's own ticket again is harmless
    assert error_code(store.claim, ticket.number, "bob") == "already_claimed"
    assert store.ticket(ticket.number).agent == "alice"
    events = store.transcript(ticket.number).events
    assert [(e.actor, e.action) for e in events] == [("system", "opened"), ("alice", "claimed")]
    assert error_code(store.claim, "20250314-9999", "bob") == "no_such_ticket"


def test_a_closed_ticket_cannot_be_claimed_or_taken_over(store):
    ticket = store.open_ticket(opening())
    store.cancel(ticket.number)
    assert error_code(store.claim, ticket.number, "alice") == "ticket_closed"
    assert error_code(store.take_over, ticket.number, "alice") == "ticket_closed"
    assert store.ticket(ticket.number).status == "closed"


def test_of_two_agents_claiming_at_once_exactly_one_wins(store):
    trials = 20
    for trial in range(trials):
        ticket = store.open_ticket(opening(f"race-{trial}"))
        agents = ["alice", "bob"]
        results = race(2, lambda i, number=ticket.number, agents=agents: store.claim(number, agents[i]))
        winners = [agents[i] for i, (kind, _) in enumerate(results) if kind == "ok"]
        losers = [value for kind, value in results if kind == "error"]
        assert len(winners) == 1, (trial, results)
        assert len(losers) == 1 and isinstance(losers[0], HandoffError) and losers[0].code == "already_claimed", \
            (trial, results)
        after = store.transcript(ticket.number)
        assert after.ticket.agent == winners[0] and after.ticket.status == "assigned"
        assert [e.actor for e in after.events if e.action == "claimed"] == winners


def test_a_take_over_racing_a_close_does_not_both_succeed(store):
    for trial in range(20):
        ticket = store.open_ticket(opening(f"close-race-{trial}"))
        store.claim(ticket.number, "alice")
        actions = [lambda number=ticket.number: store.close(number, "alice", "done"),
                   lambda number=ticket.number: store.take_over(number, "bob")]
        (close_kind, close_result), (take_kind, take_result) = race(2, lambda i, actions=actions: actions[i]())
        after = store.ticket(ticket.number)
        assert [close_kind, take_kind].count("ok") == 1, (trial, close_result, take_result)
        if close_kind == "ok":  # closed first: nothing left to take over
            assert take_result.code == "ticket_closed"
            assert (after.status, after.agent, after.closed_by) == ("closed", "alice", "agent")
        else:  # taken over first: alice may no longer close it
            assert close_result.code == "not_your_ticket"
            assert (after.status, after.agent, after.closed_at) == ("assigned", "bob", None)


def test_two_requests_opening_a_ticket_at_once_get_the_same_one(store):
    for trial in range(20):
        sender = f"open-race-{trial}"
        results = race(2, lambda i, sender=sender: store.open_ticket(opening(sender), [("citizen", "转人工", START)]))
        assert [kind for kind, _ in results] == ["ok", "ok"], results
        assert results[0][1].number == results[1][1].number
        assert [t.sender_id for t in store.open_tickets()].count(sender) == 1
        assert len(store.transcript(results[0][1].number).messages) == 1


def test_taking_over_is_explicit_and_in_the_audit_trail(store, clock):
    ticket = store.open_ticket(opening())
    store.claim(ticket.number, "alice")
    clock.advance(minutes=1)
    taken = store.take_over(ticket.number, "bob")
    assert (taken.status, taken.agent) == ("assigned", "bob")
    assert taken.claimed_at == START  # still measured from the first claim
    assert error_code(store.add_message, ticket.number, "agent", "still me", "alice") == "not_your_ticket"
    store.add_message(ticket.number, "agent", "Bob here", "bob")
    events = store.transcript(ticket.number).events
    assert [(e.actor, e.action, e.detail) for e in events] == [
        ("system", "opened", "user_request"), ("alice", "claimed", None), ("bob", "took_over", "from alice")]
    assert events[2].at == START + timedelta(minutes=1)


def test_release_puts_the_ticket_back_in_the_queue(store):
    ticket = store.open_ticket(opening())
    store.claim(ticket.number, "alice")
    assert error_code(store.release, ticket.number, "bob") == "not_your_ticket"
    released = store.release(ticket.number, "alice")
    assert (released.status, released.agent) == ("waiting", None)
    assert store.claim(ticket.number, "bob").agent == "bob"  # someone else can pick it up now
    assert [(e.actor, e.action) for e in store.transcript(ticket.number).events][-2:] == [("alice", "released"),
                                                                                        ("bob", "claimed")]


def test_forward_hands_the_ticket_to_a_known_agent_only(store):
    ticket = store.open_ticket(opening())
    store.claim(ticket.number, "alice")
    assert error_code(store.forward, ticket.number, "alice", "mallory") == "no_such_agent"
    assert store.ticket(ticket.number).agent == "alice"
    assert error_code(store.forward, ticket.number, "bob", "alice") == "not_your_ticket"
    forwarded = store.forward(ticket.number, "alice", "bob")
    assert (forwarded.status, forwarded.agent) == ("assigned", "bob")
    assert error_code(store.add_message, ticket.number, "agent", "hi", "alice") == "not_your_ticket"
    store.add_message(ticket.number, "agent", "hi, Bob here", "bob")
    events = store.transcript(ticket.number).events
    assert [(e.actor, e.action, e.detail) for e in events][-1] == ("alice", "forwarded", "to bob")
    assert not any(e.action == "forwarded" and "mallory" in (e.detail or "") for e in events)


# --- closing, cancelling, rating -------------------------------------------------------------------------------

def test_closing_needs_the_owner_and_a_resolution(store, clock):
    ticket = store.open_ticket(opening())
    assert error_code(store.close, ticket.number, "alice", "done") == "not_your_ticket"  # not claimed
    store.claim(ticket.number, "alice")
    assert error_code(store.close, ticket.number, "alice", "") == "resolution_required"
    assert error_code(store.close, ticket.number, "alice", "   \n") == "resolution_required"
    assert error_code(store.close, ticket.number, "bob", "done") == "not_your_ticket"
    assert store.ticket(ticket.number).status == "assigned"
    clock.advance(minutes=10)
    closed = store.close(ticket.number, "alice", "explained the passport documents")
    assert (closed.status, closed.closed_by, closed.resolution) == ("closed", "agent",
                                                                    "explained the passport documents")
    assert closed.closed_at == START + timedelta(minutes=10)
    assert store.open_ticket_of("web-1") is None
    assert store.transcript(ticket.number).events[-1].action == "closed"
    assert error_code(store.close, ticket.number, "alice", "again") == "not_your_ticket"


def test_cancel_closes_a_waiting_ticket_for_the_citizen_and_leaves_closed_ones_alone(store, clock):
    ticket = store.open_ticket(opening())
    clock.advance(minutes=1)
    cancelled = store.cancel(ticket.number)
    assert (cancelled.status, cancelled.closed_by) == ("closed", "citizen")
    assert cancelled.closed_at == START + timedelta(minutes=1)
    other = store.open_ticket(opening("web-2"))
    store.claim(other.number, "alice")
    store.close(other.number, "alice", "solved")
    assert store.cancel(other.number).closed_by == "agent"  # a late cancel does not rewrite the closing
    assert store.ticket(other.number).resolution == "solved"
    assert [e.action for e in store.transcript(ticket.number).events] == ["opened", "cancelled"]


@pytest.mark.parametrize("bad", [0, 6, -1, 10])
def test_a_rating_is_1_to_5(store, bad):
    ticket = store.open_ticket(opening())
    store.cancel(ticket.number)
    assert error_code(store.rate, ticket.number, bad) == "invalid_rating"
    assert store.ticket(ticket.number).citizen_rating is None


def test_only_closed_tickets_are_rated(store):
    ticket = store.open_ticket(opening())
    assert error_code(store.rate, ticket.number, 5) == "ticket_open"
    store.claim(ticket.number, "alice")
    assert error_code(store.rate, ticket.number, 5) == "ticket_open"
    store.close(ticket.number, "alice", "done")
    assert store.last_closed_unrated("web-1").number == ticket.number
    for level in (1, 5):
        assert store.rate(ticket.number, level).citizen_rating == level
    assert store.ticket(ticket.number).citizen_rating == 5
    assert store.last_closed_unrated("web-1") is None
    assert store.transcript(ticket.number).events[-1].detail == "5"


# --- reading ----------------------------------------------------------------------------------------------

def test_the_transcript_is_in_the_order_things_happened(store, clock):
    ticket = store.open_ticket(opening(), [("citizen", "办护照", START), ("bot", "需要身份证", START)])
    store.claim(ticket.number, "alice")
    steps = [("system", "Alice joined", None), ("citizen", "你好", None), ("agent", "您好", "alice"),
             ("note", "check the item", "alice"), ("citizen", "谢谢", None), ("agent", "不客气", "alice")]
    for author, words, agent in steps:
        clock.advance(seconds=1)
        store.add_message(ticket.number, author, words, agent)
    messages = store.transcript(ticket.number).messages
    assert [(m.author, m.text) for m in messages] == [("citizen", "办护照"), ("bot", "需要身份证")] + \
        [(author, words) for author, words, _ in steps]
    assert [m.id for m in messages] == sorted(m.id for m in messages)
    assert [m.created_at for m in messages[2:]] == [START + timedelta(seconds=s) for s in range(1, 7)]


def test_citizen_messages_after_replays_only_what_the_citizen_may_see(store):
    first = store.open_ticket(opening(), [("bot", "bot history", START)])
    store.claim(first.number, "alice")
    seen = [store.add_message(first.number, "system", "Alice joined").id]
    store.add_message(first.number, "citizen", "question")
    seen.append(store.add_message(first.number, "agent", "answer", "alice").id)
    store.add_message(first.number, "note", "internal", "alice")
    store.close(first.number, "alice", "done")
    seen.append(store.add_message(first.number, "system", "please rate").id)
    other = store.open_ticket(opening("web-2"))
    store.add_message(other.number, "system", "someone else's")
    second = store.open_ticket(opening())
    store.claim(second.number, "bob")
    seen.append(store.add_message(second.number, "agent", "new ticket", "bob").id)

    replay = store.citizen_messages_after("web-1", 0)
    assert [m.id for _, m in replay] == seen
    assert [m.text for _, m in replay] == ["Alice joined", "answer", "please rate", "new ticket"]
    assert [t.number for t, _ in replay] == [first.number] * 3 + [second.number]
    assert replay[2][0].status == "closed"
    assert [m.id for _, m in store.citizen_messages_after("web-1", seen[1])] == seen[2:]
    assert store.citizen_messages_after("web-1", seen[-1]) == []
    assert store.citizen_messages_after("nobody", 0) == []


def test_open_tickets_and_tickets_since(store, clock):
    old = store.open_ticket(opening("web-old"))
    store.cancel(old.number)
    clock.advance(days=2)
    waiting = store.open_ticket(opening("web-a"))
    assigned = store.open_ticket(opening("web-b"))
    store.claim(assigned.number, "alice")
    assert [t.number for t in store.open_tickets()] == [waiting.number, assigned.number]
    assert [t.number for t in store.tickets_since(clock.now - timedelta(days=1))] == [waiting.number,
                                                                                      assigned.number]
    assert len(store.tickets_since(START - timedelta(days=1))) == 3


# --- agents and sessions ------------------------------------------------------------------------------------

def test_passwords_are_stored_as_salted_hashes(store):
    with Session(store.engine) as session:
        hashes = {row.username: row.password_hash for row in session.scalars(select(AgentRow))}
    assert set(hashes) == {"alice", "bob"}
    for stored in hashes.values():
        assert stored != PASSWORD and PASSWORD not in stored
        assert stored.startswith("scrypt$")
        assert check_password(PASSWORD, stored) and not check_password(PASSWORD + "!", stored)
    assert hashes["alice"] != hashes["bob"]  # same password, different salt


def test_agent_names_and_passwords_are_checked(store):
    assert error_code(store.add_agent, "alice", "another password") == "agent_exists"
    assert error_code(store.add_agent, "carol", "short") == "weak_password"
    assert error_code(store.add_agent, "bad name", PASSWORD) == "invalid_username"
    assert error_code(store.add_agent, "", PASSWORD) == "invalid_username"
    assert [a.username for a in store.agents()] == ["alice", "bob"]
    assert store.agent("alice").display_name == "Alice Wang"
    assert store.agent("carol") is None


def test_log_in_with_the_right_password_only(store):
    assert store.log_in("alice", "wrong password") is None
    assert store.log_in("nobody", PASSWORD) is None
    token = store.log_in("alice", PASSWORD)
    assert token and len(token) >= 32
    agent = store.session_agent(token)
    assert (agent.username, agent.display_name) == ("alice", "Alice Wang")
    assert store.session_agent(token + "x") is None
    assert store.session_agent("") is None
    other = store.log_in("alice", PASSWORD)
    assert other != token and store.session_agent(other).username == "alice"


def test_sessions_expire_and_end_at_log_out(store, clock):
    token = store.log_in("alice", PASSWORD)
    clock.advance(hours=11, minutes=59)
    assert store.session_agent(token).username == "alice"
    clock.advance(minutes=1)
    assert store.session_agent(token) is None  # 12 hours after logging in
    fresh = store.log_in("alice", PASSWORD)
    kept = store.log_in("alice", PASSWORD)
    store.log_out(fresh)
    assert store.session_agent(fresh) is None
    assert store.session_agent(kept).username == "alice"  # other sessions stay
    store.log_out("not a token")  # harmless


def test_agents_online_are_the_ones_seen_recently(store, clock):
    assert store.agents_online() == 0
    alice = store.log_in("alice", PASSWORD)
    assert store.agents_online() == 1
    clock.advance(seconds=60)
    store.log_in("bob", PASSWORD)
    assert store.agents_online() == 2
    clock.advance(seconds=31)
    assert store.agents_online() == 1  # alice last seen 91 s ago
    store.session_agent(alice)  # her console is still asking
    assert store.agents_online() == 2
    clock.advance(seconds=91)
    assert store.agents_online() == 0
    assert store.agents_online(within=timedelta(minutes=5)) == 2


def test_an_agent_who_logged_out_is_not_online(store):
    first, second = store.log_in("alice", PASSWORD), store.log_in("alice", PASSWORD)
    store.log_in("bob", PASSWORD)
    store.log_out(first)
    assert store.agents_online() == 2  # alice still has a console open
    store.log_out(second)
    assert store.agents_online() == 1  # at once, not 90 s later
    assert store.agent("alice").last_seen_at is not None  # `govbot agent list` still says when


def test_the_store_keeps_everything_across_a_restart(db_url, clock):
    first = TicketStore(db_url, clock=clock)
    first.add_agent("alice", PASSWORD)
    token = first.log_in("alice", PASSWORD)
    ticket = first.open_ticket(opening())
    first.add_message(ticket.number, "citizen", "are you there?")
    first.engine.dispose()
    second = TicketStore(db_url, clock=clock)
    assert second.open_ticket_of("web-1").number == ticket.number
    assert [m.text for m in second.transcript(ticket.number).messages] == ["are you there?"]
    assert second.session_agent(token).username == "alice"
    assert second.open_ticket(opening("web-2")).number != ticket.number
    second.engine.dispose()
