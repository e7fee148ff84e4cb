"""Web conversation identities (channels/web/identity.py) and the event streams' resume point, without a server."""

import base64
import re

import pytest

from channels.common.models import SENDER_PATTERN
from channels.web.event_routes import MAX_EVENT_ID, resume_point
from channels.web.identity import ConversationIdentity, ConversationRefused, WebCaller


def tampered(token: str) -> str:
    """The token with one character of its MAC changed."""
    mac_start = token.rindex(".") + 1
    return token[:mac_start] + ("B" if token[mac_start] == "A" else "A") + token[mac_start + 1:]


def test_an_issued_sender_is_a_web_sender_with_at_least_128_random_bits():
    identity = ConversationIdentity("secret")
    issued = [identity.issue() for _ in range(50)]
    for conversation in issued:
        assert re.fullmatch(SENDER_PATTERN, conversation.sender)
        assert conversation.sender.startswith("web:")
        random_part = base64.urlsafe_b64decode(conversation.sender.removeprefix("web:") + "==")
        assert len(random_part) * 8 >= 128
        assert identity.owner_of(conversation.token) == conversation.sender
    assert len({c.sender for c in issued}) == len(issued) and len({c.token for c in issued}) == len(issued)


def test_a_token_is_checked_by_any_identity_with_the_same_secret_and_by_no_other():
    conversation = ConversationIdentity("shared secret").issue()
    assert ConversationIdentity("shared secret").owner_of(conversation.token) == conversation.sender  # stateless
    assert ConversationIdentity("another secret").owner_of(conversation.token) is None


def test_without_a_secret_the_key_is_random_and_lasts_as_long_as_the_process():
    conversation = ConversationIdentity("").issue()
    assert ConversationIdentity("").owner_of(conversation.token) == conversation.sender
    assert ConversationIdentity("x").owner_of(conversation.token) is None  # not the empty string as a key
    assert ConversationIdentity("").owner_of(ConversationIdentity("x").issue().token) is None


@pytest.mark.parametrize("make_bad", [
    tampered,
    lambda token: token.replace(".", ""),
    lambda token: token + "A",
    lambda token: token[:-1],
    lambda token: "other" + token,  # another sender with this sender's MAC
    lambda token: token.split(".")[1],  # the MAC alone
    lambda token: "",
    lambda token: ".",
    lambda token: "web:" + token,
    lambda token: token.replace(token[0], "\udcff", 1),  # a lone surrogate
    lambda token: "a" * 10_000,
])
def test_a_token_that_was_not_issued_opens_nothing(make_bad):
    identity = ConversationIdentity("secret")
    assert identity.owner_of(make_bad(identity.issue().token)) is None


def test_only_web_senders_get_tokens():
    identity = ConversationIdentity("secret")
    assert identity.owner_of(identity.token_for("web:chosen-by-a-test")) == "web:chosen-by-a-test"
    for sender in ("telegram:123", "voice:1", "web-old", "web:", "web:a.b"):
        with pytest.raises(ValueError):
            identity.token_for(sender)


@pytest.mark.parametrize("sender", ["web:someone-else", "telegram:123456789", "web-legacy", "WEB:mine"])
def test_a_caller_may_use_only_its_own_web_conversation(sender):
    caller = WebCaller("web:mine")
    caller.require("web:mine")
    with pytest.raises(ConversationRefused) as refused:
        caller.require(sender)
    assert (refused.value.status, refused.value.code) == (403, "wrong_conversation")


@pytest.mark.parametrize("header, after, start", [
    ("42", None, 42),
    ("42", 7, 42),  # the header (what the browser really saw) wins over the URL's after=
    (" 42 ", None, 42),
    (None, 7, 7),
    ("", 7, 7),
    ("٣", None, 0),  # Arabic-Indic three: str.isdigit() says yes, it is no id of ours
    ("²", 5, 5),  # superscript two: isdigit() but int() fails
    ("１２", None, 0),  # full-width digits
    ("-1", None, 0),
    ("1e3", None, 0),
    ("0x10", None, 0),
    (str(MAX_EVENT_ID), None, MAX_EVENT_ID),
    (str(MAX_EVENT_ID + 1), 3, 3),
    ("9" * 4000, None, 0),
])
def test_the_resume_point_takes_only_plain_ids_in_range(header, after, start):
    assert resume_point(header, after) == start
