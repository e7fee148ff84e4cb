"""The agents' password policy (handoff/passwords.py) and the lock-out of repeated failed log-ins
(handoff/login_guard.py), without a database or HTTP."""

import pytest

from handoff.login_guard import Backoff, LoginGuard, TooManyAttempts, login_keys
from handoff.passwords import (
    MAX_LENGTH,
    WeakPassword,
    check_password,
    common_passwords,
    hash_password,
    password_problem,
    require_strong_password,
)
from testkit.handoff import Clock


def reason(password: str, username: str = "zhang.wei", min_length: int = 12) -> str | None:
    problem = password_problem(password, username, min_length)
    return problem.reason if problem else None


@pytest.mark.parametrize("password", [
    "violet-harbour-ladder-93", "correct horse battery", "maple river 42 lantern", "Bamboo*Kettle*Orchard",
    "long enough password", "我家门前有两棵枣树，一棵是枣树"])
def test_long_uncommon_passwords_are_accepted(password):
    assert password_problem(password, "zhang.wei") is None
    require_strong_password(password, "zhang.wei")  # does not raise


@pytest.mark.parametrize("password, expected", [
    ("", "blank"), ("        ", "blank"), ("            ", "blank"), ("\t\n  ", "blank"),
    ("short", "too_short"), ("12345678", "too_short"), ("abc def ghi", "too_short"),
    ("x" * (MAX_LENGTH + 1) + "yzabc", "too_long"),
    ("aaaaaaaaaaaa", "too_simple"), ("abababababab", "too_simple"), ("121212121212", "too_simple"),
    ("1234567890123", "sequence"), ("abcdefghijklm", "sequence"), ("9876543210987", "sequence"),
    ("1qaz2wsx3edc", "sequence"), ("zyxwvutsrqpo", "sequence"),
    ("Password1234", "common"), ("p@ssw0rd1234", "common"), ("sunshine2024!", "common"), ("iloveyou1234", "common"),
    ("princess1234", "common"), ("qwertyuiop12", "common"),
    ("govbot-12345678", "predictable"), ("Govbot2024!!!", "predictable"), ("admin@govbot2024", "predictable"),
    ("qwer1234asdf", "predictable"), ("13812345678910", "predictable"), ("s3cret-password", "predictable"),
    ("Welcome!2024#", "predictable"),
    ("zhang.wei-2024!", "contains_username"), ("my name is Zhang.Wei", "contains_username"),
    ("abc\x00defghijklm", "control_characters"), ("\ud800abcdefghijkl", "control_characters"),
])
def test_weak_passwords_are_refused_with_the_reason(password, expected):
    assert reason(password) == expected


def test_the_refusal_is_a_handoff_error_with_a_clear_message():
    with pytest.raises(WeakPassword) as caught:
        require_strong_password("short", "li")
    assert caught.value.code == "weak_password" and caught.value.reason == "too_short"
    assert "at least 12 characters" in str(caught.value)
    with pytest.raises(WeakPassword, match="only spaces"):
        require_strong_password(" " * 20, "li")
    with pytest.raises(WeakPassword, match="common passwords"):
        require_strong_password("Password1234", "li")
    with pytest.raises(WeakPassword, match="username"):
        require_strong_password("wangfang-1990-beijing", "wangfang")


def test_the_minimum_length_is_configurable():
    assert reason("tulip kettle", min_length=12) is None  # 12 characters
    assert reason("tulip kettle", min_length=16) == "too_short"
    assert "at least 16 characters" in str(password_problem("tulip kettle", "li", 16))


def test_a_short_username_is_not_searched_for():
    # two-letter names occur inside ordinary words; only the obvious patterns count
    assert reason("violet-harbour-ladder-93", "la") is None


def test_the_blocklist_is_shipped_and_read_in_lower_case():
    blocked = common_passwords()
    assert len(blocked) > 8000
    assert {"password", "12345678", "iloveyou", "1qaz2wsx", "woaini1314", "qq123456"} <= blocked
    assert all(len(entry) >= 8 and entry == entry.lower() for entry in blocked)
    assert reason("WoAiNi1314", min_length=8) == "common"


def test_hashes_are_salted_and_any_string_can_be_checked():
    first, second = hash_password("violet-harbour-ladder-93"), hash_password("violet-harbour-ladder-93")
    assert first != second and first.startswith("scrypt$16384$8$1$")
    assert check_password("violet-harbour-ladder-93", first)
    assert not check_password("violet-harbour-ladder-94", first)
    assert not check_password("\ud800 lone surrogate", first)  # no UnicodeEncodeError
    assert not check_password("anything", "not a hash") and not check_password("x", "bcrypt$1$2$3$00$00")
    assert not check_password("x", "scrypt$16384$8$1$zz$00")  # a broken stored hash is a mismatch, not a crash


# --- the back-off of failed log-ins ---------------------------------------------------------------------------

@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def guard(clock) -> LoginGuard:
    return LoginGuard(Backoff(free_failures=5, first_lock=15, max_lock=900, forget_after=3600),
                      Backoff(free_failures=10, first_lock=15, max_lock=900, forget_after=3600), clock)


def fail(guard: LoginGuard, keys) -> float:
    guard.admit(keys)
    return guard.settle(keys, succeeded=False)


def test_the_lock_out_doubles_from_the_fifth_failure_up_to_fifteen_minutes():
    backoff = Backoff()
    assert [backoff.lock_seconds(n) for n in range(1, 13)] == [0, 0, 0, 0, 15, 30, 60, 120, 240, 480, 900, 900]
    assert backoff.lock_seconds(10_000) == 900


def test_a_locked_username_is_refused_without_a_check_until_the_lock_ends(guard, clock):
    keys = login_keys("alice", "10.0.0.1")
    assert [fail(guard, keys) for _ in range(4)] == [0, 0, 0, 0]
    assert fail(guard, keys) == 15
    with pytest.raises(TooManyAttempts) as caught:
        guard.admit(keys)
    assert caught.value.code == "too_many_attempts" and caught.value.retry_after == 15
    clock.advance(seconds=10)
    with pytest.raises(TooManyAttempts) as caught:
        guard.admit(login_keys("Alice", "10.0.0.2"))  # the same user from elsewhere, any case
    assert caught.value.retry_after == 5
    clock.advance(seconds=5)
    assert fail(guard, keys) == 30  # the 6th failure: twice as long
    clock.advance(seconds=30)
    guard.admit(keys)
    guard.settle(keys, succeeded=True)  # a success resets the username and the address
    assert guard.failures(("user", "alice")) == 0 and guard.failures(("address", "10.0.0.1")) == 0


def test_an_address_guessing_many_usernames_is_locked_after_ten_failures(guard):
    for number in range(10):
        fail(guard, login_keys(f"user{number}", "10.0.0.9"))
    with pytest.raises(TooManyAttempts):
        guard.admit(login_keys("someone-new", "10.0.0.9"))
    guard.admit(login_keys("someone-new", "10.0.0.10"))  # another address is not affected


def test_a_second_attempt_while_one_is_being_checked_is_refused(guard):
    keys = login_keys("alice", "10.0.0.1")
    guard.admit(keys)
    with pytest.raises(TooManyAttempts) as caught:
        guard.admit(login_keys("alice", "10.0.0.2"))
    assert caught.value.retry_after == 1
    guard.settle(keys, succeeded=False)
    guard.admit(login_keys("alice", "10.0.0.2"))  # free again


def test_old_failures_are_forgotten_and_the_table_is_bounded(clock):
    guard = LoginGuard(Backoff(), Backoff(), clock, max_entries=100)
    for _ in range(3):
        fail(guard, login_keys("alice", ""))
    assert guard.failures(("user", "alice")) == 3
    clock.advance(hours=1, seconds=1)
    assert guard.failures(("user", "alice")) == 0
    for number in range(500):
        fail(guard, login_keys(f"user{number}", ""))
    assert len(guard._records) == 100  # the oldest went first
    assert guard.failures(("user", "user499")) == 1 and guard.failures(("user", "user0")) == 0


def test_the_lock_out_counts_time_on_the_guards_clock(guard, clock):
    keys = login_keys("bob", "")
    for _ in range(11):
        clock.advance(minutes=16)  # past each lock (15 minutes at most), well within forget_after
        fail(guard, keys)
    with pytest.raises(TooManyAttempts) as caught:
        guard.admit(keys)
    assert caught.value.retry_after == 900  # capped at 15 minutes
