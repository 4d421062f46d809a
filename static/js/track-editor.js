// The song editor (templates/track.html): an arrangement of EDL items over two lanes. This entry
// point only wires the parts together: buttons, fields, clicks and keys call the commands and
// transport; the state module redraws and refreshes through its hooks.
//   track-state.js     the document, selection, undo/redo, autosave (PUT = a new revision)
//   track-draw.js      lanes, blocks, ruler, item list; track-inspector.js: the form fields
//   track-commands.js  every edit (fields, lanes, nudge, move, add, duplicate, remove, align)
//   track-drag.js      drag a block in time, drag a list row to reorder
//   track-playback.js  browser preview with its playhead, and the server render
//   track-stereo.js    mono warning and split-channel view of the saved render
import { onKeys } from "./keys.js";
import {
  addClip, autoAlign, duplicate, nudge, remove, rename, repeatOnce, setField, setJoinCrossfade,
  setLaneField, setRepeatCrossfade,
} from "./track-commands.js";
import { wireReorder, wireTimeDrag } from "./track-drag.js";
import { render } from "./track-draw.js";
import { playRender, preview, renderOffline, togglePreview } from "./track-playback.js";
import { hooks, redo, save, select, state, undo } from "./track-state.js";
import { afterSave, monoCheck, toggleStereo } from "./track-stereo.js";

const $ = (id) => document.getElementById(id);
hooks.render = render;
hooks.saved = afterSave;

wireTimeDrag($("arrangement"));
document.querySelectorAll("[data-field]").forEach((input) =>
  input.addEventListener("change", () => state.selected != null && setField(input.dataset.field, input.value)));
document.querySelectorAll("[data-lane-field]").forEach((input) =>
  input.addEventListener("change", () => setLaneField(Number(input.dataset.lane), input.dataset.laneField, input.value)));
$("crossfade-ms").addEventListener("change", (e) => setJoinCrossfade(e.target.value));
$("repeat-crossfade-ms").addEventListener("change", (e) => setRepeatCrossfade(e.target.value));
$("track-name").addEventListener("change", (e) => rename(e.target.value));
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
  if (block) select(Number(block.dataset.index));
});
$("items").addEventListener("click", (e) => {
  const li = e.target.closest("li");
  if (li) select(Number(li.dataset.index));
});
wireReorder($("items"));

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
    const n = state.doc.edl.items.length;
    if (!n) return true;
    select(Math.max(0, Math.min(n - 1, (state.selected ?? -1) + (key === "ArrowDown" ? 1 : -1))));
    return true;
  }
  if (key === "d" && state.selected != null) { repeatOnce(); return true; }
  if (key === "D") { duplicate(); return true; }
  if (key === "Delete" || key === "Backspace") { remove(); return true; }
  return false;
});

window.studio = {
  get doc() { return state.doc; }, get revision() { return state.revision; }, get dirty() { return state.dirty; }, save,
  renderOffline, preview,
};
render();
monoCheck();
