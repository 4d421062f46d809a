// The browser preview of a song: every section is an AudioBufferSourceNode started at its sample
// position (timeline.js), its envelope is a GainNode curve, its pan a StereoPannerNode (the same
// constant-power law as the server). Clips are decoded once each; they are short.
import { envelopeAt, plan } from "./timeline.js";
import { MAX_DECODE_S } from "./audition.js";

const CURVE_POINTS = 256;

export class Preview {
  constructor() {
    this.ctx = null;
    this.buffers = new Map(); // clip id -> Promise<AudioBuffer>
    this.nodes = [];
    this.startedAt = null;
    this.length = 0;
  }

  #context() {
    if (!this.ctx) this.ctx = new AudioContext();
    if (this.ctx.state === "suspended") this.ctx.resume();
    return this.ctx;
  }

  buffer(clip) {
    if (!this.buffers.has(clip.id)) {
      if (clip.duration_s > MAX_DECODE_S) return Promise.reject(new Error(`clip #${clip.id} is too long to preview; use Render`));
      const ctx = this.#context();
      this.buffers.set(clip.id, fetch(clip.audio_url).then((r) => r.arrayBuffer()).then((b) => ctx.decodeAudioData(b)));
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
    const master = ctx.createGain();
    master.connect(ctx.destination);
    const t0 = ctx.currentTime + 0.08;
    const { nodes, length } = schedule(ctx, master, edl, buffers, t0);
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
    schedule(ctx, ctx.destination, edl, buffers, 0);
    const out = await ctx.startRendering();
    return [out.getChannelData(0), out.getChannelData(1)];
  }

  async #buffers(edl, clips, load) {
    const buffers = new Map();
    for (const id of new Set(edl.items.map((i) => i.clip_id))) buffers.set(id, await load(clips[id]));
    return buffers;
  }

  stop() {
    clearTimeout(this.timer);
    for (const n of this.nodes) {
      try { n.stop?.(); } catch { /* not started */ }
      n.disconnect();
    }
    this.nodes = [];
    this.startedAt = null;
  }
}

/** Start every section of `edl` at `t0` into `destination`; returns the nodes and the length (s). */
function schedule(ctx, destination, edl, buffers, t0) {
  const sr = ctx.sampleRate;
  const layout = plan(edl, sr);
  if (layout.problems.length) throw new Error(layout.problems[0].message);
  const nodes = [];
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
      const src = ctx.createBufferSource();
      src.buffer = buffers.get(item.clip_id);
      let out = env;
      if (p.repeatOverlap) { // equal-power joins between repetitions
        out = ctx.createGain();
        out.connect(env);
        nodes.push(out);
        scheduleRepeatJoin(out.gain, p, j, t0 + (p.start + j * period) / sr, sr);
      }
      src.connect(out);
      src.start(t0 + (p.start + j * period) / sr, p.srcStart / sr, p.unit / sr);
      nodes.push(src);
    }
  }
  return { nodes, length: layout.length / sr };
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
