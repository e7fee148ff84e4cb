"""The web page's figures: screenshots per mode (docs/web/), the phone sizes in both modes with their layout
measured (docs/screenshots/), axe-core results per page, and text-to-speech latency per engine, cold and cached.

Run against a running stack (`./scripts/start`, or `govbot run`):
    .venv/bin/python benchmarks/web_page.py [--url http://127.0.0.1:8080] [--runs 20] [--phones-only]
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
from testkit.phone import MODES, PHONES, layout

SHOTS = PROJECT_ROOT / "docs" / "web"
PHONE_SHOTS = PROJECT_ROOT / "docs" / "screenshots"
SENTENCES = {
    "zh": "请带上本人身份证和户口簿，到户籍所在地派出所办理，一般{n}个工作日可以领取。",
    "en": "Please bring your ID card and household register to the police station; it takes about {n} working days.",
}



def wait_for_reply(page, before: int) -> None:  # type: ignore[no-untyped-def]
    page.locator("#log .msg.bot").nth(before).wait_for(timeout=60_000)  # a locator: works under the page's CSP


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


def phone_figures(url: str) -> dict:
    """Each phone size in both modes (touch, mobile viewport, large text switched on in 设置), after the passport
    question: a screenshot, the composer's and header's boxes, the visible conversation, axe's findings."""
    from playwright.sync_api import sync_playwright

    PHONE_SHOTS.mkdir(parents=True, exist_ok=True)
    results = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        for size, (width, height) in PHONES.items():
            for mode in MODES:
                context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": height},
                                              device_scale_factor=2, is_mobile=True, has_touch=True)
                page = context.new_page()
                page.goto(url)
                if mode == "large":
                    page.tap("#settings-toggle")
                    before = page.locator("#log .msg.bot").count()
                    page.tap("#large-toggle")
                    wait_for_reply(page, before)
                    page.tap("#settings-toggle")
                ask(page, "护照怎么办理")
                page.wait_for_timeout(300)
                name = f"phone-{size}-{mode}"
                page.screenshot(path=str(PHONE_SHOTS / f"{name}.png"))
                results[name] = {"layout": layout(page), "violations": audit(page)}
                if size == "360x740" and mode == "large":  # and with 设置 unfolded
                    page.tap("#settings-toggle")
                    page.wait_for_timeout(300)
                    page.screenshot(path=str(PHONE_SHOTS / f"{name}-settings.png"))
                context.close()
        browser.close()
    return results


def phone_table(results: dict) -> str:
    """The measured phone layouts as a Markdown table (docs/web.md)."""
    rows = ["| size, mode | text box (width × height) | share of the width | conversation visible | "
            "发送 | microphone | 设置 / 转人工 | smallest target | axe serious + critical |",
            "|---|---|---|---|---|---|---|---|---|"]
    for name, result in results.items():
        measured, view = result["layout"], result["layout"]["viewport"]
        size = {key: f"{measured[key]['width']:.0f} × {measured[key]['height']:.0f}"
                for key in ("text", "send", "mic", "settings", "person")}
        smallest = measured["smallest_target"]
        bad = sum(1 for violation in result["violations"] if violation["impact"] in ("serious", "critical"))
        rows.append(
            f"| {name.removeprefix('phone-').replace('-', ', ')} | {size['text']} | "
            f"{measured['text']['width'] / view['width']:.0%} | {measured['conversation_visible']:.0f} px "
            f"({measured['conversation_visible'] / view['height']:.0%}) | {size['send']} | {size['mic']} | "
            f"{size['settings']} / {size['person']} | {min(smallest['width'], smallest['height']):.0f} px | {bad} |")
    return "\n".join(rows)


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
    parser.add_argument("--phones-only", action="store_true", help="only the phone screenshots and layouts")
    args = parser.parse_args()
    if args.phones_only:
        print(phone_table(phone_figures(args.url)))
        return
    if not args.skip_page:
        for name, result in page_figures(args.url).items():
            impacts = {}
            for violation in result["violations"]:
                impacts[violation["impact"]] = impacts.get(violation["impact"], 0) + 1
            print(f"page {name}: bot text {result['font_px']}, axe violations by impact {impacts or 'none'}"
                  f" -> docs/web/{name}.png")
            for violation in result["violations"]:
                print("   ", json.dumps(violation, ensure_ascii=False))
    if not args.skip_page:
        print(phone_table(phone_figures(args.url)))
    for name, figures in tts_figures(args.runs).items():
        print(f"tts engine {name}: {json.dumps(figures)}")
    for language, figures in gateway_tts_figures(args.url, args.runs).items():
        print(f"tts via POST /api/tts, {language}: {json.dumps(figures)}")


if __name__ == "__main__":
    main()
