// Long clips in Web Audio without decoding them whole: the server cuts excerpts
// (GET /api/v1/clips/{id}/excerpt, a small WAV of the samples asked for) and this module decodes
// them chunk by chunk, just ahead of where playback is, and schedules them back to back.
//
// A clip is cut into CHUNK_S chunks on whole seconds of clip time. Each chunk is fetched with
// PAD_S of audio on either side, so the decoder's resampler has settled by the chunk's own
// samples (they come out as a whole-clip decode gives them), and played from inside that
// padding. Chunk boundaries fall on whole seconds, i.e. on whole frames at any integer rate,
// so consecutive pieces meet on the same frame: playback is gapless and sample-accurate.
// Clips up to WHOLE_DECODE_S are short enough to decode whole (audition.js, preview.js).
export const WHOLE_DECODE_S = 60;
export const CHUNK_S = 20;
export const PAD_S = 1;
const LOOKAHEAD_S = 6; // schedule this far ahead of the playhead...
const TICK_MS = 250; // ...checking this often
const CAPACITY = 8; // decoded excerpts kept per store (each about CHUNK_S + 2 PAD_S long)

export const isLong = (clip) => (clip?.duration_s || 0) > WHOLE_DECODE_S;

/** Decoded excerpts of clips for one (Offline)AudioContext, fetched once, least recently used
 * dropped. `stats` counts what was fetched and decoded (the tests read it). */
export class ChunkStore {
  constructor(ctx, capacity = CAPACITY) {
    this.ctx = ctx;
    this.capacity = capacity;
    this.cache = new Map(); // key -> Promise<{buffer, offset}>
    this.stats = { fetches: 0, decodedSeconds: 0 };
  }

  /** Clip time [startS, endS) decoded, with padding: {buffer, offset}, `offset` being the clip
   * time (s) of the buffer's first frame. Times are snapped out to whole seconds. */
  range(clip, startS, endS) {
    const a = Math.max(0, Math.floor(startS) - PAD_S);
    const b = Math.min(Math.ceil(endS) + PAD_S, Math.ceil(clip.duration_s));
    const key = `${clip.id}:${a}:${b}`;
    if (this.cache.has(key)) {
      const hit = this.cache.get(key);
      this.cache.delete(key); // move to the most recent end
      this.cache.set(key, hit);
      return hit;
    }
    const url = `/api/v1/clips/${clip.id}/excerpt?start_s=${a}&end_s=${b}`;
    const job = fetch(url).then(async (res) => {
      if (!res.ok) throw new Error(`excerpt of clip #${clip.id}: HTTP ${res.status}`);
      const rate = Number(res.headers.get("X-Excerpt-Rate"));
      const first = Number(res.headers.get("X-Excerpt-Start"));
      const buffer = await this.ctx.decodeAudioData(await res.arrayBuffer());
      this.stats.fetches += 1;
      this.stats.decodedSeconds += buffer.duration;
      return { buffer, offset: first / rate };
    });
    job.catch(() => this.cache.delete(key)); // a failed fetch is tried again next time
    this.cache.set(key, job);
    while (this.cache.size > this.capacity) this.cache.delete(this.cache.keys().next().value);
    return job;
  }

  chunk(clip, k) { return this.range(clip, k * CHUNK_S, (k + 1) * CHUNK_S); }
}

/** Plays spans of clips from a ChunkStore. A span is {clip, from, to, at, dest, loop, first}:
 * clip time [from, to) in seconds, starting `at` seconds after the stream begins, into the
 * AudioNode `dest`; with `loop` it wraps from `to` back to `from` for ever (starting at `first`
 * inside the loop when given). Pieces are scheduled LOOKAHEAD_S ahead of the playhead. */
export class Streamer {
  constructor(ctx, store) {
    this.ctx = ctx;
    this.store = store;
    this.sr = ctx.sampleRate;
    this.spans = [];
    this.nodes = new Set();
    this.t0 = null;
    this.timer = null;
    this.filling = null;
  }

  add(span) {
    // Everything in frames of the context, so piece boundaries add up exactly.
    const F = (t) => Math.round(t * this.sr);
    const s = { ...span, fromF: F(span.from), toF: F(span.to), atF: F(span.at || 0) };
    s.cursor = span.first != null ? F(span.first) : s.fromF; // next clip frame to schedule
    s.whenF = s.atF; // stream frame where it plays
    if (s.toF > s.fromF) this.spans.push(s);
  }

  /** Decode what the first LOOKAHEAD_S needs, so playback can begin at once. */
  async prime() {
    const limit = LOOKAHEAD_S * this.sr;
    const jobs = [];
    for (const s of this.spans) {
      let cursor = s.cursor, whenF = s.whenF;
      while (whenF < limit) {
        if (cursor >= s.toF) {
          if (!s.loop) break;
          cursor = s.fromF;
        }
        const piece = this.#piece(s, cursor);
        jobs.push(this.store.chunk(s.clip, piece.k));
        cursor += piece.length;
        whenF += piece.length;
      }
    }
    await Promise.all(jobs);
  }

  /** Start at context time `t0` and keep scheduling ahead until stop(). */
  begin(t0) {
    this.t0 = t0;
    this.#fill(t0 + LOOKAHEAD_S);
    this.timer = setInterval(() => this.#fill(this.ctx.currentTime + LOOKAHEAD_S), TICK_MS);
  }

  /** Offline rendering: schedule every piece now (spans must not loop). */
  async scheduleAll(t0) {
    this.t0 = t0;
    await this.#fill(Infinity);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    this.spans = [];
    for (const n of this.nodes) {
      try { n.stop(); } catch { /* not started */ }
      n.disconnect();
    }
    this.nodes.clear();
  }

  get scheduled() { return this.nodes.size; }

  /** The piece of span `s` that starts at clip frame `cursor`: up to the chunk's end or the
   * span's, whichever comes first. */
  #piece(s, cursor) {
    const chunkF = CHUNK_S * this.sr;
    const k = Math.floor(cursor / chunkF);
    return { k, from: cursor, length: Math.min(s.toF, (k + 1) * chunkF) - cursor };
  }

  async #fill(horizon) {
    if (this.filling) return this.filling;
    this.filling = (async () => {
      for (const s of [...this.spans]) {
        while (this.t0 + s.whenF / this.sr < horizon) {
          if (s.cursor >= s.toF) {
            if (!s.loop) break;
            s.cursor = s.fromF;
          }
          const piece = { ...this.#piece(s, s.cursor), whenF: s.whenF };
          const chunk = await this.store.chunk(s.clip, piece.k);
          if (!this.spans.includes(s)) return; // stopped while decoding
          const next = piece.from + piece.length < s.toF ? piece.from + piece.length : s.loop ? s.fromF : null;
          if (next != null) this.store.chunk(s.clip, this.#piece(s, next).k); // decode ahead
          this.#play(s, piece, chunk);
          s.cursor += piece.length;
          s.whenF += piece.length;
        }
      }
    })().finally(() => { this.filling = null; });
    return this.filling;
  }

  #play(s, piece, { buffer, offset }) {
    const when = this.t0 + piece.whenF / this.sr;
    let skip = 0;
    if (!(this.ctx instanceof OfflineAudioContext)) skip = Math.max(0, this.ctx.currentTime - when); // late: keep time
    const duration = piece.length / this.sr - skip;
    if (duration <= 0) return;
    const src = this.ctx.createBufferSource();
    src.buffer = buffer;
    src.connect(s.dest);
    src.start(when + skip, piece.from / this.sr - offset + skip, duration);
    this.nodes.add(src);
    src.onended = () => { this.nodes.delete(src); src.disconnect(); };
  }
}
