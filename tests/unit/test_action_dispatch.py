"""The actions without the model: importing them is cheap, their runtime is installed explicitly, and one
answer / clarify / none dispatch serves both a new question and a follow-up (a stand-in search decides)."""

import subprocess
import sys
from pathlib import Path

import pytest

from bot.actions import ActionAnswerFollowUp, ActionAnswerServiceQuestion, runtime
from bot.actions.runtime import ActionRuntime, NotStarted
from knowledge.loader import load_items
from knowledge.search import Candidate, SearchResult
from testkit.conversation import run

ROOT = Path(__file__).resolve().parents[2]
ITEMS = load_items(ROOT / "knowledge" / "items")


class DecidedSearch:
    """A knowledge search whose decision is set by the test: the given items offered, or none."""

    def __init__(self, decision: str, offered: list[str]) -> None:
        self.by_id = {item.id: item for item in ITEMS}
        self.decision, self.offered, self.questions = decision, offered, []

    def search(self, question: str, shared_vector: object = None) -> SearchResult:
        self.questions.append(question)
        items = [Candidate(id=item_id, title=item_id, score=0.9, dense=0.9, lexical=0.0) for item_id in self.offered]
        return SearchResult(query=question, language="zh", decision=self.decision, items=items,
                            offer=len(self.offered), latency_ms=0.0)


@pytest.fixture
def decided(request):
    """Install a runtime whose search decides `request.param` = (decision, offered item ids)."""
    search = DecidedSearch(*request.param)
    runtime.install(ActionRuntime(knowledge=search, open_ratings=lambda: pytest.fail("no rating expected")))
    yield search
    runtime.install(None)


def test_importing_the_actions_loads_no_model_and_opens_no_database():
    code = ("import sys, bot.actions, bot.actions.runtime as r; "
            "print(sorted(m for m in ('sentence_transformers', 'torch', 'faiss', 'knowledge.service', "
            "'knowledge.embedder') if m in sys.modules), r._installed)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[] None"


def test_an_action_without_the_runtime_says_so():
    runtime.install(None)
    with pytest.raises(NotStarted, match="installs it before serving"):
        runtime.knowledge()


def test_the_rating_store_opens_once_at_the_first_rating():
    opened = []
    installed = ActionRuntime(knowledge=DecidedSearch("none", []), open_ratings=lambda: opened.append(1) or "store")
    assert opened == []
    assert installed.ratings() == installed.ratings() == "store" and opened == [1]


@pytest.mark.parametrize("decided", [("answer", ["passport-apply"])], indirect=True)
async def test_a_question_the_search_answers_is_answered(decided):
    messages, slots = await run(ActionAnswerServiceQuestion(), "护照怎么办", "service_question")
    assert messages[0]["custom"]["kind"] == "answer" and slots["current_item"] == "passport-apply"


@pytest.mark.parametrize("decided", [("clarify", ["passport-apply", "hk-macao-permit"])], indirect=True)
async def test_a_question_the_search_finds_close_items_for_offers_them(decided):
    messages, slots = await run(ActionAnswerServiceQuestion(), "证件", "service_question")
    assert messages[0]["custom"]["decision"] == "clarify"
    assert slots["offered_items"] == ["passport-apply", "hk-macao-permit"]


@pytest.mark.parametrize("decided", [("none", [])], indirect=True)
async def test_a_question_nothing_fits_gets_the_not_found_reply(decided):
    messages, slots = await run(ActionAnswerServiceQuestion(), "火星", "service_question")
    assert messages[0]["response"] == "utter_cannot_answer_service" and slots["failed_turns"] == 1


@pytest.mark.parametrize("decided", [("answer", ["passport-apply"])], indirect=True)
async def test_a_follow_up_naming_another_service_answers_that_items_field(decided):
    messages, slots = await run(ActionAnswerFollowUp(), "护照要带什么材料", "ask_materials",
                                current_item="id-card-lost-replace")
    assert decided.questions == ["护照要带什么材料"]
    assert messages[0]["custom"]["kind"] == "follow_up" and messages[0]["custom"]["field"] == "materials"
    assert slots["current_item"] == "passport-apply"


@pytest.mark.parametrize("decided", [("none", [])], indirect=True)
async def test_a_follow_up_the_search_cannot_place_stays_on_the_current_item(decided):
    messages, slots = await run(ActionAnswerFollowUp(), "护照要带什么材料", "ask_materials",
                                current_item="id-card-lost-replace")
    assert decided.questions == ["护照要带什么材料"]  # searched, nothing fitted: the follow-up's own logic goes on
    assert messages[0]["custom"]["item"] == "id-card-lost-replace" and messages[0]["custom"]["field"] == "materials"


@pytest.mark.parametrize("decided", [("none", [])], indirect=True)
async def test_a_follow_up_without_an_item_that_nothing_fits_gets_the_not_found_reply(decided):
    messages, _ = await run(ActionAnswerFollowUp(), "护照要带什么材料", "ask_materials")
    assert messages[0]["response"] == "utter_cannot_answer_service"
