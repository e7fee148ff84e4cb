"""Chinese voice end to end: spoken questions (tests/data/spoken_zh.jsonl) in voices the product does not serve,
recognised by the product's own voice input, then answered by the served knowledge search as the bot does.

Usage: .venv/bin/python -m benchmarks.voice_zh [--limit N] [--voices xiaoxiao@1.0,gcin,...]
                                               [--auto-limit N] [--prompt-voices ...] [--prompt-limit N]
                                               [--minutes M] [--misses]

Voices: Kokoro-82M zf_xiaoxiao@1.0, zm_yunjian@1.0, zf_xiaobei@1.2, zm_yunyang@0.9 (the product speaks with
zm_yunxi, which is left out) and `gcin`, human recordings of single Mandarin syllables (the Debian package
gcin-voice) joined into sentences. Each clip is encoded as WebM/Opus like a browser's MediaRecorder and cached in
var/bench-audio/voice_zh/, so a rerun only recognises. Recognition is `VoiceInput.from_settings(Settings())`
with language "zh" (decode + recognise, timed; the model is loaded before timing); the transcript goes through
`knowledge.service.open_search` + `search()` like the bot's action (with the answerability check).

Figures per voice: character error rate (edit distance over characters, punctuation and spaces ignored,
Traditional→Simplified, Arabic numbers read as Chinese numerals), toneless-pinyin syllable error rate, p50/p95
seconds, share below the confirmation threshold, and the share "right": the right item answered, or offered among
the choices of a clarify (a transcript held for confirmation counts by what its "yes" would send: the same text).
Also how often "auto" picks zh on a subset, and the default Whisper prompt against a plain one.
Prints figures only; changes nothing.
"""

import argparse
import asyncio
import hashlib
import os
import random
import re
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Optional

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch and faiss are imported

from pypinyin import Style, lazy_pinyin  # noqa: E402

from benchmarks.stt import edit_distance  # noqa: E402
from channels.voice.audio import AudioError  # noqa: E402
from channels.voice.service import VoiceInput  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.stats import percentile  # noqa: E402
from knowledge.evaluate import EvalQuery, read_queries  # noqa: E402
from knowledge.normalize import to_simplified  # noqa: E402
from knowledge.search import KnowledgeSearch, SearchResult  # noqa: E402
from testkit.speech import encode, gcin_speak, kokoro_speak  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "tests" / "data" / "spoken_zh.jsonl"
KB = ROOT / "knowledge" / "items"
PLAIN_PROMPT = "以下是普通话的句子。"


@dataclass(frozen=True)
class Voice:
    """One way of speaking the questions: a Kokoro voice at a speed, or gcin-voice's human syllables."""

    label: str
    kokoro: Optional[str] = None
    speed: float = 1.0

    def speak(self, text: str, folder: Path, name: str) -> Path:
        """The text spoken into a WAV file in `folder`."""
        if self.kokoro is None:
            return gcin_speak(text, folder, name=name)
        return kokoro_speak(text, folder, voice=self.kokoro, speed=self.speed, name=name)


VOICES = {voice.label: voice for voice in (
    Voice("xiaoxiao@1.0", "zf_xiaoxiao", 1.0), Voice("yunjian@1.0", "zm_yunjian", 1.0),
    Voice("xiaobei@1.2", "zf_xiaobei", 1.2), Voice("yunyang@0.9", "zm_yunyang", 0.9), Voice("gcin"))}


@dataclass
class Heard:
    """One clip recognised and searched."""

    query: EvalQuery
    voice: str
    text: str
    confidence: float
    seconds: float        # decode + recognition, wall time
    audio_seconds: float
    confirm: bool
    result: Optional[SearchResult]  # None: nothing heard, so nothing was sent to the bot


@dataclass
class Budget:
    """A wall-clock limit for the whole run: phases stop taking new clips when it is spent."""

    minutes: float
    started: float = field(default_factory=time.perf_counter)

    def minutes_spent(self) -> float:
        return (time.perf_counter() - self.started) / 60

    def spent(self) -> bool:
        return self.minutes_spent() > self.minutes


# --- text comparison -----------------------------------------------------------------------------------------------

_CN_DIGITS = "零一二三四五六七八九"


def spoken_number(digits: str) -> str:
    """Arabic digits as a Chinese speaker reads them: up to three digits as a number (16 → 十六, 85 → 八十五), longer
    ones and those with a leading zero digit by digit (years, phone numbers: 2025 → 二零二五)."""
    if len(digits) > 3 or (len(digits) > 1 and digits[0] == "0"):
        return "".join(_CN_DIGITS[int(d)] for d in digits)
    value = int(digits)
    if value < 10:
        return _CN_DIGITS[value]
    hundreds, tens, ones = value // 100, value // 10 % 10, value % 10
    text = f"{_CN_DIGITS[hundreds]}百" if hundreds else ""
    if tens:
        text += ("" if tens == 1 and not hundreds else _CN_DIGITS[tens]) + "十"
    elif hundreds and ones:
        text += "零"
    return text + (_CN_DIGITS[ones] if ones else "")


def comparable(text: str) -> str:
    """The characters that count: Simplified, numbers as words, no punctuation or spaces, lower case."""
    text = re.sub(r"\d+", lambda match: spoken_number(match.group()), to_simplified(text))
    return "".join(char for char in text.lower() if char.isalnum())


def syllables(text: str) -> list[str]:
    """Toneless pinyin, one syllable per Chinese character (other runs as they are)."""
    return lazy_pinyin(comparable(text), style=Style.NORMAL)


def error_rate(pairs: list[tuple[list[str], list[str]]]) -> float:
    """Edits over reference length, summed over (reference, hypothesis) pairs."""
    total = sum(len(reference) for reference, _ in pairs)
    return sum(edit_distance(reference, hypothesis) for reference, hypothesis in pairs) / total if total else 0.0


def cer(rows: list[Heard]) -> float:
    return error_rate([(list(comparable(row.query.query)), list(comparable(row.text))) for row in rows])


def syllable_error(rows: list[Heard]) -> float:
    return error_rate([(syllables(row.query.query), syllables(row.text)) for row in rows])


# --- what the citizen gets -----------------------------------------------------------------------------------------

def outcome(result: Optional[SearchResult], expected: frozenset[str]) -> str:
    """answer (right item), clarify (right item among the choices), wrong (another item answered), missed (choices
    without it) or none (refused, or nothing heard)."""
    if result is None:
        return "none"
    offered = [candidate.id for candidate in result.offered]
    if result.decision == "answer":
        return "answer" if offered[0] in expected else "wrong"
    if result.decision == "clarify":
        return "clarify" if set(offered) & expected else "missed"
    return "none"


def right(rows: list[Heard]) -> float:
    """Share with the right item answered or offered."""
    return share(rows, lambda row: outcome(row.result, row.query.expected_ids) in ("answer", "clarify"))


def share(rows: list[Heard], test: Callable[[Heard], bool]) -> float:
    return sum(1 for row in rows if test(row)) / len(rows) if rows else 0.0


# --- audio ---------------------------------------------------------------------------------------------------------

def pick(queries: list[EvalQuery], limit: int) -> list[EvalQuery]:
    """`limit` of the questions in a fixed random order: a smaller limit picks a part of a larger one's, so cached
    clips serve every limit."""
    return random.Random(17).sample(queries, len(queries))[:limit]


def clip(voice: Voice, query: EvalQuery, cache: Path) -> bytes:
    """The question spoken by the voice, WebM/Opus at 48 kHz as browsers record it (cached)."""
    key = hashlib.sha256(f"{voice.label}\n{query.query}".encode()).hexdigest()[:16]
    cached = cache / voice.label / f"{key}.webm"
    if not cached.is_file():
        cached.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as scratch:
            webm = encode(voice.speak(query.query, Path(scratch), name=key), "webm-opus")
            webm.replace(cached)
    return cached.read_bytes()


def synthesize(voices: list[Voice], queries: list[EvalQuery], cache: Path) -> dict[tuple[str, str], bytes]:
    """Every question in every voice, question by question (made once, then read from the cache)."""
    started = time.perf_counter()
    before = len(list(cache.glob("*/*.webm")))
    clips = {(voice.label, query.query): clip(voice, query, cache) for query in queries for voice in voices}
    print(f" {len(clips)} clips, {len(list(cache.glob('*/*.webm'))) - before} of them synthesized now "
          f"({time.perf_counter() - started:.0f} s)", flush=True)
    return clips


# --- recognition ---------------------------------------------------------------------------------------------------

def recognise(voice_input: VoiceInput, search: KnowledgeSearch, voice: str, query: EvalQuery,
              audio: bytes) -> Heard:
    """The clip through VoiceInput.handle("zh") and its transcript through the served search."""
    started = time.perf_counter()
    try:
        transcript = asyncio.run(voice_input.handle(audio, "zh"))
        text, confidence, audio_seconds = transcript.text, transcript.confidence, transcript.seconds
        confirm = voice_input.needs_confirmation(transcript)
    except AudioError as error:  # no_speech: nothing is sent to the bot
        if error.code != "no_speech":
            raise
        text, confidence, audio_seconds, confirm = "", 0.0, 0.0, False
    elapsed = time.perf_counter() - started
    result = search.search(text) if text.strip() else None  # the bot's search, as its action calls it
    return Heard(query, voice, text, confidence, elapsed, audio_seconds, confirm, result)


def run_voices(voice_input: VoiceInput, search: KnowledgeSearch, voices: list[str], queries: list[EvalQuery],
               clips: dict[tuple[str, str], bytes], budget: Budget) -> dict[str, list[Heard]]:
    """Every question in every voice, question by question (so that every voice has as many clips when the time
    budget runs out)."""
    rows: dict[str, list[Heard]] = {voice: [] for voice in voices}
    for number, query in enumerate(queries, 1):
        if budget.spent():
            print(f"  (time budget spent after {number - 1} of {len(queries)} questions)", flush=True)
            break
        for voice in voices:
            rows[voice].append(recognise(voice_input, search, voice, query, clips[(voice, query.query)]))
        if number % 10 == 0:
            print(f"  {number} of {len(queries)} questions, {budget.minutes_spent():.1f} min", flush=True)
    return rows


def warm_up(voice_input: VoiceInput, audio: bytes) -> float:
    """Load the Chinese model (and run it once) before anything is timed; the seconds it took."""
    started = time.perf_counter()
    asyncio.run(voice_input.handle(audio, "zh"))
    return time.perf_counter() - started


def detect_share(voice_input: VoiceInput, audios: list[bytes]) -> tuple[float, float]:
    """(share of clips for which "auto" picks zh, p50 seconds of decode + detection): the language choice of
    `SpeechToText.transcribe(audio, "auto")`, without the recognition that follows it."""
    picked, timings = [], []
    for audio in audios:
        started = time.perf_counter()
        picked.append(voice_input.stt.detect(voice_input.stt.decoder.decode(audio)))
        timings.append(time.perf_counter() - started)
    return sum(1 for language in picked if language == "zh") / len(picked), percentile(timings, 0.5)


# --- report --------------------------------------------------------------------------------------------------------

HEADER = (f"{'voice':<14} {'n':>3} {'audio s':>7} {'CER':>6} {'syll.err':>8} {'p50 s':>6} {'p95 s':>6} "
          f"{'confirm':>7} {'right':>6} {'answer':>6} {'clarify':>7} {'wrong':>6} {'missed':>6} {'refused':>7}")


def row_line(label: str, rows: list[Heard]) -> str:
    """One line of the table."""
    outcomes = [outcome(row.result, row.query.expected_ids) for row in rows]
    count = len(rows) or 1
    timings = [row.seconds for row in rows]
    return (f"{label:<14} {len(rows):>3} {sum(r.audio_seconds for r in rows) / count:>7.1f} {cer(rows):>6.3f} "
            f"{syllable_error(rows):>8.3f} {percentile(timings, 0.5):>6.2f} {percentile(timings, 0.95):>6.2f} "
            f"{share(rows, lambda r: r.confirm):>7.3f} {right(rows):>6.3f} "
            + " ".join(f"{outcomes.count(name) / count:>{width}.3f}"
                       for name, width in (("answer", 6), ("clarify", 7), ("wrong", 6), ("missed", 6), ("none", 7))))


def typed_rows(search: KnowledgeSearch, queries: list[EvalQuery]) -> list[Heard]:
    """The questions as typed (no speech): the upper bound of what voice can reach."""
    return [Heard(query, "typed", query.query, 1.0, 0.0, 0.0, False, search.search(query.query)) for query in queries]


def print_misses(rows: list[Heard]) -> None:
    """Each clip whose right item was neither answered nor offered, with what was heard."""
    for row in rows:
        result = outcome(row.result, row.query.expected_ids)
        if result not in ("answer", "clarify"):
            offered = ",".join(candidate.id for candidate in row.result.offered) if row.result else "-"
            print(f"  {row.voice:<12} {row.query.query} → {row.text or '(nothing heard)'}  [{result}: {offered}; "
                  f"expected {row.query.expected}]")


def print_summary(heard: dict[str, list[Heard]], typed: list[Heard], min_confidence: float,
                  budget: Budget) -> None:
    """The table: one line per voice, all voices together, and the typed questions."""
    print(f"\n=== summary (load average now {' '.join(f'{x:.1f}' for x in os.getloadavg())}, "
          f"{budget.minutes_spent():.1f} min) ===")
    print("right = right item answered, or offered in a clarify (target >= 0.85); confirm = below the confirmation "
          f"threshold ({min_confidence}); seconds = decode + recognition")
    print(HEADER)
    for label, rows in heard.items():
        print(row_line(label, rows))
    print(row_line("all voices", [row for rows in heard.values() for row in rows]))
    print(row_line("typed", typed))


def print_auto(auto: dict[str, tuple[int, float, float]]) -> None:
    """How often "auto" picked Chinese, per voice."""
    print("\n\"auto\" language detection (Whisper base, among zh/en) on Chinese clips:")
    for label, (count, zh_share, p50) in auto.items():
        print(f"  {label:<14} picks zh {zh_share:.3f} (n={count}), decode + detect p50 {p50:.2f} s")


def print_prompts(compared: dict[str, tuple[list[Heard], list[Heard]]], prompt: str) -> None:
    """The two Whisper prompts side by side on the same clips."""
    print(f"\nWhisper prompt: default {prompt!r} vs plain {PLAIN_PROMPT!r} (same clips)")
    print(f"  {'voice':<14} {'n':>3} {'CER default':>11} {'CER plain':>9} {'right default':>13} "
          f"{'right plain':>11} {'p50 default':>11} {'p50 plain':>9}")
    for label, (default_rows, plain_rows) in compared.items():
        print(f"  {label:<14} {len(plain_rows):>3} {cer(default_rows):>11.3f} {cer(plain_rows):>9.3f} "
              f"{right(default_rows):>13.3f} {right(plain_rows):>11.3f} "
              f"{percentile([r.seconds for r in default_rows], 0.5):>11.2f} "
              f"{percentile([r.seconds for r in plain_rows], 0.5):>9.2f}")


def compare_prompts(settings: Settings, search: KnowledgeSearch, heard: dict[str, list[Heard]], labels: list[str],
                    chosen: list[EvalQuery], clips: dict[tuple[str, str], bytes],
                    budget: Budget) -> dict[str, tuple[list[Heard], list[Heard]]]:
    """The chosen clips of some voices again with the plain prompt: {voice: (default-prompt rows, plain rows)}."""
    plain = VoiceInput.from_settings(settings.model_copy(update={"stt_zh_prompt": PLAIN_PROMPT}))
    warm_up(plain, clips[(labels[0], chosen[0].query)])
    compared = {}
    for label, rows in run_voices(plain, search, labels, chosen, clips, budget).items():
        again = {row.query.query for row in rows}
        compared[label] = ([row for row in heard[label] if row.query.query in again], rows)
    return compared


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=40, help="questions per voice (a fixed random part of the file)")
    parser.add_argument("--voices", default=",".join(VOICES), help=f"comma-separated, of {', '.join(VOICES)}")
    parser.add_argument("--auto-limit", type=int, default=8, help="clips per voice for the \"auto\" language check")
    parser.add_argument("--prompt-voices", default="xiaoxiao@1.0,gcin",
                        help="voices of the prompt comparison (empty: skip it)")
    parser.add_argument("--prompt-limit", type=int, default=20, help="questions per voice of the prompt comparison")
    parser.add_argument("--minutes", type=float, default=60.0, help="stop recognising new clips after this long")
    parser.add_argument("--misses", action="store_true", help="list every clip whose right item was not reached")
    args = parser.parse_args(argv)
    names, prompt_names = args.voices.split(","), [name for name in args.prompt_voices.split(",") if name]
    unknown = [name for name in names + prompt_names if name not in VOICES]
    if unknown:
        parser.error(f"unknown voices {', '.join(unknown)}; known: {', '.join(VOICES)}")
    voices, prompt_names = [VOICES[name] for name in names], [name for name in prompt_names if name in names]
    budget, settings = Budget(args.minutes), Settings()
    queries = pick(read_queries(QUESTIONS), args.limit)
    print(f"{len(queries)} spoken questions ({len({q.expected for q in queries})} items), voices {', '.join(names)}; "
          f"{os.cpu_count()} cores, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    print("synthesizing (cached in var/bench-audio/voice_zh):", flush=True)
    clips = synthesize(voices, queries, settings.var_dir / "bench-audio" / "voice_zh")

    from knowledge.service import open_search

    search = open_search(KB, settings=settings)
    search.cache.size = 0
    typed = typed_rows(search, queries)
    voice_input = VoiceInput.from_settings(settings)
    load_s = warm_up(voice_input, clips[(names[0], queries[0].query)])
    print(f"served search: {len(search.items)} items, answerability check "
          f"{'on' if search.calibration and search.calibration.answerability else 'off'}; Whisper base load + first "
          f"clip {load_s:.1f} s; confirmation below {voice_input.min_confidence}; prompt {settings.stt_zh_prompt!r}",
          flush=True)
    heard = run_voices(voice_input, search, names, queries, clips, budget)
    done = [query for query in queries if query.query in {row.query.query for row in heard[names[0]]}]

    auto = {}
    for name in names:
        subset = done[: args.auto_limit]
        if subset and not budget.spent():
            auto[name] = (len(subset), *detect_share(voice_input, [clips[(name, q.query)] for q in subset]))
    chosen = done[: args.prompt_limit]
    compared = compare_prompts(settings, search, heard, prompt_names, chosen, clips, budget) \
        if prompt_names and chosen and not budget.spent() else {}

    print_summary(heard, typed, voice_input.min_confidence, budget)
    if auto:
        print_auto(auto)
    if compared:
        print_prompts(compared, settings.stt_zh_prompt)
    if args.misses:
        print("\nclips whose right item was neither answered nor offered:")
        print_misses([row for rows in heard.values() for row in rows])
        for label, (_, plain_rows) in compared.items():
            print_misses([replace(row, voice=f"{label}/plain") for row in plain_rows])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
