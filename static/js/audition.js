// Auditioning one clip at a time: an <audio> element streams it (HTTP Range, nothing decoded),
// a Web Audio gain matches its loudness to -18 LUFS, and loops play from a decoded
// AudioBuffer with loopStart/loopEnd, so they repeat sample-accurately.
export const REF_LUFS = -18;
const MAX_GAIN = 8; // +18 dB at most for very quiet clips
export const MAX_DECODE_S = 180; // loops decode the clip; longer ones are never decoded here

export function matchGain(lufs) {
  if (lufs == null || !isFinite(lufs)) return 1;
  return Math.min(MAX_GAIN, Math.max(0.05, 10 ** ((REF_LUFS - lufs) / 20)));
}

export class Player extends EventTarget {
  constructor() {
    super();
    this.audio = new Audio();
    this.audio.preload = "none";
    this.clip = null;
    this.matched = true;
    this.ctx = null;
    this.loop = null; // the running loop: {source, start, end, startedAt, offset}
    this.loopRange = null; // what play() loops: {start, end}
    this.buffers = new Map();
    for (const ev of ["play", "pause", "ended"]) this.audio.addEventListener(ev, () => this.#state());
    this.audio.addEventListener("timeupdate", () => this.#time());
  }

  #graph() {
    if (!this.ctx) {
      this.ctx = new AudioContext();
      this.gain = this.ctx.createGain();
      this.gain.connect(this.ctx.destination);
      this.ctx.createMediaElementSource(this.audio).connect(this.gain);
    }
    if (this.ctx.state === "suspended") this.ctx.resume();
    this.#applyGain();
  }

  #applyGain() {
    if (this.gain) this.gain.gain.value = this.matched && this.clip ? matchGain(this.clip.loudness_lufs) : 1;
  }

  get gainDb() {
    return this.clip && this.matched ? 20 * Math.log10(matchGain(this.clip.loudness_lufs)) : 0;
  }

  setMatched(on) { this.matched = on; this.#applyGain(); }

  /** Playback rate 0.5..2 on the media element, pitch kept (`preservesPitch`); it survives
   * loading another clip. Sample-accurate loops always play at 1×. */
  setRate(rate) {
    const r = Math.min(2, Math.max(0.5, Number(rate) || 1));
    this.audio.preservesPitch = true;
    this.audio.defaultPlaybackRate = r;
    this.audio.playbackRate = r;
    this.dispatchEvent(new CustomEvent("rate", { detail: r }));
    return r;
  }

  get rate() { return this.audio.playbackRate; }

  load(clip) {
    if (this.clip?.id === clip.id) return;
    this.#stopLoop();
    if (this.loopRange) this.loopRange = { start: 0, end: null }; // a new clip loops whole
    this.audio.pause();
    this.clip = clip;
    const rate = this.audio.playbackRate;
    this.audio.src = clip.audio_url;
    this.audio.playbackRate = rate;
    this.#applyGain();
    this.#state();
  }

  get duration() { return this.clip?.duration_s || this.audio.duration || 0; }
  get playing() { return !!this.loop || !this.audio.paused; }
  get looping() { return !!this.loopRange; }

  get currentTime() {
    if (!this.loop) return this.audio.currentTime;
    const { start, end, startedAt, offset } = this.loop;
    const t = offset + (this.ctx.currentTime - startedAt) - start;
    return start + (t % (end - start));
  }

  /** Loop [start, end) seconds (end null = the clip's end), or stop looping with null. */
  async setLoop(range) {
    const wasPlaying = this.playing;
    const t = this.currentTime;
    this.loopRange = range;
    if (!wasPlaying) return this.#state();
    if (range) return this.#playLoop(t);
    this.#stopLoop();
    this.audio.currentTime = t;
    return this.play();
  }

  async play() {
    this.#graph();
    if (this.loopRange) {
      await this.#playLoop(this.audio.currentTime);
    } else {
      await this.audio.play().catch((e) => this.dispatchEvent(new CustomEvent("error", { detail: e })));
    }
    this.#tick();
  }

  pause() {
    if (this.loop) {
      const t = this.currentTime;
      this.#stopLoop();
      this.audio.currentTime = t;
    }
    this.audio.pause();
    this.#state();
  }

  toggle() { return this.playing ? this.pause() : this.play(); }

  seek(t) {
    t = Math.max(0, Math.min(t, this.duration));
    if (this.loop) {
      const { start, end } = this.loop;
      this.#startLoop(start, end, Math.min(Math.max(t, start), end - 1e-4));
    } else {
      this.audio.currentTime = t;
    }
    this.#time();
  }

  async #playLoop(from) {
    this.#graph();
    const buffer = await this.#buffer(this.clip);
    const start = Math.max(0, this.loopRange.start || 0);
    const end = Math.min(this.loopRange.end ?? buffer.duration, buffer.duration);
    this.audio.pause();
    this.#startLoop(start, end, from >= start && from < end ? from : start, buffer);
  }

  #startLoop(start, end, from, buffer = this.loop?.source.buffer) {
    this.#stopLoop(false);
    const source = this.ctx.createBufferSource();
    source.buffer = buffer;
    source.loop = true;
    source.loopStart = start;
    source.loopEnd = end;
    source.connect(this.gain);
    source.start(0, from);
    this.loop = { source, start, end, startedAt: this.ctx.currentTime, offset: from };
    this.#state();
    this.#tick();
  }

  #stopLoop(notify = true) {
    if (!this.loop) return;
    try { this.loop.source.stop(); } catch { /* already stopped */ }
    this.loop.source.disconnect();
    this.loop = null;
    if (notify) this.#state();
  }

  async #buffer(clip) {
    if (this.buffers.has(clip.id)) return this.buffers.get(clip.id);
    if (clip.duration_s > MAX_DECODE_S) throw new Error(`clip is longer than ${MAX_DECODE_S} s: loops are for short sections`);
    const data = await (await fetch(clip.audio_url)).arrayBuffer();
    const buffer = await this.ctx.decodeAudioData(data);
    this.buffers.clear(); // keep one decoded clip at a time
    this.buffers.set(clip.id, buffer);
    return buffer;
  }

  #tick() {
    if (this._raf) return;
    const step = () => {
      this._raf = null;
      this.#time();
      if (this.playing) this._raf = requestAnimationFrame(step);
    };
    this._raf = requestAnimationFrame(step);
  }

  #time() { this.dispatchEvent(new CustomEvent("time", { detail: this.currentTime })); }
  #state() { this.dispatchEvent(new CustomEvent("state", { detail: { playing: this.playing, looping: this.looping } })); }
}
