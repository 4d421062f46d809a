// The clip editor: wavesurfer.js 8 over precomputed peaks, audio streamed by the media element
// (HTTP Range; nothing decoded unless a loop needs samples), regions, markers, zoom, minimap,
// timeline, zero-crossing snapping, and "send to song".
import WaveSurfer from "/static/vendor/wavesurfer/wavesurfer.esm.js";
import RegionsPlugin from "/static/vendor/wavesurfer/plugins/regions.esm.js";
import TimelinePlugin from "/static/vendor/wavesurfer/plugins/timeline.esm.js";
import MinimapPlugin from "/static/vendor/wavesurfer/plugins/minimap.esm.js";
import ZoomPlugin from "/static/vendor/wavesurfer/plugins/zoom.esm.js";
import { api } from "./api.js";
import { Player, matchGain } from "./audition.js";
import { Curation } from "./curation.js";
import { fmtTime, onKeys, pageData, toast } from "./keys.js";
import { SourceAB } from "./source-ab.js";
import { wireContinue } from "./prime-action.js";

const data = pageData();
const clip = data.clip;
const sr = data.sample_rate;
const $ = (id) => document.getElementById(id);
const curation = new Curation(document.querySelector("[data-curation]"), {
  onSaved: (c, changes) => {
    if ("kept" in changes && curation.autoAdvance && document.querySelector("[data-next]")) {
      location.href = document.querySelector("[data-next]").href;
    }
  },
});
curation.show(clip);

// The media element plays through the same Player as the browser: loudness-matched, and loops
// from decoded samples.
const player = new Player();
player.load(clip);

const peaks = clip.peaks_url ? await (await fetch(clip.peaks_url)).json() : null;
const regions = RegionsPlugin.create();
// The timeline plugin lays out every notch of the clip: keep them to about 150 (a 600 s clip at
// 0.25 s would be 2,400 notches and seconds of layout); short clips keep 0.25 s notches.
const tick = [0.25, 0.5, 1, 2, 5, 10, 15, 30, 60].find((s) => clip.duration_s / s <= 150) ?? 60;
const ws = WaveSurfer.create({
  container: "#waveform",
  height: 160,
  waveColor: "#5b6b84",
  progressColor: "#4fd1c5",
  cursorColor: "#f6ad55",
  cursorWidth: 2,
  media: player.audio,
  url: clip.audio_url,
  peaks: peaks ? peaks.peaks : [new Float32Array(Math.ceil(clip.duration_s * 100))],
  duration: peaks ? peaks.duration : clip.duration_s,
  normalize: true,
  dragToSeek: false, // a drag selects a section (regions); a click seeks
  plugins: [
    regions,
    TimelinePlugin.create({ height: 20, timeInterval: tick, primaryLabelInterval: 4 * tick, style: { color: "#8d94a5", fontSize: "11px" } }),
    MinimapPlugin.create({ container: "#minimap", height: 36, waveColor: "#3b4559", progressColor: "#2c7a74", overlayColor: "rgba(79,209,197,.15)" }),
    ZoomPlugin.create({ scale: 0.25, maxZoom: 4000 }),
  ],
});
// A/B against the album at the best-matching moment (when the clip was compared with it).
const ab = clip.source ? new SourceAB(clip.source, player) : null;
if (ab) {
  ab.addEventListener("state", (e) => {
    $("ab-source").setAttribute("aria-pressed", String(e.detail.onSource));
    $("ab-state").textContent = e.detail.onSource
      ? `B: ${clip.source.name} at ${fmtTime(e.detail.time)}` : "A: the clip";
  });
  ab.addEventListener("error", (e) => toast(`cannot play the source: ${e.detail?.message || e.detail}`));
  $("ab-source").addEventListener("click", () => ab.toggle());
  $("play-source").addEventListener("click", () => ab.playMoment());
}
window.studio = { ws, regions, player, ab, toggleSpectrogram: (on) => toggleSpectrogram(on) }; // for the browser tests and the curious

let selection = null; // the one section region
const markerRegions = new Map(); // marker id -> region
regions.enableDragSelection({ color: "rgba(79, 209, 197, 0.22)" });

regions.on("region-created", (r) => {
  if (r.id.startsWith("marker-")) return;
  if (selection && selection !== r) selection.remove();
  selection = r;
  snapSelection();
});
regions.on("region-updated", (r) => { if (r === selection) snapSelection(); });
regions.on("region-clicked", (r, e) => { e.stopPropagation(); ws.setTime(r.start); });

async function snapSelection() {
  const r = selection;
  if (!r) return;
  if ($("snap").checked) {
    try {
      const { times } = await api("GET", `/api/v1/clips/${clip.id}/zero-crossings?t=${r.start}&t=${r.end}`);
      if (r !== selection) return;
      r.setOptions({ start: times[0], end: Math.max(times[1], times[0] + 1 / sr) });
    } catch (err) { toast(`snap failed: ${err.message}`); }
  }
  showSelection();
  if (player.looping) player.setLoop(loopRange());
}

function showSelection() {
  const r = selection;
  $("send").disabled = !r;
  $("continue").disabled = !r;
  if (!r) { $("selection").textContent = "Drag on the waveform to select a section."; return; }
  const s = (t) => Math.round(t * sr);
  $("selection").textContent =
    `in ${r.start.toFixed(4)} s (sample ${s(r.start)}) · out ${r.end.toFixed(4)} s (sample ${s(r.end)}) · ${(r.end - r.start).toFixed(3)} s`;
}

const loopRange = () => (selection ? { start: selection.start, end: selection.end } : { start: 0, end: null });

// -- transport -----------------------------------------------------------------------------------
player.addEventListener("time", (e) => {
  $("time").textContent = `${fmtTime(e.detail)} / ${fmtTime(clip.duration_s)}`;
  if (player.loop) ws.setTime(e.detail); // the media element is paused while a loop plays
});
player.addEventListener("state", (e) => {
  $("play").textContent = e.detail.playing ? "❚❚ Pause" : "▶ Play";
  $("loop").setAttribute("aria-pressed", String(e.detail.looping));
});
ws.on("interaction", (t) => { if (player.loop) player.seek(t); });
$("play").addEventListener("click", () => player.toggle());
$("loop").addEventListener("click", () => toggleLoop());
$("match").addEventListener("change", (e) => player.setMatched(e.target.checked));
$("zoom-in").addEventListener("click", () => zoomBy(2));
$("zoom-out").addEventListener("click", () => zoomBy(0.5));
$("zoom-fit").addEventListener("click", () => ws.zoom(0));
$("zoom-sel").addEventListener("click", zoomToSelection);
$("snap").addEventListener("change", snapSelection);
$("rate").addEventListener("change", (e) => setRate(Number(e.target.value)));
$("spec-toggle").addEventListener("click", () => toggleSpectrogram());
$("match").title = clip.loudness_lufs == null ? "loudness unknown"
  : `${clip.loudness_lufs.toFixed(1)} LUFS → ${(20 * Math.log10(matchGain(clip.loudness_lufs))).toFixed(1)} dB`;

function toggleLoop(force) {
  const on = force ?? !player.looping;
  return player.setLoop(on ? loopRange() : null).catch((err) => toast(err.message));
}

function pxPerSec() { return ws.options.minPxPerSec || ws.getWidth() / clip.duration_s; }
function zoomBy(f) { ws.zoom(Math.min(4000, Math.max(ws.getWidth() / clip.duration_s, pxPerSec() * f))); }
function zoomToSelection() {
  if (!selection) return;
  ws.zoom(Math.min(4000, ws.getWidth() / Math.max(0.01, selection.end - selection.start) * 0.9));
  ws.setScrollTime(selection.start - (selection.end - selection.start) * 0.05);
}

// -- playback rate (UX row 6) ------------------------------------------------------------------------
const RATES = [0.5, 0.75, 1, 1.25, 1.5, 2];
function setRate(r) {
  const rate = player.setRate(r);
  $("rate").value = String(rate);
  toast(`rate ${rate}×`, 800);
}
function stepRate(dir) {
  const i = RATES.indexOf(Number($("rate").value));
  setRate(RATES[Math.max(0, Math.min(RATES.length - 1, (i < 0 ? 2 : i) + dir))]);
}

// -- spectrogram (UX row 8): a server-rendered PNG, so long dumps are never decoded here ----------
function toggleSpectrogram(force) {
  const fig = $("spectrogram");
  const show = force ?? fig.hidden;
  fig.hidden = !show;
  $("spec-toggle").setAttribute("aria-pressed", String(show));
  const img = $("spectrogram-img");
  if (show && !img.getAttribute("src")) {
    img.addEventListener("error", () => toast("spectrogram not available"), { once: true });
    img.src = img.dataset.src;
  }
}

// -- markers -------------------------------------------------------------------------------------
function addMarkerRegion(m) {
  const r = regions.addRegion({ id: `marker-${m.id}`, start: m.time_s, content: m.label || "•", color: "#f6ad55", drag: false, resize: false });
  markerRegions.set(m.id, r);
}
let markersShown = false;
function showMarkers() {
  if (markersShown || !ws.getDuration()) return;
  markersShown = true;
  data.markers.forEach(addMarkerRegion);
}
ws.on("decode", showMarkers);
ws.on("ready", showMarkers);
showMarkers();

// The stretch that follows the album, shaded on the waveform.
let sourceShown = false;
function showSourceRun() {
  const s = clip.source;
  if (sourceShown || !s || !ws.getDuration()) return;
  sourceShown = true;
  const end = Math.min(clip.duration_s, s.clip_offset_s + Math.max(s.longest_run_s, 0.25));
  regions.addRegion({ id: "marker-source", start: s.clip_offset_s, end, content: `album: ${s.name}`, color: s.copied ? "rgba(252,129,129,.18)" : "rgba(183,148,244,.16)", drag: false, resize: false });
}
ws.on("ready", showSourceRun);
showSourceRun();

async function addMarker() {
  const label = $("marker-label").value.trim();
  const t = player.currentTime;
  try {
    const m = await api("POST", `/api/v1/clips/${clip.id}/markers`, { time_s: Math.round(t * 1e4) / 1e4, label });
    addMarkerRegion(m);
    const li = document.createElement("li");
    li.dataset.marker = m.id;
    li.innerHTML = `<span class="num"></span><span></span><span class="spacer"></span><button type="button" class="icon" aria-label="Delete marker">✕</button>`;
    li.children[0].textContent = fmtTime(m.time_s);
    li.children[1].textContent = m.label;
    li.querySelector("button").dataset.deleteMarker = m.id;
    $("markers").append(li);
    $("marker-label").value = "";
    toast(`Marker at ${fmtTime(m.time_s)}`);
  } catch (err) { toast(`marker not saved: ${err.message}`); }
}
$("marker-form").addEventListener("submit", (e) => { e.preventDefault(); addMarker(); });
$("markers").addEventListener("click", async (e) => {
  const id = Number(e.target.closest("[data-delete-marker]")?.dataset.deleteMarker);
  if (!id) return;
  await api("DELETE", `/api/v1/markers/${id}`);
  markerRegions.get(id)?.remove();
  e.target.closest("li").remove();
});

// -- send to song --------------------------------------------------------------------------------
async function send() {
  if (!selection) { toast("Select a section first"); return; }
  const item = {
    clip_id: clip.id,
    start_s: Math.round(selection.start * 1e6) / 1e6,
    end_s: Math.round(selection.end * 1e6) / 1e6,
    lane: Number($("lane-select").value),
  };
  const target = $("track-select").value;
  const status = $("send-status");
  status.textContent = "sending…";
  try {
    let track;
    if (target === "new") {
      const name = `Song from clip #${clip.id}`;
      track = await api("POST", `/api/v1/projects/${data.project_id}/tracks`, { name, edl: { items: [item] } });
      const opt = new Option(track.name, track.id, true, true);
      $("track-select").insertBefore(opt, $("track-select").lastElementChild);
    } else {
      const current = await api("GET", `/api/v1/tracks/${target}`);
      const edl = current.edl;
      edl.items.push(item);
      if (item.lane === 1 && !edl.lanes["0"] && !edl.lanes["1"]) {
        edl.lanes = { 0: { pan: -1, offset_s: 0, gain_db: 0 }, 1: { pan: 1, offset_s: 0, gain_db: 0 } };
      }
      track = await api("PUT", `/api/v1/tracks/${target}`, { edl, base_revision: current.revision });
    }
    status.innerHTML = "";
    status.append(`Sent ${(item.end_s - item.start_s).toFixed(3)} s to `);
    const a = document.createElement("a");
    a.href = `/tracks/${track.id}`;
    a.textContent = `${track.name || "the song"} (r${track.revision}, ${track.edl.items.length} items)`;
    a.id = "sent-link";
    status.append(a);
  } catch (err) {
    status.textContent = `not sent: ${err.message}`;
  }
}
$("send").addEventListener("click", send);
wireContinue($("continue"), {
  selection: () => selection,
  what: { clip_id: clip.id, label: `clip #${clip.id}`, audio_url: clip.audio_url },
  target: () => ({ checkpointId: clip.checkpoint_id, epoch: clip.epoch, runId: clip.run_id, projectId: data.project_id }),
  defaults: { temperature: clip.temperature },
});

// -- keys ----------------------------------------------------------------------------------------
onKeys((e) => {
  const key = e.key;
  if (e.ctrlKey || e.metaKey || e.altKey) return false;
  if (key === " ") {
    if (ab?.onSource && !e.shiftKey) { ab.togglePlay(); return true; }
    if (e.shiftKey) { toggleLoop(true).then(() => !player.playing && player.play()); } else player.toggle();
    return true;
  }
  if ((key === "b" || key === "B") && ab) { ab.toggle(); return true; }
  if (key === "ArrowRight" || key === "ArrowLeft") {
    const screen = ws.getWidth() / pxPerSec();
    const d = (e.shiftKey ? screen : 1) * (key === "ArrowRight" ? 1 : -1);
    const t = Math.max(0, Math.min(clip.duration_s, player.currentTime + d));
    player.seek(t);
    ws.setTime(t);
    return true;
  }
  if (key === "ArrowDown" || key === "ArrowUp") {
    const link = document.querySelector(key === "ArrowDown" ? "[data-next]" : "[data-prev]");
    if (link) location.href = link.href;
    return true;
  }
  if (/^[1-5]$/.test(key)) { curation.rate(Number(key)); return true; }
  if (key === "k" || key === "K") { curation.verdict(true); return true; }
  if (key === "x" || key === "X") { curation.verdict(false); return true; }
  if (key === "l" || key === "L") { toggleLoop(); return true; }
  if (key === "m" || key === "M") { addMarker(); return true; }
  if (key === "s" || key === "S") { toggleSpectrogram(); return true; }
  if (key === "[") { stepRate(-1); return true; }
  if (key === "]") { stepRate(1); return true; }
  if (key === "Enter") { send(); return true; }
  if ((key === "c" || key === "C") && selection) { $("continue").click(); return true; }
  if (key === "z" || key === "Z") { zoomToSelection(); return true; }
  if (key === "0") { ws.zoom(0); return true; }
  if (key === "+" || key === "=") { zoomBy(2); return true; }
  if (key === "-") { zoomBy(0.5); return true; }
  return false;
});
