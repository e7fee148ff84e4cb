"""One payload vocabulary: core/payloads.py and the page's payloads.js say the same, and nobody types one by hand."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from core import payloads

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "channels" / "web" / "static"
# A payload typed as a string literal: "/ask_person", '/switch_language{...', `/large_text_on` ...
_TYPED_PAYLOAD = re.compile(r"""["'`]/(ask_person|cancel_handoff|affirm|deny|rate_good|rate_bad|rate_ticket|"""
                            r"""choose_item|switch_language|large_text_o|voice_o)""")


def test_python_payloads_have_rasas_shape():
    assert payloads.mode("large_text", True) == "/large_text_on"
    assert payloads.mode("voice", False) == "/voice_off"
    assert payloads.switch_language("en") == '/switch_language{"target_language": "en"}'
    assert payloads.choose_item("passport-apply") == '/choose_item{"item_id": "passport-apply"}'
    assert payloads.parse_rate_ticket(payloads.rate_ticket("T-20250101-0001", 4)) == ("T-20250101-0001", 4)
    assert payloads.parse_rate_ticket("/rate_ticket{broken") is None
    with pytest.raises(ValueError, match="unknown mode"):
        payloads.mode("colour", True)


def _js_vocabulary(tmp_path: Path) -> dict:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: test_js_payload_constants_match_python compares the constants")
    module = tmp_path / "payloads.mjs"
    shutil.copy(STATIC / "payloads.js", module)
    script = (f"import * as p from {json.dumps(module.as_uri())};\n"
              "console.log(JSON.stringify({askPerson: p.askPerson, cancelHandoff: p.cancelHandoff, affirm: p.affirm,"
              " deny: p.deny, rateGood: p.rateGood, rateBad: p.rateBad,"
              " modes: p.MODES.flatMap((m) => [p.mode(m, true), p.mode(m, false)]),"
              " languages: ['zh', 'en'].map(p.switchLanguage), item: p.chooseItem('身份证-apply'),"
              " ticket: p.rateTicket('T-1', 5)}));")
    done = subprocess.run([node, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_pages_payloads_equal_the_python_ones(tmp_path):
    js = _js_vocabulary(tmp_path)
    assert js == {
        "askPerson": payloads.ASK_PERSON, "cancelHandoff": payloads.CANCEL_HANDOFF, "affirm": payloads.AFFIRM,
        "deny": payloads.DENY, "rateGood": payloads.RATE_GOOD, "rateBad": payloads.RATE_BAD,
        "modes": [payloads.mode(m, on) for m in payloads.MODES for on in (True, False)],
        "languages": [payloads.switch_language(language) for language in ("zh", "en")],
        "item": payloads.choose_item("身份证-apply"), "ticket": payloads.rate_ticket("T-1", 5),
    }


def test_js_payload_constants_match_python():
    """The same check without node: the constants as written in payloads.js."""
    source = (STATIC / "payloads.js").read_text(encoding="utf-8")
    constants = dict(re.findall(r'^export const (\w+) = "([^"]*)";', source, re.MULTILINE))
    assert constants == {"askPerson": payloads.ASK_PERSON, "cancelHandoff": payloads.CANCEL_HANDOFF,
                         "affirm": payloads.AFFIRM, "deny": payloads.DENY, "rateGood": payloads.RATE_GOOD,
                         "rateBad": payloads.RATE_BAD}
    modes = re.search(r"^export const MODES = \[(.*)\];", source, re.MULTILINE)
    assert modes is not None and tuple(re.findall(r'"(\w+)"', modes.group(1))) == payloads.MODES
    for intent in (payloads.SWITCH_LANGUAGE, payloads.CHOOSE_ITEM, payloads.RATE_TICKET):
        assert f'withEntities("{intent}"' in source


def test_no_payload_is_typed_by_hand():
    sources = [*(ROOT / "bot").rglob("*.py"), *(ROOT / "channels").rglob("*.py"), *(ROOT / "handoff").rglob("*.py"),
               *(path for path in STATIC.glob("*.js") if path.name != "payloads.js")]
    typed = [str(path.relative_to(ROOT)) for path in sources if _TYPED_PAYLOAD.search(path.read_text(encoding="utf-8"))]
    assert len(sources) > 40 and typed == [], "use core/payloads.py (Python) or static/payloads.js (the page)"


def test_the_payload_pattern_finds_a_typed_payload():
    assert _TYPED_PAYLOAD.search('submit("/ask_person", title)')
    assert _TYPED_PAYLOAD.search("payload = '/switch_language{\"target_language\": \"en\"}'")
    assert not _TYPED_PAYLOAD.search("submit(payloads.askPerson, title)")
