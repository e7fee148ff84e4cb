// Spoken answers: fetches audio from the gateway's /api/tts and plays one message at a time.

export class Speaker {
  /** onChange(messageElement, playing) is told when a message starts or stops playing; onError() when speech fails. */
  constructor(onChange, onError) {
    this.onChange = onChange;
    this.onError = onError;
    this.current = null;
    this.queue = Promise.resolve();
    this.round = 0;
  }

  /** The message's <audio> element with its recording loaded (fetched once per message and speed). */
  async audioFor(element, text, language, slow) {
    const key = `${language}:${slow ? "slow" : "normal"}`;
    let audio = element.querySelector("audio.speech");
    if (audio && audio.dataset.key === key) return audio;
    const response = await fetch("/api/tts", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text, language, slow }),
    });
    if (!response.ok) throw new Error(`speech failed: HTTP ${response.status}`);
    const blob = await response.blob();
    if (!audio) {
      audio = document.createElement("audio");
      audio.className = "speech";
      audio.preload = "auto";
      audio.addEventListener("ended", () => this.finished(element));
      audio.addEventListener("pause", () => this.finished(element));
      element.appendChild(audio);
    } else if (audio.src) {
      URL.revokeObjectURL(audio.src);
    }
    audio.dataset.key = key;
    audio.src = URL.createObjectURL(blob);
    return audio;
  }

  /** Play a message now, stopping whatever is playing. */
  async play(element, text, language, slow) {
    this.stop();
    try {
      const audio = await this.audioFor(element, text, language, slow);
      this.current = element;
      this.onChange(element, true);
      await audio.play();
    } catch (error) {
      this.finished(element);
      // a browser that refuses to play without a click still has the play button
      if (!(error && error.name === "NotAllowedError")) this.onError(error);
    }
  }

  /** Speak a new message after the ones already waiting. */
  enqueue(element, text, language, slow) {
    const round = this.round;
    this.queue = this.queue.then(() => {
      if (round !== this.round) return undefined; // cancelled meanwhile
      return this.play(element, text, language, slow).then(() => this.untilDone(element));
    });
    return this.queue;
  }

  /** Stop speaking and forget what was waiting (the user has moved on). */
  cancel() {
    this.round += 1;
    this.stop();
  }

  untilDone(element) {
    const audio = element.querySelector("audio.speech");
    if (!audio || audio.paused || audio.ended) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => resolve();
      audio.addEventListener("ended", done, { once: true });
      audio.addEventListener("pause", done, { once: true });
    });
  }

  isPlaying(element) {
    return this.current === element;
  }

  stop() {
    if (!this.current) return;
    const audio = this.current.querySelector("audio.speech");
    if (audio && !audio.paused) audio.pause();
    this.finished(this.current);
  }

  finished(element) {
    if (this.current !== element) return;
    this.current = null;
    this.onChange(element, false);
  }
}
