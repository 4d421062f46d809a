// A source track's page: its waveform (wavesurfer decodes the file; album audio has no stored
// peaks), play, a selected region (wavesurfer's regions plugin), and "Continue from here", which
// opens the generate dialog primed with the selection and an epoch picker.
import WaveSurfer from "/static/vendor/wavesurfer/wavesurfer.esm.js";
import RegionsPlugin from "/static/vendor/wavesurfer/plugins/regions.esm.js";
import { fmtTime, onKeys, pageData } from "./keys.js";
import { wireContinue } from "./prime-action.js";

const data = pageData();
const src = data.source;
const $ = (id) => document.getElementById(id);
const regions = RegionsPlugin.create();
const ws = WaveSurfer.create({
  container: "#waveform",
  height: 140,
  waveColor: "#5b6b84",
  progressColor: "#b794f4",
  cursorColor: "#f6ad55",
  cursorWidth: 2,
  url: src.audio_url,
  normalize: true,
  dragToSeek: false, // a drag selects a moment; a click seeks
  plugins: [regions],
});
let selection = null; // the one selected region
regions.enableDragSelection({ color: "rgba(183, 148, 244, 0.25)" });
regions.on("region-created", (r) => {
  if (selection && selection !== r) selection.remove();
  selection = r;
  showSelection();
});
regions.on("region-updated", (r) => { if (r === selection) showSelection(); });

function showSelection() {
  const r = selection;
  $("continue").disabled = !r || !data.checkpoints.length;
  $("selection").textContent = r
    ? `${fmtTime(r.start)} – ${fmtTime(r.end)} · ${(r.end - r.start).toFixed(2)} s`
    : "Drag on the waveform to select a moment.";
}

ws.on("timeupdate", (t) => { $("time").textContent = `${fmtTime(t)} / ${fmtTime(src.duration_s)}`; });
ws.on("play", () => { $("play").textContent = "❚❚ Pause"; });
ws.on("pause", () => { $("play").textContent = "▶ Play"; });
$("play").addEventListener("click", () => ws.playPause());

wireContinue($("continue"), {
  selection: () => selection,
  what: { source_id: src.id, label: src.name, audio_url: src.audio_url },
  target: () => ({ checkpoints: data.checkpoints, projectId: data.project_id }),
});
window.studio = { ws, regions, select: (start, end) => regions.addRegion({ start, end, color: "rgba(183, 148, 244, 0.25)" }) }; // for the browser tests

onKeys((e) => {
  if (e.ctrlKey || e.metaKey || e.altKey) return false;
  if (e.key === " ") { ws.playPause(); return true; }
  if ((e.key === "c" || e.key === "C") && !$("continue").disabled) { $("continue").click(); return true; }
  return false;
});
