// Plays a growing WAV while it arrives: fetch()'s body reader hands over the bytes as the server
// sends them, each piece becomes an AudioBuffer, scheduled back to back on Web Audio.
//
// Why not <audio>: Chromium's media pipeline starts a progressive WAV only once about 256 KB
// have arrived (8 s of 16 kHz mono PCM_16; measured, whatever the headers say), so a clip that
// is generated at about real time would be silent for many seconds. Scheduling the samples
// ourselves, the first sound is the first bytes plus a few milliseconds, and the samples played
// are exactly the ones sent (int16 / 32768, resampled to the device only by Web Audio).
const START_AHEAD_S = 0.03; // the first piece's (and a late piece's) lead over the clock
const TICK_MS = 50;

export class LiveStream extends EventTarget {
  constructor() {
    super();
    this.ctx = null;
    this.reset();
  }

  reset() {
    this.abort?.abort();
    for (const s of this.sources || []) { try { s.stop(); } catch { /* not started */ } }
    this.abort = null;
    this.sources = [];
    this.pieces = []; // {at: context time, clip: clip time (s), dur}
    this.next = 0;
    this.done = false;
    this.started = false;
    this.ended = false;
    clearInterval(this.timer);
  }

  /** Start `url` from its first sample; resolves once the whole body has arrived. */
  async play(url) {
    this.reset();
    const clicked = performance.now();
    this.ctx ??= new AudioContext();
    await this.ctx.resume();
    const abort = new AbortController();
    this.abort = abort;
    this.timer = setInterval(() => this.tick(), TICK_MS);
    let rate = 0;
    let carry = new Uint8Array(0);
    let clipSamples = 0;
    try {
      const res = await fetch(url, { signal: abort.signal });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const reader = res.body.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        let bytes = carry.length ? concat(carry, value) : value;
        if (!rate) {
          if (bytes.length < 44) { carry = bytes; continue; }
          rate = new DataView(bytes.buffer, bytes.byteOffset, 44).getUint32(24, true);
          this.seconds = new DataView(bytes.buffer, bytes.byteOffset, 44).getUint32(40, true) / 2 / rate;
          bytes = bytes.subarray(44);
        }
        const n = bytes.length >> 1;
        carry = bytes.slice(2 * n);
        if (!n) continue;
        const view = new DataView(bytes.buffer, bytes.byteOffset, 2 * n);
        const buffer = this.ctx.createBuffer(1, n, rate);
        const out = buffer.getChannelData(0);
        for (let i = 0; i < n; i++) out[i] = view.getInt16(2 * i, true) / 32768;
        const source = this.ctx.createBufferSource();
        source.buffer = buffer;
        source.connect(this.ctx.destination);
        const at = Math.max(this.next, this.ctx.currentTime + START_AHEAD_S);
        source.start(at);
        this.sources.push(source);
        this.pieces.push({ at, clip: clipSamples / rate, dur: n / rate });
        clipSamples += n;
        this.next = at + n / rate;
        if (!this.started) {
          this.started = true;
          // When the first sample reaches the speakers, from the click.
          const lead = at - this.ctx.currentTime + (this.ctx.outputLatency || 0);
          this.firstSoundMs = Math.round(performance.now() - clicked + 1000 * lead);
          this.dispatchEvent(new CustomEvent("playing", { detail: this.firstSoundMs }));
        }
      }
    } catch (err) {
      if (err.name !== "AbortError") throw err;
      return;
    }
    this.done = true;
  }

  /** Clip time being heard now (s). */
  get currentTime() {
    if (!this.ctx) return 0;
    const now = this.ctx.currentTime;
    let t = 0;
    for (const p of this.pieces) {
      if (p.at > now) break;
      t = p.clip + Math.min(p.dur, now - p.at);
    }
    return t;
  }

  get paused() { return !this.started || this.ended || this.ctx?.state !== "running"; }

  pause() { this.ctx?.suspend(); this.dispatchEvent(new Event("pause")); }

  resume() { this.ctx?.resume(); this.dispatchEvent(new Event("playing")); }

  stop() { this.reset(); this.dispatchEvent(new Event("pause")); }

  tick() {
    this.dispatchEvent(new Event("timeupdate"));
    if (this.done && !this.ended && this.ctx.currentTime >= this.next) {
      this.ended = true;
      clearInterval(this.timer);
      this.dispatchEvent(new Event("ended"));
    }
  }
}

function concat(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
