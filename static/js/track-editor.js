// The song editor: an arrangement of EDL items over two lanes. Every edit goes through `edit()`,
// which records an undo step and schedules an autosave (PUT = a new revision on the server).
import { Problem, api } from "./api.js";
import { fmtTime, onKeys, pageData, toast } from "./keys.js";
import { Preview } from "./preview.js";
import { laneOf, plan } from "./timeline.js";

const data = pageData();
const $ = (id) => document.getElementById(id);
const trackId = data.track.id;
const clips = data.clips; // clip id (string) -> clip JSON
const LANES = [0, 1];
const AUTOSAVE_MS = 1200;
const VIEW_SR = 1000; // the arrangement is laid out in milliseconds

let doc = { name: data.track.name, edl: normalise(data.track.edl) };
let revision = data.track.revision;
let selected = doc.edl.items.length ? 0 : null;
const undoStack = [];
const redoStack = [];
let dirty = false;
let saving = null;
let saveTimer = null;
const preview = new Preview();

function normalise(edl) {
  const out = structuredClone(edl);
  out.items = out.items || [];
  out.lanes = out.lanes || {};
  return out;
}

const snapshot = () => structuredClone(doc);

/** Apply `mutate(doc)` as one undoable step, redraw, autosave. */
function edit(mutate) {
  undoStack.push(snapshot());
  if (undoStack.length > 200) undoStack.shift();
  redoStack.length = 0;
  mutate(doc);
  changed();
}

function changed() {
  dirty = true;
  render();
  setStatus(`unsaved · r${revision}`, "dirty");
  clearTimeout(saveTimer);
  saveTimer = setTimeout(save, AUTOSAVE_MS);
}

function undo() {
  if (!undoStack.length) return;
  redoStack.push(snapshot());
  doc = undoStack.pop();
  clampSelection();
  changed();
}

function redo() {
  if (!redoStack.length) return;
  undoStack.push(snapshot());
  doc = redoStack.pop();
  clampSelection();
  changed();
}

function clampSelection() {
  if (selected != null && selected >= doc.edl.items.length) selected = doc.edl.items.length - 1;
  if (selected != null && selected < 0) selected = null;
}

function setStatus(text, kind = "") {
  const el = $("save-status");
  el.textContent = text;
  el.className = `status ${kind}`;
}

// -- saving --------------------------------------------------------------------------------------
async function save() {
  clearTimeout(saveTimer);
  if (saving) { await saving; if (!dirty) return; }
  if (!dirty) return;
  const layout = plan(doc.edl, VIEW_SR);
  if (layout.problems.length) {
    const p = layout.problems[0];
    setStatus(`not saved: item ${p.index + 1}: ${p.message}`, "error");
    return;
  }
  const body = { name: doc.name, edl: doc.edl, base_revision: revision };
  const sent = JSON.stringify(doc);
  setStatus("saving…");
  saving = (async () => {
    try {
      const out = await api("PUT", `/api/v1/tracks/${trackId}`, body);
      revision = out.revision;
      data.track = out;
      dirty = JSON.stringify(doc) !== sent; // edits made while the request was out
      setStatus(dirty ? `unsaved · r${revision}` : `saved · r${revision}`, dirty ? "dirty" : "");
      if (dirty) saveTimer = setTimeout(save, AUTOSAVE_MS);
      else { monoCheck(); if (!$("stereo-view").hidden) drawStereo(); }
    } catch (err) {
      if (err instanceof Problem && err.status === 409) {
        setStatus("changed elsewhere: reload to continue", "error");
      } else if (err instanceof Problem && err.errors.length) {
        const e = err.errors[0];
        setStatus(`not saved: ${e.field}: ${e.msg}`, "error");
        if (e.index != null) { selected = e.index; render(); }
      } else {
        setStatus(`not saved: ${err.message}`, "error");
      }
    } finally {
      saving = null;
    }
  })();
  return saving;
}

let monoTimer = null;
function monoCheck() {
  const lanes = new Set(doc.edl.items.map((i) => i.lane ?? 0));
  const box = $("mono-warning");
  if (lanes.size < 2) { box.hidden = true; return; }
  clearTimeout(monoTimer);
  monoTimer = setTimeout(async () => {
    try {
      const r = await api("GET", `/api/v1/tracks/${trackId}/mono-check`);
      box.hidden = !r.warning;
      box.textContent = r.message || "";
    } catch { box.hidden = true; }
  }, 400);
}

window.addEventListener("beforeunload", (e) => {
  if (dirty) { save(); e.preventDefault(); }
});

// -- drawing -------------------------------------------------------------------------------------
const clipOf = (item) => clips[String(item.clip_id)] || { id: item.clip_id, label: `#${item.clip_id}` };

function render() {
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
  $("undo").disabled = !undoStack.length;
  $("redo").disabled = !redoStack.length;
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

let viewPps = 1; // pixels per second of the arrangement as last drawn

// -- drag an item in time (UX row 26): the drop changes the item's offset_s, 1 ms steps ---------
let drag = null;
$("arrangement").addEventListener("pointerdown", (e) => {
  const block = e.target.closest(".block");
  if (!block || e.button !== 0) return;
  const index = Number(block.dataset.index);
  const p = plan(doc.edl, VIEW_SR).placements.find((q) => q.index === index);
  drag = { block, index, x0: e.clientX, left0: block.offsetLeft, minS: -(p ? p.start / VIEW_SR : 0), moved: false };
  block.setPointerCapture(e.pointerId);
});
$("arrangement").addEventListener("pointermove", (e) => {
  if (!drag) return;
  const dx = e.clientX - drag.x0;
  if (!drag.moved && Math.abs(dx) < 3) return;
  drag.moved = true;
  drag.block.classList.add("dragging");
  const s = Math.max(drag.minS, dx / viewPps);
  drag.block.style.left = `${drag.left0 + s * viewPps}px`;
  drag.block.title = `${s >= 0 ? "+" : ""}${Math.round(s * 1000)} ms`;
});
function endDrag(e) {
  if (!drag) return;
  const d = drag;
  drag = null;
  if (!d.moved) return;
  const shift = Math.round(Math.max(d.minS, (e.clientX - d.x0) / viewPps) * 1000) / 1000;
  selected = d.index;
  if (!shift) { render(); return; }
  edit((doc_) => {
    const item = doc_.edl.items[d.index];
    item.offset_s = Math.round(((item.offset_s ?? 0) + shift) * 1000) / 1000;
  });
  toast(`moved ${shift > 0 ? "+" : ""}${Math.round(shift * 1000)} ms · offset ${Math.round(doc.edl.items[d.index].offset_s * 1000)} ms`, 1200);
}
$("arrangement").addEventListener("pointerup", endDrag);
$("arrangement").addEventListener("pointercancel", () => { drag = null; render(); });

const peaksCache = new Map();
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

function renderLaneControls() {
  for (const input of document.querySelectorAll("[data-lane-field]")) {
    const l = laneOf(doc.edl, Number(input.dataset.lane));
    const value = { pan: l.pan, offset_ms: Math.round(l.offset_s * 1000), gain_db: l.gain_db }[input.dataset.laneField];
    if (document.activeElement !== input) input.value = value;
  }
  if (document.activeElement !== $("crossfade-ms")) $("crossfade-ms").value = Math.round((doc.edl.crossfade_s ?? 0.01) * 1000);
  if (document.activeElement !== $("repeat-crossfade-ms")) $("repeat-crossfade-ms").value = Math.round((doc.edl.repeat_crossfade_s ?? 0) * 1000);
}

const FIELD_VIEW = {
  start_s: (it) => it.start_s,
  end_s: (it) => it.end_s,
  gain_db: (it) => it.gain_db ?? 0,
  repeat: (it) => it.repeat ?? 1,
  fade_in_ms: (it) => Math.round((it.fade_in_s ?? 0) * 1000),
  fade_out_ms: (it) => Math.round((it.fade_out_s ?? 0) * 1000),
  crossfade_ms: (it) => (it.crossfade_s == null ? "" : Math.round(it.crossfade_s * 1000)),
  offset_ms: (it) => Math.round((it.offset_s ?? 0) * 10000) / 10,
  lane: (it) => it.lane ?? 0,
  pan: (it) => (it.pan == null ? "" : it.pan),
};

function renderInspector() {
  const item = selected != null ? doc.edl.items[selected] : null;
  $("no-item").hidden = !!item;
  $("item-fields").hidden = !item;
  $("item-actions").hidden = !item;
  $("item-clip-link").hidden = !item;
  if (!item) return;
  $("item-title").textContent = `Item ${selected + 1} · ${clipOf(item).label}`;
  $("item-clip-link").href = `/clips/${item.clip_id}`;
  for (const input of document.querySelectorAll("[data-field]")) {
    if (document.activeElement !== input) input.value = FIELD_VIEW[input.dataset.field](item);
    input.removeAttribute("aria-invalid");
  }
}

// -- edits ---------------------------------------------------------------------------------------
/** Put `item` on `lane`; the first time lane 2 is used, lanes go hard left / hard right. */
function setLane(d, item, lane) {
  item.lane = lane;
  if (lane === 1 && !d.edl.lanes["0"] && !d.edl.lanes["1"]) {
    d.edl.lanes = { 0: { pan: -1, offset_s: 0, gain_db: 0 }, 1: { pan: 1, offset_s: 0, gain_db: 0 } };
  }
}

const num = (v, fallback = 0) => (v === "" || v == null || !isFinite(Number(v)) ? fallback : Number(v));

function setField(field, raw) {
  edit((d) => {
    const item = d.edl.items[selected];
    switch (field) {
      case "start_s": case "end_s": case "gain_db": item[field] = num(raw, item[field]); break;
      case "repeat": item.repeat = Math.max(1, Math.round(num(raw, 1))); break;
      case "fade_in_ms": item.fade_in_s = Math.max(0, num(raw) / 1000); break;
      case "fade_out_ms": item.fade_out_s = Math.max(0, num(raw) / 1000); break;
      case "crossfade_ms": if (raw === "") delete item.crossfade_s; else item.crossfade_s = Math.max(0, num(raw) / 1000); break;
      case "offset_ms": item.offset_s = num(raw) / 1000; break;
      case "lane": setLane(d, item, Number(raw)); break;
      case "pan": item.pan = raw === "" ? null : Math.max(-1, Math.min(1, num(raw))); break;
    }
  });
}

function setLaneField(lane, field, raw) {
  edit((d) => {
    const l = laneOf(d.edl, lane);
    if (field === "pan") l.pan = Math.max(-1, Math.min(1, num(raw)));
    if (field === "offset_ms") l.offset_s = Math.max(0, num(raw) / 1000);
    if (field === "gain_db") l.gain_db = num(raw);
    d.edl.lanes[String(lane)] = l;
  });
}

function nudge(ms) {
  if (selected == null) return;
  edit((d) => {
    const item = d.edl.items[selected];
    item.offset_s = Math.round(((item.offset_s ?? 0) + ms / 1000) * 1e6) / 1e6;
  });
  toast(`offset ${Math.round(doc.edl.items[selected].offset_s * 10000) / 10} ms`, 900);
}

function move(from, to) {
  if (from === to || from == null) return;
  edit((d) => {
    const [item] = d.edl.items.splice(from, 1);
    d.edl.items.splice(to > from ? to - 1 : to, 0, item);
  });
  selected = to > from ? to - 1 : to;
  render();
}

function addClip(id, lane) {
  const clip = clips[String(id)];
  edit((d) => {
    const item = { clip_id: clip.id, start_s: 0, end_s: Math.round(clip.duration_s * 1e6) / 1e6, lane: 0 };
    setLane(d, item, lane);
    d.edl.items.push(item);
  });
  selected = doc.edl.items.length - 1;
  render();
}

// -- wiring --------------------------------------------------------------------------------------
document.querySelectorAll("[data-field]").forEach((input) =>
  input.addEventListener("change", () => selected != null && setField(input.dataset.field, input.value)));
document.querySelectorAll("[data-lane-field]").forEach((input) =>
  input.addEventListener("change", () => setLaneField(Number(input.dataset.lane), input.dataset.laneField, input.value)));
$("crossfade-ms").addEventListener("change", (e) => edit((d) => { d.edl.crossfade_s = Math.max(0, num(e.target.value, 10) / 1000); }));
$("repeat-crossfade-ms").addEventListener("change", (e) => edit((d) => { d.edl.repeat_crossfade_s = Math.max(0, num(e.target.value) / 1000); }));
$("track-name").addEventListener("change", (e) => edit((d) => { d.name = e.target.value; }));
$("undo").addEventListener("click", undo);
$("redo").addEventListener("click", redo);
$("save").addEventListener("click", save);
$("nudge-left").addEventListener("click", () => nudge(-10));
$("nudge-right").addEventListener("click", () => nudge(10));
$("duplicate").addEventListener("click", duplicate);
$("remove").addEventListener("click", remove);
$("preview").addEventListener("click", togglePreview);
$("render").addEventListener("click", playRender);
$("align").addEventListener("click", autoAlign);
$("stereo-toggle").addEventListener("click", () => toggleStereo());
$("picker").addEventListener("click", (e) => {
  const b = e.target.closest("[data-add-clip]");
  if (b) addClip(Number(b.dataset.addClip), Number(b.dataset.lane));
});
$("arrangement").addEventListener("click", (e) => {
  const block = e.target.closest(".block");
  if (block) { selected = Number(block.dataset.index); render(); }
});

const items = $("items");
let dragFrom = null;
items.addEventListener("click", (e) => {
  const li = e.target.closest("li");
  if (li) { selected = Number(li.dataset.index); render(); }
});
items.addEventListener("dragstart", (e) => {
  dragFrom = Number(e.target.closest("li").dataset.index);
  e.dataTransfer.effectAllowed = "move";
  e.dataTransfer.setData("text/plain", String(dragFrom));
});
items.addEventListener("dragover", (e) => {
  e.preventDefault();
  items.querySelectorAll(".drop-before").forEach((el) => el.classList.remove("drop-before"));
  e.target.closest("li")?.classList.add("drop-before");
});
items.addEventListener("drop", (e) => {
  e.preventDefault();
  const li = e.target.closest("li");
  const to = li ? Number(li.dataset.index) : doc.edl.items.length;
  move(dragFrom ?? Number(e.dataTransfer.getData("text/plain")), to);
  dragFrom = null;
});
items.addEventListener("dragend", () => items.querySelectorAll(".drop-before").forEach((el) => el.classList.remove("drop-before")));

function duplicate() {
  if (selected == null) return;
  edit((d) => d.edl.items.splice(selected + 1, 0, structuredClone(d.edl.items[selected])));
  selected += 1;
  render();
}

function remove() {
  if (selected == null) return;
  edit((d) => d.edl.items.splice(selected, 1));
  clampSelection();
  render();
}

async function togglePreview() {
  if (preview.playing) { stopPreview(); return; }
  try {
    $("preview").textContent = "… loading";
    await preview.play(doc.edl, clips, stopPreview);
    $("preview").textContent = "■ Stop";
    followCursor();
  } catch (err) {
    $("preview").textContent = "▶ Preview";
    toast(`cannot preview: ${err.message}`);
  }
}

function stopPreview() {
  preview.stop();
  $("preview").textContent = "▶ Preview";
  $("cursor").style.display = "none";
}

function followCursor() {
  const cursor = $("cursor");
  const layout = plan(doc.edl, VIEW_SR);
  const seconds = Math.max(layout.length / VIEW_SR, 8);
  const body = document.querySelector("[data-lane-body='0']");
  const pps = body.clientWidth / (seconds * 1.05);
  const tick = () => {
    if (!preview.playing) return;
    cursor.style.display = "block";
    cursor.style.left = `${body.offsetLeft + Math.max(0, preview.position) * pps}px`;
    requestAnimationFrame(tick);
  };
  tick();
}

async function playRender() {
  if (dirty || saving) await save();
  const audio = $("render-audio");
  audio.hidden = false;
  audio.src = data.track.audio_url;
  try {
    await audio.play();
  } catch (err) {
    const res = await fetch(data.track.audio_url, { method: "HEAD" });
    toast(res.status === 409 ? "Nothing to render yet: add an item" : `cannot play the render: ${err.message}`);
  }
}

// -- split-channel view of the render (UX row 29): server peaks per channel, drawn as SVG ---------
function toggleStereo(force) {
  const view = $("stereo-view");
  const show = force ?? view.hidden;
  view.hidden = !show;
  $("stereo-toggle").setAttribute("aria-pressed", String(show));
  if (show) drawStereo();
}

async function drawStereo() {
  const status = $("stereo-status");
  if (dirty || saving) await save();
  if (!doc.edl.items.length) { status.textContent = "nothing rendered yet: add an item"; return; }
  status.textContent = "rendering…";
  const rev = revision;
  try {
    const r = await api("GET", `/api/v1/tracks/${trackId}/peaks?revision=${rev}&pixels=1200`);
    if (rev !== revision) return; // a newer save redraws
    document.querySelectorAll("#stereo-view svg").forEach((svg) => {
      const values = r.peaks[Number(svg.dataset.channel)] || [];
      svg.setAttribute("viewBox", `0 -1 ${Math.max(1, values.length)} 2`);
      svg.querySelector("line").setAttribute("x2", String(Math.max(1, values.length)));
      svg.querySelector("path").setAttribute("d", values.map((v, i) => {
        const a = Math.max(Math.abs(v), 0.002).toFixed(4);
        return `M${i + 0.5} -${a}V${a}`;
      }).join(""));
    });
    window.studio.stereoPeaks = r;
    status.textContent = `r${r.revision} · ${fmtTime(r.duration)} · ${r.channels} channels`;
  } catch (err) {
    status.textContent = `no render: ${err.message}`;
  }
}

async function autoAlign() {
  const status = $("align-status");
  status.textContent = "aligning…";
  try {
    const r = await api("POST", `/api/v1/tracks/${trackId}/align`, { lane_a: 0, lane_b: 1, edl: doc.edl });
    edit((d) => {
      for (const [n, l] of Object.entries(r.lanes)) d.edl.lanes[n] = l;
    });
    status.textContent = `lane 2 was ${Math.round(r.shift_s * 1000)} ms behind lane 1: lined up`;
  } catch (err) {
    status.textContent = `not aligned: ${err.message}`;
  }
}

onKeys((e) => {
  const key = e.key;
  const mod = e.ctrlKey || e.metaKey;
  if (mod && key.toLowerCase() === "z") { e.shiftKey ? redo() : undo(); return true; }
  if (mod && key.toLowerCase() === "y") { redo(); return true; }
  if (mod && key.toLowerCase() === "s") { save(); return true; }
  if (mod) return false;
  if (e.altKey && (key === "ArrowLeft" || key === "ArrowRight")) {
    nudge((key === "ArrowRight" ? 1 : -1) * (e.shiftKey ? 1 : 10));
    return true;
  }
  if (e.altKey) return false;
  if (key === " ") { togglePreview(); return true; }
  if (key === "ArrowDown" || key === "ArrowUp") {
    if (!doc.edl.items.length) return true;
    selected = Math.max(0, Math.min(doc.edl.items.length - 1, (selected ?? -1) + (key === "ArrowDown" ? 1 : -1)));
    render();
    return true;
  }
  if (key === "d" && selected != null) { edit((d) => { d.edl.items[selected].repeat = (d.edl.items[selected].repeat ?? 1) + 1; }); return true; }
  if (key === "D") { duplicate(); return true; }
  if (key === "Delete" || key === "Backspace") { remove(); return true; }
  return false;
});

window.studio = {
  get doc() { return doc; }, get revision() { return revision; }, get dirty() { return dirty; }, save,
  renderOffline: (sampleRate) => preview.renderOffline(doc.edl, clips, sampleRate),
};
render();
monoCheck();
