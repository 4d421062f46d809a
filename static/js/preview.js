// The browser preview of a song: every section is an AudioBufferSourceNode started at its sample
// position (timeline.js), its envelope is a GainNode curve, its pan a StereoPannerNode (the same
// constant-power law as the server). Short clips are decoded once each; sections of long clips
// (up to the 600 s a run makes) are streamed from excerpts, chunk by chunk, just ahead of the
// playhead (clip-chunks.js), so a long clip is never decoded whole.
import { ChunkStore, Streamer, isLong } from "./clip-chunks.js";
import { envelopeAt, plan } from "./timeline.js";

const CURVE_POINTS = 256;

export class Preview {
  constructor() {
    this.ctx = null;
    this.buffers = new Map(); // clip id -> Promise<AudioBuffer>
    this.nodes = [];
    this.startedAt = null;
    this.length = 0;
    this.stream = null;
  }

  #context() {
    if (!this.ctx) {
      this.ctx = new AudioContext();
      this.chunks = new ChunkStore(this.ctx);
    }
    if (this.ctx.state === "suspended") this.ctx.resume();
    return this.ctx;
  }

  buffer(clip) {
    if (!this.buffers.has(clip.id)) {
      const ctx = this.#context();
      const decode = fetch(clip.audio_url).then((r) => r.arrayBuffer()).then((b) => ctx.decodeAudioData(b));
      decode.catch(() => this.buffers.delete(clip.id));
      this.buffers.set(clip.id, decode);
    }
    return this.buffers.get(clip.id);
  }

  get playing() { return this.startedAt != null; }
  get position() { return this.playing ? this.ctx.currentTime - this.startedAt : 0; }

  /** Schedule the whole song; `clips` maps clip id -> clip JSON. Resolves once started. */
  async play(edl, clips, onEnd) {
    this.stop();
    const ctx = this.#context();
    const buffers = await this.#buffers(edl, clips, (clip) => this.buffer(clip));
    // Decode the first seconds of every section of a long clip before the clock starts.
    const warm = new Streamer(ctx, this.chunks);
    for (const span of schedule(ctx, null, edl, buffers, null, clips).long) warm.add(span);
    await warm.prime();
    const master = ctx.createGain();
    master.connect(ctx.destination);
    const t0 = ctx.currentTime + 0.08;
    const { nodes, long, length } = schedule(ctx, master, edl, buffers, t0, clips);
    const stream = new Streamer(ctx, this.chunks);
    for (const span of long) stream.add(span);
    stream.begin(t0);
    this.stream = stream;
    this.nodes = [master, ...nodes];
    this.startedAt = t0;
    this.length = length;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => { this.stop(); onEnd?.(); }, (this.length + 0.2) * 1000);
  }

  /** The same schedule rendered offline at `sampleRate`: [left, right] Float32Arrays (tests
   * compare it with the server's render). */
  async renderOffline(edl, clips, sampleRate = 44100) {
    const length = plan(edl, sampleRate).length;
    const ctx = new OfflineAudioContext(2, Math.max(1, length), sampleRate);
    const decode = (clip) => fetch(clip.audio_url).then((r) => r.arrayBuffer()).then((b) => ctx.decodeAudioData(b));
    const buffers = await this.#buffers(edl, clips, decode);
    const stream = new Streamer(ctx, new ChunkStore(ctx, Infinity));
    this.offlineChunks = stream.store; // what was decoded (tests)
    for (const span of schedule(ctx, ctx.destination, edl, buffers, 0, clips).long) stream.add(span);
    await stream.scheduleAll(0);
    const out = await ctx.startRendering();
    return [out.getChannelData(0), out.getChannelData(1)];
  }

  /** Whole decoded buffers of the short clips `edl` uses (long ones are streamed). */
  async #buffers(edl, clips, load) {
    const buffers = new Map();
    for (const id of new Set(edl.items.map((i) => i.clip_id))) {
      if (!clips[id]) throw new Error(`clip #${id} is not known to this page`);
      if (!isLong(clips[id])) buffers.set(id, await load(clips[id]));
    }
    return buffers;
  }

  stop() {
    clearTimeout(this.timer);
    this.stream?.stop();
    this.stream = null;
    for (const n of this.nodes) {
      try { n.stop?.(); } catch { /* not started */ }
      n.disconnect();
    }
    this.nodes = [];
    this.startedAt = null;
  }
}

/** Start every section of `edl` at `t0` into `destination`; returns the nodes, the length (s)
 * and, for sections of long clips (no whole buffer in `buffers`), the spans a Streamer plays:
 * `at` seconds after `t0` into the section's envelope. With `t0` null it only lists the spans. */
function schedule(ctx, destination, edl, buffers, t0, clips) {
  const sr = ctx.sampleRate;
  const layout = plan(edl, sr);
  if (layout.problems.length) throw new Error(layout.problems[0].message);
  const nodes = [];
  const long = [];
  if (t0 == null) {
    for (const p of layout.placements) {
      const clip = clips[edl.items[p.index].clip_id];
      if (buffers.has(clip.id)) continue;
      const period = p.unit - p.repeatOverlap;
      for (let j = 0; j < p.repeat; j++) {
        long.push({ clip, from: p.srcStart / sr, to: (p.srcStart + p.unit) / sr, at: (p.start + j * period) / sr });
      }
    }
    return { nodes, long, length: layout.length / sr };
  }
  for (const p of layout.placements) {
    const item = edl.items[p.index];
    const env = ctx.createGain();
    const pan = ctx.createStereoPanner();
    pan.pan.value = p.pan;
    env.connect(pan).connect(destination);
    nodes.push(env, pan);
    scheduleEnvelope(env.gain, p, t0, sr);
    const period = p.unit - p.repeatOverlap;
    for (let j = 0; j < p.repeat; j++) {
      let out = env;
      if (p.repeatOverlap) { // equal-power joins between repetitions
        out = ctx.createGain();
        out.connect(env);
        nodes.push(out);
        scheduleRepeatJoin(out.gain, p, j, t0 + (p.start + j * period) / sr, sr);
      }
      const at = (p.start + j * period) / sr;
      if (!buffers.has(item.clip_id)) {
        long.push({ clip: clips[item.clip_id], from: p.srcStart / sr, to: (p.srcStart + p.unit) / sr, at, dest: out });
        continue;
      }
      const src = ctx.createBufferSource();
      src.buffer = buffers.get(item.clip_id);
      src.connect(out);
      src.start(t0 + at, p.srcStart / sr, p.unit / sr);
      nodes.push(src);
    }
  }
  return { nodes, long, length: layout.length / sr };
}

/** The block's envelope: flat gain, curves over the head and tail where fades or joins act
 * (curves never overlap: Web Audio refuses that). */
function scheduleEnvelope(param, p, t0, sr) {
  const start = t0 + p.start / sr;
  const head = Math.max(p.headJoin, p.fadeIn);
  const tail = Math.max(p.tailJoin, p.fadeOut);
  if (head + tail >= p.length) {
    param.setValueCurveAtTime(curve(p, 0, p.length), start, p.length / sr);
    return;
  }
  if (head > 1) param.setValueCurveAtTime(curve(p, 0, head), start, head / sr);
  else param.setValueAtTime(p.gain, start);
  param.setValueAtTime(p.gain, start + head / sr);
  if (tail > 1) param.setValueCurveAtTime(curve(p, p.length - tail, p.length), start + (p.length - tail) / sr, tail / sr);
}

function curve(p, from, to) {
  const n = Math.max(2, Math.min(CURVE_POINTS, to - from));
  const out = new Float32Array(n);
  for (let k = 0; k < n; k++) out[k] = envelopeAt(p, Math.round(from + (k * (to - from - 1)) / (n - 1)));
  return out;
}

function scheduleRepeatJoin(param, p, j, start, sr) {
  const R = p.repeatOverlap;
  const n = Math.max(2, Math.min(CURVE_POINTS, R));
  const ramp = (rising) => Float32Array.from({ length: n }, (_, k) => {
    const i = (k * (R - 1)) / (n - 1);
    const v = Math.sin(0.5 * Math.PI * (i + 0.5) / R);
    return rising ? v : Math.sqrt(Math.max(0, 1 - v * v));
  });
  if (j > 0) param.setValueCurveAtTime(ramp(true), start, R / sr);
  else param.setValueAtTime(1, start);
  if (j < p.repeat - 1) param.setValueCurveAtTime(ramp(false), start + (p.unit - R) / sr, R / sr);
}
