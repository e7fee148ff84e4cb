// Spoken answers: fetches a message's audio from the gateway's /api/tts piece by piece and plays the pieces in order
// while the next ones are fetched, one message at a time.

const AHEAD = 2; // pieces fetched ahead of the one playing

/** The number of pieces a /api/tts response says the text has (1 from a server that does not say). */
function piecesIn(response) {
  const pieces = Number(response.headers.get("X-Speech-Pieces"));
  return Number.isInteger(pieces) && pieces > 0 ? pieces : 1;
}

/** What a message's recording is kept under: its language and speed. */
function keyOf(language, slow) {
  return `${language}:${slow ? "slow" : "normal"}`;
}

/** One text's audio in one language and speed: its pieces, fetched one after another and kept for replays. */
class Recording {
  constructor(text, language, slow) {
    this.text = text;
    this.language = language;
    this.slow = slow;
    this.key = keyOf(language, slow);
    this.count = null; // known with piece 0
    this.blobs = [];
    this.cancel();
  }

  /** Piece k's audio (a Blob); its request waits for the one asked for before it. A failure stays until cancel(). */
  piece(k) {
    if (this.blobs[k]) return Promise.resolve(this.blobs[k]);
    if (!this.pending.has(k)) {
      const signal = this.controller.signal;
      const fetched = this.tail.catch(() => {}).then(() => this.fetchPiece(k, signal));
      this.tail = fetched;
      this.pending.set(k, fetched);
      fetched.then((blob) => {
        this.blobs[k] = blob;
        if (this.pending.get(k) === fetched) this.pending.delete(k);
      }, () => {});
    }
    return this.pending.get(k);
  }

  async fetchPiece(k, signal) {
    const response = await fetch("/api/tts", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text: this.text, language: this.language, slow: this.slow, piece: k }),
      signal,
    });
    if (!response.ok) throw new Error(`speech failed: HTTP ${response.status}`);
    if (k === 0) this.count = piecesIn(response);
    return response.blob();
  }

  /** Stop fetching: requests on the way and failures are dropped (a replay asks again), pieces here are kept. */
  cancel() {
    if (this.controller) this.controller.abort();
    this.controller = new AbortController();
    this.pending = new Map();
    this.tail = Promise.resolve();
  }
}

export class Speaker {
  /** onChange(messageElement, playing) is told when a message starts or stops playing; onError() when speech fails. */
  constructor(onChange, onError) {
    this.onChange = onChange;
    this.onError = onError;
    this.playing = null; // {element, recording} of the message being spoken
    this.recordings = new WeakMap(); // message element → its Recording (the last language and speed asked for)
    this.queue = Promise.resolve();
    this.round = 0;
  }

  recordingFor(element, text, language, slow) {
    const kept = this.recordings.get(element);
    if (kept && kept.key === keyOf(language, slow)) return kept;
    const recording = new Recording(text, language, slow);
    this.recordings.set(element, recording);
    return recording;
  }

  /** The message's <audio> element (made on first use). */
  audioIn(element) {
    let audio = element.querySelector("audio.speech");
    if (!audio) {
      audio = document.createElement("audio");
      audio.className = "speech";
      audio.preload = "auto";
      element.appendChild(audio);
    }
    return audio;
  }

  /** Play one piece; true when it played to its end (false: paused, by stop() or by the system). */
  async playPiece(audio, blob) {
    if (audio.src) URL.revokeObjectURL(audio.src);
    audio.src = URL.createObjectURL(blob);
    await audio.play();
    if (audio.ended) return true;
    return new Promise((resolve) => {
      const done = () => {
        audio.removeEventListener("ended", done);
        audio.removeEventListener("pause", done);
        resolve(audio.ended);
      };
      audio.addEventListener("ended", done);
      audio.addEventListener("pause", done);
    });
  }

  /** Play a message now, stopping whatever is playing; resolves when it has been read to its end or stopped. */
  async play(element, text, language, slow) {
    this.stop();
    const run = { element, recording: this.recordingFor(element, text, language, slow) };
    const { recording } = run;
    this.playing = run;
    this.onChange(element, true);
    try {
      const audio = this.audioIn(element);
      for (let k = 0; k < (recording.count || 1); k += 1) {
        const blob = await recording.piece(k);
        if (this.playing !== run) return;
        for (let next = k + 1; next <= k + AHEAD && next < recording.count; next += 1) {
          recording.piece(next).catch(() => {}); // a failure shows when its turn comes
        }
        if (!(await this.playPiece(audio, blob))) break;
      }
    } catch (error) {
      if (this.playing === run) { // (not stopped: stop() has cancelled already, maybe for a replay that started)
        recording.cancel();
        // a browser that refuses to play without a click still has the play button
        if (!(error && error.name === "NotAllowedError")) this.onError(error);
      }
    } finally {
      this.finished(run);
    }
  }

  /** Speak a new message after the ones already waiting. */
  enqueue(element, text, language, slow) {
    const round = this.round;
    this.queue = this.queue.then(() => {
      if (round !== this.round) return undefined; // cancelled meanwhile
      return this.play(element, text, language, slow);
    });
    return this.queue;
  }

  /** Stop speaking and forget what was waiting (the user has moved on). */
  cancel() {
    this.round += 1;
    this.stop();
  }

  isPlaying(element) {
    return Boolean(this.playing && this.playing.element === element);
  }

  /** Stop the message being spoken: its audio and the fetching of its next pieces. */
  stop() {
    const run = this.playing;
    if (!run) return;
    run.recording.cancel();
    const audio = run.element.querySelector("audio.speech");
    if (audio && !audio.paused) audio.pause();
    this.finished(run);
  }

  finished(run) {
    if (this.playing !== run) return;
    this.playing = null;
    this.onChange(run.element, false);
  }
}
