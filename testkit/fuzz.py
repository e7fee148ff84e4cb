"""A seeded HTTP fuzzer for the gateway: it generates requests over every public endpoint and sends them.

`generate(context, count, seed)` makes a reproducible list of `FuzzRequest`s (a `random.Random(seed)` picks each
one; the same context, count, seed and static folder give the same requests) over the pages, `/static`, `/health`,
`/widget.js`, the citizen's
API (`/api/conversations`, `/api/chat`, `/api/tts`, `/api/voice`, `/api/events`), the agent console's API and the
Telegram webhook, with the mutations an attacker tries: wrong methods and content types, invalid JSON, deep
nesting, huge numbers, lone surrogates, NUL and control characters, very long strings, unicode, wrong types,
extra fields, bad tokens, cookies and Authorization headers, odd headers, Content-Length lies, malformed request
heads and path traversal. Most requests are refused before Rasa; a bounded share (`FuzzRequest.reaches_rasa`) is
a valid chat or Telegram update the bot answers.

`run(base_url, requests, ...)` sends them with a few concurrent workers, a per-request timeout and a total time
budget, over loopback only, and returns a `FuzzReport`: counts per endpoint and status class, every 5xx with its
request, timeouts, transport errors and path-traversal leaks. Requests whose bytes httpx would correct (lying
Content-Length, raw paths, broken heads) go over a plain socket.
"""

import asyncio
import io
import json
import random
import struct
import time
import wave
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from ipaddress import ip_address
from typing import Callable, Iterable, Optional, Sequence
from urllib.parse import quote, urlsplit

import httpx

from channels.web.chat_routes import STATIC_DIR

Header = tuple[bytes, bytes]

# 501 stt_not_configured is the documented answer for a language without a speech model (docs/api.md): the
# deployment, not the request, lacks something. Every other status from 500 up is a failure.
ALLOWED_SERVER_ERRORS = {(501, "stt_not_configured")}
PERSONAL = ("13812345678", "11010519491231002X", "li.si@example.org", "6222021234567890128")
QUESTIONS = ("护照怎么办理", "身份证丢了怎么补办", "how do I apply for a passport", "社保卡", "你好", "hello",
             "要带什么材料？", "how much does it cost?", "公积金怎么提取", "结婚登记需要什么", "讲个笑话", "谢谢",
             "/greet", "/rate_good", "/rate_bad", "/large", "/voice", "/cancel_handoff", "转人工")
PERSONAL_TEXTS = (f"我的电话是{PERSONAL[0]}，身份证{PERSONAL[1]}", f"my e-mail is {PERSONAL[2]}, call me",
                  f"银行卡号 {PERSONAL[3]} 护照怎么办理")
INJECTIONS = ("'; DROP TABLE tickets;--", "<script>alert(1)</script>", "{{7*7}}", "${jndi:ldap://127.0.0.1/x}",
              "../../../../etc/passwd", "%00", "\\u0000", "%s%s%s%n", "\u202eevil", "A" * 300)
PAYLOADS = ("/choose_item{\"item\": \"passport\"}", "/choose_item{\"item\": ", "/choose_item{}",
            "/choose_item{\"item\": [1, {\"a\": null}]}", "/rate_ticket{\"number\": \"x\", \"level\": 99}",
            "/nonexistent_intent", "/", "//", "/greet{\"language\": \"xx\"}", "/ask_person{\"reason\": 5}",
            "/restart", "/session_start", "/action_listen", "/EXTERNAL_x", "/rate_good{\"x\": 1e999}")
STATIC_FILES = tuple(sorted(path.name for path in STATIC_DIR.iterdir() if path.is_file()))
TRAVERSALS = ("/static/../core/settings.py", "/static/..%2f..%2fcore%2fsettings.py",
              "/static/%2e%2e/%2e%2e/etc/passwd", "/static//etc/passwd", "/static/....//....//etc/passwd",
              "/static/..\\..\\core\\settings.py", "/static/%252e%252e/%252e%252e/etc/passwd",
              "/static/chat.js/../../agent_routes.py", "/static/%00", "/static/chat.js%00.txt", "/static/./chat.js",
              "/static/%2e/chat.js", "/static/../../../../../../etc/passwd", "/static/..%5c..%5cgateway.py",
              "/static/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd", "/static/../static/../gateway.py",
              "/static/" + "a/" * 2000 + "x", "/static/.", "/static/..", "/static/~", "/static/%ff%fe")
TELEGRAM_USERS = tuple(range(4_200_001, 4_200_009))


@dataclass(frozen=True)
class FuzzContext:
    """What the generator may use to get past the first checks: valid conversations, an agent's session, a real
    ticket, the webhook's secret and a tiny valid recording."""

    origin: str  # the gateway's own origin, http://127.0.0.1:<port>
    conversations: tuple[tuple[str, str], ...]  # (sender, token) pairs the gateway issued
    agent_session: str = ""  # the govbot_agent cookie of a logged-in agent ("" for none)
    agent_username: str = ""
    tickets: tuple[str, ...] = ()  # ticket numbers that exist
    telegram_secret: str = ""
    audio: bytes = b""  # a short valid recording (WAV)


@dataclass(frozen=True)
class FuzzRequest:
    """One generated request. `raw` requests are sent as these exact bytes over a socket (`target`/`headers`/`body`
    then only describe them); `stream` requests read the answer's head and a moment of its body, then close."""

    endpoint: str  # what the counts are grouped by, e.g. "POST /api/chat"
    method: str
    target: str  # path and query
    headers: tuple[Header, ...] = ()
    body: bytes = b""
    mutation: str = "valid"
    raw: bytes = b""
    stream: bool = False
    reaches_rasa: bool = False  # a valid message the bot answers (needs Rasa)
    may_close: bool = False  # the server may rightly close the connection before or instead of answering
    traversal: bool = False  # a 200 must be a file of the static folder

    @property
    def path_is_webhook(self) -> bool:
        """Telegram's webhook: answered at once, the update handled afterwards."""
        return self.target.startswith("/telegram/")

    def describe(self, limit: int = 300) -> str:
        """The request, shortened, for a failure report."""
        if self.raw:
            return f"[{self.mutation}] raw {self.raw[:limit]!r}"
        headers = ", ".join(f"{name.decode('latin-1')}: {value[:80].decode('latin-1')!r}"
                            for name, value in self.headers)
        return f"[{self.mutation}] {self.method} {self.target[:limit]} {{{headers}}} body={self.body[:limit]!r}"


@dataclass
class FuzzResult:
    """What one request got: a status (None without an answer) and how it ended."""

    request: FuzzRequest
    status: Optional[int]
    outcome: str  # "answered", "closed" (no answer, allowed), "timeout", "error: <type>"
    seconds: float
    code: str = ""  # the error envelope's code, when there is one
    body: bytes = b""


def status_class(result: FuzzResult) -> str:
    """The column a result is counted in: 2xx, 3xx, 4xx, 429, 5xx, closed, timeout or error."""
    if result.status is None:
        return "closed" if result.outcome == "closed" else result.outcome.split(":")[0]
    if result.status == 429:
        return "429"
    return f"{result.status // 100}xx"


def is_server_error(result: FuzzResult) -> bool:
    """A status of 500 or more that is not a documented answer (ALLOWED_SERVER_ERRORS)."""
    return result.status is not None and result.status >= 500 and \
        (result.status, result.code) not in ALLOWED_SERVER_ERRORS


def static_contents() -> set[bytes]:
    """The bytes of every file the static folder serves (what a traversal may legitimately get)."""
    return {path.read_bytes() for path in STATIC_DIR.iterdir() if path.is_file()}


@dataclass
class FuzzReport:
    """The counts of a fuzz run and everything that went wrong."""

    seconds: float = 0.0
    not_sent: int = 0  # left when the time budget ran out
    by_endpoint: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    by_status: Counter[str] = field(default_factory=Counter)
    seconds_by_endpoint: dict[str, float] = field(default_factory=lambda: defaultdict(float))  # summed times
    by_code: Counter[str] = field(default_factory=Counter)  # (status code) of refusals, e.g. "429 rate_limited"
    rasa: Counter[str] = field(default_factory=Counter)  # the statuses of the requests meant to reach Rasa
    server_errors: list[FuzzResult] = field(default_factory=list)
    allowed_server_errors: int = 0
    timeouts: list[FuzzResult] = field(default_factory=list)
    errors: list[FuzzResult] = field(default_factory=list)  # transport failures where an answer was due
    leaks: list[FuzzResult] = field(default_factory=list)  # traversals answered with something not in /static
    slowest: float = 0.0
    _static: set[bytes] = field(default_factory=static_contents, repr=False)

    @property
    def sent(self) -> int:
        return sum(self.by_status.values())

    def add(self, result: FuzzResult) -> None:
        """Count one result and keep it if it is a failure."""
        column = status_class(result)
        self.by_endpoint[result.request.endpoint][column] += 1
        self.seconds_by_endpoint[result.request.endpoint] += result.seconds
        self.by_status[str(result.status) if result.status is not None else column] += 1
        if result.code and result.status is not None and result.status >= 400:
            self.by_code[f"{result.status} {result.code}"] += 1
        if result.request.reaches_rasa:
            self.rasa[str(result.status) if result.status is not None else column] += 1
        self.slowest = max(self.slowest, result.seconds)
        if is_server_error(result):
            self.server_errors.append(result)
        elif result.status is not None and result.status >= 500:
            self.allowed_server_errors += 1
        if result.outcome == "timeout":
            self.timeouts.append(result)
        elif result.outcome.startswith("error"):
            self.errors.append(result)
        if result.request.traversal and result.status == 200 and result.body not in self._static:
            self._static = static_contents()  # a static file may have been edited since
            if result.body not in self._static:
                self.leaks.append(result)

    def failures(self) -> list[str]:
        """One line per failure (a 5xx, a timeout, a transport error where an answer was due, a leak)."""
        lines = []
        for label, results in (("5xx", self.server_errors), ("timeout", self.timeouts), ("error", self.errors),
                               ("leak", self.leaks)):
            for result in results:
                lines.append(f"{label} {result.status} {result.outcome} {result.seconds:.2f}s "
                             f"{result.body[:200]!r} <- {result.request.describe()}")
        return lines

    def table(self) -> str:
        """The counts per endpoint and per status class, the statuses and the refusal codes, as text."""
        columns = ["2xx", "3xx", "4xx", "429", "5xx", "closed", "timeout", "error"]
        width = max([len(name) for name in self.by_endpoint] + [8])
        lines = [f"{'endpoint':<{width}} {'total':>6} " + " ".join(f"{c:>7}" for c in columns) + "  mean ms"]
        totals: Counter[str] = Counter()
        for endpoint in sorted(self.by_endpoint):
            counts = self.by_endpoint[endpoint]
            totals.update(counts)
            mean = 1000 * self.seconds_by_endpoint[endpoint] / max(sum(counts.values()), 1)
            lines.append(f"{endpoint:<{width}} {sum(counts.values()):>6} " +
                         " ".join(f"{counts.get(c, 0):>7}" for c in columns) + f" {mean:>8.0f}")
        lines.append(f"{'all':<{width}} {sum(totals.values()):>6} " + " ".join(f"{totals.get(c, 0):>7}"
                                                                                for c in columns))
        lines.append("statuses: " + ", ".join(f"{s}: {n}" for s, n in sorted(self.by_status.items())))
        lines.append("refusals: " + ", ".join(f"{c}: {n}" for c, n in self.by_code.most_common()))
        lines.append("meant for Rasa: " + ", ".join(f"{s}: {n}" for s, n in sorted(self.rasa.items())))
        lines.append(f"sent {self.sent} in {self.seconds:.1f} s ({self.sent / max(self.seconds, 1e-9):.0f}/s), "
                     f"not sent {self.not_sent}, slowest {self.slowest:.2f} s, 5xx {len(self.server_errors)} "
                     f"(+{self.allowed_server_errors} documented 501), timeouts {len(self.timeouts)}, "
                     f"errors {len(self.errors)}, leaks {len(self.leaks)}")
        return "\n".join(lines)


# --- values ------------------------------------------------------------------------------------------------------

def tiny_wav(seconds: float = 0.4, rate: int = 16000) -> bytes:
    """A short mono WAV of a quiet tone: valid audio with no words in it."""
    frames = b"".join(struct.pack("<h", int(800 * ((i // 20) % 2 * 2 - 1))) for i in range(int(seconds * rate)))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return buffer.getvalue()


PRINTABLE_RANGES = ((0x20, 0x7e), (0x4e00, 0x9fff), (0x0600, 0x06ff), (0x0300, 0x036f), (0x1f300, 0x1faff),
                    (0x200b, 0x200f), (0x2028, 0x202e), (0xfe00, 0xfe0f), (0xff01, 0xff5e), (0x10000, 0x1007f),
                    (0xe000, 0xf8ff), (0xfff0, 0xfffd), (0x00a0, 0x00ff), (0x0660, 0x0669), (0x0966, 0x096f))


def unicode_text(rng: random.Random, length: int, controls: bool = True) -> str:
    """Text from many scripts and odd corners of Unicode (no lone surrogates: they cannot be UTF-8); with
    `controls`, C1 control characters too (which the API refuses)."""
    ranges = list(PRINTABLE_RANGES) + ([(0x0080, 0x009f)] if controls else [])
    out = []
    for _ in range(length):
        low, high = rng.choice(ranges)
        out.append(chr(rng.randint(low, high)))
    return "".join(out)


def junk_text(rng: random.Random) -> str:
    """A string an attacker might send in a text field."""
    pick = rng.randrange(12)
    if pick == 0:
        return rng.choice(["", " ", "\t\n", "\u3000", "\u200b"])
    if pick == 1:
        return "".join(chr(rng.randrange(0, 32)) for _ in range(rng.randint(1, 20)))  # control characters
    if pick == 2:
        return "a\x00b" if rng.random() < 0.5 else "\x7f\x85\x9b"
    if pick == 3:
        return unicode_text(rng, rng.randint(1, 60))
    if pick == 4:
        return rng.choice("x字😀") * rng.choice([2001, 4000, 20000])  # too long
    if pick == 5:
        return rng.choice(INJECTIONS)
    if pick == 6:
        return rng.choice(PAYLOADS)
    if pick == 7:
        return str(rng.choice([0, -1, 2**63, 10**30]))
    if pick == 8:
        return "1" * rng.choice([18, 400, 4000])  # the 4,000 digits of the issue
    if pick == 9:
        return rng.choice(PERSONAL_TEXTS)
    if pick == 10:
        return rng.choice(QUESTIONS) + unicode_text(rng, 3)
    return "".join(rng.choice("abc 字\\\"'{}[]<>&%$#") for _ in range(rng.randint(1, 80)))


def junk_value(rng: random.Random, depth: int = 0) -> object:
    """A JSON value of any type."""
    pick = rng.randrange(9 if depth < 3 else 6)
    if pick == 0:
        return None
    if pick == 1:
        return rng.choice([True, False])
    if pick == 2:
        return rng.choice([0, -1, 1, 2**31, 2**63, -(2**64), 10**40])
    if pick == 3:
        return rng.choice([0.5, -0.0, 1e308, 1e-308, 3.14])
    if pick in (4, 5):
        return junk_text(rng)
    if pick == 6:
        return [junk_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if pick == 7:
        return {junk_text(rng)[:20]: junk_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    return {"sender": junk_value(rng, depth + 1), "text": junk_value(rng, depth + 1)}


def json_bytes(value: object, rng: random.Random) -> bytes:
    """JSON of a value, sometimes with every non-ASCII character escaped; lone surrogates kept as they are (which
    makes the bytes invalid UTF-8 unless they were escaped)."""
    return json.dumps(value, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")


def _with_member(base: dict[str, object], key: str, member: str, rng: random.Random) -> bytes:
    """The object `base` without `key`, plus the JSON text `member` ("name": value) written as it is."""
    text = json.dumps({k: v for k, v in base.items() if k != key}, ensure_ascii=rng.random() < 0.5)
    return (text[:-1] + (", " if len(text) > 2 else "") + member + "}").encode("utf-8", "surrogatepass")


def mutated_json(rng: random.Random, base: dict[str, object]) -> tuple[bytes, str]:
    """The JSON body `base` after one mutation (or none); the bytes and the mutation's name."""
    pick = rng.randrange(20)
    keys = list(base)
    if pick <= 2 or not keys:
        return json_bytes(base, rng), "valid"
    key = rng.choice(keys)
    if pick == 3:
        return json_bytes({k: v for k, v in base.items() if k != key}, rng), "missing field"
    if pick == 4:
        extra = rng.choice(["extra", "__proto__", "constructor", "", "sender "])
        return json_bytes({**base, extra: junk_value(rng)}, rng), "extra field"
    if pick == 5:
        return json_bytes({**base, key: junk_value(rng)}, rng), "wrong type"
    if pick == 6:
        return json_bytes(rng.choice([[], [base], "text", 1, None, True]), rng), "not an object"
    if pick == 7:
        whole = json_bytes(base, rng)
        return whole[: rng.randint(0, max(len(whole) - 1, 0))], "truncated json"
    if pick == 8:
        broken = rng.choice(["{'sender': 'x'}", "{sender: 1}", "{\"a\":1,}", "{\"a\" 1}", "[1,2", "nul", "\"",
                             "{\"a\":01}", "{\"a\":.5}", "{\"a\":+1}", "\ufeff{}", "{} {}", "{\"a\":1}garbage"])
        return broken.encode("utf-8"), "invalid json"
    if pick == 9:
        depth = rng.choice([100, 1000, 5000, 20000])
        nested = (b"[" * depth + b"]" * depth) if rng.random() < 0.5 else (b'{"a":' * depth + b"1" + b"}" * depth)
        return nested, f"nested {depth}"
    if pick == 10:
        number = rng.choice(["9" * 5000, "1e999", "-1e999", "NaN", "Infinity", "-Infinity", "1" + "0" * 400,
                             "0." + "0" * 5000 + "1", "123456789012345678901234567890"])
        return _with_member(base, key, f'"{key}": {number}', rng), "huge number"
    if pick == 11:
        surrogate = rng.choice(["\\ud800", "\\udfff", "\\ud83d", "x\\udc00y", "\\ud800\\ud800"])
        member = f'"{key}": "{surrogate}"' if rng.random() < 0.7 else f'"{surrogate}": 1'
        return _with_member(base, key, member, rng), "lone surrogate"
    if pick == 12:
        control = rng.choice(["\\u0000", "a\\u0000b", "\\u001b[31m", "\\u0007", "\\u007f", "\\u0085",
                              "\\u2028"])
        return _with_member(base, key, f'"{key}": "{control}"', rng), "control char"
    if pick == 13:
        return rng.choice([b"\xff\xfe{\x00}\x00", b'{"text": "\xff\xfe"}', b"\xc0\xaf", b"\xed\xa0\x80",
                           json.dumps(base).encode("utf-16"), json.dumps(base).encode("utf-32")]), "not utf-8"
    if pick == 14:
        return b"", "empty body"
    if pick == 15:
        return json_bytes({**base, key: "x" * rng.choice([70_000, 66_000])}, rng), "over the body limit"
    if pick == 16:
        text = json.dumps(base)
        return (text[:-1] + f', "{key}": {json.dumps(junk_value(rng))}}}').encode(), "duplicate key"
    if pick == 17:
        return json_bytes({k: ("x" * 3000 if isinstance(v, str) else v) for k, v in base.items()}, rng), \
            "long strings"
    if pick == 18:
        return json_bytes({k: unicode_text(rng, 40) if isinstance(v, str) else v for k, v in base.items()}, rng), \
            "unicode"
    return json_bytes({k: junk_value(rng) for k in keys}, rng), "all junk"


CONTENT_TYPES = ("application/json", "application/json", "application/json", None, "text/plain",
                 "application/x-www-form-urlencoded", "multipart/form-data", "application/json; charset=latin-1",
                 "application/json; charset=utf-16", "application/json;;;", "application/xml", "*/*", "json",
                 "application/json; boundary=\xff", "APPLICATION/JSON", "application/json " + "x" * 2000)


def content_type(rng: random.Random) -> list[Header]:
    """A Content-Type header, mostly JSON, sometimes wrong or missing."""
    chosen = rng.choice(CONTENT_TYPES)
    return [] if chosen is None else [(b"content-type", chosen.encode("latin-1"))]


def bearer(token: str) -> list[Header]:
    return [(b"authorization", f"Bearer {token}".encode())]


def auth_headers(rng: random.Random, own: str, other: str) -> tuple[list[Header], str]:
    """Credentials for a conversation request: the right token, none, another's, or junk; and their name."""
    pick = rng.randrange(16)
    if pick <= 5:
        return bearer(own), "own token"
    if pick == 6:
        return [], "no token"
    if pick == 7:
        return bearer(other), "another's token"
    if pick == 8:
        return [(b"cookie", f"govbot_conversation={own}".encode())], "own cookie"
    if pick == 9:
        return [(b"cookie", rng.choice([b"govbot_conversation=", b"govbot_conversation=a.b",
                                        b"govbot_conversation=\xff\xfe", b"govbot_conversation=" + b"x" * 8000,
                                        b"govbot_conversation=\"" + own.encode() + b"\"", b";;;=;",
                                        b"govbot_conversation=" + other.encode()]))], "junk cookie"
    if pick == 10:
        return bearer(own[:-1] + ("A" if own[-1] != "A" else "B")), "damaged token"
    if pick == 11:
        return bearer(rng.choice(["", "a.b", ".", own + "x", "x" * 5000, "web:" + own, own.replace(".", "")])), \
            "forged token"
    if pick == 12:
        return [(b"authorization", rng.choice([b"Basic " + own.encode(), b"Bearer", b"bearer  " + own.encode(),
                                               b"Token " + own.encode(), b"Bearer \xff\xfe", b"  ", b"Bearer " +
                                               own.encode() + b" extra", b"Digest x"]))], "odd authorization"
    if pick == 13:
        return bearer(own) + [(b"cookie", f"govbot_conversation={other}".encode())], "header and another cookie"
    if pick == 14:
        return bearer(other) + [(b"cookie", f"govbot_conversation={own}".encode())], "another header, own cookie"
    return bearer(own) + bearer(other), "two authorizations"


def sender_for(rng: random.Random, own: str, other: str) -> tuple[object, str]:
    """A `sender` value: the own one mostly, else another conversation, another channel's user or junk."""
    pick = rng.randrange(12)
    if pick <= 6:
        return own, "own sender"
    if pick == 7:
        return other, "another's sender"
    if pick == 8:
        return rng.choice(["telegram:123456789", "telegram:-100200300", "voice:1", "WEB:" + own[4:], "web-legacy",
                           "web:"]), "another channel"
    if pick == 9:
        return rng.choice(["", "x" * 65, "web:" + "x" * 61, "../etc", "web:a b", "web:字", "web:\u0000"]), \
            "invalid sender"
    return junk_value(rng), "junk sender"


ODD_HEADERS: tuple[Header, ...] = (
    (b"x-forwarded-for", b"1.2.3.4, 5.6.7.8"), (b"x-real-ip", b"::1"), (b"forwarded", b"for=unknown;proto=https"),
    (b"last-event-id", b"\xd9\xa3"), (b"last-event-id", b"9" * 200), (b"accept", b"*/*;q=abc, text/\xff"),
    (b"accept-encoding", b"gzip;q=-1, br, zstd, *;q=2"), (b"accept-language", b"zh-CN;q=0.9;;" + b"x" * 500),
    (b"range", b"bytes=0-0"), (b"range", b"bytes=5-2"), (b"range", b"bytes=-1"), (b"range", b"bytes=0-1,2-3,4-5"),
    (b"range", b"bytes=999999999-"), (b"range", b"bytes=abc"), (b"range", b"items=0-1"),
    (b"range", b"bytes=" + b"0-0," * 300), (b"if-modified-since", b"yesterday"), (b"if-none-match", b"\"x\", *"),
    (b"if-modified-since", b"Mon, 99 Foo 99999 99:99:99 GMT"), (b"if-range", b"\"etag\""),
    (b"origin", b"null"), (b"origin", b"https://evil.example"), (b"sec-fetch-site", b"cross-site"),
    (b"expect", b"100-continue"), (b"content-encoding", b"gzip"), (b"x-govbot-background", b"1"),
    (b"x-telegram-bot-api-secret-token", b"\xff" * 10), (b"user-agent", b"\x80" * 100),
    (b"cookie", b"a=b; " * 400), (b"host", b"evil.example"), (b"host", b"127.0.0.1:1"), (b"te", b"trailers"),
    (b"max-forwards", b"-1"), (b"x-http-method-override", b"DELETE"), (b"authorization", b"Bearer null"),
)


def with_odd_headers(rng: random.Random, headers: list[Header]) -> tuple[list[Header], bool]:
    """Sometimes add one to three odd headers; whether any was added."""
    if rng.random() >= 0.2:
        return headers, False
    return headers + rng.sample(ODD_HEADERS, rng.randint(1, 3)), True


# --- the endpoints -----------------------------------------------------------------------------------------------

Maker = Callable[[random.Random, FuzzContext], FuzzRequest]
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "PROPFIND", "FOO")


def _two(rng: random.Random, context: FuzzContext) -> tuple[tuple[str, str], tuple[str, str]]:
    own = rng.choice(context.conversations)
    others = [c for c in context.conversations if c != own] or [own]
    return own, rng.choice(others)


def page(rng: random.Random, context: FuzzContext) -> FuzzRequest:
    """GET /, /agent, /health, /static/* with odd queries, methods and headers."""
    path = rng.choice(["/", "/agent", "/health", "/favicon.ico", "/index.html", "/agent/", "/static/",
                       "/openapi.json", "/docs", "/widget.js", "/widget.js"] +
                      [f"/static/{name}" for name in STATIC_FILES] * 2)
    method, mutation = "GET", "valid"
    if rng.random() < 0.15:
        method, mutation = rng.choice(METHODS), "method"
    if rng.random() < 0.2:
        path += "?" + rng.choice(["a=1", "a=%ff", "%00=%00", "x=" + "y" * 5000, "a=1&a=2&a[]=3", "sender=web:x",
                                  "=&&==", "token=" + "t" * 100, "q=" + quote("字😀\ud800", errors="surrogatepass")])
        mutation += " query"
    headers, odd = with_odd_headers(rng, [])
    return FuzzRequest(label(method, ('GET', 'HEAD'), _page_label(path)), method, path,
                       tuple(headers), mutation=mutation + (" odd headers" if odd else ""))


def label(method: str, expected: tuple[str, ...], path: str) -> str:
    """The endpoint a request is counted under: its method and path, or "wrong method" for all the others."""
    return f"{'GET' if method == 'HEAD' else method} {path}" if method in expected else "wrong method (any path)"


def _page_label(path: str) -> str:
    bare = path.split("?", 1)[0]
    if bare.startswith("/static/"):
        return "/static/*"
    return bare if bare in ("/", "/agent", "/health", "/widget.js") else "/ (other pages: favicon, docs, openapi …)"


def traversal(rng: random.Random, context: FuzzContext) -> FuzzRequest:
    """A path escaping /static, sent byte for byte."""
    path = rng.choice(TRAVERSALS)
    method = rng.choice(["GET", "GET", "HEAD"])
    raw = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode("latin-1")
    return FuzzRequest("GET /static/* (traversal)", method, path, raw=raw, mutation="traversal",
                       traversal=method == "GET")


def new_conversation(rng: random.Random, context: FuzzContext) -> FuzzRequest:
    """POST /api/conversations, with no body, {} or junk."""
    pick = rng.randrange(8)
    method = "POST" if pick < 7 else rng.choice(METHODS)
    body, mutation = (b"", "no body") if pick < 3 else mutated_json(rng, {})
    if pick == 3:
        body, mutation = json_bytes(junk_value(rng), rng), "junk body"
    headers, odd = with_odd_headers(rng, content_type(rng) if body else [])
    return FuzzRequest(label(method, ('POST',), '/api/conversations'), method, "/api/conversations",
                       tuple(headers), body, mutation + (" odd headers" if odd else ""), may_close=len(body) > 65536)


def chat(rng: random.Random, context: FuzzContext) -> FuzzRequest:
    """POST /api/chat with every kind of wrong credentials, sender, body and content type."""
    (own_sender, own_token), (other_sender, other_token) = _two(rng, context)
    auth, auth_name = auth_headers(rng, own_token, other_token)
    sender, sender_name = sender_for(rng, own_sender, other_sender)
    body, body_name = mutated_json(rng, {"sender": sender, "text": junk_text(rng)})
    method = "POST" if rng.random() < 0.93 else rng.choice(METHODS)
    headers, odd = with_odd_headers(rng, auth + content_type(rng))
    return FuzzRequest(label(method, ('POST',), '/api/chat'), method, "/api/chat", tuple(headers),
                       body, f"{auth_name}, {sender_name}, {body_name}" + (", odd headers" if odd else ""),
                       may_close=len(body) > 65536)


def chat_to_rasa(rng: random.Random, context: FuzzContext) -> FuzzRequest:
    """A valid chat message the bot answers: questions, payloads, personal numbers, odd but valid text."""
    sender, token = rng.choice(context.conversations)
    pick = rng.randrange(10)
    if pick <= 4:
        text = rng.choice(QUESTIONS)
    elif pick == 5:
        text = rng.choice(PERSONAL_TEXTS)
    elif pick == 6:
        text = rng.choice(PAYLOADS)
    elif pick == 7:
        text = unicode_text(rng, rng.randint(1, 200), controls=False).strip() or "字"
    elif pick == 8:
        text = rng.choice(INJECTIONS)
    else:
        text = (rng.choice(QUESTIONS) + " ") * rng.randint(20, 150)
        text = text[:2000].strip()
    body = json.dumps({"sender": sender, "text": text}, ensure_ascii=rng.random() < 0.5).encode()
    return FuzzRequest("POST /api/chat (to Rasa)", "POST", "/api/chat",
                       tuple(bearer(token) + [(b"content-type", b"application/json")]), body, "valid message",
                       reaches_rasa=True)


def tts(rng: random.Random, context: FuzzContext) -> FuzzRequest:
    """POST /api/tts: mostly refused (language, length, characters, types); sometimes a short text it speaks."""
    if rng.random() < 0.12:
        text = rng.choice(["你好", "hello", "护照怎么办理", "call 12345", "1. Bring your ID card."] +
                          [unicode_text(rng, 8)])
        body = json.dumps({"text": text, "language": rng.choice(["zh", "en"]), "slow": rng.random() < 0.3}).encode()
        return FuzzRequest("POST /api/tts", "POST", "/api/tts", ((b"content-type", b"application/json"),), body,
                           "valid speech")
    base = {"text": rng.choice(["1" * 4000, "x" * 1501, junk_text(rng)]), "language": rng.choice(
        ["zh", "en", "xx", "", "ZH", "zh-CN", "en\u0000", 5]), "slow": rng.choice([False, "yes", 2, None])}
    body, mutation = mutated_json(rng, base)
    if body.startswith(b"{") and b'"text": "1111' not in body and rng.random() < 0.5:
        body, mutation = json.dumps({"text": "1" * 4000, "language": "en"}).encode(), "4,000 digits"
    method = "POST" if rng.random() < 0.95 else rng.choice(METHODS)
    headers, odd = with_odd_headers(rng, content_type(rng))
    return FuzzRequest(label(method, ('POST',), '/api/tts'), method, "/api/tts", tuple(headers),
                       body, mutation + (", odd headers" if odd else ""), may_close=len(body) > 65536)


def multipart(parts: Sequence[tuple[str, Optional[str], Optional[str], bytes]], boundary: str) -> bytes:
    """A multipart/form-data body of (name, filename, content type, data) parts."""
    out = io.BytesIO()
    for name, filename, kind, data in parts:
        out.write(f"--{boundary}\r\n".encode())
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        out.write(f"Content-Disposition: {disposition}\r\n".encode("utf-8", "surrogatepass"))
        if kind is not None:
            out.write(f"Content-Type: {kind}\r\n".encode("latin-1", "replace"))
        out.write(b"\r\n" + data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue()


def junk_audio(rng: random.Random, context: FuzzContext) -> tuple[bytes, str]:
    pick = rng.randrange(10)
    if pick == 0 and context.audio:
        return context.audio[: rng.randint(1, len(context.audio) - 1)], "truncated audio"
    if pick == 1:
        return b"", "empty audio"
    if pick == 2:
        return b"RIFF\xff\xff\xff\x7fWAVEfmt " + rng.randbytes(64), "bad wav header"
    if pick == 3:
        return b"OggS\x00\x02" + rng.randbytes(200), "bad ogg"
    if pick == 4:
        return b"\x1aE\xdf\xa3" + rng.randbytes(300), "bad webm"
    if pick == 5:
        return b"ID3\x04\x00\x00\x00\x00\x00\x00" + rng.randbytes(100), "bad mp3"
    if pick == 6:
        return b"\x00" * rng.choice([1024, 65536, 300_000]), "zeros"
    if pick == 7:
        return b"<svg onload=alert(1)>", "not audio"
    return rng.randbytes(rng.randint(1, 4096)), "random bytes"


def voice(rng: random.Random, context: FuzzContext) -> FuzzRequest:
    """POST /api/voice: multipart forms with junk audio, wrong fields and credentials; rarely a valid recording."""
    (own_sender, own_token), (other_sender, other_token) = _two(rng, context)
    valid = rng.random() < 0.06 and bool(context.audio)
    auth, auth_name = (bearer(own_token), "own token") if valid else auth_headers(rng, own_token, other_token)
    audio, audio_name = (context.audio, "valid audio") if valid else junk_audio(rng, context)
    sender, sender_name = (own_sender, "own sender") if valid or rng.random() < 0.7 else \
        sender_for(rng, own_sender, other_sender)
    language = "en" if valid else rng.choice(["en", "en", "zh", "", "xx", "EN", "en\u00ff", "x" * 300])
    parts: list[tuple[str, Optional[str], Optional[str], bytes]] = [
        ("audio", rng.choice(["v.webm", "v.wav", "../../etc/passwd", "", "字.ogg", "x" * 500]), rng.choice(
            ["audio/webm", "audio/wav", "text/html", "application/octet-stream", None]), audio),
        ("sender", None, None, str(sender).encode("utf-8", "surrogatepass")),
        ("language", None, None, language.encode("utf-8"))]
    form_name = "form"
    if not valid:
        pick = rng.randrange(8)
        if pick == 0:
            del parts[rng.randrange(len(parts))]
            form_name = "missing part"
        elif pick == 1:
            parts.append(rng.choice(parts))
            form_name = "duplicate part"
        elif pick == 2:
            parts.append((rng.choice(["extra", "", "字", "a\"b"]), None, None, b"junk"))
            form_name = "extra part"
    boundary = "govbotfuzz" + str(rng.randrange(10**9))
    body = multipart(parts, boundary)
    kind = f"multipart/form-data; boundary={boundary}".encode()
    if not valid:
        pick = rng.randrange(10)
        if pick == 0:
            kind, form_name = b"multipart/form-data", form_name + ", no boundary"
        elif pick == 1:
            kind, form_name = b"multipart/form-data; boundary=other", form_name + ", wrong boundary"
        elif pick == 2:
            body, form_name = body[: rng.randint(0, len(body))], form_name + ", cut short"
        elif pick == 3:
            kind, form_name = rng.choice([b"application/json", b"text/plain", b"application/x-www-form-urlencoded"]), \
                form_name + ", not multipart"
        elif pick == 4:
            kind, form_name = b"multipart/form-data; boundary=" + b"b" * 300, form_name + ", long boundary"
    headers, odd = with_odd_headers(rng, auth + [(b"content-type", kind)])
    method = "POST" if rng.random() < 0.97 else rng.choice(METHODS)
    mutation = f"{auth_name}, {sender_name}, {audio_name}, {form_name}" + (", odd headers" if odd else "")
    return FuzzRequest(label(method, ('POST',), '/api/voice'), method, "/api/voice", tuple(headers),
                       body, mutation)


EVENT_AFTERS = ("0", "1", "-1", "abc", "", "١٢", "²", str(2**62), str(2**62 + 1), str(2**63), "9" * 5000, "1e3",
                "0x10", " 5", "5 ", "+5", "00000000000000000000000000001")


def events(rng: random.Random, context: FuzzContext) -> FuzzRequest:
    """GET /api/events: the own stream (read briefly), or refused for its token, sender, `after` or method."""
    (own_sender, own_token), (other_sender, other_token) = _two(rng, context)
    query: list[tuple[str, str]] = []
    headers: list[Header] = []
    pick = rng.randrange(10)
    if pick <= 3:
        query.append(("token", own_token))
        name = "query token"
    elif pick == 4:
        headers, name = bearer(own_token), "own token"
    else:
        headers, name = auth_headers(rng, own_token, other_token)
        if rng.random() < 0.3:
            query.append(("token", rng.choice([other_token, "", "x", own_token + "x", "a" * 3000])))
            name += ", odd query token"
    sender, sender_name = sender_for(rng, own_sender, other_sender) if rng.random() < 0.4 else (own_sender, "own")
    if rng.random() < 0.95:
        query.append(("sender", str(sender)))
    if rng.random() < 0.3:
        query.append(("after", rng.choice(EVENT_AFTERS)))
        name += ", after"
    if rng.random() < 0.3:
        headers.append((b"last-event-id", rng.choice([b"0", b"5", b"\xd9\xa3", b"-1", b"9" * 30, b"1.5", b"",
                                                      b"99999999999999999999", b" 7 ", b"\xef\xbc\x91"])))
        name += ", last-event-id"
    if rng.random() < 0.1:
        query.append((rng.choice(["sender", "after", "token"]), junk_text(rng)[:100]))
        name += ", repeated parameter"
    method = "GET" if rng.random() < 0.93 else rng.choice(METHODS)
    target = "/api/events?" + "&".join(f"{quote(k)}={quote(v, safe='', errors='surrogatepass')}" for k, v in query)
    headers, odd = with_odd_headers(rng, headers)
    return FuzzRequest(label(method, ('GET',), '/api/events'), method, target, tuple(headers),
                       mutation=f"{name}, {sender_name}" + (", odd headers" if odd else ""), stream=method == "GET")


def _agent_headers(rng: random.Random, context: FuzzContext, logged_in: bool) -> tuple[list[Header], str]:
    headers: list[Header] = []
    name = []
    if logged_in and context.agent_session:
        pick = rng.randrange(8)
        cookie = context.agent_session if pick < 6 else rng.choice(["", "x", context.agent_session[:-1] + "x", "\xff"])
        headers.append((b"cookie", b"govbot_agent=" + cookie.encode("latin-1")))
        name.append("session" if pick < 6 else "bad session")
    origin = rng.randrange(6)
    if origin <= 2:
        headers.append((b"origin", context.origin.encode()))
        name.append("own origin")
    elif origin == 3:
        headers.append((b"origin", rng.choice([b"https://evil.example", b"null", context.origin.encode() + b"/",
                                               b"http://127.0.0.1", b"\xff"])))
        name.append("foreign origin")
    elif origin == 4:
        headers.append((b"sec-fetch-site", rng.choice([b"same-origin", b"cross-site", b"same-site", b"none", b"x"])))
        name.append("sec-fetch-site")
    else:
        name.append("no origin")
    if rng.random() < 0.2:
        headers.append((b"x-govbot-background", b"1"))
    return headers, ", ".join(name)


def ticket_number(rng: random.Random, context: FuzzContext) -> str:
    if context.tickets and rng.random() < 0.4:
        return rng.choice(context.tickets)
    return rng.choice(["20200101-0001", "x", "-1", "0", "9" * 300, "字", "..", "%2e%2e", "%00", "20991231-9999",
                       "a%2Fb", "%ff", "'; --", "20261202-0001?x=1", " "])


def agent_login(rng: random.Random, context: FuzzContext) -> FuzzRequest:
    """POST /api/agent/login with junk credentials and bodies (never the right password)."""
    username = rng.choice([context.agent_username or "agent", "admin", "root", "", "x" * 65, "字", "a\u0000b",
                           junk_text(rng)])
    password = rng.choice(["12345678", "        ", "", "password", "x" * 201, "\ud800", junk_text(rng)])
    body, mutation = mutated_json(rng, {"username": username, "password": password})
    headers, origin = _agent_headers(rng, context, logged_in=False)
    headers, odd = with_odd_headers(rng, headers + content_type(rng))
    return FuzzRequest("POST /api/agent/login", "POST", "/api/agent/login", tuple(headers), body,
                       f"{origin}, {mutation}" + (", odd headers" if odd else ""), may_close=len(body) > 65536)


AGENT_GETS = ("/api/agent/me", "/api/agent/queue", "/api/agent/agents", "/api/agent/canned", "/api/agent/metrics",
              "/api/agent/tickets/{n}")
AGENT_POSTS = {"claim": None, "take_over": None, "release": None, "forward": "to", "reply": "text", "note": "text",
               "close": "resolution"}


def agent_read(rng: random.Random, context: FuzzContext) -> FuzzRequest:
    """GET requests of the console's API, with or without a session, with junk ticket numbers and queries."""
    path = rng.choice(AGENT_GETS).replace("{n}", quote(ticket_number(rng, context), safe="%"))
    if path == "/api/agent/metrics" and rng.random() < 0.7:
        path += "?days=" + quote(rng.choice(["7", "0", "367", "-1", "x", "9" * 5000, "1.5", ""]))
    headers, name = _agent_headers(rng, context, logged_in=rng.random() < 0.85)
    method = "GET" if rng.random() < 0.92 else rng.choice(METHODS)
    headers, odd = with_odd_headers(rng, headers)
    path_label = "/api/agent/tickets/*" if "/tickets/" in path else "/api/agent/* (me, queue, agents, canned, metrics)"
    return FuzzRequest(label(method, ('GET',), path_label), method, path, tuple(headers),
                       mutation=name + (", odd headers" if odd else ""))


def agent_write(rng: random.Random, context: FuzzContext) -> FuzzRequest:
    """POST ticket actions and log-out, with junk numbers and bodies, with and without Origin."""
    if rng.random() < 0.1:
        headers, name = _agent_headers(rng, context, logged_in=False)  # never the real session: it must live on
        headers.append((b"cookie", b"govbot_agent=" + rng.choice([b"", b"x", b"\xff", b"a" * 300])))
        return FuzzRequest("POST /api/agent/logout", "POST", "/api/agent/logout", tuple(headers), b"",
                           mutation=name)
    action = rng.choice(list(AGENT_POSTS))
    number = ticket_number(rng, context)
    field_name = AGENT_POSTS[action]
    body, mutation = (b"", "no body") if field_name is None and rng.random() < 0.6 else mutated_json(
        rng, {field_name: rng.choice([context.agent_username, "nobody", junk_text(rng)]) if field_name == "to"
              else junk_text(rng)} if field_name else {})
    headers, name = _agent_headers(rng, context, logged_in=rng.random() < 0.85)
    headers, odd = with_odd_headers(rng, headers + (content_type(rng) if body else []))
    return FuzzRequest("POST /api/agent/tickets/*/<action>", "POST",
                       f"/api/agent/tickets/{quote(number, safe='%')}/{action}", tuple(headers), body,
                       f"{name}, {mutation}" + (", odd headers" if odd else ""), may_close=len(body) > 65536)


def agent_events(rng: random.Random, context: FuzzContext) -> FuzzRequest:
    """GET /api/agent/events with or without a session (a stream, read briefly)."""
    headers, name = _agent_headers(rng, context, logged_in=rng.random() < 0.7)
    if rng.random() < 0.3:
        headers.append((b"last-event-id", rng.choice([b"1", b"\xd9\xa3", b"9" * 40])))
    return FuzzRequest("GET /api/agent/events", "GET", "/api/agent/events", tuple(headers), mutation=name,
                       stream=True)


def telegram_update(rng: random.Random, user: int, text: str) -> dict[str, object]:
    chat = {"id": user, "type": "private", "first_name": "Fuzz"}
    sender = {"id": user, "is_bot": False, "first_name": "Fuzz", "language_code": rng.choice(["zh-hans", "en", "xx"])}
    message = {"message_id": rng.randrange(1, 10**6), "date": 1_700_000_000 + rng.randrange(10**7), "chat": chat,
               "from": sender, "text": text}
    return {"update_id": rng.randrange(1, 2**31), "message": message}


def telegram_body(rng: random.Random) -> tuple[bytes, str, bool]:
    """A webhook body: a plausible update (a message the bot answers, a command, a button, an unknown kind) or
    junk; whether it reaches Rasa."""
    user = rng.choice(TELEGRAM_USERS)
    pick = rng.randrange(12)
    if pick <= 1:
        return json.dumps(telegram_update(rng, user, rng.choice(QUESTIONS + PERSONAL_TEXTS))).encode(), \
            "message", True
    if pick == 2:
        update = telegram_update(rng, user, rng.choice(["/start", "/help", "/large", "/voice", "/lang", "/x"]))
        return json.dumps(update).encode(), "command", True
    if pick == 3:
        update = {"update_id": rng.randrange(1, 2**31), "callback_query": {
            "id": str(rng.randrange(10**9)), "chat_instance": "1", "data": rng.choice(PAYLOADS + ("/rate_good", "")),
            "from": {"id": user, "is_bot": False, "first_name": "Fuzz"},
            "message": {"message_id": 1, "date": 0, "chat": {"id": user, "type": "private"}}}}
        return json.dumps(update).encode(), "callback", True
    if pick == 4:
        update = telegram_update(rng, user, "x")
        message = update["message"]
        assert isinstance(message, dict)
        del message["text"]
        message[rng.choice(["sticker", "photo", "voice", "location", "contact"])] = junk_value(rng)
        return json.dumps(update).encode(), "other content", False
    if pick == 5:
        update = telegram_update(rng, rng.choice([-1, 0, 2**63, -(10**12)]), junk_text(rng))
        return json.dumps(update).encode(), "odd user", True
    if pick == 6:
        update = {"update_id": rng.randrange(1, 2**31), rng.choice(["edited_message", "channel_post", "poll",
                                                                    "my_chat_member", "unknown_kind"]): junk_value(rng)}
        return json.dumps(update).encode(), "unknown update", False
    body, mutation = mutated_json(rng, telegram_update(rng, user, junk_text(rng)))
    return body, "junk " + mutation, mutation in ("valid", "extra field", "duplicate key", "long strings", "unicode")


def telegram(rng: random.Random, context: FuzzContext) -> FuzzRequest:
    """POST /telegram/webhook with and without the secret header; plausible and junk updates."""
    body, kind, answered = telegram_body(rng)
    pick = rng.randrange(10)
    if pick <= 3 and context.telegram_secret:
        secret: list[Header] = [(b"x-telegram-bot-api-secret-token", context.telegram_secret.encode())]
        name = "secret"
    elif pick <= 5:
        secret, name = [], "no secret"
        answered = False
    else:
        secret = [(b"x-telegram-bot-api-secret-token", rng.choice(
            [b"wrong", b"", context.telegram_secret.encode()[:-1], b"\xff\xfe", b"x" * 300,
             context.telegram_secret.encode() + b" "]))]
        name, answered = "wrong secret", False
    if answered and rng.random() < 0.6:  # most plausible updates go unsigned or are junk: keep Rasa's share small
        secret, name, answered = [], "no secret", False
    method = "POST" if rng.random() < 0.95 else rng.choice(METHODS)
    headers, odd = with_odd_headers(rng, secret + content_type(rng))
    return FuzzRequest(label(method, ('POST',), '/telegram/webhook'), method, "/telegram/webhook",
                       tuple(headers), body, f"{name}, {kind}" + (", odd headers" if odd else ""),
                       reaches_rasa=answered and method == "POST", may_close=len(body) > 65536)


def unknown(rng: random.Random, context: FuzzContext) -> FuzzRequest:
    """Paths nothing serves and methods nothing accepts."""
    path = rng.choice(["/api", "/api/", "/api/chat/", "/api/chat/x", "/webhooks/rest/webhook", "/model", "/status",
                       "/conversations/web:x/tracker", "/actions", "/webhook", "/admin", "/.env", "/.git/config",
                       "/api/agent", "/api/agent/tickets", "/telegram", "/%ff", "/" + "a" * 3000, "/字",
                       "/api/CHAT", "/API/chat", "//api/chat", "/api/./chat"])
    method = rng.choice(METHODS)
    headers, odd = with_odd_headers(rng, [])
    return FuzzRequest("unknown path", method, path, tuple(headers), mutation="unknown" + (", odd" if odd else ""))


def _raw(head: str, body: bytes = b"") -> bytes:
    return head.encode("utf-8") + body


def protocol(rng: random.Random, context: FuzzContext) -> FuzzRequest:
    """Malformed HTTP: Content-Length lies, bad chunking, broken request lines and headers, partial heads."""
    sender, token = rng.choice(context.conversations)
    body = json.dumps({"sender": sender, "text": "你好"}).encode()
    auth = f"Authorization: Bearer {token}\r\n"
    common = "Host: 127.0.0.1\r\nContent-Type: application/json\r\n" + auth
    cases: list[tuple[str, bytes]] = [
        ("length longer than the body", _raw(f"POST /api/chat HTTP/1.1\r\n{common}Content-Length: "
                                             f"{len(body) + rng.randint(1, 500)}\r\n\r\n", body)),
        ("length shorter than the body", _raw(f"POST /api/chat HTTP/1.1\r\n{common}Connection: close\r\n"
                                              f"Content-Length: {rng.randint(0, len(body) - 1)}\r\n\r\n", body)),
        ("length over the limit", _raw(f"POST /api/chat HTTP/1.1\r\n{common}Connection: close\r\n"
                                       f"Content-Length: {rng.choice([70000, 10**12, 2**64])}\r\n\r\n", body)),
        ("length and chunked", _raw(f"POST /api/chat HTTP/1.1\r\n{common}Connection: close\r\nContent-Length: 5\r\n"
                                    "Transfer-Encoding: chunked\r\n\r\n", b"0\r\n\r\n")),
        ("two lengths", _raw(f"POST /api/chat HTTP/1.1\r\n{common}Connection: close\r\nContent-Length: {len(body)}\r\n"
                             f"Content-Length: {len(body) + 1}\r\n\r\n", body)),
        ("odd length", _raw(f"POST /api/chat HTTP/1.1\r\n{common}Connection: close\r\nContent-Length: "
                            f"{rng.choice(['+5', '-1', '0x10', '1e2', ' ', '٣'])}\r\n\r\n", body)),
        ("bad chunk size", _raw(f"POST /api/chat HTTP/1.1\r\n{common}Connection: close\r\n"
                                "Transfer-Encoding: chunked\r\n\r\n", b"zz\r\n" + body + b"\r\n0\r\n\r\n")),
        ("chunk extension", _raw(f"POST /api/chat HTTP/1.1\r\n{common}Connection: close\r\n"
                                 "Transfer-Encoding: chunked\r\n\r\n",
                                 b"%x;ext=\"\xff\"\r\n" % len(body) + body + b"\r\n0\r\n\r\n")),
        ("unfinished chunks", _raw(f"POST /api/chat HTTP/1.1\r\n{common}Transfer-Encoding: chunked\r\n\r\n",
                                   b"%x\r\n" % len(body) + body + b"\r\n")),
        ("gzip transfer", _raw(f"POST /api/chat HTTP/1.1\r\n{common}Connection: close\r\n"
                               "Transfer-Encoding: gzip, chunked\r\n\r\n", b"0\r\n\r\n")),
        ("http/1.0 without host", b"GET /health HTTP/1.0\r\n\r\n"),
        ("http/2 line", b"GET / HTTP/2.0\r\nHost: x\r\n\r\n"),
        ("http/0.9", b"GET /\r\n\r\n"),
        ("nul in the target", b"GET /\x00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        ("absolute target", b"GET http://evil.example/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        ("asterisk target", b"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        ("header without colon", b"GET / HTTP/1.1\r\nHost: x\r\nbroken header\r\nConnection: close\r\n\r\n"),
        ("space before colon", b"GET / HTTP/1.1\r\nHost : x\r\nConnection: close\r\n\r\n"),
        ("folded header", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\nConnection: close\r\n\r\n"),
        ("nul in a header", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\nConnection: close\r\n\r\n"),
        ("bare LF", b"GET / HTTP/1.1\nHost: x\nConnection: close\n\n"),
        ("huge header", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: " + b"a" * 20000 + b"\r\nConnection: close\r\n\r\n"),
        ("many headers", b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-A: a\r\n" * 1500 + b"Connection: close\r\n\r\n"),
        ("two hosts", b"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\nConnection: close\r\n\r\n"),
        ("lower-case method", b"get / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        ("binary line", rng.randbytes(64) + b"\r\n\r\n"),
        ("websocket upgrade", b"GET /api/events HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                              b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"),
        ("h2c upgrade", b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings, close\r\n"
                        b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"),
        ("http/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
        ("pipelined", b"GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"
                      b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"),
        ("partial head", b"GET /health HTTP/1.1\r\nHost: x\r\n"),
        ("request line only", b"POST /api/chat HTTP/1.1\r\n"),
    ]
    name, raw = rng.choice(cases)
    return FuzzRequest("raw HTTP", "RAW", "-", mutation=name, raw=raw, may_close=True)


FAMILIES: tuple[tuple[Maker, float], ...] = (
    (page, 9.0), (traversal, 2.5), (new_conversation, 4.0), (chat, 20.0), (chat_to_rasa, 2.2), (tts, 7.0),
    (voice, 5.0), (events, 8.0), (agent_login, 5.0), (agent_read, 8.0), (agent_write, 9.0), (agent_events, 1.5),
    (telegram, 9.0), (unknown, 3.0), (protocol, 2.4))


def generate(context: FuzzContext, count: int, seed: int = 14,
             families: Iterable[tuple[Maker, float]] = FAMILIES) -> list[FuzzRequest]:
    """`count` requests over every endpoint, drawn by a random.Random(seed): the same arguments, the same list."""
    rng = random.Random(seed)
    makers, weights = zip(*families)
    return [rng.choices(makers, weights)[0](rng, context) for _ in range(count)]


# --- sending -----------------------------------------------------------------------------------------------------

def _envelope_code(body: bytes) -> str:
    try:
        error = json.loads(body).get("error")
    except (ValueError, AttributeError):
        return ""
    return str(error.get("code", "")) if isinstance(error, dict) else ""


class _SendRaw(Exception):
    """httpx refused to send a request as generated."""


def _no_cookies() -> httpx.Cookies:
    """A cookie jar that keeps nothing: every request carries exactly the credentials it was generated with."""
    return httpx.Cookies(CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])))


def as_raw(request: FuzzRequest) -> FuzzRequest:
    """The request as bytes for a socket (for headers httpx will not send, such as a value with a trailing space);
    the connection closes after the answer."""
    head = [f"{request.method} {request.target} HTTP/1.1".encode("latin-1", "replace")]
    names = {name.lower() for name, _ in request.headers}
    if b"host" not in names:
        head.append(b"Host: 127.0.0.1")
    head += [name + b": " + value for name, value in request.headers]
    head += [b"Content-Length: %d" % len(request.body), b"Connection: close"]
    return FuzzRequest(request.endpoint, request.method, request.target, request.headers, request.body,
                       request.mutation + ", sent raw", b"\r\n".join(head) + b"\r\n\r\n" + request.body,
                       stream=request.stream, reaches_rasa=request.reaches_rasa, may_close=request.may_close,
                       traversal=request.traversal)


async def _send_http(client: httpx.AsyncClient, request: FuzzRequest, stream_seconds: float) -> FuzzResult:
    started = time.monotonic()
    with_body = bool(request.body) or request.method not in ("GET", "HEAD")
    if any(name.lower() == b"expect" for name, _ in request.headers):
        raise _SendRaw()  # httpx takes a "100 Continue" for the answer, and the real one then spoils the connection
    try:
        built = client.build_request(request.method, request.target, headers=list(request.headers),
                                     content=request.body if with_body else None)
        response = await client.send(built, stream=True)
    except (httpx.LocalProtocolError, httpx.InvalidURL):  # httpx will not send it as it is: a socket will
        raise _SendRaw() from None
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as error:
        outcome = "closed" if request.may_close else f"error: {type(error).__name__}"
        return FuzzResult(request, None, outcome, time.monotonic() - started)
    try:
        if request.stream and response.status_code == 200:
            chunks = response.aiter_bytes()
            try:
                body = await asyncio.wait_for(chunks.__anext__(), stream_seconds)
            except (asyncio.TimeoutError, StopAsyncIteration):
                body = b""
        else:
            body = await response.aread()
    except (httpx.RemoteProtocolError, httpx.ReadError) as error:
        outcome = "closed" if request.may_close else f"error: {type(error).__name__}"
        return FuzzResult(request, response.status_code, outcome, time.monotonic() - started)
    finally:
        await response.aclose()
    return FuzzResult(request, response.status_code, "answered", time.monotonic() - started,
                      _envelope_code(body) if response.status_code >= 400 else "", body)


async def _send_raw(host: str, port: int, request: FuzzRequest, timeout: float, stream_seconds: float) -> FuzzResult:
    started = time.monotonic()
    reader, writer = await asyncio.open_connection(host, port)
    data = b""
    try:
        writer.write(request.raw)
        await writer.drain()
        deadline = started + timeout
        while True:  # until the server closes the connection (raw requests ask it to), or a stream's first moment
            if request.stream and b"\r\n\r\n" in data:
                deadline = min(deadline, time.monotonic() + stream_seconds)
            try:
                chunk = await asyncio.wait_for(reader.read(65536), max(deadline - time.monotonic(), 0.001))
            except asyncio.TimeoutError:
                if request.stream and b"\r\n\r\n" in data:
                    break
                raise
            if not chunk:
                break
            data += chunk
            if len(data) > 4 * 1024 * 1024:
                break
    except (ConnectionResetError, BrokenPipeError):
        pass
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (ConnectionResetError, BrokenPipeError):
            pass
    seconds = time.monotonic() - started
    rest = data
    while True:
        head, _, body = rest.partition(b"\r\n\r\n")
        parts = head.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
            return FuzzResult(request, None, "closed", seconds, body=data[:200])
        status = int(parts[1])
        if status >= 200 or not body:  # an interim answer (100 Continue) is followed by the real one
            return FuzzResult(request, status, "answered", seconds, _envelope_code(body) if status >= 400 else "",
                              body)
        rest = body


async def run(base_url: str, requests: Sequence[FuzzRequest], workers: int = 4, request_timeout: float = 60.0,
              budget: float = 360.0, stream_seconds: float = 0.2, rasa_at_once: int = 1, webhook_settle: float = 0.5,
              on_result: Optional[Callable[[FuzzResult], None]] = None) -> FuzzReport:
    """Send the requests with `workers` concurrent connections; a request taking over `request_timeout` counts as
    a timeout, and what is left when `budget` seconds have passed is not sent (`FuzzReport.not_sent`).

    At most `rasa_at_once` of the requests that reach Rasa are in flight (Rasa answers one turn at a time: more at
    once only wait inside it until the gateway's GOVBOT_RASA_TIMEOUT makes them 503s, which measures capacity,
    not robustness); a Telegram update the bot answers in the background holds that turn `webhook_settle`
    seconds more."""
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    if not ip_address(host).is_loopback:
        raise ValueError(f"the fuzzer talks to loopback only, not {host}")
    report = FuzzReport()
    pending = iter(requests)
    loop = asyncio.get_running_loop()
    started = loop.time()
    rasa_turns = asyncio.Semaphore(rasa_at_once)
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    timeout = httpx.Timeout(request_timeout)

    async with httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits, cookies=_no_cookies(),
                                 follow_redirects=False, trust_env=False) as client:
        async def send(request: FuzzRequest) -> FuzzResult:
            if request.reaches_rasa:
                async with rasa_turns:
                    result = await send_now(request)
                    if request.path_is_webhook:
                        await asyncio.sleep(webhook_settle)
                    return result
            return await send_now(request)

        async def send_now(request: FuzzRequest) -> FuzzResult:
            if request.raw:
                return await _send_raw(host, port, request, request_timeout, stream_seconds)
            try:
                return await _send_http(client, request, stream_seconds)
            except _SendRaw:
                return await _send_raw(host, port, as_raw(request), request_timeout, stream_seconds)

        async def worker() -> None:
            for request in pending:
                if loop.time() - started > budget:
                    report.not_sent += 1
                    continue
                begun = loop.time()
                try:
                    result = await asyncio.wait_for(send(request), request_timeout + 5)
                except (asyncio.TimeoutError, httpx.TimeoutException):
                    result = FuzzResult(request, None, "timeout", loop.time() - begun)
                except (httpx.TransportError, OSError) as error:
                    result = FuzzResult(request, None, f"error: {type(error).__name__}: {error}", loop.time() - begun)
                report.add(result)
                if on_result is not None:
                    on_result(result)

        await asyncio.gather(*(worker() for _ in range(workers)))
    report.seconds = loop.time() - started
    return report


def run_sync(base_url: str, requests: Sequence[FuzzRequest], **options: float) -> FuzzReport:
    """`run` from synchronous code (a test, a command line)."""
    return asyncio.run(run(base_url, requests, **options))  # type: ignore[arg-type]


def default_context(base_url: str, conversations: int = 6, timeout: float = 30.0) -> FuzzContext:
    """A context for a running gateway when nothing else is known: a few fresh conversations, no agent, no
    Telegram secret, the tiny recording."""
    issued = []
    with httpx.Client(base_url=base_url, timeout=timeout, trust_env=False) as client:
        for _ in range(conversations):
            response = client.post("/api/conversations")
            response.raise_for_status()
            issued.append((response.json()["sender"], response.json()["token"]))
    parts = urlsplit(base_url)
    return FuzzContext(origin=f"{parts.scheme}://{parts.netloc}", conversations=tuple(issued), audio=tiny_wav())


__all__ = ["ALLOWED_SERVER_ERRORS", "FAMILIES", "PERSONAL", "FuzzContext", "FuzzReport", "FuzzRequest", "FuzzResult",
           "default_context", "generate", "is_server_error", "run", "run_sync", "static_contents", "status_class",
           "tiny_wav"]
