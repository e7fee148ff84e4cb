"""The web page's figures: screenshots per mode (docs/web/), axe-core results per mode, and text-to-speech
latency per engine, cold and cached.

Run against a running stack (`./scripts/start`, or `govbot run`):
    .venv/bin/python benchmarks/web_page.py [--url http://127.0.0.1:8080] [--runs 20]
"""

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from channels.voice.tts import EngineFailed, EspeakEngine, GttsEngine, TextToSpeech
from core.settings import PROJECT_ROOT
from core.stats import percentile
from testkit.browser import CHROMIUM_ARGS, audit, chromium_path

SHOTS = PROJECT_ROOT / "docs" / "web"
SENTENCES = {
    "zh": "请带上本人身份证和户口簿，到户籍所在地派出所办理，一般{n}个工作日可以领取。",
    "en": "Please bring your ID card and household register to the police station; it takes about {n} working days.",
}



def wait_for_reply(page, before: int) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_function(f"document.querySelectorAll('#log .msg.bot').length > {before}", timeout=60_000)


def ask(page, text: str) -> None:  # type: ignore[no-untyped-def]
    before = page.locator("#log .msg.bot").count()
    page.fill("#text", text)
    page.press("#text", "Enter")
    wait_for_reply(page, before)


def toggle(page, selector: str) -> None:  # type: ignore[no-untyped-def]
    before = page.locator("#log .msg.bot").count()
    page.click(selector)
    wait_for_reply(page, before)


def page_figures(url: str) -> dict:
    """Screenshots and axe results for normal, large-text and English pages."""
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    results = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        for name, locale, steps in [
            ("normal-zh", "zh-CN", [("ask", "社保卡"), ("ask", "社会保障卡申领")]),
            ("large-zh", "zh-CN", [("toggle", "#large-toggle"), ("ask", "护照怎么办理")]),
            ("voice-large-zh", "zh-CN", [("toggle", "#large-toggle"), ("toggle", "#voice-toggle"),
                                         ("ask", "怎么提取公积金")]),
            ("normal-en", "en-US", [("ask", "How do I apply for a passport?")]),
        ]:
            context = browser.new_context(locale=locale, viewport={"width": 1000, "height": 900})
            page = context.new_page()
            page.goto(url)
            for action, argument in steps:
                (ask if action == "ask" else toggle)(page, argument)
            page.wait_for_timeout(300)
            page.screenshot(path=str(SHOTS / f"{name}.png"))
            violations = audit(page)
            results[name] = {"violations": violations,
                             "font_px": page.eval_on_selector("#log .msg.bot .text",
                                                              "e => getComputedStyle(e).fontSize")}
            context.close()
        browser.close()
    return results


def tts_figures(runs: int) -> dict:
    """Synthesis time per engine and language: first request (cold) and the same request again (cached)."""
    figures = {}
    with tempfile.TemporaryDirectory() as cache:
        for engine in (EspeakEngine(), GttsEngine(timeout=3.0)):
            for (language, sentence), repeat in [(pair, repeat) for pair in SENTENCES.items() for repeat in (1, 8)]:
                tts = TextToSpeech([engine], Path(cache) / engine.name, retry_failed_after=0)
                cold, cached, failed = [], [], 0
                for n in range(runs):
                    text = " ".join(sentence.format(n=n + 3 + k) for k in range(repeat))
                    started = time.perf_counter()
                    try:
                        tts.speak(text, language)
                    except EngineFailed:
                        failed += 1
                        cold.append((time.perf_counter() - started) * 1000)
                        continue
                    cold.append((time.perf_counter() - started) * 1000)
                    started = time.perf_counter()
                    tts.speak(text, language)
                    cached.append((time.perf_counter() - started) * 1000)
                figures[f"{engine.name} {language} {len(text)} chars"] = {
                    "cold_p50_ms": round(statistics.median(cold), 1), "cold_p95_ms": round(percentile(cold, 0.95), 1),
                    "cached_p50_ms": round(statistics.median(cached), 2) if cached else None,
                    "failed": failed, "runs": runs}
    return figures


def gateway_tts_figures(url: str, runs: int) -> dict:
    """POST /api/tts through the running gateway: new texts (cold), then the same texts again (cached)."""
    figures = {}
    stamp = int(time.time())
    with httpx.Client(base_url=url, timeout=30) as client:
        for language, sentence in SENTENCES.items():
            timings: dict[str, list[float]] = {"cold": [], "cached": []}
            engines = set()
            for n in range(runs):
                body = {"text": sentence.format(n=f"{stamp}{n}"), "language": language}
                for kind in ("cold", "cached"):
                    started = time.perf_counter()
                    response = client.post("/api/tts", json=body)
                    timings[kind].append((time.perf_counter() - started) * 1000)
                    response.raise_for_status()
                    engines.add(response.headers["x-tts-engine"])
            figures[language] = {"engines": sorted(engines), **{
                f"{kind}_{name}_ms": round(value, 1) for kind, values in timings.items()
                for name, value in (("p50", statistics.median(values)), ("p95", percentile(values, 0.95)))}}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8080/")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--skip-page", action="store_true", help="only the TTS figures")
    args = parser.parse_args()
    if not args.skip_page:
        for name, result in page_figures(args.url).items():
            impacts = {}
            for violation in result["violations"]:
                impacts[violation["impact"]] = impacts.get(violation["impact"], 0) + 1
            print(f"page {name}: bot text {result['font_px']}, axe violations by impact {impacts or 'none'}"
                  f" -> docs/web/{name}.png")
            for violation in result["violations"]:
                print("   ", json.dumps(violation, ensure_ascii=False))
    for name, figures in tts_figures(args.runs).items():
        print(f"tts engine {name}: {json.dumps(figures)}")
    for language, figures in gateway_tts_figures(args.url, args.runs).items():
        print(f"tts via POST /api/tts, {language}: {json.dumps(figures)}")


if __name__ == "__main__":
    main()
