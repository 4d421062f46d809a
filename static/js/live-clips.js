// Live clips in the clip browser: clips still being generated, shown above the list with a
// "live" badge and their progress. Play starts at once from the first second (the stream is a
// growing WAV, /api/v1/checkpoints/{id}/live-clips/{index}/stream, played by live-stream.js),
// the waveform grows as the clip does, K (or the button) keeps the last seconds heard as a new
// clip, and a finished clip becomes an ordinary row of the list (`onLanded`) without reloading.
// `#live-player`'s data attributes say what the player does (state, position, first sound).
import { api } from "./api.js";
import { fmtTime, onKeys, toast } from "./keys.js";
import { LiveStream } from "./live-stream.js";

const POLL_MS = 1000;
const KEEP_S = 30;

export class LiveClips {
  constructor(root, { url, onLanded, onPlay }) {
    this.root = root;
    this.url = url;
    this.onLanded = onLanded;
    this.onPlay = onPlay;
    this.rows = new Map(); // "checkpoint-index" -> { clip, el, peaks }
    this.active = null; // the key of the live clip the player holds
    this.audio = new LiveStream();
    this.status = document.createElement("div");
    this.status.id = "live-player";
    this.status.hidden = true;
    this.status.dataset.state = "idle";
    root.after(this.status);
    this.audio.addEventListener("timeupdate", () => this.paintHead());
    this.audio.addEventListener("playing", () => {
      if (this.audio.firstSoundMs != null) this.status.dataset.firstSoundMs = String(this.audio.firstSoundMs);
      this.paintState();
    });
    this.audio.addEventListener("pause", () => this.paintState());
    this.audio.addEventListener("ended", () => { this.paintState(); this.dropFinished(); });
    root.addEventListener("click", (e) => this.click(e));
    // Registered before the browser's own keys: K on a live clip is "keep that", not a verdict.
    onKeys((e) => {
      if (this.active == null || e.ctrlKey || e.metaKey || e.altKey) return false;
      if (e.key === "k" || e.key === "K") { this.keep(); return true; }
      if (e.key === " " && this.rows.has(this.active)) { this.toggle(this.active); return true; }
      return false;
    });
    this.poll();
  }

  get playing() { return !this.audio.paused; }

  /** The browser's own player takes over: live keys go back to it. */
  release() {
    this.audio.stop();
    this.active = null;
    this.audioKey = null;
    this.paintState();
  }

  async poll() {
    try {
      const page = await api("GET", this.url);
      const seen = new Set();
      for (const clip of page.data) {
        const key = `${clip.checkpoint_id}-${clip.index}`;
        seen.add(key);
        const known = this.rows.get(key);
        if (known) known.clip = clip; else this.add(key, clip);
        this.refresh(key);
      }
      for (const key of [...this.rows.keys()]) if (!seen.has(key)) this.finish(key);
      this.root.hidden = this.rows.size === 0;
    } catch (err) {
      console.warn("live clips:", err.message);
    } finally {
      setTimeout(() => this.poll(), POLL_MS);
    }
  }

  add(key, clip) {
    const el = document.createElement("div");
    el.className = "clip live";
    el.dataset.live = key;
    el.innerHTML = `<button type="button" class="playbtn icon" data-live-play>▶</button>
      <div class="wave"><canvas width="380" height="40" aria-hidden="true"></canvas><div class="playhead"></div></div>
      <div class="meta"><span class="badge live">live</span><span class="title"></span>
        <span class="num" data-live-progress></span><span class="small muted" data-live-kept></span></div>
      <button type="button" data-live-keep title="Save the last ${KEEP_S} s heard as a clip (K)">Keep that <kbd>K</kbd></button>`;
    el.querySelector("[data-live-play]").setAttribute("aria-label", `Play live clip ${clip.index} of epoch ${clip.epoch}`);
    el.querySelector(".title").textContent = `Epoch ${clip.epoch} · clip ${clip.index}`;
    this.root.append(el);
    this.rows.set(key, { clip, el, peaks: null });
  }

  /** Progress text and the growing waveform. */
  async refresh(key) {
    const row = this.rows.get(key);
    const c = row.clip;
    row.el.querySelector("[data-live-progress]").textContent =
      `${fmtTime(c.generated_s)} of ${fmtTime(c.seconds)} generated`;
    try {
      const res = await fetch(c.peaks_url, { headers: { Accept: "application/json" } });
      if (!res.ok) return;
      row.peaks = await res.json();
      this.draw(row);
    } catch { /* the next poll draws it */ }
  }

  draw(row) {
    const canvas = row.el.querySelector("canvas");
    const ctx = canvas.getContext("2d");
    const doc = row.peaks;
    const total = doc.total_samples || row.clip.seconds * doc.sample_rate;
    const w = canvas.width, h = canvas.height;
    ctx.clearRect(0, 0, w, h);
    ctx.fillStyle = "#2a3140";
    ctx.fillRect(0, h / 2, w, 1);
    ctx.fillStyle = "#5fb8b0";
    const scale = (v) => h / 2 - (v / 128) * (h / 2);
    for (let i = 0; i < doc.length; i++) {
      const x = Math.floor((i * doc.samples_per_pixel * w) / total);
      const x2 = Math.max(x + 1, Math.floor(((i + 1) * doc.samples_per_pixel * w) / total));
      const lo = scale(doc.data[2 * i]), hi = scale(doc.data[2 * i + 1]);
      ctx.fillRect(x, hi, x2 - x, Math.max(1, lo - hi));
    }
    row.el.dataset.samples = String(doc.samples ?? doc.length * doc.samples_per_pixel);
  }

  click(e) {
    const el = e.target.closest("[data-live]");
    if (!el) return;
    const key = el.dataset.live;
    if (e.target.closest("[data-live-keep]")) { this.active = key; this.keep(); return; }
    if (e.target.closest("[data-live-play]")) this.toggle(key);
  }

  toggle(key) {
    const row = this.rows.get(key);
    if (!row) return;
    if (this.audioKey === key && !this.audio.ended) {
      if (this.playing) this.audio.pause(); else this.audio.resume();
      return;
    }
    this.active = key;
    this.audioKey = key;
    this.onPlay?.();
    this.audio.play(row.clip.stream_url).catch((err) => {
      toast(`the live stream broke off: ${err.message}`);
      this.paintState();
    });
    this.paintState();
  }

  paintState() {
    this.status.dataset.state = this.playing ? "playing" : "paused";
    for (const [key, row] of this.rows) {
      const on = key === this.active && this.playing;
      row.el.classList.toggle("playing", on);
      row.el.classList.toggle("selected", key === this.active);
      row.el.querySelector("[data-live-play]").textContent = on ? "❚❚" : "▶";
    }
  }

  paintHead() {
    this.status.dataset.position = this.audio.currentTime.toFixed(3);
    const row = this.rows.get(this.audioKey);
    if (!row) return;
    row.el.querySelector(".playhead").style.left = `${(100 * this.audio.currentTime) / row.clip.seconds}%`;
  }

  /** "Keep that": the last seconds up to what the listener has heard. */
  async keep() {
    const row = this.rows.get(this.active);
    if (!row) { toast("that clip is finished: keep a region of it in the clip editor"); return; }
    // Up to what was heard of this clip; a clip not played yet: up to what is generated.
    const heard = this.audioKey === this.active ? this.audio.currentTime : null;
    const body = heard ? { seconds: KEEP_S, end_s: heard } : { seconds: KEEP_S };
    try {
      const clip = await api("POST", row.clip.keep_url, body);
      const kept = row.el.querySelector("[data-live-kept]");
      kept.textContent = "";
      const link = document.createElement("a");
      link.href = `/clips/${clip.id}`;
      link.textContent = `kept ${clip.duration_s.toFixed(1)} s as clip #${clip.id}`;
      kept.append(link);
      toast(`Kept ${clip.duration_s.toFixed(1)} s as clip #${clip.id}`);
      this.onLanded?.(clip.id);
    } catch (err) { toast(err.message, 5000); }
  }

  /** A clip left the live list: if it became a clip, hand it to the list. */
  async finish(key) {
    const row = this.rows.get(key);
    if (!row || row.finishing) return;
    row.finishing = true;
    try {
      const now = await api("GET", row.clip.url);
      if (now.state === "finished") { row.clipId = now.clip_id; this.onLanded?.(now.clip_id); }
    } catch { /* cancelled or failed: it just goes */ }
    row.done = true;
    this.dropFinished();
  }

  /** Remove finished rows, except the one still playing (its stream plays to the end). */
  dropFinished() {
    for (const [key, row] of [...this.rows]) {
      if (!row.done || (key === this.active && this.playing)) continue;
      row.el.remove();
      this.rows.delete(key);
      if (key === this.active) this.active = null;
      if (key === this.audioKey) { this.audioKey = null; this.audio.stop(); }
    }
    this.root.hidden = this.rows.size === 0;
  }
}
