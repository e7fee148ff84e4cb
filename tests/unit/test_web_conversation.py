"""The chat page's conversation module (static/conversation.js, run by node against a stand-in fetch): it starts a
conversation once, sends its token, keeps it across reloads, and starts a new one once when the token is refused."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "channels" / "web" / "static"

# A stand-in browser: localStorage in a Map, fetch answered by `answer(url, options)`, every request recorded.
PRELUDE = """
const stored = new Map(Object.entries(JSON.parse(process.env.STORED || "{}")));
globalThis.localStorage = {
  getItem: (key) => (stored.has(key) ? stored.get(key) : null),
  setItem: (key, value) => stored.set(key, String(value)),
  removeItem: (key) => stored.delete(key),
};
const requests = [];
let issued = 0;
let refuse = new Set(JSON.parse(process.env.REFUSE || "[]"));  // tokens the gateway no longer accepts
globalThis.fetch = async (url, options = {}) => {
  const headers = options.headers || {};
  requests.push({ url, method: options.method, authorization: headers.Authorization || null });
  await new Promise((resolve) => setTimeout(resolve, 5));
  if (url === "/api/conversations") {
    issued += 1;
    return new Response(JSON.stringify({ sender: `web:s${issued}`, token: `s${issued}.mac` }), { status: 201 });
  }
  const token = (headers.Authorization || "").replace("Bearer ", "");
  const status = refuse.has(token) || token === "" ? 401 : 200;
  return new Response(JSON.stringify({ ok: status === 200 }), { status });
};
const report = () => console.log(JSON.stringify({ requests, stored: Object.fromEntries(stored) }));
"""


def run(tmp_path: Path, scenario: str, stored: dict | None = None, refuse: tuple[str, ...] = ()) -> dict:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    folder = tmp_path / "static"
    folder.mkdir()
    for name in ("conversation.js", "store.js"):
        shutil.copy(STATIC / name, folder / name)
    (folder / "package.json").write_text('{"type": "module"}')
    script = folder / "scenario.js"
    script.write_text(PRELUDE + "const page = await import('./conversation.js');\n" + scenario + "\nreport();\n")
    env = {"PATH": "/usr/bin:/bin", "STORED": json.dumps(stored or {}), "REFUSE": json.dumps(list(refuse))}
    done = subprocess.run([node, str(script)], capture_output=True, text=True, timeout=60, env=env, cwd=folder)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def calls(result: dict) -> list[tuple[str, str | None]]:
    return [(request["url"], request["authorization"]) for request in result["requests"]]


def test_the_first_message_starts_one_conversation_and_sends_its_token(tmp_path):
    result = run(tmp_path, """
        const build = (c) => ({ method: "POST", body: JSON.stringify({ sender: c.sender }) });
        const statuses = await Promise.all([page.sendInConversation("/api/chat", build),
                                            page.sendInConversation("/api/chat", build)]);
        if (statuses.some((r) => r.status !== 200)) throw new Error("refused");
        if (page.currentConversation().sender !== "web:s1") throw new Error("wrong conversation");
    """)
    assert calls(result) == [("/api/conversations", None), ("/api/chat", "Bearer s1.mac"),
                             ("/api/chat", "Bearer s1.mac")]  # two messages at once, one conversation
    assert json.loads(result["stored"]["govbot.conversation"]) == {"sender": "web:s1", "token": "s1.mac"}


def test_a_kept_conversation_is_used_after_a_reload_and_the_old_self_made_id_is_dropped(tmp_path):
    kept = {"govbot.conversation": json.dumps({"sender": "web:kept", "token": "kept.mac"}),
            "govbot.sender": json.dumps("web-0b9f")}
    result = run(tmp_path, """
        if (page.currentConversation().sender !== "web:kept") throw new Error("not restored");
        await page.sendInConversation("/api/chat", () => ({ method: "POST" }));
        const address = page.eventsAddress(page.currentConversation(), 7);
        if (address !== "/api/events?sender=web%3Akept&token=kept.mac&after=7") throw new Error(address);
    """, stored=kept)
    assert calls(result) == [("/api/chat", "Bearer kept.mac")]
    assert "govbot.sender" not in result["stored"]


@pytest.mark.parametrize("kept", [{"sender": "telegram:1", "token": "x.y"}, {"sender": "web:a"}, "web:a", 42])
def test_a_damaged_or_foreign_kept_conversation_is_replaced(tmp_path, kept):
    result = run(tmp_path, """await page.sendInConversation("/api/chat", () => ({ method: "POST" }));""",
                 stored={"govbot.conversation": json.dumps(kept)})
    assert calls(result) == [("/api/conversations", None), ("/api/chat", "Bearer s1.mac")]


def test_a_refused_token_starts_a_new_conversation_once_and_tells_the_page(tmp_path):
    kept = {"govbot.conversation": json.dumps({"sender": "web:old", "token": "old.mac"})}
    result = run(tmp_path, """
        const started = [];
        page.onNewConversation((c) => started.push(c.sender));
        const response = await page.sendInConversation("/api/chat", (c) => ({ method: "POST" }));
        if (response.status !== 200 || started.join() !== "web:s1") throw new Error(started.join());
    """, stored=kept, refuse=("old.mac",))
    assert calls(result) == [("/api/chat", "Bearer old.mac"), ("/api/conversations", None),
                             ("/api/chat", "Bearer s1.mac")]
    assert json.loads(result["stored"]["govbot.conversation"])["token"] == "s1.mac"


def test_a_new_conversation_that_is_refused_too_is_not_retried_for_ever(tmp_path):
    result = run(tmp_path, """
        const response = await page.sendInConversation("/api/chat", () => ({ method: "POST" }));
        if (response.status !== 401) throw new Error(String(response.status));
    """, refuse=("s1.mac", "s2.mac", "s3.mac"))
    assert calls(result) == [("/api/conversations", None), ("/api/chat", "Bearer s1.mac"),
                             ("/api/conversations", None), ("/api/chat", "Bearer s2.mac")]
