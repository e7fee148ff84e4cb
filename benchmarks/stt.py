"""Speech-to-text figures: Whisper tiny.en latency per utterance length, word error rate on synthesized English
service questions, and the end-to-end voice turn (speech in → Rasa's answer → TTS audio out) of a running stack.

Usage: .venv/bin/python -m benchmarks.stt [--url http://127.0.0.1:8080] [--turns 12] [--no-stack]

The questions are spoken by espeak-ng in two voices (en-us, en-gb) at two speeds (140 and 175 words per minute)
and encoded as WebM/Opus like a browser's MediaRecorder. STT latency is measured in this process
(decode + recognise, the model already loaded); the voice turn goes through the stack's HTTP API.
"""

import argparse
import re
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from channels.voice.stt import SpeechToText, WhisperEngine
from channels.voice.speech_text import clean_for_speech
from channels.voice.tts import EspeakEngine
from core.stats import percentile
from testkit.helpers import open_conversation

ROOT = Path(__file__).resolve().parents[1]

# (length, question, the item it should be answered from)
QUESTIONS = [
    ("short", "Passport application", "passport-apply"),
    ("short", "Renew my driving licence", "driver-license-renew"),
    ("short", "Lost my ID card", "id-card-lost-replace"),
    ("short", "Unemployment benefit", "unemployment-benefit"),
    ("short", "Marriage registration", "marriage-registration"),
    ("short", "Claim my pension", "pension-claim"),
    ("short", "Legal aid", "legal-aid"),
    ("short", "Register a business", "business-registration"),
    ("medium", "How do I apply for a passport", "passport-apply"),
    ("medium", "What do I need to replace a lost ID card", "id-card-lost-replace"),
    ("medium", "How much does it cost to renew my passport", "passport-renew"),
    ("medium", "How can I withdraw my housing fund to pay the rent", "hpf-withdraw-rent"),
    ("medium", "Where do I register the birth of my baby", "hukou-newborn-registration"),
    ("medium", "How do I apply for a social security card", "social-security-card-apply"),
    ("medium", "Can I get a certificate of no criminal record", "no-criminal-record-certificate"),
    ("medium", "How do I enroll my child in primary school", "primary-school-enrollment"),
    ("long", "I lost my wallet yesterday with my identity card inside and I would like to know how to get a "
             "new one and what documents I should bring", "id-card-lost-replace"),
    ("long", "My father is retiring next month and he wants to know how to claim his pension and how long "
             "it takes before the first payment arrives", "pension-claim"),
    ("long", "We are getting married in the spring and we would like to know where to register the marriage "
             "and which papers both of us need to bring", "marriage-registration"),
    ("long", "I want to open a small shop selling food and I need to know how to register the business and "
             "whether I also need a food business licence", "food-business-license"),
    ("long", "My elderly mother lives alone and I am looking for home care services for seniors and any "
             "allowance she might be able to receive", "home-elderly-care"),
    ("long", "I moved to this city for work last year and I would like to apply for a residence permit so "
             "that my children can go to school here", "residence-permit-apply"),
    ("long", "I have lost my job and I would like to know how to apply for unemployment benefit and whether "
             "there is any training subsidy I could get", "unemployment-benefit"),
    ("long", "I am moving to another province next year so how do I transfer my social insurance and what "
             "happens to the contributions I have already paid", "social-insurance-transfer"),
]
VOICES = [("en-us", 140), ("en-us", 175), ("en-gb", 140), ("en-gb", 175)]


def words(text: str) -> list[str]:
    """Lower-case words without punctuation; British and American spellings of our words counted as one."""
    text = text.lower().replace("licence", "license").replace("enrol ", "enroll ").replace("-", " ")
    return re.findall(r"[a-z0-9']+", text)


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    """Word-level Levenshtein distance (substitutions, insertions, deletions)."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        current = [i]
        for j, hyp in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp)))
        previous = current
    return previous[-1]


def synthesize(folder: Path) -> list[dict]:
    """Every question in every voice, as WebM/Opus bytes."""
    clips = []
    for number, (length, text, item) in enumerate(QUESTIONS):
        for voice, speed in VOICES:
            wav = folder / f"q{number}-{voice}-{speed}.wav"
            webm = wav.with_suffix(".webm")
            subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(wav), "--", text], check=True)
            subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(wav), "-ar", "48000", "-c:a",
                            "libopus", "-b:a", "32k", str(webm)], check=True)
            clips.append({"length": length, "text": text, "item": item, "voice": f"{voice}@{speed}",
                          "audio": webm.read_bytes(), "name": webm.name})
    return clips


def stt_figures(clips: list[dict], min_confidence: float) -> None:
    engine = WhisperEngine()
    started = time.perf_counter()
    engine.load()
    print(f"Whisper tiny.en (faster-whisper, CPU int8): model load {time.perf_counter() - started:.2f} s")
    stt = SpeechToText({"en": engine})
    stt.transcribe(clips[0]["audio"], "en")  # warm-up, not counted
    rows = []
    for clip in clips:
        started = time.perf_counter()
        transcript = stt.transcribe(clip["audio"], "en")
        elapsed = time.perf_counter() - started
        reference, hypothesis = words(clip["text"]), words(transcript.text)
        rows.append({**clip, "heard": transcript.text, "seconds": transcript.seconds, "elapsed": elapsed,
                     "errors": edit_distance(reference, hypothesis), "ref_words": len(reference),
                     "confidence": transcript.confidence})

    print(f"\n{len(rows)} utterances: {len(QUESTIONS)} questions x {len(VOICES)} voices/speeds, WebM/Opus")
    print(f"{'length':<8} {'n':>3} {'audio s':>8} {'p50 ms':>8} {'p95 ms':>8} {'RTF':>6} {'WER':>7}")
    for length in ("short", "medium", "long", "all"):
        group = [row for row in rows if length in ("all", row["length"])]
        latencies = [row["elapsed"] * 1000 for row in group]
        audio = sum(row["seconds"] for row in group) / len(group)
        rtf = sum(row["elapsed"] for row in group) / sum(row["seconds"] for row in group)
        wer = sum(row["errors"] for row in group) / sum(row["ref_words"] for row in group)
        print(f"{length:<8} {len(group):>3} {audio:>8.1f} {percentile(latencies, 0.5):>8.0f} "
              f"{percentile(latencies, 0.95):>8.0f} {rtf:>6.2f} {wer:>7.1%}")
    for voice in sorted({row["voice"] for row in rows}):
        group = [row for row in rows if row["voice"] == voice]
        wer = sum(row["errors"] for row in group) / sum(row["ref_words"] for row in group)
        print(f"  WER {voice}: {wer:.1%}")
    exact = [row["confidence"] for row in rows if row["errors"] == 0]
    wrong = [row["confidence"] for row in rows if row["errors"] > 0]
    held = [row for row in rows if row["confidence"] < min_confidence]
    print(f"confidence: exact transcripts median {percentile(exact, 0.5):.2f} (n={len(exact)}), "
          f"with errors median {percentile(wrong, 0.5):.2f} (n={len(wrong)})")
    print(f"at GOVBOT_STT_MIN_CONFIDENCE={min_confidence}: {len(held)}/{len(rows)} would be confirmed first "
          f"({sum(1 for row in held if row['errors'])} of them had errors; "
          f"{sum(1 for row in rows if row['errors'] and row['confidence'] >= min_confidence)} "
          f"transcripts with errors would be acted on)")
    print("threshold  confirmed  of them exact  errors acted on")
    for threshold in (0.3, 0.35, 0.4, 0.5, 0.6):
        asked = [row for row in rows if row["confidence"] < threshold]
        print(f"  {threshold:<8} {len(asked):>6}/{len(rows)} {sum(1 for row in asked if not row['errors']):>11} "
              f"{sum(1 for row in rows if row['errors'] and row['confidence'] >= threshold):>14}")
    print("\nworst transcripts:")
    for row in sorted(rows, key=lambda row: -row["errors"] / row["ref_words"])[:6]:
        print(f"  [{row['voice']}, conf {row['confidence']:.2f}] {row['text']!r} -> {row['heard']!r}")


def voice_turns(clips: list[dict], url: str, turns: int) -> None:
    """speech in (POST /api/voice) → Rasa's answer → speech out (POST /api/tts of the first answer)."""
    chosen = [clip for clip in clips if clip["voice"] == "en-us@140" and clip["length"] == "medium"]
    chosen = (chosen * (turns // len(chosen) + 1))[:turns]
    timings, stt_ms, tts_ms, cold_tts_ms, right = [], [], [], [], 0
    missed: dict[str, str] = {}
    with httpx.Client(base_url=url, timeout=120) as client:
        if client.get("/health").json().get("rasa") != "up":
            print(f"\nvoice turn: the stack at {url} has no Rasa up; skipped")
            return
        for clip in chosen:
            conversation = open_conversation(client)  # a new web conversation (and its token) for each turn
            started = time.perf_counter()
            response = client.post("/api/voice", files={"audio": (clip["name"], clip["audio"], "audio/webm")},
                                   data={"sender": conversation.sender, "language": "en"}, headers=conversation.headers)
            answered = time.perf_counter()
            if response.status_code != 200:
                print(f"  /api/voice answered {response.status_code}: {response.text[:200]}")
                continue
            body = response.json()
            first = next((m for m in body["messages"] if m.get("text")), None)
            if first is None:
                continue
            speech = client.post("/api/tts", json={"text": first["text"],
                                                   "language": (first.get("custom") or {}).get("language", "en")})
            done = time.perf_counter()
            if speech.status_code != 200:
                print(f"  /api/tts answered {speech.status_code}")
                continue
            got = (first.get("custom") or {}).get("item")
            right += got == clip["item"]
            if got != clip["item"] and clip["item"] not in missed:
                missed[clip["item"]] = f"{clip['text']!r} heard as {body['transcript']['text']!r} -> {got}"
            language = (first.get("custom") or {}).get("language", "en")
            cold = time.perf_counter()  # the same speech without the gateway's cache: espeak-ng itself
            EspeakEngine().synthesise(clean_for_speech(first["text"], language), language, False)
            cold_tts_ms.append((time.perf_counter() - cold) * 1000)
            timings.append((done - started) * 1000)
            stt_ms.append((answered - started) * 1000)
            tts_ms.append((done - answered) * 1000)
    if not timings:
        print("\nvoice turn: no turn completed")
        return
    print(f"\nvoice turn against {url} ({len(timings)} turns, medium questions, en-us@140; the same answers "
          f"repeat, so from the second time TTS is served from its cache):")
    print(f"  speech in → answer (/api/voice):  p50 {percentile(stt_ms, 0.5):.0f} ms, p95 {percentile(stt_ms, 0.95):.0f} ms")
    print(f"  answer → audio out (/api/tts):    p50 {percentile(tts_ms, 0.5):.0f} ms, p95 {percentile(tts_ms, 0.95):.0f} ms")
    print(f"  whole turn:                       p50 {percentile(timings, 0.5):.0f} ms, p95 {percentile(timings, 0.95):.0f} ms")
    print(f"  audio out uncached (espeak-ng):   p50 {percentile(cold_tts_ms, 0.5):.0f} ms, "
          f"p95 {percentile(cold_tts_ms, 0.95):.0f} ms  → uncached turn about "
          f"{percentile(stt_ms, 0.5) + percentile(cold_tts_ms, 0.5):.0f} ms")
    print(f"  answered from the expected item:  {right}/{len(timings)}")
    for item, why in missed.items():
        print(f"    expected {item}: {why}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="a running govbot gateway")
    parser.add_argument("--turns", type=int, default=12, help="voice turns against the stack")
    parser.add_argument("--no-stack", action="store_true", help="only the in-process STT figures")
    parser.add_argument("--min-confidence", type=float, default=0.4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="govbot-stt-bench-") as folder:
        clips = synthesize(Path(folder))
    stt_figures(clips, args.min_confidence)
    if not args.no_stack:
        try:
            voice_turns(clips, args.url, args.turns)
        except httpx.HTTPError as error:
            print(f"\nvoice turn: cannot reach {args.url} ({type(error).__name__})")


if __name__ == "__main__":
    main()
