"""Speech-out figures for Mandarin (issue 17): how well each Kokoro voice is understood, how soon the first audio
of an answer is ready, how much memory the speech models take, a whole Chinese voice turn through the real stack,
and whether Kokoro speaks English better than espeak-ng when fed espeak-ng's own phonemes.

Usage: .venv/bin/python -m benchmarks.speech_out [--quick] [--sections 1,2,3,4,5]

1. voices: the Chinese answers of 12 knowledge items as the bot renders them (bot/actions/render.py), cleaned for
   speech, their opening (the title, and the next clause after a short one; --quick: the title) spoken by every
   Mandarin Kokoro voice (--quick: the served one), at the slow speed by the served voice, and by espeak-ng, heard
   by the product's Chinese recogniser (Whisper base); character error rate, real-time factor (wall clock, and CPU
   seconds per audio second, which depends less on what else the machine runs) per voice.
2. first audio: `speak(text, "zh", piece=0)` of ~300-character answers on a fresh cache; one onnxruntime thread,
   idle threads not spinning, shorter first pieces; and a whole answer piece by piece (not in --quick).
3. memory: RSS of a process with Whisper base, tiny.en and Kokoro used once each; the stack's gateway in section 4.
4. voice turn: a question spoken by zf_xiaoxiao (not the served voice), WebM/Opus, POST /api/voice then
   POST /api/tts of piece 0 of the answer, against a real `govbot run` stack.
5. English: Kokoro (af_heart, am_adam) fed espeak-ng's IPA, against espeak-ng's own audio, heard by tiny.en.

The machine's 2 cores are shared with other work: the load average is printed with the figures.
"""

import argparse
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unicodedata
import wave
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Callable, Optional

import httpx
import psutil

from benchmarks.stt import edit_distance, words
from bot.actions.render import render_answer
from channels.voice import speech_text
from channels.voice.kokoro import KokoroEngine
from channels.voice.models import KOKORO_DIR, KOKORO_MODEL
from channels.voice.output import speech_output
from channels.voice.service import VoiceInput
from channels.voice.speech_text import clean_for_speech, read_numbers, speech_pieces
from channels.voice.tts import EspeakEngine, join_audio
from core.settings import PROJECT_ROOT, Settings
from core.stats import percentile
from knowledge.loader import load_items
from knowledge.normalize import to_simplified
from knowledge.schema import ServiceItem

MANDARIN_VOICES = ["zm_yunxi", "zf_xiaobei", "zf_xiaoni", "zf_xiaoxiao", "zf_xiaoyi", "zm_yunjian", "zm_yunxia",
                   "zm_yunyang"]
SERVED_VOICE = Settings.model_fields["tts_zh_voice"].default
CER_TARGET = 0.15
FIRST_AUDIO_TARGET = 2.0
TURN_TARGET = 3.0
CACHED_SECONDS = 0.1  # an /api/tts answer this fast came from the cache (a clarification asked before, say)
SPEECH_MODELS = PROJECT_ROOT / "var" / "speech-models"
KOKORO_FOLDER = SPEECH_MODELS / KOKORO_DIR

# common services: the first 12 for the voices (section 1), the last 5 for the first audio (section 2)
ITEMS = ["id-card-lost-replace", "passport-apply", "hpf-withdraw-rent", "social-security-card-lost",
         "marriage-registration", "pension-claim", "business-registration", "birth-medical-certificate",
         "driver-license-renew", "residence-permit-apply", "unemployment-benefit", "medical-insurance-enroll",
         "legal-aid", "senior-allowance", "traffic-violation", "vaccination-appointment"]

# (question, the items that answer it) for the voice turn
QUESTIONS = [("补办身份证怎么办", {"id-card-lost-replace"}),
             ("公积金怎么提取", {"hpf-withdraw-rent", "hpf-withdraw-retire"}),
             ("护照怎么办理", {"passport-apply"}),
             ("社保卡丢了怎么办", {"social-security-card-lost"}),
             ("结婚登记要带什么", {"marriage-registration"}),
             ("养老金怎么领取", {"pension-claim"}),
             ("医保怎么报销", {"medical-out-of-town-filing", "chronic-disease-outpatient", "medical-insurance-enroll",
                         "medical-insurance-e-voucher"}),
             ("营业执照怎么办", {"business-registration", "individual-business-license"}),
             ("居住证怎么办理", {"residence-permit-apply"}),
             ("失业金怎么领", {"unemployment-benefit"})]
WARM_UP_QUESTION = "驾驶证到期了怎么换"

ENGLISH = ["How do I apply for a passport?", "I lost my identity card, what should I do?",
           "Where can I renew my driving licence?", "Please bring your household register and two photos.",
           "The fee is waived for people over seventy.", "You can apply online or at the service centre.",
           "How long does it take to get a residence permit?", "Call the citizen hotline if you need help.",
           "Your pension is paid every month to your bank account.",
           "Bring the marriage certificate and both identity cards.", "The application takes about ten working days.",
           "You can withdraw your housing fund to pay the rent.", "Register your newborn baby within one month.",
           "Unemployment benefit is paid for up to two years.", "Make an appointment before you visit the office.",
           "The social security card can be replaced at any branch.",
           "Students from poor families can apply for financial aid.",
           "You need a certificate of no criminal record for this job.",
           "Check the status of your application on the government portal.",
           "An agent will answer your question as soon as possible."]


# --- small helpers ---------------------------------------------------------------------------------------------

def load_average() -> str:
    """The 1/5/15-minute load averages, for the figures' context."""
    return "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg())


def heading(title: str) -> None:
    """A section's title line, with the machine's load."""
    print(f"\n== {title}  [{load_average()}]", flush=True)


def wav_seconds(audio: bytes) -> float:
    """The length of a WAV recording in seconds."""
    with wave.open(io.BytesIO(audio), "rb") as reader:
        return reader.getnframes() / reader.getframerate()


def timed(action: Callable[[], Any]) -> tuple[Any, float]:
    """The action's result and the seconds it took."""
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def rss_mb(pid: Optional[int] = None) -> float:
    """Resident memory of a process (this one by default) in MB."""
    return psutil.Process(pid or os.getpid()).memory_info().rss / 2**20


def service_items() -> dict[str, ServiceItem]:
    """The knowledge base's items by id."""
    return {item.id: item for item in load_items(PROJECT_ROOT / "knowledge" / "items")}


# --- character error rate ----------------------------------------------------------------------------------------

def verbalised(text: str) -> str:
    """Numbers left as digits said in words, as Kokoro's phonemizer says them (misaki runs cn2an's an2cn)."""
    from misaki import zh as misaki_zh

    try:
        return str(misaki_zh.cn2an.transform(text, "an2cn"))
    except Exception:  # cn2an refuses some odd digit strings; compare them as written
        return text


def spoken_characters(text: str, heard: bool = False) -> list[str]:
    """The characters compared for CER: Simplified, numbers in words, no punctuation or spaces, lower case. A
    transcript first gets the speech normaliser's digit-by-digit reading of long numbers, as the reference had."""
    text = to_simplified(text)
    if heard:
        text = read_numbers(text, "zh")
    text = verbalised(text).lower()
    return [char for char in text if unicodedata.category(char)[0] in "LN"]


def character_errors(reference: str, heard: str) -> tuple[int, int]:
    """(edit distance, reference length) over spoken characters."""
    said = spoken_characters(reference)
    return edit_distance(said, spoken_characters(heard, heard=True)), len(said)


# --- 1. voices -------------------------------------------------------------------------------------------------

_CLAUSE = re.compile(r"(?<=[。！？；，、：:,;])\s*")


def opening(spoken: str, chars: int) -> str:
    """The start of a cleaned answer, whole clauses, at least `chars` characters (or all of it)."""
    taken = ""
    for clause in (part for part in _CLAUSE.split(spoken) if part.strip()):
        taken = f"{taken}{clause}"
        if len(taken) >= chars:
            break
    return taken


def answer_openings(count: int, chars: int) -> list[tuple[str, str]]:
    """(item id, the opening of its Chinese answer as it is spoken) for `count` items."""
    items = service_items()
    return [(item_id, opening(clean_for_speech(render_answer(items[item_id], "zh"), "zh"), chars))
            for item_id in ITEMS[:count]]


@dataclass
class Heard:
    """One synthesised and recognised text."""

    errors: int
    length: int
    synthesis: float
    cpu: float
    audio: float
    transcript: str


def speak_in_pieces(engine: Any, text: str, language: str, slow: bool) -> tuple[bytes, float, float]:
    """The text synthesised piece by piece as TextToSpeech does, joined; and the seconds it took (wall, CPU)."""
    started, cpu = time.perf_counter(), time.process_time()
    parts = [engine.synthesise(piece, language, slow) for piece in speech_pieces(text, language)]
    return join_audio(parts, "audio/wav"), time.perf_counter() - started, time.process_time() - cpu


def hear_all(engine: Any, openings: list[tuple[str, str]], voice: VoiceInput, slow: bool) -> list[Heard]:
    """Every opening spoken by the engine and recognised in Chinese."""
    results = []
    for _, text in openings:
        audio, synthesis, cpu = speak_in_pieces(engine, text, "zh", slow)
        transcript = voice.stt.transcribe(audio, "zh")
        errors, length = character_errors(text, transcript.text)
        results.append(Heard(errors, length, synthesis, cpu, wav_seconds(audio), transcript.text))
    return results


def voice_row(name: str, results: list[Heard]) -> dict[str, Any]:
    """One voice's totals: CER and RTF over all its texts."""
    cer = sum(r.errors for r in results) / max(1, sum(r.length for r in results))
    audio = max(1e-9, sum(r.audio for r in results))
    rtf, cpu_rtf = sum(r.synthesis for r in results) / audio, sum(r.cpu for r in results) / audio
    return {"voice": name, "cer": cer, "rtf": rtf, "cpu_rtf": cpu_rtf, "audio": sum(r.audio for r in results),
            "synthesis": sum(r.synthesis for r in results), "results": results}


def print_voice_row(row: dict[str, Any]) -> None:
    print(f"  {row['voice']:<22} CER {row['cer']:6.1%}   RTF {row['rtf']:5.2f} (CPU s/audio s {row['cpu_rtf']:5.2f})   "
          f"audio {row['audio']:6.1f} s   synthesis {row['synthesis']:6.1f} s   [{load_average()}]", flush=True)


def section_voices(quick: bool, voice: VoiceInput, voices: list[str], chars: int = 0) -> None:
    """Section 1: CER and RTF per Mandarin voice, espeak-ng and the served voice at the slow speed."""
    count, chars = 12, chars or (1 if quick else 8)  # 1: the titles only
    voices = voices or ([SERVED_VOICE] if quick else MANDARIN_VOICES)
    openings = answer_openings(count, chars)
    heading(f"1. voices: {count} answers' openings ({sum(len(t) for _, t in openings)} characters in all), "
            f"recognised by Whisper base (zh)")
    for item_id, text in openings[:3]:
        print(f"  e.g. {item_id}: {text}")
    whisper = voice.stt.engines["zh"]
    _, seconds = timed(whisper.load)  # type: ignore[attr-defined]
    print(f"  Whisper base load {seconds:.2f} s")
    rows = [voice_row("espeak-ng (cmn-latn-pinyin)", hear_all(EspeakEngine(), openings, voice, False))]
    print_voice_row(rows[0])
    for name in voices:
        engine = KokoroEngine(KOKORO_FOLDER, voice=name)
        engine.synthesise("你好。", "zh", False)  # the phonemizer's dictionary loads on first use
        rows.append(voice_row(f"kokoro/{name}", hear_all(engine, openings, voice, False)))
        print_voice_row(rows[-1])
        if name == SERVED_VOICE or len(voices) == 1:
            rows.append(voice_row(f"kokoro/{name}@{engine.slow_speed}", hear_all(engine, openings, voice, True)))
            print_voice_row(rows[-1])
    report_voices(rows, openings)


def report_voices(rows: list[dict[str, Any]], openings: list[tuple[str, str]]) -> None:
    """The verdict on the target, the best voice, and the worst transcripts of espeak-ng and the served voice."""
    espeak = rows[0]
    served = next((row for row in rows if row["voice"] == f"kokoro/{SERVED_VOICE}"), None)
    kokoro = [row for row in rows if row["voice"].startswith("kokoro/") and "@" not in row["voice"]]
    if served is not None:
        verdict = "meets" if served["cer"] <= CER_TARGET else "misses"
        print(f"  target CER <= {CER_TARGET:.0%} for the served voice {SERVED_VOICE}: {served['cer']:.1%} ({verdict}); "
              f"espeak-ng {espeak['cer']:.1%} in the same run")
    best = min(kokoro, key=lambda row: (round(row["cer"], 3), row["rtf"]))
    print(f"  best Kokoro voice here by CER (then RTF): {best['voice']} {best['cer']:.1%}")
    for row in [row for row in rows if row is espeak or row is served or "@" in row["voice"]]:
        pairs = sorted(zip(openings, row["results"]), key=lambda pair: -pair[1].errors / max(1, pair[1].length))
        for (_, text), heard in pairs[:3]:
            print(f"  worst of {row['voice']}: {text!r} -> {heard.transcript!r} ({heard.errors}/{heard.length})")


# --- 2. first audio --------------------------------------------------------------------------------------------

def long_answers(count: int, chars: int = 300) -> list[str]:
    """`count` answers as the bot renders them, each cut at a line end near `chars` characters."""
    items = service_items()
    answers = []
    for item_id in ITEMS[-count:]:
        lines, taken = render_answer(items[item_id], "zh").splitlines(), list[str]()
        while lines and sum(len(line) + 1 for line in taken) < chars:
            taken.append(lines.pop(0))
        answers.append("\n".join(taken))
    return answers


def fresh_speech(folder: Path, threads: int, spinning: bool) -> tuple[Any, float]:
    """The gateway's TextToSpeech on an empty cache in `folder`, its Kokoro loaded (its session rebuilt with idle
    onnxruntime threads sleeping, not spinning, when `spinning` is off); and the load time."""
    settings = Settings(var_dir=folder, speech_models_dir=SPEECH_MODELS, stt_threads=threads, tts_gtts=False)
    tts = speech_output(settings)
    kokoro = next(engine for engine in tts.engines if isinstance(engine, KokoroEngine))
    _, load = timed(kokoro.load)
    if not spinning:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        kokoro._session = onnxruntime.InferenceSession(str(kokoro.model_dir / KOKORO_MODEL), sess_options=options,
                                                       providers=["CPUExecutionProvider"])
    return tts, load


@dataclass(frozen=True)
class Config:
    """One way of serving the first piece: onnxruntime threads, idle threads spinning, first piece's length."""

    threads: int
    spinning: bool
    first_piece: int

    def __str__(self) -> str:
        return f"threads {self.threads}{'' if self.spinning else ' (no spin)'}, first piece {self.first_piece}"


def first_audio(folder: Path, texts: list[str], config: Config) -> dict[str, Any]:
    """Seconds (wall and CPU) to piece 0 of each text on a fresh cache, served as `config` says."""
    speech_text.FIRST_PIECE_CHARS["zh"] = config.first_piece
    tts, load = fresh_speech(folder, config.threads, config.spinning)
    _, warm = timed(lambda: tts.speak("请稍候。", "zh", piece=0))  # the phonemizer's dictionary, onnxruntime's arena
    result: dict[str, Any] = {"tts": tts, "load": load, "warm": warm, "timings": [], "cpu": [], "lengths": [],
                              "audio": []}
    for text in texts:
        cpu = time.process_time()
        speech, seconds = timed(partial(tts.speak, text, "zh", piece=0))
        result["cpu"].append(time.process_time() - cpu)
        if speech.engine == "espeak-ng":
            print("  (Kokoro failed: espeak-ng spoke)")
        result["timings"].append(seconds)
        result["lengths"].append(len(tts.pieces(text, "zh")[0]))
        result["audio"].append(wav_seconds(speech.audio))
    return result


def print_first_audio(config: Config, result: dict[str, Any], note: str = "") -> None:
    timings = result["timings"]
    print(f"  {note + str(config):<38} load {result['load']:.2f} s, first use {result['warm']:.2f} s | piece 0 "
          f"({min(result['lengths'])}-{max(result['lengths'])} chars, {percentile(result['audio'], 0.5):.1f} s audio): "
          f"p50 {percentile(timings, 0.5):.2f} s  p95 {percentile(timings, 0.95):.2f} s  max {max(timings):.2f} s; "
          f"CPU p50 {percentile(result['cpu'], 0.5):.2f} s   [{load_average()}]", flush=True)


def whole_answer(tts: Any, text: str) -> None:
    """Every piece of one answer asked for in turn (piece 0 already cached), as a client that asks for the next
    piece as soon as it has one: synthesis time, and how often and how long playing would wait for a piece."""
    pieces = tts.pieces(text, "zh")
    ready, playing_until, total_audio, total_cpu = 0.0, 0.0, 0.0, 0.0
    waits: list[float] = []
    for number in range(len(pieces)):
        cpu = time.process_time()
        speech, seconds = timed(partial(tts.speak, text, "zh", piece=number))
        total_cpu += time.process_time() - cpu
        ready += seconds
        audio = wav_seconds(speech.audio)
        waits.append(max(0.0, ready - playing_until) if number else 0.0)
        playing_until = max(playing_until, ready) + audio
        total_audio += audio
    print(f"  whole answer ({len(text)} chars, {len(pieces)} pieces, piece 0 cached): synthesis {ready:.1f} s "
          f"(CPU {total_cpu:.1f} s) for {total_audio:.1f} s of audio (RTF {ready / total_audio:.2f}); playing would "
          f"wait {sum(1 for wait in waits if wait > 0)} times, {sum(waits):.1f} s in all   [{load_average()}]")


def section_first_audio(quick: bool) -> None:
    """Section 2: time to the first audio of ~300-character answers, and what shortens it."""
    texts = long_answers(5)
    heading(f"2. first audio: speak(text, 'zh', piece=0) on a fresh cache, {len(texts)} answers of "
            f"{min(map(len, texts))}-{max(map(len, texts))} characters")
    default = dict(speech_text.FIRST_PIECE_CHARS)
    served = Config(2, True, default["zh"])
    configs = [served, Config(1, True, default["zh"]), Config(2, False, default["zh"]), Config(2, True, 12),
               Config(2, True, 8)]
    results = {}
    try:
        with tempfile.TemporaryDirectory(prefix="govbot-speech-out-") as folder:
            # the process's first synthesis session is slower than the later ones: one round, not counted
            print_first_audio(Config(2, True, default["zh"]), first_audio(Path(folder) / "warm-up", texts, served),
                              "(warm-up, not counted) ")
            for number, config in enumerate(configs):
                results[config] = first_audio(Path(folder) / str(number), texts, config)
                print_first_audio(config, results[config])
            speech_text.FIRST_PIECE_CHARS["zh"] = default["zh"]
            if quick:
                print("  (whole answer: not in --quick)")
            else:
                whole_answer(results[served]["tts"], texts[0])
    finally:
        speech_text.FIRST_PIECE_CHARS.update(default)
    p50 = percentile(results[served]["timings"], 0.5)
    print(f"  target <= {FIRST_AUDIO_TARGET:.0f} s to first audio: p50 {p50:.2f} s as served "
          f"({'meets' if p50 <= FIRST_AUDIO_TARGET else 'misses'})")
    print(f"  first pieces as served: {first_pieces(texts)}")


def first_pieces(texts: list[str]) -> list[str]:
    """Piece 0 of each text as the product cuts it."""
    return [speech_pieces(clean_for_speech(text, "zh"), "zh")[0] for text in texts]


# --- 3. memory -------------------------------------------------------------------------------------------------

def memory_child() -> None:
    """(Run in a child process.) RSS after importing, then after using Kokoro, Whisper base (zh), tiny.en."""
    figures = {"imported": rss_mb()}
    voice = VoiceInput.from_settings(Settings(speech_models_dir=SPEECH_MODELS))
    kokoro = KokoroEngine(KOKORO_FOLDER, voice=SERVED_VOICE)
    kokoro.load()
    figures["kokoro_loaded"] = rss_mb()
    chinese = kokoro.synthesise("护照怎么办理。", "zh", False)
    figures["kokoro"] = rss_mb()
    voice.stt.transcribe(chinese, "zh")
    figures["whisper_base"] = rss_mb()
    voice.stt.transcribe(EspeakEngine().synthesise("How do I apply for a passport?", "en", False), "en")
    figures["tiny_en"] = rss_mb()
    print(json.dumps(figures))


def section_memory() -> None:
    """Section 3: a process with all three speech models loaded."""
    heading("3. memory: one process using Kokoro, Whisper base (zh) and tiny.en once each")
    result = subprocess.run([sys.executable, "-m", "benchmarks.speech_out", "--memory-child"], capture_output=True,
                            text=True, timeout=600, cwd=PROJECT_ROOT)
    line = (result.stdout.strip().splitlines() or ["{}"])[-1]
    try:
        figures = json.loads(line)
    except json.JSONDecodeError:
        print(f"  the child failed: {result.stderr.strip()[-400:]}")
        return
    print(f"  RSS after imports {figures['imported']:.0f} MB, + Kokoro loaded {figures['kokoro_loaded']:.0f} MB, "
          f"+ Kokoro used {figures['kokoro']:.0f} MB, "
          f"+ Whisper base {figures['whisper_base']:.0f} MB, + tiny.en {figures['tiny_en']:.0f} MB")


# --- 4. voice turn ---------------------------------------------------------------------------------------------

def question_clips(folder: Path, questions: list[str]) -> dict[str, bytes]:
    """Each question spoken by zf_xiaoxiao, as WebM/Opus bytes like a browser's."""
    from testkit.speech import encode

    kokoro = KokoroEngine(KOKORO_FOLDER, voice="zf_xiaoxiao")
    clips = {}
    for number, question in enumerate(questions):
        wav = folder / f"q{number}.wav"
        wav.write_bytes(kokoro.synthesise(question + "？", "zh", False))
        clips[question] = encode(wav, "webm-opus").read_bytes()
    return clips


def voice_turn(client: httpx.Client, clip: bytes) -> dict[str, Any]:
    """One turn in a new conversation: POST /api/voice (zh), then POST /api/tts of piece 0 of the first answer."""
    from testkit.helpers import open_conversation

    conversation = open_conversation(client)
    started = time.perf_counter()
    response = client.post("/api/voice", files={"audio": ("voice.webm", clip, "audio/webm")},
                           data={"sender": conversation.sender, "language": "zh"}, headers=conversation.headers)
    heard_at = time.perf_counter()
    turn: dict[str, Any] = {"status": response.status_code, "voice": heard_at - started}
    if response.status_code != 200:
        turn["error"] = response.text[:200]
        return turn
    body = response.json()
    customs = [message.get("custom") or {} for message in body["messages"]]
    turn.update(heard=body["transcript"]["text"], confirm=body["confirm"],
                item=next((custom["item"] for custom in customs if custom.get("item")), None),
                kind=next((custom["kind"] for custom in customs if custom.get("kind")), None))
    first = next((message for message in body["messages"] if message.get("text")), None)
    if first is None:
        return turn
    speech = client.post("/api/tts", json={"text": first["text"], "language": "zh", "piece": 0})
    done = time.perf_counter()
    turn.update(tts=done - heard_at, total=done - started, tts_status=speech.status_code,
                engine=speech.headers.get("X-TTS-Engine"), pieces=speech.headers.get("X-Speech-Pieces"))
    return turn


def typed_answer(client: httpx.Client, question: str) -> Optional[str]:
    """The item (or else the kind of reply) the bot answers the question with when it is typed."""
    from testkit.helpers import open_conversation

    conversation = open_conversation(client)
    response = client.post("/api/chat", json={"sender": conversation.sender, "text": question},
                           headers=conversation.headers)
    customs = [message.get("custom") or {} for message in response.json().get("messages", [])]
    return next((custom["item"] for custom in customs if custom.get("item")),
                next((custom["kind"] for custom in customs if custom.get("kind")), None))


def gateway_rss(stack: Any) -> float:
    """RSS of the stack's gateway process in MB (0 when not found)."""
    for child in psutil.Process(stack.process.pid).children(recursive=True):
        try:
            if "channels.gateway" in " ".join(child.cmdline()):
                return child.memory_info().rss / 2**20
        except psutil.Error:
            continue
    return 0.0


def section_voice_turn(quick: bool) -> None:
    """Section 4: the whole Chinese voice turn through `govbot run`, and the gateway's memory."""
    from testkit.stack import Stack

    questions = QUESTIONS[:8] if quick else QUESTIONS
    heading(f"4. voice turn: {len(questions)} questions by zf_xiaoxiao (WebM/Opus) -> /api/voice (zh) -> "
            f"/api/tts piece 0, real stack")
    with tempfile.TemporaryDirectory(prefix="govbot-speech-turn-") as folder:
        stack = Stack(Path(folder) / "var")
        try:
            clips = question_clips(Path(folder), [WARM_UP_QUESTION] + [q for q, _ in questions])
            started = time.perf_counter()
            stack.wait_ready()
            print(f"  stack ready (waited {time.perf_counter() - started:.0f} s after making the clips); "
                  f"gateway RSS {gateway_rss(stack):.0f} MB before any speech")
            run_turns(stack, clips, questions)
        finally:
            stack.stop()


def run_turns(stack: Any, clips: dict[str, bytes], questions: list[tuple[str, set[str]]]) -> None:
    """The warm-up turn (models load), then the timed turns; prints the figures."""
    with httpx.Client(base_url=stack.url, timeout=180) as client:
        cold = voice_turn(client, clips[WARM_UP_QUESTION])
        print(f"  first turn (loads Whisper base and Kokoro in the gateway): /api/voice {cold['voice']:.2f} s, "
              f"/api/tts {cold.get('tts', 0):.2f} s ({cold.get('engine')}); heard {cold.get('heard')!r}")
        print(f"  gateway RSS after one Chinese /api/voice and one /api/tts: {gateway_rss(stack):.0f} MB")
        turns = []
        for question, expected in questions:
            turn = voice_turn(client, clips[question])
            turn.update(question=question, right=turn.get("item") in expected, typed=typed_answer(client, question))
            turns.append(turn)
            print(f"  {question}: heard {turn.get('heard')!r} -> {turn.get('item') or turn.get('kind')} "
                  f"({'expected' if turn['right'] else 'NOT expected'}; typed -> {turn['typed']}); "
                  f"voice {turn['voice']:.2f} s + tts {turn.get('tts', 0):.2f} s ({turn.get('engine')}, "
                  f"{turn.get('pieces')} pieces) = {turn.get('total', 0):.2f} s", flush=True)
        print(f"  gateway RSS after {len(turns) + 1} turns: {gateway_rss(stack):.0f} MB")
    done = [turn for turn in turns if "total" in turn]
    if not done:
        print("  no turn completed")
        return
    totals = [turn["total"] for turn in done]
    print(f"  /api/voice: p50 {percentile([t['voice'] for t in done], 0.5):.2f} s  p95 "
          f"{percentile([t['voice'] for t in done], 0.95):.2f} s | /api/tts piece 0: p50 "
          f"{percentile([t['tts'] for t in done], 0.5):.2f} s  p95 {percentile([t['tts'] for t in done], 0.95):.2f} s")
    p50 = percentile(totals, 0.5)
    print(f"  audio sent -> first answer audio: p50 {p50:.2f} s  p95 {percentile(totals, 0.95):.2f} s  "
          f"(target p50 <= {TURN_TARGET:.0f} s: {'meets' if p50 <= TURN_TARGET else 'misses'})")
    synthesised = [turn["total"] for turn in done if turn["tts"] >= CACHED_SECONDS]
    print(f"  of them with piece 0 synthesised (not already in the gateway's cache, /api/tts >= {CACHED_SECONDS} s): "
          f"n={len(synthesised)}, p50 {percentile(synthesised, 0.5):.2f} s  p95 {percentile(synthesised, 0.95):.2f} s")
    same = sum((turn.get("item") or turn.get("kind")) == turn["typed"] for turn in turns)
    print(f"  answered from the expected item: {sum(turn['right'] for turn in turns)}/{len(turns)}; the same answer "
          f"as the typed question: {same}/{len(turns)}  [{load_average()}]")


# --- 5. English ------------------------------------------------------------------------------------------------

# espeak-ng's IPA → Kokoro's (misaki's) English phonemes, longest first (the idea of misaki/espeak.py, US English)
ESPEAK_TO_KOKORO = [("a^ɪ", "I"), ("a^ʊ", "W"), ("e^ɪ", "A"), ("o^ʊ", "O"), ("ɔ^ɪ", "Y"), ("d^ʒ", "ʤ"),
                    ("t^ʃ", "ʧ"), ("ə^l", "ᵊl"), ("ɜːɹ", "ɜɹ"), ("ɜː", "ɜɹ"), ("ɪə", "iə"), ("ɚ", "əɹ"), ("ɐ", "ə"),
                    ("r", "ɹ"), ("x", "k"), ("ç", "k"), ("ɬ", "l"), ("e", "A"), ("ː", ""), ("o", "ɔ"), ("ɾ", "T"),
                    ("ʔ", "t"), ("^", ""), ("\u0329", ""), ("\u0303", "")]
_ENGLISH_CLAUSE = re.compile(r"([^,.;:!?]+)([,.;:!?]*)")


def espeak_ipa(text: str) -> str:
    """Kokoro's phonemes for English text, from espeak-ng's IPA (clause by clause, punctuation kept)."""
    phonemes = []
    for clause, punctuation in _ENGLISH_CLAUSE.findall(text):
        if not clause.strip():
            continue
        result = subprocess.run(["espeak-ng", "-q", "--ipa", "--tie=^", "-v", "en-us", "--", clause.strip()],
                                capture_output=True, text=True, timeout=30, check=True)
        said = " ".join(result.stdout.split())
        for old, new in ESPEAK_TO_KOKORO:
            said = said.replace(old, new)
        phonemes.append(said + punctuation.strip()[:1])
    return " ".join(phonemes)


class EnglishKokoro(KokoroEngine):
    """Kokoro speaking English from espeak-ng's phonemes (no misaki[en], which needs a spaCy model download)."""

    languages: tuple[str, ...] = ("en",)

    def phonemes(self, text: str) -> list[int]:
        return [self._vocab[symbol] for symbol in espeak_ipa(text) if symbol in self._vocab][:510]


def english_row(name: str, engine: Any, sentences: list[str], voice: VoiceInput) -> dict[str, Any]:
    """WER and RTF of one English engine over the sentences."""
    errors = reference = 0
    synthesis = audio = 0.0
    worst = ("", "", -1.0)
    for sentence in sentences:
        speech, seconds, _ = speak_in_pieces(engine, clean_for_speech(sentence, "en"), "en", False)
        heard = voice.stt.transcribe(speech, "en").text
        wrong, length = edit_distance(words(sentence), words(heard)), len(words(sentence))
        errors, reference, synthesis, audio = errors + wrong, reference + length, synthesis + seconds, \
            audio + wav_seconds(speech)
        worst = max(worst, (sentence, heard, wrong / length), key=lambda entry: entry[2])
    row = {"name": name, "wer": errors / reference, "rtf": synthesis / audio, "worst": worst}
    print(f"  {name:<30} WER {row['wer']:6.1%}   RTF {row['rtf']:5.2f}   audio {audio:5.1f} s   worst: "
          f"{worst[0]!r} -> {worst[1]!r}   [{load_average()}]", flush=True)
    return row


def section_english(quick: bool, voice: VoiceInput) -> None:
    """Section 5: English by Kokoro from espeak-ng's IPA against espeak-ng's audio, heard by tiny.en."""
    sentences, voices = (ENGLISH[:10], ["af_heart"]) if quick else (ENGLISH, ["af_heart", "am_adam"])
    heading(f"5. English: {len(sentences)} service sentences, recognised by Whisper tiny.en")
    print(f"  e.g. {sentences[0]!r} -> {espeak_ipa(sentences[0])!r}")
    rows = [english_row("espeak-ng (en-us)", EspeakEngine(), sentences, voice)]
    for name in voices:
        engine = EnglishKokoro(KOKORO_FOLDER, voice=name)
        engine.load()
        rows.append(english_row(f"kokoro/{name} (espeak IPA)", engine, sentences, voice))
    best = min(rows[1:], key=lambda row: row["wer"])
    better = best["wer"] < rows[0]["wer"] * 0.7
    print(f"  Kokoro English clearly better than espeak-ng? {'yes' if better else 'no'} "
          f"(best Kokoro {best['wer']:.1%} vs espeak-ng {rows[0]['wer']:.1%}; 'clearly' = 30 % fewer word errors)")


# --- main ------------------------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer voices, shorter texts, fewer sentences")
    parser.add_argument("--sections", default="1,2,3,4,5", help="which sections to run, e.g. 1,3")
    parser.add_argument("--voices", default="", help="section 1: these Mandarin voices only (comma-separated)")
    parser.add_argument("--chars", type=int, default=0,
                        help="section 1: openings of at least this many characters (whole clauses)")
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child()
        return
    sections = {int(part) for part in args.sections.split(",") if part.strip()}
    started = time.perf_counter()
    print(f"speech out ({'quick' if args.quick else 'full'}), sections {sorted(sections)}; {load_average()}")
    voice = VoiceInput.from_settings(Settings(speech_models_dir=SPEECH_MODELS))
    if 1 in sections:
        section_voices(args.quick, voice, [name for name in args.voices.split(",") if name.strip()], args.chars)
    if 2 in sections:
        section_first_audio(args.quick)
    if 3 in sections:
        section_memory()
    if 4 in sections:
        section_voice_turn(args.quick)
    if 5 in sections:
        section_english(args.quick, voice)
    print(f"\ndone in {time.perf_counter() - started:.0f} s; {load_average()}")


if __name__ == "__main__":
    main()
