// Auditioning one clip at a time: an <audio> element streams it (HTTP Range, nothing decoded),
// a Web Audio gain matches its loudness to -18 LUFS, and loops play from decoded samples with
// AudioBufferSourceNode loopStart/loopEnd, so they repeat sample-accurately. Short clips are
// decoded whole; in long ones (up to the 600 s a run makes) a loop decodes only an excerpt
// around itself, and a loop longer than a chunk streams chunk by chunk (clip-chunks.js).
import { CHUNK_S, ChunkStore, Streamer, isLong } from "./clip-chunks.js";

export const REF_LUFS = -18;
const MAX_GAIN = 8; // +18 dB at most for very quiet clips
const STREAM_LEAD_S = 0.03; // a streamed loop starts this long after it is asked for

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
    this.loop = null; // the running loop: {stop, start, end, startedAt, offset, streamed}
    this.loopRange = null; // what play() loops: {start, end}
    this.buffers = new Map();
    for (const ev of ["play", "pause", "ended"]) this.audio.addEventListener(ev, () => this.#state());
    this.audio.addEventListener("timeupdate", () => this.#time());
  }

  #graph() {
    if (!this.ctx) {
      this.ctx = new AudioContext();
      this.chunks = new ChunkStore(this.ctx);
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
    this.loopToken = (this.loopToken || 0) + 1;
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
    this.loopToken = (this.loopToken || 0) + 1; // a loop still starting does not start
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
      this.#startLoop(start, end, Math.min(Math.max(t, start), end - 1e-4)).catch((e) => this.dispatchEvent(new CustomEvent("error", { detail: e })));
    } else {
      this.audio.currentTime = t;
    }
    this.#time();
  }

  async #playLoop(from) {
    this.#graph();
    const start = Math.max(0, this.loopRange.start || 0);
    const end = Math.min(this.loopRange.end ?? this.duration, this.duration);
    this.audio.pause();
    await this.#startLoop(start, end, from >= start && from < end ? from : start);
  }

  /** Loop [start, end) from `from`: a looping source over decoded samples, or for a long loop
   * of a long clip, a stream of chunks that wraps around at `end`. */
  async #startLoop(start, end, from) {
    const clip = this.clip;
    const token = (this.loopToken = (this.loopToken || 0) + 1); // the latest call wins
    const current = () => token === this.loopToken && clip === this.clip;
    const decoded = isLong(clip) && end - start > CHUNK_S ? null : await this.#buffer(clip, start, end);
    if (!current()) return;
    this.#stopLoop(false);
    if (decoded) {
      const { buffer, offset } = decoded;
      const source = this.ctx.createBufferSource();
      source.buffer = buffer;
      source.loop = true;
      source.loopStart = start - offset;
      source.loopEnd = end - offset;
      source.connect(this.gain);
      source.start(0, from - offset);
      this.loop = { stop: () => { source.stop(); source.disconnect(); }, start, end, startedAt: this.ctx.currentTime, offset: from, streamed: false };
    } else {
      const stream = new Streamer(this.ctx, this.chunks);
      stream.add({ clip, from: start, to: end, first: from, loop: true, dest: this.gain });
      await stream.prime();
      if (!current()) { stream.stop(); return; }
      this.#stopLoop(false);
      const t0 = this.ctx.currentTime + STREAM_LEAD_S;
      stream.begin(t0);
      this.loop = { stop: () => stream.stop(), start, end, startedAt: t0, offset: from, streamed: true, stream };
    }
    this.#state();
    this.#tick();
  }

  #stopLoop(notify = true) {
    if (!this.loop) return;
    try { this.loop.stop(); } catch { /* already stopped */ }
    this.loop = null;
    if (notify) this.#state();
  }

  /** {buffer, offset}: decoded samples that hold clip time [start, end), `offset` being the
   * clip time of the buffer's first frame. A short clip is decoded whole, once. */
  async #buffer(clip, start, end) {
    if (isLong(clip)) return this.chunks.range(clip, start, end);
    if (!this.buffers.has(clip.id)) {
      this.buffers.clear(); // keep one decoded clip at a time
      const decode = fetch(clip.audio_url).then((r) => r.arrayBuffer()).then((b) => this.ctx.decodeAudioData(b));
      this.buffers.set(clip.id, decode.then((buffer) => ({ buffer, offset: 0 })));
      decode.catch(() => this.buffers.delete(clip.id));
    }
    return this.buffers.get(clip.id);
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
