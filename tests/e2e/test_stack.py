"""End to end: `govbot run` trains (or reuses) the model, starts the real action server,
Rasa server and gateway, and holds conversations through the gateway's chat API."""

import signal
import sqlite3

import httpx
import psutil
import pytest

from testkit.stack import Stack, chat, module_stack, post_chat

pytestmark = pytest.mark.slow


stack = module_stack("govbot-var")


def test_prints_the_urls(stack):
    assert f"chat page:     http://localhost:{stack.ports['gateway']}/" in stack.output
    assert httpx.get(stack.url + "/").status_code == 200


def test_health_sees_rasa_up(stack):
    assert httpx.get(stack.url + "/health").json() == {"status": "ok", "version": "0.1.0", "rasa": "up"}


def test_short_conversation_in_chinese(stack):
    assert any("您好" in text for text in chat(stack, "e2e-zh", "你好"))
    assert any("不客气" in text for text in chat(stack, "e2e-zh", "谢谢"))
    assert any("再见" in text for text in chat(stack, "e2e-zh", "再见"))


def test_short_conversation_in_english(stack):
    assert any(text.startswith("Hello") for text in chat(stack, "e2e-en", "hello"))
    assert any("welcome" in text for text in chat(stack, "e2e-en", "thank you"))
    assert any("Goodbye" in text for text in chat(stack, "e2e-en", "bye"))


def test_reply_follows_the_language_of_each_message(stack):
    assert any("您好" in text for text in chat(stack, "e2e-switch", "您好"))
    assert any(text.startswith("Hello") for text in chat(stack, "e2e-switch", "hi there"))
    assert any("不客气" in text for text in chat(stack, "e2e-switch", "多谢"))


def test_out_of_scope_is_answered_by_the_action_server(stack):
    # Only the custom action (served by the action server) produces this response.
    zh = chat(stack, "e2e-oos", "给我讲个笑话")
    en = chat(stack, "e2e-oos", "tell me a joke")
    assert any("不在我的服务范围" in text and "12345" in text for text in zh)
    assert any("outside what I can help with" in text for text in en)


def test_service_question_is_answered_from_the_knowledge_base(stack):
    zh = chat(stack, "e2e-service", "身份证丢了怎么办")
    assert any(text and text.startswith("居民身份证丢失补领") and "\n1. " in text for text in zh)
    en = chat(stack, "e2e-service", "how do I apply for a passport")
    assert any(text and text.startswith("Apply for an ordinary passport") and "Steps:" in text for text in en)


def test_answer_carries_the_item_for_the_channels(stack):
    response = post_chat(stack, "e2e-custom", "我想办结婚登记")
    customs = [m["custom"] for m in response.json()["messages"] if m["custom"]]
    assert any(c.get("item") == "marriage-registration" and c.get("decision") == "answer" and c.get("language") == "zh"
               for c in customs)


def test_conversations_are_stored_in_the_sqlite_tracker_store(stack):
    chat(stack, "e2e-stored", "你好")
    with sqlite3.connect(stack.var_dir / "tracker.db") as db:
        rows = db.execute("select type_name from events where sender_id = ?",
                          (stack.conversation("e2e-stored").sender,)).fetchall()
    assert ("user",) in rows and ("bot",) in rows


def test_sigterm_stops_every_process(stack):
    children = stack.children()
    assert len(children) == 3
    stack.process.send_signal(signal.SIGTERM)
    assert stack.process.wait(timeout=60) == 0
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert alive == []
    assert stack.all_ports_free()
    assert "stopped" in stack.output


def test_a_dying_service_stops_the_rest_with_a_clear_message(tmp_path):
    stack = Stack(tmp_path)
    try:
        stack.wait_ready()
        children = stack.children()
        rasa = next(p for p in children if ".venv-rasa" in " ".join(p.cmdline()))
        rasa.kill()
        assert stack.process.wait(timeout=60) == 1
        assert "rasa server exited" in stack.output
        gone, alive = psutil.wait_procs(children, timeout=10)
        assert alive == []
        assert stack.all_ports_free()
    finally:
        stack.stop()
