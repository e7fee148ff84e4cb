// Voice input: records the microphone with MediaRecorder (WebM/Opus) and shows the input level while recording.

const MAX_SECONDS = 60;

export class Recorder {
  /** onLevel(0..1) while recording; onTick(seconds); onStop(blob or null when cancelled). */
  constructor({ onLevel, onTick, onStop }) {
    this.onLevel = onLevel;
    this.onTick = onTick;
    this.onStop = onStop;
    this.recorder = null;
  }

  static supported() {
    return Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.MediaRecorder);
  }

  get recording() {
    return Boolean(this.recorder && this.recorder.state === "recording");
  }

  async start() {
    this.stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const type = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm"]
      .find((candidate) => MediaRecorder.isTypeSupported(candidate));
    this.recorder = new MediaRecorder(this.stream, type ? { mimeType: type } : undefined);
    this.chunks = [];
    this.cancelled = false;
    this.recorder.addEventListener("dataavailable", (event) => { if (event.data.size) this.chunks.push(event.data); });
    this.recorder.addEventListener("stop", () => this.finish());
    this.recorder.start(250);
    this.started = Date.now();
    this.watchLevel();
    this.ticker = setInterval(() => {
      const seconds = Math.floor((Date.now() - this.started) / 1000);
      this.onTick(seconds);
      if (seconds >= MAX_SECONDS) this.stop();
    }, 250);
  }

  watchLevel() {
    try {
      this.audioContext = new AudioContext();
      const analyser = this.audioContext.createAnalyser();
      analyser.fftSize = 512;
      this.audioContext.createMediaStreamSource(this.stream).connect(analyser);
      const samples = new Uint8Array(analyser.fftSize);
      const step = () => {
        if (!this.recording) return;
        analyser.getByteTimeDomainData(samples);
        let peak = 0;
        for (const sample of samples) peak = Math.max(peak, Math.abs(sample - 128) / 128);
        this.onLevel(Math.min(1, peak * 1.5));
        this.frame = requestAnimationFrame(step);
      };
      step();
    } catch (error) {
      this.onLevel(0); // no level display, the recording still works
    }
  }

  /** Stop and hand the recording over. */
  stop() {
    if (this.recording) this.recorder.stop();
  }

  /** Stop and throw the recording away. */
  cancel() {
    this.cancelled = true;
    this.stop();
  }

  finish() {
    clearInterval(this.ticker);
    cancelAnimationFrame(this.frame);
    if (this.audioContext) this.audioContext.close();
    for (const track of this.stream.getTracks()) track.stop();
    const blob = this.cancelled ? null : new Blob(this.chunks, { type: this.recorder.mimeType || "audio/webm" });
    this.recorder = null;
    this.onStop(blob);
  }
}
