// Drawing the song: the two lanes with one block per item (repeats, join crossfade, waveform from
// the clip's precomputed peaks), the time ruler, the duration, the item list, and the undo/redo
// buttons; `render()` redraws all of it (and the inspector) from `state` after every change. It
// only reads the document; the scale it last drew at is kept for the drag gesture.
import { fmtTime } from "./keys.js";
import { renderInspector, renderLaneControls } from "./track-inspector.js";
import { LANES, VIEW_SR, canRedo, canUndo, clipOf, setStatus, state } from "./track-state.js";
import { laneOf, plan } from "./timeline.js";

const $ = (id) => document.getElementById(id);
let viewPps = 1; // pixels per second of the arrangement as last drawn
const peaksCache = new Map(); // clip id -> Promise<peaks JSON | null>

/** Pixels per second of the arrangement as last drawn. */
export const drawnPps = () => viewPps;

export function render() {
  const { doc, selected } = state;
  const layout = plan(doc.edl, VIEW_SR);
  const seconds = Math.max(layout.length / VIEW_SR, 8);
  const arrangement = $("arrangement");
  const width = Math.max(arrangement.clientWidth - 100, 400);
  const pps = width / (seconds * 1.05);
  viewPps = pps;
  drawRuler(seconds, pps);
  for (const lane of LANES) {
    const body = document.querySelector(`[data-lane-body="${lane}"]`);
    body.replaceChildren();
    body.style.width = `${seconds * 1.05 * pps}px`;
    const l = laneOf(doc.edl, lane);
    document.querySelector(`[data-lane-summary="${lane}"]`).textContent =
      `pan ${fmtPan(l.pan)}${l.offset_s ? ` · +${Math.round(l.offset_s * 1000)} ms` : ""}`;
  }
  for (const p of layout.placements) {
    const item = doc.edl.items[p.index];
    const block = document.createElement("div");
    block.className = `block${p.index === selected ? " selected" : ""}`;
    block.dataset.index = p.index;
    block.style.left = `${(p.start / VIEW_SR) * pps}px`;
    block.style.width = `${Math.max(3, (p.length / VIEW_SR) * pps)}px`;
    block.title = `${clipOf(item).label} ${item.start_s.toFixed(3)}–${item.end_s.toFixed(3)} s`;
    block.textContent = `${clipOf(item).label}${p.repeat > 1 ? ` ×${p.repeat}` : ""}`;
    for (let j = 1; j < p.repeat; j++) {
      const rep = document.createElement("span");
      rep.className = "rep";
      rep.style.left = `${(100 * j * (p.unit - p.repeatOverlap)) / p.length}%`;
      block.append(rep);
    }
    if (p.headJoin) {
      const xf = document.createElement("span");
      xf.className = "xf";
      xf.style.left = "0";
      xf.style.width = `${(100 * p.headJoin) / p.length}%`;
      block.append(xf);
    }
    block.append(waveCanvas(item, p));
    document.querySelector(`[data-lane-body="${p.lane}"]`)?.append(block);
  }
  $("duration").textContent = fmtTime(layout.length / VIEW_SR);
  if (layout.problems.length) setStatus(`item ${layout.problems[0].index + 1}: ${layout.problems[0].message}`, "error");
  renderItems();
  renderInspector();
  renderLaneControls();
  $("undo").disabled = !canUndo();
  $("redo").disabled = !canRedo();
}

function fmtPan(pan) {
  if (pan <= -1) return "L";
  if (pan >= 1) return "R";
  return pan === 0 ? "C" : pan.toFixed(2);
}

function drawRuler(seconds, pps) {
  const ruler = $("ruler");
  const step = [1, 2, 5, 10, 15, 30, 60].find((s) => s * pps >= 60) || 60;
  ruler.replaceChildren(...Array.from({ length: Math.floor(seconds / step) + 1 }, (_, k) => {
    const span = document.createElement("span");
    span.style.left = `${k * step * pps}px`;
    span.textContent = fmtTime(k * step).replace(/\.00$/, "");
    return span;
  }));
}

function waveCanvas(item, p) {
  const canvas = document.createElement("canvas");
  const clip = clipOf(item);
  if (!clip.peaks_url) return canvas;
  if (!peaksCache.has(clip.id)) peaksCache.set(clip.id, fetch(clip.peaks_url).then((r) => r.json()).catch(() => null));
  peaksCache.get(clip.id).then((peaks) => {
    if (!peaks || !canvas.isConnected) return;
    const w = (canvas.width = Math.max(1, Math.round(canvas.clientWidth)));
    const h = (canvas.height = 36);
    const g = canvas.getContext("2d");
    g.fillStyle = "rgba(0,0,0,.55)";
    const values = peaks.peaks[0];
    const perSec = values.length / peaks.duration;
    const unitS = p.unit / VIEW_SR, periodS = (p.unit - p.repeatOverlap) / VIEW_SR, total = p.length / VIEW_SR;
    for (let x = 0; x < w; x++) {
      const t = (x / w) * total;
      const within = Math.min(t % periodS, unitS);
      const v = Math.abs(values[Math.floor((item.start_s + within) * perSec)] || 0);
      g.fillRect(x, h / 2 - (v * h) / 2, 1, Math.max(1, v * h));
    }
  });
  return canvas;
}

function renderItems() {
  const { doc, selected } = state;
  const list = $("items");
  $("items-empty").hidden = doc.edl.items.length > 0;
  list.replaceChildren(...doc.edl.items.map((item, i) => {
    const li = document.createElement("li");
    li.draggable = true;
    li.dataset.index = i;
    li.className = i === selected ? "selected" : "";
    const lane = item.lane ?? 0;
    li.innerHTML = `<span class="grip" aria-hidden="true">⋮⋮</span><span></span><span class="lane-dot l${lane}" title="Lane ${lane + 1}"></span>`;
    const repeat = (item.repeat ?? 1) > 1 ? ` ×${item.repeat}` : "";
    li.children[1].textContent =
      `${i + 1}. ${clipOf(item).label} · ${item.start_s.toFixed(2)}–${item.end_s.toFixed(2)} s${repeat}`;
    return li;
  }));
}
